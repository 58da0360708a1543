//! Digest parsing on arbitrary bytes: as a gzipped object, as inflated JSON, and as S3 keys.
//! Nothing may panic; a verdict is always returned.
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use sealtrail_integrity::digest::ParsedDigest;
use sealtrail_integrity::gzip::gzip;
use sealtrail_integrity::layout::{DigestKey, LogFileKey, cli_digest_key_date};
use sealtrail_integrity::verify::{KeyRing, Metadata, accept_unverifiable, open_digest, resolve_key};

fuzz_target!(|data: &[u8]| {
    let key = "AWSLogs/123456789012/CloudTrail-Digest/us-east-1/2026/01/10/123456789012_CloudTrail-Digest_us-east-1_mytrail_us-east-1_20260110T010500Z.json.gz";
    let meta = Metadata::Known(BTreeMap::from([
        ("signature".to_owned(), "00".repeat(256)),
        ("signature-algorithm".to_owned(), "SHA256withRSA".to_owned()),
    ]));
    // The raw bytes as an object body, and the bytes gzipped (so the JSON layer is reached).
    for body in [data.to_vec(), gzip(data)] {
        for backfill in [false, true] {
            if let Ok(opened) = open_digest("ct-bucket", key, &body, &meta, backfill) {
                let _ = resolve_key(&opened, &KeyRing::new(), "us-east-1");
                if let Ok(d) = accept_unverifiable(opened) {
                    let _ = d.previous();
                    let _ = d.log_files();
                }
            }
        }
    }
    if let Ok(p) = ParsedDigest::parse(data) {
        let _ = p.missing_required_field();
        let _ = p.log_files();
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = DigestKey::parse(text);
        let _ = LogFileKey::parse(text);
        let _ = cli_digest_key_date(text);
    }
});
