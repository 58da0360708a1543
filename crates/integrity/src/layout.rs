//! The CloudTrail bucket layout: S3 keys of log files and digest files, built and parsed.
//!
//! ```text
//! [<prefix>/]AWSLogs/[<o-id>/]<account>/CloudTrail/<region>/<YYYY>/<MM>/<DD>/
//!     <account>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<unique>.json.gz
//! [<prefix>/]AWSLogs/[<o-id>/]<account>/CloudTrail-Digest/<region>/<YYYY>/<MM>/<DD>/
//!     <account>_CloudTrail-Digest_<region>_<trail>_<home-region>_<YYYYMMDDTHHMMSSZ>[_backfill].json.gz
//! ```

use sealtrail_model::{AccountId, OrganizationId, Region, TrailName, UtcTime};

use crate::IntegrityError;

/// Where in a bucket one account's CloudTrail files live: the trail's key prefix, the
/// organization id for organization trails, and the account.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TrailLocation {
    /// The trail's `S3KeyPrefix`, without leading or trailing `/`; `None` when there is none.
    pub prefix: Option<String>,
    /// The organization id, for organization trails.
    pub organization: Option<OrganizationId>,
    /// The account whose files these are.
    pub account: AccountId,
}

impl TrailLocation {
    /// A location with no prefix and no organization.
    #[must_use]
    pub fn new(account: AccountId) -> Self {
        Self {
            prefix: None,
            organization: None,
            account,
        }
    }

    /// `[<prefix>/]AWSLogs/[<o-id>/]<account>/`
    #[must_use]
    pub fn account_root(&self) -> String {
        let mut s = String::new();
        if let Some(p) = self.prefix.as_deref().filter(|p| !p.is_empty()) {
            s.push_str(p);
            s.push('/');
        }
        s.push_str("AWSLogs/");
        if let Some(o) = &self.organization {
            s.push_str(o.as_str());
            s.push('/');
        }
        s.push_str(self.account.as_str());
        s.push('/');
        s
    }

    /// `[<prefix>/]AWSLogs/[<o-id>/]<account>/CloudTrail/<region>/`, where log files of a region live.
    #[must_use]
    pub fn log_prefix(&self, region: &str) -> String {
        format!("{}CloudTrail/{region}/", self.account_root())
    }

    /// `[<prefix>/]AWSLogs/[<o-id>/]<account>/CloudTrail-Digest/<region>` with no trailing `/`,
    /// the listing prefix `aws cloudtrail validate-logs` uses.
    #[must_use]
    pub fn digest_prefix(&self, region: &str) -> String {
        format!("{}CloudTrail-Digest/{region}", self.account_root())
    }
}

/// The key of a log file.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LogFileKey {
    /// Prefix, organization and account.
    pub location: TrailLocation,
    /// The region whose events the file holds.
    pub region: Region,
    /// Delivery time; only the minute is part of the name.
    pub delivered: UtcTime,
    /// The 16-character unique part of the name.
    pub unique: String,
}

impl LogFileKey {
    /// The S3 key.
    #[must_use]
    pub fn to_key(&self) -> String {
        format!(
            "{}{}/{}_CloudTrail_{}_{}_{}.json.gz",
            self.location.log_prefix(self.region.as_str()),
            self.delivered.to_date_path(),
            self.location.account,
            self.region,
            self.delivered.to_compact_minutes(),
            self.unique
        )
    }

    /// Parses a log file key.
    ///
    /// # Errors
    /// [`IntegrityError::Layout`] when `key` is not a CloudTrail log file key or its date folder
    /// disagrees with the time in its name.
    pub fn parse(key: &str) -> Result<Self, IntegrityError> {
        let bad = |why| IntegrityError::Layout(key.to_owned(), why);
        let (root, rest) =
            split_root(key, "/CloudTrail/").ok_or_else(|| bad("no `CloudTrail` folder"))?;
        let location = parse_root(root).ok_or_else(|| bad("bad `AWSLogs/` part"))?;
        let (region, y, m, d, name) =
            split_dated(rest).ok_or_else(|| bad("expected `<region>/<YYYY>/<MM>/<DD>/<name>`"))?;
        let region = Region::parse(region).map_err(|_| bad("bad region folder"))?;
        let stem = name
            .strip_suffix(".json.gz")
            .ok_or_else(|| bad("name must end in `.json.gz`"))?;
        let expected_head = format!("{}_CloudTrail_{}_", location.account, region);
        let tail = stem
            .strip_prefix(&expected_head)
            .ok_or_else(|| bad("name does not match its folders"))?;
        let (stamp, unique) = tail
            .split_once('_')
            .ok_or_else(|| bad("name lacks a unique part"))?;
        if unique.is_empty() || !unique.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(bad("unique part must be letters and digits"));
        }
        // `YYYYMMDDTHHmmZ`: reuse the seconds parser by inserting `00`.
        let with_secs = stamp
            .strip_suffix('Z')
            .map(|s| format!("{s}00Z"))
            .ok_or_else(|| bad("time must end in `Z`"))?;
        let delivered = UtcTime::parse_compact(&with_secs).map_err(|_| bad("bad time in name"))?;
        if delivered.to_date_path() != format!("{y}/{m}/{d}") {
            return Err(bad("date folder disagrees with the name"));
        }
        Ok(Self {
            location,
            region,
            delivered,
            unique: unique.to_owned(),
        })
    }
}

/// Standard or backfill digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DigestKind {
    /// The hourly digest.
    Standard,
    /// A digest delivered later for log files that processing delays left out of the
    /// standard digest (`..._backfill.json.gz`).
    Backfill,
}

/// The key of a digest file.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DigestKey {
    /// Prefix, organization and account.
    pub location: TrailLocation,
    /// The region that delivered the digest (folder and first region in the name).
    pub source_region: Region,
    /// The trail.
    pub trail_name: TrailName,
    /// The region where the trail was created.
    pub home_region: Region,
    /// `digestEndTime`: folder date and timestamp in the name.
    pub end: UtcTime,
    /// Standard or backfill.
    pub kind: DigestKind,
}

impl DigestKey {
    /// The S3 key.
    #[must_use]
    pub fn to_key(&self) -> String {
        let suffix = match self.kind {
            DigestKind::Standard => "",
            DigestKind::Backfill => "_backfill",
        };
        format!(
            "{}/{}/{}_CloudTrail-Digest_{}_{}_{}_{}{suffix}.json.gz",
            self.location.digest_prefix(self.source_region.as_str()),
            self.end.to_date_path(),
            self.location.account,
            self.source_region,
            self.trail_name,
            self.home_region,
            self.end.to_compact(),
        )
    }

    /// Parses a digest key. The trail name is found by matching the home region at the end of
    /// the name, so trail names containing `_` parse correctly.
    ///
    /// # Errors
    /// [`IntegrityError::Layout`] when `key` is not a digest key.
    pub fn parse(key: &str) -> Result<Self, IntegrityError> {
        let bad = |why| IntegrityError::Layout(key.to_owned(), why);
        let (root, rest) = split_root(key, "/CloudTrail-Digest/")
            .ok_or_else(|| bad("no `CloudTrail-Digest` folder"))?;
        let location = parse_root(root).ok_or_else(|| bad("bad `AWSLogs/` part"))?;
        let (region, y, m, d, name) =
            split_dated(rest).ok_or_else(|| bad("expected `<region>/<YYYY>/<MM>/<DD>/<name>`"))?;
        let source_region = Region::parse(region).map_err(|_| bad("bad region folder"))?;
        let (stem, kind) = if let Some(s) = name.strip_suffix("_backfill.json.gz") {
            (s, DigestKind::Backfill)
        } else if let Some(s) = name.strip_suffix(".json.gz") {
            (s, DigestKind::Standard)
        } else {
            return Err(bad("name must end in `.json.gz`"));
        };
        let head = format!("{}_CloudTrail-Digest_{}_", location.account, source_region);
        let tail = stem
            .strip_prefix(&head)
            .ok_or_else(|| bad("name does not match its folders"))?;
        // `<trail>_<home-region>_<YYYYMMDDTHHMMSSZ>`
        let (trail_home, stamp) = tail
            .rsplit_once('_')
            .ok_or_else(|| bad("name lacks a time"))?;
        let end = UtcTime::parse_compact(stamp).map_err(|_| bad("bad time in name"))?;
        let (trail, home) = trail_home
            .rsplit_once('_')
            .ok_or_else(|| bad("name lacks a home region"))?;
        let home_region = Region::parse(home).map_err(|_| bad("bad home region"))?;
        let trail_name = TrailName::parse(trail).map_err(|_| bad("bad trail name"))?;
        if end.to_date_path() != format!("{y}/{m}/{d}") {
            return Err(bad("date folder disagrees with the name"));
        }
        Ok(Self {
            location,
            source_region,
            trail_name,
            home_region,
            end,
            kind,
        })
    }
}

/// The timestamp text of a digest key exactly as `aws cloudtrail validate-logs` slices it
/// (`key[-24:-8]`, or `key[-33:-17]` for a backfill key). Returns `None` for keys too short
/// to slice, where Python would yield a shorter string.
#[must_use]
pub fn cli_digest_key_date(key: &str) -> &str {
    let b = key.as_bytes();
    let (from_end, to_end) = if key.ends_with("_backfill.json.gz") {
        (33, 17)
    } else {
        (24, 8)
    };
    // Python slicing on a str: clamp both ends, never fail.
    let n = b.len();
    let start = n.saturating_sub(from_end);
    let end = n.saturating_sub(to_end);
    if start >= end {
        return "";
    }
    key.get(start..end).unwrap_or("")
}

/// Splits `<region>/<YYYY>/<MM>/<DD>/<name>`, the part of a key after `CloudTrail[-Digest]/`.
fn split_dated(rest: &str) -> Option<(&str, &str, &str, &str, &str)> {
    let mut parts = rest.split('/');
    let fields = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    parts.next().is_none().then_some(fields)
}

fn split_root<'a>(key: &'a str, marker: &str) -> Option<(&'a str, &'a str)> {
    let i = key.find(marker)?;
    Some((key.get(..i)?, key.get(i + marker.len()..)?))
}

/// Parses `[<prefix>/]AWSLogs/[<o-id>/]<account>`.
fn parse_root(root: &str) -> Option<TrailLocation> {
    let (prefix, after) = if let Some(rest) = root.strip_prefix("AWSLogs/") {
        (None, rest)
    } else {
        let i = root.rfind("/AWSLogs/")?;
        (
            Some(root.get(..i)?.to_owned()),
            root.get(i + "/AWSLogs/".len()..)?,
        )
    };
    let (organization, account) = match after.split_once('/') {
        Some((o, a)) => (Some(OrganizationId::parse(o).ok()?), a),
        None => (None, after),
    };
    Some(TrailLocation {
        prefix,
        organization,
        account: AccountId::parse(account).ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loc(prefix: Option<&str>, org: Option<&str>) -> TrailLocation {
        TrailLocation {
            prefix: prefix.map(str::to_owned),
            organization: org.map(|o| OrganizationId::parse(o).unwrap()),
            account: AccountId::parse("111122223333").unwrap(),
        }
    }

    #[test]
    fn log_key_matches_documented_example() {
        let k = LogFileKey {
            location: loc(None, None),
            region: Region::parse("us-east-2").unwrap(),
            delivered: UtcTime::parse_iso("2015-08-01T02:10:00Z").unwrap(),
            unique: "Mu0KsOhtH1ar15ZZ".into(),
        };
        let key = "AWSLogs/111122223333/CloudTrail/us-east-2/2015/08/01/111122223333_CloudTrail_us-east-2_20150801T0210Z_Mu0KsOhtH1ar15ZZ.json.gz";
        assert_eq!(k.to_key(), key);
        assert_eq!(LogFileKey::parse(key).unwrap(), k);
    }

    #[test]
    fn digest_key_matches_documented_example() {
        let k = DigestKey {
            location: loc(None, None),
            source_region: Region::parse("us-east-2").unwrap(),
            trail_name: TrailName::parse("your-trail-name").unwrap(),
            home_region: Region::parse("us-east-2").unwrap(),
            end: UtcTime::parse_iso("2015-08-17T15:01:31Z").unwrap(),
            kind: DigestKind::Standard,
        };
        let key = "AWSLogs/111122223333/CloudTrail-Digest/us-east-2/2015/08/17/111122223333_CloudTrail-Digest_us-east-2_your-trail-name_us-east-2_20150817T150131Z.json.gz";
        assert_eq!(k.to_key(), key);
        assert_eq!(DigestKey::parse(key).unwrap(), k);
        assert_eq!(cli_digest_key_date(key), "20150817T150131Z");
    }

    #[test]
    fn prefixed_org_backfill_round_trip() {
        let k = DigestKey {
            location: loc(Some("a/b"), Some("o-exampleorgid")),
            source_region: Region::parse("eu-west-1").unwrap(),
            trail_name: TrailName::parse("org_trail.v2").unwrap(),
            home_region: Region::parse("us-east-1").unwrap(),
            end: UtcTime::parse_iso("2026-01-10T01:05:00Z").unwrap(),
            kind: DigestKind::Backfill,
        };
        let key = k.to_key();
        assert_eq!(
            key,
            "a/b/AWSLogs/o-exampleorgid/111122223333/CloudTrail-Digest/eu-west-1/2026/01/10/111122223333_CloudTrail-Digest_eu-west-1_org_trail.v2_us-east-1_20260110T010500Z_backfill.json.gz"
        );
        assert_eq!(DigestKey::parse(&key).unwrap(), k);
        assert_eq!(cli_digest_key_date(&key), "20260110T010500Z");
        assert_eq!(
            k.location.digest_prefix("eu-west-1"),
            "a/b/AWSLogs/o-exampleorgid/111122223333/CloudTrail-Digest/eu-west-1"
        );
    }

    #[test]
    fn rejects_mismatched_folders() {
        let bad = "AWSLogs/111122223333/CloudTrail/us-east-2/2015/08/02/111122223333_CloudTrail_us-east-2_20150801T0210Z_Mu0KsOhtH1ar15ZZ.json.gz";
        assert!(LogFileKey::parse(bad).is_err());
        let bad = "AWSLogs/111122223333/CloudTrail/us-east-2/2015/08/01/999922223333_CloudTrail_us-east-2_20150801T0210Z_Mu0KsOhtH1ar15ZZ.json.gz";
        assert!(LogFileKey::parse(bad).is_err());
        assert!(DigestKey::parse("AWSLogs/x").is_err());
        assert_eq!(cli_digest_key_date("short"), "");
    }
}
