//! `sealtrail validate-logs` end to end, offline: the binary on local copies and archives of
//! generated buckets, good and tampered, with the AWS CLI's exact output.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use sealtrail_integrity::gzip::gzip;
use sealtrail_integrity::sign::RsaSigner;
use sealtrail_testkit::{ChainSpec, CopySink, generate};

const ARN: &str = "arn:aws:cloudtrail:us-east-1:123456789012:trail/mytrail";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn signer() -> &'static RsaSigner {
    sealtrail_testkit::demo_signer().unwrap()
}

struct Run {
    out: String,
    err: String,
    code: i32,
}

fn sealtrail(args: &[&str]) -> Run {
    let o = Command::new(env!("CARGO_BIN_EXE_sealtrail"))
        .args(args)
        .env("AWS_ACCESS_KEY_ID", "none")
        .env("AWS_SECRET_ACCESS_KEY", "none")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap();
    Run {
        out: String::from_utf8(o.stdout).unwrap(),
        err: String::from_utf8(o.stderr).unwrap(),
        code: o.status.code().unwrap_or(-1),
    }
}

fn validate_local(dir: &Path, keys: &Path, window: (&str, &str), extra: &[&str]) -> Run {
    let mut args = vec![
        "validate-logs",
        "--trail-arn",
        ARN,
        "--start-time",
        window.0,
        "--end-time",
        window.1,
        "--local",
        dir.to_str().unwrap(),
        "--public-keys",
        keys.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    sealtrail(&args)
}

/// Generates `spec` into `dir/bucket` (sync copy, or plain) and `dir/keys.json`.
fn make(
    dir: &Path,
    spec: &ChainSpec,
    plain: bool,
) -> (PathBuf, PathBuf, sealtrail_testkit::Generated) {
    let bucket = dir.join("bucket");
    let mtime = std::time::UNIX_EPOCH;
    let mut sink = if plain {
        CopySink::plain(&bucket, mtime)
    } else {
        CopySink::sync(&bucket, &spec.bucket, mtime).unwrap()
    };
    let g = generate(spec, signer(), &mut sink).unwrap();
    let keys = sink.finish().unwrap();
    let list: Vec<serde_json::Value> = keys
        .iter()
        .map(|(fp, der)| {
            use base64::Engine;
            serde_json::json!({"Fingerprint": fp, "Value": base64::engine::general_purpose::STANDARD.encode(der),
                               "ValidityStartTime": 1767225600.0, "ValidityEndTime": 1769904000.0})
        })
        .collect();
    let keys_path = dir.join("keys.json");
    std::fs::write(
        &keys_path,
        serde_json::json!({"PublicKeyList": list}).to_string(),
    )
    .unwrap();
    (bucket, keys_path, g)
}

const WINDOW: (&str, &str) = ("2026-01-10T00:00:00Z", "2026-01-10T06:00:00Z");

#[test]
fn demo_chain_validates_offline_with_the_cli_text() {
    let r = validate_local(
        &repo().join("testdata/demo/bucket"),
        &repo().join("testdata/demo/public-keys.json"),
        ("2026-01-10T00:00:00Z", "2026-01-12T00:00:00Z"),
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.err);
    assert_eq!(
        r.out,
        format!(
            "Validating log files for trail {ARN} between 2026-01-10T00:00:00Z and 2026-01-12T00:00:00Z\n\n\
             Results requested for 2026-01-10T00:00:00Z to 2026-01-12T00:00:00Z\n\
             Results found for 2026-01-10T00:05:00Z to 2026-01-12T00:00:00Z:\n\n\
             46/46 digest files valid\n1/1 backfill digest files valid\n139/139 log files valid\n"
        )
    );
    assert_eq!(
        r.err,
        "No log files were delivered by CloudTrail between 2026-01-11T06:05:00Z and 2026-01-11T08:05:00Z\n\n"
    );
}

#[test]
fn tampering_is_reported_in_the_cli_words() {
    let dir = tempfile::tempdir().unwrap();
    let spec = ChainSpec::demo(6, 2);
    let (bucket, keys, g) = make(dir.path(), &spec, false);
    // Modify one log, delete another, append data after a third's gzip stream.
    let modified = bucket.join(&g.logs[0]);
    std::fs::write(&modified, gzip(b"{\"Records\":[]}")).unwrap();
    std::fs::remove_file(bucket.join(&g.logs[2])).unwrap();
    let mut trailing = std::fs::read(bucket.join(&g.logs[4])).unwrap();
    trailing.extend_from_slice(b"\x1f\x8bmore");
    std::fs::write(bucket.join(&g.logs[4]), trailing).unwrap();
    // Delete a middle digest.
    std::fs::remove_file(bucket.join(&g.digests[3])).unwrap();
    let r = validate_local(&bucket, &keys, WINDOW, &[]);
    assert_eq!(r.code, 1);
    let b = &spec.bucket;
    for line in [
        format!(
            "Log file\ts3://{b}/{}\tINVALID: hash value doesn't match",
            g.logs[0]
        ),
        format!("Log file\ts3://{b}/{}\tINVALID: not found", g.logs[2]),
        format!(
            "Log file\ts3://{b}/{}\tINVALID: unexpected data after end of compressed stream",
            g.logs[4]
        ),
        format!("Digest file\ts3://{b}/{}\tINVALID: not found", g.digests[3]),
    ] {
        assert!(
            r.err.contains(&format!("{line}\n\n")),
            "missing {line:?} in\n{}",
            r.err
        );
    }
    assert!(r.out.ends_with("\n5/6 digest files valid, 1/6 digest files INVALID\n7/10 log files valid, 3/10 log files INVALID\n"), "{}", r.out);
}

#[test]
fn a_plain_copy_is_verified_through_successor_signatures() {
    let dir = tempfile::tempdir().unwrap();
    let spec = ChainSpec::demo(5, 1);
    let (bucket, keys, g) = make(dir.path(), &spec, true);
    let r = validate_local(&bucket, &keys, WINDOW, &["--s3-bucket", "ct-bucket"]);
    assert_eq!(r.code, 0, "{}", r.err);
    let newest = g.digests.last().unwrap();
    assert!(
        r.err.contains(&format!(
            "Digest file\ts3://ct-bucket/{newest}\tUNVERIFIED: signature unavailable offline"
        )),
        "{}",
        r.err
    );
    assert!(
        r.out.contains(
            "\n4/4 digest files valid\n5/5 log files valid\n1 digest file unverifiable offline\n"
        ),
        "{}",
        r.out
    );

    // With the newest signature given, everything verifies.
    let sync_dir = tempfile::tempdir().unwrap();
    let (sync_bucket, _, _) = make(sync_dir.path(), &spec, false);
    let side: serde_json::Value = serde_json::from_slice(
        &std::fs::read(
            sync_bucket
                .join(".sealtrail-sync/meta")
                .join(format!("{newest}.json")),
        )
        .unwrap(),
    )
    .unwrap();
    let sig = side["metadata"]["signature"].as_str().unwrap();
    let r = validate_local(
        &bucket,
        &keys,
        WINDOW,
        &["--s3-bucket", "ct-bucket", "--newest-signature", sig],
    );
    assert_eq!(r.code, 0);
    assert!(
        r.out
            .contains("\n5/5 digest files valid\n5/5 log files valid\n"),
        "{}",
        r.out
    );
    // A wrong one is a wrong signature.
    let bad = "00".repeat(256);
    let r = validate_local(
        &bucket,
        &keys,
        WINDOW,
        &["--s3-bucket", "ct-bucket", "--newest-signature", &bad],
    );
    assert_eq!(r.code, 1);
    assert!(r.err.contains("INVALID: signature verification failed"));
}

#[test]
fn an_archive_gives_the_same_output_as_the_directory() {
    let dir = tempfile::tempdir().unwrap();
    let spec = ChainSpec::demo(4, 2);
    let (bucket, keys, g) = make(dir.path(), &spec, false);
    std::fs::write(bucket.join(&g.logs[1]), gzip(b"{}")).unwrap();
    let archive = dir.path().join("bucket.tar.gz");
    {
        let f = std::fs::File::create(&archive).unwrap();
        let enc = flate2::write::GzEncoder::new(f, flate2::Compression::fast());
        let mut t = tar::Builder::new(enc);
        t.append_dir_all("bucket", &bucket).unwrap();
        t.into_inner().unwrap().finish().unwrap();
    }
    let local = validate_local(&bucket, &keys, WINDOW, &["--verbose"]);
    let arch = sealtrail(&[
        "validate-logs",
        "--trail-arn",
        ARN,
        "--start-time",
        WINDOW.0,
        "--end-time",
        WINDOW.1,
        "--archive",
        archive.to_str().unwrap(),
        "--public-keys",
        keys.to_str().unwrap(),
        "--verbose",
    ]);
    assert_eq!(local.code, 1);
    assert_eq!(
        (arch.out, arch.err, arch.code),
        (local.out, local.err, local.code)
    );
}

#[test]
fn strict_finds_what_the_aws_cli_cannot() {
    let dir = tempfile::tempdir().unwrap();
    let spec = ChainSpec::demo(6, 2);
    let (bucket, keys, g) = make(dir.path(), &spec, false);
    // An injected log file that no digest names.
    let (head, _) = g.logs[3].rsplit_once('_').unwrap();
    let injected = format!("{head}_InjectedInjected.json.gz");
    std::fs::copy(bucket.join(&g.logs[3]), bucket.join(&injected)).unwrap();
    // The newest digest deleted: invisible to the AWS CLI.
    std::fs::remove_file(bucket.join(g.digests.last().unwrap())).unwrap();
    let plain = validate_local(&bucket, &keys, WINDOW, &[]);
    assert_eq!(plain.code, 0, "{}", plain.err);
    let strict = validate_local(
        &bucket,
        &keys,
        WINDOW,
        &["--strict", "--expect-until", "2026-01-10T06:05:00Z"],
    );
    assert_eq!(strict.code, 1);
    assert!(
        strict.err.contains(&format!(
            "Log file\ts3://ct-bucket/{injected}\tINVALID: not referenced by any digest (strict)"
        )),
        "{}",
        strict.err
    );
    assert!(strict.err.contains("Digest chain\tINVALID: the newest valid digest ends at 2026-01-10T05:05:00Z, before the expected 2026-01-10T06:05:00Z (strict)"), "{}", strict.err);
    assert!(
        strict.out.contains("\nStrict checks FAILED: 2\n"),
        "{}",
        strict.out
    );
    // A trusted digest that is no longer there.
    let trusted = validate_local(
        &bucket,
        &keys,
        WINDOW,
        &["--trusted-digest", g.digests.last().unwrap()],
    );
    assert_eq!(trusted.code, 1);
    assert!(trusted.err.contains("was not found valid in the chain"));
}

#[test]
fn json_output_is_versioned_lines() {
    let dir = tempfile::tempdir().unwrap();
    let spec = ChainSpec::demo(3, 1);
    let (bucket, keys, _) = make(dir.path(), &spec, false);
    let r = validate_local(&bucket, &keys, WINDOW, &["--output", "json"]);
    assert_eq!(r.code, 0);
    let lines: Vec<serde_json::Value> = r
        .out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(lines.iter().all(|l| l["v"] == 1));
    assert_eq!(lines.first().unwrap()["type"], "begin");
    let summary = lines.last().unwrap();
    assert_eq!(summary["type"], "summary");
    assert_eq!(summary["digests"]["valid"], 3);
    assert_eq!(summary["logs"]["valid"], 3);
    assert_eq!(summary["exit_code"], 0);
    assert_eq!(lines.iter().filter(|l| l["type"] == "log").count(), 3);
}

#[test]
fn bad_input_gets_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let spec = ChainSpec::demo(2, 1);
    let (bucket, keys, g) = make(dir.path(), &spec, false);
    // Public keys file that is not the expected JSON.
    let bad_keys = dir.path().join("bad.json");
    std::fs::write(&bad_keys, "{\"nope\": 1}").unwrap();
    let r = validate_local(&bucket, &bad_keys, WINDOW, &[]);
    assert_eq!(r.code, 255);
    assert!(r.err.contains("no `PublicKeyList` array"), "{}", r.err);
    // A missing directory.
    let r = validate_local(&dir.path().join("missing"), &keys, WINDOW, &[]);
    assert_eq!(r.code, 255);
    assert!(r.err.contains("missing"), "{}", r.err);
    // The AWS CLI's own argument errors.
    let r = sealtrail(&[
        "validate-logs",
        "--trail-arn",
        "foo",
        "--start-time",
        "2026-01-01",
    ]);
    assert_eq!(
        (r.code, r.err.as_str()),
        (255, "\nInvalid trail ARN provided: foo\n")
    );
    let r = sealtrail(&[
        "validate-logs",
        "--trail-arn",
        ARN,
        "--start-time",
        "2026-01-02",
        "--end-time",
        "2026-01-01",
    ]);
    assert_eq!(
        (r.code, r.err.as_str()),
        (
            255,
            "\nInvalid time range specified: start-time must occur before end-time\n"
        )
    );
    let r = sealtrail(&[
        "validate-logs",
        "--trail-arn",
        ARN,
        "--start-time",
        "garbage",
    ]);
    assert_eq!(
        (r.code, r.err.as_str()),
        (255, "\nUnable to parse date value: garbage\n")
    );
    // Garbage where a digest should be: invalid format, not a crash.
    std::fs::write(bucket.join(&g.digests[1]), b"\x1f\x8b\x08\x00garbage").unwrap();
    let r = validate_local(&bucket, &keys, WINDOW, &[]);
    assert_eq!(r.code, 1);
    assert!(r.err.contains("INVALID: invalid format"));
}

#[test]
fn a_gzip_bomb_is_hashed_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let spec = ChainSpec::demo(2, 1);
    let (bucket, keys, g) = make(dir.path(), &spec, false);
    // 256 MiB of zeros in about 256 KiB.
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..256 {
        std::io::Write::write_all(&mut enc, &zeros).unwrap();
    }
    std::fs::write(bucket.join(&g.logs[0]), enc.finish().unwrap()).unwrap();
    let r = validate_local(&bucket, &keys, WINDOW, &[]);
    assert_eq!(r.code, 1);
    assert!(
        r.err.contains("INVALID: hash value doesn't match"),
        "{}",
        r.err
    );
}
