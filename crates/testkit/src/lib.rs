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
