//! Storage for sealtrail.
//!
//! Today: [`localcopy`], the on-disk copy of a bucket that `sealtrail sync` writes and
//! `sealtrail validate-logs --local` reads: every object as a file, and beside it the S3
//! metadata that a plain `aws s3 sync` would drop (a digest's signature lives only there).
//! Writes are crash-safe: temporary file, `fsync`, atomic rename, metadata before data.
//!
//! It does not talk to S3 (the callers do), and it has no opinion on what the objects mean.

pub mod kms_sqlite;
pub mod localcopy;

pub use localcopy::{CopyError, CopySource, LocalCopy, LocalCopyWriter, ObjectInfo};
