//! Real data published by others: a CloudTrail log file from the trailscraper sdist and the
//! digest-signing public keys AWS published in its documentation (testdata/real/README.md).

use std::path::{Path, PathBuf};

use base64::Engine;
use sealtrail_integrity::logfile::{LogHasher, summarize};
use sealtrail_integrity::sha256_hex;
use sealtrail_integrity::sign::{PublicKey, fingerprint};
use sealtrail_integrity::verify::{KeyEntry, KeyRing};
use sealtrail_model::{LogFileBody, UtcTime};

fn real(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/real")
        .join(name)
}

const LOG: &str = "111111111111_CloudTrail_eu-central-1_20171211T1505Z_A6kvhMoVeCsc7v8U.json";

#[test]
fn a_real_log_file_parses_and_hashes() {
    let gz = std::fs::read(real(&format!("{LOG}.gz"))).unwrap();
    let json = std::fs::read(real(LOG)).unwrap();
    // The hash a digest would hold is over the inflated bytes.
    let h = LogHasher::hash_all(&gz, u64::MAX).unwrap();
    assert!(h.completion.complete && !h.completion.trailing_data);
    assert_eq!(h.sha256_hex, sha256_hex(&json));
    // Its name is a CloudTrail log file name.
    let key = format!("AWSLogs/111111111111/CloudTrail/eu-central-1/2017/12/11/{LOG}.gz");
    let parsed = sealtrail_integrity::layout::LogFileKey::parse(&key).unwrap();
    assert_eq!(
        parsed.delivered,
        UtcTime::parse_iso("2017-12-11T15:05:00Z").unwrap()
    );
    assert_eq!(parsed.unique, "A6kvhMoVeCsc7v8U");
    // Typed records.
    let body: LogFileBody = serde_json::from_slice(&json).unwrap();
    assert!(!body.records.is_empty());
    let first = &body.records[0];
    assert_eq!(first.event_version, "1.05");
    assert_eq!(first.event_source, "autoscaling.amazonaws.com");
    assert_eq!(first.event_name, "DescribeLaunchConfigurations");
    assert_eq!(
        first.user_identity.identity_type.as_deref(),
        Some("AssumedRole")
    );
    assert!(first.user_identity.other.contains_key("sessionContext"));
    for r in &body.records {
        assert!(
            UtcTime::parse_iso(&r.event_time).is_ok(),
            "{}",
            r.event_time
        );
        assert_eq!(r.aws_region, "eu-central-1");
    }
    let s = summarize(&json).unwrap();
    assert_eq!(s.records, body.records.len());
    assert!(s.oldest_event_time <= s.newest_event_time);
}

#[test]
fn the_published_aws_keys_have_their_fingerprints() {
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(real("aws-public-keys.json")).unwrap()).unwrap();
    let keys = v["PublicKeyList"].as_array().unwrap();
    assert_eq!(keys.len(), 4);
    let mut ring = KeyRing::new();
    for k in keys {
        let der = base64::engine::general_purpose::STANDARD
            .decode(k["Value"].as_str().unwrap())
            .unwrap();
        let fp = k["Fingerprint"].as_str().unwrap();
        // MD5 over exactly the published DER bytes.
        assert_eq!(fingerprint(&der), fp);
        ring.insert(fp, &der);
        match PublicKey::from_pkcs1_der(&der) {
            Ok(key) => {
                assert_eq!(key.fingerprint(), fp);
                assert_eq!(key.der().len(), 270, "a 2048-bit PKCS#1 key");
            }
            Err(_) => {
                // The documentation's one SubjectPublicKeyInfo: the AWS CLI cannot load it as
                // PKCS#1 either; converted, it is an ordinary 2048-bit key.
                assert_eq!(fp, "31e8b5433410dfb61a9dc45cc65b22ff");
                let key = PublicKey::from_spki_der(&der).unwrap();
                assert_eq!(key.to_spki_der(), der);
            }
        }
    }
    assert!(matches!(
        ring.get("7f3f401420072e50a65a141430817ab3"),
        Some(KeyEntry::Loaded(_))
    ));
    assert!(matches!(
        ring.get("31e8b5433410dfb61a9dc45cc65b22ff"),
        Some(KeyEntry::Unloadable)
    ));
}
