//! Seeded, realistic CloudTrail event records.

use sealtrail_model::{SeededRng, UtcTime};
use serde_json::json;
use serde_json::value::RawValue;

const CALLS: &[(&str, &str, bool)] = &[
    ("kms.amazonaws.com", "Decrypt", true),
    ("kms.amazonaws.com", "GenerateDataKey", true),
    ("s3.amazonaws.com", "GetObject", true),
    ("s3.amazonaws.com", "PutObject", false),
    ("iam.amazonaws.com", "ListUsers", true),
    ("sts.amazonaws.com", "AssumeRole", false),
    ("ec2.amazonaws.com", "DescribeInstances", true),
    ("cloudtrail.amazonaws.com", "LookupEvents", true),
];

const USERS: &[&str] = &["alice", "bob", "carol", "deploy-bot", "auditor"];

fn uuid(rng: &mut SeededRng) -> String {
    let a = rng.next_u64();
    let b = rng.next_u64();
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0x0fff,
        0x8000 | (b >> 48 & 0x3fff),
        b & 0xffff_ffff_ffff
    )
}

/// `n` records for `account` in `region`, with event times spread over `[from, to]`, sorted
/// by time.
#[must_use]
pub fn records(
    rng: &mut SeededRng,
    account: &str,
    region: &str,
    from: UtcTime,
    to: UtcTime,
    n: usize,
) -> Vec<Box<RawValue>> {
    let span = u64::try_from((to.epoch_seconds() - from.epoch_seconds()).max(0)).unwrap_or(0);
    let mut times: Vec<i64> = (0..n)
        .map(|_| i64::try_from(rng.below(span + 1)).unwrap_or(0))
        .collect();
    times.sort_unstable();
    times
        .into_iter()
        .filter_map(|offset| {
            let t = from.plus_seconds(offset);
            let (source, name, read_only) = pick(rng, CALLS).unwrap_or(("kms.amazonaws.com", "Decrypt", true));
            let user = pick(rng, USERS).unwrap_or("alice");
            let ip = format!("198.51.100.{}", rng.below(254) + 1);
            let request_id = uuid(rng);
            let event_id = uuid(rng);
            let key_id = format!("arn:aws:kms:{region}:{account}:key/{}", uuid(rng));
            let v = json!({
                "eventVersion": "1.11",
                "userIdentity": {
                    "type": "IAMUser",
                    "principalId": format!("AIDA{:016X}", rng.next_u64()),
                    "arn": format!("arn:aws:iam::{account}:user/{user}"),
                    "accountId": account,
                    "accessKeyId": format!("AKIA{:016X}", rng.next_u64()),
                    "userName": user
                },
                "eventTime": t.to_iso(),
                "eventSource": source,
                "eventName": name,
                "awsRegion": region,
                "sourceIPAddress": ip,
                "userAgent": "aws-cli/1.46.3 Python/3.11.7 Linux/6.1 botocore/1.44.8",
                "requestParameters": {"keyId": key_id, "encryptionContext": {"aws:cloudtrail:arn": format!("arn:aws:cloudtrail:{region}:{account}:trail/main")}},
                "responseElements": null,
                "requestID": request_id,
                "eventID": event_id,
                "readOnly": read_only,
                "resources": [{"ARN": key_id, "accountId": account, "type": "AWS::KMS::Key"}],
                "eventType": "AwsApiCall",
                "managementEvent": true,
                "recipientAccountId": account,
                "eventCategory": "Management",
                "tlsDetails": {"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256", "clientProvidedHostHeader": format!("{}.{region}.amazonaws.com", source.split('.').next().unwrap_or("kms"))}
            });
            serde_json::value::to_raw_value(&v).ok()
        })
        .collect()
}

fn pick<T: Copy>(rng: &mut SeededRng, items: &[T]) -> Option<T> {
    let i = usize::try_from(rng.below(items.len() as u64)).ok()?;
    items.get(i).copied()
}
