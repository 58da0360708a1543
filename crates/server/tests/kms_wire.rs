//! `KmsApi::call` with JSON bodies as botocore sends them (spec §4.1: `json.dumps` spacing,
//! absent members omitted, blobs as base64, `{}` for no parameters), and the JSON it answers.

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine as _;
use sealtrail_model::{AccountId, Arn, Region, SeededRng, UtcTime};
use sealtrail_policy::{ParseOptions, Policy};
use sealtrail_server::api::{ApiFailure, CallContext, Caller, JsonApi, PrincipalKind};
use sealtrail_server::kms_api::KmsApi;
use serde_json::{Value, json};

const ACCOUNT: &str = "111122223333";
const T0: i64 = 1_767_225_600;

struct Wire {
    api: KmsApi,
    region: Region,
}

fn caller(arn: &str, kind: PrincipalKind, policies: &[&str]) -> Caller {
    Caller {
        account: AccountId::parse(ACCOUNT).unwrap(),
        arn: Arn::parse(arn).unwrap(),
        kind,
        user_name: None,
        user_id: "AIDAEXAMPLE".into(),
        access_key_id: "AKIAEXAMPLE".into(),
        tags: BTreeMap::new(),
        identity_policies: Arc::new(
            policies
                .iter()
                .map(|p| Policy::parse(p, &ParseOptions::identity()).unwrap())
                .collect(),
        ),
    }
}

fn admin() -> Caller {
    caller(
        &format!("arn:aws:iam::{ACCOUNT}:root"),
        PrincipalKind::Root,
        &[],
    )
}

impl Wire {
    fn new() -> Self {
        let region = Region::parse("us-east-1").unwrap();
        let kms = sealtrail_kms::Kms::open(
            region.clone(),
            Arc::new(sealtrail_kms::MemoryKeyStore::new()),
            Arc::new(sealtrail_kms::RootKeyWrapper::new(&[9; 32]).unwrap()),
            Box::new(SeededRng::new(7)),
        )
        .unwrap();
        Self {
            api: KmsApi::new(Arc::new(kms)),
            region,
        }
    }

    fn raw(&self, who: &Caller, op: &str, body: &str) -> Result<Vec<u8>, ApiFailure> {
        let ctx = CallContext {
            request_id: "req-1",
            caller: who,
            region: &self.region,
            source_ip: "127.0.0.1".parse().unwrap(),
            secure_transport: false,
            now: UtcTime::from_epoch_seconds(T0).unwrap(),
            user_agent: Some("aws-cli/1.46.3 botocore/1.44.8"),
        };
        self.api.call(&ctx, op, body.as_bytes())
    }

    fn ok(&self, op: &str, body: &str) -> Value {
        let out = self.raw(&admin(), op, body).unwrap();
        if out.is_empty() {
            return Value::Null;
        }
        serde_json::from_slice(&out).unwrap()
    }

    fn err(&self, op: &str, body: &str) -> ApiFailure {
        self.raw(&admin(), op, body).unwrap_err()
    }
}

fn b64(s: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

#[test]
fn the_protocol_seam() {
    let w = Wire::new();
    assert_eq!(w.api.target_prefix(), "TrentService");
    assert_eq!(w.api.signing_name(), "kms");
    assert_eq!(w.api.fault_code(), "KMSInternalException");
}

#[test]
fn create_describe_encrypt_decrypt_as_botocore_sends_them() {
    let w = Wire::new();
    let created = w.ok("CreateKey", "{}");
    let md = &created["KeyMetadata"];
    let key_id = md["KeyId"].as_str().unwrap().to_owned();
    let arn = format!("arn:aws:kms:us-east-1:{ACCOUNT}:key/{key_id}");
    assert_eq!(md["Arn"], arn);
    assert_eq!(md["AWSAccountId"], ACCOUNT);
    assert_eq!(md["CreationDate"], json!(1_767_225_600.0));
    assert_eq!(md["Enabled"], true);
    assert_eq!(md["Description"], "");
    assert_eq!(md["KeyUsage"], "ENCRYPT_DECRYPT");
    assert_eq!(md["KeyState"], "Enabled");
    assert_eq!(md["Origin"], "AWS_KMS");
    assert_eq!(md["KeyManager"], "CUSTOMER");
    assert_eq!(md["KeySpec"], "SYMMETRIC_DEFAULT");
    assert_eq!(md["CustomerMasterKeySpec"], "SYMMETRIC_DEFAULT");
    assert_eq!(md["EncryptionAlgorithms"], json!(["SYMMETRIC_DEFAULT"]));
    assert_eq!(md["MultiRegion"], false);
    assert!(md.get("DeletionDate").is_none());

    assert_eq!(
        w.ok(
            "CreateAlias",
            &format!(r#"{{"AliasName": "alias/app", "TargetKeyId": "{key_id}"}}"#)
        ),
        Value::Null,
        "operations without output answer an empty body"
    );
    // CLI v1 `--plaintext hello --encryption-context purpose=test`.
    let enc = w.ok(
        "Encrypt",
        r#"{"KeyId": "alias/app", "Plaintext": "aGVsbG8=", "EncryptionContext": {"purpose": "test"}}"#,
    );
    assert_eq!(enc["KeyId"], arn);
    assert_eq!(enc["EncryptionAlgorithm"], "SYMMETRIC_DEFAULT");
    let blob = enc["CiphertextBlob"].as_str().unwrap();
    let dec = w.ok(
        "Decrypt",
        &format!(r#"{{"CiphertextBlob": "{blob}", "EncryptionContext": {{"purpose": "test"}}}}"#),
    );
    assert_eq!(dec["Plaintext"], "aGVsbG8=");
    assert_eq!(dec["KeyId"], arn);
    assert_eq!(dec["EncryptionAlgorithm"], "SYMMETRIC_DEFAULT");
    // Wrong context: InvalidCiphertextException with an empty message.
    let e = w.err("Decrypt", &format!(r#"{{"CiphertextBlob": "{blob}"}}"#));
    assert_eq!(
        (e.code, e.message.as_str(), e.status),
        ("InvalidCiphertextException", "", 400)
    );
    // Non-string context values are taken as their text.
    let enc = w.ok(
        "Encrypt",
        &format!(
            r#"{{"KeyId": "{key_id}", "Plaintext": "{}", "EncryptionContext": {{"n": 1, "b": true}}}}"#,
            b64(b"x")
        ),
    );
    let blob = enc["CiphertextBlob"].as_str().unwrap();
    let dec = w.ok(
        "Decrypt",
        &format!(
            r#"{{"CiphertextBlob": "{blob}", "EncryptionContext": {{"b": "true", "n": "1"}}}}"#
        ),
    );
    assert_eq!(dec["Plaintext"], b64(b"x"));

    let dk = w.ok(
        "GenerateDataKey",
        &format!(r#"{{"KeyId": "{arn}", "KeySpec": "AES_256"}}"#),
    );
    let pt = base64::engine::general_purpose::STANDARD
        .decode(dk["Plaintext"].as_str().unwrap())
        .unwrap();
    assert_eq!(pt.len(), 32);
    assert_eq!(dk["KeyId"], arn);
    assert_eq!(dk["KeyMaterialId"].as_str().unwrap().len(), 64);
    let dk2 = w.ok(
        "GenerateDataKeyWithoutPlaintext",
        &format!(r#"{{"KeyId": "{key_id}", "NumberOfBytes": 64}}"#),
    );
    assert!(dk2.get("Plaintext").is_none());
    let re = w.ok(
        "ReEncrypt",
        &format!(
            r#"{{"CiphertextBlob": "{}", "DestinationKeyId": "alias/app"}}"#,
            dk2["CiphertextBlob"].as_str().unwrap()
        ),
    );
    assert_eq!(
        (&re["SourceKeyId"], &re["KeyId"]),
        (&json!(arn), &json!(arn))
    );
    let rnd = w.ok("GenerateRandom", r#"{"NumberOfBytes": 16}"#);
    assert_eq!(
        base64::engine::general_purpose::STANDARD
            .decode(rnd["Plaintext"].as_str().unwrap())
            .unwrap()
            .len(),
        16
    );
}

#[test]
fn lists_policies_rotation_and_deletion_shapes() {
    let w = Wire::new();
    let key_id = w.ok(
        "CreateKey",
        r#"{"Description": "d", "Tags": [{"TagKey": "k", "TagValue": "v"}]}"#,
    )["KeyMetadata"]["KeyId"]
        .as_str()
        .unwrap()
        .to_owned();
    let arn = format!("arn:aws:kms:us-east-1:{ACCOUNT}:key/{key_id}");
    w.ok(
        "CreateAlias",
        &format!(r#"{{"AliasName": "alias/a", "TargetKeyId": "{arn}"}}"#),
    );
    let keys = w.ok("ListKeys", "");
    assert_eq!(keys["Keys"], json!([{"KeyId": key_id, "KeyArn": arn}]));
    assert_eq!(keys["Truncated"], false);
    assert!(keys.get("NextMarker").is_none());
    let aliases = w.ok("ListAliases", "{}");
    assert_eq!(aliases["Aliases"][0]["AliasName"], "alias/a");
    assert_eq!(
        aliases["Aliases"][0]["AliasArn"],
        format!("arn:aws:kms:us-east-1:{ACCOUNT}:alias/a")
    );
    assert_eq!(
        aliases["Aliases"][0]["TargetKeyId"], key_id,
        "the key id, not the ARN"
    );
    assert_eq!(
        aliases["Aliases"][0]["CreationDate"],
        json!(1_767_225_600.0)
    );
    let tags = w.ok("ListResourceTags", &format!(r#"{{"KeyId": "{key_id}"}}"#));
    assert_eq!(
        tags,
        json!({"Tags": [{"TagKey": "k", "TagValue": "v"}], "Truncated": false})
    );
    let pol = w.ok("ListKeyPolicies", &format!(r#"{{"KeyId": "{key_id}"}}"#));
    assert_eq!(pol, json!({"PolicyNames": ["default"], "Truncated": false}));
    let gp = w.ok(
        "GetKeyPolicy",
        &format!(r#"{{"KeyId": "{key_id}", "PolicyName": "default"}}"#),
    );
    assert_eq!(gp["PolicyName"], "default");
    assert!(
        gp["Policy"]
            .as_str()
            .unwrap()
            .starts_with("{\n  \"Version\" : \"2012-10-17\",")
    );
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"}]}"#;
    w.ok(
        "PutKeyPolicy",
        &serde_json::to_string(
            &json!({"KeyId": key_id, "PolicyName": "default", "Policy": policy}),
        )
        .unwrap(),
    );
    let gp = w.ok("GetKeyPolicy", &format!(r#"{{"KeyId": "{key_id}"}}"#));
    assert_eq!(gp["Policy"], policy, "exactly as stored");

    w.ok(
        "EnableKeyRotation",
        &format!(r#"{{"KeyId": "{key_id}", "RotationPeriodInDays": 180}}"#),
    );
    let st = w.ok(
        "GetKeyRotationStatus",
        &format!(r#"{{"KeyId": "{key_id}"}}"#),
    );
    assert_eq!(
        st,
        json!({"KeyRotationEnabled": true, "KeyId": key_id, "RotationPeriodInDays": 180,
               "NextRotationDate": (T0 + 180 * 86_400) as f64})
    );
    assert_eq!(
        w.ok("RotateKeyOnDemand", &format!(r#"{{"KeyId": "{key_id}"}}"#)),
        json!({"KeyId": key_id})
    );
    let rot = w.ok("ListKeyRotations", &format!(r#"{{"KeyId": "{key_id}"}}"#));
    assert_eq!(rot["Rotations"][0]["RotationType"], "ON_DEMAND");
    assert_eq!(rot["Rotations"][0]["KeyMaterialState"], "CURRENT");

    let s = w.ok(
        "ScheduleKeyDeletion",
        &format!(r#"{{"KeyId": "{arn}", "PendingWindowInDays": 7}}"#),
    );
    assert_eq!(
        s,
        json!({"KeyId": arn, "DeletionDate": (T0 + 7 * 86_400) as f64, "KeyState": "PendingDeletion", "PendingWindowInDays": 7})
    );
    let d = w.ok("DescribeKey", r#"{"KeyId": "alias/a"}"#);
    assert_eq!(
        d["KeyMetadata"]["DeletionDate"],
        json!((T0 + 7 * 86_400) as f64)
    );
    assert_eq!(d["KeyMetadata"]["PendingDeletionWindowInDays"], 7);
    assert_eq!(d["KeyMetadata"]["Enabled"], false);
    let e = w.err(
        "Encrypt",
        &format!(r#"{{"KeyId": "{key_id}", "Plaintext": "eA=="}}"#),
    );
    assert_eq!(
        (e.code, e.message.clone()),
        (
            "KMSInvalidStateException",
            format!("{arn} is pending deletion.")
        )
    );
    assert_eq!(
        w.ok("CancelKeyDeletion", &format!(r#"{{"KeyId": "{key_id}"}}"#)),
        json!({"KeyId": arn})
    );
    let e = w.err(
        "Encrypt",
        &format!(r#"{{"KeyId": "{key_id}", "Plaintext": "eA=="}}"#),
    );
    assert_eq!(
        (e.code, e.message),
        ("DisabledException", format!("{arn} is disabled."))
    );
    w.ok("EnableKey", &format!(r#"{{"KeyId": "{key_id}"}}"#));
    w.ok(
        "UpdateKeyDescription",
        &format!(r#"{{"KeyId": "{key_id}", "Description": "new"}}"#),
    );
    w.ok(
        "UntagResource",
        &format!(r#"{{"KeyId": "{key_id}", "TagKeys": ["k"]}}"#),
    );
    w.ok(
        "TagResource",
        &format!(r#"{{"KeyId": "{key_id}", "Tags": [{{"TagKey": "x", "TagValue": ""}}]}}"#),
    );
    w.ok("DisableKeyRotation", &format!(r#"{{"KeyId": "{key_id}"}}"#));
    w.ok(
        "UpdateAlias",
        &format!(r#"{{"AliasName": "alias/a", "TargetKeyId": "{key_id}"}}"#),
    );
    w.ok("DeleteAlias", r#"{"AliasName": "alias/a"}"#);
    w.ok("DisableKey", &format!(r#"{{"KeyId": "{key_id}"}}"#));
}

#[test]
fn protocol_and_validation_errors() {
    let w = Wire::new();
    // Unknown members are ignored.
    let created = w.ok("CreateKey", r#"{"SomethingNew": {"a": [1, 2]}}"#);
    assert!(created["KeyMetadata"]["KeyId"].is_string());
    // Wrong JSON types and bad base64.
    for (op, body) in [
        ("CreateKey", r#"{"Description": 5}"#),
        ("Encrypt", r#"{"KeyId": "alias/x", "Plaintext": "***"}"#),
        ("ListKeys", r#"{"Limit": "ten"}"#),
        ("ListKeys", "[]"),
        ("ListKeys", "{not json"),
        (
            "Encrypt",
            r#"{"KeyId": "k", "Plaintext": "eA==", "EncryptionContext": {"a": null}}"#,
        ),
    ] {
        let e = w.err(op, body);
        assert_eq!(
            (e.code, e.status),
            ("SerializationException", 400),
            "{op} {body}"
        );
    }
    // Missing required members: AWS's ValidationException text.
    let e = w.err("Encrypt", r#"{"Plaintext": "eA=="}"#);
    assert_eq!(e.code, "ValidationException");
    assert_eq!(
        e.message,
        "1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null"
    );
    let e = w.err("GenerateRandom", r#"{"NumberOfBytes": 2000}"#);
    assert_eq!(
        e.message,
        "1 validation error detected: Value '2000' at 'numberOfBytes' failed to satisfy constraint: Member must have value less than or equal to 1024"
    );
    let e = w.err("DescribeKey", r#"{"KeyId": "nope"}"#);
    assert_eq!(
        (e.code, e.message.as_str()),
        ("NotFoundException", "Invalid keyId nope")
    );
    let e = w.err("Frobnicate", "{}");
    assert_eq!((e.code, e.status), ("UnknownOperationException", 400));
    let e = w.err("CreateGrant", "{}");
    assert_eq!(e.code, "UnsupportedOperationException");
    let e = w.err("ListKeys", r#"{"Marker": "bm90IG91cnM="}"#);
    assert_eq!(e.code, "InvalidMarkerException");
}

#[test]
fn access_denied_over_the_wire() {
    let w = Wire::new();
    let key_id = w.ok("CreateKey", "{}")["KeyMetadata"]["KeyId"]
        .as_str()
        .unwrap()
        .to_owned();
    let bob = caller(
        "arn:aws:iam::111122223333:user/Bob",
        PrincipalKind::User,
        &[
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:Encrypt","Resource":"*"}]}"#,
        ],
    );
    let enc: Value = serde_json::from_slice(
        &w.raw(
            &bob,
            "Encrypt",
            &format!(r#"{{"KeyId": "{key_id}", "Plaintext": "eA=="}}"#),
        )
        .unwrap(),
    )
    .unwrap();
    let e = w
        .raw(
            &bob,
            "Decrypt",
            &format!(
                r#"{{"CiphertextBlob": "{}"}}"#,
                enc["CiphertextBlob"].as_str().unwrap()
            ),
        )
        .unwrap_err();
    assert_eq!(e.code, "AccessDeniedException");
    assert_eq!(e.status, 400);
    assert_eq!(
        e.message,
        format!(
            "User: arn:aws:iam::111122223333:user/Bob is not authorized to perform: kms:Decrypt on resource: arn:aws:kms:us-east-1:111122223333:key/{key_id} because no identity-based policy allows the kms:Decrypt action"
        )
    );
}
