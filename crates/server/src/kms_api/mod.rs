//! The KMS JSON 1.1 API (`X-Amz-Target: TrentService.<Operation>`, SigV4 service `kms`):
//! [`KmsApi`], the [`JsonApi`] that turns a framed, authenticated call into a call of
//! [`sealtrail_kms::Kms`] and its answer back into AWS's JSON.
//!
//! How the server wires it up:
//!
//! ```no_run
//! # fn demo(data_dir: &std::path::Path, root_key: &[u8]) -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use sealtrail_model::{Region, UtcTime};
//! use sealtrail_server::kms_api::{KmsApi, open_kms};
//! // The KMS over the SQLite store in the data directory, material wrapped under the root key.
//! let kms = open_kms(Region::parse("us-east-1")?, &data_dir.join("kms.sqlite3"), root_key)?;
//! let api = KmsApi::new(Arc::clone(&kms)); // register it as a JsonApi
//! // Every few seconds, on a blocking thread: purge keys past their deletion date, rotate.
//! let report = kms.tick(UtcTime::from_epoch_seconds(1_767_225_600)?)?;
//! # let _ = (api, report); Ok(()) }
//! ```
//!
//! `call` may block briefly: mutations write to SQLite (with `fsync`) before they return, so
//! the edge should run it on a blocking thread (`tokio::task::spawn_blocking`) or accept
//! that. Cryptographic operations do no I/O.
//!
//! Internal callers (the future S3 and CloudTrail sides) do not go through this type: they
//! call [`sealtrail_kms::Kms`] directly with a [`sealtrail_kms::Call`], setting
//! `kms:ViaService` ([`sealtrail_kms::Call::via_service`]) when acting for a user, or acting
//! as a service principal ([`sealtrail_kms::Caller::service`] with
//! [`sealtrail_kms::Call::source`] for `aws:SourceArn`/`aws:SourceAccount`).

mod error;
mod wire;

use std::path::Path;
use std::sync::Arc;

use sealtrail_kms::ops;
use sealtrail_kms::{Call, Caller as KmsCaller, Kms, KmsError, RootKeyWrapper};
use sealtrail_model::{Region, Rng};
use sealtrail_policy::AwsPrincipal;
use sealtrail_store::kms_sqlite::SqliteKeyStore;

pub use error::{ERROR_CODES, KmsApiError};

use crate::api::{ApiFailure, CallContext, Caller, JsonApi};

/// The KMS operations served, in the order of issue 5.
pub const OPERATIONS: &[&str] = &[
    "CreateKey",
    "DescribeKey",
    "ListKeys",
    "PutKeyPolicy",
    "GetKeyPolicy",
    "ListKeyPolicies",
    "Encrypt",
    "Decrypt",
    "ReEncrypt",
    "GenerateDataKey",
    "GenerateDataKeyWithoutPlaintext",
    "GenerateRandom",
    "EnableKey",
    "DisableKey",
    "ScheduleKeyDeletion",
    "CancelKeyDeletion",
    "EnableKeyRotation",
    "DisableKeyRotation",
    "GetKeyRotationStatus",
    "RotateKeyOnDemand",
    "ListKeyRotations",
    "CreateAlias",
    "UpdateAlias",
    "DeleteAlias",
    "ListAliases",
    "TagResource",
    "UntagResource",
    "ListResourceTags",
    "UpdateKeyDescription",
];

/// KMS operations of AWS's model that sealtrail does not serve: they answer
/// `UnsupportedOperationException` (a modelled code) instead of `UnknownOperationException`.
const UNSERVED: &[&str] = &[
    "ConnectCustomKeyStore",
    "CreateCustomKeyStore",
    "CreateGrant",
    "Decapsulate",
    "DeleteCustomKeyStore",
    "DeleteImportedKeyMaterial",
    "DeriveSharedSecret",
    "DescribeCustomKeyStores",
    "DisconnectCustomKeyStore",
    "Encapsulate",
    "GenerateDataKeyPair",
    "GenerateDataKeyPairWithoutPlaintext",
    "GenerateMac",
    "GetKeyLastUsage",
    "GetParametersForImport",
    "GetPublicKey",
    "ImportKeyMaterial",
    "ListGrants",
    "ListRetirableGrants",
    "ReplicateKey",
    "RetireGrant",
    "RevokeGrant",
    "Sign",
    "UpdateCustomKeyStore",
    "UpdatePrimaryRegion",
    "Verify",
    "VerifyMac",
];

/// The operating system's cryptographic random generator (aws-lc-rs), for [`Kms::open`].
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemRng;

impl Rng for SystemRng {
    fn fill(&mut self, buf: &mut [u8]) {
        for _ in 0..3 {
            if aws_lc_rs::rand::fill(buf).is_ok() {
                return;
            }
        }
        // No randomness means no safe keys, nonces or data keys: stop rather than go on.
        std::process::abort();
    }
}

/// Opens the KMS of `region` over the SQLite store at `database` (created if missing), with
/// key material wrapped under `root_key` (32 bytes, from the root key file) and
/// [`SystemRng`].
///
/// # Errors
/// [`KmsError::Internal`] when the database cannot be opened or read, or the root key is not
/// the one the material was wrapped with.
pub fn open_kms(region: Region, database: &Path, root_key: &[u8]) -> Result<Arc<Kms>, KmsError> {
    let store = SqliteKeyStore::open(database).map_err(|e| KmsError::Internal(e.to_string()))?;
    let wrapper = RootKeyWrapper::new(root_key)?;
    Ok(Arc::new(Kms::open(
        region,
        Arc::new(store),
        Arc::new(wrapper),
        Box::new(SystemRng),
    )?))
}

/// The KMS [`JsonApi`].
#[derive(Debug, Clone)]
pub struct KmsApi {
    kms: Arc<Kms>,
}

impl KmsApi {
    /// The API over `kms` (shared with [`Kms::tick`] and internal callers).
    #[must_use]
    pub fn new(kms: Arc<Kms>) -> Self {
        Self { kms }
    }

    /// The KMS behind the API.
    #[must_use]
    pub fn kms(&self) -> &Arc<Kms> {
        &self.kms
    }

    fn dispatch(
        &self,
        call: &Call<'_>,
        operation: &str,
        body: &[u8],
    ) -> Result<Vec<u8>, KmsApiError> {
        use wire::*;
        let kms = &self.kms;
        let empty = |r: Result<(), KmsError>| r.map(|()| Vec::new()).map_err(KmsApiError::from);
        match operation {
            "CreateKey" => {
                let r = kms.create_key(call, parse::<CreateKeyIn>(body)?.into())?;
                json(&KeyMetadataResponseOut {
                    key_metadata: r.key_metadata.into(),
                })
            }
            "DescribeKey" => {
                let r = kms.describe_key(call, parse::<DescribeKeyIn>(body)?.into())?;
                json(&KeyMetadataResponseOut {
                    key_metadata: r.key_metadata.into(),
                })
            }
            "ListKeys" => {
                let p = kms.list_keys(call, parse::<PageIn>(body)?.list_keys())?;
                json(&page_out(p, |items| KeysOut {
                    keys: items
                        .into_iter()
                        .map(|k| KeyListEntryOut {
                            key_id: k.key_id,
                            key_arn: k.key_arn,
                        })
                        .collect(),
                }))
            }
            "PutKeyPolicy" => {
                empty(kms.put_key_policy(call, parse::<PutKeyPolicyIn>(body)?.into()))
            }
            "GetKeyPolicy" => {
                let r = kms.get_key_policy(call, parse::<GetKeyPolicyIn>(body)?.into())?;
                json(&GetKeyPolicyOut {
                    policy: r.policy,
                    policy_name: r.policy_name,
                })
            }
            "ListKeyPolicies" => {
                let p = kms.list_key_policies(call, parse::<PageIn>(body)?.key_page())?;
                json(&page_out(p, |policy_names| PolicyNamesOut { policy_names }))
            }
            "Encrypt" => {
                let r = kms.encrypt(call, parse::<EncryptIn>(body)?.into())?;
                json(&EncryptOut::from(r))
            }
            "Decrypt" => {
                let r = kms.decrypt(call, parse::<DecryptIn>(body)?.into())?;
                json(&DecryptOut::from(r))
            }
            "ReEncrypt" => {
                let r = kms.re_encrypt(call, parse::<ReEncryptIn>(body)?.into())?;
                json(&ReEncryptOut::from(r))
            }
            "GenerateDataKey" => {
                let r = kms.generate_data_key(call, parse::<GenerateDataKeyIn>(body)?.into())?;
                json(&GenerateDataKeyOut::from(r))
            }
            "GenerateDataKeyWithoutPlaintext" => {
                let mut req: ops::GenerateDataKeyRequest = parse::<GenerateDataKeyIn>(body)?.into();
                // The operation has no Recipient member: an unknown member, ignored.
                req.recipient = false;
                let r = kms.generate_data_key_without_plaintext(call, req)?;
                json(&GenerateDataKeyWithoutPlaintextOut::from(r))
            }
            "GenerateRandom" => {
                let r = kms.generate_random(call, parse::<GenerateRandomIn>(body)?.into())?;
                json(&GenerateRandomOut {
                    plaintext: zeroize::Zeroizing::new(base64_secret(&r)),
                })
            }
            "EnableKey" => empty(kms.enable_key(call, parse::<KeyIdIn>(body)?.into())),
            "DisableKey" => empty(kms.disable_key(call, parse::<KeyIdIn>(body)?.into())),
            "ScheduleKeyDeletion" => {
                let r =
                    kms.schedule_key_deletion(call, parse::<ScheduleKeyDeletionIn>(body)?.into())?;
                json(&ScheduleKeyDeletionOut::from(r))
            }
            "CancelKeyDeletion" => {
                let key_id = kms.cancel_key_deletion(call, parse::<KeyIdIn>(body)?.into())?;
                json(&KeyIdOut { key_id })
            }
            "EnableKeyRotation" => {
                empty(kms.enable_key_rotation(call, parse::<EnableKeyRotationIn>(body)?.into()))
            }
            "DisableKeyRotation" => {
                empty(kms.disable_key_rotation(call, parse::<KeyIdIn>(body)?.into()))
            }
            "GetKeyRotationStatus" => {
                let r = kms.get_key_rotation_status(call, parse::<KeyIdIn>(body)?.into())?;
                json(&GetKeyRotationStatusOut::from(r))
            }
            "RotateKeyOnDemand" => {
                let key_id = kms.rotate_key_on_demand(call, parse::<KeyIdIn>(body)?.into())?;
                json(&KeyIdOut { key_id })
            }
            "ListKeyRotations" => {
                let p =
                    kms.list_key_rotations(call, parse::<PageIn>(body)?.list_key_rotations())?;
                json(&page_out(p, |items| RotationsOut {
                    rotations: items.into_iter().map(RotationOut::from).collect(),
                }))
            }
            "CreateAlias" => empty(kms.create_alias(call, parse::<AliasIn>(body)?.into())),
            "UpdateAlias" => empty(kms.update_alias(call, parse::<AliasIn>(body)?.into())),
            "DeleteAlias" => empty(kms.delete_alias(call, parse::<AliasIn>(body)?.into())),
            "ListAliases" => {
                let p = kms.list_aliases(call, parse::<PageIn>(body)?.list_aliases())?;
                json(&page_out(p, |items| AliasesOut {
                    aliases: items.into_iter().map(AliasOut::from).collect(),
                }))
            }
            "TagResource" => empty(kms.tag_resource(call, parse::<TagResourceIn>(body)?.into())),
            "UntagResource" => {
                empty(kms.untag_resource(call, parse::<UntagResourceIn>(body)?.into()))
            }
            "ListResourceTags" => {
                let p = kms.list_resource_tags(call, parse::<PageIn>(body)?.key_page())?;
                json(&page_out(p, |items| TagsOut {
                    tags: items
                        .into_iter()
                        .map(|t| TagOut {
                            tag_key: t.key,
                            tag_value: t.value,
                        })
                        .collect(),
                }))
            }
            "UpdateKeyDescription" => empty(
                kms.update_key_description(call, parse::<UpdateKeyDescriptionIn>(body)?.into()),
            ),
            other if UNSERVED.contains(&other) => Err(KmsApiError::Kms(KmsError::Unsupported(
                format!("sealtrail's KMS does not implement {other}."),
            ))),
            other => Err(KmsApiError::UnknownOperation(format!(
                "Operation {other} is not a KMS operation."
            ))),
        }
    }
}

fn base64_secret(s: &secrecy::SecretSlice<u8>) -> String {
    use base64::Engine as _;
    use secrecy::ExposeSecret as _;
    base64::engine::general_purpose::STANDARD.encode(s.expose_secret())
}

/// The KMS view of the authenticated caller.
///
/// # Errors
/// [`KmsError::Internal`] when the edge handed over an ARN that is not an IAM or STS
/// principal (a configuration fault).
pub fn kms_caller(c: &Caller) -> Result<KmsCaller, KmsError> {
    let mut p = AwsPrincipal::from_arn(c.arn.as_str())
        .map_err(|e| KmsError::Internal(format!("caller ARN: {e}")))?;
    for (k, v) in &c.tags {
        p = p.with_tag(k.as_str(), v.as_str());
    }
    let user_id = Some(c.user_id.clone()).filter(|u| !u.is_empty());
    Ok(KmsCaller::aws(p, user_id, Arc::clone(&c.identity_policies)))
}

impl JsonApi for KmsApi {
    fn target_prefix(&self) -> &'static str {
        "TrentService"
    }

    fn signing_name(&self) -> &'static str {
        "kms"
    }

    fn call(
        &self,
        ctx: &CallContext<'_>,
        operation: &str,
        body: &[u8],
    ) -> Result<Vec<u8>, ApiFailure> {
        let result = kms_caller(ctx.caller)
            .map_err(KmsApiError::from)
            .and_then(|caller| {
                let call =
                    Call::new(&caller, ctx.now).transport(ctx.source_ip, ctx.secure_transport);
                self.dispatch(&call, operation, body)
            });
        result.map_err(|e| {
            if let KmsApiError::Kms(KmsError::Internal(detail)) = &e {
                tracing::error!(
                    request_id = ctx.request_id,
                    operation,
                    detail = detail.as_str(),
                    "KMSInternalException"
                );
            }
            e.to_failure()
        })
    }

    fn error_codes(&self) -> &'static [&'static str] {
        ERROR_CODES
    }

    fn fault_code(&self) -> &'static str {
        "KMSInternalException"
    }
}
