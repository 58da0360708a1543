//! Property tests of the validator over generated chains: a valid chain is never reported
//! invalid, and changing any byte of any object, deleting any object, or swapping two digests
//! is reported on exactly the affected files.

mod common;

use std::sync::OnceLock;

use common::{opts, params_for, run_engine};
use proptest::prelude::*;
use sealtrail_integrity::gzip::gunzip_first_member;
use sealtrail_integrity::sign::RsaSigner;
use sealtrail_model::{OrganizationId, UtcTime};
use sealtrail_testkit::{ChainSpec, Generated, MemoryBucket, generate};

fn signer() -> &'static RsaSigner {
    sealtrail_testkit::demo_signer().unwrap()
}

fn rt() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
    })
}

fn spec_strategy() -> impl Strategy<Value = ChainSpec> {
    (
        1u64..1000,
        2u32..7,
        0u32..4,
        any::<bool>(),
        any::<bool>(),
        proptest::option::of(1u32..5),
        any::<bool>(),
    )
        .prop_map(|(seed, hours, logs, prefix, org, gap, backfill)| {
            let mut s = ChainSpec::demo(hours, logs);
            s.seed = seed;
            s.records_per_log = 2;
            if prefix {
                s.prefix = Some("a/b".into());
            }
            if org {
                s.organization = Some(OrganizationId::parse("o-abcdefghij").unwrap());
            }
            if let Some(g) = gap
                && g + 1 < hours
            {
                s.gaps = vec![g];
            }
            if backfill {
                s.backfill = vec![hours - 1];
            }
            s
        })
}

fn build(spec: &ChainSpec) -> (MemoryBucket, Generated) {
    let mut b = MemoryBucket::new();
    let g = generate(spec, signer(), &mut b).unwrap();
    (b, g)
}

fn all_keys(g: &Generated) -> Vec<(&'static str, String)> {
    g.digests
        .iter()
        .map(|k| ("digest", k.clone()))
        .chain(g.backfill_digests.iter().map(|k| ("digest", k.clone())))
        .chain(g.logs.iter().map(|k| ("log", k.clone())))
        .collect()
}

/// The logs a digest names, when that digest is valid; removing a digest from the picture
/// removes its logs from the report (the AWS CLI never checks them).
fn expected_files(g: &Generated, invalid_digests: &[String]) -> usize {
    let mut n = g.digests.len() + g.backfill_digests.len();
    for (d, logs) in g.digests.iter().zip(&g.logs_by_digest) {
        if !invalid_digests.contains(d) {
            n += logs.len();
        }
    }
    // Backfill digests name one log each.
    n + g
        .backfill_digests
        .iter()
        .filter(|d| !invalid_digests.contains(d))
        .count()
}

/// Digests that some other digest names as its predecessor.
fn linked_digests(bucket: &MemoryBucket, g: &Generated) -> Vec<String> {
    g.digests
        .iter()
        .chain(&g.backfill_digests)
        .filter_map(|k| {
            let body = &bucket.get("ct-bucket", k)?.body;
            let json: serde_json::Value =
                serde_json::from_slice(&gunzip_first_member(body, u64::MAX).ok()?.0).ok()?;
            json["previousDigestS3Object"].as_str().map(str::to_owned)
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]

    #[test]
    fn a_valid_chain_is_valid(spec in spec_strategy()) {
        let (bucket, g) = build(&spec);
        let out = run_engine(rt(), bucket.clone(), params_for(&spec, false), opts(false));
        prop_assert_eq!(out.code, 0);
        prop_assert!(out.invalid().is_empty(), "{:?}", out.invalid());
        prop_assert_eq!(out.files.len(), expected_files(&g, &[]));
        // Strict mode finds nothing to say either.
        let strict = run_engine(rt(), bucket, params_for(&spec, true), opts(true));
        prop_assert_eq!(strict.code, 0, "{:?}", strict.strict);
        prop_assert!(strict.strict.is_empty());
    }

    #[test]
    fn a_changed_byte_is_reported_on_exactly_its_file(spec in spec_strategy(), pick in any::<prop::sample::Index>(), at in any::<prop::sample::Index>(), mask in 1u8..=255) {
        let (mut bucket, g) = build(&spec);
        let keys = all_keys(&g);
        let (kind, key) = keys[pick.index(keys.len())].clone();
        let original = bucket.get(&spec.bucket, &key).unwrap().body.clone();
        let content = gunzip_first_member(&original, u64::MAX).unwrap().0;
        let obj = bucket.get_mut(&spec.bucket, &key).unwrap();
        let i = at.index(obj.body.len());
        obj.body[i] ^= mask;
        // Only a change of the inflated content (or a broken gzip stream) is a change.
        let changed = gunzip_first_member(&obj.body, u64::MAX).map(|(c, trailing)| c != content || trailing).unwrap_or(true);
        let out = run_engine(rt(), bucket, params_for(&spec, false), opts(false));
        let invalid = out.invalid();
        if changed {
            prop_assert_eq!(out.code, 1);
            prop_assert_eq!(invalid.len(), 1, "{:?}", invalid);
            prop_assert!(invalid.contains_key(&(kind.to_owned(), key.clone())), "{:?}", invalid);
        } else {
            prop_assert_eq!(out.code, 0);
            prop_assert!(invalid.is_empty(), "{:?}", invalid);
        }
    }

    #[test]
    fn a_deleted_object_is_reported_on_exactly_its_file(spec in spec_strategy(), pick in any::<prop::sample::Index>()) {
        let (mut bucket, g) = build(&spec);
        let keys = all_keys(&g);
        let (kind, key) = keys[pick.index(keys.len())].clone();
        let linked = linked_digests(&bucket, &g);
        bucket.remove(&spec.bucket, &key);
        let out = run_engine(rt(), bucket.clone(), params_for(&spec, false), opts(false));
        let invalid = out.invalid();
        if kind == "digest" && !linked.contains(&key) {
            // No digest names this one as its predecessor: the newest digest, or the last one
            // before logging stopped. Once deleted it is not listed, and the AWS CLI cannot
            // tell it from a longer gap or a shorter chain. --strict can: its log files are
            // then referenced by no digest, and --expect-until catches a cut tail.
            prop_assert!(invalid.is_empty(), "{:?}", invalid);
            let mut o = opts(true);
            o.expect_until = Some(spec.start.plus_seconds(i64::from(spec.hours) * 3600));
            let strict = run_engine(rt(), bucket, params_for(&spec, true), o);
            if g.digests.last() == Some(&key) {
                prop_assert_eq!(strict.code, 1);
                prop_assert!(strict.strict.iter().any(|(c, _)| c == "truncation"), "{:?}", strict.strict);
            } else if let Some(i) = g.digests.iter().position(|d| d == &key) {
                for log in &g.logs_by_digest[i] {
                    prop_assert!(strict.strict.contains(&("unreferenced_log".to_owned(), log.clone())), "{:?}", strict.strict);
                }
            }
        } else {
            prop_assert_eq!(out.code, 1);
            prop_assert_eq!(invalid.len(), 1, "{:?}", invalid);
            prop_assert_eq!(invalid.get(&(kind.to_owned(), key.clone())).map(String::as_str), Some("invalid:not_found"));
        }
    }

    #[test]
    fn swapped_digests_are_both_reported_moved(spec in spec_strategy(), a in any::<prop::sample::Index>(), b in any::<prop::sample::Index>()) {
        prop_assume!(spec.hours >= 3);
        let (mut bucket, g) = build(&spec);
        prop_assume!(g.digests.len() >= 2);
        let (i, j) = (a.index(g.digests.len()), b.index(g.digests.len()));
        prop_assume!(i != j);
        let (ki, kj) = (g.digests[i].clone(), g.digests[j].clone());
        let bi = bucket.get(&spec.bucket, &ki).unwrap().clone();
        let bj = bucket.get(&spec.bucket, &kj).unwrap().clone();
        *bucket.get_mut(&spec.bucket, &ki).unwrap() = bj;
        *bucket.get_mut(&spec.bucket, &kj).unwrap() = bi;
        let out = run_engine(rt(), bucket, params_for(&spec, false), opts(false));
        let invalid = out.invalid();
        prop_assert_eq!(out.code, 1);
        prop_assert_eq!(invalid.len(), 2, "{:?}", invalid);
        prop_assert_eq!(invalid.get(&("digest".to_owned(), ki)).map(String::as_str), Some("invalid:moved"));
        prop_assert_eq!(invalid.get(&("digest".to_owned(), kj)).map(String::as_str), Some("invalid:moved"));
        prop_assert_eq!(out.files.len(), expected_files(&g, &[g.digests[i].clone(), g.digests[j].clone()]));
    }
}

#[test]
fn window_bounds_select_digests_like_the_cli() {
    // Digests whose name time lies in [start, end + 1 h] are listed; the walk stops once a
    // digest starts before `start`.
    let spec = ChainSpec::demo(6, 1);
    let (bucket, g) = build(&spec);
    let mut p = params_for(&spec, false);
    p.start = UtcTime::parse_iso("2026-01-10T02:00:00Z").unwrap();
    p.end = UtcTime::parse_iso("2026-01-10T03:00:00Z").unwrap();
    let out = run_engine(rt(), bucket, p, opts(false));
    let digests: Vec<&String> = out
        .files
        .keys()
        .filter(|(k, _)| k == "digest")
        .map(|(_, v)| v)
        .collect();
    // Listed: names up to end + 1 h = 04:00, so 03:05 and 02:05; 02:05 starts at 01:05,
    // before `start`: it is validated and the walk stops.
    assert_eq!(digests.len(), 2, "{digests:?}");
    assert!(digests.contains(&&g.digests[1]) && digests.contains(&&g.digests[2]));
}

#[test]
fn strict_checks_the_links_the_aws_cli_ignores() {
    use sealtrail_integrity::chain::{ChainHead, DigestInput, next_digest};
    use sealtrail_integrity::layout::{DigestKey, DigestKind, TrailLocation};
    use sealtrail_testkit::ObjectSink;

    let spec = ChainSpec::demo(1, 0);
    let (mut bucket, g) = build(&spec);
    let first = gunzip_first_member(
        &bucket.get("ct-bucket", &g.digests[0]).unwrap().body,
        u64::MAX,
    )
    .unwrap()
    .0;
    // A second digest, validly signed, that names the first but commits to other bytes, another
    // signature, and does not start where the first ends.
    let lying_head = ChainHead {
        bucket: "ct-bucket".into(),
        key: g.digests[0].clone(),
        sha256_hex: sealtrail_integrity::sha256_hex(b"not the first digest"),
        signature_hex: "ab".repeat(256),
        end: spec.start.plus_seconds(3600),
    };
    assert_ne!(
        lying_head.sha256_hex,
        sealtrail_integrity::sha256_hex(&first)
    );
    let key = DigestKey {
        location: TrailLocation::new(spec.account.clone()),
        source_region: spec.region.clone(),
        trail_name: spec.trail.clone(),
        home_region: spec.home_region.clone(),
        end: spec.start.plus_seconds(2 * 3600),
        kind: DigestKind::Standard,
    };
    let mut shifted = lying_head.clone();
    shifted.end = spec.start.plus_seconds(3600 + 60);
    let sealed = next_digest(
        &DigestInput {
            bucket: "ct-bucket",
            key: &key,
            start: shifted.end,
            logs: &[],
            previous: Some(&shifted),
            backfill_generated: None,
        },
        signer(),
    )
    .unwrap();
    bucket
        .put("ct-bucket", &sealed.key, &sealed.gz, &sealed.metadata)
        .unwrap();
    let mut p = params_for(&spec, true);
    p.end = spec.start.plus_seconds(2 * 3600);
    // The AWS CLI's verdict: both digests valid.
    let lax = run_engine(
        rt(),
        bucket.clone(),
        {
            let mut q = p.clone();
            q.strict = false;
            q
        },
        opts(false),
    );
    assert_eq!(lax.code, 0, "{:?}", lax.invalid());
    // Strict: the link is broken three ways.
    let strict = run_engine(rt(), bucket, p, opts(true));
    assert_eq!(strict.code, 1);
    let checks: Vec<&str> = strict.strict.iter().map(|(c, _)| c.as_str()).collect();
    assert_eq!(
        checks,
        ["digest_link", "digest_link", "digest_link"],
        "{:?}",
        strict.strict
    );
}
