//! CloudTrail log file integrity: the formats, the bucket layout, the signatures and the
//! chain, shared by the sealtrail server (which writes digests with [`chain`]) and by
//! `sealtrail validate-logs` (which checks them with [`verify`] and [`walk`]), so both run
//! the same code.
//!
//! What it does:
//! - [`layout`]: S3 keys of log files and of standard, organization and backfill digests,
//!   built and parsed, with or without a prefix;
//! - [`digest`]: the digest JSON, written byte for byte in CloudTrail's field order, and read
//!   back as loosely as the AWS CLI reads it;
//! - [`sign`]: the string to sign, SHA256withRSA behind [`sign::Signer`]/[`sign::Verifier`] on
//!   aws-lc-rs, public keys as PKCS#1 and SPKI DER with their MD5 fingerprint;
//! - [`gzip`]: one gzip member written, one member read with the AWS CLI's tolerance;
//! - [`chain`]: the next digest of a chain, from a period and its log files;
//! - [`verify`]: verdicts, with evidence, on one digest, one log file and the link between
//!   two digests;
//! - [`walk`]: the digest traversal of `aws cloudtrail validate-logs`, step for step, over
//!   any [`walk::DigestSource`].
//!
//! What it does not do: I/O of any kind (no network, no files, no clock, no threads), or
//! rendering of messages for a terminal. Callers bring the bytes and the time.

pub mod chain;
pub mod digest;
pub mod gzip;
pub mod layout;
pub mod logfile;
pub mod sign;
pub mod verify;
pub mod walk;

/// Errors of the integrity layer that are not verdicts (a verdict on bad input is a value,
/// not an error: see [`verify`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IntegrityError {
    /// A key that is not part of the CloudTrail layout.
    #[error("`{0}` is not a CloudTrail key: {1}")]
    Layout(String, &'static str),
    /// Serialization failed.
    #[error("json error: {0}")]
    Json(String),
    /// A cryptographic primitive failed.
    #[error("{0}")]
    Crypto(&'static str),
    /// Bytes that are not an RSA public key in the expected form.
    #[error("{0}")]
    PublicKey(&'static str),
    /// A signature that does not verify.
    #[error("signature verification failed")]
    BadSignature,
    /// Input to the chain builder that would produce an invalid digest.
    #[error("invalid digest input: {0}")]
    ChainInput(String),
}

/// Lower-case hex SHA-256 of `data`.
#[must_use]
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data))
}
