//! The digest file: its JSON, written byte for byte in CloudTrail's field order, and read
//! back the way `aws cloudtrail validate-logs` reads it.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::IntegrityError;

/// `digestSignatureAlgorithm` of every CloudTrail digest.
pub const SIGNATURE_ALGORITHM: &str = "SHA256withRSA";
/// `hashAlgorithm` and `previousDigestHashAlgorithm` of every CloudTrail digest.
pub const HASH_ALGORITHM: &str = "SHA-256";

/// One entry of `logFiles`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogFileEntry {
    /// Bucket the log file was delivered to.
    pub s3_bucket: String,
    /// Key of the log file.
    pub s3_object: String,
    /// Lower-case hex SHA-256 of the *uncompressed* log file.
    pub hash_value: String,
    /// Always `SHA-256`.
    pub hash_algorithm: String,
    /// `eventTime` of the newest record in the file.
    pub newest_event_time: String,
    /// `eventTime` of the oldest record in the file.
    pub oldest_event_time: String,
}

/// A digest file, fields in the order CloudTrail writes them.
///
/// The five `previous*` fields are JSON `null` in the first digest of a chain; the keys are
/// always present (the AWS CLI requires `previousDigestSignature` to exist).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DigestFile {
    /// Account the digest was delivered for.
    pub aws_account_id: String,
    /// Start of the delivery-time window covered, `YYYY-MM-DDTHH:MM:SSZ`.
    pub digest_start_time: String,
    /// End of the window; consecutive digests meet.
    pub digest_end_time: String,
    /// Bucket this digest is delivered to.
    #[serde(rename = "digestS3Bucket")]
    pub digest_s3_bucket: String,
    /// Full key of this digest.
    #[serde(rename = "digestS3Object")]
    pub digest_s3_object: String,
    /// MD5 fingerprint of the signing public key (PKCS#1 DER), lower-case hex.
    pub digest_public_key_fingerprint: String,
    /// Always `SHA256withRSA`.
    pub digest_signature_algorithm: String,
    /// Newest event time over all log files, or null when there are none.
    pub newest_event_time: Option<String>,
    /// Oldest event time over all log files, or null when there are none.
    pub oldest_event_time: Option<String>,
    /// Bucket of the previous digest.
    #[serde(rename = "previousDigestS3Bucket")]
    pub previous_digest_s3_bucket: Option<String>,
    /// Key of the previous digest.
    #[serde(rename = "previousDigestS3Object")]
    pub previous_digest_s3_object: Option<String>,
    /// SHA-256 of the previous digest's uncompressed bytes.
    pub previous_digest_hash_value: Option<String>,
    /// `SHA-256` or null.
    pub previous_digest_hash_algorithm: Option<String>,
    /// The previous digest's signature (hex), the one in its `x-amz-meta-signature`.
    pub previous_digest_signature: Option<String>,
    /// The log files delivered in the window.
    pub log_files: Vec<LogFileEntry>,
}

impl DigestFile {
    /// The exact uncompressed bytes CloudTrail would write: compact JSON, this field order.
    ///
    /// # Errors
    /// Never in practice (all fields are strings); serialization errors are reported as
    /// [`IntegrityError::Json`].
    pub fn to_json_bytes(&self) -> Result<Vec<u8>, IntegrityError> {
        serde_json::to_vec(self).map_err(|e| IntegrityError::Json(e.to_string()))
    }
}

/// A digest as read for validation: the decoded JSON object, kept loose so that every quirk
/// of the AWS CLI's reading (missing keys, nulls, odd types) can be reproduced.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedDigest {
    fields: Map<String, Value>,
}

/// Why the uncompressed bytes of a digest could not be read as a digest object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DigestParseError {
    /// Not UTF-8 or not JSON: the AWS CLI says `invalid format`.
    InvalidFormat,
    /// Valid JSON but not an object; carries the Python type name the AWS CLI's error names
    /// (`list`, `str`, `int`, `float`, `bool`, `NoneType`).
    NotAnObject(&'static str),
}

/// The fields a digest must have before its contents are checked (as in the AWS CLI).
pub const REQUIRED_FIELDS: [&str; 6] = [
    "digestPublicKeyFingerprint",
    "digestS3Bucket",
    "digestS3Object",
    "previousDigestSignature",
    "digestEndTime",
    "digestStartTime",
];

impl ParsedDigest {
    /// Parses uncompressed digest bytes.
    ///
    /// # Errors
    /// [`DigestParseError`] as described on its variants.
    pub fn parse(bytes: &[u8]) -> Result<Self, DigestParseError> {
        let text = std::str::from_utf8(bytes).map_err(|_| DigestParseError::InvalidFormat)?;
        let value: Value =
            serde_json::from_str(text).map_err(|_| DigestParseError::InvalidFormat)?;
        match value {
            Value::Object(fields) => Ok(Self { fields }),
            Value::Array(_) => Err(DigestParseError::NotAnObject("list")),
            Value::String(_) => Err(DigestParseError::NotAnObject("str")),
            Value::Number(n) if n.is_f64() => Err(DigestParseError::NotAnObject("float")),
            Value::Number(_) => Err(DigestParseError::NotAnObject("int")),
            Value::Bool(_) => Err(DigestParseError::NotAnObject("bool")),
            Value::Null => Err(DigestParseError::NotAnObject("NoneType")),
        }
    }

    /// The first required field that is missing, if any.
    #[must_use]
    pub fn missing_required_field(&self) -> Option<&'static str> {
        REQUIRED_FIELDS
            .into_iter()
            .find(|f| !self.fields.contains_key(*f))
    }

    /// A raw field.
    #[must_use]
    pub fn get(&self, field: &str) -> Option<&Value> {
        self.fields.get(field)
    }

    /// A field that is a JSON string.
    #[must_use]
    pub fn str_field(&self, field: &str) -> Option<&str> {
        self.fields.get(field).and_then(Value::as_str)
    }

    /// A field rendered as Python's `str()` would render the decoded value (what the AWS CLI
    /// puts into messages and into the string to sign). `None` when the key is absent.
    #[must_use]
    pub fn py_str_field(&self, field: &str) -> Option<String> {
        self.fields.get(field).map(py_str)
    }

    /// `logFiles`: `Ok(None)` when null or absent-but-tolerated is handled by the caller,
    /// entries that are not objects with string `s3Bucket`/`s3Object` are reported as errors
    /// naming the first problem.
    ///
    /// # Errors
    /// [`LogFilesError`] when the field is absent, or an entry is not an object with string
    /// `s3Bucket` and `s3Object`.
    pub fn log_files(&self) -> Result<Vec<LogFileRef>, LogFilesError> {
        let v = self.fields.get("logFiles").ok_or(LogFilesError::Missing)?;
        let items = match v {
            Value::Null => return Ok(Vec::new()),
            Value::Array(a) => a,
            Value::Bool(false) => return Ok(Vec::new()),
            Value::String(s) if s.is_empty() => return Ok(Vec::new()),
            Value::Object(m) if m.is_empty() => return Ok(Vec::new()),
            _ => return Err(LogFilesError::NotAList),
        };
        items
            .iter()
            .map(|item| {
                let obj = item.as_object().ok_or(LogFilesError::EntryNotAnObject)?;
                let field = |k: &'static str| -> Result<String, LogFilesError> {
                    match obj.get(k) {
                        Some(Value::String(s)) => Ok(s.clone()),
                        Some(_) => Err(LogFilesError::EntryFieldNotAString(k)),
                        None => Err(LogFilesError::EntryFieldMissing(k)),
                    }
                };
                Ok(LogFileRef {
                    bucket: field("s3Bucket")?,
                    key: field("s3Object")?,
                    hash_value: obj.get("hashValue").map(py_str),
                    hash_algorithm: obj
                        .get("hashAlgorithm")
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                })
            })
            .collect()
    }
}

/// A log file named by a digest, as far as validation needs it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LogFileRef {
    /// `s3Bucket`.
    pub bucket: String,
    /// `s3Object`.
    pub key: String,
    /// `hashValue` as Python's `str()` of the decoded value; `None` when absent.
    pub hash_value: Option<String>,
    /// `hashAlgorithm` when it is a string.
    pub hash_algorithm: Option<String>,
}

/// Why `logFiles` cannot be walked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFilesError {
    /// The key is absent (the AWS CLI crashes with `KeyError: 'logFiles'`).
    Missing,
    /// Not a list.
    NotAList,
    /// An entry is not an object.
    EntryNotAnObject,
    /// An entry lacks a field.
    EntryFieldMissing(&'static str),
    /// An entry's field is not a string.
    EntryFieldNotAString(&'static str),
}

/// Python's `str()` of a JSON-decoded value: strings as they are, `None`, `True`/`False`,
/// numbers as Python prints them, lists and dicts as Python's `repr`.
#[must_use]
pub fn py_str(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => py_repr(other),
    }
}

fn py_repr(v: &Value) -> String {
    match v {
        Value::Null => "None".to_owned(),
        Value::Bool(true) => "True".to_owned(),
        Value::Bool(false) => "False".to_owned(),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => i.to_string(),
            (None, Some(u), _) => u.to_string(),
            (None, None, Some(f)) => py_float(f),
            _ => n.to_string(),
        },
        Value::String(s) => py_str_repr(s),
        Value::Array(a) => {
            let inner: Vec<String> = a.iter().map(py_repr).collect();
            format!("[{}]", inner.join(", "))
        }
        Value::Object(m) => {
            let inner: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{}: {}", py_str_repr(k), py_repr(v)))
                .collect();
            format!("{{{}}}", inner.join(", "))
        }
    }
}

fn py_float(f: f64) -> String {
    if f.is_finite() && f == f.trunc() && f.abs() < 1e16 {
        format!("{f:.1}")
    } else {
        format!("{f}")
    }
}

fn py_str_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn empty_first_digest() -> DigestFile {
        DigestFile {
            aws_account_id: "123456789012".into(),
            digest_start_time: "2026-01-10T00:05:00Z".into(),
            digest_end_time: "2026-01-10T01:05:00Z".into(),
            digest_s3_bucket: "ct-bucket".into(),
            digest_s3_object: "AWSLogs/123456789012/CloudTrail-Digest/us-east-1/2026/01/10/123456789012_CloudTrail-Digest_us-east-1_mytrail_us-east-1_20260110T010500Z.json.gz".into(),
            digest_public_key_fingerprint: "67a84482bf71b26c04c8ab2c88ce275f".into(),
            digest_signature_algorithm: SIGNATURE_ALGORITHM.into(),
            newest_event_time: None,
            oldest_event_time: None,
            previous_digest_s3_bucket: None,
            previous_digest_s3_object: None,
            previous_digest_hash_value: None,
            previous_digest_hash_algorithm: None,
            previous_digest_signature: None,
            log_files: vec![],
        }
    }

    #[test]
    fn writes_the_spec_vector_bytes() {
        let expected = r#"{"awsAccountId":"123456789012","digestStartTime":"2026-01-10T00:05:00Z","digestEndTime":"2026-01-10T01:05:00Z","digestS3Bucket":"ct-bucket","digestS3Object":"AWSLogs/123456789012/CloudTrail-Digest/us-east-1/2026/01/10/123456789012_CloudTrail-Digest_us-east-1_mytrail_us-east-1_20260110T010500Z.json.gz","digestPublicKeyFingerprint":"67a84482bf71b26c04c8ab2c88ce275f","digestSignatureAlgorithm":"SHA256withRSA","newestEventTime":null,"oldestEventTime":null,"previousDigestS3Bucket":null,"previousDigestS3Object":null,"previousDigestHashValue":null,"previousDigestHashAlgorithm":null,"previousDigestSignature":null,"logFiles":[]}"#;
        assert_eq!(
            String::from_utf8(empty_first_digest().to_json_bytes().unwrap()).unwrap(),
            expected
        );
    }

    #[test]
    fn log_entry_field_order() {
        let mut d = empty_first_digest();
        d.log_files.push(LogFileEntry {
            s3_bucket: "b".into(),
            s3_object: "k".into(),
            hash_value: "00".into(),
            hash_algorithm: HASH_ALGORITHM.into(),
            newest_event_time: "n".into(),
            oldest_event_time: "o".into(),
        });
        let text = String::from_utf8(d.to_json_bytes().unwrap()).unwrap();
        assert!(text.ends_with(r#""logFiles":[{"s3Bucket":"b","s3Object":"k","hashValue":"00","hashAlgorithm":"SHA-256","newestEventTime":"n","oldestEventTime":"o"}]}"#));
    }

    #[test]
    fn parse_reports_python_type_names() {
        assert_eq!(
            ParsedDigest::parse(b"[1]"),
            Err(DigestParseError::NotAnObject("list"))
        );
        assert_eq!(
            ParsedDigest::parse(b"1.5"),
            Err(DigestParseError::NotAnObject("float"))
        );
        assert_eq!(
            ParsedDigest::parse(b"null"),
            Err(DigestParseError::NotAnObject("NoneType"))
        );
        assert_eq!(
            ParsedDigest::parse(b"{"),
            Err(DigestParseError::InvalidFormat)
        );
        assert_eq!(
            ParsedDigest::parse(b"\xff"),
            Err(DigestParseError::InvalidFormat)
        );
        let d = ParsedDigest::parse(br#"{"digestS3Bucket":"b"}"#).unwrap();
        assert_eq!(
            d.missing_required_field(),
            Some("digestPublicKeyFingerprint")
        );
        assert_eq!(d.log_files(), Err(LogFilesError::Missing));
    }

    #[test]
    fn python_str_rendering() {
        let v: Value =
            serde_json::from_str(r#"[null, true, 1, 2.0, "a'b", {"k": [1.5]}]"#).unwrap();
        assert_eq!(py_str(&v), r#"[None, True, 1, 2.0, "a'b", {'k': [1.5]}]"#);
        assert_eq!(py_str(&Value::String("x".into())), "x");
    }
}
