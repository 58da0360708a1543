//! A deterministic CloudTrail bucket: hourly digest chains over log files, from a seed, a
//! key and a start time. The same inputs always give the same bytes.

use sealtrail_integrity::chain::{ChainHead, DeliveredLog, DigestInput, next_digest};
use sealtrail_integrity::gzip::gzip;
use sealtrail_integrity::layout::{DigestKey, DigestKind, LogFileKey, TrailLocation};
use sealtrail_integrity::logfile::{log_file_json, summarize};
use sealtrail_integrity::sha256_hex;
use sealtrail_integrity::sign::Signer;
use sealtrail_model::{AccountId, OrganizationId, Region, SeededRng, TrailName, UtcTime};

use crate::records::records;

/// Where generated objects go.
pub trait ObjectSink {
    /// Stores one object with its user metadata.
    ///
    /// # Errors
    /// Whatever the sink's storage reports.
    fn put(
        &mut self,
        bucket: &str,
        key: &str,
        body: &[u8],
        metadata: &[(String, String)],
    ) -> anyhow::Result<()>;

    /// Publishes a signing key (ListPublicKeys).
    ///
    /// # Errors
    /// Whatever the sink's storage reports.
    fn publish_key(&mut self, fingerprint: &str, der: &[u8]) -> anyhow::Result<()>;
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct ChainSpec {
    /// Seed of every random choice (records, unique names).
    pub seed: u64,
    /// Bucket.
    pub bucket: String,
    /// Trail key prefix.
    pub prefix: Option<String>,
    /// Organization id, for an organization trail.
    pub organization: Option<OrganizationId>,
    /// Account.
    pub account: AccountId,
    /// Region whose events and digests these are.
    pub region: Region,
    /// The trail's home region.
    pub home_region: Region,
    /// Trail name.
    pub trail: TrailName,
    /// Start of the first digest period.
    pub start: UtcTime,
    /// Number of hourly periods.
    pub hours: u32,
    /// Log files delivered per period.
    pub logs_per_hour: u32,
    /// Records per log file.
    pub records_per_log: u32,
    /// Periods during which logging was stopped: no log files, no digest; the next digest
    /// starts a new chain.
    pub gaps: Vec<u32>,
    /// Periods that also get a backfill digest naming one late log file.
    pub backfill: Vec<u32>,
}

impl ChainSpec {
    /// A small default chain: account 123456789012, us-east-1, trail `mytrail`, bucket
    /// `ct-bucket`, starting 2026-01-10T00:05:00Z.
    #[must_use]
    pub fn demo(hours: u32, logs_per_hour: u32) -> Self {
        Self {
            seed: 1,
            bucket: "ct-bucket".into(),
            prefix: None,
            organization: None,
            account: AccountId::parse("123456789012").unwrap_or_else(|_| unreachable_id()),
            region: Region::parse("us-east-1").unwrap_or_else(|_| unreachable_region()),
            home_region: Region::parse("us-east-1").unwrap_or_else(|_| unreachable_region()),
            trail: TrailName::parse("mytrail").unwrap_or_else(|_| unreachable_trail()),
            start: UtcTime::parse_iso("2026-01-10T00:05:00Z").unwrap_or(UtcTime::UNIX_EPOCH),
            hours,
            logs_per_hour,
            records_per_log: 5,
            gaps: vec![],
            backfill: vec![],
        }
    }

    /// The trail ARN.
    #[must_use]
    pub fn trail_arn(&self) -> String {
        format!(
            "arn:aws:cloudtrail:{}:{}:trail/{}",
            self.home_region, self.account, self.trail
        )
    }

    fn location(&self) -> TrailLocation {
        TrailLocation {
            prefix: self.prefix.clone(),
            organization: self.organization.clone(),
            account: self.account.clone(),
        }
    }
}

#[expect(clippy::panic, reason = "a literal account id that parses")]
fn unreachable_id() -> AccountId {
    panic!("literal account id")
}
#[expect(clippy::panic, reason = "a literal region that parses")]
fn unreachable_region() -> Region {
    panic!("literal region")
}
#[expect(clippy::panic, reason = "a literal trail name that parses")]
fn unreachable_trail() -> TrailName {
    panic!("literal trail name")
}

/// What was generated, in delivery order.
#[derive(Debug, Clone, Default)]
pub struct Generated {
    /// Standard digest keys.
    pub digests: Vec<String>,
    /// Backfill digest keys.
    pub backfill_digests: Vec<String>,
    /// Log file keys.
    pub logs: Vec<String>,
    /// Log files named by each standard digest (parallel to `digests`).
    pub logs_by_digest: Vec<Vec<String>>,
    /// The head of the standard chain at the end.
    pub head: Option<ChainHead>,
    /// Bytes of log files written (compressed).
    pub log_bytes: u64,
}

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

fn unique(rng: &mut SeededRng) -> String {
    (0..16)
        .map(|_| {
            let i = usize::try_from(rng.below(ALNUM.len() as u64)).unwrap_or(0);
            char::from(ALNUM.get(i).copied().unwrap_or(b'A'))
        })
        .collect()
}

fn write_log(
    spec: &ChainSpec,
    rng: &mut SeededRng,
    sink: &mut dyn ObjectSink,
    delivered: UtcTime,
) -> anyhow::Result<(DeliveredLog, u64)> {
    let key = LogFileKey {
        location: spec.location(),
        region: spec.region.clone(),
        delivered,
        unique: unique(rng),
    }
    .to_key();
    let recs = records(
        rng,
        spec.account.as_str(),
        spec.region.as_str(),
        delivered.plus_seconds(-300),
        delivered.plus_seconds(-1),
        usize::try_from(spec.records_per_log).unwrap_or(0),
    );
    let json = log_file_json(&recs)?;
    let summary = summarize(&json)?;
    let gz = gzip(&json);
    sink.put(&spec.bucket, &key, &gz, &[])?;
    let fallback = delivered.to_iso();
    Ok((
        DeliveredLog {
            bucket: spec.bucket.clone(),
            key,
            sha256_hex: sha256_hex(&json),
            newest_event_time: summary
                .newest_event_time
                .unwrap_or_else(|| fallback.clone()),
            oldest_event_time: summary.oldest_event_time.unwrap_or(fallback),
        },
        gz.len() as u64,
    ))
}

/// Generates the bucket described by `spec`, signing every digest with `signer`.
///
/// # Errors
/// Errors of the sink, or of the chain builder on an impossible spec.
pub fn generate(
    spec: &ChainSpec,
    signer: &dyn Signer,
    sink: &mut dyn ObjectSink,
) -> anyhow::Result<Generated> {
    let mut rng = SeededRng::new(spec.seed);
    let mut out = Generated::default();
    sink.publish_key(signer.public_key().fingerprint(), signer.public_key().der())?;
    let mut head: Option<ChainHead> = None;
    let mut backfill_head: Option<ChainHead> = None;
    for hour in 0..spec.hours {
        let period_start = spec.start.plus_seconds(i64::from(hour) * 3600);
        let period_end = period_start.plus_seconds(3600);
        if spec.gaps.contains(&hour) {
            head = None;
            continue;
        }
        let n = spec.logs_per_hour;
        let mut logs = Vec::new();
        for k in 0..n {
            let offset = (i64::from(k) + 1) * 3600 / (i64::from(n) + 1);
            let (log, size) = write_log(spec, &mut rng, sink, period_start.plus_seconds(offset))?;
            out.logs.push(log.key.clone());
            out.log_bytes += size;
            logs.push(log);
        }
        let key = DigestKey {
            location: spec.location(),
            source_region: spec.region.clone(),
            trail_name: spec.trail.clone(),
            home_region: spec.home_region.clone(),
            end: period_end,
            kind: DigestKind::Standard,
        };
        let sealed = next_digest(
            &DigestInput {
                bucket: &spec.bucket,
                key: &key,
                start: head.as_ref().map_or(period_start, |h| h.end),
                logs: &logs,
                previous: head.as_ref(),
                backfill_generated: None,
            },
            signer,
        )?;
        sink.put(&spec.bucket, &sealed.key, &sealed.gz, &sealed.metadata)?;
        out.digests.push(sealed.key.clone());
        out.logs_by_digest
            .push(logs.iter().map(|l| l.key.clone()).collect());
        head = Some(sealed.head);

        if spec.backfill.contains(&hour) {
            let (late, size) = write_log(spec, &mut rng, sink, period_start.plus_seconds(1807))?;
            out.logs.push(late.key.clone());
            out.log_bytes += size;
            let bkey = DigestKey {
                kind: DigestKind::Backfill,
                ..key
            };
            let sealed = next_digest(
                &DigestInput {
                    bucket: &spec.bucket,
                    key: &bkey,
                    start: period_start,
                    logs: std::slice::from_ref(&late),
                    previous: backfill_head.as_ref(),
                    backfill_generated: Some(period_end.plus_seconds(7200)),
                },
                signer,
            )?;
            sink.put(&spec.bucket, &sealed.key, &sealed.gz, &sealed.metadata)?;
            out.backfill_digests.push(sealed.key.clone());
            backfill_head = Some(sealed.head);
        }
    }
    out.head = head;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemoryBucket;
    use sealtrail_integrity::sign::RsaSigner;

    #[test]
    fn same_seed_same_bytes() {
        let signer = RsaSigner::generate().unwrap();
        let spec = ChainSpec::demo(3, 2);
        let mut a = MemoryBucket::new();
        let mut b = MemoryBucket::new();
        let ga = generate(&spec, &signer, &mut a).unwrap();
        generate(&spec, &signer, &mut b).unwrap();
        assert_eq!(a.objects, b.objects);
        assert_eq!(ga.digests.len(), 3);
        assert_eq!(ga.logs.len(), 6);
        assert!(ga.digests[0].ends_with("_mytrail_us-east-1_20260110T010500Z.json.gz"));
    }
}
