//! Online validation: S3 through the AWS SDK for Rust (standard credential chain, one client
//! per bucket region, path-style for custom endpoints), CloudTrail `ListPublicKeys` and
//! `DescribeTrails`, Organizations `DescribeOrganization`.
//!
//! Endpoints follow the AWS CLI: `--endpoint-url` reaches CloudTrail only; S3 and
//! Organizations honour `AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL_ORGANIZATIONS` and
//! `AWS_ENDPOINT_URL`.

use std::collections::HashMap;
use std::error::Error as _;
use std::ops::ControlFlow;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::stalled_stream_protection::StalledStreamProtectionConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_types::DateTime;
use sealtrail_integrity::gzip::GzipError;
use sealtrail_integrity::logfile::LogHasher;
use sealtrail_integrity::verify::{KeyRing, Metadata};
use sealtrail_integrity::walk::{FetchError, FetchedDigest, WalkFatal};
use sealtrail_model::UtcTime;

use super::store::{LOG_INFLATE_LIMIT, LogRead, Store};

/// The AWS CLI's global timeout options, with its defaults (botocore: 60 s each; 0: none).
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct NetworkArgs {
    /// The maximum socket read time in seconds, also while a response body streams in; 0
    /// waits forever.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub cli_read_timeout: u64,
    /// The maximum socket connect time in seconds; 0 waits forever.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub cli_connect_timeout: u64,
}

fn seconds(s: u64) -> Option<Duration> {
    (s > 0).then(|| Duration::from_secs(s))
}

/// The configuration every online call shares.
#[derive(Clone)]
pub struct Aws {
    conf: SdkConfig,
    /// `--region`, else the configured default region.
    region: Option<String>,
    cloudtrail_endpoint: Option<String>,
    /// `--cli-read-timeout`, for response bodies (`next_chunk`).
    read_timeout: Option<Duration>,
}

fn configured_endpoint(service_var: &str) -> Option<String> {
    let ignore = std::env::var("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
        .is_ok_and(|v| v.eq_ignore_ascii_case("true"));
    if ignore {
        return None;
    }
    std::env::var(service_var)
        .ok()
        .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok())
        .filter(|s| !s.is_empty())
}

impl Aws {
    /// Loads the standard configuration (environment, profile, SSO, IMDS...).
    pub async fn load(
        region: Option<&str>,
        profile: Option<&str>,
        endpoint_url: Option<&str>,
        net: NetworkArgs,
    ) -> Self {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(r) = region {
            loader = loader.region(Region::new(r.to_owned()));
        }
        if let Some(p) = profile {
            loader = loader.profile_name(p);
        }
        // The AWS CLI's network behaviour (botocore's connect and read timeouts, the read one
        // also on bodies, through `next_chunk`) instead of the SDK's stalled-stream monitor,
        // whose throughput log and timers per download cost ~10% of the CPU of fetching
        // thousands of small log files.
        let mut timeouts = TimeoutConfig::builder();
        timeouts = match seconds(net.cli_connect_timeout) {
            Some(d) => timeouts.connect_timeout(d),
            None => timeouts.disable_connect_timeout(),
        };
        let read_timeout = seconds(net.cli_read_timeout);
        timeouts = match read_timeout {
            Some(d) => timeouts.read_timeout(d),
            None => timeouts.disable_read_timeout(),
        };
        loader = loader
            .stalled_stream_protection(StalledStreamProtectionConfig::disabled())
            .timeout_config(timeouts.build());
        let conf = loader.load().await;
        let region = region
            .map(str::to_owned)
            .or_else(|| conf.region().map(ToString::to_string));
        Self {
            conf,
            region,
            cloudtrail_endpoint: endpoint_url
                .map(str::to_owned)
                .or_else(|| configured_endpoint("AWS_ENDPOINT_URL_CLOUDTRAIL")),
            read_timeout,
        }
    }

    /// The region of the CloudTrail client (`--region` or the default).
    ///
    /// # Errors
    /// The AWS CLI's `NoRegionError` text when there is none.
    pub fn region(&self) -> Result<&str, WalkFatal> {
        self.region.as_deref().ok_or_else(|| {
            WalkFatal("You must specify a region. You can also configure your region by running \"aws configure\".".to_owned())
        })
    }

    fn cloudtrail(&self) -> aws_sdk_cloudtrail::Client {
        let mut b = aws_sdk_cloudtrail::config::Builder::from(&self.conf);
        if let Some(r) = &self.region {
            b = b.region(Region::new(r.clone()));
        }
        if let Some(url) = &self.cloudtrail_endpoint {
            b = b.endpoint_url(url.clone());
        }
        aws_sdk_cloudtrail::Client::from_conf(b.build())
    }

    fn s3(&self, region: &str) -> aws_sdk_s3::Client {
        let mut b =
            aws_sdk_s3::config::Builder::from(&self.conf).region(Region::new(region.to_owned()));
        if let Some(url) = configured_endpoint("AWS_ENDPOINT_URL_S3") {
            // botocore uses path-style for every custom endpoint; so do we.
            b = b.endpoint_url(url).force_path_style(true);
        }
        aws_sdk_s3::Client::from_conf(b.build())
    }

    /// `DescribeTrails` and, for an organization trail, `DescribeOrganization`: the trail's
    /// bucket, prefix and organization id, as `aws cloudtrail validate-logs` finds them.
    ///
    /// # Errors
    /// The AWS CLI's messages: the service error, `A trail could not be found for <arn>`,
    /// the missing `--account-id` for an organization trail.
    pub async fn resolve_trail(
        &self,
        trail_arn: &str,
        account_id: Option<&str>,
    ) -> Result<(String, Option<String>, Option<String>), WalkFatal> {
        self.region()?;
        let resp = self
            .cloudtrail()
            .describe_trails()
            .send()
            .await
            .map_err(|e| WalkFatal(client_error("DescribeTrails", &e)))?;
        let trail = resp
            .trail_list()
            .iter()
            .find(|t| t.trail_arn() == Some(trail_arn))
            .ok_or_else(|| WalkFatal(format!("A trail could not be found for {trail_arn}")))?;
        let bucket = trail.s3_bucket_name().unwrap_or_default().to_owned();
        let prefix = trail.s3_key_prefix().map(str::to_owned);
        let mut org = None;
        if trail.is_organization_trail() == Some(true) {
            if account_id.is_none_or(str::is_empty) {
                return Err(WalkFatal(
                    "Missing required parameter for organization trail: '--account-id'".to_owned(),
                ));
            }
            let mut b = aws_sdk_organizations::config::Builder::from(&self.conf);
            if let Some(r) = &self.region {
                b = b.region(Region::new(r.clone()));
            }
            if let Some(url) = configured_endpoint("AWS_ENDPOINT_URL_ORGANIZATIONS") {
                b = b.endpoint_url(url);
            }
            let out = aws_sdk_organizations::Client::from_conf(b.build())
                .describe_organization()
                .send()
                .await
                .map_err(|e| WalkFatal(client_error("DescribeOrganization", &e)))?;
            org = out.organization().and_then(|o| o.id()).map(str::to_owned);
        }
        Ok((bucket, prefix, org))
    }

    /// `ListPublicKeys` for `[start, end]`, one call (the AWS CLI ignores `NextToken`).
    ///
    /// # Errors
    /// The service error text.
    pub async fn list_public_keys(
        &self,
        start: UtcTime,
        end: UtcTime,
    ) -> Result<Vec<(String, Vec<u8>)>, WalkFatal> {
        self.region()?;
        let resp = self
            .cloudtrail()
            .list_public_keys()
            .start_time(DateTime::from_secs(start.epoch_seconds()))
            .end_time(DateTime::from_secs(end.epoch_seconds()))
            .send()
            .await
            .map_err(|e| WalkFatal(client_error("ListPublicKeys", &e)))?;
        Ok(resp
            .public_key_list()
            .iter()
            .filter_map(|k| Some((k.fingerprint()?.to_owned(), k.value()?.as_ref().to_vec())))
            .collect())
    }
}

/// The AWS CLI's text for a failed call: `An error occurred (<Code>) when calling the <Op>
/// operation: <Message>`, or its texts for connection and credential failures.
pub fn client_error<E, R>(op: &str, err: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match err {
        SdkError::ServiceError(se) => {
            let e = se.err();
            let code = e.code().unwrap_or("Unknown");
            let message = e.message().unwrap_or("");
            format!("An error occurred ({code}) when calling the {op} operation: {message}")
        }
        other => {
            let mut text = other.to_string();
            let mut source = other.source();
            while let Some(s) = source {
                text.push_str(": ");
                text.push_str(&s.to_string());
                source = s.source();
            }
            if text.contains("credentials") {
                "Unable to locate credentials. You can configure credentials by running \"aws configure\".".to_owned()
            } else {
                format!("Could not connect to the endpoint URL for {op}: {text}")
            }
        }
    }
}

/// S3 and CloudTrail online.
#[derive(Clone)]
pub struct S3Store {
    inner: Arc<S3Inner>,
}

struct S3Inner {
    aws: Aws,
    clients: Mutex<HashMap<String, aws_sdk_s3::Client>>,
    bucket_regions: tokio::sync::Mutex<HashMap<String, String>>,
}

impl S3Store {
    /// A store using `aws`.
    #[must_use]
    pub fn new(aws: Aws) -> Self {
        Self {
            inner: Arc::new(S3Inner {
                aws,
                clients: Mutex::new(HashMap::new()),
                bucket_regions: tokio::sync::Mutex::new(HashMap::new()),
            }),
        }
    }

    fn client(&self, region: &str) -> aws_sdk_s3::Client {
        let mut clients = self
            .inner
            .clients
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        clients
            .entry(region.to_owned())
            .or_insert_with(|| self.inner.aws.s3(region))
            .clone()
    }

    /// The client for `bucket`'s region (`GetBucketLocation`, cached), as the AWS CLI's
    /// `S3ClientProvider` does.
    async fn client_for(&self, bucket: &str) -> Result<aws_sdk_s3::Client, String> {
        let mut regions = self.inner.bucket_regions.lock().await;
        if let Some(r) = regions.get(bucket) {
            return Ok(self.client(r));
        }
        let home = self
            .inner
            .aws
            .region
            .clone()
            .unwrap_or_else(|| "us-east-1".to_owned());
        let out = self
            .client(&home)
            .get_bucket_location()
            .bucket(bucket)
            .send()
            .await
            .map_err(|e| client_error("GetBucketLocation", &e))?;
        let region = match out.location_constraint().map(|c| c.as_str()) {
            None | Some("") => "us-east-1".to_owned(),
            Some("EU") => "eu-west-1".to_owned(),
            Some(r) => r.to_owned(),
        };
        regions.insert(bucket.to_owned(), region.clone());
        Ok(self.client(&region))
    }

    /// The next chunk of a response body, or an error once it has sent nothing for
    /// `--cli-read-timeout` (the SDK's own stalled-stream protection is off, see
    /// [`Aws::load`]).
    ///
    /// # Errors
    /// The transport's error, or the timeout, as text.
    pub async fn next_chunk(
        &self,
        body: &mut aws_smithy_types::byte_stream::ByteStream,
    ) -> Result<Option<impl std::ops::Deref<Target = [u8]> + use<>>, String> {
        let Some(limit) = self.inner.aws.read_timeout else {
            return body.try_next().await.map_err(|e| e.to_string());
        };
        match tokio::time::timeout(limit, body.try_next()).await {
            Ok(chunk) => chunk.map_err(|e| e.to_string()),
            Err(_) => Err(format!(
                "Read timeout: the body sent nothing for {} seconds",
                limit.as_secs()
            )),
        }
    }

    /// Lists every object under `prefix` with size and ETag (ListObjectsV2), for `sync`.
    ///
    /// # Errors
    /// The AWS CLI's error text.
    pub async fn list_all(
        &self,
        bucket: &str,
        prefix: &str,
        visit: &mut (dyn FnMut(&aws_sdk_s3::types::Object) + Send),
    ) -> Result<(), String> {
        let client = self.client_for(bucket).await?;
        let mut token: Option<String> = None;
        loop {
            let mut req = client.list_objects_v2().bucket(bucket).prefix(prefix);
            if let Some(t) = &token {
                req = req.continuation_token(t);
            }
            let out = req
                .send()
                .await
                .map_err(|e| client_error("ListObjectsV2", &e))?;
            for o in out.contents() {
                visit(o);
            }
            match (out.is_truncated(), out.next_continuation_token()) {
                (Some(true), Some(t)) => token = Some(t.to_owned()),
                _ => return Ok(()),
            }
        }
    }

    /// GetObject, for `sync`: the response, or `None` for NoSuchKey.
    ///
    /// # Errors
    /// The AWS CLI's error text.
    pub async fn get_object(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<Option<aws_sdk_s3::operation::get_object::GetObjectOutput>, String> {
        let client = self.client_for(bucket).await?;
        match client.get_object().bucket(bucket).key(key).send().await {
            Ok(o) => Ok(Some(o)),
            Err(SdkError::ServiceError(se)) if se.err().is_no_such_key() => Ok(None),
            Err(e) => Err(client_error("GetObject", &e)),
        }
    }
}

impl Store for S3Store {
    async fn list(
        &self,
        bucket: &str,
        prefix: &str,
        marker: &str,
        visit: &mut (dyn FnMut(&str) -> ControlFlow<()> + Send),
    ) -> Result<(), WalkFatal> {
        let client = self.client_for(bucket).await.map_err(WalkFatal)?;
        let mut marker = marker.to_owned();
        loop {
            let out = client
                .list_objects()
                .bucket(bucket)
                .prefix(prefix)
                .marker(&marker)
                .send()
                .await
                .map_err(|e| WalkFatal(client_error("ListObjects", &e)))?;
            let mut last = None;
            for o in out.contents() {
                let Some(k) = o.key() else { continue };
                if visit(k).is_break() {
                    return Ok(());
                }
                last = Some(k.to_owned());
            }
            if out.is_truncated() != Some(true) {
                return Ok(());
            }
            match out.next_marker().map(str::to_owned).or(last) {
                Some(m) => marker = m,
                None => return Ok(()),
            }
        }
    }

    async fn get_digest(&self, bucket: &str, key: &str) -> Result<FetchedDigest, FetchError> {
        let client = self.client_for(bucket).await.map_err(FetchError::Fatal)?;
        let mut out = match client.get_object().bucket(bucket).key(key).send().await {
            Ok(o) => o,
            Err(SdkError::ServiceError(se)) if se.err().is_no_such_key() => {
                return Err(FetchError::NotFound);
            }
            Err(e) => return Err(FetchError::Fatal(client_error("GetObject", &e))),
        };
        let metadata = out
            .metadata()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .collect();
        let mut body = Vec::new();
        while let Some(chunk) = self
            .next_chunk(&mut out.body)
            .await
            .map_err(|e| FetchError::Fatal(format!("reading s3://{bucket}/{key}: {e}")))?
        {
            body.extend_from_slice(&chunk);
        }
        Ok(FetchedDigest::new(body, Metadata::Known(metadata)))
    }

    async fn hash_log(&self, bucket: &str, key: &str) -> Result<LogRead, WalkFatal> {
        let client = self.client_for(bucket).await.map_err(WalkFatal)?;
        let mut out = match client.get_object().bucket(bucket).key(key).send().await {
            Ok(o) => o,
            Err(SdkError::ServiceError(se)) if se.err().is_no_such_key() => return Ok(None),
            Err(e) => return Err(WalkFatal(client_error("GetObject", &e))),
        };
        let mut hasher = LogHasher::new(LOG_INFLATE_LIMIT);
        loop {
            match self.next_chunk(&mut out.body).await {
                Ok(Some(chunk)) => {
                    if let Err(e) = hasher.update(&chunk) {
                        return Ok(Some(Err(e)));
                    }
                }
                Ok(None) => break,
                // The AWS CLI reports any failure while reading a log as "invalid format".
                Err(e) => return Ok(Some(Err(GzipError::Data(format!("read failed: {e}"))))),
            }
        }
        Ok(Some(Ok(hasher.finish())))
    }

    async fn public_keys(&self, start: UtcTime, end: UtcTime) -> Result<KeyRing, WalkFatal> {
        let keys = self.inner.aws.list_public_keys(start, end).await?;
        let mut ring = KeyRing::new();
        for (fp, der) in &keys {
            ring.insert(fp, der);
        }
        Ok(ring)
    }
}
