//! Shared helpers for the validate-logs tests: an in-memory [`Store`] over the testkit's
//! bucket, and a way to run the whole engine on it.

#![allow(dead_code, reason = "each test binary uses part of it")]

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::process::Command;
use std::sync::Arc;

use sealtrail::validate::engine::{self, Counters, EngineOptions};
use sealtrail::validate::report::{OutputFormat, Report};
use sealtrail::validate::store::{LOG_INFLATE_LIMIT, LogRead, Store};
use sealtrail_integrity::logfile::LogHasher;
use sealtrail_integrity::verify::{KeyRing, Metadata};
use sealtrail_integrity::walk::{FetchError, FetchedDigest, WalkFatal, WalkParams};
use sealtrail_model::UtcTime;
use sealtrail_testkit::{ChainSpec, MemoryBucket};

/// An in-memory bucket as a [`Store`].
#[derive(Clone)]
pub struct MemStore(pub Arc<MemoryBucket>);

impl Store for MemStore {
    async fn list(
        &self,
        bucket: &str,
        prefix: &str,
        marker: &str,
        visit: &mut (dyn FnMut(&str) -> ControlFlow<()> + Send),
    ) -> Result<(), WalkFatal> {
        for (b, k) in self.0.objects.keys() {
            if b == bucket && k.as_str() > marker && k.starts_with(prefix) && visit(k).is_break() {
                break;
            }
        }
        Ok(())
    }

    async fn get_digest(&self, bucket: &str, key: &str) -> Result<FetchedDigest, FetchError> {
        if let Some(m) = self.0.fail_reads.get(&(bucket.to_owned(), key.to_owned())) {
            return Err(FetchError::Fatal(m.clone()));
        }
        let o = self.0.get(bucket, key).ok_or(FetchError::NotFound)?;
        Ok(FetchedDigest::new(
            o.body.clone(),
            if self.0.drop_metadata {
                Metadata::Unknown
            } else {
                Metadata::Known(o.metadata.clone())
            },
        ))
    }

    async fn hash_log(&self, bucket: &str, key: &str) -> Result<LogRead, WalkFatal> {
        if let Some(m) = self.0.fail_reads.get(&(bucket.to_owned(), key.to_owned())) {
            return Err(WalkFatal(m.clone()));
        }
        Ok(self
            .0
            .get(bucket, key)
            .map(|o| LogHasher::hash_all(&o.body, LOG_INFLATE_LIMIT)))
    }

    async fn public_keys(&self, _start: UtcTime, _end: UtcTime) -> Result<KeyRing, WalkFatal> {
        let mut r = KeyRing::new();
        for (fp, der) in &self.0.public_keys {
            r.insert(fp, der);
        }
        Ok(r)
    }
}

/// Walk parameters for a generated chain over its whole span.
pub fn params_for(spec: &ChainSpec, strict: bool) -> WalkParams {
    WalkParams {
        start: spec.start,
        end: spec.start.plus_seconds(i64::from(spec.hours) * 3600),
        bucket: spec.bucket.clone(),
        prefix: spec.prefix.clone(),
        organization: spec.organization.as_ref().map(ToString::to_string),
        account: spec.account.to_string(),
        trail_name: spec.trail.to_string(),
        home_region: spec.home_region.to_string(),
        source_region: spec.region.to_string(),
        strict,
        newest_signature: None,
    }
}

/// The outcome of a run: per-file statuses from the JSON output, the exit code, and the
/// text output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// `(kind, key) → status/reason` for every file reported.
    pub files: BTreeMap<(String, String), String>,
    /// Strict findings `(check, key)`.
    pub strict: Vec<(String, String)>,
    /// Exit code.
    pub code: u8,
    /// Fatal message, if any.
    pub fatal: Option<String>,
}

impl Outcome {
    /// Files whose status is not `valid`.
    pub fn invalid(&self) -> BTreeMap<(String, String), String> {
        self.files
            .iter()
            .filter(|(_, v)| !v.starts_with("valid"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

/// Runs the real engine (JSON output) on `bucket`.
pub fn run_engine(
    rt: &tokio::runtime::Runtime,
    bucket: MemoryBucket,
    params: WalkParams,
    opts: EngineOptions,
) -> Outcome {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let (start, end) = (params.start, params.end);
    let code = rt.block_on(async {
        let mut report = Report::new(
            OutputFormat::Json,
            true,
            opts.strict,
            start,
            end,
            &mut out,
            &mut err,
        );
        let fatal = engine::run(
            MemStore(Arc::new(bucket)),
            params,
            &opts,
            Arc::new(Counters::default()),
            &mut report,
        )
        .await
        .unwrap();
        if !fatal {
            report.summary().unwrap();
        }
        report.exit().code()
    });
    let mut files = BTreeMap::new();
    let mut strict = Vec::new();
    let mut fatal = None;
    for line in String::from_utf8(out).unwrap().lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let key = v["key"].as_str().unwrap_or("").to_owned();
        match v["type"].as_str().unwrap() {
            "digest" | "log" => {
                let status = format!(
                    "{}{}",
                    v["status"].as_str().unwrap(),
                    v["reason"]
                        .as_str()
                        .map(|r| format!(":{r}"))
                        .unwrap_or_default()
                );
                files.insert((v["type"].as_str().unwrap().to_owned(), key), status);
            }
            "strict" => strict.push((v["check"].as_str().unwrap().to_owned(), key)),
            "error" => fatal = Some(v["message"].as_str().unwrap().to_owned()),
            _ => {}
        }
    }
    Outcome {
        files,
        strict,
        code,
        fatal,
    }
}

/// Default engine options.
pub fn opts(strict: bool) -> EngineOptions {
    EngineOptions {
        jobs: 4,
        strict,
        expect_until: None,
        trusted_digest: None,
        batch_logs: false,
    }
}

/// Points a `sealtrail` command at an S3 on 127.0.0.1 with static test credentials and no
/// profile, config file or instance metadata of the machine's own.
pub fn aws_env(c: &mut Command, s3_port: u16) -> &mut Command {
    c.env("AWS_ENDPOINT_URL_S3", format!("http://127.0.0.1:{s3_port}"))
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_ENDPOINT_URL")
}
