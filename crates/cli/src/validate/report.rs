//! What `validate-logs` prints: the AWS CLI's text, message for message and byte for byte, or
//! JSON Lines with versioned message types; plus the counters, found-time window and exit
//! code. Pure: it writes to the two `Write`s it is given.

use std::io::{self, Write};

use sealtrail_integrity::verify::{DigestVerdict, LinkIssue, LogVerdict, StrictIssue};
use sealtrail_model::UtcTime;
use serde_json::json;

/// The JSON Lines schema version of every message.
pub const JSON_VERSION: u32 = 1;

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// The AWS CLI's text, on stdout and stderr.
    Text,
    /// JSON Lines on stdout, one object per verdict and one summary.
    Json,
}

/// Standard or backfill chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chain {
    /// Hourly digests.
    Standard,
    /// Backfill digests.
    Backfill,
}

impl Chain {
    fn prefix(self) -> &'static str {
        match self {
            Self::Standard => "",
            Self::Backfill => "(backfill) ",
        }
    }
}

/// A strict finding that is not about a single digest or log verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StrictFinding {
    /// A digest's link to its predecessor is broken.
    Link {
        /// Newer digest bucket.
        bucket: String,
        /// Newer digest key.
        key: String,
        /// The problem.
        issue: LinkIssue,
    },
    /// A digest check beyond the AWS CLI's (algorithm fields, trailing gzip data).
    Digest {
        /// Bucket.
        bucket: String,
        /// Key.
        key: String,
        /// What.
        message: String,
    },
    /// A log file check beyond the AWS CLI's.
    Log {
        /// Bucket.
        bucket: String,
        /// Key.
        key: String,
        /// What.
        issue: StrictIssue,
    },
    /// A log file in the window that no digest names.
    Unreferenced {
        /// Bucket.
        bucket: String,
        /// Key.
        key: String,
    },
    /// A log file named by more than one digest.
    DuplicateReference {
        /// Bucket.
        bucket: String,
        /// Key.
        key: String,
    },
    /// The chain stops before it should.
    Truncated {
        /// What was expected and what was found.
        message: String,
    },
}

impl StrictFinding {
    fn category(&self) -> &'static str {
        match self {
            Self::Link { .. } => "digest_link",
            Self::Digest { .. } => "digest",
            Self::Log { .. } => "log",
            Self::Unreferenced { .. } => "unreferenced_log",
            Self::DuplicateReference { .. } => "duplicate_reference",
            Self::Truncated { .. } => "truncation",
        }
    }

    fn text(&self) -> String {
        match self {
            Self::Link { bucket, key, issue } => {
                format!("Digest file\ts3://{bucket}/{key}\tINVALID: {issue}")
            }
            Self::Digest {
                bucket,
                key,
                message,
            } => format!("Digest file\ts3://{bucket}/{key}\tINVALID: {message}"),
            Self::Log { bucket, key, issue } => {
                format!("Log file\ts3://{bucket}/{key}\tINVALID: {issue}")
            }
            Self::Unreferenced { bucket, key } => {
                format!(
                    "Log file\ts3://{bucket}/{key}\tINVALID: not referenced by any digest (strict)"
                )
            }
            Self::DuplicateReference { bucket, key } => {
                format!(
                    "Log file\ts3://{bucket}/{key}\tINVALID: referenced by more than one digest (strict)"
                )
            }
            Self::Truncated { message } => format!("Digest chain\tINVALID: {message} (strict)"),
        }
    }

    fn json(&self) -> serde_json::Value {
        let (bucket, key) = match self {
            Self::Link { bucket, key, .. }
            | Self::Digest { bucket, key, .. }
            | Self::Log { bucket, key, .. }
            | Self::Unreferenced { bucket, key }
            | Self::DuplicateReference { bucket, key } => (Some(bucket), Some(key)),
            Self::Truncated { .. } => (None, None),
        };
        let reason = match self {
            Self::Link { issue, .. } => issue.code(),
            Self::Log {
                issue: StrictIssue::TruncatedGzip,
                ..
            } => "truncated_gzip",
            Self::Log {
                issue: StrictIssue::UnsupportedHashAlgorithm(_),
                ..
            } => "unsupported_hash_algorithm",
            _ => self.category(),
        };
        json!({"type": "strict", "v": JSON_VERSION, "check": self.category(), "reason": reason,
               "bucket": bucket, "key": key, "message": self.text()})
    }
}

/// One line of the validation's story, in output order.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    /// A digest whose signature verified.
    DigestValid {
        /// Which chain.
        chain: Chain,
        /// Bucket (`digestS3Bucket`).
        bucket: String,
        /// Key (`digestS3Object`).
        key: String,
        /// `digestStartTime`.
        start: UtcTime,
        /// `digestEndTime`.
        end: UtcTime,
        /// SHA-256 of the inflated digest.
        sha256: String,
    },
    /// Offline without metadata: a digest whose signature is nowhere to be found.
    DigestUnverifiable {
        /// Which chain.
        chain: Chain,
        /// Bucket.
        bucket: String,
        /// Key.
        key: String,
        /// `digestStartTime`.
        start: UtcTime,
        /// `digestEndTime`.
        end: UtcTime,
    },
    /// A digest that failed.
    DigestInvalid {
        /// Which chain.
        chain: Chain,
        /// Bucket.
        bucket: String,
        /// Key.
        key: String,
        /// Why.
        verdict: DigestVerdict,
    },
    /// A gap in the chain.
    Gap {
        /// Which chain.
        chain: Chain,
        /// End of the older digest.
        next_end: UtcTime,
        /// Start of the newer digest.
        last_start: UtcTime,
    },
    /// A log file checked.
    Log {
        /// Bucket.
        bucket: String,
        /// Key.
        key: String,
        /// The AWS CLI's verdict.
        verdict: LogVerdict,
        /// Inflated size, when read.
        bytes: u64,
    },
    /// A `--strict` finding.
    Strict(StrictFinding),
    /// The AWS CLI would abort here (exit 255) with this text.
    Fatal(String),
}

/// The exit codes of `validate-logs`, those of `aws cloudtrail validate-logs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValidateExit {
    /// Nothing invalid (including "No digests found").
    Valid = 0,
    /// A digest or log file is invalid, or a `--strict` check failed.
    Invalid = 1,
    /// A usage error, a fatal S3 or CloudTrail error, no public keys, ...
    Fatal = 255,
}

impl ValidateExit {
    /// The process exit code.
    #[must_use]
    pub fn code(self) -> u8 {
        self as u8
    }
}

/// Wraps a write to stderr (to hide a progress bar meanwhile).
pub type StderrGuard<'w> = Box<dyn FnMut(&mut dyn FnMut()) + 'w>;

/// Counts and renders records.
pub struct Report<'w> {
    format: OutputFormat,
    verbose: bool,
    start: UtcTime,
    end: UtcTime,
    out: &'w mut dyn Write,
    err: &'w mut dyn Write,
    last_double_space: bool,
    found_start: Option<UtcTime>,
    found_end: Option<UtcTime>,
    valid_digests: u64,
    invalid_digests: u64,
    valid_backfill: u64,
    invalid_backfill: u64,
    valid_logs: u64,
    invalid_logs: u64,
    unverifiable: u64,
    strict_enabled: bool,
    strict_failures: Vec<(&'static str, u64)>,
    links_checked: u64,
    fatal: bool,
    /// Called around every write to stderr (to hide a progress bar meanwhile).
    pub on_stderr: Option<StderrGuard<'w>>,
}

impl<'w> Report<'w> {
    /// A report for the window `[start, end]`.
    pub fn new(
        format: OutputFormat,
        verbose: bool,
        strict: bool,
        start: UtcTime,
        end: UtcTime,
        out: &'w mut dyn Write,
        err: &'w mut dyn Write,
    ) -> Self {
        Self {
            format,
            verbose,
            start,
            end,
            out,
            err,
            last_double_space: true,
            found_start: None,
            found_end: None,
            valid_digests: 0,
            invalid_digests: 0,
            valid_backfill: 0,
            invalid_backfill: 0,
            valid_logs: 0,
            invalid_logs: 0,
            unverifiable: 0,
            strict_enabled: strict,
            strict_failures: Vec::new(),
            links_checked: 0,
            fatal: false,
            on_stderr: None,
        }
    }

    /// `Validating log files for trail <arn> between <start> and <end>`.
    ///
    /// # Errors
    /// Write errors.
    pub fn startup(&mut self, trail_arn: &str, mode: &str) -> io::Result<()> {
        match self.format {
            OutputFormat::Text => write!(
                self.out,
                "Validating log files for trail {trail_arn} between {} and {}\n\n",
                self.start.to_iso(),
                self.end.to_iso()
            ),
            OutputFormat::Json => self.json_line(&json!({
                "type": "begin", "v": JSON_VERSION, "trail_arn": trail_arn,
                "start": self.start.to_iso(), "end": self.end.to_iso(), "mode": mode,
            })),
        }
    }

    fn json_line(&mut self, v: &serde_json::Value) -> io::Result<()> {
        serde_json::to_writer(&mut *self.out, v).map_err(io::Error::other)?;
        self.out.write_all(b"\n")
    }

    /// The AWS CLI's `_write_status`: problems to stderr with blank-line spacing, valid
    /// results to stdout in verbose mode only.
    fn status(&mut self, message: &str, is_error: bool) -> io::Result<()> {
        if is_error {
            let lead = if self.last_double_space { "" } else { "\n" };
            self.last_double_space = true;
            self.write_stderr(&format!("{lead}{message}\n\n"))
        } else if self.verbose {
            self.last_double_space = false;
            writeln!(self.out, "{message}")
        } else {
            Ok(())
        }
    }

    /// Writes to stderr after flushing stdout (so a terminal shows them in order), around
    /// the progress bar if there is one.
    fn write_stderr(&mut self, text: &str) -> io::Result<()> {
        self.out.flush()?;
        let err = &mut *self.err;
        let mut result = Ok(());
        let mut write = || result = err.write_all(text.as_bytes()).and_then(|()| err.flush());
        match &mut self.on_stderr {
            Some(wrap) => wrap(&mut write),
            None => write(),
        }
        result
    }

    fn track_found(&mut self, start: UtcTime, end: UtcTime) {
        let s = start.max(self.start);
        if self.found_start.is_none_or(|f| s < f) {
            self.found_start = Some(s);
        }
        let e = end.min(self.end);
        if self.found_end.is_none_or(|f| e > f) {
            self.found_end = Some(e);
        }
    }

    fn bump_strict(&mut self, category: &'static str) {
        match self
            .strict_failures
            .iter_mut()
            .find(|(c, _)| *c == category)
        {
            Some((_, n)) => *n += 1,
            None => self.strict_failures.push((category, 1)),
        }
    }

    /// Counts a checked digest link (`--strict`), for the summary.
    pub fn link_checked(&mut self) {
        self.links_checked += 1;
    }

    /// Renders one record.
    ///
    /// # Errors
    /// Write errors.
    pub fn record(&mut self, r: &Record) -> io::Result<()> {
        let json = self.format == OutputFormat::Json;
        match r {
            Record::DigestValid {
                chain,
                bucket,
                key,
                start,
                end,
                sha256,
            } => {
                self.track_found(*start, *end);
                match chain {
                    Chain::Standard => self.valid_digests += 1,
                    Chain::Backfill => self.valid_backfill += 1,
                }
                if json {
                    self.json_line(&json!({"type": "digest", "v": JSON_VERSION, "backfill": *chain == Chain::Backfill,
                        "bucket": bucket, "key": key, "status": "valid", "start": start.to_iso(), "end": end.to_iso(), "sha256": sha256}))
                } else {
                    self.status(
                        &format!("{}Digest file\ts3://{bucket}/{key}\tvalid", chain.prefix()),
                        false,
                    )
                }
            }
            Record::DigestUnverifiable {
                chain,
                bucket,
                key,
                start,
                end,
            } => {
                self.track_found(*start, *end);
                self.unverifiable += 1;
                if json {
                    self.json_line(&json!({"type": "digest", "v": JSON_VERSION, "backfill": *chain == Chain::Backfill,
                        "bucket": bucket, "key": key, "status": "unverifiable", "reason": "signature_unavailable_offline",
                        "start": start.to_iso(), "end": end.to_iso()}))
                } else {
                    self.status(
                        &format!(
                            "{}Digest file\ts3://{bucket}/{key}\tUNVERIFIED: signature unavailable offline (the copy kept no S3 metadata; pass --newest-signature)",
                            chain.prefix()
                        ),
                        true,
                    )
                }
            }
            Record::DigestInvalid {
                chain,
                bucket,
                key,
                verdict,
            } => {
                match chain {
                    Chain::Standard => self.invalid_digests += 1,
                    Chain::Backfill => self.invalid_backfill += 1,
                }
                if json {
                    self.json_line(&json!({"type": "digest", "v": JSON_VERSION, "backfill": *chain == Chain::Backfill,
                        "bucket": bucket, "key": key, "status": "invalid", "reason": verdict.code(), "message": verdict.to_string()}))
                } else {
                    self.status(
                        &format!(
                            "{}Digest file\ts3://{bucket}/{key}\tINVALID: {verdict}",
                            chain.prefix()
                        ),
                        true,
                    )
                }
            }
            Record::Gap {
                chain,
                next_end,
                last_start,
            } => {
                if json {
                    self.json_line(&json!({"type": "gap", "v": JSON_VERSION, "backfill": *chain == Chain::Backfill,
                        "from": next_end.to_iso(), "to": last_start.to_iso()}))
                } else {
                    self.status(
                        &format!(
                            "{}No log files were delivered by CloudTrail between {} and {}",
                            chain.prefix(),
                            next_end.to_iso(),
                            last_start.to_iso()
                        ),
                        true,
                    )
                }
            }
            Record::Log {
                bucket,
                key,
                verdict,
                bytes,
            } => {
                let valid = *verdict == LogVerdict::Valid;
                if valid {
                    self.valid_logs += 1;
                } else {
                    self.invalid_logs += 1;
                }
                if json {
                    let (expected, computed) = match verdict {
                        LogVerdict::HashMismatch { expected, computed } => {
                            (Some(expected), Some(computed))
                        }
                        _ => (None, None),
                    };
                    let v = json!({"type": "log", "v": JSON_VERSION, "bucket": bucket, "key": key,
                        "status": if valid { "valid" } else { "invalid" }, "reason": verdict.code(), "bytes": bytes,
                        "expected_sha256": expected, "computed_sha256": computed,
                        "message": (!valid).then(|| verdict.to_string())});
                    self.json_line(&v)
                } else if valid {
                    self.status(&format!("Log file\ts3://{bucket}/{key}\tvalid"), false)
                } else {
                    self.status(
                        &format!("Log file\ts3://{bucket}/{key}\tINVALID: {verdict}"),
                        true,
                    )
                }
            }
            Record::Strict(f) => {
                self.bump_strict(f.category());
                if json {
                    self.json_line(&f.json())
                } else {
                    self.status(&f.text(), true)
                }
            }
            Record::Fatal(msg) => {
                self.fatal = true;
                if json {
                    self.json_line(&json!({"type": "error", "v": JSON_VERSION, "message": msg}))
                } else {
                    // The AWS CLI's top-level handler: "\n<error>\n" on stderr.
                    self.write_stderr(&format!("\n{msg}\n"))
                }
            }
        }
    }

    /// The AWS CLI's `_write_summary_text`, plus sealtrail's own lines (unverifiable digests,
    /// strict checks).
    ///
    /// # Errors
    /// Write errors.
    pub fn summary(&mut self) -> io::Result<()> {
        if self.format == OutputFormat::Json {
            let strict: serde_json::Map<String, serde_json::Value> = self
                .strict_failures
                .iter()
                .map(|(c, n)| ((*c).to_owned(), json!(n)))
                .collect();
            let v = json!({"type": "summary", "v": JSON_VERSION,
                "requested": {"start": self.start.to_iso(), "end": self.end.to_iso()},
                "found": self.found_start.zip(self.found_end).map(|(s, e)| json!({"start": s.to_iso(), "end": e.to_iso()})),
                "digests": {"valid": self.valid_digests, "invalid": self.invalid_digests},
                "backfill_digests": {"valid": self.valid_backfill, "invalid": self.invalid_backfill},
                "logs": {"valid": self.valid_logs, "invalid": self.invalid_logs},
                "unverifiable_digests": self.unverifiable,
                "strict": if self.strict_enabled { json!({"links_checked": self.links_checked, "failures": strict}) } else { serde_json::Value::Null },
                "exit_code": self.exit().code()});
            return self.json_line(&v);
        }
        if !self.last_double_space {
            self.out.write_all(b"\n")?;
        }
        writeln!(
            self.out,
            "Results requested for {} to {}",
            self.start.to_iso(),
            self.end.to_iso()
        )?;
        let total_valid = self.valid_digests + self.valid_backfill;
        let total_invalid = self.invalid_digests + self.invalid_backfill;
        if total_valid == 0 && total_invalid == 0 && self.unverifiable == 0 {
            self.out.write_all(b"No digests found\n")?;
            return self.strict_summary();
        }
        match (self.found_start, self.found_end) {
            (Some(s), Some(e)) => writeln!(
                self.out,
                "Results found for {} to {}:",
                s.to_iso(),
                e.to_iso()
            )?,
            _ => self.out.write_all(b"No valid digests found in range\n")?,
        }
        self.ratio(self.valid_digests, self.invalid_digests, "digest")?;
        self.ratio(
            self.valid_backfill,
            self.invalid_backfill,
            "backfill digest",
        )?;
        self.ratio(self.valid_logs, self.invalid_logs, "log")?;
        if self.unverifiable > 0 {
            write!(
                self.out,
                "\n{} digest file{} unverifiable offline",
                self.unverifiable,
                if self.unverifiable == 1 { "" } else { "s" }
            )?;
        }
        self.out.write_all(b"\n")?;
        self.strict_summary()
    }

    fn strict_summary(&mut self) -> io::Result<()> {
        if !self.strict_enabled {
            return Ok(());
        }
        if self.strict_failures.is_empty() {
            writeln!(
                self.out,
                "\nStrict checks passed ({} digest links checked)",
                self.links_checked
            )
        } else {
            let total: u64 = self.strict_failures.iter().map(|(_, n)| n).sum();
            write!(self.out, "\nStrict checks FAILED: {total}")?;
            for (c, n) in self.strict_failures.clone() {
                write!(self.out, "\n{n} {}", c.replace('_', " "))?;
            }
            self.out.write_all(b"\n")
        }
    }

    fn ratio(&mut self, valid: u64, invalid: u64, name: &str) -> io::Result<()> {
        let total = valid + invalid;
        if total > 0 {
            write!(self.out, "\n{valid}/{total} {name} files valid")?;
            if invalid > 0 {
                write!(self.out, ", {invalid}/{total} {name} files INVALID")?;
            }
        }
        Ok(())
    }

    /// The exit code so far.
    #[must_use]
    pub fn exit(&self) -> ValidateExit {
        if self.fatal {
            ValidateExit::Fatal
        } else if self.invalid_digests + self.invalid_backfill + self.invalid_logs > 0
            || !self.strict_failures.is_empty()
        {
            ValidateExit::Invalid
        } else {
            ValidateExit::Valid
        }
    }

    /// Flushes stdout.
    ///
    /// # Errors
    /// Write errors.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> UtcTime {
        UtcTime::parse_iso(s).unwrap()
    }

    fn render(verbose: bool, records: &[Record]) -> (String, String, ValidateExit) {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = {
            let mut r = Report::new(
                OutputFormat::Text,
                verbose,
                false,
                t("2026-01-10T00:00:00Z"),
                t("2026-01-10T04:00:00Z"),
                &mut out,
                &mut err,
            );
            r.startup(
                "arn:aws:cloudtrail:us-east-1:123456789012:trail/mytrail",
                "online",
            )
            .unwrap();
            for rec in records {
                r.record(rec).unwrap();
            }
            r.summary().unwrap();
            r.exit()
        };
        (
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
            code,
        )
    }

    fn valid(end_h: u32) -> Record {
        Record::DigestValid {
            chain: Chain::Standard,
            bucket: "b".into(),
            key: format!("d{end_h}"),
            start: t(&format!("2026-01-10T0{}:05:00Z", end_h - 1)),
            end: t(&format!("2026-01-10T0{end_h}:05:00Z")),
            sha256: String::new(),
        }
    }

    fn log(ok: bool) -> Record {
        Record::Log {
            bucket: "b".into(),
            key: "l".into(),
            verdict: if ok {
                LogVerdict::Valid
            } else {
                LogVerdict::HashMismatch {
                    expected: "a".into(),
                    computed: "b".into(),
                }
            },
            bytes: 0,
        }
    }

    #[test]
    fn all_valid_matches_the_documented_output() {
        // spec §2.8, the [EXP] example.
        let (out, err, code) = render(
            false,
            &[
                valid(3),
                log(true),
                log(true),
                valid(2),
                log(true),
                log(true),
                valid(1),
                log(true),
                log(true),
            ],
        );
        assert_eq!(
            out,
            "Validating log files for trail arn:aws:cloudtrail:us-east-1:123456789012:trail/mytrail between 2026-01-10T00:00:00Z and 2026-01-10T04:00:00Z\n\nResults requested for 2026-01-10T00:00:00Z to 2026-01-10T04:00:00Z\nResults found for 2026-01-10T00:05:00Z to 2026-01-10T03:05:00Z:\n\n3/3 digest files valid\n6/6 log files valid\n"
        );
        assert_eq!(err, "");
        assert_eq!(code, ValidateExit::Valid);
    }

    #[test]
    fn verbose_and_error_spacing() {
        let (out, err, code) = render(true, &[valid(2), log(false), log(true)]);
        assert!(out.contains(
            "\n\nDigest file\ts3://b/d2\tvalid\nLog file\ts3://b/l\tvalid\n\nResults requested"
        ));
        // After a verbose stdout line, the next stderr message starts with a newline.
        assert_eq!(
            err,
            "\nLog file\ts3://b/l\tINVALID: hash value doesn't match\n\n"
        );
        assert!(
            out.ends_with("\n1/1 digest files valid\n1/2 log files valid, 1/2 log files INVALID\n")
        );
        assert_eq!(code, ValidateExit::Invalid);
    }

    #[test]
    fn no_digests_and_fatal() {
        let (out, _, code) = render(false, &[]);
        assert!(out.ends_with(
            "Results requested for 2026-01-10T00:00:00Z to 2026-01-10T04:00:00Z\nNo digests found\n"
        ));
        assert_eq!(code, ValidateExit::Valid);
        let (_, err, code) = render(false, &[Record::Fatal("boom".into())]);
        assert_eq!(err, "\nboom\n");
        assert_eq!(code, ValidateExit::Fatal);
    }
}
