//! Every error code the KMS API can emit is an error shape of AWS's KMS model, as botocore
//! ships it (both botocore's copy, `service-2.json.gz`, and the copy awscli vendors), except
//! the codes AWS returns without modelling them:
//!
//! - `AccessDeniedException`: KMS returns it for every authorization failure, but the model
//!   has no shape for it (spec §4.1; botocore raises a generic `ClientError` with that code).
//! - `ValidationException`: the front end's constraint errors (spec §4.1), unmodelled likewise.
//! - `SerializationException`: the AWS JSON protocol's error for a body whose members have the
//!   wrong JSON type or a blob that is not base64; it belongs to the protocol, not to a
//!   service model, and botocore reads it like any other code.
//! - `UnknownOperationException`: the AWS JSON protocol's answer to an `X-Amz-Target`
//!   operation the service does not have; protocol-level too.
//!
//! The model is read from `$SEALTRAIL_VENV` (set by `scripts/test.sh`) or `<repo>/.venv`.

use std::collections::BTreeSet;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use sealtrail_server::api::JsonApi as _;
use sealtrail_server::kms_api::{ERROR_CODES, KmsApi};

const UNMODELLED: &[&str] = &[
    "AccessDeniedException",
    "ValidationException",
    "SerializationException",
    "UnknownOperationException",
];

fn venv() -> PathBuf {
    std::env::var_os("SEALTRAIL_VENV").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv"),
        PathBuf::from,
    )
}

fn models() -> Vec<PathBuf> {
    let lib = venv().join("lib");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&lib).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run conformance/setup_venv.sh, or set SEALTRAIL_VENV)",
            lib.display()
        )
    }) {
        let site = entry.unwrap().path().join("site-packages");
        for base in ["botocore", "awscli/botocore"] {
            let dir = site.join(base).join("data/kms/2014-11-01");
            for name in ["service-2.json", "service-2.json.gz"] {
                let p = dir.join(name);
                if p.exists() {
                    out.push(p);
                }
            }
        }
    }
    out
}

fn error_shapes(path: &Path) -> BTreeSet<String> {
    let raw = std::fs::read(path).unwrap();
    let text = if path.extension().is_some_and(|e| e == "gz") {
        let mut s = String::new();
        flate2::read::GzDecoder::new(&raw[..])
            .read_to_string(&mut s)
            .unwrap();
        s
    } else {
        String::from_utf8(raw).unwrap()
    };
    let model: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        model["metadata"]["targetPrefix"],
        "TrentService",
        "{}",
        path.display()
    );
    model["shapes"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, s)| s["exception"] == true)
        .map(|(name, _)| name.clone())
        .collect()
}

#[test]
fn every_kms_error_code_is_in_the_botocore_model() {
    let paths = models();
    assert!(
        paths
            .iter()
            .any(|p| p.to_string_lossy().contains("/botocore/data/"))
            && paths
                .iter()
                .any(|p| p.to_string_lossy().contains("awscli/botocore")),
        "expected botocore's and awscli's KMS models under {}, found {paths:?}",
        venv().display()
    );
    let api_codes = {
        // The API's list and the constant are the same table.
        let kms = std::sync::Arc::new(test_kms());
        KmsApi::new(kms).error_codes()
    };
    assert_eq!(api_codes, ERROR_CODES);
    for path in &paths {
        let shapes = error_shapes(path);
        assert!(
            shapes.len() > 20,
            "{}: too few error shapes",
            path.display()
        );
        for code in api_codes {
            assert!(
                shapes.contains(*code) || UNMODELLED.contains(code),
                "{code} is not an error shape of {} and not a documented unmodelled code",
                path.display()
            );
        }
    }
    // The fault code is modelled (and marked as a fault).
    assert!(api_codes.contains(&"KMSInternalException"));
}

fn test_kms() -> sealtrail_kms::Kms {
    sealtrail_kms::Kms::open(
        sealtrail_model::Region::parse("us-east-1").unwrap(),
        std::sync::Arc::new(sealtrail_kms::MemoryKeyStore::new()),
        std::sync::Arc::new(sealtrail_kms::RootKeyWrapper::new(&[1; 32]).unwrap()),
        Box::new(sealtrail_model::SeededRng::new(1)),
    )
    .unwrap()
}
