//! Real AWS clients against the real server in-process on 127.0.0.1:0: botocore/boto3 (the
//! KMS, SigV4 failures as botocore parses them, a raw SigV4Auth request), the `aws` CLI with
//! the generated shared credentials file, over plain HTTP and over TLS.
//!
//! These need the project venv (`conformance/setup_venv.sh`, installed by `scripts/test.sh`);
//! without it they say so loudly on stderr and pass.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{TestServer, venv_python};

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/botocore_client.py")
}

/// Runs a command on a blocking thread (the server runs on this runtime), returning status,
/// stdout and stderr.
async fn run(mut command: Command) -> (bool, String, String) {
    tokio::task::spawn_blocking(move || {
        let out = command.output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    })
    .await
    .unwrap()
}

/// A command with a clean AWS environment: only the server's credentials file.
fn aws_env(command: &mut Command, credentials: &Path) {
    for (key, _) in std::env::vars() {
        if key.starts_with("AWS_") {
            command.env_remove(key);
        }
    }
    command
        .env("AWS_SHARED_CREDENTIALS_FILE", credentials)
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true");
}

async fn botocore_checks(server: &TestServer, endpoint: &str, ca: Option<&Path>) {
    let python = venv_python().unwrap();
    let mut command = Command::new(python);
    command
        .arg(script())
        .arg(endpoint)
        .arg(&server.region)
        .arg(ca.map_or_else(|| "-".into(), |p| p.display().to_string()));
    aws_env(&mut command, &server.data_dir.join("credentials"));
    let (ok, stdout, stderr) = run(command).await;
    assert!(ok, "botocore checks failed:\n{stdout}\n{stderr}");
    let checks = stdout
        .lines()
        .filter(|l| l.contains("\"ok\": true"))
        .count();
    assert!(
        checks >= 15,
        "only {checks} checks ran:\n{stdout}\n{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn botocore_and_the_aws_cli() {
    if venv_python().is_none() {
        eprintln!(
            "SKIPPED: no Python venv with botocore at .venv (run conformance/setup_venv.sh); real-client tests did not run"
        );
        return;
    }
    let server = TestServer::start().await;
    let endpoint = format!("http://{}", server.addr);
    botocore_checks(&server, &endpoint, None).await;

    // The generated credentials file works with the aws CLI as printed in the banner.
    let aws = venv_python().unwrap().with_file_name("aws");
    let credentials = server.data_dir.join("credentials");
    let cli = |args: &[&str]| {
        let mut c = Command::new(&aws);
        c.args([
            "--profile",
            "sealtrail",
            "--region",
            "us-east-1",
            "--endpoint-url",
            &endpoint,
            "--output",
            "json",
        ]);
        c.args(args);
        aws_env(&mut c, &credentials);
        c
    };
    let (ok, stdout, stderr) = run(cli(&[
        "kms",
        "create-key",
        "--description",
        "from the aws CLI",
    ]))
    .await;
    assert!(ok, "{stdout}\n{stderr}");
    let key: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let key_id = key["KeyMetadata"]["KeyId"].as_str().unwrap().to_owned();
    let (ok, stdout, stderr) = run(cli(&["kms", "list-keys"])).await;
    assert!(ok && stdout.contains(&key_id), "{stdout}\n{stderr}");
    let (ok, stdout, stderr) = run(cli(&["kms", "describe-key", "--key-id", "alias/none"])).await;
    assert!(!ok && stdout.is_empty(), "{stdout}");
    assert!(
        stderr.contains(
            "An error occurred (NotFoundException) when calling the DescribeKey operation"
        ),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_botocore() {
    if venv_python().is_none() {
        eprintln!(
            "SKIPPED: no Python venv with botocore at .venv (run conformance/setup_venv.sh); TLS client test did not run"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    let mut openssl = Command::new("openssl");
    openssl.args([
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-days",
        "2",
    ]);
    openssl.args([
        "-subj",
        "/CN=localhost",
        "-addext",
        "subjectAltName=IP:127.0.0.1,DNS:localhost",
    ]);
    openssl.arg("-keyout").arg(&key).arg("-out").arg(&cert);
    let (ok, _, stderr) = match Command::new("openssl").arg("version").output() {
        Ok(_) => run(openssl).await,
        Err(_) => {
            eprintln!(
                "SKIPPED: no openssl to make a test certificate; TLS client test did not run"
            );
            return;
        }
    };
    assert!(ok, "{stderr}");
    let data = dir.path().join("data");
    let (c, k) = (cert.clone(), key.clone());
    let server = TestServer::start_in(dir, data, move |o| {
        o.tls_cert = Some(c);
        o.tls_key = Some(k);
    })
    .await;
    let endpoint = format!("https://{}", server.addr);
    botocore_checks(&server, &endpoint, Some(&cert)).await;
    // Plain HTTP on the TLS port gets no answer.
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream
        .write_all(b"GET /_sealtrail/health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    let _ = stream.read_to_end(&mut buf).await;
    assert!(!buf.starts_with(b"HTTP/1.1 200"));
}
