//! `sealtrail-testkit serve`: a fast fixture server for tests and benchmarks that speaks, on
//! one port, the read-only subset of **S3 REST** (path-style) that `aws cloudtrail
//! validate-logs`, `aws s3 sync` and `sealtrail sync` use, the **CloudTrail JSON 1.1**
//! operations `ListPublicKeys` and `DescribeTrails`, and **Organizations**
//! `DescribeOrganization`.
//!
//! It is test infrastructure, like moto, but fast: axum on a multi-thread tokio runtime, with
//! `TCP_NODELAY` on every accepted socket (without it, hyper's writes and the AWS CLI's request
//! pattern meet the 40 ms delayed-ACK stall).
//!
//! What it serves:
//! - buckets from *local copies* (`sealtrail_store::LocalCopy`: objects as files, S3 metadata in
//!   `.sealtrail-sync/meta/<key>.json`; a plain copy serves objects without metadata). The file
//!   system is read on **every** request (tests change files between runs), so object bodies,
//!   sizes, `ETag` (MD5 of the current bytes) and `Last-Modified` (file mtime) always reflect
//!   the disk. The one cache is the MD5 of files in *listings*, keyed by the file's size, mtime,
//!   ctime and inode, so a rewritten file gets a new ETag;
//! - user metadata as **lower-case** `x-amz-meta-<name>` headers (botocore keeps header case in
//!   `Metadata`, and the AWS CLI looks up exactly `signature`); no checksum headers;
//! - `ListObjects` v1 and v2 with `encoding-type=url` handled as S3 does (see spec §7.2);
//! - S3 errors as XML with `x-amz-request-id`, JSON errors as `{"__type", "message"}` with
//!   `x-amzn-RequestId`;
//! - `GET /__fixture/stats`: `{"requests": N, "handler_seconds": F}`, the number of requests
//!   served (the stats requests aside) and the total time spent inside handlers, so that a
//!   benchmark can show that the server is not what it measures.
//!
//! **Authentication is not checked**: any `Authorization` header (SigV4 or none) is accepted, as
//! moto does by default. Never expose this server beyond 127.0.0.1.
//!
//! It does not write: every method other than GET and HEAD on S3 paths is `NotImplemented`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, bail};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, Method, Response, StatusCode};
use axum::serve::ListenerExt;
use sealtrail_store::LocalCopy;

use crate::serve_json;
use crate::serve_s3;

/// One `--copy [BUCKET=]DIR` argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyArg {
    /// The bucket name; `None` takes it from the copy's `source.json`.
    pub bucket: Option<String>,
    /// The directory.
    pub dir: PathBuf,
}

impl CopyArg {
    /// Parses `BUCKET=DIR` or `DIR` (a `=` counts only when no `/` comes before it).
    #[must_use]
    pub fn parse(s: &str) -> Self {
        match s.split_once('=') {
            Some((bucket, dir)) if !bucket.is_empty() && !bucket.contains('/') => Self {
                bucket: Some(bucket.to_owned()),
                dir: PathBuf::from(dir),
            },
            _ => Self {
                bucket: None,
                dir: PathBuf::from(s),
            },
        }
    }
}

/// What the server serves.
#[derive(Debug, Clone, Default)]
pub struct ServeConfig {
    /// The buckets.
    pub copies: Vec<CopyArg>,
    /// ListPublicKeys JSON (v1 or v2 CLI form); absent: ListPublicKeys answers `[]`.
    pub public_keys: Option<PathBuf>,
    /// DescribeTrails JSON `{"trailList": [...]}`; absent: an empty list.
    pub trails: Option<PathBuf>,
    /// The organization that DescribeOrganization returns.
    pub organization_id: Option<String>,
    /// The region of every bucket (GetBucketLocation).
    pub region: String,
    /// Keys whose GetObject answers 403 AccessDenied (in any bucket).
    pub deny: Vec<String>,
    /// Added to every S3 response, to model a remote S3 (a round trip over a network) in
    /// benchmarks; zero by default. Not counted as handler time.
    pub latency: std::time::Duration,
}

/// Shared state of a running server.
pub(crate) struct AppState {
    pub(crate) buckets: BTreeMap<String, LocalCopy>,
    pub(crate) public_keys: Option<PathBuf>,
    pub(crate) trails: Option<PathBuf>,
    pub(crate) organization_id: Option<String>,
    pub(crate) region: String,
    pub(crate) deny: BTreeSet<String>,
    latency: std::time::Duration,
    requests: AtomicU64,
    handler_nanos: AtomicU64,
    request_ids: AtomicU64,
    /// MD5 of files in listings, keyed by path, validated by [`FileStamp`].
    pub(crate) etags: Mutex<HashMap<PathBuf, (FileStamp, String)>>,
}

/// What identifies a file's content well enough for the listing ETag cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileStamp {
    size: u64,
    modified: Option<SystemTime>,
    #[cfg(unix)]
    ino: u64,
    #[cfg(unix)]
    ctime: (i64, i64),
}

impl FileStamp {
    pub(crate) fn of(meta: &std::fs::Metadata) -> Self {
        #[cfg(unix)]
        use std::os::unix::fs::MetadataExt;
        Self {
            size: meta.len(),
            modified: meta.modified().ok(),
            #[cfg(unix)]
            ino: meta.ino(),
            #[cfg(unix)]
            ctime: (meta.ctime(), meta.ctime_nsec()),
        }
    }
}

impl AppState {
    /// Checks the configuration and opens the copies.
    ///
    /// # Errors
    /// A copy that cannot be opened, a plain copy without a bucket name, two copies with the
    /// same bucket, or a public-keys or trails file that does not parse.
    pub(crate) fn new(config: ServeConfig) -> anyhow::Result<Self> {
        let mut buckets = BTreeMap::new();
        for c in &config.copies {
            let copy = LocalCopy::open(&c.dir, "")
                .with_context(|| format!("opening copy {}", c.dir.display()))?;
            let name = match (&c.bucket, copy.source()) {
                (Some(b), _) => b.clone(),
                (None, Some(src)) => src.bucket.clone(),
                (None, None) => bail!(
                    "{} is a plain copy: give its bucket as --copy BUCKET=DIR",
                    c.dir.display()
                ),
            };
            if buckets.insert(name.clone(), copy).is_some() {
                bail!("bucket {name} is given twice");
            }
        }
        if let Some(p) = &config.public_keys {
            serve_json::read_public_keys(p)?;
        }
        if let Some(p) = &config.trails {
            serve_json::read_trails(p)?;
        }
        Ok(Self {
            buckets,
            public_keys: config.public_keys,
            trails: config.trails,
            organization_id: config.organization_id,
            region: config.region,
            deny: config.deny.into_iter().collect(),
            latency: config.latency,
            requests: AtomicU64::new(0),
            handler_nanos: AtomicU64::new(0),
            request_ids: AtomicU64::new(0),
            etags: Mutex::new(HashMap::new()),
        })
    }

    pub(crate) fn request_id(&self) -> String {
        format!(
            "FIXTURE{:013X}",
            self.request_ids.fetch_add(1, Ordering::Relaxed) + 1
        )
    }
}

/// Serves until `shutdown` resolves, then stops accepting, lets requests in flight finish (for
/// at most two seconds) and returns.
///
/// # Errors
/// A configuration error (see [`ServeConfig`]), or an I/O error of the listener.
pub async fn serve<F>(
    listener: tokio::net::TcpListener,
    config: ServeConfig,
    shutdown: F,
) -> anyhow::Result<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    let state = Arc::new(AppState::new(config)?);
    let app = axum::Router::new().fallback(handle).with_state(state);
    let listener = listener.tap_io(|tcp| {
        // Without TCP_NODELAY a response split over two writes waits for the client's
        // delayed ACK (40 ms).
        let _ = tcp.set_nodelay(true);
    });
    let (tx, rx) = tokio::sync::watch::channel(false);
    let graceful = {
        let mut rx = rx.clone();
        async move {
            let _ = rx.wait_for(|stop| *stop).await;
        }
    };
    let server = axum::serve(listener, app).with_graceful_shutdown(graceful);
    let deadline = {
        let mut rx = rx;
        async move {
            let _ = rx.wait_for(|stop| *stop).await;
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    };
    tokio::spawn(async move {
        shutdown.await;
        let _ = tx.send(true);
    });
    tokio::select! {
        r = server => r.context("serving")?,
        () = deadline => {}
    }
    Ok(())
}

/// Resolves on SIGTERM or SIGINT.
pub async fn termination_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) {
            (Ok(mut term), Ok(mut int)) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = int.recv() => {}
                }
            }
            _ => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

async fn handle(State(state): State<Arc<AppState>>, req: Request) -> Response<Body> {
    if req.uri().path() == "/__fixture/stats" {
        let nanos = state.handler_nanos.load(Ordering::Relaxed);
        let body = serde_json::json!({
            "requests": state.requests.load(Ordering::Relaxed),
            "handler_seconds": nanos as f64 / 1e9,
        });
        return response(
            StatusCode::OK,
            &[("content-type", "application/json")],
            body.to_string().into_bytes(),
        );
    }
    let started = Instant::now();
    let resp = if req.headers().contains_key("x-amz-target") {
        serve_json::handle(&state, req).await
    } else {
        serve_s3::handle(&state, req).await
    };
    let nanos = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
    state.handler_nanos.fetch_add(nanos, Ordering::Relaxed);
    state.requests.fetch_add(1, Ordering::Relaxed);
    if !state.latency.is_zero() {
        tokio::time::sleep(state.latency).await;
    }
    resp
}

/// A response; headers whose name or value is not valid HTTP are left out.
pub(crate) fn response(
    status: StatusCode,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> Response<Body> {
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = status;
    for (name, value) in headers {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            resp.headers_mut().append(n, v);
        }
    }
    resp
}

/// Whether the request is a HEAD (whose responses have no body).
pub(crate) fn is_head(method: &Method) -> bool {
    method == Method::HEAD
}

/// Formats a time as RFC 1123 (`Sat, 10 Jan 2026 03:05:00 GMT`).
pub(crate) fn http_date(t: SystemTime) -> String {
    jiff::Timestamp::try_from(t)
        .map(|ts| ts.strftime("%a, %d %b %Y %H:%M:%S GMT").to_string())
        .unwrap_or_default()
}

/// Formats a time as in S3 listings (`2026-01-10T03:05:00.000Z`).
pub(crate) fn iso_millis(t: SystemTime) -> String {
    jiff::Timestamp::try_from(t)
        .map(|ts| ts.strftime("%Y-%m-%dT%H:%M:%S.%3fZ").to_string())
        .unwrap_or_default()
}

/// Decodes `%XX` escapes (and `+` as a space when `plus` is set). `None` on a bad escape or
/// bytes that are not UTF-8.
pub(crate) fn percent_decode(s: &str, plus: bool) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                let hex = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' if plus => {
                out.push(b' ');
                i += 1;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// Percent-encodes everything but unreserved characters and `/`, as S3 does for
/// `encoding-type=url` (botocore decodes with `unquote_plus`, so `+` must be escaped).
pub(crate) fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Escapes text for XML.
pub(crate) fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// Parses a query string into decoded (name, value) pairs, in order.
pub(crate) fn parse_query(q: Option<&str>) -> Vec<(String, String)> {
    q.unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (n, v) = p.split_once('=').unwrap_or((p, ""));
            (
                percent_decode(n, true).unwrap_or_else(|| n.to_owned()),
                percent_decode(v, true).unwrap_or_else(|| v.to_owned()),
            )
        })
        .collect()
}

/// Writes `port` to `path` atomically (a temporary file renamed into place), so that a script
/// polling for the file never reads it half written.
///
/// # Errors
/// I/O errors.
pub fn write_port_file(path: &Path, port: u16) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp-sealtrail-testkit");
    std::fs::write(&tmp, format!("{port}\n"))?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_codec() {
        assert_eq!(
            percent_decode("a%20b%2Fc+d", true).as_deref(),
            Some("a b/c d")
        );
        assert_eq!(percent_decode("a+b", false).as_deref(), Some("a+b"));
        assert_eq!(percent_decode("%zz", false), None);
        assert_eq!(percent_decode("%4", false), None);
        assert_eq!(url_encode("AWSLogs/1 2+3&é"), "AWSLogs/1%202%2B3%26%C3%A9");
    }

    #[test]
    fn copy_arg() {
        assert_eq!(CopyArg::parse("b=dir/x").bucket.as_deref(), Some("b"));
        assert_eq!(CopyArg::parse("dir/a=b").bucket, None);
        assert_eq!(CopyArg::parse("dir").dir, PathBuf::from("dir"));
    }

    #[test]
    fn dates() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_768_014_300);
        assert_eq!(http_date(t), "Sat, 10 Jan 2026 03:05:00 GMT");
        assert_eq!(iso_millis(t), "2026-01-10T03:05:00.000Z");
    }

    #[test]
    fn query() {
        let q = parse_query(Some("location"));
        assert_eq!(q, vec![("location".to_owned(), String::new())]);
        let q = parse_query(Some("prefix=a%2Fb&marker=x&encoding-type=url"));
        assert_eq!(q.first(), Some(&("prefix".to_owned(), "a/b".to_owned())));
    }
}
