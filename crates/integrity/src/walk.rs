//! The digest traversal of `aws cloudtrail validate-logs`, step for step, over any
//! [`DigestSource`]: list the digest keys of the window, take the newest, verify it, follow
//! `previousDigestS3Object` back, and when the chain breaks (a gap, a missing or an invalid
//! digest) continue with the next older listed key.
//!
//! The structure mirrors awscli's `DigestTraverser` (including its pop-from-the-listing
//! bookkeeping and the cached listings), so every digest gets the verdict, and every message
//! comes out in the order, the AWS CLI would produce. Where the CLI would crash or loop
//! forever (a digest whose signed links loop), the walk stops with a [`WalkFatal`] instead.
//!
//! What this module adds, without changing those verdicts: link checks between consecutive
//! digests for `--strict`, and digests read from a copy that kept no S3 metadata, whose
//! signatures are taken from their successors' `previousDigestSignature`.

use std::collections::{HashMap, HashSet};
use std::ops::ControlFlow;

use sealtrail_model::UtcTime;
use serde_json::Value;

use crate::layout::{DigestKind, cli_digest_key_date};
use crate::verify::{
    DigestVerdict, KeyRing, LinkIssue, Metadata, OpenedDigest, VerifiedDigest, accept_unverifiable,
    check_link, check_signature, digest_fingerprint, open_digest, resolve_key,
};

/// A digest object as read from storage.
#[derive(Debug, Clone)]
pub struct FetchedDigest {
    /// The gzipped body.
    pub body: Vec<u8>,
    /// Its user metadata.
    pub metadata: Metadata,
    /// The body already opened (inflated, parsed, hashed) by a source that reads ahead, so
    /// that the walk, which is sequential, does not have to: `(backfill, result)` of
    /// [`open_digest`] on this very object, for [`FetchedDigest::pre_open`].
    pub opened: Option<(bool, Result<OpenedDigest, DigestVerdict>)>,
}

impl FetchedDigest {
    /// A digest object as read.
    #[must_use]
    pub fn new(body: Vec<u8>, metadata: Metadata) -> Self {
        Self {
            body,
            metadata,
            opened: None,
        }
    }

    /// Opens the digest now (on whatever thread reads ahead), exactly as the walk would.
    pub fn pre_open(&mut self, bucket: &str, key: &str) {
        let backfill = key.ends_with("_backfill.json.gz");
        self.opened = Some((
            backfill,
            open_digest(bucket, key, &self.body, &self.metadata, backfill),
        ));
    }
}

/// Why a read failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchError {
    /// S3 `NoSuchKey`: a verdict, not an error.
    NotFound,
    /// Anything else: the AWS CLI aborts with this text (e.g. `An error occurred
    /// (AccessDenied) when calling the GetObject operation: Access Denied`).
    Fatal(String),
}

/// An error that ends the whole validation (exit status 255), with the text to print.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct WalkFatal(pub String);

/// Where digests come from: S3, a local copy, an archive, memory.
pub trait DigestSource {
    /// Lists `bucket` as S3 ListObjects does: keys under `prefix` strictly after `marker`, in
    /// ascending byte order; stops early when `visit` breaks.
    ///
    /// # Errors
    /// [`WalkFatal`] when listing fails.
    fn list(
        &mut self,
        bucket: &str,
        prefix: &str,
        marker: &str,
        visit: &mut (dyn FnMut(&str) -> ControlFlow<()> + Send),
    ) -> Result<(), WalkFatal>;

    /// Reads one digest object.
    ///
    /// # Errors
    /// [`FetchError::NotFound`] or [`FetchError::Fatal`].
    fn fetch(&mut self, bucket: &str, key: &str) -> Result<FetchedDigest, FetchError>;

    /// The public keys published for signatures made between `start` and `end`.
    ///
    /// # Errors
    /// [`WalkFatal`] when the keys cannot be obtained.
    fn public_keys(&mut self, start: UtcTime, end: UtcTime) -> Result<KeyRing, WalkFatal>;

    /// Told which digest keys the walk will read, newest first, so that a source can start
    /// reading them ahead. The default does nothing.
    fn will_read(&mut self, _bucket: &str, _keys_newest_first: &[String]) {}
}

/// What a walk is asked to validate.
#[derive(Debug, Clone)]
pub struct WalkParams {
    /// `--start-time`.
    pub start: UtcTime,
    /// `--end-time`.
    pub end: UtcTime,
    /// The bucket to start from.
    pub bucket: String,
    /// The trail's key prefix (`None` or empty: none).
    pub prefix: Option<String>,
    /// The organization id, for organization trails.
    pub organization: Option<String>,
    /// The account whose digests are read.
    pub account: String,
    /// The trail name (the text after the last `/` of the ARN).
    pub trail_name: String,
    /// The trail's home region (from its ARN).
    pub home_region: String,
    /// The region whose digests are read (`--region`, else the home region).
    pub source_region: String,
    /// Check links between digests (`--strict`).
    pub strict: bool,
    /// Offline copies without metadata: the newest digest's signature, if the user has it.
    pub newest_signature: Option<String>,
}

/// What the walk found, in the order the AWS CLI reports it.
#[derive(Debug, Clone, PartialEq)]
pub enum WalkEvent {
    /// A digest whose signature verified. Its log files are to be checked next.
    Valid(Box<VerifiedDigest>),
    /// Offline, no metadata: a digest whose signature is nowhere to be found. Its contents are
    /// unauthenticated; its log files are checked against it all the same.
    Unverifiable(Box<VerifiedDigest>),
    /// A digest that failed.
    Invalid {
        /// Bucket.
        bucket: String,
        /// Key.
        key: String,
        /// Why.
        verdict: DigestVerdict,
    },
    /// The chain restarts (no previous digest) and an older digest exists: no log files were
    /// delivered between `next_end` and `last_start`.
    Gap {
        /// End of the older digest (from its key name).
        next_end: UtcTime,
        /// Start of the newer digest.
        last_start: UtcTime,
    },
    /// `--strict`: the newer digest does not commit to the older one it names.
    Link {
        /// The newer digest (bucket, key).
        newer: (String, String),
        /// The older digest (bucket, key).
        older: (String, String),
        /// What does not match.
        issues: Vec<LinkIssue>,
    },
}

type ListingKey = (String, Option<String>, i64, i64);

/// One validation's traversal state: cached listings and what the walk has seen.
#[derive(Debug)]
pub struct Walker {
    params: WalkParams,
    listings: HashMap<ListingKey, (Vec<String>, Vec<String>)>,
    successor_signatures: HashMap<(String, String), String>,
}

enum Loaded {
    Accepted(VerifiedDigest),
    NotFound,
    Invalid(DigestVerdict),
}

impl Walker {
    /// A walker for one validation.
    #[must_use]
    pub fn new(params: WalkParams) -> Self {
        Self {
            params,
            listings: HashMap::new(),
            successor_signatures: HashMap::new(),
        }
    }

    /// The parameters.
    #[must_use]
    pub fn params(&self) -> &WalkParams {
        &self.params
    }

    /// Walks the standard or the backfill chain, reporting through `emit`.
    ///
    /// # Errors
    /// [`WalkFatal`] when the AWS CLI would abort: a listing or read error other than
    /// `NoSuchKey`, no public keys, an unparseable digest key date, or a loop.
    pub fn traverse(
        &mut self,
        source: &mut dyn DigestSource,
        kind: DigestKind,
        emit: &mut dyn FnMut(WalkEvent),
    ) -> Result<(), WalkFatal> {
        let start = self.params.start;
        let end = self.params.end;
        let mut bucket = self.params.bucket.clone();
        let prefix = self.params.prefix.clone();
        let mut listing =
            self.load_digests(source, &bucket, prefix.as_deref(), start, end, kind)?;
        let mut keys = match kind {
            DigestKind::Standard => load_public_keys(source, start, end.plus_seconds(2 * 3600))?,
            DigestKind::Backfill => KeyRing::new(),
        };
        let (mut key, mut end_date) = self.last_digest(&listing, kind, None)?;
        let mut last_start = end_date;
        let mut newer: Option<VerifiedDigest> = None;
        let mut first = true;
        let mut visited: HashSet<(String, String)> = HashSet::new();

        while let (Some(k), Some(ls)) = (key.clone(), last_start) {
            if start > ls {
                break;
            }
            if !visited.insert((bucket.clone(), k.clone())) {
                return Err(WalkFatal(format!(
                    "the digest chain loops back to s3://{bucket}/{k}; stopping"
                )));
            }
            let loaded = self.load_and_validate(source, &mut keys, &bucket, &k, kind, first)?;
            first = false;
            match loaded {
                Loaded::Accepted(digest) => {
                    last_start = Some(digest.start);
                    end_date = Some(digest.end);
                    if let (true, Some(n)) = (self.params.strict, &newer) {
                        let issues = check_link(n, &digest);
                        if !issues.is_empty() {
                            emit(WalkEvent::Link {
                                newer: (n.opened.bucket.clone(), n.opened.key.clone()),
                                older: (bucket.clone(), k.clone()),
                                issues,
                            });
                        }
                    }
                    let previous = digest.previous();
                    let accepted = digest.clone();
                    if digest.signature.is_some() {
                        emit(WalkEvent::Valid(Box::new(digest)));
                    } else {
                        emit(WalkEvent::Unverifiable(Box::new(digest)));
                    }
                    match previous {
                        None => {
                            newer = None;
                            let (next, next_end) = self.last_digest(&listing, kind, Some(&k))?;
                            if let (Some(_), Some(next_end)) = (&next, next_end) {
                                emit(WalkEvent::Gap {
                                    next_end,
                                    last_start: accepted.start,
                                });
                            }
                            key = next;
                            end_date = next_end;
                        }
                        Some((prev_bucket, prev_key)) => {
                            newer = Some(accepted);
                            key = Some(prev_key);
                            if prev_bucket != bucket {
                                bucket = prev_bucket;
                                let e = end_date.unwrap_or(end);
                                listing = self.load_digests(
                                    source,
                                    &bucket,
                                    prefix.as_deref(),
                                    start,
                                    e,
                                    kind,
                                )?;
                            }
                        }
                    }
                }
                Loaded::NotFound | Loaded::Invalid(_) => {
                    let verdict = match loaded {
                        Loaded::Invalid(v) => v,
                        _ => DigestVerdict::NotFound,
                    };
                    emit(WalkEvent::Invalid {
                        bucket: bucket.clone(),
                        key: k.clone(),
                        verdict,
                    });
                    newer = None;
                    let (next, next_end) = self.last_digest(&listing, kind, Some(&k))?;
                    key = next;
                    end_date = next_end;
                }
            }
        }
        let _ = end_date;
        Ok(())
    }

    fn load_and_validate(
        &mut self,
        source: &mut dyn DigestSource,
        keys: &mut KeyRing,
        bucket: &str,
        key: &str,
        kind: DigestKind,
        newest: bool,
    ) -> Result<Loaded, WalkFatal> {
        let fetched = match source.fetch(bucket, key) {
            Ok(f) => f,
            Err(FetchError::NotFound) => return Ok(Loaded::NotFound),
            Err(FetchError::Fatal(msg)) => return Err(WalkFatal(msg)),
        };
        let backfill = kind == DigestKind::Backfill;
        // Only copies without metadata need successors' signatures: keep memory flat otherwise.
        let metadata_unknown = matches!(fetched.metadata, Metadata::Unknown);
        let opened = match fetched.opened {
            // Opened ahead for this bucket, key and chain: the same result, computed earlier.
            Some((b, result)) if b == backfill => result,
            _ => open_digest(bucket, key, &fetched.body, &fetched.metadata, backfill),
        };
        let opened = match opened {
            Ok(o) => o,
            Err(v) => return Ok(Loaded::Invalid(v)),
        };
        // Remember what this digest says its predecessor's signature is, for copies that
        // lost their metadata. Where the bytes come from does not matter: a signature either
        // verifies the predecessor's contents or it does not.
        if metadata_unknown
            && let (Some(Value::String(pb)), Some(Value::String(pk)), Some(Value::String(ps))) = (
                opened.parsed.get("previousDigestS3Bucket"),
                opened.parsed.get("previousDigestS3Object"),
                opened.parsed.get("previousDigestSignature"),
            )
        {
            self.successor_signatures
                .entry((pb.clone(), pk.clone()))
                .or_insert_with(|| ps.clone());
        }
        if backfill
            && let Some(fp) = digest_fingerprint(&opened)
            && !keys.contains(fp)
        {
            match backfill_keys(source, &opened) {
                Ok(more) => keys.extend(more),
                Err(v) => return Ok(Loaded::Invalid(v)),
            }
        }
        let public_key = match resolve_key(&opened, keys, &self.params.home_region) {
            Ok(k) => k.clone(),
            Err(v) => return Ok(Loaded::Invalid(v)),
        };
        let signature = opened
            .metadata_signature
            .clone()
            .or_else(|| {
                newest
                    .then(|| self.params.newest_signature.clone())
                    .flatten()
            })
            .or_else(|| {
                self.successor_signatures
                    .get(&(bucket.to_owned(), key.to_owned()))
                    .cloned()
            });
        let checked = match signature {
            Some(sig) => check_signature(opened, &public_key, &sig),
            None => accept_unverifiable(opened),
        };
        Ok(match checked {
            Ok(d) => Loaded::Accepted(d),
            Err(v) => Loaded::Invalid(v),
        })
    }

    /// `DigestProvider.load_digest_keys_in_range`, with its cache: one listing per
    /// (bucket, prefix, start, end), split into standard and backfill keys.
    fn load_digests(
        &mut self,
        source: &mut dyn DigestSource,
        bucket: &str,
        prefix: Option<&str>,
        start: UtcTime,
        end: UtcTime,
        kind: DigestKind,
    ) -> Result<ListingKey, WalkFatal> {
        let id: ListingKey = (
            bucket.to_owned(),
            prefix.map(str::to_owned),
            start.epoch_seconds(),
            end.epoch_seconds(),
        );
        if !self.listings.contains_key(&id) {
            let lists = list_digest_keys(source, &self.params, bucket, prefix, start, end)?;
            let mut both: Vec<String> = lists.0.iter().rev().cloned().collect();
            both.extend(lists.1.iter().rev().cloned());
            source.will_read(bucket, &both);
            self.listings.insert(id.clone(), lists);
        }
        let _ = kind;
        Ok(id)
    }

    /// `DigestTraverser._get_last_digest`: pops keys off the end of the cached listing until
    /// one is older than `before_key` (or takes the last one).
    fn last_digest(
        &mut self,
        id: &ListingKey,
        kind: DigestKind,
        before_key: Option<&str>,
    ) -> Result<(Option<String>, Option<UtcTime>), WalkFatal> {
        let before = before_key.map(key_date).transpose()?;
        let Some(lists) = self.listings.get_mut(id) else {
            return Ok((None, None));
        };
        let list = match kind {
            DigestKind::Standard => &mut lists.0,
            DigestKind::Backfill => &mut lists.1,
        };
        while let Some(next) = list.pop() {
            let date = key_date(&next)?;
            match before {
                None => return Ok((Some(next), Some(date))),
                Some(b) if date < b => return Ok((Some(next), Some(date))),
                Some(_) => {}
            }
        }
        Ok((None, None))
    }
}

fn key_date(key: &str) -> Result<UtcTime, WalkFatal> {
    let text = cli_digest_key_date(key);
    UtcTime::parse_user(text).map_err(|_| WalkFatal(format!("Unable to parse date value: {text}")))
}

fn load_public_keys(
    source: &mut dyn DigestSource,
    start: UtcTime,
    end: UtcTime,
) -> Result<KeyRing, WalkFatal> {
    let keys = source.public_keys(start, end)?;
    if keys.is_empty() {
        return Err(WalkFatal(format!(
            "No public keys found between {} and {}",
            start.to_iso(),
            end.to_iso()
        )));
    }
    Ok(keys)
}

/// The AWS CLI loads keys for a backfill digest around its generation time; failures are
/// verdicts on that digest, not fatal.
fn backfill_keys(
    source: &mut dyn DigestSource,
    opened: &crate::verify::OpenedDigest,
) -> Result<KeyRing, DigestVerdict> {
    let generated = match &opened.backfill_generated {
        Some(text) => UtcTime::parse_user(text)
            .map_err(|_| DigestVerdict::Other(format!("Unable to parse date value: {text}")))?,
        // A copy without metadata: use the digest's own end time instead.
        None => opened
            .parsed
            .str_field("digestEndTime")
            .and_then(|t| UtcTime::parse_user(t).ok())
            .ok_or_else(|| DigestVerdict::Other("'_backfill_generation_timestamp'".to_owned()))?,
    };
    let (from, to) = (generated.plus_seconds(-3600), generated.plus_seconds(3600));
    match source.public_keys(from, to) {
        Ok(k) if !k.is_empty() => Ok(k),
        Ok(_) => Err(DigestVerdict::Other(format!(
            "No public keys found between {} and {}",
            from.to_iso(),
            to.to_iso()
        ))),
        Err(WalkFatal(msg)) => Err(DigestVerdict::Other(msg)),
    }
}

/// `DigestProvider.load_all_digest_keys_in_range`: list from the marker for `start - 1 min`,
/// keep the trail's keys whose name time lies in `[start, end + 1 h]`, stop at the first one
/// past it; split standard from backfill.
fn list_digest_keys(
    source: &mut dyn DigestSource,
    p: &WalkParams,
    bucket: &str,
    prefix: Option<&str>,
    start: UtcTime,
    end: UtcTime,
) -> Result<(Vec<String>, Vec<String>), WalkFatal> {
    let prefix = prefix.filter(|x| !x.is_empty());
    let marker = cli_marker(p, prefix, start);
    let list_prefix = cli_list_prefix(p, prefix);
    let matcher = KeyMatcher::new(p, prefix);
    let target_start = start.to_compact();
    let target_end = end.plus_seconds(3600).to_compact();
    let mut standard = Vec::new();
    let mut backfill = Vec::new();
    source.list(bucket, &list_prefix, &marker, &mut |key| {
        if key.is_empty() || !matcher.matches(key) {
            return ControlFlow::Continue(());
        }
        let date = cli_digest_key_date(key);
        if date > target_end.as_str() {
            return ControlFlow::Break(());
        }
        if date < target_start.as_str() {
            return ControlFlow::Continue(());
        }
        if key.ends_with("_backfill.json.gz") {
            backfill.push(key.to_owned());
        } else {
            standard.push(key.to_owned());
        }
        ControlFlow::Continue(())
    })?;
    Ok((standard, backfill))
}

impl WalkParams {
    /// `[<prefix>/]AWSLogs/[<o-id>/]<account>`, the root of this trail's files in the
    /// starting bucket.
    #[must_use]
    pub fn account_root(&self) -> String {
        account_root(self, self.prefix.as_deref().filter(|p| !p.is_empty()))
    }
}

fn account_root(p: &WalkParams, prefix: Option<&str>) -> String {
    let mut s = String::new();
    if let Some(x) = prefix {
        s.push_str(x);
        s.push('/');
    }
    s.push_str("AWSLogs/");
    if let Some(o) = &p.organization {
        s.push_str(o);
        s.push('/');
    }
    s.push_str(&p.account);
    s
}

/// `_create_digest_key(start_date, prefix)`: the key a digest ending one minute before
/// `start` would have.
fn cli_marker(p: &WalkParams, prefix: Option<&str>, start: UtcTime) -> String {
    let date = start.plus_seconds(-60);
    format!(
        "{}/CloudTrail-Digest/{src}/{ymd}/{acct}_CloudTrail-Digest_{src}_{name}_{home}_{stamp}.json.gz",
        account_root(p, prefix),
        src = p.source_region,
        ymd = date.to_date_path(),
        acct = p.account,
        name = p.trail_name,
        home = p.home_region,
        stamp = date.to_compact(),
    )
}

/// `_create_digest_prefix`: the region's digest folder, without a trailing `/`.
fn cli_list_prefix(p: &WalkParams, prefix: Option<&str>) -> String {
    format!(
        "{}/CloudTrail-Digest/{}",
        account_root(p, prefix),
        p.source_region
    )
}

/// `_create_digest_key_regex`:
/// `^[<prefix>/]AWSLogs/[<o-id>/]<acct>/CloudTrail\-Digest/<src>/\d+/\d+/\d+/`
/// `<acct>_CloudTrail\-Digest_<src>_<name>_<home>_.+(?:_backfill)?\.json\.gz$`,
/// matched without a regex engine.
struct KeyMatcher {
    head: String,
    name_head: String,
}

impl KeyMatcher {
    fn new(p: &WalkParams, prefix: Option<&str>) -> Self {
        Self {
            head: format!(
                "{}/CloudTrail-Digest/{}/",
                account_root(p, prefix),
                p.source_region
            ),
            name_head: format!(
                "{}_CloudTrail-Digest_{}_{}_{}_",
                p.account, p.source_region, p.trail_name, p.home_region
            ),
        }
    }

    fn matches(&self, key: &str) -> bool {
        // Python's `$` also matches before one final newline.
        let key = key.strip_suffix('\n').unwrap_or(key);
        let Some(mut rest) = key.strip_prefix(&self.head) else {
            return false;
        };
        for _ in 0..3 {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return false;
            }
            match rest.get(digits..).and_then(|r| r.strip_prefix('/')) {
                Some(r) => rest = r,
                None => return false,
            }
        }
        let Some(tail) = rest.strip_prefix(&self.name_head) else {
            return false;
        };
        // `.+\.json\.gz`: at least one character (no newline) before `.json.gz`.
        match tail.strip_suffix(".json.gz") {
            Some(middle) => !middle.is_empty() && !middle.contains('\n'),
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> WalkParams {
        WalkParams {
            start: UtcTime::parse_iso("2026-01-10T00:00:00Z").unwrap(),
            end: UtcTime::parse_iso("2026-01-10T04:00:00Z").unwrap(),
            bucket: "ct-bucket".into(),
            prefix: Some("pfx".into()),
            organization: None,
            account: "123456789012".into(),
            trail_name: "mytrail".into(),
            home_region: "us-east-1".into(),
            source_region: "us-east-1".into(),
            strict: false,
            newest_signature: None,
        }
    }

    #[test]
    fn marker_and_prefix_match_the_captured_request() {
        // spec §7.1: the ListObjects request `aws cloudtrail validate-logs` sent.
        let p = params();
        assert_eq!(
            cli_marker(&p, Some("pfx"), p.start),
            "pfx/AWSLogs/123456789012/CloudTrail-Digest/us-east-1/2026/01/09/123456789012_CloudTrail-Digest_us-east-1_mytrail_us-east-1_20260109T235900Z.json.gz"
        );
        assert_eq!(
            cli_list_prefix(&p, Some("pfx")),
            "pfx/AWSLogs/123456789012/CloudTrail-Digest/us-east-1"
        );
    }

    #[test]
    fn key_matcher_follows_the_cli_regex() {
        let p = params();
        let m = KeyMatcher::new(&p, Some("pfx"));
        let good = "pfx/AWSLogs/123456789012/CloudTrail-Digest/us-east-1/2026/01/10/123456789012_CloudTrail-Digest_us-east-1_mytrail_us-east-1_20260110T010500Z.json.gz";
        assert!(m.matches(good));
        assert!(m.matches(&good.replace(".json.gz", "_backfill.json.gz")));
        assert!(m.matches(&format!("{good}\n")));
        assert!(!m.matches(&good.replace("mytrail", "othertrail")));
        assert!(!m.matches(&good.replace("/2026/", "/20x6/")));
        assert!(!m.matches(&good.replace("us-east-1_20260110T010500Z", "us-east-1_")));
        assert!(!m.matches(&good.replace("pfx/", "")));
    }
}
