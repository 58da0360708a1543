//! `sealtrail-testkit`: writes deterministic CloudTrail buckets for tests, demos and
//! benchmarks, and serves them (`serve`: S3 + CloudTrail fixture server).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use base64::Engine;
use clap::{Parser, Subcommand};
use sealtrail_integrity::sign::RsaSigner;
use sealtrail_model::{AccountId, OrganizationId, Region, TrailName, UtcTime};
use sealtrail_testkit::{ChainSpec, CopySink, generate};

#[derive(Parser)]
#[command(
    name = "sealtrail-testkit",
    about = "Test tooling for sealtrail (not shipped)"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Generate a CloudTrail bucket (log files and signed digests) as a local copy.
    Gen(Box<GenArgs>),
    /// Write a new RSA-2048 signing key as PKCS#8 DER.
    Keygen {
        /// Output file.
        out: PathBuf,
    },
    /// Serve local copies over S3 REST (path-style, read-only) and answer CloudTrail
    /// ListPublicKeys/DescribeTrails and Organizations DescribeOrganization, on one port.
    /// Authentication is NOT checked (a test fixture, like moto). Stops on SIGTERM/SIGINT.
    Serve(ServeArgs),
    /// The machine's limit for offline validation: plain gunzip + SHA-256 of every
    /// `*.json.gz` file under DIR, on all cores, nothing else. Prints seconds and bytes.
    Limit {
        /// The directory (a bucket copy).
        dir: PathBuf,
        /// Threads [default: the number of CPUs].
        #[arg(long)]
        threads: Option<usize>,
    },
}

/// Every `*.json.gz` under `dir`, except the copy's own records.
fn gz_files(dir: &std::path::Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let p = e.path();
        if e.file_type()?.is_dir() {
            if e.file_name() != ".sealtrail-sync" {
                gz_files(&p, out)?;
            }
        } else if p.to_string_lossy().ends_with(".json.gz") {
            out.push(p);
        }
    }
    Ok(())
}

fn run_limit(dir: &std::path::Path, threads: Option<usize>) -> anyhow::Result<()> {
    use std::io::Read;
    use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
    let mut files = Vec::new();
    gz_files(dir, &mut files)?;
    let threads = threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, std::num::NonZero::get));
    let next = AtomicUsize::new(0);
    let inflated = AtomicU64::new(0);
    let started = std::time::Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                let mut buf = vec![0u8; 1 << 20];
                while let Some(path) = files.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let Ok(f) = std::fs::File::open(path) else {
                        continue;
                    };
                    let mut gz =
                        flate2::read::GzDecoder::new(std::io::BufReader::with_capacity(1 << 20, f));
                    let mut sha = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
                    while let Ok(n) = gz.read(&mut buf) {
                        if n == 0 {
                            break;
                        }
                        sha.update(buf.get(..n).unwrap_or(&[]));
                        inflated.fetch_add(n as u64, Ordering::Relaxed);
                    }
                    let _ = sha.finish();
                }
            });
        }
    });
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{{\"files\": {}, \"threads\": {threads}, \"seconds\": {secs:.4}, \"inflated_bytes\": {}}}",
        files.len(),
        inflated.load(Ordering::Relaxed)
    );
    Ok(())
}

#[derive(clap::Args)]
struct ServeArgs {
    /// A bucket to serve: `[BUCKET=]DIR`, a local copy (bucket name from its source.json
    /// unless given) or a plain copy (BUCKET= required). Repeatable.
    #[arg(long = "copy", value_name = "[BUCKET=]DIR")]
    copies: Vec<String>,
    /// ListPublicKeys JSON (as `aws cloudtrail list-public-keys` prints it, v1 or v2).
    #[arg(long)]
    public_keys: Option<PathBuf>,
    /// DescribeTrails JSON: `{"trailList": [...]}`.
    #[arg(long)]
    trails: Option<PathBuf>,
    /// The organization returned by DescribeOrganization.
    #[arg(long)]
    organization_id: Option<String>,
    /// The buckets' region (GetBucketLocation).
    #[arg(long, default_value = "us-east-1")]
    region: String,
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: std::net::SocketAddr,
    /// Write the port here once listening.
    #[arg(long)]
    port_file: Option<PathBuf>,
    /// GetObject of this key (in any bucket) answers 403 AccessDenied. Repeatable.
    #[arg(long)]
    deny: Vec<String>,
    /// Worker threads (default: the number of CPUs).
    #[arg(long)]
    threads: Option<usize>,
    /// Delay every response by this many milliseconds (a remote S3, for benchmarks).
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
}

fn run_serve(a: ServeArgs) -> anyhow::Result<()> {
    use sealtrail_testkit::serve::{
        CopyArg, ServeConfig, serve, termination_signal, write_port_file,
    };
    let config = ServeConfig {
        copies: a.copies.iter().map(|c| CopyArg::parse(c)).collect(),
        public_keys: a.public_keys,
        trails: a.trails,
        organization_id: a.organization_id,
        region: a.region,
        deny: a.deny,
        latency: std::time::Duration::from_millis(a.latency_ms),
    };
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all();
    if let Some(n) = a.threads {
        builder.worker_threads(n.max(1));
    }
    let runtime = builder.build().context("starting the tokio runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(a.listen)
            .await
            .with_context(|| format!("binding {}", a.listen))?;
        let addr = listener.local_addr()?;
        if let Some(p) = &a.port_file {
            write_port_file(p, addr.port()).with_context(|| format!("writing {}", p.display()))?;
        }
        eprintln!("listening on http://{addr}");
        serve(listener, config, termination_signal()).await
    })
}

#[derive(clap::Args)]
struct GenArgs {
    /// Output directory (a `sealtrail sync` copy, or a plain copy with --plain).
    #[arg(long)]
    out: PathBuf,
    /// Write the ListPublicKeys JSON (as `aws cloudtrail list-public-keys` prints it) here.
    #[arg(long)]
    public_keys: Option<PathBuf>,
    /// Signing key, PKCS#8 DER.
    #[arg(long)]
    key: PathBuf,
    /// Write a plain copy (objects only, no metadata), as `aws s3 sync` would.
    #[arg(long)]
    plain: bool,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[arg(long, default_value = "ct-bucket")]
    bucket: String,
    #[arg(long)]
    prefix: Option<String>,
    #[arg(long)]
    organization: Option<String>,
    #[arg(long, default_value = "123456789012")]
    account: String,
    #[arg(long, default_value = "us-east-1")]
    region: String,
    #[arg(long)]
    home_region: Option<String>,
    #[arg(long, default_value = "mytrail")]
    trail: String,
    #[arg(long, default_value = "2026-01-10T00:05:00Z")]
    start: String,
    #[arg(long, default_value_t = 24)]
    hours: u32,
    #[arg(long, default_value_t = 12)]
    logs_per_hour: u32,
    #[arg(long, default_value_t = 5)]
    records_per_log: u32,
    /// Periods (0-based) during which logging was stopped.
    #[arg(long, value_delimiter = ',')]
    gaps: Vec<u32>,
    /// Periods that also get a backfill digest.
    #[arg(long, value_delimiter = ',')]
    backfill: Vec<u32>,
}

fn run_gen(a: GenArgs) -> anyhow::Result<()> {
    let der = std::fs::read(&a.key).with_context(|| format!("reading {}", a.key.display()))?;
    let signer = RsaSigner::from_pkcs8(&der)?;
    let spec = ChainSpec {
        seed: a.seed,
        bucket: a.bucket.clone(),
        prefix: a.prefix.clone(),
        organization: a
            .organization
            .as_deref()
            .map(OrganizationId::parse)
            .transpose()?,
        account: AccountId::parse(&a.account)?,
        region: Region::parse(&a.region)?,
        home_region: Region::parse(a.home_region.as_deref().unwrap_or(&a.region))?,
        trail: TrailName::parse(&a.trail)?,
        start: UtcTime::parse_user(&a.start)?,
        hours: a.hours,
        logs_per_hour: a.logs_per_hour,
        records_per_log: a.records_per_log,
        gaps: a.gaps,
        backfill: a.backfill,
    };
    let mtime = std::time::UNIX_EPOCH
        + std::time::Duration::from_secs(u64::try_from(spec.start.epoch_seconds()).unwrap_or(0));
    let mut sink = if a.plain {
        CopySink::plain(&a.out, mtime)
    } else {
        CopySink::sync(&a.out, &a.bucket, mtime)?
    };
    let generated = generate(&spec, &signer, &mut sink)?;
    let keys = sink.finish()?;
    if let Some(path) = a.public_keys {
        let list: Vec<serde_json::Value> = keys
            .iter()
            .map(|(fp, der)| {
                serde_json::json!({
                    "ValidityStartTime": (spec.start.epoch_seconds() - 86400) as f64,
                    "ValidityEndTime": (spec.start.epoch_seconds() + 30 * 86400) as f64,
                    "Value": base64::engine::general_purpose::STANDARD.encode(der),
                    "Fingerprint": fp,
                })
            })
            .collect();
        let text = serde_json::to_string_pretty(&serde_json::json!({ "PublicKeyList": list }))?;
        std::fs::write(&path, text + "\n")?;
    }
    eprintln!(
        "wrote {} digests, {} backfill digests, {} log files ({} bytes) for {} to {}",
        generated.digests.len(),
        generated.backfill_digests.len(),
        generated.logs.len(),
        generated.log_bytes,
        spec.trail_arn(),
        a.out.display()
    );
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Cmd::Gen(a) => run_gen(*a),
        Cmd::Serve(a) => run_serve(a),
        Cmd::Limit { dir, threads } => run_limit(&dir, threads),
        Cmd::Keygen { out } => RsaSigner::generate()
            .and_then(|s| s.to_pkcs8())
            .map_err(anyhow::Error::from)
            .and_then(|der| std::fs::write(&out, der).map_err(anyhow::Error::from)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sealtrail-testkit: {e:#}");
            ExitCode::from(2)
        }
    }
}
