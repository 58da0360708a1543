//! Test tooling for sealtrail, not shipped: a deterministic generator of CloudTrail buckets
//! (log files and signed digest chains, seeded records, fixed key and clock), an in-memory
//! bucket, tamper operations for the validator's tests and benchmarks, and [`serve`], a fast
//! S3 + CloudTrail fixture server over local copies.
//!
//! Everything it writes goes through the same `sealtrail-integrity` code the server uses.

pub mod bucket;
pub mod copy;
pub mod generate;
pub mod records;
pub mod serve;
mod serve_json;
mod serve_s3;

pub use bucket::{MemoryBucket, StoredObject};
pub use copy::CopySink;
pub use generate::{ChainSpec, Generated, ObjectSink, generate};

/// The demo signing key of `testdata/keys/` (a test key, not a secret), loaded once; `None`
/// only if the committed file were corrupt.
#[must_use]
pub fn demo_signer() -> Option<&'static sealtrail_integrity::sign::RsaSigner> {
    static SIGNER: std::sync::OnceLock<Option<sealtrail_integrity::sign::RsaSigner>> =
        std::sync::OnceLock::new();
    SIGNER
        .get_or_init(|| {
            sealtrail_integrity::sign::RsaSigner::from_pkcs8(include_bytes!(
                "../../../testdata/keys/demo-signing-key.pk8"
            ))
            .ok()
        })
        .as_ref()
}
