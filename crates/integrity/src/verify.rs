//! Verdicts on one digest, one log file and the link between two digests, with evidence.
//!
//! The order of the checks, and which failure wins when several apply, follow
//! `aws cloudtrail validate-logs` exactly (awscli `customizations/cloudtrail/validation.py`),
//! so that sealtrail reports the same verdict for every file. Checks the AWS CLI does not make
//! are separate ([`StrictIssue`], [`LinkIssue`]) and only reported under `--strict`.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use sealtrail_model::UtcTime;
use serde_json::Value;

use crate::digest::{
    DigestParseError, HASH_ALGORITHM, LogFileRef, LogFilesError, ParsedDigest, SIGNATURE_ALGORITHM,
    py_str,
};
use crate::gzip::{GzipError, gunzip_first_member};
use crate::logfile::LogHash;
use crate::sha256_hex;
use crate::sign::{PublicKey, Verifier, string_to_sign};

/// The most a digest may inflate to (a digest of 100 000 log files is about 30 MB).
pub const DIGEST_INFLATE_LIMIT: u64 = 256 << 20;

/// Why a digest is not valid. `Display` gives the text after `INVALID: ` in the AWS CLI's
/// message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DigestVerdict {
    /// The object does not exist (S3 `NoSuchKey`).
    NotFound,
    /// Not gzip, not JSON, lacks a required field, or a backfill digest lacks its generation
    /// timestamp.
    InvalidFormat,
    /// The signature metadata is missing or the signature does not verify.
    SignatureFailed,
    /// `digestS3Bucket`/`digestS3Object` name another place than where the object was found.
    Moved,
    /// No public key with the digest's fingerprint was published.
    PublicKeyNotFound {
        /// The trail's home region (the AWS CLI names it, whatever region it asked).
        region: String,
        /// The digest's fingerprint.
        fingerprint: String,
    },
    /// The published key with that fingerprint is not a PKCS#1 RSA key.
    KeyLoadFailed {
        /// The digest's fingerprint.
        fingerprint: String,
    },
    /// Any other failure, with the text the AWS CLI prints for it.
    Other(String),
    /// `--strict`: `digestSignatureAlgorithm` (or the metadata) is not `SHA256withRSA`.
    UnsupportedSignatureAlgorithm(String),
}

impl fmt::Display for DigestVerdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotFound => f.write_str("not found"),
            Self::InvalidFormat => f.write_str("invalid format"),
            Self::SignatureFailed => f.write_str("signature verification failed"),
            Self::Moved => f.write_str("has been moved from its original location"),
            Self::PublicKeyNotFound {
                region,
                fingerprint,
            } => {
                write!(
                    f,
                    "public key not found in region {region} for fingerprint {fingerprint}"
                )
            }
            Self::KeyLoadFailed { fingerprint } => {
                write!(
                    f,
                    "Unable to load PKCS #1 key with fingerprint {fingerprint}"
                )
            }
            Self::Other(text) => f.write_str(text),
            Self::UnsupportedSignatureAlgorithm(a) => {
                write!(f, "unsupported signature algorithm {a} (strict)")
            }
        }
    }
}

impl DigestVerdict {
    /// A stable machine-readable name for `--output json`.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFound => "not_found",
            Self::InvalidFormat => "invalid_format",
            Self::SignatureFailed => "signature_verification_failed",
            Self::Moved => "moved",
            Self::PublicKeyNotFound { .. } => "public_key_not_found",
            Self::KeyLoadFailed { .. } => "public_key_unloadable",
            Self::Other(_) => "error",
            Self::UnsupportedSignatureAlgorithm(_) => "unsupported_signature_algorithm",
        }
    }
}

/// User metadata of a digest object, or the knowledge that it was not kept (a plain
/// `aws s3 sync` copy).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Metadata {
    /// The metadata as S3 returned it (names without `x-amz-meta-`, case as received).
    Known(BTreeMap<String, String>),
    /// The copy did not keep metadata.
    Unknown,
}

/// A digest that has been inflated, parsed and located, but whose signature is not yet
/// checked.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenedDigest {
    /// Where it was read from.
    pub bucket: String,
    /// Where it was read from.
    pub key: String,
    /// SHA-256 of the inflated bytes.
    pub sha256_hex: String,
    /// The decoded JSON.
    pub parsed: ParsedDigest,
    /// `x-amz-meta-signature`, when the metadata is known.
    pub metadata_signature: Option<String>,
    /// `x-amz-meta-signature-algorithm`, when the metadata is known.
    pub metadata_signature_algorithm: Option<String>,
    /// `x-amz-meta-backfill-generation-timestamp`, for backfill digests.
    pub backfill_generated: Option<String>,
    /// Bytes followed the gzip member (ignored by the AWS CLI; a strict finding).
    pub trailing_gzip_data: bool,
}

/// Reads a digest object as the AWS CLI's `fetch_digest` and the first checks of
/// `_load_and_validate_digest` do, in the same order.
///
/// # Errors
/// The first [`DigestVerdict`] that applies.
pub fn open_digest(
    bucket: &str,
    key: &str,
    gz: &[u8],
    metadata: &Metadata,
    backfill: bool,
) -> Result<OpenedDigest, DigestVerdict> {
    let (json, trailing) =
        gunzip_first_member(gz, DIGEST_INFLATE_LIMIT).map_err(|_| DigestVerdict::InvalidFormat)?;
    let parsed = ParsedDigest::parse(&json);
    if let Err(DigestParseError::InvalidFormat) = parsed {
        return Err(DigestVerdict::InvalidFormat);
    }
    let (metadata_signature, metadata_signature_algorithm, backfill_generated) = match metadata {
        Metadata::Known(m) => {
            let (Some(sig), Some(alg)) = (m.get("signature"), m.get("signature-algorithm")) else {
                return Err(DigestVerdict::SignatureFailed);
            };
            (
                Some(sig.clone()),
                Some(alg.clone()),
                m.get("backfill-generation-timestamp").cloned(),
            )
        }
        Metadata::Unknown => (None, None, None),
    };
    let parsed = match parsed {
        Ok(p) => p,
        Err(DigestParseError::NotAnObject(ty)) => {
            // Python: `digest_data['_signature'] = ...` on a non-dict.
            let text = if ty == "list" {
                "list indices must be integers or slices, not str".to_owned()
            } else {
                format!("'{ty}' object does not support item assignment")
            };
            return Err(DigestVerdict::Other(text));
        }
        Err(DigestParseError::InvalidFormat) => return Err(DigestVerdict::InvalidFormat),
    };
    if backfill && matches!(metadata, Metadata::Known(_)) && backfill_generated.is_none() {
        return Err(DigestVerdict::InvalidFormat);
    }
    if parsed.missing_required_field().is_some() {
        return Err(DigestVerdict::InvalidFormat);
    }
    let same_place = parsed.get("digestS3Bucket") == Some(&Value::String(bucket.to_owned()))
        && parsed.get("digestS3Object") == Some(&Value::String(key.to_owned()));
    if !same_place {
        return Err(DigestVerdict::Moved);
    }
    Ok(OpenedDigest {
        bucket: bucket.to_owned(),
        key: key.to_owned(),
        sha256_hex: sha256_hex(&json),
        parsed,
        metadata_signature,
        metadata_signature_algorithm,
        backfill_generated,
        trailing_gzip_data: trailing,
    })
}

/// A published public key, or the fact that its bytes do not load as PKCS#1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyEntry {
    /// A usable key.
    Loaded(PublicKey),
    /// Published under this fingerprint but not loadable.
    Unloadable,
}

/// Public keys by fingerprint, as the AWS CLI keeps them (a later key with the same
/// fingerprint replaces an earlier one).
#[derive(Debug, Clone, Default)]
pub struct KeyRing {
    keys: HashMap<String, KeyEntry>,
}

impl KeyRing {
    /// An empty ring.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a published key: its `Fingerprint` and the DER bytes of its `Value`.
    pub fn insert(&mut self, fingerprint: &str, der: &[u8]) {
        let entry = PublicKey::from_pkcs1_der(der).map_or(KeyEntry::Unloadable, KeyEntry::Loaded);
        self.keys.insert(fingerprint.to_owned(), entry);
    }

    /// Adds every key of `other`.
    pub fn extend(&mut self, other: KeyRing) {
        self.keys.extend(other.keys);
    }

    /// Whether there are no keys.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The number of keys.
    #[must_use]
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// The key with this fingerprint.
    #[must_use]
    pub fn get(&self, fingerprint: &str) -> Option<&KeyEntry> {
        self.keys.get(fingerprint)
    }

    /// Whether the ring has this fingerprint.
    #[must_use]
    pub fn contains(&self, fingerprint: &str) -> bool {
        self.keys.contains_key(fingerprint)
    }
}

/// A digest whose signature verified, or, reading an offline copy that kept no metadata, a
/// digest whose signature could not be found (`signature` is `None`).
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedDigest {
    /// The opened digest.
    pub opened: OpenedDigest,
    /// The signature that verified, as found; `None` when it was not available.
    pub signature: Option<String>,
    /// `digestStartTime`.
    pub start: UtcTime,
    /// `digestEndTime`.
    pub end: UtcTime,
}

impl VerifiedDigest {
    /// `previousDigestS3Bucket` and `previousDigestS3Object`, when neither is null or absent.
    #[must_use]
    pub fn previous(&self) -> Option<(String, String)> {
        let p = &self.opened.parsed;
        match (
            p.get("previousDigestS3Bucket"),
            p.get("previousDigestS3Object"),
        ) {
            (Some(Value::Null) | None, _) | (_, Some(Value::Null) | None) => None,
            (Some(b), Some(k)) => Some((py_str(b), py_str(k))),
        }
    }

    /// The log files the digest names.
    ///
    /// # Errors
    /// [`LogFilesError`] when `logFiles` is absent or malformed.
    pub fn log_files(&self) -> Result<Vec<LogFileRef>, LogFilesError> {
        self.opened.parsed.log_files()
    }
}

/// Finds the public key a digest names, as the AWS CLI does: by fingerprint, then loads it.
///
/// # Errors
/// [`DigestVerdict::PublicKeyNotFound`], [`DigestVerdict::KeyLoadFailed`], or the Python
/// error for a fingerprint that is a list or object.
pub fn resolve_key<'k>(
    opened: &OpenedDigest,
    keys: &'k KeyRing,
    home_region: &str,
) -> Result<&'k PublicKey, DigestVerdict> {
    let fp_value = opened
        .parsed
        .get("digestPublicKeyFingerprint")
        .cloned()
        .unwrap_or(Value::Null);
    if let Value::Array(_) | Value::Object(_) = fp_value {
        let ty = if fp_value.is_array() { "list" } else { "dict" };
        return Err(DigestVerdict::Other(format!("unhashable type: '{ty}'")));
    }
    let fingerprint = py_str(&fp_value);
    // Only a JSON string can equal a fingerprint in the ring.
    match fp_value.as_str().and_then(|fp| keys.get(fp)) {
        None => Err(DigestVerdict::PublicKeyNotFound {
            region: home_region.to_owned(),
            fingerprint,
        }),
        Some(KeyEntry::Unloadable) => Err(DigestVerdict::KeyLoadFailed { fingerprint }),
        Some(KeyEntry::Loaded(k)) => Ok(k),
    }
}

/// The fingerprint a digest names, when it is a string.
#[must_use]
pub fn digest_fingerprint(opened: &OpenedDigest) -> Option<&str> {
    opened.parsed.str_field("digestPublicKeyFingerprint")
}

/// Whether `signature_hex` is this digest's signature under `key`, checked as the AWS CLI's
/// `Sha256RSADigestValidator` does (string to sign, hex decode, RSA verification), then the
/// times are read as the CLI reads them.
///
/// # Errors
/// The first [`DigestVerdict`] that applies.
pub fn check_signature(
    opened: OpenedDigest,
    key: &PublicKey,
    signature_hex: &str,
) -> Result<VerifiedDigest, DigestVerdict> {
    let p = &opened.parsed;
    let previous_signature = match p.get("previousDigestSignature") {
        Some(Value::Null) | None => None,
        Some(v) => Some(py_str(v)),
    };
    let to_sign = string_to_sign(
        &p.py_str_field("digestEndTime").unwrap_or_default(),
        &p.py_str_field("digestS3Bucket").unwrap_or_default(),
        &p.py_str_field("digestS3Object").unwrap_or_default(),
        &opened.sha256_hex,
        previous_signature.as_deref(),
    );
    let sig = py_unhexlify(signature_hex).map_err(|e| DigestVerdict::Other(e.to_owned()))?;
    // python-rsa 4.7 (what awscli 1.x installs) reduces any signature modulo n, so every
    // malformed signature is just "signature verification failed".
    key.verify(to_sign.as_bytes(), &sig)
        .map_err(|_| DigestVerdict::SignatureFailed)?;
    let (start, end) = read_times(&opened)?;
    Ok(VerifiedDigest {
        signature: Some(signature_hex.to_owned()),
        start,
        end,
        opened,
    })
}

/// Accepts a digest whose signature is not available (offline copy without metadata): only
/// its times are read.
///
/// # Errors
/// [`DigestVerdict::Other`] when a time does not parse.
pub fn accept_unverifiable(opened: OpenedDigest) -> Result<VerifiedDigest, DigestVerdict> {
    let (start, end) = read_times(&opened)?;
    Ok(VerifiedDigest {
        signature: None,
        start,
        end,
        opened,
    })
}

/// `digestStartTime` and `digestEndTime`, read in the AWS CLI's order (end first).
fn read_times(opened: &OpenedDigest) -> Result<(UtcTime, UtcTime), DigestVerdict> {
    let end = read_time(opened.parsed.get("digestEndTime"))?;
    let start = read_time(opened.parsed.get("digestStartTime"))?;
    Ok((start, end))
}

/// `--strict` checks of one verified digest.
#[must_use]
pub fn strict_digest_issues(d: &VerifiedDigest) -> Option<DigestVerdict> {
    let field = d.opened.parsed.py_str_field("digestSignatureAlgorithm");
    match field.as_deref() {
        Some(SIGNATURE_ALGORITHM) => {}
        other => {
            return Some(DigestVerdict::UnsupportedSignatureAlgorithm(
                other.unwrap_or("None").to_owned(),
            ));
        }
    }
    match d.opened.metadata_signature_algorithm.as_deref() {
        Some(SIGNATURE_ALGORITHM) | None => None,
        Some(other) => Some(DigestVerdict::UnsupportedSignatureAlgorithm(
            other.to_owned(),
        )),
    }
}

fn read_time(v: Option<&Value>) -> Result<UtcTime, DigestVerdict> {
    match v {
        Some(Value::String(s)) => UtcTime::parse_user(s)
            .map_err(|_| DigestVerdict::Other(format!("Unable to parse date value: {s}"))),
        Some(other) => Err(DigestVerdict::Other(format!(
            "Parser must be a string or character stream, not {}",
            py_type(other)
        ))),
        None => Err(DigestVerdict::InvalidFormat),
    }
}

fn py_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

/// `binascii.unhexlify` on a `str`, with its error texts.
fn py_unhexlify(s: &str) -> Result<Vec<u8>, &'static str> {
    if !s.is_ascii() {
        return Err("string argument should contain only ASCII characters");
    }
    if s.len() % 2 == 1 {
        return Err("Odd-length string");
    }
    hex::decode(s).map_err(|_| "Non-hexadecimal digit found")
}

/// Why a log file is not valid. `Display` gives the text after `INVALID: `.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogVerdict {
    /// The hash matches.
    Valid,
    /// The hash of the inflated bytes differs from the digest's `hashValue`.
    HashMismatch {
        /// `hashValue` in the digest.
        expected: String,
        /// SHA-256 computed here.
        computed: String,
    },
    /// The object does not exist.
    NotFound,
    /// Not gzip, corrupt, or a digest entry without `hashValue`; carries the detail.
    InvalidFormat(String),
    /// Bytes after the end of the gzip member.
    TrailingData,
}

impl fmt::Display for LogVerdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Valid => f.write_str("valid"),
            Self::HashMismatch { .. } => f.write_str("hash value doesn't match"),
            Self::NotFound => f.write_str("not found"),
            Self::InvalidFormat(_) => f.write_str("invalid format"),
            Self::TrailingData => f.write_str("unexpected data after end of compressed stream"),
        }
    }
}

impl LogVerdict {
    /// A stable machine-readable name for `--output json`.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::Valid => "valid",
            Self::HashMismatch { .. } => "hash_mismatch",
            Self::NotFound => "not_found",
            Self::InvalidFormat(_) => "invalid_format",
            Self::TrailingData => "trailing_data",
        }
    }
}

/// Checks one log file against its digest entry, in the AWS CLI's order: inflate errors,
/// then trailing data, then the hash. `hashed` is `None` when the object does not exist.
#[must_use]
pub fn judge_log(entry: &LogFileRef, hashed: Option<Result<LogHash, GzipError>>) -> LogVerdict {
    let hash = match hashed {
        None => return LogVerdict::NotFound,
        Some(Err(e)) => return LogVerdict::InvalidFormat(e.to_string()),
        Some(Ok(h)) => h,
    };
    let Some(expected) = &entry.hash_value else {
        return LogVerdict::InvalidFormat("the digest entry has no hashValue".to_owned());
    };
    if hash.completion.trailing_data {
        return LogVerdict::TrailingData;
    }
    if &hash.sha256_hex == expected {
        LogVerdict::Valid
    } else {
        LogVerdict::HashMismatch {
            expected: expected.clone(),
            computed: hash.sha256_hex,
        }
    }
}

/// `--strict` findings on a log file the AWS CLI would call valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StrictIssue {
    /// The gzip stream stopped before its end (the AWS CLI hashes what was there).
    TruncatedGzip,
    /// `hashAlgorithm` is not `SHA-256`.
    UnsupportedHashAlgorithm(String),
}

impl fmt::Display for StrictIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TruncatedGzip => f.write_str("gzip stream is truncated (strict)"),
            Self::UnsupportedHashAlgorithm(a) => {
                write!(f, "unsupported hash algorithm {a} (strict)")
            }
        }
    }
}

/// The strict finding, if any, on a log file that passed [`judge_log`].
#[must_use]
pub fn strict_log_issue(entry: &LogFileRef, hash: &LogHash) -> Option<StrictIssue> {
    if !hash.completion.complete {
        return Some(StrictIssue::TruncatedGzip);
    }
    match entry.hash_algorithm.as_deref() {
        Some(HASH_ALGORITHM) => None,
        other => Some(StrictIssue::UnsupportedHashAlgorithm(
            other.unwrap_or("None").to_owned(),
        )),
    }
}

/// A broken link between a digest and the one it names as previous (`--strict`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkIssue {
    /// `previousDigestHashValue` is not the SHA-256 of the previous digest.
    HashMismatch {
        /// What the newer digest says.
        expected: String,
        /// SHA-256 of the older digest.
        actual: String,
    },
    /// `previousDigestHashAlgorithm` is not `SHA-256`.
    HashAlgorithm(String),
    /// `previousDigestSignature` is not the older digest's signature.
    SignatureMismatch,
    /// The newer digest does not start where the older one ends.
    WindowGap {
        /// The older digest's end.
        older_end: UtcTime,
        /// The newer digest's start.
        newer_start: UtcTime,
    },
}

impl fmt::Display for LinkIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::HashMismatch { .. } => {
                f.write_str("previousDigestHashValue does not match the previous digest (strict)")
            }
            Self::HashAlgorithm(a) => {
                write!(f, "unsupported previousDigestHashAlgorithm {a} (strict)")
            }
            Self::SignatureMismatch => f.write_str(
                "previousDigestSignature does not match the previous digest's signature (strict)",
            ),
            Self::WindowGap {
                older_end,
                newer_start,
            } => write!(
                f,
                "digestStartTime {newer_start} does not meet the previous digest's digestEndTime {older_end} (strict)"
            ),
        }
    }
}

impl LinkIssue {
    /// A stable machine-readable name for `--output json`.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::HashMismatch { .. } => "previous_hash_mismatch",
            Self::HashAlgorithm(_) => "previous_hash_algorithm",
            Self::SignatureMismatch => "previous_signature_mismatch",
            Self::WindowGap { .. } => "window_gap",
        }
    }
}

/// Checks that `newer` commits to `older`: hash, algorithm, signature and contiguous windows.
#[must_use]
pub fn check_link(newer: &VerifiedDigest, older: &VerifiedDigest) -> Vec<LinkIssue> {
    let p = &newer.opened.parsed;
    let mut issues = Vec::new();
    match p.py_str_field("previousDigestHashValue") {
        Some(h) if h == older.opened.sha256_hex => {}
        other => issues.push(LinkIssue::HashMismatch {
            expected: other.unwrap_or_else(|| "None".to_owned()),
            actual: older.opened.sha256_hex.clone(),
        }),
    }
    match p.py_str_field("previousDigestHashAlgorithm").as_deref() {
        Some(HASH_ALGORITHM) => {}
        other => issues.push(LinkIssue::HashAlgorithm(other.unwrap_or("None").to_owned())),
    }
    let prev_sig = p
        .py_str_field("previousDigestSignature")
        .map(|s| s.to_ascii_lowercase());
    if let Some(older_sig) = &older.signature
        && prev_sig != Some(older_sig.to_ascii_lowercase())
    {
        issues.push(LinkIssue::SignatureMismatch);
    }
    if newer.start != older.end {
        issues.push(LinkIssue::WindowGap {
            older_end: older.end,
            newer_start: newer.start,
        });
    }
    issues
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unhexlify_errors_match_python() {
        assert_eq!(py_unhexlify("abc"), Err("Odd-length string"));
        assert_eq!(py_unhexlify("zz"), Err("Non-hexadecimal digit found"));
        assert_eq!(py_unhexlify("AbCd"), Ok(vec![0xab, 0xcd]));
        assert_eq!(
            py_unhexlify("é"),
            Err("string argument should contain only ASCII characters")
        );
    }

    #[test]
    fn verdict_texts_match_the_aws_cli() {
        assert_eq!(DigestVerdict::NotFound.to_string(), "not found");
        assert_eq!(
            DigestVerdict::PublicKeyNotFound {
                region: "us-east-1".into(),
                fingerprint: "ab".into()
            }
            .to_string(),
            "public key not found in region us-east-1 for fingerprint ab"
        );
        assert_eq!(
            DigestVerdict::KeyLoadFailed {
                fingerprint: "ab".into()
            }
            .to_string(),
            "Unable to load PKCS #1 key with fingerprint ab"
        );
        assert_eq!(
            LogVerdict::HashMismatch {
                expected: String::new(),
                computed: String::new()
            }
            .to_string(),
            "hash value doesn't match"
        );
        assert_eq!(
            LogVerdict::TrailingData.to_string(),
            "unexpected data after end of compressed stream"
        );
    }
}
