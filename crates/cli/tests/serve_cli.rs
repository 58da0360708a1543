//! `sealtrail serve` as a process: the embedded default in a fresh directory (banner, port
//! file, data directory), a request, SIGTERM → graceful shutdown with exit code 0 and the
//! port file removed; a bad configuration → exit code 2 with the file and line on stderr.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sealtrail"))
}

fn wait_for(path: &Path) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(text) = std::fs::read_to_string(path)
            && text.ends_with('\n')
        {
            return text;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("{} never appeared", path.display());
}

#[test]
fn embedded_default_then_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let port_file = dir.path().join("port");
    let child = bin()
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--log-format",
            "json",
            "--port-file",
        ])
        .arg(&port_file)
        .current_dir(dir.path())
        .env("SEALTRAIL_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let port: u16 = wait_for(&port_file).trim().parse().unwrap();
    let data = dir.path().join("sealtrail-data");
    for f in ["root.key", "credentials"] {
        assert!(data.join(f).exists(), "{f}");
    }
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .write_all(b"GET /_sealtrail/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");

    let killed = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(killed.success());
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.contains(&format!("listening on http://127.0.0.1:{port}")),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "AWS_SHARED_CREDENTIALS_FILE=./sealtrail-data/credentials aws --profile sealtrail --region us-east-1 --endpoint-url http://127.0.0.1:{port} kms create-key"
        )),
        "{stdout}"
    );
    // JSON log lines, the shutdown sequence, and no secret.
    let secret = std::fs::read_to_string(data.join("credentials")).unwrap();
    let secret = secret
        .lines()
        .find_map(|l| l.strip_prefix("aws_secret_access_key = "))
        .unwrap();
    assert!(!stderr.contains(secret));
    for line in stderr.lines() {
        serde_json::from_str::<serde_json::Value>(line).unwrap_or_else(|e| panic!("{e}: {line}"));
    }
    assert!(
        stderr.contains("SIGTERM") && stderr.contains("\"stopped\""),
        "{stderr}"
    );
    assert!(!port_file.exists(), "the port file outlived the server");
}

#[test]
fn bad_configuration_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("sealtrail.toml");
    std::fs::write(&config, "region = \"us-east-1\"\nlisten = \"nowhere\"\n").unwrap();
    let output = bin()
        .args(["serve", "--config"])
        .arg(&config)
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("`{}`, line 2: `listen`", config.display())),
        "{stderr}"
    );
    assert!(!dir.path().join("sealtrail-data").exists());
}
