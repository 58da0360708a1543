//! Building a digest chain: given the previous digest and the log files of a period, the next
//! signed digest, ready to store. The server's hourly digest worker and the test-data
//! generators both call [`next_digest`].

use sealtrail_model::UtcTime;

use crate::digest::{DigestFile, HASH_ALGORITHM, LogFileEntry, SIGNATURE_ALGORITHM};
use crate::gzip::gzip;
use crate::layout::{DigestKey, DigestKind};
use crate::sign::{Signer, string_to_sign};
use crate::{IntegrityError, sha256_hex};

/// What a digest needs to know about the digest before it: the chain head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainHead {
    /// Bucket of the previous digest.
    pub bucket: String,
    /// Key of the previous digest.
    pub key: String,
    /// Lower-case hex SHA-256 of its uncompressed bytes.
    pub sha256_hex: String,
    /// Its signature, lower-case hex.
    pub signature_hex: String,
    /// Its `digestEndTime`, the start of the next period.
    pub end: UtcTime,
}

/// A log file delivered during a period, as the digest lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveredLog {
    /// Bucket.
    pub bucket: String,
    /// Key.
    pub key: String,
    /// Lower-case hex SHA-256 of the uncompressed file.
    pub sha256_hex: String,
    /// Newest `eventTime` in the file.
    pub newest_event_time: String,
    /// Oldest `eventTime` in the file.
    pub oldest_event_time: String,
}

/// A signed digest ready to be stored: the object bytes and the metadata to store with them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedDigest {
    /// Bucket to store it in.
    pub bucket: String,
    /// Its S3 key.
    pub key: String,
    /// The uncompressed JSON (what the hash and signature cover).
    pub json: Vec<u8>,
    /// The gzipped object body.
    pub gz: Vec<u8>,
    /// User metadata, names without `x-amz-meta-`, lower case (send them lower case: the AWS
    /// CLI looks the names up case-sensitively).
    pub metadata: Vec<(String, String)>,
    /// The head of the chain after this digest.
    pub head: ChainHead,
}

/// The inputs of one digest.
#[derive(Debug, Clone)]
pub struct DigestInput<'a> {
    /// Bucket the digest is delivered to.
    pub bucket: &'a str,
    /// Where and what: location, regions, trail, end time, standard or backfill.
    pub key: &'a DigestKey,
    /// Start of the period. For a chained standard digest this must be the previous end.
    pub start: UtcTime,
    /// Log files delivered in the period, in delivery order.
    pub logs: &'a [DeliveredLog],
    /// The previous digest, or `None` to start a chain.
    pub previous: Option<&'a ChainHead>,
    /// For backfill digests: when the backfill was generated (metadata
    /// `backfill-generation-timestamp`).
    pub backfill_generated: Option<UtcTime>,
}

/// Builds, signs and gzips the next digest.
///
/// # Errors
/// [`IntegrityError::ChainInput`] when the period is empty or inverted, a chained standard
/// digest does not start where the previous one ended, or a backfill digest has no generation
/// time; [`IntegrityError::Crypto`] when signing fails.
pub fn next_digest(
    input: &DigestInput<'_>,
    signer: &dyn Signer,
) -> Result<SealedDigest, IntegrityError> {
    let key = input.key;
    if input.start >= key.end {
        return Err(IntegrityError::ChainInput(format!(
            "period `{}`..`{}` is empty or inverted",
            input.start, key.end
        )));
    }
    if let (Some(prev), DigestKind::Standard) = (input.previous, key.kind)
        && prev.end != input.start
    {
        return Err(IntegrityError::ChainInput(format!(
            "period starts at `{}` but the previous digest ends at `{}`",
            input.start, prev.end
        )));
    }
    if key.kind == DigestKind::Backfill && input.backfill_generated.is_none() {
        return Err(IntegrityError::ChainInput(
            "a backfill digest needs its generation time".into(),
        ));
    }
    let object = key.to_key();
    let newest = input
        .logs
        .iter()
        .map(|l| l.newest_event_time.as_str())
        .max()
        .map(str::to_owned);
    let oldest = input
        .logs
        .iter()
        .map(|l| l.oldest_event_time.as_str())
        .min()
        .map(str::to_owned);
    let file = DigestFile {
        aws_account_id: key.location.account.to_string(),
        digest_start_time: input.start.to_iso(),
        digest_end_time: key.end.to_iso(),
        digest_s3_bucket: input.bucket.to_owned(),
        digest_s3_object: object.clone(),
        digest_public_key_fingerprint: signer.public_key().fingerprint().to_owned(),
        digest_signature_algorithm: SIGNATURE_ALGORITHM.to_owned(),
        newest_event_time: newest,
        oldest_event_time: oldest,
        previous_digest_s3_bucket: input.previous.map(|p| p.bucket.clone()),
        previous_digest_s3_object: input.previous.map(|p| p.key.clone()),
        previous_digest_hash_value: input.previous.map(|p| p.sha256_hex.clone()),
        previous_digest_hash_algorithm: input.previous.map(|_| HASH_ALGORITHM.to_owned()),
        previous_digest_signature: input.previous.map(|p| p.signature_hex.clone()),
        log_files: input
            .logs
            .iter()
            .map(|l| LogFileEntry {
                s3_bucket: l.bucket.clone(),
                s3_object: l.key.clone(),
                hash_value: l.sha256_hex.clone(),
                hash_algorithm: HASH_ALGORITHM.to_owned(),
                newest_event_time: l.newest_event_time.clone(),
                oldest_event_time: l.oldest_event_time.clone(),
            })
            .collect(),
    };
    let json = file.to_json_bytes()?;
    let sha = sha256_hex(&json);
    let to_sign = string_to_sign(
        &file.digest_end_time,
        input.bucket,
        &object,
        &sha,
        input.previous.map(|p| p.signature_hex.as_str()),
    );
    let signature_hex = hex::encode(signer.sign(to_sign.as_bytes())?);
    let mut metadata = vec![
        ("signature".to_owned(), signature_hex.clone()),
        (
            "signature-algorithm".to_owned(),
            SIGNATURE_ALGORITHM.to_owned(),
        ),
    ];
    if let Some(generated) = input.backfill_generated {
        metadata.push((
            "backfill-generation-timestamp".to_owned(),
            generated.to_iso(),
        ));
    }
    let gz = gzip(&json);
    Ok(SealedDigest {
        bucket: input.bucket.to_owned(),
        key: object.clone(),
        head: ChainHead {
            bucket: input.bucket.to_owned(),
            key: object,
            sha256_hex: sha,
            signature_hex,
            end: key.end,
        },
        json,
        gz,
        metadata,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::TrailLocation;
    use crate::sign::{RsaSigner, Verifier};
    use sealtrail_model::{AccountId, Region, TrailName};

    fn key(end: &str, kind: DigestKind) -> DigestKey {
        DigestKey {
            location: TrailLocation::new(AccountId::parse("123456789012").unwrap()),
            source_region: Region::parse("us-east-1").unwrap(),
            trail_name: TrailName::parse("mytrail").unwrap(),
            home_region: Region::parse("us-east-1").unwrap(),
            end: UtcTime::parse_iso(end).unwrap(),
            kind,
        }
    }

    #[test]
    fn chains_two_digests() {
        let signer = RsaSigner::generate().unwrap();
        let k1 = key("2026-01-10T01:05:00Z", DigestKind::Standard);
        let first = next_digest(
            &DigestInput {
                bucket: "ct-bucket",
                key: &k1,
                start: UtcTime::parse_iso("2026-01-10T00:05:00Z").unwrap(),
                logs: &[],
                previous: None,
                backfill_generated: None,
            },
            &signer,
        )
        .unwrap();
        assert!(String::from_utf8_lossy(&first.json).contains(r#""previousDigestSignature":null"#));
        let to_sign = string_to_sign(
            "2026-01-10T01:05:00Z",
            "ct-bucket",
            &first.key,
            &first.head.sha256_hex,
            None,
        );
        signer
            .public_key()
            .verify(
                to_sign.as_bytes(),
                &hex::decode(&first.head.signature_hex).unwrap(),
            )
            .unwrap();

        let k2 = key("2026-01-10T02:05:00Z", DigestKind::Standard);
        let log = DeliveredLog {
            bucket: "ct-bucket".into(),
            key: "k".into(),
            sha256_hex: "ab".into(),
            newest_event_time: "2026-01-10T01:10:00Z".into(),
            oldest_event_time: "2026-01-10T01:09:00Z".into(),
        };
        let second = next_digest(
            &DigestInput {
                bucket: "ct-bucket",
                key: &k2,
                start: first.head.end,
                logs: std::slice::from_ref(&log),
                previous: Some(&first.head),
                backfill_generated: None,
            },
            &signer,
        )
        .unwrap();
        let text = String::from_utf8(second.json.clone()).unwrap();
        assert!(text.contains(&format!(
            r#""previousDigestSignature":"{}""#,
            first.head.signature_hex
        )));
        assert!(text.contains(&format!(
            r#""previousDigestHashValue":"{}""#,
            first.head.sha256_hex
        )));
        assert!(text.contains(r#""newestEventTime":"2026-01-10T01:10:00Z""#));

        // A gap in a standard chain is refused.
        let k3 = key("2026-01-10T04:05:00Z", DigestKind::Standard);
        let err = next_digest(
            &DigestInput {
                bucket: "ct-bucket",
                key: &k3,
                start: UtcTime::parse_iso("2026-01-10T03:05:00Z").unwrap(),
                logs: &[],
                previous: Some(&second.head),
                backfill_generated: None,
            },
            &signer,
        )
        .unwrap_err();
        assert!(matches!(err, IntegrityError::ChainInput(_)));
    }
}
