//! A response body that stops arriving half-way fails the read after `--cli-read-timeout`
//! seconds, as in the AWS CLI, instead of hanging forever: `sync` reports that object,
//! copies the others and leaves nothing half-written; `validate-logs` ends with the error.
//!
//! The S3 here is a hand-written responder on 127.0.0.1 that answers GetBucketLocation,
//! ListObjectsV2, ListObjects and GetObject, and sends only the first bytes of `stall.json.gz`.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

mod common;
use common::aws_env;

const OK_KEY: &str = "AWSLogs/123456789012/ok.json.gz";
const STALL_KEY: &str = "AWSLogs/123456789012/stall.json.gz";
const DIGEST_KEY: &str = "AWSLogs/123456789012/CloudTrail-Digest/us-east-1/2026/01/10/123456789012_CloudTrail-Digest_us-east-1_mytrail_us-east-1_20260110T010000Z.json.gz";

/// The demo chain's public key (`testdata/demo/public-keys.json`), PKCS#1 in base64.
const DEMO_KEY: &str = "MIIBCgKCAQEA++OEEE9O2kKw8QlzQyUkjGpBqjJTSAcuqz8r7gjkZcAi9ih/HN0hXgBZTWDOEDYuh185bjnOcP6zaC/HT539OyCBB0oU+vNms37aLkTaycEli8a2JbONhboGB7mPrJnu/TEY+U0YG9XGITUP3Zcmoq7qK/Rmq3aivCxw44XoP0gmRwG45r/m0Una4q3bMBX4Q6OdxTIgiuSKUVt0oqjTEeBS0Adnrw24aWkNh7ghAG75dZogUoh+Xu5lPLbmd64Tna8py89QyBytTLdwJmOqR3LArdd7/5FSnH2jWCbPw/IjY7MUp3UnQsuNK2zL0gyJNKySwPQ5sosdPSGcYx/GZQIDAQAB";

fn respond(mut s: TcpStream, status: &str, ctype: &str, body: &[u8]) {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nETag: \"e\"\r\nLast-Modified: Sat, 10 Jan 2026 01:00:00 GMT\r\nx-amz-request-id: r\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = s.write_all(head.as_bytes());
    let _ = s.write_all(body);
}

/// Sends the headers and a tenth of the body, then holds the connection silent.
fn stall(mut s: TcpStream) {
    let head = "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 100\r\nETag: \"e\"\r\nLast-Modified: Sat, 10 Jan 2026 01:00:00 GMT\r\nConnection: close\r\n\r\n";
    let _ = s.write_all(head.as_bytes());
    let _ = s.write_all(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);
    let _ = s.flush();
    // Far longer than the timeout under test; the thread dies with the test process.
    std::thread::sleep(Duration::from_secs(120));
}

fn handle(s: TcpStream) {
    let mut reader = BufReader::new(s.try_clone().unwrap());
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) if line == "\r\n" => break,
            Ok(_) => {}
        }
    }
    let target = request_line.split(' ').nth(1).unwrap_or("").to_owned();
    // GetObject carries `?x-id=GetObject`: match object keys on the path alone.
    let path = target.split('?').next().unwrap_or("");
    let xml = "application/xml";
    if target.contains("?location") {
        respond(
            s,
            "200 OK",
            xml,
            br#"<?xml version="1.0" encoding="UTF-8"?><LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/"></LocationConstraint>"#,
        );
    } else if target.contains("list-type=2") {
        let body = format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>ct-bucket</Name><Prefix></Prefix><KeyCount>2</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated><Contents><Key>{OK_KEY}</Key><Size>5</Size><ETag>"e"</ETag></Contents><Contents><Key>{STALL_KEY}</Key><Size>100</Size><ETag>"e"</ETag></Contents></ListBucketResult>"#
        );
        respond(s, "200 OK", xml, body.as_bytes());
    } else if target.starts_with("/ct-bucket?") || target.starts_with("/ct-bucket/?") {
        // ListObjects (v1) for the digest walk: one digest, whose body stalls.
        let body = if target.contains("CloudTrail-Digest") {
            format!(
                r#"<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>ct-bucket</Name><Prefix></Prefix><Marker></Marker><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated><Contents><Key>{DIGEST_KEY}</Key><Size>100</Size><ETag>"e"</ETag></Contents></ListBucketResult>"#
            )
        } else {
            r#"<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>ct-bucket</Name><Prefix></Prefix><Marker></Marker><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated></ListBucketResult>"#.to_owned()
        };
        respond(s, "200 OK", xml, body.as_bytes());
    } else if path.ends_with("ok.json.gz") {
        respond(s, "200 OK", "application/octet-stream", b"hello");
    } else if path.ends_with("stall.json.gz") || path.contains("CloudTrail-Digest_") {
        stall(s);
    } else if target == "/" {
        // CloudTrail ListPublicKeys (JSON 1.1 on the same port): the demo chain's key.
        respond(
            s,
            "200 OK",
            "application/x-amz-json-1.1",
            format!(r#"{{"PublicKeyList":[{{"Fingerprint":"beb472098949ac1b79119cf5ff1d5671","ValidityStartTime":1767917100,"ValidityEndTime":1770595500,"Value":"{DEMO_KEY}"}}]}}"#).as_bytes(),
        );
    } else {
        respond(
            s,
            "404 Not Found",
            xml,
            br#"<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>"#,
        );
    }
}

fn start_s3() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for s in listener.incoming().flatten() {
            std::thread::spawn(move || handle(s));
        }
    });
    port
}

fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    out.sort();
    out
}

#[test]
fn sync_gives_up_on_a_stalled_body_and_keeps_the_rest() {
    let port = start_s3();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("copy");
    let out = aws_env(
        Command::new(env!("CARGO_BIN_EXE_sealtrail")).args([
            "sync",
            "s3://ct-bucket",
            dir.to_str().unwrap(),
            "--cli-read-timeout",
            "1",
        ]),
        port,
    )
    .output()
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "stdout: {stdout}\nstderr: {stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "s3://ct-bucket/{STALL_KEY}: download failed: Read timeout"
        )),
        "stderr: {stderr}"
    );
    assert!(
        stdout.contains("1 copied (5 bytes), 0 unchanged, 1 failed"),
        "stdout: {stdout}"
    );
    // The good object is in place; the stalled one left no file and no temporary behind.
    let files = files_under(&dir);
    assert!(files.contains(&OK_KEY.to_owned()), "{files:?}");
    assert!(
        files.iter().all(|f| !f.contains("stall")),
        "the stalled object left {files:?}"
    );
    assert_eq!(
        std::fs::read(dir.join(OK_KEY)).unwrap(),
        b"hello",
        "the good object's bytes"
    );
}

#[test]
fn validate_logs_ends_with_an_error_on_a_stalled_digest() {
    let port = start_s3();
    let out = aws_env(
        Command::new(env!("CARGO_BIN_EXE_sealtrail")).args([
            "validate-logs",
            "--trail-arn",
            "arn:aws:cloudtrail:us-east-1:123456789012:trail/mytrail",
            "--s3-bucket",
            "ct-bucket",
            "--start-time",
            "2026-01-10T00:00:00Z",
            "--end-time",
            "2026-01-10T02:00:00Z",
            "--endpoint-url",
            &format!("http://127.0.0.1:{port}"),
            "--cli-read-timeout",
            "1",
        ]),
        port,
    )
    .output()
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(255), "stderr: {stderr}");
    assert!(
        stderr.contains(&format!(
            "reading s3://ct-bucket/{DIGEST_KEY}: Read timeout"
        )),
        "stderr: {stderr}"
    );
}
