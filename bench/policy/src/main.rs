//! Policy evaluations per second, single-threaded: the CloudTrail key policy of
//! spec-formats.md §5.1 and a 50-statement bucket policy.
//!
//! Run with `cargo run --release -p sealtrail-bench-policy`. Each scenario is timed for about
//! one second (after a warm-up), both through `authorize` (decision plus explanation) and
//! through `decide` (decision only, allocation-free).

use std::error::Error;
use std::hint::black_box;
use std::time::{Duration, Instant};

use sealtrail_model::Arn;
use sealtrail_policy::{
    Caller, Context, ContextValue, Decision, ParseOptions, Policy, PolicySet, Request,
    ResourceKind, Value, authorize, decide,
};

const A: &str = "111122223333";
const R: &str = "us-east-2";
const KEY: &str = "arn:aws:kms:us-east-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const TRAIL: &str = "arn:aws:cloudtrail:us-east-2:111122223333:trail/my-trail";

fn cloudtrail_key_policy() -> String {
    format!(
        r#"{{"Version":"2012-10-17","Id":"Key policy created by CloudTrail","Statement":[
 {{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{A}:root"}},"Action":"kms:*","Resource":"*"}},
 {{"Sid":"Allow CloudTrail to encrypt logs","Effect":"Allow","Principal":{{"Service":"cloudtrail.amazonaws.com"}},
  "Action":"kms:GenerateDataKey*","Resource":"*",
  "Condition":{{"StringLike":{{"kms:EncryptionContext:aws:cloudtrail:arn":"arn:aws:cloudtrail:*:{A}:trail/*"}},
               "StringEquals":{{"aws:SourceArn":"{TRAIL}"}}}}}},
 {{"Sid":"Allow CloudTrail to describe key","Effect":"Allow","Principal":{{"Service":"cloudtrail.amazonaws.com"}},
  "Action":"kms:DescribeKey","Resource":"*","Condition":{{"StringEquals":{{"aws:SourceArn":"{TRAIL}"}}}}}},
 {{"Sid":"Allow principals in the account to decrypt log files","Effect":"Allow","Principal":{{"AWS":"*"}},
  "Action":["kms:Decrypt","kms:ReEncryptFrom"],"Resource":"*",
  "Condition":{{"StringEquals":{{"kms:CallerAccount":"{A}"}},
               "StringLike":{{"kms:EncryptionContext:aws:cloudtrail:arn":"arn:aws:cloudtrail:*:{A}:trail/*"}}}}}},
 {{"Sid":"Allow alias creation during setup","Effect":"Allow","Principal":{{"AWS":"*"}},"Action":"kms:CreateAlias","Resource":"*",
  "Condition":{{"StringEquals":{{"kms:ViaService":"ec2.{R}.amazonaws.com","kms:CallerAccount":"{A}"}}}}}},
 {{"Sid":"Enable cross account log decryption","Effect":"Allow","Principal":{{"AWS":"*"}},
  "Action":["kms:Decrypt","kms:ReEncryptFrom"],"Resource":"*",
  "Condition":{{"StringEquals":{{"kms:CallerAccount":"{A}"}},
               "StringLike":{{"kms:EncryptionContext:aws:cloudtrail:arn":"arn:aws:cloudtrail:*:{A}:trail/*"}}}}}}]}}"#
    )
}

/// 50 statements of the kinds bucket policies are made of: per-team prefixes, TLS and IP
/// denies, CloudTrail and other service principals, cross-account readers.
fn bucket_policy() -> String {
    let mut stmts = Vec::new();
    stmts.push(r#"{"Sid":"DenyInsecureTransport","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::data-bucket","arn:aws:s3:::data-bucket/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}}"#.to_owned());
    stmts.push(r#"{"Sid":"DenyOutsideCorp","Effect":"Deny","Principal":{"AWS":"*"},"Action":"s3:DeleteObject","Resource":"arn:aws:s3:::data-bucket/*","Condition":{"NotIpAddress":{"aws:SourceIp":["10.0.0.0/8","192.0.2.0/24","2001:db8::/32"]}}}"#.to_owned());
    stmts.push(format!(r#"{{"Sid":"AWSCloudTrailAclCheck","Effect":"Allow","Principal":{{"Service":"cloudtrail.amazonaws.com"}},"Action":"s3:GetBucketAcl","Resource":"arn:aws:s3:::data-bucket","Condition":{{"StringEquals":{{"aws:SourceArn":"{TRAIL}"}}}}}}"#));
    stmts.push(format!(r#"{{"Sid":"AWSCloudTrailWrite","Effect":"Allow","Principal":{{"Service":"cloudtrail.amazonaws.com"}},"Action":"s3:PutObject","Resource":"arn:aws:s3:::data-bucket/AWSLogs/{A}/*","Condition":{{"StringEquals":{{"s3:x-amz-acl":"bucket-owner-full-control","aws:SourceArn":"{TRAIL}"}}}}}}"#));
    for i in 0..40 {
        stmts.push(format!(
            r#"{{"Sid":"Team{i}Read","Effect":"Allow","Principal":{{"AWS":["arn:aws:iam::{A}:role/team{i}-reader","arn:aws:iam::4444555566{i:02}:root"]}},"Action":["s3:GetObject","s3:GetObjectVersion","s3:ListBucket"],"Resource":["arn:aws:s3:::data-bucket/teams/team{i}/*","arn:aws:s3:::data-bucket"],"Condition":{{"StringLike":{{"aws:PrincipalTag/team":["team{i}","admins"]}},"StringEqualsIfExists":{{"s3:prefix":"teams/team{i}/"}}}}}}"#
        ));
    }
    for i in 0..6 {
        stmts.push(format!(
            r#"{{"Sid":"Ingest{i}","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{A}:role/ingest-{i}"}},"Action":"s3:PutObject","Resource":"arn:aws:s3:::data-bucket/ingest/{i}/*","Condition":{{"StringEquals":{{"s3:x-amz-acl":"bucket-owner-full-control"}},"IpAddress":{{"aws:SourceIp":"10.{i}.0.0/16"}}}}}}"#
        ));
    }
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{}]}}"#,
        stmts.join(",\n")
    )
}

fn request(
    principal: &str,
    action: &str,
    resource: &str,
    ctx: &[(&str, ContextValue)],
) -> Result<Request, Box<dyn Error>> {
    let mut c = Context::new();
    for (k, v) in ctx {
        c.insert(k, v.clone());
    }
    Ok(Request::new(
        Caller::parse(principal)?,
        action,
        Arn::parse(resource)?,
        c,
    )?)
}

struct Scenario<'a> {
    name: &'a str,
    request: Request,
    set: &'a PolicySet,
    expect: Decision,
}

/// Nanoseconds this thread has spent on a CPU (Linux `schedstat`), if available. The machine
/// is shared, so wall-clock rates undercount; the CPU-time rate is what one core delivers.
fn thread_cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

/// Evaluations per wall-clock second and per CPU second.
struct Rate {
    wall: f64,
    cpu: Option<f64>,
}

/// Runs `f` in batches until about `budget` of wall time has passed.
fn measure(budget: Duration, mut f: impl FnMut() -> Decision) -> Rate {
    // Warm-up.
    for _ in 0..10_000 {
        black_box(f());
    }
    let cpu0 = thread_cpu_ns();
    let start = Instant::now();
    let mut n: u64 = 0;
    loop {
        for _ in 0..10_000 {
            black_box(f());
        }
        n += 10_000;
        if start.elapsed() >= budget {
            break;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let cpu = match (cpu0, thread_cpu_ns()) {
        (Some(a), Some(b)) if b > a => Some(n as f64 / ((b - a) as f64 / 1e9)),
        _ => None,
    };
    Rate {
        wall: n as f64 / secs,
        cpu,
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    let budget = Duration::from_millis(
        std::env::var("SEALTRAIL_BENCH_MS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(1000),
    );
    let key_policy = Policy::parse(&cloudtrail_key_policy(), &ParseOptions::key_policy())?;
    let bucket = bucket_policy();
    let bucket_policy = Policy::parse(&bucket, &ParseOptions::bucket_policy())?;
    let key_set = PolicySet {
        identity: Vec::new(),
        resource: Some((key_policy, ResourceKind::KmsKey)),
    };
    let bucket_set = PolicySet {
        identity: Vec::new(),
        resource: Some((bucket_policy, ResourceKind::S3Bucket)),
    };
    let ec = ContextValue::Single(Value::string(TRAIL));
    let keys = ContextValue::Multi(vec![
        Value::string("aws:cloudtrail:arn"),
        Value::string("aws:s3:arn"),
    ]);
    let s3arn = ContextValue::Single(Value::string(
        "arn:aws:s3:::data-bucket/AWSLogs/111122223333/CloudTrail/us-east-2/2026/01/01/x.json.gz",
    ));
    let scenarios = [
        Scenario {
            name: "key policy: CloudTrail GenerateDataKey (allowed)",
            request: request(
                "service:cloudtrail.amazonaws.com",
                "kms:GenerateDataKey",
                KEY,
                &[
                    ("kms:EncryptionContext:aws:cloudtrail:arn", ec.clone()),
                    ("kms:EncryptionContext:aws:s3:arn", s3arn.clone()),
                    ("kms:EncryptionContextKeys", keys.clone()),
                    ("aws:SourceArn", ContextValue::Single(Value::string(TRAIL))),
                    ("aws:SourceAccount", ContextValue::Single(Value::string(A))),
                ],
            )?,
            set: &key_set,
            expect: Decision::Allow,
        },
        Scenario {
            name: "key policy: reader Decrypt via S3 (allowed)",
            request: request(
                "arn:aws:iam::111122223333:user/Alice",
                "kms:Decrypt",
                KEY,
                &[
                    ("kms:EncryptionContext:aws:cloudtrail:arn", ec.clone()),
                    ("kms:EncryptionContext:aws:s3:arn", s3arn.clone()),
                    ("kms:EncryptionContextKeys", keys.clone()),
                    (
                        "kms:ViaService",
                        ContextValue::Single(Value::string("s3.us-east-2.amazonaws.com")),
                    ),
                ],
            )?,
            set: &key_set,
            expect: Decision::Allow,
        },
        Scenario {
            name: "key policy: other-account Decrypt (denied)",
            request: request(
                "arn:aws:iam::444455556666:user/Mallory",
                "kms:Decrypt",
                KEY,
                &[("kms:EncryptionContext:aws:cloudtrail:arn", ec.clone())],
            )?,
            set: &key_set,
            expect: Decision::ImplicitDeny,
        },
        Scenario {
            name: "bucket policy (50 statements): team-39 GetObject (allowed)",
            request: request(
                "arn:aws:sts::111122223333:assumed-role/team39-reader/s",
                "s3:GetObject",
                "arn:aws:s3:::data-bucket/teams/team39/report.csv",
                &[
                    (
                        "aws:SecureTransport",
                        ContextValue::Single(Value::bool(true)),
                    ),
                    (
                        "aws:SourceIp",
                        ContextValue::Single(Value::string("10.1.2.3")),
                    ),
                    (
                        "aws:PrincipalTag/team",
                        ContextValue::Single(Value::string("team39")),
                    ),
                ],
            )?,
            set: &bucket_set,
            expect: Decision::Allow,
        },
        Scenario {
            name: "bucket policy (50 statements): unknown role (denied)",
            request: request(
                "arn:aws:sts::111122223333:assumed-role/stranger/s",
                "s3:GetObject",
                "arn:aws:s3:::data-bucket/teams/team3/report.csv",
                &[(
                    "aws:SecureTransport",
                    ContextValue::Single(Value::bool(true)),
                )],
            )?,
            set: &bucket_set,
            expect: Decision::ImplicitDeny,
        },
    ];
    println!(
        "sealtrail-policy evaluation benchmark (single thread, {} ms per measurement)",
        budget.as_millis()
    );
    println!(
        "rates are evaluations per CPU second of this thread (wall-clock rate in brackets; they differ when the machine is busy)"
    );
    println!(
        "{:<60} {:>12} {:>8} {:>12} {:>12} {:>8} {:>12}",
        "scenario", "authorize/s", "ns", "(wall/s)", "decide/s", "ns", "(wall/s)"
    );
    for s in &scenarios {
        let got = authorize(&s.request, s.set).value();
        if got != s.expect {
            return Err(format!("{}: expected {}, got {got}", s.name, s.expect).into());
        }
        let explained = measure(budget, || {
            authorize(black_box(&s.request), black_box(s.set)).value()
        });
        let bare = measure(budget, || decide(black_box(&s.request), black_box(s.set)));
        let (e, b) = (
            explained.cpu.unwrap_or(explained.wall),
            bare.cpu.unwrap_or(bare.wall),
        );
        println!(
            "{:<60} {:>12.0} {:>8.1} {:>12} {:>12.0} {:>8.1} {:>12}",
            s.name,
            e,
            1e9 / e,
            format!("({:.0})", explained.wall),
            b,
            1e9 / b,
            format!("({:.0})", bare.wall)
        );
    }
    // What a KMS front end pays per call in total: building the request (caller, context with
    // the encryption context, derived keys) and authorizing it.
    let build_and_authorize = measure(budget, || {
        let Ok(r) = request(
            "service:cloudtrail.amazonaws.com",
            "kms:GenerateDataKey",
            KEY,
            &[
                ("kms:EncryptionContext:aws:cloudtrail:arn", ec.clone()),
                ("kms:EncryptionContext:aws:s3:arn", s3arn.clone()),
                ("kms:EncryptionContextKeys", keys.clone()),
                ("aws:SourceArn", ContextValue::Single(Value::string(TRAIL))),
                ("aws:SourceAccount", ContextValue::Single(Value::string(A))),
            ],
        ) else {
            return Decision::ImplicitDeny;
        };
        authorize(black_box(&r), black_box(&key_set)).value()
    });
    let rate = build_and_authorize.cpu.unwrap_or(build_and_authorize.wall);
    println!(
        "{:<60} {:>12.0} {:>8.1} {:>12}",
        "key policy: build Request + authorize (CloudTrail GenerateDataKey)",
        rate,
        1e9 / rate,
        format!("({:.0})", build_and_authorize.wall)
    );
    println!(
        "bucket policy: {} statements, {} bytes",
        bucket_set
            .resource
            .as_ref()
            .map_or(0, |(p, _)| p.statements().len()),
        bucket.len()
    );
    Ok(())
}
