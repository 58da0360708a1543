//! The request path: routes, the request-id/metrics/log middleware, and the AWS JSON RPC
//! handler (read the body within the limit → SigV4 → resolve the caller → find the API by
//! `X-Amz-Target` → check the framing → run the API's synchronous call off the async
//! workers → render).
//!
//! Routes: `POST /` (AWS JSON 1.0/1.1 APIs), `GET /_sealtrail/health`,
//! `GET /_sealtrail/metrics`. Every response carries `x-amzn-RequestId`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http_body_util::{BodyExt as _, LengthLimitError, Limited};
use sealtrail_model::{Clock, Region};

use crate::api::{ApiFailure, CallContext, JsonApi};
use crate::framing::{
    EdgeError, JSON_1_1, Target, check_json_object, json_content_type, render_failure,
    render_success,
};
use crate::identity::Identities;
use crate::metrics::Metrics;
use crate::sigv4::{Expectation, RequestParts, UriEncoding, Verifier};

/// The response header that carries the request id (botocore reads it case-insensitively).
pub const REQUEST_ID_HEADER: &str = "x-amzn-RequestId";

/// Everything the request path shares.
pub struct App {
    pub(crate) apis: Vec<Arc<dyn JsonApi>>,
    pub(crate) identities: Identities,
    pub(crate) verifier: Verifier,
    pub(crate) region: Region,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) metrics: Metrics,
    pub(crate) max_body: usize,
    pub(crate) started: Instant,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field(
                "apis",
                &self
                    .apis
                    .iter()
                    .map(|a| a.target_prefix())
                    .collect::<Vec<_>>(),
            )
            .field("identities", &self.identities.len())
            .field("region", &self.region)
            .field("max_body", &self.max_body)
            .finish_non_exhaustive()
    }
}

/// What the connection says about a request: the peer and whether it came over TLS.
#[derive(Debug, Clone, Copy)]
pub struct ConnInfo {
    /// The client's address (`aws:SourceIp`).
    pub peer: SocketAddr,
    /// Whether the connection is TLS (`aws:SecureTransport`).
    pub tls: bool,
}

/// The request id of the request being served.
#[derive(Debug, Clone)]
pub struct RequestId(pub Arc<str>);

/// What the handler tells the middleware, for metrics and the log line.
#[derive(Debug, Clone, Default)]
struct Outcome {
    api: &'static str,
    operation: Option<String>,
    code: Option<&'static str>,
    access_key_id: Option<String>,
    caller: Option<String>,
    quiet: bool,
}

/// The router with its middleware.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/", post(json_rpc).fallback(no_route))
        .route("/_sealtrail/health", get(health))
        .route("/_sealtrail/metrics", get(metrics))
        .fallback(no_route)
        .layer(axum::middleware::from_fn_with_state(app.clone(), track))
        .with_state(app)
}

/// A new request id: a UUID v4 from the aws-lc-rs random generator.
#[must_use]
pub fn new_request_id() -> String {
    let mut b = [0u8; 16];
    if aws_lc_rs::rand::fill(&mut b).is_err() {
        // Never seen in practice; a time-based id still keeps requests apart in the log.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        b = nanos.to_be_bytes();
    }
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        h.get(0..8).unwrap_or_default(),
        h.get(8..12).unwrap_or_default(),
        h.get(12..16).unwrap_or_default(),
        h.get(16..20).unwrap_or_default(),
        h.get(20..32).unwrap_or_default()
    )
}

/// The middleware: request id, in-flight gauge, metrics and one log line per request.
async fn track(State(app): State<Arc<App>>, mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let _in_flight = app.metrics.start();
    let id: Arc<str> = new_request_id().into();
    request.extensions_mut().insert(RequestId(id.clone()));
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let conn = request.extensions().get::<ConnInfo>().copied();
    let mut response = next.run(request).await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    let outcome = response
        .extensions_mut()
        .remove::<Outcome>()
        .unwrap_or(Outcome {
            api: "none",
            ..Outcome::default()
        });
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    let operation = outcome.operation.as_deref().unwrap_or("-");
    app.metrics.record(outcome.api, operation, status, elapsed);
    let latency_us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
    let source_ip = conn.map(|c| c.peer.ip().to_string());
    macro_rules! line {
        ($level:ident) => {
            tracing::$level!(
                target: "sealtrail::request",
                request_id = %id,
                method = %method,
                path = %path,
                status,
                api = outcome.api,
                operation,
                code = outcome.code.unwrap_or(""),
                access_key_id = outcome.access_key_id.as_deref().unwrap_or(""),
                caller = outcome.caller.as_deref().unwrap_or(""),
                source_ip = source_ip.as_deref().unwrap_or(""),
                tls = conn.is_some_and(|c| c.tls),
                latency_us,
                "request"
            )
        };
    }
    if outcome.quiet {
        line!(debug);
    } else {
        line!(info);
    }
    response
}

async fn health(State(app): State<Arc<App>>) -> Response {
    let body = serde_json::json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "region": app.region.as_str(),
        "apis": app.apis.iter().map(|a| a.signing_name()).collect::<Vec<_>>(),
        "uptime_seconds": app.started.elapsed().as_secs(),
    });
    let mut response = (StatusCode::OK, body.to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response.extensions_mut().insert(Outcome {
        api: "sealtrail",
        operation: Some("health".to_owned()),
        quiet: true,
        ..Outcome::default()
    });
    response
}

async fn metrics(State(app): State<Arc<App>>) -> Response {
    let mut response = (StatusCode::OK, app.metrics.render()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response.extensions_mut().insert(Outcome {
        api: "sealtrail",
        operation: Some("metrics".to_owned()),
        quiet: true,
        ..Outcome::default()
    });
    response
}

async fn no_route(request: Request) -> Response {
    let error = EdgeError::NoRoute {
        method: request.method().to_string(),
        path: request.uri().path().to_owned(),
    };
    let mut response = render_failure(&error.to_failure(), JSON_1_1);
    response.extensions_mut().insert(Outcome {
        api: "none",
        code: Some(error.aws_code()),
        ..Outcome::default()
    });
    response
}

/// `POST /`: one AWS JSON RPC call.
async fn json_rpc(State(app): State<Arc<App>>, request: Request) -> Response {
    let request_id = request
        .extensions()
        .get::<RequestId>()
        .cloned()
        .unwrap_or_else(|| RequestId(new_request_id().into()));
    let conn = request.extensions().get::<ConnInfo>().copied();
    let (parts, body) = request.into_parts();
    let content_type = json_content_type(&parts.headers).unwrap_or(JSON_1_1);
    let mut outcome = Outcome {
        api: "none",
        ..Outcome::default()
    };
    let result = call(&app, &request_id.0, conn, &parts, body, &mut outcome).await;
    let mut response = match result {
        Ok(json) => render_success(json, content_type),
        Err(failure) => {
            outcome.code = Some(failure.code);
            render_failure(&failure, content_type)
        }
    };
    response.extensions_mut().insert(outcome);
    response
}

async fn call(
    app: &App,
    request_id: &str,
    conn: Option<ConnInfo>,
    parts: &Parts,
    body: Body,
    outcome: &mut Outcome,
) -> Result<Vec<u8>, ApiFailure> {
    let target_header = parts
        .headers
        .get("x-amz-target")
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let target = target_header.as_deref().and_then(Target::parse);
    let api = target.and_then(|t| app.apis.iter().find(|a| t.matches(a.target_prefix())));
    if let Some(api) = api {
        outcome.api = api.signing_name();
    }
    let fault_code = api.map_or("InternalFailure", |a| a.fault_code());
    let edge = |e: EdgeError| {
        if let EdgeError::Internal { detail, .. } | EdgeError::BodyRead(detail) = &e {
            tracing::warn!(target: "sealtrail::request", request_id, detail = %detail, "request failed at the edge");
        }
        e.to_failure()
    };

    let body = read_body(&parts.headers, body, app.max_body)
        .await
        .map_err(edge)?;
    let now = app.clock.now();
    let request = RequestParts {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query(),
        headers: &parts.headers,
        body: &body,
    };
    let expect = Expectation {
        region: app.region.as_str(),
        service: api.map(|a| a.signing_name()),
        now,
        uri: UriEncoding::Normalized,
    };
    let verified = app
        .verifier
        .verify(&request, &expect, &app.identities)
        .map_err(|e| {
            tracing::debug!(target: "sealtrail::auth", request_id, reason = %e, "authentication failed");
            edge(EdgeError::Auth(e))
        })?;
    let caller = verified.entry;
    outcome.access_key_id = Some(verified.access_key_id);
    outcome.caller = Some(caller.arn.as_str().to_owned());

    let (Some(target), Some(api)) = (target, api) else {
        return Err(edge(EdgeError::UnknownOperation(
            target_header.unwrap_or_default(),
        )));
    };
    if json_content_type(&parts.headers).is_none() {
        let ct = parts
            .headers
            .get(header::CONTENT_TYPE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .unwrap_or_default();
        return Err(edge(EdgeError::ContentType(ct)));
    }
    check_json_object(&body).map_err(edge)?;
    let input: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        &body
    };
    let ctx = CallContext {
        request_id,
        caller,
        region: &app.region,
        source_ip: conn.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.peer.ip()),
        secure_transport: conn.is_some_and(|c| c.tls),
        now,
        user_agent: parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok()),
    };
    let operation = target.operation;
    let result = run_guarded(api.may_block(operation), || {
        api.call(&ctx, operation, input)
    })
    .map_err(|detail| {
        edge(EdgeError::Internal {
            code: fault_code,
            detail,
        })
    })?;
    match &result {
        Err(failure) if failure.code == "UnknownOperationException" => {}
        _ => outcome.operation = Some(operation.to_owned()),
    }
    if let Err(failure) = &result
        && failure.status >= 500
    {
        tracing::error!(target: "sealtrail::request", request_id, code = failure.code, "the API reported an internal fault");
    }
    result
}

/// Reads the whole body, refusing more than `limit` bytes (early when `Content-Length`
/// says so).
async fn read_body(
    headers: &axum::http::HeaderMap,
    body: Body,
    limit: usize,
) -> Result<axum::body::Bytes, EdgeError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > u64::try_from(limit).unwrap_or(u64::MAX)) {
        return Err(EdgeError::TooLarge { limit });
    }
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => {
            Err(EdgeError::TooLarge { limit })
        }
        Err(e) => Err(EdgeError::BodyRead(e.to_string())),
    }
}

/// Runs a synchronous API call, turning a panic into an internal error instead of a dropped
/// connection. A call that `may_block` (waits on a disk sync) runs through `block_in_place`
/// on the multi-threaded runtime: the worker hands its other tasks to another thread for the
/// duration of the call, so the call delays only its own request. Other calls run directly:
/// they take microseconds, less than the hand-off would.
fn run_guarded<R>(may_block: bool, f: impl FnOnce() -> R) -> Result<R, String> {
    let guarded = move || std::panic::catch_unwind(AssertUnwindSafe(f));
    let multi_thread = matches!(
        tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()),
        Ok(tokio::runtime::RuntimeFlavor::MultiThread)
    );
    let result = if may_block && multi_thread {
        tokio::task::block_in_place(guarded)
    } else {
        guarded()
    };
    result.map_err(|panic| {
        let text = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_owned());
        format!("the API call panicked: {text}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_uuid_v4() {
        let a = new_request_id();
        let b = new_request_id();
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        let parts: Vec<&str> = a.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('4'));
        assert!(matches!(parts[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b'));
    }

    #[test]
    fn panics_become_errors() {
        for may_block in [true, false] {
            let r: Result<(), String> = run_guarded(may_block, || panic!("boom"));
            assert_eq!(r.unwrap_err(), "the API call panicked: boom");
        }
    }
}
