//! The real server, in-process on 127.0.0.1:0 over a temporary data directory, driven with
//! raw HTTP/1.1 and requests signed by `aws-sigv4`: health, metrics, request ids, SigV4
//! success and each failure code, size limit, framing errors, dispatch, concurrency, the
//! KMS wired in, restart, graceful shutdown, configuration errors.

mod common;

use std::os::unix::fs::PermissionsExt as _;
use std::time::{Duration, Instant, SystemTime};

use common::{ECHO_PREFIX, TestServer, sign_request, sign_with, unsigned};
use sealtrail_server::ServerError;
use sealtrail_server::config::ConfigError;
use sealtrail_server::serve::{self, ServeOptions};

fn is_uuid_v4(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.iter().map(|p| p.len()).collect::<Vec<_>>() == [8, 4, 4, 4, 12]
        && parts[2].starts_with('4')
        && s.bytes().all(|b| b == b'-' || b.is_ascii_hexdigit())
}

fn echo(op: &str) -> String {
    format!("{ECHO_PREFIX}.{op}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_metrics_and_request_ids() {
    let server = TestServer::start().await;
    let health = server
        .send(
            format!(
                "GET /_sealtrail/health HTTP/1.1\r\nHost: {}\r\n\r\n",
                server.host()
            )
            .as_bytes(),
        )
        .await;
    assert_eq!(health.status, 200);
    assert_eq!(health.header("content-type"), Some("application/json"));
    let j = health.json();
    assert_eq!(j["status"], "ok");
    assert_eq!(j["region"], "us-east-1");
    assert_eq!(j["apis"], serde_json::json!(["kms", "echo"]));
    let id1 = health.header("x-amzn-requestid").unwrap().to_owned();
    assert!(is_uuid_v4(&id1), "{id1}");

    // Errors carry one too, and every id differs.
    let missing = server
        .send(&unsigned(&server.host(), &echo("Echo"), b"{}", &[]))
        .await;
    let id2 = missing.header("x-amzn-RequestId").unwrap().to_owned();
    assert!(is_uuid_v4(&id2) && id2 != id1);
    let ok = server
        .send(&server.signed("echo", &echo("Echo"), b"{}"))
        .await;
    assert_eq!(ok.status, 200, "{}", String::from_utf8_lossy(&ok.body));
    assert_eq!(
        ok.json()["request_id"].as_str(),
        ok.header("x-amzn-requestid")
    );
    let nowhere = server
        .send(format!("GET /nowhere HTTP/1.1\r\nHost: {}\r\n\r\n", server.host()).as_bytes())
        .await;
    assert_eq!(nowhere.status, 404);
    assert_eq!(nowhere.error().0, "UnknownOperationException");
    assert!(is_uuid_v4(nowhere.header("x-amzn-requestid").unwrap()));
    let get_root = server
        .send(format!("GET / HTTP/1.1\r\nHost: {}\r\n\r\n", server.host()).as_bytes())
        .await;
    assert_eq!(get_root.status, 404);

    let metrics = server
        .send(
            format!(
                "GET /_sealtrail/metrics HTTP/1.1\r\nHost: {}\r\n\r\n",
                server.host()
            )
            .as_bytes(),
        )
        .await;
    assert_eq!(metrics.status, 200);
    assert!(
        metrics
            .header("content-type")
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = String::from_utf8(metrics.body).unwrap();
    assert!(
        text.contains(
            "sealtrail_requests_total{api=\"echo\",operation=\"Echo\",status=\"200\"} 1\n"
        ),
        "{text}"
    );
    // Unauthenticated requests do not get an operation label.
    assert!(
        text.contains("sealtrail_requests_total{api=\"echo\",operation=\"-\",status=\"400\"} 1\n"),
        "{text}"
    );
    assert!(text.contains(
        "sealtrail_requests_total{api=\"sealtrail\",operation=\"health\",status=\"200\"} 1\n"
    ));
    assert!(
        text.contains(
            "sealtrail_request_duration_seconds_count{api=\"echo\",operation=\"Echo\"} 1\n"
        )
    );
    assert!(text.contains("# TYPE sealtrail_request_duration_seconds histogram\n"));
    // The metrics request itself is in flight while it renders.
    assert!(text.contains("sealtrail_requests_in_flight 1\n"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigv4_success_fills_the_call_context() {
    let server = TestServer::start().await;
    let body = br#"{"hello": "w\u00f6rld"}"#;
    let r = server
        .send(&server.signed("echo", &echo("Echo"), body))
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.header("content-type"), Some("application/x-amz-json-1.1"));
    let j = r.json();
    assert_eq!(j["operation"], "Echo");
    assert_eq!(j["caller"], "arn:aws:iam::123456789012:root");
    assert_eq!(j["kind"], "root");
    assert_eq!(j["account"], "123456789012");
    assert_eq!(j["user_id"], "123456789012");
    assert_eq!(j["source_ip"], "127.0.0.1");
    assert_eq!(j["secure"], false);
    assert_eq!(j["user_agent"], "sealtrail-test");
    assert_eq!(j["input"]["hello"], "wörld");
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(j["now"].as_u64().unwrap().abs_diff(now) < 5);

    // An empty body is `{}`; JSON 1.0 is accepted and echoed as the response type.
    let r = server
        .send(&server.signed("echo", &echo("Echo"), b""))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["input"], serde_json::json!({}));
    let raw = sign_with(
        &server.host(),
        &server.access_key_id,
        &server.secret,
        "us-east-1",
        "echo",
        &echo("Echo"),
        "application/x-amz-json-1.0",
        b"{}",
        SystemTime::now(),
    );
    let r = server.send(&raw).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/x-amz-json-1.0"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigv4_failures_have_aws_codes() {
    let server = TestServer::start().await;
    let host = server.host();
    let target = echo("Echo");
    let check = |r: common::HttpResponse, code: &str, message: &str| {
        assert_eq!(r.status, 400, "{code}");
        let (c, m) = r.error();
        assert_eq!(c, code);
        assert!(m.starts_with(message), "{code}: {m}");
        assert!(r.header("x-amzn-requestid").is_some());
    };

    check(
        server.send(&unsigned(&host, &target, b"{}", &[])).await,
        "MissingAuthenticationTokenException",
        "Request is missing Authentication Token",
    );
    check(
        server
            .send(&unsigned(
                &host,
                &target,
                b"{}",
                &[
                    ("Authorization", "Bearer x"),
                    ("X-Amz-Date", "20260110T120000Z"),
                ],
            ))
            .await,
        "IncompleteSignatureException",
        "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization=Bearer x",
    );
    check(
        server
            .send(&unsigned(&host, &target, b"{}", &[("Authorization", "AWS4-HMAC-SHA256 Credential=AKIA/20260110/us-east-1/echo/aws4_request, SignedHeaders=host, Signature=00")]))
            .await,
        "IncompleteSignatureException",
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
    );
    let now = SystemTime::now();
    let unknown = sign_request(
        &host,
        "AKIAUNKNOWNKEY000000",
        "secret",
        "us-east-1",
        "echo",
        &target,
        b"{}",
        now,
    );
    check(
        server.send(&unknown).await,
        "UnrecognizedClientException",
        "The security token included in the request is invalid.",
    );
    let wrong_secret = sign_request(
        &host,
        &server.access_key_id,
        "not-the-secret",
        "us-east-1",
        "echo",
        &target,
        b"{}",
        now,
    );
    check(
        server.send(&wrong_secret).await,
        "InvalidSignatureException",
        "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
    );
    let expired = sign_request(
        &host,
        &server.access_key_id,
        &server.secret,
        "us-east-1",
        "echo",
        &target,
        b"{}",
        now - Duration::from_secs(16 * 60),
    );
    check(
        server.send(&expired).await,
        "InvalidSignatureException",
        "Signature expired: ",
    );
    let future = sign_request(
        &host,
        &server.access_key_id,
        &server.secret,
        "us-east-1",
        "echo",
        &target,
        b"{}",
        now + Duration::from_secs(16 * 60),
    );
    check(
        server.send(&future).await,
        "InvalidSignatureException",
        "Signature not yet current: ",
    );
    let region = sign_request(
        &host,
        &server.access_key_id,
        &server.secret,
        "eu-west-1",
        "echo",
        &target,
        b"{}",
        now,
    );
    check(
        server.send(&region).await,
        "InvalidSignatureException",
        "Credential should be scoped to a valid region, not 'eu-west-1'.",
    );
    let service = sign_request(
        &host,
        &server.access_key_id,
        &server.secret,
        "us-east-1",
        "kms",
        &target,
        b"{}",
        now,
    );
    check(
        server.send(&service).await,
        "InvalidSignatureException",
        "Credential should be scoped to correct service: 'echo'.",
    );

    // Tampering: the body, a signed header, the target; an unsigned header is free.
    let good = server.signed("echo", &target, br#"{"a":1}"#);
    let text = String::from_utf8(good.clone()).unwrap();
    let tampered_body = text.replace(r#"{"a":1}"#, r#"{"a":2}"#);
    check(
        server.send(tampered_body.as_bytes()).await,
        "InvalidSignatureException",
        "The request signature we calculated",
    );
    let tampered_target = text.replace(&target, &echo("Fail"));
    check(
        server.send(tampered_target.as_bytes()).await,
        "InvalidSignatureException",
        "The request signature we calculated",
    );
    let tampered_type = text.replace("application/x-amz-json-1.1", "application/x-amz-json-1.0");
    check(
        server.send(tampered_type.as_bytes()).await,
        "InvalidSignatureException",
        "The request signature we calculated",
    );
    let unsigned_changed = text.replace("User-Agent: sealtrail-test", "User-Agent: someone-else");
    assert_eq!(server.send(unsigned_changed.as_bytes()).await.status, 200);
    let token = text.replace("User-Agent: sealtrail-test", "X-Amz-Security-Token: abc");
    check(
        server.send(token.as_bytes()).await,
        "UnrecognizedClientException",
        "The security token included in the request is invalid.",
    );
    let wrong_hash = text.replace(
        "User-Agent: sealtrail-test",
        "X-Amz-Content-SHA256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    );
    check(
        server.send(wrong_hash.as_bytes()).await,
        "InvalidSignatureException",
        "The provided 'x-amz-content-sha256' header does not match what was computed.",
    );
    assert_eq!(server.send(&good).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn framing_limits_and_dispatch() {
    let server = TestServer::start().await;
    let host = server.host();
    // Size limit: refused from Content-Length before the body is read, and when streamed.
    let big = vec![b' '; (1 << 20) + 1];
    let r = server
        .send(&server.signed("echo", &echo("Echo"), &big))
        .await;
    assert_eq!(r.status, 413);
    assert_eq!(r.error().0, "ValidationException");
    let chunked = format!(
        "POST / HTTP/1.1\r\nHost: {host}\r\nX-Amz-Target: {}\r\nTransfer-Encoding: chunked\r\n\r\n100001\r\n{}\r\n0\r\n\r\n",
        echo("Echo"),
        " ".repeat(0x100001)
    );
    let r = server.send(chunked.as_bytes()).await;
    assert_eq!(r.status, 413);
    // Exactly at the limit is fine (white space around an object).
    let mut at_limit = vec![b' '; (1 << 20) - 2];
    at_limit.extend_from_slice(b"{}");
    assert_eq!(
        server
            .send(&server.signed("echo", &echo("Echo"), &at_limit))
            .await
            .status,
        200
    );

    // Unknown target (authenticated), unknown prefix, missing target.
    let r = server
        .send(&server.signed("echo", "NoSuchService.Op", b"{}"))
        .await;
    assert_eq!(
        (r.status, r.error().0.as_str()),
        (400, "UnknownOperationException")
    );
    let r = server
        .send(&server.signed("echo", &echo("NoSuchOp"), b"{}"))
        .await;
    assert_eq!(
        (r.status, r.error().0.as_str()),
        (400, "UnknownOperationException")
    );
    let r = server.send(&server.signed("echo", "garbage", b"{}")).await;
    assert_eq!(r.error().0, "UnknownOperationException");
    // An unknown operation is not authenticated first-hand information: without a
    // signature the answer is still about the signature.
    let r = server
        .send(&unsigned(&host, "NoSuchService.Op", b"{}", &[]))
        .await;
    assert_eq!(r.error().0, "MissingAuthenticationTokenException");

    // Bad JSON, a non-object, a wrong content type.
    for body in [&b"{\"a\":"[..], b"[1]", b"nul"] {
        let r = server
            .send(&server.signed("echo", &echo("Echo"), body))
            .await;
        assert_eq!(
            (r.status, r.error().0.as_str()),
            (400, "SerializationException"),
            "{body:?}"
        );
    }
    let raw = sign_with(
        &host,
        &server.access_key_id,
        &server.secret,
        "us-east-1",
        "echo",
        &echo("Echo"),
        "text/plain",
        b"{}",
        SystemTime::now(),
    );
    let r = server.send(&raw).await;
    assert_eq!(r.error().0, "SerializationException");
    assert!(r.error().1.contains("text/plain"));

    // The API's own errors, and a panic turned into the API's fault code with a generic
    // message.
    let r = server
        .send(&server.signed("echo", &echo("Fail"), b"{}"))
        .await;
    assert_eq!(
        (r.status, r.error()),
        (
            400,
            ("EchoFailure".to_owned(), "failed as asked".to_owned())
        )
    );
    let r = server
        .send(&server.signed("echo", &echo("Panic"), b"{}"))
        .await;
    assert_eq!(r.status, 500);
    let (code, message) = r.error();
    assert_eq!(code, "EchoInternalException");
    assert!(!message.contains("asked to panic"), "{message}");
    // The server survives it.
    assert_eq!(
        server
            .send(&server.signed("echo", &echo("Echo"), b"{}"))
            .await
            .status,
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_call_does_not_stall_others() {
    let server = TestServer::start().await;
    let slow = server.signed("echo", &echo("Sleep"), br#"{"ms": 1500}"#);
    let addr = server.addr;
    let slow = tokio::spawn(async move { common::send(addr, &slow).await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    for _ in 0..20 {
        let r = server
            .send(&server.signed("echo", &echo("Echo"), b"{}"))
            .await;
        assert_eq!(r.status, 200);
    }
    let fast = started.elapsed();
    assert!(
        fast < Duration::from_millis(1000),
        "20 fast calls took {fast:?} next to a slow one"
    );
    assert_eq!(slow.await.unwrap().status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_finishes_requests_in_flight() {
    let mut server = TestServer::start().await;
    let addr = server.addr;
    let slow = server.signed("echo", &echo("Sleep"), br#"{"ms": 700}"#);
    let in_flight = tokio::spawn(async move { common::send(addr, &slow).await });
    tokio::time::sleep(Duration::from_millis(150)).await;
    let started = Instant::now();
    server.signal_shutdown();
    // New connections are refused once the listener is closed.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "still accepting after shutdown"
    );
    let r = in_flight.await.unwrap();
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    server.join().await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(400));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kms_is_served_and_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut server = TestServer::start_in(tempfile::tempdir().unwrap(), data.clone(), |_| {}).await;
    // The data directory: 0700, root key and credentials 0600.
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join("root.key")), 0o600);
    assert_eq!(mode(&data.join("credentials")), 0o600);
    let r = server
        .send(&server.signed(
            "kms",
            "TrentService.CreateKey",
            br#"{"Description": "restart"}"#,
        ))
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let key_id = r.json()["KeyMetadata"]["KeyId"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = server
        .send(&server.signed(
            "kms",
            "TrentService.Encrypt",
            format!(r#"{{"KeyId": "{key_id}", "Plaintext": "aGVsbG8="}}"#).as_bytes(),
        ))
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let blob = r.json()["CiphertextBlob"].as_str().unwrap().to_owned();
    // The KMS's own errors come through as its codes.
    let r = server
        .send(&server.signed(
            "kms",
            "TrentService.DescribeKey",
            br#"{"KeyId": "alias/none"}"#,
        ))
        .await;
    assert_eq!((r.status, r.error().0.as_str()), (400, "NotFoundException"));
    server.stop().await.unwrap();

    let server = TestServer::start_in(dir, data, |_| {}).await;
    let r = server
        .send(&server.signed("kms", "TrentService.ListKeys", b"{}"))
        .await;
    assert_eq!(r.status, 200);
    assert!(r.json()["Keys"].to_string().contains(&key_id));
    let r = server
        .send(&server.signed(
            "kms",
            "TrentService.Decrypt",
            format!(r#"{{"CiphertextBlob": "{blob}"}}"#).as_bytes(),
        ))
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["Plaintext"], "aGVsbG8=");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configured_users_and_roles_authenticate() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("sealtrail.toml");
    std::fs::write(dir.path().join("alice.json"), r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}]}"#).unwrap();
    std::fs::write(
        &config,
        r#"
region = "eu-west-1"
admin_account = "111122223333"

[[account]]
id = "444455556666"

[[account.user]]
name = "alice"
policies = [{ file = "alice.json" }]
access_keys = [{ id = "AKIAALICE00000000001", secret = "alice-secret" }]

[[account.role]]
name = "auditor"
session = "audit"
access_keys = [{ id = "AKIAAUDITOR000000001", secret = "auditor-secret" }]
"#,
    )
    .unwrap();
    let data = dir.path().join("data");
    let server = TestServer::start_in(dir, data, |o| o.config = Some(config)).await;
    assert_eq!(server.region, "eu-west-1");
    let call = |akid: &str, secret: &str| {
        sign_request(
            &server.host(),
            akid,
            secret,
            "eu-west-1",
            "echo",
            &echo("Echo"),
            b"{}",
            SystemTime::now(),
        )
    };
    let r = server
        .send(&call("AKIAALICE00000000001", "alice-secret"))
        .await;
    let j = r.json();
    assert_eq!(j["caller"], "arn:aws:iam::444455556666:user/alice");
    assert_eq!(j["user_name"], "alice");
    assert_eq!(j["policies"], 1);
    assert!(j["user_id"].as_str().unwrap().starts_with("AIDA"));
    let j = server
        .send(&call("AKIAAUDITOR000000001", "auditor-secret"))
        .await
        .json();
    assert_eq!(
        j["caller"],
        "arn:aws:sts::444455556666:assumed-role/auditor/audit"
    );
    assert_eq!(j["kind"], "assumed-role");
    let j = server
        .send(&call(&server.access_key_id, &server.secret))
        .await
        .json();
    assert_eq!(j["caller"], "arn:aws:iam::111122223333:root");
    let r = server
        .send(&call("AKIAALICE00000000001", "auditor-secret"))
        .await;
    assert_eq!(r.error().0, "InvalidSignatureException");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configuration_errors_name_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bad.toml");
    std::fs::write(
        &config,
        "listen = \"127.0.0.1:0\"\n\n[[account]]\nid = \"1234\"\n",
    )
    .unwrap();
    let options = ServeOptions {
        config: Some(config.clone()),
        data_dir: Some(dir.path().join("data")),
        ..ServeOptions::default()
    };
    let e = serve::prepare(&options, Vec::new()).await.unwrap_err();
    assert!(
        matches!(e, ServerError::Config(ConfigError::Invalid { line: 4, .. })),
        "{e}"
    );
    assert!(
        e.to_string()
            .starts_with(&format!("`{}`, line 4: account `id`", config.display())),
        "{e}"
    );
    // Nothing was created for a configuration that failed.
    assert!(!dir.path().join("data").exists());

    std::fs::write(&config, "[[account]]\nid = \"111122223333\"\n[[account.user]]\nname = \"u\"\npolicies = [{ file = \"missing.json\" }]\n").unwrap();
    let e = serve::prepare(&options, Vec::new()).await.unwrap_err();
    assert!(e.to_string().contains("line 5: policy file"), "{e}");
    let missing = ServeOptions {
        config: Some(dir.path().join("nope.toml")),
        ..options.clone()
    };
    let e = serve::prepare(&missing, Vec::new()).await.unwrap_err();
    assert!(
        matches!(e, ServerError::Config(ConfigError::Read { .. })),
        "{e}"
    );
    let half_tls = ServeOptions {
        tls_cert: Some(dir.path().join("cert.pem")),
        config: None,
        ..options
    };
    assert!(matches!(
        serve::prepare(&half_tls, Vec::new()).await.unwrap_err(),
        ServerError::TlsIncomplete
    ));
}
