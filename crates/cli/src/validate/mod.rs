//! `sealtrail validate-logs`: the AWS CLI's `aws cloudtrail validate-logs`, with the same
//! arguments, output and exit codes, run in parallel and streaming; offline on a local copy
//! or an archive; and with `--strict` checks the AWS CLI does not make.

pub mod engine;
pub mod report;
pub mod s3;
pub mod store;

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use sealtrail_integrity::walk::{WalkFatal, WalkParams};
use sealtrail_model::{Clock, SystemClock, UtcTime};
use sealtrail_store::LocalCopy;

use self::engine::{Counters, EngineOptions};
use self::report::{OutputFormat, Record, Report, ValidateExit};
use self::s3::{Aws, NetworkArgs, S3Store};
use self::store::{ArchiveStore, LocalStore, read_public_keys};

const LONG_ABOUT: &str = "\
Validates CloudTrail log files for a period of time, using the digest files delivered to the
trail's bucket, exactly as `aws cloudtrail validate-logs` does: the same arguments, the same
messages on stdout and stderr, the same exit codes (0 valid, 1 invalid, 255 error).

It detects modified or deleted log files, and modified, deleted or moved digest files.

Beyond the AWS CLI:
  * It reads and checks many files at once (--jobs) in bounded memory, and prints results in
    the AWS CLI's order.
  * Offline: --local DIR validates a copy of the bucket (made by `sealtrail sync`, which keeps
    the S3 metadata holding each digest's signature, or by `aws s3 sync`, which drops it);
    --archive FILE validates a .tar or .tar.gz of such a copy. Both need --public-keys FILE
    (the output of `aws cloudtrail list-public-keys`) and make no network calls.
    On a copy without metadata, each digest's signature is taken from the next digest's
    previousDigestSignature; the newest digest of the window has no such successor and is
    reported UNVERIFIED unless --newest-signature gives its signature.
  * --strict adds checks the AWS CLI skips: previousDigestHashValue and
    previousDigestSignature match the previous digest; consecutive digests' windows meet;
    algorithm fields are SHA-256 / SHA256withRSA; no trailing data after a digest's gzip
    stream; no truncated log gzip stream; every log file in the window is referenced by a
    digest and none twice; with --expect-until or --trusted-digest, the chain is not
    truncated at its end. Each finding has its own message and is counted in the summary.
  * --output json prints JSON Lines (one message per verdict, and a summary).

Endpoints follow the AWS CLI: --endpoint-url applies to CloudTrail only; point S3 at another
server with AWS_ENDPOINT_URL_S3 (path-style addressing is used for custom endpoints).";

/// Arguments of `sealtrail validate-logs`.
#[derive(Debug, clap::Args)]
#[command(long_about = LONG_ABOUT)]
pub struct ValidateLogsArgs {
    /// The ARN of the trail to validate (arn:aws:cloudtrail:REGION:ACCOUNT:trail/NAME).
    #[arg(long, value_name = "ARN")]
    pub trail_arn: String,
    /// Validate log files delivered on or after this UTC time, e.g. 2015-01-08T05:21:42Z.
    #[arg(long, value_name = "TIME")]
    pub start_time: String,
    /// Validate log files delivered on or before this UTC time [default: now].
    #[arg(long, value_name = "TIME")]
    pub end_time: Option<String>,
    /// The bucket holding the digest files [default: the trail's, from DescribeTrails].
    #[arg(long, value_name = "BUCKET")]
    pub s3_bucket: Option<String>,
    /// The key prefix of the digest files [default: the trail's, from DescribeTrails].
    #[arg(long, value_name = "PREFIX")]
    pub s3_prefix: Option<String>,
    /// The account whose logs to validate (required for organization trails).
    #[arg(long, value_name = "ACCOUNT")]
    pub account_id: Option<String>,
    /// Print every valid file too.
    #[arg(long)]
    pub verbose: bool,
    /// The region whose digests to read, and of the CloudTrail client [default: the trail's
    /// home region for digests; the configured region for CloudTrail].
    #[arg(long)]
    pub region: Option<String>,
    /// A named profile of the AWS shared config and credentials files.
    #[arg(long)]
    pub profile: Option<String>,
    /// The CloudTrail endpoint (as in the AWS CLI, not S3's: use AWS_ENDPOINT_URL_S3).
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// `--cli-read-timeout` and `--cli-connect-timeout`, as in the AWS CLI.
    #[command(flatten)]
    pub network: NetworkArgs,
    /// Offline: validate this local copy of the bucket.
    #[arg(
        long,
        value_name = "DIR",
        conflicts_with = "archive",
        help_heading = "Offline"
    )]
    pub local: Option<PathBuf>,
    /// Offline: validate this .tar or .tar.gz of a copy of the bucket.
    #[arg(long, value_name = "FILE", help_heading = "Offline")]
    pub archive: Option<PathBuf>,
    /// Offline: the public keys, as `aws cloudtrail list-public-keys` prints them.
    #[arg(long, value_name = "FILE", help_heading = "Offline")]
    pub public_keys: Option<PathBuf>,
    /// Offline, on a copy without metadata: the newest digest's signature (hex).
    #[arg(long, value_name = "HEX", help_heading = "Offline")]
    pub newest_signature: Option<String>,
    /// Files read and checked at once [default: 64 online, 4 per CPU offline].
    #[arg(long, value_name = "N", help_heading = "Beyond the AWS CLI")]
    pub jobs: Option<usize>,
    /// Also make the checks the AWS CLI skips (see above); any finding makes the exit code 1.
    #[arg(long, help_heading = "Beyond the AWS CLI")]
    pub strict: bool,
    /// With --strict: the newest valid digest must end at or after this time.
    #[arg(long, value_name = "TIME", help_heading = "Beyond the AWS CLI")]
    pub expect_until: Option<String>,
    /// With --strict: this digest key (from an earlier validation) must be found valid.
    #[arg(long, value_name = "KEY", help_heading = "Beyond the AWS CLI")]
    pub trusted_digest: Option<String>,
    /// Output format.
    #[arg(
        long,
        value_enum,
        default_value = "text",
        help_heading = "Beyond the AWS CLI"
    )]
    pub output: OutputFormat,
    /// Never show a progress bar (it is shown only when stderr is a terminal).
    #[arg(long, help_heading = "Beyond the AWS CLI")]
    pub no_progress: bool,
}

/// `re.match(r'arn:.+:cloudtrail:.+:\d{12}:trail/.+', arn)`, as the AWS CLI checks it.
fn cli_arn_is_valid(arn: &str) -> bool {
    let line = arn.split('\n').next().unwrap_or("");
    let Some(rest) = line.strip_prefix("arn:") else {
        return false;
    };
    rest.match_indices(":cloudtrail:").any(|(i, m)| {
        i >= 1 && {
            let tail = rest.get(i + m.len()..).unwrap_or("");
            tail.match_indices(':').any(|(j, _)| {
                j >= 1
                    && tail.get(j + 1..).is_some_and(|t| {
                        t.len() >= 20
                            && t.as_bytes().iter().take(12).all(u8::is_ascii_digit)
                            && t.get(12..19) == Some(":trail/")
                    })
            })
        }
    })
}

/// Where the trail's files are, once resolved.
struct Target {
    bucket: String,
    prefix: Option<String>,
    organization: Option<String>,
}

fn fatal(report: &mut Report<'_>, msg: &str) -> ValidateExit {
    let _ = report.record(&Record::Fatal(msg.to_owned()));
    let _ = report.flush();
    ValidateExit::Fatal
}

/// Runs `sealtrail validate-logs`.
#[must_use]
pub fn run(args: ValidateLogsArgs) -> ValidateExit {
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, stdout.lock());
    let mut err = stderr.lock();
    let code = run_with(args, &mut out, &mut err, &SystemClock);
    let _ = out.flush();
    code
}

/// Runs `sealtrail validate-logs` writing to the given streams (tests use this).
pub fn run_with(
    args: ValidateLogsArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
    clock: &dyn Clock,
) -> ValidateExit {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let _ = writeln!(err, "\ncannot start the runtime: {e}");
            return ValidateExit::Fatal;
        }
    };
    rt.block_on(run_async(args, out, err, clock))
}

fn parse_time(text: &str) -> Result<UtcTime, String> {
    UtcTime::parse_user(text).map_err(|_| format!("Unable to parse date value: {text}"))
}

async fn run_async(
    args: ValidateLogsArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
    clock: &dyn Clock,
) -> ValidateExit {
    // Report for the early errors (times not known yet: placeholders, nothing is counted).
    let early = |out: &mut dyn Write, err: &mut dyn Write, msg: &str| {
        let mut r = Report::new(
            args.output,
            false,
            false,
            UtcTime::UNIX_EPOCH,
            UtcTime::UNIX_EPOCH,
            out,
            err,
        );
        fatal(&mut r, msg)
    };
    // The AWS CLI's order: times, then the ARN, then the trail's bucket.
    let start = match parse_time(&args.start_time) {
        Ok(t) => t,
        Err(m) => return early(out, err, &m),
    };
    let end = match args.end_time.as_deref().map(parse_time).transpose() {
        Ok(t) => t.unwrap_or_else(|| clock.now()),
        Err(m) => return early(out, err, &m),
    };
    if start > end {
        return early(
            out,
            err,
            "Invalid time range specified: start-time must occur before end-time",
        );
    }
    let expect_until = match args.expect_until.as_deref().map(parse_time).transpose() {
        Ok(t) => t,
        Err(m) => return early(out, err, &m),
    };
    if !cli_arn_is_valid(&args.trail_arn) {
        return early(
            out,
            err,
            &format!("Invalid trail ARN provided: {}", args.trail_arn),
        );
    }
    let fields: Vec<&str> = args.trail_arn.split(':').collect();
    let home_region = fields.get(3).copied().unwrap_or_default().to_owned();
    let arn_account = fields.get(4).copied().unwrap_or_default().to_owned();
    let trail_name = args
        .trail_arn
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    let account = args
        .account_id
        .clone()
        .filter(|a| !a.is_empty())
        .unwrap_or(arn_account);
    let source_region = args.region.clone().unwrap_or_else(|| home_region.clone());
    let strict = args.strict || expect_until.is_some() || args.trusted_digest.is_some();
    let offline = args.local.is_some() || args.archive.is_some();
    let jobs = args.jobs.unwrap_or_else(|| {
        if offline {
            // Enough jobs in flight to keep every core busy while others wait on the walk.
            4 * std::thread::available_parallelism().map_or(2, std::num::NonZero::get)
        } else {
            // Online, requests mostly wait on the network: keep many in flight.
            64
        }
    });

    let progress = Progress::new(
        args.output == OutputFormat::Text && !args.no_progress && std::io::stderr().is_terminal(),
    );
    let counters = Arc::new(Counters::default());
    let opts = EngineOptions {
        jobs,
        strict,
        expect_until,
        trusted_digest: args.trusted_digest.clone(),
        batch_logs: offline,
    };
    let make_params = |t: &Target| WalkParams {
        start,
        end,
        bucket: t.bucket.clone(),
        prefix: t.prefix.clone().filter(|p| !p.is_empty()),
        organization: t.organization.clone(),
        account: account.clone(),
        trail_name: trail_name.clone(),
        home_region: home_region.clone(),
        source_region: source_region.clone(),
        strict,
        newest_signature: args.newest_signature.clone(),
    };

    if offline {
        let Some(keys_path) = &args.public_keys else {
            return early(
                out,
                err,
                "--public-keys FILE is required with --local and --archive (save the output of `aws cloudtrail list-public-keys`)",
            );
        };
        let keys = match read_public_keys(keys_path) {
            Ok(k) => k,
            Err(m) => return early(out, err, &m),
        };
        if let Some(dir) = &args.local {
            let (copy, target) = match open_local(dir, &args, &account) {
                Ok(x) => x,
                Err(m) => return early(out, err, &m),
            };
            let store = LocalStore::new(copy, target.bucket.clone(), keys);
            let params = make_params(&target);
            return finish(
                store, params, &opts, &args, start, end, out, err, "local", &progress, counters,
            )
            .await;
        }
        if let Some(file) = &args.archive {
            let pb = &progress;
            let opened = ArchiveStore::open(
                file,
                args.s3_bucket.as_deref(),
                &args
                    .s3_prefix
                    .as_deref()
                    .map(|p| format!("{}/", p.trim_end_matches('/')))
                    .unwrap_or_default(),
                keys,
                &|n| pb.set_message(format!("reading archive: {n} files")),
            );
            let (store, _summary) = match opened {
                Ok(x) => x,
                Err(m) => return early(out, err, &m),
            };
            let target = Target {
                bucket: store.bucket().to_owned(),
                prefix: args.s3_prefix.clone(),
                organization: None,
            };
            let params = make_params(&target);
            return finish(
                store, params, &opts, &args, start, end, out, err, "archive", &progress, counters,
            )
            .await;
        }
    }

    let aws = Aws::load(
        args.region.as_deref(),
        args.profile.as_deref(),
        args.endpoint_url.as_deref(),
        args.network,
    )
    .await;
    let target = match &args.s3_bucket {
        Some(b) => Target {
            bucket: b.clone(),
            prefix: args.s3_prefix.clone(),
            organization: None,
        },
        None => match aws
            .resolve_trail(&args.trail_arn, args.account_id.as_deref())
            .await
        {
            Ok((bucket, prefix, organization)) => Target {
                bucket,
                prefix,
                organization,
            },
            Err(WalkFatal(m)) => return early(out, err, &m),
        },
    };
    let params = make_params(&target);
    finish(
        S3Store::new(aws),
        params,
        &opts,
        &args,
        start,
        end,
        out,
        err,
        "online",
        &progress,
        counters,
    )
    .await
}

#[expect(
    clippy::too_many_arguments,
    reason = "one call site; the pieces of one validation"
)]
async fn finish<S: store::Store>(
    store: S,
    params: WalkParams,
    opts: &EngineOptions,
    args: &ValidateLogsArgs,
    start: UtcTime,
    end: UtcTime,
    out: &mut dyn Write,
    err: &mut dyn Write,
    mode: &str,
    progress: &Progress,
    counters: Arc<Counters>,
) -> ValidateExit {
    let mut report = Report::new(args.output, args.verbose, opts.strict, start, end, out, err);
    if let Some(pb) = progress.bar.clone() {
        report.on_stderr = Some(Box::new(move |f| pb.suspend(f)));
    }
    if report.startup(&args.trail_arn, mode).is_err() {
        return ValidateExit::Fatal;
    }
    let ticker = progress.start(counters.clone());
    let result = engine::run(store, params, opts, counters, &mut report).await;
    progress.finish(ticker);
    let code = match result {
        Ok(true) => ValidateExit::Fatal,
        Ok(false) => {
            if report.summary().is_err() {
                return ValidateExit::Valid;
            }
            report.exit()
        }
        // A closed stdout (`| head`): stop quietly, as ripgrep does.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ValidateExit::Valid,
        Err(_) => ValidateExit::Fatal,
    };
    let _ = report.flush();
    code
}

/// Opens `--local DIR` and works out bucket, trail prefix and organization.
fn open_local(
    dir: &Path,
    args: &ValidateLogsArgs,
    account: &str,
) -> Result<(LocalCopy, Target), String> {
    let probe = LocalCopy::open(dir, "").map_err(|e| e.to_string())?;
    let (copy, bucket) = match probe.source() {
        Some(src) => {
            if let Some(b) = &args.s3_bucket
                && b != &src.bucket
            {
                return Err(format!(
                    "{} is a copy of bucket {}, not of {b} (drop --s3-bucket, or point --local at a copy of {b})",
                    dir.display(),
                    src.bucket
                ));
            }
            let bucket = src.bucket.clone();
            (probe, bucket)
        }
        None => {
            let bucket = args.s3_bucket.clone().ok_or_else(|| {
                format!(
                    "--s3-bucket is required with --local on {} (a copy without the `.sealtrail-sync` record, as `aws s3 sync` makes)",
                    dir.display()
                )
            })?;
            // A plain copy of the bucket root has <prefix>/AWSLogs; a copy of the prefix has
            // AWSLogs at the top.
            let key_prefix = match args
                .s3_prefix
                .as_deref()
                .map(|p| p.trim_end_matches('/'))
                .filter(|p| !p.is_empty())
            {
                Some(p)
                    if !dir.join(p).join("AWSLogs").is_dir() && dir.join("AWSLogs").is_dir() =>
                {
                    format!("{p}/")
                }
                _ => String::new(),
            };
            (
                LocalCopy::open(dir, &key_prefix).map_err(|e| e.to_string())?,
                bucket,
            )
        }
    };
    let prefix = match &args.s3_prefix {
        Some(p) => Some(p.clone()),
        None => detect_prefix(dir, copy.key_prefix())?,
    };
    let organization = detect_organization(dir, &copy, prefix.as_deref(), account);
    Ok((
        copy,
        Target {
            bucket,
            prefix,
            organization,
        },
    ))
}

/// Finds the folder holding `AWSLogs/` in a copy: the trail prefix, offline.
fn detect_prefix(dir: &Path, key_prefix: &str) -> Result<Option<String>, String> {
    fn search(base: &Path, rel: &str, depth: usize, found: &mut Vec<String>) {
        let here = if rel.is_empty() {
            base.to_owned()
        } else {
            base.join(rel)
        };
        if here.join("AWSLogs").is_dir() {
            found.push(rel.to_owned());
            return;
        }
        if depth == 0 {
            return;
        }
        let Ok(entries) = std::fs::read_dir(&here) else {
            return;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || !e.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            let child = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            search(base, &child, depth - 1, found);
        }
    }
    let mut found = Vec::new();
    search(dir, "", 3, &mut found);
    match found.as_slice() {
        [one] => {
            let full = format!("{key_prefix}{one}");
            let trimmed = full.trim_end_matches('/');
            Ok((!trimmed.is_empty()).then(|| trimmed.to_owned()))
        }
        [] => Err(format!(
            "no AWSLogs/ folder found in {}; is it a copy of a CloudTrail bucket? (give --s3-prefix)",
            dir.display()
        )),
        many => Err(format!(
            "several AWSLogs/ folders in {} ({}); choose one with --s3-prefix",
            dir.display(),
            many.join(", ")
        )),
    }
}

/// An organization trail's files live under `AWSLogs/<o-id>/<account>/`.
fn detect_organization(
    dir: &Path,
    copy: &LocalCopy,
    prefix: Option<&str>,
    account: &str,
) -> Option<String> {
    let rel_prefix = prefix
        .map(|p| format!("{p}/"))
        .unwrap_or_default()
        .strip_prefix(copy.key_prefix())
        .map(str::to_owned)
        .unwrap_or_default();
    let logs = dir.join(rel_prefix).join("AWSLogs");
    if logs.join(account).is_dir() {
        return None;
    }
    std::fs::read_dir(&logs).ok()?.flatten().find_map(|e| {
        let name = e.file_name().to_string_lossy().into_owned();
        (name.starts_with("o-") && logs.join(&name).join(account).is_dir()).then_some(name)
    })
}

/// A progress line on stderr, only when it is a terminal.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
}

impl Progress {
    fn new(enabled: bool) -> Self {
        let bar = enabled.then(|| {
            let pb = indicatif::ProgressBar::new_spinner();
            pb.set_style(
                indicatif::ProgressStyle::with_template("{spinner} {elapsed} {msg}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
            );
            pb.enable_steady_tick(Duration::from_millis(120));
            pb
        });
        Self { bar }
    }

    fn set_message(&self, m: String) {
        if let Some(pb) = &self.bar {
            pb.set_message(m);
        }
    }

    fn start(&self, counters: Arc<Counters>) -> Option<tokio::task::JoinHandle<()>> {
        let pb = self.bar.clone()?;
        Some(tokio::spawn(async move {
            loop {
                let mb = counters.bytes.load(Ordering::Relaxed) as f64 / 1e6;
                pb.set_message(format!(
                    "{} digests, {} log files, {mb:.1} MB checked",
                    counters.digests.load(Ordering::Relaxed),
                    counters.logs.load(Ordering::Relaxed)
                ));
                tokio::time::sleep(Duration::from_millis(150)).await;
            }
        }))
    }

    fn finish(&self, ticker: Option<tokio::task::JoinHandle<()>>) {
        if let Some(t) = ticker {
            t.abort();
        }
        if let Some(pb) = &self.bar {
            pb.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arn_check_matches_the_cli_regex() {
        assert!(cli_arn_is_valid(
            "arn:aws:cloudtrail:us-east-1:123456789012:trail/foo"
        ));
        assert!(cli_arn_is_valid(
            "arn:aws-cn:cloudtrail:cn-north-1:123456789012:trail/x"
        ));
        assert!(cli_arn_is_valid(
            "arn:x:y:cloudtrail:a:b:123456789012:trail/foo"
        ));
        assert!(!cli_arn_is_valid("foo"));
        assert!(!cli_arn_is_valid(
            "arn::cloudtrail:us-east-1:123456789012:trail/foo"
        ));
        assert!(!cli_arn_is_valid(
            "arn:aws:cloudtrail:us-east-1:12345678901:trail/foo"
        ));
        assert!(!cli_arn_is_valid(
            "arn:aws:cloudtrail:us-east-1:123456789012:trail/"
        ));
        assert!(!cli_arn_is_valid(
            "arn:aws:cloudtrail::123456789012:trail/foo"
        ));
    }
}
