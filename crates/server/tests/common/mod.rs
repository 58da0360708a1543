//! The harness of the server tests: the real server in-process on 127.0.0.1:0 over a
//! temporary data directory, a test-only JSON API, raw HTTP/1.1, and SigV4 signing with
//! `aws-sigv4` (the AWS SDK for Rust's signer).

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use sealtrail_server::ServerError;
use sealtrail_server::api::{ApiFailure, CallContext, JsonApi, PrincipalKind};
use sealtrail_server::serve::{self, ServeOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A test-only AWS JSON API: `SealtrailEcho_20260101.<Op>`, signing name `echo`.
pub struct EchoApi;

pub const ECHO_PREFIX: &str = "SealtrailEcho_20260101";

impl JsonApi for EchoApi {
    fn target_prefix(&self) -> &'static str {
        ECHO_PREFIX
    }

    fn signing_name(&self) -> &'static str {
        "echo"
    }

    fn call(
        &self,
        ctx: &CallContext<'_>,
        operation: &str,
        body: &[u8],
    ) -> Result<Vec<u8>, ApiFailure> {
        let input: serde_json::Value = serde_json::from_slice(body).map_err(|e| ApiFailure {
            code: "SerializationException",
            message: e.to_string(),
            status: 400,
        })?;
        match operation {
            "Echo" | "Sleep" => {
                if operation == "Sleep" {
                    let ms = input["ms"].as_u64().unwrap_or(100);
                    std::thread::sleep(Duration::from_millis(ms));
                }
                let kind = match ctx.caller.kind {
                    PrincipalKind::Root => "root",
                    PrincipalKind::User => "user",
                    PrincipalKind::AssumedRole => "assumed-role",
                };
                Ok(serde_json::json!({
                    "operation": operation,
                    "request_id": ctx.request_id,
                    "caller": ctx.caller.arn.as_str(),
                    "kind": kind,
                    "account": ctx.caller.account.as_str(),
                    "user_id": ctx.caller.user_id,
                    "user_name": ctx.caller.user_name,
                    "policies": ctx.caller.identity_policies.len(),
                    "region": ctx.region.as_str(),
                    "source_ip": ctx.source_ip.to_string(),
                    "secure": ctx.secure_transport,
                    "now": ctx.now.epoch_seconds(),
                    "user_agent": ctx.user_agent,
                    "input": input,
                })
                .to_string()
                .into_bytes())
            }
            "Fail" => Err(ApiFailure {
                code: "EchoFailure",
                message: "failed as asked".to_owned(),
                status: 400,
            }),
            "Panic" => panic!("asked to panic"),
            _ => Err(ApiFailure {
                code: "UnknownOperationException",
                message: String::new(),
                status: 400,
            }),
        }
    }

    fn error_codes(&self) -> &'static [&'static str] {
        &[
            "EchoFailure",
            "SerializationException",
            "UnknownOperationException",
        ]
    }

    fn fault_code(&self) -> &'static str {
        "EchoInternalException"
    }

    /// Only `Sleep` waits; everything else runs directly on the async worker.
    fn may_block(&self, operation: &str) -> bool {
        operation == "Sleep"
    }
}

/// A running in-process server.
pub struct TestServer {
    pub addr: std::net::SocketAddr,
    pub dir: tempfile::TempDir,
    pub data_dir: PathBuf,
    pub access_key_id: String,
    pub secret: String,
    pub region: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    join: Option<tokio::task::JoinHandle<Result<(), ServerError>>>,
}

impl TestServer {
    /// Starts with a fresh temporary data directory.
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let data_dir = dir.path().join("data");
        Self::start_in(dir, data_dir, |_| {}).await
    }

    /// Starts over `data_dir` (kept in `dir`), with options adjusted by `adjust`.
    pub async fn start_in(
        dir: tempfile::TempDir,
        data_dir: PathBuf,
        adjust: impl FnOnce(&mut ServeOptions),
    ) -> Self {
        let mut options = ServeOptions {
            data_dir: Some(data_dir.clone()),
            listen: Some("127.0.0.1:0".parse().unwrap()),
            ..ServeOptions::default()
        };
        adjust(&mut options);
        let prepared = serve::prepare(&options, vec![Arc::new(EchoApi)])
            .await
            .unwrap();
        let addr = prepared.server.local_addr();
        let admin = prepared.data_dir.admin().clone();
        let region = prepared.config.region.as_str().to_owned();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let join = tokio::spawn(prepared.server.run(async move {
            let _ = rx.await;
        }));
        Self {
            addr,
            dir,
            data_dir,
            access_key_id: admin.access_key_id.clone(),
            secret: admin.secret.expose().to_owned(),
            region,
            shutdown: Some(tx),
            join: Some(join),
        }
    }

    /// Signals shutdown and waits for the server to return.
    pub async fn stop(&mut self) -> Result<(), ServerError> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        match self.join.take() {
            Some(join) => join.await.unwrap(),
            None => Ok(()),
        }
    }

    /// Signals shutdown without waiting.
    pub fn signal_shutdown(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }

    /// Waits for the server task (after [`TestServer::signal_shutdown`]).
    pub async fn join(&mut self) -> Result<(), ServerError> {
        match self.join.take() {
            Some(join) => join.await.unwrap(),
            None => Ok(()),
        }
    }

    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// A request signed with the admin key.
    pub fn signed(&self, service: &str, target: &str, body: &[u8]) -> Vec<u8> {
        sign_request(
            &self.host(),
            &self.access_key_id,
            &self.secret,
            &self.region,
            service,
            target,
            body,
            SystemTime::now(),
        )
    }

    pub async fn send(&self, raw: &[u8]) -> HttpResponse {
        send(self.addr, raw).await
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// A parsed HTTP/1.1 response.
#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }

    /// `(__type, message)` of an AWS JSON error.
    pub fn error(&self) -> (String, String) {
        let j = self.json();
        (
            j["__type"].as_str().unwrap_or_default().to_owned(),
            j["message"].as_str().unwrap_or_default().to_owned(),
        )
    }
}

/// Sends one raw request (`Connection: close` is added) and reads the whole response.
pub async fn send(addr: std::net::SocketAddr, raw: &[u8]) -> HttpResponse {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let raw = with_close(raw);
    stream.write_all(&raw).await.unwrap();
    let mut buf = Vec::new();
    stream.read_to_end(&mut buf).await.unwrap();
    parse_response(&buf)
}

fn with_close(raw: &[u8]) -> Vec<u8> {
    let text = raw;
    let split = text.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let mut out = text[..split].to_vec();
    out.extend_from_slice(b"\r\nConnection: close");
    out.extend_from_slice(&text[split..]);
    out
}

pub fn parse_response(buf: &[u8]) -> HttpResponse {
    let split = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no response head in {:?}", String::from_utf8_lossy(buf)));
    let head = String::from_utf8_lossy(&buf[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    let status = status_line.split(' ').nth(1).unwrap().parse().unwrap();
    let headers = lines
        .map(|l| {
            let (k, v) = l.split_once(':').unwrap();
            (k.trim().to_owned(), v.trim().to_owned())
        })
        .collect();
    HttpResponse {
        status,
        headers,
        body: buf[split + 4..].to_vec(),
    }
}

/// A raw request without any signature.
pub fn unsigned(host: &str, target: &str, body: &[u8], extra: &[(&str, &str)]) -> Vec<u8> {
    let mut raw = format!(
        "POST / HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-amz-json-1.1\r\nX-Amz-Target: {target}\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in extra {
        raw.push_str(&format!("{k}: {v}\r\n"));
    }
    raw.push_str("\r\n");
    let mut raw = raw.into_bytes();
    raw.extend_from_slice(body);
    raw
}

/// A `POST /` signed by `aws-sigv4` at `time`.
#[allow(clippy::too_many_arguments)]
pub fn sign_request(
    host: &str,
    access_key_id: &str,
    secret: &str,
    region: &str,
    service: &str,
    target: &str,
    body: &[u8],
    time: SystemTime,
) -> Vec<u8> {
    sign_with(
        host,
        access_key_id,
        secret,
        region,
        service,
        target,
        "application/x-amz-json-1.1",
        body,
        time,
    )
}

#[allow(clippy::too_many_arguments)]
pub fn sign_with(
    host: &str,
    access_key_id: &str,
    secret: &str,
    region: &str,
    service: &str,
    target: &str,
    content_type: &str,
    body: &[u8],
    time: SystemTime,
) -> Vec<u8> {
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
    use aws_sigv4::sign::v4;

    let identity =
        aws_credential_types::Credentials::new(access_key_id, secret, None, None, "test").into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .unwrap()
        .into();
    let headers = [
        ("host", host),
        ("content-type", content_type),
        ("x-amz-target", target),
    ];
    let url = format!("http://{host}/");
    let signable = SignableRequest::new(
        "POST",
        &url,
        headers.iter().copied(),
        SignableBody::Bytes(body),
    )
    .unwrap();
    let (instructions, _signature) = sign(signable, &params).unwrap().into_parts();
    let (added, _query) = instructions.into_parts();
    let mut raw = format!(
        "POST / HTTP/1.1\r\nHost: {host}\r\nContent-Type: {content_type}\r\nX-Amz-Target: {target}\r\nContent-Length: {}\r\nUser-Agent: sealtrail-test\r\n",
        body.len()
    );
    for h in added {
        raw.push_str(&format!("{}: {}\r\n", h.name(), h.value()));
    }
    raw.push_str("\r\n");
    let mut raw = raw.into_bytes();
    raw.extend_from_slice(body);
    raw
}

/// The project's Python venv, if installed.
pub fn venv_python() -> Option<PathBuf> {
    let venv = std::env::var_os("SEALTRAIL_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv"));
    let python = venv.join("bin/python");
    python.exists().then_some(python)
}
