//! AWS JSON 1.0/1.1 framing: the `X-Amz-Target` header, the content type, the body, and
//! the rendering of errors as `{"__type": code, "message": text}`.
//!
//! [`EdgeError`] holds every failure the edge answers itself (before or around an API's
//! call), with its AWS code, HTTP status and message in one exhaustive match each. These are
//! the AWS *common* errors of JSON services, not members of any one service model; the list
//! is [`EDGE_ERROR_CODES`].

use std::borrow::Cow;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::api::ApiFailure;
use crate::sigv4::AuthError;

/// Every code the edge itself can answer with.
pub const EDGE_ERROR_CODES: &[&str] = &[
    "MissingAuthenticationTokenException",
    "IncompleteSignatureException",
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "UnknownOperationException",
    "SerializationException",
    "ValidationException",
    "InternalFailure",
];

/// The content type of AWS JSON 1.1 responses.
pub const JSON_1_1: &str = "application/x-amz-json-1.1";
/// The content type of AWS JSON 1.0.
pub const JSON_1_0: &str = "application/x-amz-json-1.0";

/// A failure the edge answers itself.
#[derive(Debug, thiserror::Error)]
pub enum EdgeError {
    /// The request is not properly signed.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// No `X-Amz-Target`, or one no registered API serves.
    #[error("unknown operation `{0}`")]
    UnknownOperation(String),
    /// No route for this method and path.
    #[error("no route for `{method} {path}`")]
    NoRoute {
        /// The method.
        method: String,
        /// The path.
        path: String,
    },
    /// The content type is not AWS JSON.
    #[error("unsupported content type `{0}`")]
    ContentType(String),
    /// The body is not a JSON object.
    #[error("body is not a JSON object: {0}")]
    Serialization(String),
    /// The body is larger than the limit.
    #[error("body larger than {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The body could not be read (the client went away or sent a malformed body).
    #[error("body could not be read: {0}")]
    BodyRead(String),
    /// The edge failed while serving a call (for example an API call panicked); the detail
    /// is logged under the request id and the client gets the API's fault code.
    #[error("internal error: {detail}")]
    Internal {
        /// The API's fault code (`KMSInternalException`) or `InternalFailure`.
        code: &'static str,
        /// What went wrong (logged, never sent).
        detail: String,
    },
}

impl EdgeError {
    /// The AWS error code.
    #[must_use]
    pub fn aws_code(&self) -> &'static str {
        match self {
            EdgeError::Auth(e) => e.aws_code(),
            EdgeError::UnknownOperation(_) | EdgeError::NoRoute { .. } => {
                "UnknownOperationException"
            }
            EdgeError::ContentType(_) | EdgeError::Serialization(_) | EdgeError::BodyRead(_) => {
                "SerializationException"
            }
            EdgeError::TooLarge { .. } => "ValidationException",
            EdgeError::Internal { code, .. } => code,
        }
    }

    /// The HTTP status.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        match self {
            EdgeError::Auth(e) => {
                StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST)
            }
            EdgeError::UnknownOperation(_)
            | EdgeError::ContentType(_)
            | EdgeError::Serialization(_)
            | EdgeError::BodyRead(_) => StatusCode::BAD_REQUEST,
            EdgeError::NoRoute { .. } => StatusCode::NOT_FOUND,
            EdgeError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            EdgeError::Internal { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The message sent to the client.
    #[must_use]
    pub fn message(&self) -> Cow<'_, str> {
        match self {
            EdgeError::Auth(e) => e.message(),
            EdgeError::UnknownOperation(target) => {
                Cow::Owned(format!("Unknown operation: `{target}`"))
            }
            EdgeError::NoRoute { method, path } => Cow::Owned(format!(
                "No operation is served at `{method} {path}`; AWS JSON APIs are served at `POST /`"
            )),
            EdgeError::ContentType(ct) => Cow::Owned(format!(
                "Unsupported Content-Type `{ct}`: expected {JSON_1_1} or {JSON_1_0}"
            )),
            EdgeError::Serialization(detail) => {
                Cow::Owned(format!("The request body is not a JSON object: {detail}"))
            }
            EdgeError::TooLarge { limit } => Cow::Owned(format!(
                "1 validation error detected: the request body must be at most {limit} bytes"
            )),
            EdgeError::BodyRead(_) => Cow::Borrowed("The request body could not be read"),
            EdgeError::Internal { .. } => {
                Cow::Borrowed("An internal error occurred; it is logged under this request id")
            }
        }
    }

    /// The error as an [`ApiFailure`], for uniform rendering.
    #[must_use]
    pub fn to_failure(&self) -> ApiFailure {
        ApiFailure {
            code: self.aws_code(),
            message: self.message().into_owned(),
            status: self.status().as_u16(),
        }
    }
}

/// The target of a JSON RPC call: `<prefix>.<Operation>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target<'a> {
    /// Everything before the last `.` (`TrentService`,
    /// `com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101`).
    pub prefix: &'a str,
    /// The operation (`Encrypt`).
    pub operation: &'a str,
}

impl<'a> Target<'a> {
    /// Splits an `X-Amz-Target` value; `None` unless it is `<prefix>.<Operation>` with an
    /// alphanumeric operation.
    #[must_use]
    pub fn parse(value: &'a str) -> Option<Self> {
        let (prefix, operation) = value.rsplit_once('.')?;
        let ok = !prefix.is_empty()
            && !operation.is_empty()
            && operation.len() <= 128
            && operation.bytes().all(|b| b.is_ascii_alphanumeric());
        ok.then_some(Self { prefix, operation })
    }

    /// Whether this target is for an API whose prefix is `api_prefix`: the same, or one is
    /// the other's last dotted segments (botocore's
    /// `com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101` and the Rust SDK's
    /// `CloudTrail_20131101` both reach the CloudTrail API).
    #[must_use]
    pub fn matches(&self, api_prefix: &str) -> bool {
        let dotted_suffix = |long: &str, short: &str| {
            long.len() > short.len()
                && long.ends_with(short)
                && long.as_bytes().get(long.len() - short.len() - 1) == Some(&b'.')
        };
        self.prefix == api_prefix
            || dotted_suffix(self.prefix, api_prefix)
            || dotted_suffix(api_prefix, self.prefix)
    }
}

/// The JSON flavour of a request's `Content-Type`, or `None` when it is not AWS JSON.
#[must_use]
pub fn json_content_type(headers: &HeaderMap) -> Option<&'static str> {
    let value = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    let essence = value.split(';').next().unwrap_or_default().trim();
    if essence.eq_ignore_ascii_case(JSON_1_1) {
        Some(JSON_1_1)
    } else if essence.eq_ignore_ascii_case(JSON_1_0) {
        Some(JSON_1_0)
    } else {
        None
    }
}

/// Checks that `body` is one JSON object (an empty body counts as `{}`).
///
/// # Errors
/// [`EdgeError::Serialization`] with the parser's message.
pub fn check_json_object(body: &[u8]) -> Result<(), EdgeError> {
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    match first {
        None => Ok(()),
        Some(b'{') => serde_json::from_slice::<serde::de::IgnoredAny>(body)
            .map(|_| ())
            .map_err(|e| EdgeError::Serialization(e.to_string())),
        Some(_) => Err(EdgeError::Serialization(
            "the body must be a JSON object".to_owned(),
        )),
    }
}

/// Renders a failure as AWS JSON: `{"__type": code, "message": text}` with its status.
#[must_use]
pub fn render_failure(failure: &ApiFailure, content_type: &'static str) -> Response {
    let body = serde_json::json!({"__type": failure.code, "message": failure.message}).to_string();
    let status = StatusCode::from_u16(failure.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// Renders a success: status 200 and the API's JSON.
#[must_use]
pub fn render_success(body: Vec<u8>, content_type: &'static str) -> Response {
    let mut response = (StatusCode::OK, body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        let t = Target::parse("TrentService.Encrypt").unwrap();
        assert_eq!((t.prefix, t.operation), ("TrentService", "Encrypt"));
        assert!(t.matches("TrentService"));
        assert!(!t.matches("CloudTrail_20131101"));
        let long =
            Target::parse("com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.CreateTrail")
                .unwrap();
        assert!(long.matches("CloudTrail_20131101"));
        let short = Target::parse("CloudTrail_20131101.CreateTrail").unwrap();
        assert!(short.matches("com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101"));
        assert!(short.matches("CloudTrail_20131101"));
        assert!(
            !Target::parse("XCloudTrail_20131101.A")
                .unwrap()
                .matches("CloudTrail_20131101")
        );
        assert_eq!(Target::parse("TrentService."), None);
        assert_eq!(Target::parse("Encrypt"), None);
        assert_eq!(Target::parse("TrentService.En-crypt"), None);
    }

    #[test]
    fn json_checks() {
        check_json_object(b"").unwrap();
        check_json_object(b" {\"a\": [1, {}]} ").unwrap();
        assert!(check_json_object(b"[]").is_err());
        assert!(check_json_object(b"{\"a\":").is_err());
        assert!(check_json_object(b"{} {}").is_err());
        let mut h = HeaderMap::new();
        assert_eq!(json_content_type(&h), None);
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-amz-json-1.0; charset=utf-8"),
        );
        assert_eq!(json_content_type(&h), Some(JSON_1_0));
    }

    #[test]
    fn every_edge_code_is_listed() {
        let errors = [
            EdgeError::Auth(AuthError::Missing),
            EdgeError::UnknownOperation(String::new()),
            EdgeError::ContentType(String::new()),
            EdgeError::TooLarge { limit: 1 },
            EdgeError::Internal {
                code: "InternalFailure",
                detail: String::new(),
            },
        ];
        for e in errors {
            assert!(EDGE_ERROR_CODES.contains(&e.aws_code()), "{}", e.aws_code());
        }
    }
}
