//! AWS Signature Version 4 verification of header-signed requests (`Authorization:
//! AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...`), on aws-lc-rs HMAC.
//!
//! The canonical request is built exactly as AWS builds it for every service but S3 (the path
//! normalised and URI-encoded a second time, the query sorted and encoded, exactly the headers
//! listed in `SignedHeaders`, values trimmed with inner white space collapsed, `host` with its
//! port); [`UriEncoding::Raw`] keeps S3's single encoding for the S3 front end to come.
//! The payload hash is always computed from the body and must equal `x-amz-content-sha256`
//! when that header is present. The credential scope must name the request's date, this
//! server's region and the API's signing name; the request time must be within
//! [`MAX_SKEW_SECONDS`] of now; signatures are compared in constant time; signing keys are
//! derived once per credential scope and cached.
//!
//! Every failure is an [`AuthError`] whose wire code, HTTP status and message are AWS's
//! (`MissingAuthenticationTokenException`, `IncompleteSignatureException`,
//! `UnrecognizedClientException`, `InvalidSignatureException`).
//!
//! This module does no I/O and reads no clock: the caller passes the body, the headers and
//! the current time. It does not verify presigned URLs (query authentication), chunked
//! (`aws-chunked`) payload signatures or SigV4a; a request carrying a session token is
//! refused, since this server issues no temporary credentials.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::RwLock;

use aws_lc_rs::{constant_time, digest, hmac};
use axum::http::HeaderMap;
use sealtrail_model::UtcTime;
use zeroize::Zeroizing;

/// The largest accepted distance between the request time and the server's clock: 15 minutes,
/// as AWS's JSON services.
pub const MAX_SKEW_SECONDS: i64 = 15 * 60;

/// The only algorithm accepted.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// The hex SHA-256 of an empty body.
pub const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

const SIGNATURE_MISMATCH: &str = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";
const INVALID_TOKEN: &str = "The security token included in the request is invalid.";

/// How the path becomes the canonical URI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UriEncoding {
    /// Every service but S3: remove `.`/`..` and empty segments, then URI-encode the path as
    /// sent a second time (`%20` becomes `%2520`), keeping `/`.
    Normalized,
    /// S3: the path exactly as sent (already encoded once), `/` when empty.
    Raw,
}

/// The parts of an HTTP request that SigV4 covers.
#[derive(Debug, Clone, Copy)]
pub struct RequestParts<'a> {
    /// `GET`, `POST`, ...
    pub method: &'a str,
    /// The path as sent on the request line, still percent-encoded.
    pub path: &'a str,
    /// The query string as sent, without `?`.
    pub query: Option<&'a str>,
    /// Every header of the request.
    pub headers: &'a HeaderMap,
    /// The whole body.
    pub body: &'a [u8],
}

/// What the verifier requires of a request besides a good signature.
#[derive(Debug, Clone, Copy)]
pub struct Expectation<'a> {
    /// The region this server serves; the credential scope must name it.
    pub region: &'a str,
    /// The signing name of the API the request is for (`kms`); `None` when no API matches
    /// the request, in which case any service name is accepted (the request fails later).
    pub service: Option<&'a str>,
    /// The server's current time.
    pub now: UtcTime,
    /// How the canonical URI is built.
    pub uri: UriEncoding,
}

/// Where the verifier finds the secret of an access key.
pub trait CredentialSource {
    /// What an access key resolves to (for the server: the caller).
    type Entry;
    /// The secret access key and the entry of `access_key_id`, if the key is known.
    fn lookup(&self, access_key_id: &str) -> Option<(&str, &Self::Entry)>;
}

/// A request whose signature checked out.
#[derive(Debug)]
pub struct Verified<'c, E> {
    /// The access key that signed.
    pub access_key_id: String,
    /// What the access key resolved to.
    pub entry: &'c E,
    /// The signing time (`X-Amz-Date` or `Date`).
    pub signed_at: UtcTime,
}

/// Why a request is not authenticated, with AWS's code, status and message for each case.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization` header.
    #[error("request is not signed")]
    Missing,
    /// The `Authorization` header or the date is malformed; the text is AWS's message.
    #[error("incomplete signature: {0}")]
    Incomplete(String),
    /// The access key is unknown.
    #[error("unknown access key `{0}`")]
    UnknownAccessKey(String),
    /// The request carries `X-Amz-Security-Token`; this server issues no temporary credentials.
    #[error("session tokens are not accepted")]
    SessionToken,
    /// The signature does not match.
    #[error("signature mismatch")]
    SignatureMismatch,
    /// The request time is more than 15 minutes in the past.
    #[error("signature expired: signed at `{signed}`, now `{now}`", signed = .signed.to_compact(), now = .now.to_compact())]
    Expired {
        /// When the request was signed.
        signed: UtcTime,
        /// The server's time.
        now: UtcTime,
    },
    /// The request time is more than 15 minutes in the future.
    #[error("signature not yet current: signed at `{signed}`, now `{now}`", signed = .signed.to_compact(), now = .now.to_compact())]
    NotYetCurrent {
        /// When the request was signed.
        signed: UtcTime,
        /// The server's time.
        now: UtcTime,
    },
    /// The credential scope names another region.
    #[error("credential scoped to region `{0}`")]
    WrongRegion(String),
    /// The credential scope names another service.
    #[error("credential scoped to service `{scoped}`, expected `{expected}`")]
    WrongService {
        /// The service the credential names.
        scoped: String,
        /// The service of the API.
        expected: String,
    },
    /// The credential scope date is not the request's date.
    #[error("credential scope date `{scope}` is not the request date `{date}`")]
    ScopeDate {
        /// The date in the credential scope.
        scope: String,
        /// The date of the request time.
        date: String,
        /// The header the request time came from.
        header: &'static str,
    },
    /// `x-amz-content-sha256` is not the SHA-256 of the body.
    #[error("x-amz-content-sha256 does not match the body")]
    PayloadHashMismatch,
    /// `x-amz-content-sha256` announces an unsigned or streaming payload, which this API
    /// does not accept.
    #[error("unsigned payload `{0}` not accepted")]
    UnsignedPayload(String),
}

impl AuthError {
    /// The AWS error code.
    #[must_use]
    pub fn aws_code(&self) -> &'static str {
        match self {
            AuthError::Missing => "MissingAuthenticationTokenException",
            AuthError::Incomplete(_) => "IncompleteSignatureException",
            AuthError::UnknownAccessKey(_) | AuthError::SessionToken => {
                "UnrecognizedClientException"
            }
            AuthError::SignatureMismatch
            | AuthError::Expired { .. }
            | AuthError::NotYetCurrent { .. }
            | AuthError::WrongRegion(_)
            | AuthError::WrongService { .. }
            | AuthError::ScopeDate { .. }
            | AuthError::PayloadHashMismatch
            | AuthError::UnsignedPayload(_) => "InvalidSignatureException",
        }
    }

    /// The HTTP status: AWS's JSON services answer every authentication failure with 400.
    #[must_use]
    pub fn status(&self) -> u16 {
        match self {
            AuthError::Missing
            | AuthError::Incomplete(_)
            | AuthError::UnknownAccessKey(_)
            | AuthError::SessionToken
            | AuthError::SignatureMismatch
            | AuthError::Expired { .. }
            | AuthError::NotYetCurrent { .. }
            | AuthError::WrongRegion(_)
            | AuthError::WrongService { .. }
            | AuthError::ScopeDate { .. }
            | AuthError::PayloadHashMismatch
            | AuthError::UnsignedPayload(_) => 400,
        }
    }

    /// The message AWS sends.
    #[must_use]
    pub fn message(&self) -> Cow<'_, str> {
        let skew = |t: UtcTime, sign: i64| t.plus_seconds(sign * MAX_SKEW_SECONDS).to_compact();
        match self {
            AuthError::Missing => Cow::Borrowed("Request is missing Authentication Token"),
            AuthError::Incomplete(message) => Cow::Borrowed(message),
            AuthError::UnknownAccessKey(_) | AuthError::SessionToken => {
                Cow::Borrowed(INVALID_TOKEN)
            }
            AuthError::SignatureMismatch => Cow::Borrowed(SIGNATURE_MISMATCH),
            AuthError::Expired { signed, now } => Cow::Owned(format!(
                "Signature expired: {} is now earlier than {} ({} - 15 min.)",
                signed.to_compact(),
                skew(*now, -1),
                now.to_compact()
            )),
            AuthError::NotYetCurrent { signed, now } => Cow::Owned(format!(
                "Signature not yet current: {} is still later than {} ({} + 15 min.)",
                signed.to_compact(),
                skew(*now, 1),
                now.to_compact()
            )),
            AuthError::WrongRegion(region) => Cow::Owned(format!(
                "Credential should be scoped to a valid region, not '{region}'. "
            )),
            AuthError::WrongService { expected, .. } => Cow::Owned(format!(
                "Credential should be scoped to correct service: '{expected}'. "
            )),
            AuthError::ScopeDate {
                scope,
                date,
                header,
            } => Cow::Owned(format!(
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{scope}' != '{date}', from '{header}'."
            )),
            AuthError::PayloadHashMismatch => Cow::Borrowed(
                "The provided 'x-amz-content-sha256' header does not match what was computed.",
            ),
            AuthError::UnsignedPayload(value) => Cow::Owned(format!(
                "The 'x-amz-content-sha256' value '{value}' is not accepted by this service: sign the payload."
            )),
        }
    }
}

/// The parsed `Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationHeader<'a> {
    /// `AKID/YYYYMMDD/region/service/aws4_request`.
    pub credential: &'a str,
    /// The access key id (first part of the credential).
    pub access_key_id: &'a str,
    /// The scope date.
    pub date: &'a str,
    /// The scope region.
    pub region: &'a str,
    /// The scope service.
    pub service: &'a str,
    /// `host;x-amz-date;...` as sent.
    pub signed_headers: &'a str,
    /// The hex signature as sent.
    pub signature: &'a str,
}

/// Parses an `Authorization` header value as AWS does: parts separated by commas and/or
/// spaces, each `key=value`. `has_date` says whether the request has `X-Amz-Date` or `Date`
/// (AWS reports its absence in the same message).
///
/// # Errors
/// [`AuthError::Incomplete`] with AWS's message.
pub fn parse_authorization(
    value: &str,
    has_date: bool,
) -> Result<AuthorizationHeader<'_>, AuthError> {
    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    let (algorithm, rest) = value.split_once(' ').unwrap_or((value, ""));
    if algorithm == ALGORITHM {
        for part in rest.split([',', ' ']).filter(|p| !p.is_empty()) {
            let Some((key, val)) = part.split_once('=') else {
                return Err(AuthError::Incomplete(format!(
                    "'{part}' not a valid key=value pair (missing equal-sign) in Authorization header: '{value}'."
                )));
            };
            match key {
                "Credential" => credential = Some(val),
                "SignedHeaders" => signed_headers = Some(val),
                "Signature" => signature = Some(val),
                _ => {}
            }
        }
    }
    let (Some(credential), Some(signed_headers), Some(signature), true) =
        (credential, signed_headers, signature, has_date)
    else {
        let mut message = String::new();
        for (present, name) in [
            (credential.is_some(), "Credential"),
            (signature.is_some(), "Signature"),
            (signed_headers.is_some(), "SignedHeaders"),
        ] {
            if !present {
                let _ = write!(
                    message,
                    "Authorization header requires '{name}' parameter. "
                );
            }
        }
        if !has_date {
            message.push_str(
                "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ",
            );
        }
        let _ = write!(message, "Authorization={value}");
        return Err(AuthError::Incomplete(message));
    };
    let parts: Vec<&str> = credential.split('/').collect();
    let [access_key_id, date, region, service, terminator] = parts.as_slice() else {
        return Err(AuthError::Incomplete(format!(
            "Credential should have the form '<access key id>/<YYYYMMDD>/<region>/<service>/aws4_request', not '{credential}'."
        )));
    };
    if *terminator != "aws4_request" {
        return Err(AuthError::Incomplete(format!(
            "Credential should be scoped with a valid terminator: 'aws4_request', not '{terminator}'. "
        )));
    }
    Ok(AuthorizationHeader {
        credential,
        access_key_id,
        date,
        region,
        service,
        signed_headers,
        signature,
    })
}

/// Verifies SigV4 header signatures; holds the signing-key cache.
#[derive(Debug, Default)]
pub struct Verifier {
    /// Signing keys by credential scope (`AKID/date/region/service/aws4_request`). Access keys
    /// and their secrets are fixed for the life of the process, so the scope names the secret.
    keys: RwLock<HashMap<Box<str>, Zeroizing<[u8; 32]>>>,
}

/// Above this many cached signing keys the cache starts over (at most a few dates per key,
/// region and service are ever valid at once, so this is only reached by many keys).
const KEY_CACHE_LIMIT: usize = 4096;

impl Verifier {
    /// A verifier with an empty signing-key cache.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Verifies one request.
    ///
    /// # Errors
    /// The first [`AuthError`] found, in the order AWS checks: the header's shape, the date,
    /// the access key, the scope (date, region, service), the clock skew, the payload hash,
    /// then the signature.
    pub fn verify<'c, C: CredentialSource>(
        &self,
        request: &RequestParts<'_>,
        expect: &Expectation<'_>,
        credentials: &'c C,
    ) -> Result<Verified<'c, C::Entry>, AuthError> {
        let headers = request.headers;
        let Some(authorization) = headers.get("authorization") else {
            return Err(AuthError::Missing);
        };
        let amz_date = headers.get("x-amz-date");
        let http_date = headers.get("date");
        let has_date = amz_date.is_some() || http_date.is_some();
        let authorization = String::from_utf8_lossy(authorization.as_bytes());
        let auth = parse_authorization(&authorization, has_date)?;
        if !auth.signed_headers.split(';').any(|h| h == "host") {
            return Err(AuthError::Incomplete(
                "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
                    .to_owned(),
            ));
        }
        let (signed_at, date_header) = request_time(amz_date, http_date)?;
        if headers.contains_key("x-amz-security-token") {
            return Err(AuthError::SessionToken);
        }
        let Some((secret, entry)) = credentials.lookup(auth.access_key_id) else {
            return Err(AuthError::UnknownAccessKey(auth.access_key_id.to_owned()));
        };
        let timestamp = signed_at.to_compact();
        let request_date = timestamp.get(..8).unwrap_or_default();
        if auth.date != request_date {
            return Err(AuthError::ScopeDate {
                scope: auth.date.to_owned(),
                date: request_date.to_owned(),
                header: date_header,
            });
        }
        if auth.region != expect.region {
            return Err(AuthError::WrongRegion(auth.region.to_owned()));
        }
        if let Some(expected) = expect.service
            && auth.service != expected
        {
            return Err(AuthError::WrongService {
                scoped: auth.service.to_owned(),
                expected: expected.to_owned(),
            });
        }
        let age = expect.now.epoch_seconds() - signed_at.epoch_seconds();
        if age > MAX_SKEW_SECONDS {
            return Err(AuthError::Expired {
                signed: signed_at,
                now: expect.now,
            });
        }
        if -age > MAX_SKEW_SECONDS {
            return Err(AuthError::NotYetCurrent {
                signed: signed_at,
                now: expect.now,
            });
        }
        let payload_hash = payload_hash(headers, request.body)?;
        let canonical = canonical_request(request, auth.signed_headers, &payload_hash, expect.uri);
        let to_sign = string_to_sign(&timestamp, auth.credential, &canonical);
        let expected = self.signature(secret, &auth, &to_sign);
        constant_time::verify_slices_are_equal(expected.as_bytes(), auth.signature.as_bytes())
            .map_err(|_| AuthError::SignatureMismatch)?;
        Ok(Verified {
            access_key_id: auth.access_key_id.to_owned(),
            entry,
            signed_at,
        })
    }

    /// The hex signature of `to_sign` under the signing key of `auth`'s scope.
    fn signature(&self, secret: &str, auth: &AuthorizationHeader<'_>, to_sign: &str) -> String {
        let cached = self
            .keys
            .read()
            .ok()
            .and_then(|keys| keys.get(auth.credential).map(|k| **k));
        let key = match cached {
            Some(key) => Zeroizing::new(key),
            None => {
                let key = signing_key(secret, auth.date, auth.region, auth.service);
                if let Ok(mut keys) = self.keys.write() {
                    if keys.len() >= KEY_CACHE_LIMIT {
                        keys.clear();
                    }
                    keys.insert(auth.credential.into(), key.clone());
                }
                key
            }
        };
        let tag = hmac::sign(
            &hmac::Key::new(hmac::HMAC_SHA256, key.as_ref()),
            to_sign.as_bytes(),
        );
        hex::encode(tag.as_ref())
    }
}

/// The request time from `X-Amz-Date` (`YYYYMMDDTHHMMSSZ`), else from `Date` (RFC 1123).
fn request_time(
    amz_date: Option<&axum::http::HeaderValue>,
    http_date: Option<&axum::http::HeaderValue>,
) -> Result<(UtcTime, &'static str), AuthError> {
    let bad = |raw: &[u8]| {
        AuthError::Incomplete(format!(
            "Date must be in ISO-8601 'basic format'. Got '{}'. See http://en.wikipedia.org/wiki/ISO_8601",
            String::from_utf8_lossy(raw)
        ))
    };
    if let Some(value) = amz_date {
        let text = value.to_str().map_err(|_| bad(value.as_bytes()))?;
        let time = UtcTime::parse_compact(text).map_err(|_| bad(value.as_bytes()))?;
        return Ok((time, "X-Amz-Date"));
    }
    if let Some(value) = http_date {
        let text = value.to_str().map_err(|_| bad(value.as_bytes()))?;
        let time = jiff::fmt::rfc2822::DateTimeParser::new()
            .parse_timestamp(text)
            .ok()
            .and_then(|ts| UtcTime::from_epoch_seconds(ts.as_second()).ok())
            .ok_or_else(|| bad(value.as_bytes()))?;
        return Ok((time, "Date"));
    }
    // parse_authorization already reported the missing date.
    Err(bad(b""))
}

/// The payload hash that goes into the canonical request: the SHA-256 of the body, which
/// `x-amz-content-sha256`, when present, must equal.
fn payload_hash(headers: &HeaderMap, body: &[u8]) -> Result<String, AuthError> {
    let computed = sha256_hex(body);
    if let Some(claimed) = headers.get("x-amz-content-sha256") {
        let claimed = String::from_utf8_lossy(claimed.as_bytes());
        if claimed == "UNSIGNED-PAYLOAD" || claimed.starts_with("STREAMING-") {
            return Err(AuthError::UnsignedPayload(claimed.into_owned()));
        }
        if claimed != computed {
            return Err(AuthError::PayloadHashMismatch);
        }
    }
    Ok(computed)
}

/// Lower-case hex SHA-256.
#[must_use]
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(digest::digest(&digest::SHA256, data).as_ref())
}

/// The signing key: `HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service),
/// "aws4_request")`.
#[must_use]
pub fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> Zeroizing<[u8; 32]> {
    let mut seed = Zeroizing::new(Vec::with_capacity(4 + secret.len()));
    seed.extend_from_slice(b"AWS4");
    seed.extend_from_slice(secret.as_bytes());
    let mut key = Zeroizing::new([0u8; 32]);
    let mut current: Zeroizing<Vec<u8>> = seed;
    for part in [date, region, service, "aws4_request"] {
        let tag = hmac::sign(
            &hmac::Key::new(hmac::HMAC_SHA256, &current),
            part.as_bytes(),
        );
        current = Zeroizing::new(tag.as_ref().to_vec());
    }
    for (d, s) in key.iter_mut().zip(current.iter()) {
        *d = *s;
    }
    key
}

/// `AWS4-HMAC-SHA256\n<timestamp>\n<scope>\n<hex sha256 of the canonical request>`, where
/// the scope is the credential without its access key id.
#[must_use]
pub fn string_to_sign(timestamp: &str, credential: &str, canonical_request: &str) -> String {
    let scope = credential.split_once('/').map_or(credential, |(_, s)| s);
    format!(
        "{ALGORITHM}\n{timestamp}\n{scope}\n{}",
        sha256_hex(canonical_request.as_bytes())
    )
}

/// The canonical request: method, canonical URI, canonical query, the signed headers (one
/// `name:value` line each, then a blank line), the `SignedHeaders` list and the payload hash,
/// joined by `\n`.
#[must_use]
pub fn canonical_request(
    request: &RequestParts<'_>,
    signed_headers: &str,
    payload_hash: &str,
    uri: UriEncoding,
) -> String {
    let mut out = String::with_capacity(256 + request.path.len());
    out.push_str(request.method);
    out.push('\n');
    match uri {
        UriEncoding::Normalized => {
            let normalized = remove_dot_segments(request.path);
            encode_into(&mut out, normalized.as_bytes(), true);
        }
        UriEncoding::Raw => {
            out.push_str(if request.path.is_empty() {
                "/"
            } else {
                request.path
            });
        }
    }
    out.push('\n');
    canonical_query_into(&mut out, request.query.unwrap_or_default());
    out.push('\n');
    for name in signed_headers.split(';') {
        out.push_str(name);
        out.push(':');
        let mut first = true;
        for value in request.headers.get_all(name) {
            if !first {
                out.push(',');
            }
            first = false;
            push_trimmed(&mut out, value.as_bytes());
        }
        out.push('\n');
    }
    out.push('\n');
    out.push_str(signed_headers);
    out.push('\n');
    out.push_str(payload_hash);
    out
}

/// Appends a header value trimmed, with every inner run of white space collapsed to one space.
fn push_trimmed(out: &mut String, value: &[u8]) {
    let text = String::from_utf8_lossy(value);
    let mut words = text
        .split([' ', '\t', '\r', '\n'])
        .filter(|w| !w.is_empty());
    if let Some(first) = words.next() {
        out.push_str(first);
        for word in words {
            out.push(' ');
            out.push_str(word);
        }
    }
}

/// Removes `.` and `..` segments and empty segments (RFC 3986 §5.2.4, plus AWS's collapsing
/// of consecutive slashes), keeping a leading and a trailing slash; `/` for an empty path.
fn remove_dot_segments(path: &str) -> Cow<'_, str> {
    if path.is_empty() {
        return Cow::Borrowed("/");
    }
    let mut segments: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    let mut out = String::with_capacity(path.len());
    if path.starts_with('/') {
        out.push('/');
    }
    out.push_str(&segments.join("/"));
    if path.ends_with('/') && !segments.is_empty() {
        out.push('/');
    }
    if out == path {
        Cow::Borrowed(path)
    } else {
        Cow::Owned(out)
    }
}

/// The canonical query: each name and value as sent, with every byte that is neither an RFC
/// 3986 unreserved character nor part of a `%XX` escape percent-encoded (so a query that a
/// client encoded, as every SDK does, is kept byte for byte, as botocore signs it, and raw
/// UTF-8 is encoded, as AWS's test suite expects); pairs sorted by name then value,
/// `name=value` joined by `&`, `name=` for a name without a value.
fn canonical_query_into(out: &mut String, query: &str) {
    if query.is_empty() {
        return;
    }
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (encode_keeping_escapes(name), encode_keeping_escapes(value))
        })
        .collect();
    pairs.sort_unstable();
    for (i, (name, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(name);
        out.push('=');
        out.push_str(value);
    }
}

/// Percent-encodes the bytes of `s` that need it, keeping existing `%XX` escapes.
fn encode_keeping_escapes(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let escape = b == b'%'
            && bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
            && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit);
        if escape {
            out.push_str(s.get(i..i + 3).unwrap_or_default());
            i += 3;
        } else {
            encode_into(&mut out, std::slice::from_ref(&b), false);
            i += 1;
        }
    }
    out
}

/// Percent-encodes every byte but the RFC 3986 unreserved characters (and `/` if
/// `keep_slash`), with upper-case hex.
fn encode_into(out: &mut String, bytes: &[u8], keep_slash: bool) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in bytes {
        if b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'_' | b'.' | b'~')
            || (keep_slash && b == b'/')
        {
            out.push(char::from(b));
        } else {
            out.push('%');
            let hex =
                |nibble: u8| char::from(HEX.get(usize::from(nibble)).copied().unwrap_or(b'0'));
            out.push(hex(b >> 4));
            out.push(hex(b & 0x0f));
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    const AKID: &str = "AKIDEXAMPLE";
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

    struct One;
    impl CredentialSource for One {
        type Entry = ();
        fn lookup(&self, access_key_id: &str) -> Option<(&str, &())> {
            (access_key_id == AKID).then_some((SECRET, &()))
        }
    }

    fn spec_request(headers: &mut HeaderMap, signature: &str) {
        headers.insert(
            "content-type",
            HeaderValue::from_static("application/x-amz-json-1.1"),
        );
        headers.insert("host", HeaderValue::from_static("127.0.0.1:4566"));
        headers.insert("x-amz-date", HeaderValue::from_static("20260110T120000Z"));
        headers.insert(
            "x-amz-target",
            HeaderValue::from_static("TrentService.GenerateDataKey"),
        );
        let auth = format!(
            "AWS4-HMAC-SHA256 Credential={AKID}/20260110/us-east-1/kms/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature={signature}"
        );
        headers.insert("authorization", HeaderValue::from_str(&auth).unwrap());
    }

    const SPEC_BODY: &[u8] = br#"{"KeyId": "alias/ct", "KeySpec": "AES_256"}"#;
    const SPEC_SIGNATURE: &str = "f7332c9a5850f93f9eec0f725775d69c5ab70a3d9b9cf45981705c7f7290ecef";

    fn expect(now: i64) -> Expectation<'static> {
        Expectation {
            region: "us-east-1",
            service: Some("kms"),
            now: UtcTime::from_epoch_seconds(now).unwrap(),
            uri: UriEncoding::Normalized,
        }
    }

    const T: i64 = 1_768_046_400; // 2026-01-10T12:00:00Z

    fn verify(headers: &HeaderMap, body: &[u8], now: i64) -> Result<(), AuthError> {
        let parts = RequestParts {
            method: "POST",
            path: "/",
            query: None,
            headers,
            body,
        };
        Verifier::new()
            .verify(&parts, &expect(now), &One)
            .map(|_| ())
    }

    /// spec-formats.md §8.5 vector 1: the canonical request, its hash and the signature.
    #[test]
    fn spec_vector_kms_generate_data_key() {
        let mut headers = HeaderMap::new();
        spec_request(&mut headers, SPEC_SIGNATURE);
        let parts = RequestParts {
            method: "POST",
            path: "/",
            query: None,
            headers: &headers,
            body: SPEC_BODY,
        };
        let hash = sha256_hex(SPEC_BODY);
        assert_eq!(
            hash,
            "8deed7aaa0d8e9a3c1e720e68b81fbf13b715223447e835826a9ea8f40640c45"
        );
        let canonical = canonical_request(
            &parts,
            "content-type;host;x-amz-date;x-amz-target",
            &hash,
            UriEncoding::Normalized,
        );
        assert_eq!(
            sha256_hex(canonical.as_bytes()),
            "19ab9837e8de30beaaba4c73683047a100b0a0284bf3a7f0499b9ec7a76154cf"
        );
        verify(&headers, SPEC_BODY, T).unwrap();
        verify(&headers, SPEC_BODY, T + MAX_SKEW_SECONDS).unwrap();
        verify(&headers, SPEC_BODY, T - MAX_SKEW_SECONDS).unwrap();
    }

    #[test]
    fn tampering_and_time() {
        let mut headers = HeaderMap::new();
        spec_request(&mut headers, SPEC_SIGNATURE);
        assert_eq!(
            verify(
                &headers,
                br#"{"KeyId": "alias/cu", "KeySpec": "AES_256"}"#,
                T
            ),
            Err(AuthError::SignatureMismatch)
        );
        let e = verify(&headers, SPEC_BODY, T + MAX_SKEW_SECONDS + 1).unwrap_err();
        assert_eq!(
            e.message(),
            "Signature expired: 20260110T120000Z is now earlier than 20260110T120001Z (20260110T121501Z - 15 min.)"
        );
        assert_eq!(e.aws_code(), "InvalidSignatureException");
        let e = verify(&headers, SPEC_BODY, T - MAX_SKEW_SECONDS - 1).unwrap_err();
        assert_eq!(
            e.message(),
            "Signature not yet current: 20260110T120000Z is still later than 20260110T115959Z (20260110T114459Z + 15 min.)"
        );
        let mut other = headers.clone();
        other.insert(
            "x-amz-target",
            HeaderValue::from_static("TrentService.Decrypt"),
        );
        assert_eq!(
            verify(&other, SPEC_BODY, T),
            Err(AuthError::SignatureMismatch)
        );
        let mut unsigned = headers.clone();
        unsigned.insert("user-agent", HeaderValue::from_static("changed"));
        verify(&unsigned, SPEC_BODY, T).unwrap();
        let mut wrong_hash = headers.clone();
        wrong_hash.insert(
            "x-amz-content-sha256",
            HeaderValue::from_static(EMPTY_SHA256),
        );
        assert_eq!(
            verify(&wrong_hash, SPEC_BODY, T),
            Err(AuthError::PayloadHashMismatch)
        );
        let mut token = headers.clone();
        token.insert("x-amz-security-token", HeaderValue::from_static("x"));
        let e = verify(&token, SPEC_BODY, T).unwrap_err();
        assert_eq!(e.aws_code(), "UnrecognizedClientException");
        assert_eq!(e.message(), INVALID_TOKEN);
    }

    #[test]
    fn incomplete_messages_are_aws_text() {
        let e = parse_authorization("Bearer abc", false).unwrap_err();
        assert_eq!(
            e.message(),
            "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=Bearer abc"
        );
        let e = parse_authorization(
            "AWS4-HMAC-SHA256 Credential=AKIA /20150620/us-east-1/kms/aws4_request, SignedHeaders=host;x-amz-date, Signature=00",
            true,
        )
        .unwrap_err();
        assert_eq!(
            e.message(),
            "'/20150620/us-east-1/kms/aws4_request' not a valid key=value pair (missing equal-sign) in Authorization header: 'AWS4-HMAC-SHA256 Credential=AKIA /20150620/us-east-1/kms/aws4_request, SignedHeaders=host;x-amz-date, Signature=00'."
        );
        let e = parse_authorization(
            "AWS4-HMAC-SHA256 Credential=A/20150620/us-east-1/kms/aws4, SignedHeaders=host, Signature=00",
            true,
        )
        .unwrap_err();
        assert_eq!(
            e.message(),
            "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws4'. "
        );
        let ok = parse_authorization(
            "AWS4-HMAC-SHA256 Credential=A/20150620/us-east-1/kms/aws4_request,SignedHeaders=host,Signature=00",
            true,
        )
        .unwrap();
        assert_eq!(
            (ok.access_key_id, ok.service, ok.signature),
            ("A", "kms", "00")
        );
    }

    #[test]
    fn uri_normalisation_and_encoding() {
        let enc = |p: &str| {
            let mut s = String::new();
            encode_into(&mut s, remove_dot_segments(p).as_bytes(), true);
            s
        };
        assert_eq!(enc(""), "/");
        assert_eq!(enc("/"), "/");
        assert_eq!(enc("//a//b/"), "/a/b/");
        assert_eq!(enc("/a/./b/../c"), "/a/c");
        assert_eq!(enc("/../.."), "/");
        assert_eq!(enc("/a%20b"), "/a%2520b");
        let mut q = String::new();
        canonical_query_into(&mut q, "b=2&a=1&a=0&c&d=%7e+&\u{1234}=%zz");
        assert_eq!(q, "%E1%88%B4=%25zz&a=0&a=1&b=2&c=&d=%7e%2B");
    }
}
