//! CloudTrail log files: `{"Records":[...]}`, gzipped, hashed over the uncompressed bytes.

use aws_lc_rs::digest::{Context, SHA256};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::IntegrityError;
use crate::gzip::{Completion, GzipError, MemberInflater};

/// Builds the uncompressed body of a log file from serialized records, in the order given.
///
/// # Errors
/// [`IntegrityError::Json`] when a record is not a JSON object.
pub fn log_file_json(records: &[Box<RawValue>]) -> Result<Vec<u8>, IntegrityError> {
    let mut out = Vec::with_capacity(records.iter().map(|r| r.get().len() + 1).sum::<usize>() + 16);
    out.extend_from_slice(b"{\"Records\":[");
    for (i, r) in records.iter().enumerate() {
        if !r.get().trim_start().starts_with('{') {
            return Err(IntegrityError::Json(format!("record {i} is not an object")));
        }
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(r.get().as_bytes());
    }
    out.extend_from_slice(b"]}");
    Ok(out)
}

/// The event-time range of a log file, for the digest's `newestEventTime`/`oldestEventTime`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSummary {
    /// Number of records.
    pub records: usize,
    /// Latest `eventTime`, or `None` for an empty file.
    pub newest_event_time: Option<String>,
    /// Earliest `eventTime`, or `None` for an empty file.
    pub oldest_event_time: Option<String>,
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(rename = "Records", borrow)]
    records: Vec<TimeOnly<'a>>,
}

#[derive(Deserialize)]
struct TimeOnly<'a> {
    #[serde(rename = "eventTime", borrow)]
    event_time: Option<std::borrow::Cow<'a, str>>,
}

/// Reads the event-time range of an uncompressed log file.
///
/// # Errors
/// [`IntegrityError::Json`] when the bytes are not `{"Records":[...]}`.
pub fn summarize(json: &[u8]) -> Result<LogSummary, IntegrityError> {
    let env: Envelope<'_> =
        serde_json::from_slice(json).map_err(|e| IntegrityError::Json(e.to_string()))?;
    let times = env.records.iter().filter_map(|r| r.event_time.as_deref());
    // eventTime is `YYYY-MM-DDTHH:MM:SSZ`, so text order is time order.
    let newest = times.clone().max().map(str::to_owned);
    let oldest = times.min().map(str::to_owned);
    Ok(LogSummary {
        records: env.records.len(),
        newest_event_time: newest,
        oldest_event_time: oldest,
    })
}

/// Streams a gzipped log file through gunzip and SHA-256, as the AWS CLI does, in bounded
/// memory whatever the file size.
pub struct LogHasher {
    inflater: MemberInflater,
    sha: Context,
}

/// What hashing a log file found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogHash {
    /// Lower-case hex SHA-256 of the inflated bytes of the first member.
    pub sha256_hex: String,
    /// How the gzip member ended.
    pub completion: Completion,
}

impl std::fmt::Debug for LogHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogHasher").finish_non_exhaustive()
    }
}

impl LogHasher {
    /// A hasher that stops with [`GzipError::TooLarge`] past `limit` inflated bytes.
    #[must_use]
    pub fn new(limit: u64) -> Self {
        Self {
            inflater: MemberInflater::new(limit),
            sha: Context::new(&SHA256),
        }
    }

    /// Feeds compressed bytes.
    ///
    /// # Errors
    /// [`GzipError`] when the gzip stream is invalid.
    pub fn update(&mut self, compressed: &[u8]) -> Result<(), GzipError> {
        let sha = &mut self.sha;
        self.inflater.push(compressed, &mut |out| sha.update(out))
    }

    /// Ends the stream.
    #[must_use]
    pub fn finish(self) -> LogHash {
        let completion = self.inflater.finish();
        LogHash {
            sha256_hex: hex::encode(self.sha.finish()),
            completion,
        }
    }

    /// Ends the stream and makes the hasher ready for the next file, keeping its buffers.
    pub fn finish_and_reset(&mut self, limit: u64) -> LogHash {
        let completion = self.inflater.completion();
        let sha = std::mem::replace(&mut self.sha, Context::new(&SHA256));
        self.inflater.reset(limit);
        LogHash {
            sha256_hex: hex::encode(sha.finish()),
            completion,
        }
    }

    /// Drops the current stream and makes the hasher ready for the next file.
    pub fn reset(&mut self, limit: u64) {
        self.sha = Context::new(&SHA256);
        self.inflater.reset(limit);
    }

    /// Hashes a whole compressed file held in memory.
    ///
    /// # Errors
    /// [`GzipError`] when the gzip stream is invalid.
    pub fn hash_all(compressed: &[u8], limit: u64) -> Result<LogHash, GzipError> {
        let mut h = Self::new(limit);
        h.update(compressed)?;
        Ok(h.finish())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gzip::gzip;
    use crate::sha256_hex;

    fn raw(s: &str) -> Box<RawValue> {
        RawValue::from_string(s.to_owned()).unwrap()
    }

    #[test]
    fn builds_and_summarizes() {
        let json = log_file_json(&[
            raw(r#"{"eventTime":"2026-01-10T00:02:00Z","eventName":"A"}"#),
            raw(r#"{"eventTime":"2026-01-10T00:01:00Z","eventName":"B"}"#),
        ])
        .unwrap();
        assert!(json.starts_with(br#"{"Records":[{"eventTime""#));
        let s = summarize(&json).unwrap();
        assert_eq!(s.records, 2);
        assert_eq!(s.newest_event_time.as_deref(), Some("2026-01-10T00:02:00Z"));
        assert_eq!(s.oldest_event_time.as_deref(), Some("2026-01-10T00:01:00Z"));
        assert_eq!(
            summarize(br#"{"Records":[]}"#).unwrap().newest_event_time,
            None
        );
        assert!(log_file_json(&[raw("[1]")]).is_err());
    }

    #[test]
    fn hashes_uncompressed_bytes() {
        let body = br#"{"Records":[]}"#;
        let h = LogHasher::hash_all(&gzip(body), u64::MAX).unwrap();
        assert_eq!(h.sha256_hex, sha256_hex(body));
        assert!(h.completion.complete);
    }
}
