//! Test tooling for sealtrail, not shipped: a deterministic generator of CloudTrail buckets
//! (log files and signed digest chains, seeded records, fixed key and clock), an in-memory
//! bucket, and tamper operations for the validator's tests and benchmarks.
//!
//! Everything it writes goes through the same `sealtrail-integrity` code the server uses.

pub mod bucket;
pub mod generate;
pub mod records;

pub use bucket::{MemoryBucket, StoredObject};
pub use generate::{ChainSpec, Generated, ObjectSink, generate};
