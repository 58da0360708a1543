//! `sealtrail sync` killed at random moments (SIGKILL) and run again gives a copy on which
//! `validate-logs --local` says exactly what it says on a copy made in one go: nothing
//! half-written is ever taken for an object or its metadata.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use sealtrail_testkit::serve::{CopyArg, ServeConfig, serve};
use sealtrail_testkit::{ChainSpec, CopySink, generate};

mod common;
use common::aws_env;

const ARN: &str = "arn:aws:cloudtrail:us-east-1:123456789012:trail/mytrail";

fn sync_cmd(port: u16, dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_sealtrail"));
    c.args([
        "sync",
        "s3://ct-bucket",
        dir.to_str().unwrap(),
        "--jobs",
        "4",
    ]);
    aws_env(&mut c, port)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    c
}

fn validate(dir: &Path, keys: &Path) -> (String, String, i32) {
    let o = Command::new(env!("CARGO_BIN_EXE_sealtrail"))
        .args([
            "validate-logs",
            "--trail-arn",
            ARN,
            "--start-time",
            "2026-01-10T00:00:00Z",
            "--end-time",
            "2026-01-10T08:00:00Z",
            "--local",
            dir.to_str().unwrap(),
            "--public-keys",
            keys.to_str().unwrap(),
            "--verbose",
        ])
        .output()
        .unwrap();
    (
        String::from_utf8(o.stdout).unwrap(),
        String::from_utf8(o.stderr).unwrap(),
        o.status.code().unwrap_or(-1),
    )
}

#[test]
fn a_killed_sync_resumes_to_the_same_verdicts() {
    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("source");
    let spec = ChainSpec::demo(8, 6);
    let mut sink = CopySink::sync(&source, "ct-bucket", std::time::UNIX_EPOCH).unwrap();
    generate(&spec, sealtrail_testkit::demo_signer().unwrap(), &mut sink).unwrap();
    let keys = sink.finish().unwrap();
    let keys_path = work.path().join("keys.json");
    {
        use base64::Engine;
        let list: Vec<serde_json::Value> = keys
            .iter()
            .map(|(fp, der)| serde_json::json!({"Fingerprint": fp, "Value": base64::engine::general_purpose::STANDARD.encode(der)}))
            .collect();
        std::fs::write(
            &keys_path,
            serde_json::json!({"PublicKeyList": list}).to_string(),
        )
        .unwrap();
    }

    // An S3 server slow enough (20 ms a response) that a kill lands mid-sync.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let config = ServeConfig {
        copies: vec![CopyArg::parse(source.to_str().unwrap())],
        public_keys: None,
        trails: None,
        organization_id: None,
        region: "us-east-1".into(),
        deny: vec![],
        latency: Duration::from_millis(20),
    };
    let server = rt.spawn(serve(listener, config, async move {
        let _ = stop_rx.await;
    }));

    // The reference: one uninterrupted sync.
    let whole = work.path().join("whole");
    assert!(sync_cmd(port, &whole).status().unwrap().success());
    let expected = validate(&whole, &keys_path);
    assert_eq!(expected.2, 0, "{}", expected.1);

    // Killed three times at different moments, then finished.
    let resumed = work.path().join("resumed");
    for (i, delay) in [60, 150, 300].into_iter().enumerate() {
        let mut child = sync_cmd(port, &resumed).spawn().unwrap();
        std::thread::sleep(Duration::from_millis(delay));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        if i == 0 {
            // The first kill did land mid-sync: the copy is not complete yet.
            assert_ne!(validate(&resumed, &keys_path), expected);
        }
    }
    assert!(sync_cmd(port, &resumed).status().unwrap().success());
    assert_eq!(validate(&resumed, &keys_path), expected);

    // No temporary file is left where an object could be.
    let mut stray = vec![];
    let mut stack = vec![resumed.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else if e.file_name().to_string_lossy().contains(".sealtrail-tmp-") {
                stray.push(e.path());
            }
        }
    }
    // The finishing run removed what the killed ones left.
    assert!(stray.is_empty(), "{stray:?}");
    // And a second writer on the same copy is refused while one runs.

    let _ = stop_tx.send(());
    rt.block_on(server).unwrap().unwrap();
}
