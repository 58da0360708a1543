//! The S3 REST side of [`crate::serve`]: path-style, read-only, from local copies.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::ops::ControlFlow;
use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use axum::body::Body;
use axum::extract::Request;
use axum::http::request::Parts;
use axum::http::{Method, Response, StatusCode};
use sealtrail_store::LocalCopy;

use crate::serve::{
    AppState, FileStamp, http_date, is_head, iso_millis, parse_query, percent_decode, response,
    url_encode, xml_escape,
};

const XMLNS: &str = "http://s3.amazonaws.com/doc/2006-03-01/";
const XML_DECL: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
const HOST_ID: &str = "c2VhbHRyYWlsLXRlc3RraXQtZml4dHVyZQ==";

/// An S3 error, rendered as XML (or as a bare status for HEAD).
struct S3Error {
    status: StatusCode,
    code: &'static str,
    message: &'static str,
    extra: Vec<(&'static str, String)>,
}

impl S3Error {
    fn new(status: StatusCode, code: &'static str, message: &'static str) -> Self {
        Self {
            status,
            code,
            message,
            extra: vec![],
        }
    }

    fn no_such_bucket(bucket: &str) -> Self {
        Self {
            extra: vec![("BucketName", bucket.to_owned())],
            ..Self::new(
                StatusCode::NOT_FOUND,
                "NoSuchBucket",
                "The specified bucket does not exist",
            )
        }
    }

    fn no_such_key(key: &str) -> Self {
        Self {
            extra: vec![("Key", key.to_owned())],
            ..Self::new(
                StatusCode::NOT_FOUND,
                "NoSuchKey",
                "The specified key does not exist.",
            )
        }
    }

    fn internal(what: &str) -> Self {
        eprintln!("sealtrail-testkit serve: internal error: {what}");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalError",
            "We encountered an internal error. Please try again.",
        )
    }

    fn render(self, state: &AppState, head: bool) -> Response<Body> {
        let rid = state.request_id();
        let headers = [
            ("content-type", "application/xml"),
            ("x-amz-request-id", rid.as_str()),
            ("x-amz-id-2", HOST_ID),
        ];
        if head {
            return response(self.status, &headers, vec![]);
        }
        let mut body = format!(
            "{XML_DECL}<Error><Code>{}</Code><Message>{}</Message>",
            self.code, self.message
        );
        for (name, value) in &self.extra {
            let _ = write!(body, "<{name}>{}</{name}>", xml_escape(value));
        }
        let _ = write!(
            body,
            "<RequestId>{rid}</RequestId><HostId>{HOST_ID}</HostId></Error>"
        );
        response(self.status, &headers, body.into_bytes())
    }
}

pub(crate) async fn handle(state: &Arc<AppState>, req: Request) -> Response<Body> {
    let head = is_head(req.method());
    let (parts, _body) = req.into_parts();
    match handle_inner(state, parts).await {
        Ok(resp) => resp,
        Err(e) => e.render(state, head),
    }
}

async fn handle_inner(state: &Arc<AppState>, req: Parts) -> Result<Response<Body>, S3Error> {
    let method = req.method.clone();
    if method != Method::GET && method != Method::HEAD {
        return Err(S3Error::new(
            StatusCode::NOT_IMPLEMENTED,
            "NotImplemented",
            "A header you provided implies functionality that is not implemented",
        ));
    }
    let raw = req.uri.path().trim_start_matches('/');
    let (raw_bucket, raw_key) = raw.split_once('/').unwrap_or((raw, ""));
    let bad_uri = || {
        S3Error::new(
            StatusCode::BAD_REQUEST,
            "InvalidURI",
            "Couldn't parse the specified URI.",
        )
    };
    let bucket = percent_decode(raw_bucket, false).ok_or_else(bad_uri)?;
    let key = percent_decode(raw_key, false).ok_or_else(bad_uri)?;
    let query = parse_query(req.uri.query());
    if bucket.is_empty() {
        return Ok(list_buckets(state));
    }
    let Some(copy) = state.buckets.get(&bucket) else {
        return Err(S3Error::no_such_bucket(&bucket));
    };
    if key.is_empty() {
        let rid = state.request_id();
        if method == Method::HEAD {
            return Ok(response(
                StatusCode::OK,
                &[
                    ("x-amz-request-id", &rid),
                    ("x-amz-bucket-region", &state.region),
                ],
                vec![],
            ));
        }
        if query.iter().any(|(n, _)| n == "location") {
            let constraint = if state.region == "us-east-1" {
                format!("<LocationConstraint xmlns=\"{XMLNS}\"/>")
            } else {
                format!(
                    "<LocationConstraint xmlns=\"{XMLNS}\">{}</LocationConstraint>",
                    xml_escape(&state.region)
                )
            };
            return Ok(xml_ok(&rid, format!("{XML_DECL}{constraint}")));
        }
        let v2 = query.iter().any(|(n, v)| n == "list-type" && v == "2");
        let params = ListParams::from_query(&query, v2)?;
        let st = Arc::clone(state);
        let copy = copy.clone();
        let body = tokio::task::spawn_blocking(move || list_objects(&st, &copy, &bucket, &params))
            .await
            .map_err(|e| S3Error::internal(&e.to_string()))??;
        return Ok(xml_ok(&rid, body));
    }
    if state.deny.contains(&key) && method == Method::GET {
        return Err(S3Error::new(
            StatusCode::FORBIDDEN,
            "AccessDenied",
            "Access Denied",
        ));
    }
    let range = req
        .headers
        .get("range")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    // Inline, not on the blocking pool: reading a local file is a few microseconds of CPU, and
    // the hand-off to another thread costs more than that.
    get_object(state, copy, &key, range.as_deref(), method == Method::HEAD)
}

fn xml_ok(rid: &str, body: String) -> Response<Body> {
    response(
        StatusCode::OK,
        &[
            ("content-type", "application/xml"),
            ("x-amz-request-id", rid),
            ("x-amz-id-2", HOST_ID),
        ],
        body.into_bytes(),
    )
}

fn list_buckets(state: &AppState) -> Response<Body> {
    let mut body = format!(
        "{XML_DECL}<ListAllMyBucketsResult xmlns=\"{XMLNS}\"><Owner><ID>fixture</ID><DisplayName>fixture</DisplayName></Owner><Buckets>"
    );
    for name in state.buckets.keys() {
        let _ = write!(
            body,
            "<Bucket><Name>{}</Name><CreationDate>2026-01-01T00:00:00.000Z</CreationDate></Bucket>",
            xml_escape(name)
        );
    }
    body.push_str("</Buckets></ListAllMyBucketsResult>");
    xml_ok(&state.request_id(), body)
}

/// ListObjects v1 or v2 parameters.
struct ListParams {
    v2: bool,
    prefix: String,
    delimiter: String,
    max_keys: usize,
    url: bool,
    /// v1 `marker`, or v2 `start-after` / decoded `continuation-token`: list keys after this.
    after: String,
    marker: String,
    start_after: Option<String>,
    continuation_token: Option<String>,
}

impl ListParams {
    fn from_query(query: &[(String, String)], v2: bool) -> Result<Self, S3Error> {
        let get = |name: &str| {
            query
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
        };
        let max_keys = match get("max-keys") {
            None => 1000,
            Some(v) => v
                .parse::<usize>()
                .map_err(|_| {
                    S3Error::new(
                        StatusCode::BAD_REQUEST,
                        "InvalidArgument",
                        "Provided max-keys not an integer or within integer range",
                    )
                })?
                .min(1000),
        };
        let url = match get("encoding-type").as_deref() {
            None => false,
            Some("url") => true,
            Some(_) => {
                return Err(S3Error::new(
                    StatusCode::BAD_REQUEST,
                    "InvalidArgument",
                    "Invalid Encoding Method specified in Request",
                ));
            }
        };
        let marker = get("marker").unwrap_or_default();
        let start_after = get("start-after");
        let continuation_token = get("continuation-token");
        let after = if v2 {
            match &continuation_token {
                Some(t) => hex::decode(t)
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                    .ok_or_else(|| {
                        S3Error::new(
                            StatusCode::BAD_REQUEST,
                            "InvalidArgument",
                            "The continuation token provided is incorrect",
                        )
                    })?,
                None => start_after.clone().unwrap_or_default(),
            }
        } else {
            marker.clone()
        };
        Ok(Self {
            v2,
            prefix: get("prefix").unwrap_or_default(),
            delimiter: get("delimiter").unwrap_or_default(),
            max_keys,
            url,
            after,
            marker,
            start_after,
            continuation_token,
        })
    }

    fn enc(&self, s: &str) -> String {
        if self.url {
            xml_escape(&url_encode(s))
        } else {
            xml_escape(s)
        }
    }
}

enum Item {
    Object(String),
    Prefix(String),
}

fn list_objects(
    state: &AppState,
    copy: &LocalCopy,
    bucket: &str,
    p: &ListParams,
) -> Result<String, S3Error> {
    let mut items: Vec<Item> = Vec::new();
    let mut truncated = false;
    copy.list(&p.prefix, &p.after, &mut |key| {
        let rolled = if p.delimiter.is_empty() {
            None
        } else {
            key.get(p.prefix.len()..)
                .and_then(|rest| rest.find(p.delimiter.as_str()))
                .and_then(|i| key.get(..p.prefix.len() + i + p.delimiter.len()))
        };
        if let Some(cp) = rolled {
            // Keys rolled up into the marker's common prefix were returned on an earlier page.
            if cp == p.after || matches!(items.last(), Some(Item::Prefix(last)) if last == cp) {
                return ControlFlow::Continue(());
            }
        }
        if items.len() >= p.max_keys {
            truncated = true;
            return ControlFlow::Break(());
        }
        items.push(match rolled {
            Some(cp) => Item::Prefix(cp.to_owned()),
            None => Item::Object(key.to_owned()),
        });
        ControlFlow::Continue(())
    })
    .map_err(|e| S3Error::internal(&e.to_string()))?;

    let mut contents = String::new();
    let mut prefixes = String::new();
    let mut count = 0usize;
    for item in &items {
        match item {
            Item::Prefix(cp) => {
                let _ = write!(
                    prefixes,
                    "<CommonPrefixes><Prefix>{}</Prefix></CommonPrefixes>",
                    p.enc(cp)
                );
                count += 1;
            }
            Item::Object(key) => {
                let Some(path) = copy.object_path(key) else {
                    continue;
                };
                let Ok(meta) = std::fs::metadata(&path) else {
                    continue;
                };
                let etag = file_etag(state, &path, &meta, None)?;
                let modified = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
                let _ = write!(
                    contents,
                    "<Contents><Key>{}</Key><LastModified>{}</LastModified><ETag>{}</ETag><Size>{}</Size><StorageClass>STANDARD</StorageClass></Contents>",
                    p.enc(key),
                    iso_millis(modified),
                    xml_escape(&format!("\"{etag}\"")),
                    meta.len()
                );
                count += 1;
            }
        }
    }
    let last = items.last().map(|i| match i {
        Item::Object(k) | Item::Prefix(k) => k.as_str(),
    });

    let root = "ListBucketResult";
    let mut body = format!(
        "{XML_DECL}<{root} xmlns=\"{XMLNS}\"><Name>{}</Name><Prefix>{}</Prefix>",
        xml_escape(bucket),
        p.enc(&p.prefix)
    );
    if p.v2 {
        if let Some(sa) = &p.start_after {
            let _ = write!(body, "<StartAfter>{}</StartAfter>", p.enc(sa));
        }
        if let Some(t) = &p.continuation_token {
            let _ = write!(
                body,
                "<ContinuationToken>{}</ContinuationToken>",
                xml_escape(t)
            );
        }
        if truncated && let Some(last) = last {
            let _ = write!(
                body,
                "<NextContinuationToken>{}</NextContinuationToken>",
                hex::encode(last)
            );
        }
        let _ = write!(body, "<KeyCount>{count}</KeyCount>");
    } else {
        let _ = write!(body, "<Marker>{}</Marker>", p.enc(&p.marker));
        if truncated
            && !p.delimiter.is_empty()
            && let Some(last) = last
        {
            let _ = write!(body, "<NextMarker>{}</NextMarker>", p.enc(last));
        }
    }
    let _ = write!(body, "<MaxKeys>{}</MaxKeys>", p.max_keys);
    if !p.delimiter.is_empty() {
        let _ = write!(body, "<Delimiter>{}</Delimiter>", p.enc(&p.delimiter));
    }
    let _ = write!(body, "<IsTruncated>{truncated}</IsTruncated>");
    if p.url {
        body.push_str("<EncodingType>url</EncodingType>");
    }
    body.push_str(&contents);
    body.push_str(&prefixes);
    let _ = write!(body, "</{root}>");
    Ok(body)
}

/// The MD5 of a file, cached while the file's [`FileStamp`] (size, mtime, ctime, inode) is
/// unchanged; `bytes` are its content when the caller has read it already.
fn file_etag(
    state: &AppState,
    path: &Path,
    meta: &std::fs::Metadata,
    bytes: Option<&[u8]>,
) -> Result<String, S3Error> {
    let stamp = FileStamp::of(meta);
    if let Ok(cache) = state.etags.lock()
        && let Some((s, etag)) = cache.get(path)
        && *s == stamp
    {
        return Ok(etag.clone());
    }
    let etag = match bytes {
        Some(b) => sealtrail_integrity::sign::fingerprint(b),
        None => {
            let b = std::fs::read(path)
                .map_err(|e| S3Error::internal(&format!("{}: {e}", path.display())))?;
            sealtrail_integrity::sign::fingerprint(&b)
        }
    };
    if let Ok(mut cache) = state.etags.lock() {
        cache.insert(path.to_owned(), (stamp, etag.clone()));
    }
    Ok(etag)
}

/// A parsed single `Range: bytes=` request: (first, last) inclusive.
fn parse_range(header: &str, len: u64) -> Option<Result<(u64, u64), ()>> {
    let spec = header.trim().strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None; // multiple ranges: S3 ignores the header
    }
    let (a, b) = spec.split_once('-')?;
    let (a, b) = (a.trim(), b.trim());
    let r = if a.is_empty() {
        let n: u64 = b.parse().ok()?;
        if n == 0 || len == 0 {
            return Some(Err(()));
        }
        (len.saturating_sub(n), len - 1)
    } else {
        let first: u64 = a.parse().ok()?;
        let last = if b.is_empty() {
            len.saturating_sub(1)
        } else {
            b.parse::<u64>().ok()?.min(len.saturating_sub(1))
        };
        if first >= len || last < first {
            return Some(Err(()));
        }
        (first, last)
    };
    Some(Ok(r))
}

fn get_object(
    state: &AppState,
    copy: &LocalCopy,
    key: &str,
    range: Option<&str>,
    head: bool,
) -> Result<Response<Body>, S3Error> {
    let Some(path) = copy.object_path(key) else {
        return Err(S3Error::no_such_key(key));
    };
    let not_found = |e: &std::io::Error| {
        matches!(
            e.kind(),
            std::io::ErrorKind::NotFound
                | std::io::ErrorKind::IsADirectory
                | std::io::ErrorKind::NotADirectory
        )
    };
    let internal = |e: std::io::Error| S3Error::internal(&format!("{}: {e}", path.display()));
    let mut file = match std::fs::File::open(&path) {
        Ok(f) => f,
        Err(e) if not_found(&e) => return Err(S3Error::no_such_key(key)),
        Err(e) => return Err(internal(e)),
    };
    let meta = file.metadata().map_err(internal)?;
    if !meta.is_file() {
        return Err(S3Error::no_such_key(key));
    }
    let bytes = if head {
        Vec::new()
    } else {
        let mut b = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
        std::io::Read::read_to_end(&mut file, &mut b).map_err(internal)?;
        b
    };
    let modified = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
    let metadata: BTreeMap<String, String> = copy
        .info(key)
        .map_err(|e| S3Error::internal(&e.to_string()))?
        .map(|i| i.metadata)
        .unwrap_or_default();
    let etag = format!(
        "\"{}\"",
        file_etag(state, &path, &meta, (!head).then_some(bytes.as_slice()))?
    );
    let len = if head { meta.len() } else { bytes.len() as u64 };
    let rid = state.request_id();
    let last_modified = http_date(modified);
    let meta_headers: Vec<(String, String)> = metadata
        .iter()
        .map(|(name, value)| {
            (
                format!("x-amz-meta-{}", name.to_ascii_lowercase()),
                value.clone(),
            )
        })
        .collect();
    let (status, body, content_range, content_length) =
        match range.and_then(|r| parse_range(r, len)) {
            Some(Err(())) => {
                return Err(range_error(len));
            }
            Some(Ok((first, last))) => {
                let slice = usize::try_from(first)
                    .ok()
                    .zip(usize::try_from(last).ok())
                    .and_then(|(f, l)| bytes.get(f..=l))
                    .map(<[u8]>::to_vec)
                    .unwrap_or_default();
                (
                    StatusCode::PARTIAL_CONTENT,
                    slice,
                    Some(format!("bytes {first}-{last}/{len}")),
                    last - first + 1,
                )
            }
            None => (StatusCode::OK, bytes, None, len),
        };
    let content_length = content_length.to_string();
    let mut headers: Vec<(&str, &str)> = vec![
        ("content-type", "application/octet-stream"),
        ("etag", &etag),
        ("last-modified", &last_modified),
        ("accept-ranges", "bytes"),
        ("x-amz-request-id", &rid),
        ("x-amz-id-2", HOST_ID),
    ];
    if let Some(cr) = &content_range {
        headers.push(("content-range", cr));
    }
    for (n, v) in &meta_headers {
        headers.push((n, v));
    }
    if head {
        headers.push(("content-length", &content_length));
        return Ok(response(status, &headers, vec![]));
    }
    Ok(response(status, &headers, body))
}

fn range_error(len: u64) -> S3Error {
    S3Error {
        extra: vec![("ActualObjectSize", len.to_string())],
        ..S3Error::new(
            StatusCode::RANGE_NOT_SATISFIABLE,
            "InvalidRange",
            "The requested range is not satisfiable",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::parse_range;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-9", 100), Some(Ok((0, 9))));
        assert_eq!(parse_range("bytes=90-", 100), Some(Ok((90, 99))));
        assert_eq!(parse_range("bytes=-10", 100), Some(Ok((90, 99))));
        assert_eq!(parse_range("bytes=95-200", 100), Some(Ok((95, 99))));
        assert_eq!(parse_range("bytes=100-", 100), Some(Err(())));
        assert_eq!(parse_range("bytes=0-1,4-5", 100), None);
        assert_eq!(parse_range("items=0-1", 100), None);
    }
}
