//! `sealtrail-testkit serve` checked from the outside: the binary on port 0, spoken to with raw
//! HTTP, with real botocore (the repository's venv) and with the real `aws cloudtrail
//! validate-logs` over the demo chain.
//!
//! The Python checks need the venv (`$SEALTRAIL_VENV`, else `<repo>/.venv`, made by
//! `conformance/setup_venv.sh`); without it they are skipped with a loud message.
#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "test helpers outside #[test] functions"
)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn venv() -> Option<PathBuf> {
    let dir =
        std::env::var_os("SEALTRAIL_VENV").map_or_else(|| repo().join(".venv"), PathBuf::from);
    if dir.join("bin/python").exists() && dir.join("bin/aws").exists() {
        Some(dir)
    } else {
        eprintln!(
            "\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\
             !!! SKIPPED: no Python venv at {} (set SEALTRAIL_VENV or run\n\
             !!! conformance/setup_venv.sh): the botocore / AWS CLI checks did not run.\n\
             !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n",
            dir.display()
        );
        None
    }
}

/// The fixture server as a child process, stopped (by PID) on drop.
struct Fixture {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Fixture {
    fn start(args: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port_file = dir.path().join("port");
        let child = Command::new(env!("CARGO_BIN_EXE_sealtrail-testkit"))
            .arg("serve")
            .args(args)
            .arg("--port-file")
            .arg(&port_file)
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let started = Instant::now();
        let port = loop {
            if let Ok(s) = std::fs::read_to_string(&port_file)
                && let Ok(p) = s.trim().parse::<u16>()
            {
                break p;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "server did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        Self {
            child,
            port,
            _dir: dir,
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// One raw HTTP/1.1 request; returns (status, headers lower-cased, body).
    fn raw(&self, request: &str) -> (u16, Vec<(String, String)>, Vec<u8>) {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        s.write_all(request.as_bytes()).unwrap();
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).unwrap();
        let split = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        let head = String::from_utf8(buf[..split].to_vec()).unwrap();
        let body = buf[split + 4..].to_vec();
        let mut lines = head.lines();
        let status = lines
            .next()
            .unwrap()
            .split(' ')
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        let headers = lines
            .map(|l| {
                let (n, v) = l.split_once(':').unwrap();
                (n.to_owned(), v.trim().to_owned())
            })
            .collect();
        (status, headers, body)
    }

    fn get(&self, path: &str) -> (u16, Vec<(String, String)>, Vec<u8>) {
        self.raw(&format!(
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        ))
    }

    /// Stops the server with SIGTERM and checks that it exits cleanly and promptly.
    fn stop(mut self) {
        let pid = self.child.id().to_string();
        let status = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(status.success());
        let started = Instant::now();
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                assert!(st.success(), "server exited with {st}");
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "server did not stop on SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn demo() -> (String, String) {
    let r = repo();
    (
        r.join("testdata/demo/bucket").display().to_string(),
        r.join("testdata/demo/public-keys.json")
            .display()
            .to_string(),
    )
}

const TRAIL: &str = "arn:aws:cloudtrail:us-east-1:123456789012:trail/mytrail";

fn trails_file(dir: &Path) -> String {
    let p = dir.join("trails.json");
    std::fs::write(
        &p,
        format!(
            r#"{{"trailList":[{{"Name":"mytrail","S3BucketName":"ct-bucket","TrailARN":"{TRAIL}","HomeRegion":"us-east-1","LogFileValidationEnabled":true,"IsOrganizationTrail":false}}]}}"#
        ),
    )
    .unwrap();
    p.display().to_string()
}

/// A plain copy with awkward key names.
fn odd_copy(dir: &Path) -> String {
    let root = dir.join("odd");
    for (k, v) in [
        ("odd/a b+c&d\u{e9}<x>.txt", "awkward"),
        ("odd/plain.txt", "plain"),
        ("odd/sub/one.txt", "1"),
        ("odd/sub/two.txt", "2"),
        ("top.txt", "top"),
    ] {
        let p = root.join(k);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, v).unwrap();
    }
    format!("odd-bucket={}", root.display())
}

#[test]
fn raw_http() {
    let (bucket, keys) = demo();
    let tmp = tempfile::tempdir().unwrap();
    let odd = odd_copy(tmp.path());
    let digest = "AWSLogs/123456789012/CloudTrail-Digest/us-east-1/2026/01/10/123456789012_CloudTrail-Digest_us-east-1_mytrail_us-east-1_20260110T020500Z.json.gz";
    let f = Fixture::start(&[
        "--copy",
        &bucket,
        "--copy",
        &odd,
        "--public-keys",
        &keys,
        "--deny",
        digest,
    ]);

    let (st, h, body) = f.get("/ct-bucket?location");
    assert_eq!(st, 200);
    assert!(header(&h, "x-amz-request-id").is_some());
    assert_eq!(
        String::from_utf8(body).unwrap(),
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<LocationConstraint xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"/>"
    );

    // Encoded listing: keys percent-encoded, `+` escaped, EncodingType echoed.
    let (st, _, body) = f.get("/odd-bucket?prefix=odd%2F&encoding-type=url");
    assert_eq!(st, 200);
    let body = String::from_utf8(body).unwrap();
    assert!(
        body.contains("<Key>odd/a%20b%2Bc%26d%C3%A9%3Cx%3E.txt</Key>"),
        "{body}"
    );
    assert!(body.contains("<EncodingType>url</EncodingType>"), "{body}");
    assert!(!body.contains("top.txt"), "{body}");

    // Pagination with a delimiter: NextMarker, CommonPrefixes.
    let (_, _, body) = f.get("/odd-bucket?prefix=odd%2F&delimiter=%2F&max-keys=2");
    let body = String::from_utf8(body).unwrap();
    assert!(body.contains("<IsTruncated>true</IsTruncated>"), "{body}");
    assert!(
        body.contains("<NextMarker>odd/plain.txt</NextMarker>"),
        "{body}"
    );
    let (_, _, body) = f.get("/odd-bucket?prefix=odd%2F&delimiter=%2F&marker=odd%2Fplain.txt");
    let body = String::from_utf8(body).unwrap();
    assert!(
        body.contains("<CommonPrefixes><Prefix>odd/sub/</Prefix></CommonPrefixes>"),
        "{body}"
    );
    assert!(body.contains("<IsTruncated>false</IsTruncated>"), "{body}");
    assert!(!body.contains("<Contents>"), "{body}");

    // GetObject: metadata in lower case, quoted ETag, RFC 1123 date, no checksum headers.
    let d2 = "AWSLogs/123456789012/CloudTrail-Digest/us-east-1/2026/01/10/123456789012_CloudTrail-Digest_us-east-1_mytrail_us-east-1_20260110T030500Z.json.gz";
    let (st, h, body) = f.get(&format!("/ct-bucket/{d2}"));
    assert_eq!(st, 200);
    let on_disk = std::fs::read(Path::new(&bucket).join(d2)).unwrap();
    assert_eq!(body, on_disk);
    assert_eq!(
        header(&h, "content-length"),
        Some(on_disk.len().to_string().as_str())
    );
    assert!(h.iter().any(|(n, _)| n == "x-amz-meta-signature"), "{h:?}");
    assert_eq!(
        header(&h, "x-amz-meta-signature-algorithm"),
        Some("SHA256withRSA")
    );
    assert!(header(&h, "etag").unwrap().starts_with('"'));
    assert!(header(&h, "last-modified").unwrap().ends_with(" GMT"));
    assert!(!h.iter().any(|(n, _)| n.starts_with("x-amz-checksum")));

    // HEAD: same headers, no body.
    let (st, h, body) = f.raw(&format!(
        "HEAD /ct-bucket/{d2} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    ));
    assert_eq!(st, 200);
    assert!(body.is_empty());
    assert_eq!(
        header(&h, "content-length"),
        Some(on_disk.len().to_string().as_str())
    );

    // Range.
    let (st, h, body) = f.raw(&format!(
        "GET /ct-bucket/{d2} HTTP/1.1\r\nHost: x\r\nRange: bytes=0-9\r\nConnection: close\r\n\r\n"
    ));
    assert_eq!(st, 206);
    assert_eq!(body, on_disk[..10].to_vec());
    assert_eq!(
        header(&h, "content-range"),
        Some(format!("bytes 0-9/{}", on_disk.len()).as_str())
    );

    // Percent-decoded key path.
    let (st, _, body) = f.get("/odd-bucket/odd/a%20b%2Bc%26d%C3%A9%3Cx%3E.txt");
    assert_eq!((st, body.as_slice()), (200, b"awkward".as_slice()));

    // Errors.
    let (st, h, body) = f.get("/ct-bucket/AWSLogs/nope");
    let body = String::from_utf8(body).unwrap();
    assert_eq!(st, 404);
    assert!(
        body.contains("<Code>NoSuchKey</Code>") && body.contains("<Key>AWSLogs/nope</Key>"),
        "{body}"
    );
    assert!(header(&h, "x-amz-request-id").is_some());
    let (st, _, body) = f.get("/no-bucket/k");
    assert_eq!(st, 404);
    assert!(
        String::from_utf8(body)
            .unwrap()
            .contains("<Code>NoSuchBucket</Code>")
    );
    let (st, _, body) = f.get(&format!("/ct-bucket/{digest}"));
    assert_eq!(st, 403);
    assert!(
        String::from_utf8(body)
            .unwrap()
            .contains("<Code>AccessDenied</Code>")
    );

    // The file system is read on every request: a changed file is served changed, with a new
    // ETag, even when its size and mtime stay the same (the ETag cache also keys on ctime).
    let tmp_obj = Path::new(odd.split_once('=').unwrap().1).join("odd/plain.txt");
    let etag_of = |body: &[u8]| format!("\"{}\"", sealtrail_integrity::sign::fingerprint(body));
    let (_, h, _) = f.get("/odd-bucket/odd/plain.txt");
    assert_eq!(header(&h, "etag"), Some(etag_of(b"plain").as_str()));
    let (_, _, body) = f.get("/odd-bucket?prefix=odd%2Fplain");
    assert!(String::from_utf8(body).unwrap().contains(&format!(
        "<ETag>&quot;{}&quot;</ETag>",
        sealtrail_integrity::sign::fingerprint(b"plain")
    )));
    let mtime = std::fs::metadata(&tmp_obj).unwrap().modified().unwrap();
    std::fs::write(&tmp_obj, "PLAIN").unwrap();
    std::fs::File::options()
        .write(true)
        .open(&tmp_obj)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    let (_, h, body) = f.get("/odd-bucket/odd/plain.txt");
    assert_eq!(body, b"PLAIN");
    assert_eq!(header(&h, "etag"), Some(etag_of(b"PLAIN").as_str()));
    let (_, _, body) = f.get("/odd-bucket?prefix=odd%2Fplain");
    let body = String::from_utf8(body).unwrap();
    assert!(
        body.contains(&format!(
            "<ETag>&quot;{}&quot;</ETag>",
            sealtrail_integrity::sign::fingerprint(b"PLAIN")
        )),
        "{body}"
    );
    std::fs::write(&tmp_obj, "changed!").unwrap();
    let (_, h, body) = f.get("/odd-bucket/odd/plain.txt");
    assert_eq!(body, b"changed!");
    assert_eq!(header(&h, "etag"), Some(etag_of(b"changed!").as_str()));
    let (_, _, body) = f.get("/odd-bucket?prefix=odd%2Fplain");
    assert!(String::from_utf8(body).unwrap().contains("<Size>8</Size>"));

    // JSON side.
    let call = |target: &str, body: &str| {
        f.raw(&format!(
            "POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: {target}\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ))
    };
    let ct = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.";
    let (st, h, body) = call(
        &format!("{ct}ListPublicKeys"),
        r#"{"StartTime": 1768003200, "EndTime": 1768024800}"#,
    );
    assert_eq!(st, 200);
    assert!(header(&h, "x-amzn-requestid").is_some());
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        v["PublicKeyList"][0]["Fingerprint"],
        "beb472098949ac1b79119cf5ff1d5671"
    );
    assert_eq!(v["PublicKeyList"][0]["ValidityStartTime"], 1_767_917_100.0);
    let (st, _, body) = call(
        &format!("{ct}ListPublicKeys"),
        r#"{"StartTime": 1768024800, "EndTime": 1768003200}"#,
    );
    assert_eq!(st, 400);
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["__type"], "InvalidTimeRangeException");
    let (st, _, body) = call(&format!("{ct}DescribeTrails"), "{}");
    assert_eq!(
        (st, body.as_slice()),
        (200, br#"{"trailList":[]}"#.as_slice())
    );
    // The AWS SDK for Rust names the target by the Smithy service shape only.
    let (st, _, body) = call("CloudTrail_20131101.ListPublicKeys", "{}");
    assert_eq!(st, 200);
    assert!(
        String::from_utf8(body)
            .unwrap()
            .contains("beb472098949ac1b79119cf5ff1d5671")
    );
    let (st, _, body) = call(&format!("{ct}CreateTrail"), "{}");
    assert_eq!(st, 400);
    assert!(
        String::from_utf8(body)
            .unwrap()
            .contains("UnknownOperationException")
    );
    let (st, _, body) = call("AWSOrganizationsV20161128.DescribeOrganization", "{}");
    assert_eq!(st, 400);
    assert!(
        String::from_utf8(body)
            .unwrap()
            .contains("AWSOrganizationsNotInUseException")
    );

    let (st, _, body) = f.get("/__fixture/stats");
    assert_eq!(st, 200);
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert!(v["requests"].as_u64().unwrap() >= 15, "{v}");
    assert!(v["handler_seconds"].as_f64().unwrap() > 0.0, "{v}");
    f.stop();
}

/// Real botocore against the fixture: the client parses every answer as it would AWS's.
#[test]
fn botocore_client() {
    let Some(venv) = venv() else { return };
    let (bucket, keys) = demo();
    let tmp = tempfile::tempdir().unwrap();
    let odd = odd_copy(tmp.path());
    let trails = trails_file(tmp.path());
    let f = Fixture::start(&[
        "--copy",
        &bucket,
        "--copy",
        &odd,
        "--public-keys",
        &keys,
        "--trails",
        &trails,
        "--organization-id",
        "o-abcdefghij",
    ]);
    let script = r#"
import json, sys, datetime
import boto3, botocore.exceptions
url = sys.argv[1]
kw = dict(endpoint_url=url, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
s3 = boto3.client("s3", **kw)
out = {}
out["location"] = s3.get_bucket_location(Bucket="ct-bucket")["LocationConstraint"]
pages = s3.get_paginator("list_objects").paginate(Bucket="odd-bucket", Prefix="odd/", PaginationConfig={"PageSize": 2})
out["v1_keys"] = [o["Key"] for p in pages for o in p.get("Contents", [])]
pages = s3.get_paginator("list_objects_v2").paginate(Bucket="odd-bucket", PaginationConfig={"PageSize": 2})
out["v2_keys"] = [o["Key"] for p in pages for o in p.get("Contents", [])]
r = s3.list_objects_v2(Bucket="odd-bucket", Prefix="odd/", Delimiter="/")
out["v2_prefixes"] = [p["Prefix"] for p in r.get("CommonPrefixes", [])]
out["v2_count"] = r["KeyCount"]
digests = [o["Key"] for p in s3.get_paginator("list_objects").paginate(Bucket="ct-bucket", Prefix="AWSLogs/123456789012/CloudTrail-Digest/us-east-1") for o in p.get("Contents", [])]
out["digests"] = len(digests)
g = s3.get_object(Bucket="ct-bucket", Key=digests[0])
out["metadata"] = g["Metadata"]
out["len"] = len(g["Body"].read())
out["content_length"] = g["ContentLength"]
out["awkward"] = s3.get_object(Bucket="odd-bucket", Key="odd/a b+c&d\u00e9<x>.txt")["Body"].read().decode()
h = s3.head_object(Bucket="ct-bucket", Key=digests[0])
out["head_metadata"] = h["Metadata"]
try:
    s3.get_object(Bucket="ct-bucket", Key="AWSLogs/missing")
except botocore.exceptions.ClientError as e:
    out["missing"] = e.response["Error"]["Code"]
ct = boto3.client("cloudtrail", **kw)
k = ct.list_public_keys(StartTime=datetime.datetime(2026, 1, 10), EndTime=datetime.datetime(2026, 1, 11))
out["fingerprints"] = [x["Fingerprint"] for x in k["PublicKeyList"]]
try:
    ct.list_public_keys(StartTime=datetime.datetime(2026, 1, 11), EndTime=datetime.datetime(2026, 1, 10))
except botocore.exceptions.ClientError as e:
    out["bad_range"] = e.response["Error"]["Code"]
out["trails"] = [t["TrailARN"] for t in ct.describe_trails()["trailList"]]
org = boto3.client("organizations", **kw)
out["org"] = org.describe_organization()["Organization"]["Id"]
print(json.dumps(out))
"#;
    let o = Command::new(venv.join("bin/python"))
        .args(["-c", script, &f.url()])
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["location"], serde_json::Value::Null);
    assert_eq!(
        v["v1_keys"],
        serde_json::json!([
            "odd/a b+c&d\u{e9}<x>.txt",
            "odd/plain.txt",
            "odd/sub/one.txt",
            "odd/sub/two.txt"
        ])
    );
    assert_eq!(
        v["v2_keys"],
        serde_json::json!([
            "odd/a b+c&d\u{e9}<x>.txt",
            "odd/plain.txt",
            "odd/sub/one.txt",
            "odd/sub/two.txt",
            "top.txt"
        ])
    );
    assert_eq!(v["v2_prefixes"], serde_json::json!(["odd/sub/"]));
    assert_eq!(v["v2_count"], 3);
    assert_eq!(v["digests"], 47); // 48 hours, a 2-hour gap, 1 backfill
    assert_eq!(v["metadata"]["signature-algorithm"], "SHA256withRSA");
    assert_eq!(v["metadata"]["signature"].as_str().unwrap().len(), 512);
    assert_eq!(v["head_metadata"], v["metadata"]);
    assert_eq!(v["len"], v["content_length"]);
    assert_eq!(v["awkward"], "awkward");
    assert_eq!(v["missing"], "NoSuchKey");
    assert_eq!(
        v["fingerprints"],
        serde_json::json!(["beb472098949ac1b79119cf5ff1d5671"])
    );
    assert_eq!(v["bad_range"], "InvalidTimeRangeException");
    assert_eq!(v["trails"], serde_json::json!([TRAIL]));
    assert_eq!(v["org"], "o-abcdefghij");
    f.stop();
}

fn aws_validate(venv: &Path, f: &Fixture, extra: &[&str]) -> std::process::Output {
    Command::new(venv.join("bin/aws"))
        .args([
            "cloudtrail",
            "validate-logs",
            "--endpoint-url",
            &f.url(),
            "--trail-arn",
            TRAIL,
        ])
        .args(extra)
        .env("AWS_ENDPOINT_URL_S3", f.url())
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env_remove("AWS_PROFILE")
        .output()
        .unwrap()
}

/// The real `aws cloudtrail validate-logs` over the demo chain: everything valid.
#[test]
fn aws_cli_validates_demo_chain() {
    let Some(venv) = venv() else { return };
    let (bucket, keys) = demo();
    let tmp = tempfile::tempdir().unwrap();
    let trails = trails_file(tmp.path());
    let f = Fixture::start(&[
        "--copy",
        &bucket,
        "--public-keys",
        &keys,
        "--trails",
        &trails,
    ]);
    let o = aws_validate(
        &venv,
        &f,
        &[
            "--start-time",
            "2026-01-10T00:00:00Z",
            "--end-time",
            "2026-01-12T01:00:00Z",
        ],
    );
    let stdout = String::from_utf8_lossy(&o.stdout);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(
        o.status.code(),
        Some(0),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert_eq!(
        stdout,
        "Validating log files for trail arn:aws:cloudtrail:us-east-1:123456789012:trail/mytrail between 2026-01-10T00:00:00Z and 2026-01-12T01:00:00Z\n\n\
         Results requested for 2026-01-10T00:00:00Z to 2026-01-12T01:00:00Z\n\
         Results found for 2026-01-10T00:05:00Z to 2026-01-12T00:05:00Z:\n\n\
         46/46 digest files valid\n\
         1/1 backfill digest files valid\n\
         139/139 log files valid\n"
    );
    // The logging gap (periods 30-31) is reported, and nothing else.
    assert_eq!(
        stderr,
        "No log files were delivered by CloudTrail between 2026-01-11T06:05:00Z and 2026-01-11T08:05:00Z\n\n"
    );

    // The fatal path: a denied log file aborts with rc 255.
    drop(f);
    let log = first_log_key(Path::new(&bucket));
    let f = Fixture::start(&[
        "--copy",
        &bucket,
        "--public-keys",
        &keys,
        "--trails",
        &trails,
        "--deny",
        &log,
    ]);
    let o = aws_validate(
        &venv,
        &f,
        &[
            "--start-time",
            "2026-01-10T00:00:00Z",
            "--end-time",
            "2026-01-12T01:00:00Z",
        ],
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(255), "{stderr}");
    assert!(
        stderr.contains(
            "An error occurred (AccessDenied) when calling the GetObject operation: Access Denied"
        ),
        "{stderr}"
    );
    f.stop();
}

fn first_log_key(bucket: &Path) -> String {
    let dir = bucket.join("AWSLogs/123456789012/CloudTrail/us-east-1/2026/01/11");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    format!(
        "AWSLogs/123456789012/CloudTrail/us-east-1/2026/01/11/{}",
        names[0]
    )
}
