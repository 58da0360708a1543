//! KMS request and response bodies as AWS JSON 1.1 carries them: AWS's member names
//! (PascalCase), blobs as standard base64 strings, timestamps as epoch-second numbers.
//! Unknown request members are ignored, as botocore ignores unknown response members.

use std::collections::BTreeMap;

use base64::Engine as _;
use sealtrail_kms::ops::{self, Page};
use sealtrail_kms::{EncryptionContext, KeyMetadata};
use sealtrail_model::UtcTime;
use secrecy::{ExposeSecret as _, SecretSlice};
use serde::{Deserialize, Deserializer, Serialize};

use super::error::KmsApiError;

// ----- helpers ----------------------------------------------------------------------------

/// A base64 blob member.
#[derive(Debug, Default)]
pub struct Blob(pub Vec<u8>);

impl<'de> Deserialize<'de> for Blob {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        base64::engine::general_purpose::STANDARD
            .decode(s.as_bytes())
            .map(Blob)
            .map_err(|_| serde::de::Error::custom("blob is not valid base64"))
    }
}

/// A sensitive base64 blob member (`Plaintext`): decoded straight into a secret.
#[derive(Debug, Default)]
pub struct SecretBlob(pub Option<SecretSlice<u8>>);

impl<'de> Deserialize<'de> for SecretBlob {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = zeroize::Zeroizing::new(String::deserialize(d)?);
        base64::engine::general_purpose::STANDARD
            .decode(s.as_bytes())
            .map(|v| SecretBlob(Some(SecretSlice::from(v))))
            .map_err(|_| serde::de::Error::custom("blob is not valid base64"))
    }
}

/// An `EncryptionContext` map. Non-string JSON scalars are taken as their text
/// (spec §4.6).
#[derive(Debug, Default)]
pub struct Context(pub EncryptionContext);

impl<'de> Deserialize<'de> for Context {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let m = BTreeMap::<String, serde_json::Value>::deserialize(d)?;
        let mut out = Vec::with_capacity(m.len());
        for (k, v) in m {
            let v = match v {
                serde_json::Value::String(s) => s,
                serde_json::Value::Number(n) => n.to_string(),
                serde_json::Value::Bool(b) => b.to_string(),
                other => {
                    return Err(serde::de::Error::custom(format!(
                        "encryption context value for `{k}` must be a string, not {}",
                        match other {
                            serde_json::Value::Null => "null",
                            serde_json::Value::Array(_) => "an array",
                            _ => "an object",
                        }
                    )));
                }
            };
            out.push((k, v));
        }
        Ok(Context(out.into_iter().collect()))
    }
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn secret_b64(s: &SecretSlice<u8>) -> zeroize::Zeroizing<String> {
    zeroize::Zeroizing::new(b64(s.expose_secret()))
}

fn secret_str<S: serde::Serializer>(
    v: &zeroize::Zeroizing<String>,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.serialize_str(v)
}

/// Epoch seconds as a JSON number, the JSON protocol's timestamp form.
/// (Epoch seconds of real dates are far below 2^53, so the conversion is exact.)
fn epoch(t: UtcTime) -> f64 {
    t.epoch_seconds() as f64
}

/// Reads a request body; an empty body is `{}`.
///
/// # Errors
/// [`KmsApiError::Serialization`] when it is not a JSON object of the right member types.
pub fn parse<T: for<'de> Deserialize<'de> + Default>(body: &[u8]) -> Result<T, KmsApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    // serde would also read a struct from a JSON array; the protocol wants an object.
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(KmsApiError::Serialization(
            "the request body must be a JSON object".to_owned(),
        ));
    }
    serde_json::from_slice(body).map_err(|e| KmsApiError::Serialization(e.to_string()))
}

/// Writes a response body.
///
/// # Errors
/// [`KmsApiError::Kms`] (internal) if serialization fails, which it does not for these types.
pub fn json<T: Serialize>(v: &T) -> Result<Vec<u8>, KmsApiError> {
    serde_json::to_vec(v)
        .map_err(|e| KmsApiError::Kms(sealtrail_kms::KmsError::Internal(e.to_string())))
}

// ----- requests ---------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TagIn {
    #[serde(rename = "TagKey")]
    pub tag_key: Option<String>,
    #[serde(rename = "TagValue")]
    pub tag_value: Option<String>,
}

fn tags(t: Option<Vec<TagIn>>) -> Option<Vec<ops::Tag>> {
    t.map(|v| {
        v.into_iter()
            .map(|t| ops::Tag {
                key: t.tag_key,
                value: t.tag_value,
            })
            .collect()
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct CreateKeyIn {
    pub policy: Option<String>,
    pub description: Option<String>,
    pub key_usage: Option<String>,
    pub customer_master_key_spec: Option<String>,
    pub key_spec: Option<String>,
    pub origin: Option<String>,
    pub custom_key_store_id: Option<String>,
    pub bypass_policy_lockout_safety_check: Option<bool>,
    pub tags: Option<Vec<TagIn>>,
    pub multi_region: Option<bool>,
    pub xks_key_id: Option<String>,
}

impl From<CreateKeyIn> for ops::CreateKeyRequest {
    fn from(r: CreateKeyIn) -> Self {
        Self {
            policy: r.policy,
            description: r.description,
            key_usage: r.key_usage,
            customer_master_key_spec: r.customer_master_key_spec,
            key_spec: r.key_spec,
            origin: r.origin,
            custom_key_store_id: r.custom_key_store_id,
            bypass_policy_lockout_safety_check: r
                .bypass_policy_lockout_safety_check
                .unwrap_or(false),
            tags: tags(r.tags),
            multi_region: r.multi_region,
            xks_key_id: r.xks_key_id,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct KeyIdIn {
    pub key_id: Option<String>,
}

impl From<KeyIdIn> for ops::KeyIdRequest {
    fn from(r: KeyIdIn) -> Self {
        Self { key_id: r.key_id }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct DescribeKeyIn {
    pub key_id: Option<String>,
    pub grant_tokens: Option<Vec<String>>,
}

impl From<DescribeKeyIn> for ops::DescribeKeyRequest {
    fn from(r: DescribeKeyIn) -> Self {
        Self {
            key_id: r.key_id,
            grant_tokens: r.grant_tokens,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct PageIn {
    pub key_id: Option<String>,
    pub limit: Option<i64>,
    pub marker: Option<String>,
    pub include_key_material: Option<String>,
}

impl PageIn {
    fn page(&self) -> ops::PageRequest {
        ops::PageRequest {
            limit: self.limit,
            marker: self.marker.clone(),
        }
    }
    pub fn list_keys(self) -> ops::ListKeysRequest {
        ops::ListKeysRequest { page: self.page() }
    }
    pub fn key_page(self) -> ops::KeyPageRequest {
        ops::KeyPageRequest {
            page: self.page(),
            key_id: self.key_id,
        }
    }
    pub fn list_aliases(self) -> ops::ListAliasesRequest {
        ops::ListAliasesRequest {
            page: self.page(),
            key_id: self.key_id,
        }
    }
    pub fn list_key_rotations(self) -> ops::ListKeyRotationsRequest {
        ops::ListKeyRotationsRequest {
            page: self.page(),
            key_id: self.key_id,
            include_key_material: self.include_key_material,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct PutKeyPolicyIn {
    pub key_id: Option<String>,
    pub policy_name: Option<String>,
    pub policy: Option<String>,
    pub bypass_policy_lockout_safety_check: Option<bool>,
}

impl From<PutKeyPolicyIn> for ops::PutKeyPolicyRequest {
    fn from(r: PutKeyPolicyIn) -> Self {
        Self {
            key_id: r.key_id,
            policy_name: r.policy_name,
            policy: r.policy,
            bypass_policy_lockout_safety_check: r
                .bypass_policy_lockout_safety_check
                .unwrap_or(false),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct GetKeyPolicyIn {
    pub key_id: Option<String>,
    pub policy_name: Option<String>,
}

impl From<GetKeyPolicyIn> for ops::GetKeyPolicyRequest {
    fn from(r: GetKeyPolicyIn) -> Self {
        Self {
            key_id: r.key_id,
            policy_name: r.policy_name,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct EncryptIn {
    pub key_id: Option<String>,
    pub plaintext: SecretBlob,
    pub encryption_context: Option<Context>,
    pub grant_tokens: Option<Vec<String>>,
    pub encryption_algorithm: Option<String>,
    pub dry_run: Option<bool>,
}

impl From<EncryptIn> for ops::EncryptRequest {
    fn from(r: EncryptIn) -> Self {
        Self {
            key_id: r.key_id,
            plaintext: r.plaintext.0,
            encryption_context: r.encryption_context.unwrap_or_default().0,
            grant_tokens: r.grant_tokens,
            encryption_algorithm: r.encryption_algorithm,
            dry_run: r.dry_run.unwrap_or(false),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct DecryptIn {
    pub ciphertext_blob: Option<Blob>,
    pub encryption_context: Option<Context>,
    pub grant_tokens: Option<Vec<String>>,
    pub key_id: Option<String>,
    pub encryption_algorithm: Option<String>,
    pub recipient: Option<serde_json::Value>,
    pub dry_run: Option<bool>,
}

impl From<DecryptIn> for ops::DecryptRequest {
    fn from(r: DecryptIn) -> Self {
        Self {
            ciphertext_blob: r.ciphertext_blob.map(|b| b.0),
            encryption_context: r.encryption_context.unwrap_or_default().0,
            grant_tokens: r.grant_tokens,
            key_id: r.key_id,
            encryption_algorithm: r.encryption_algorithm,
            recipient: r.recipient.is_some(),
            dry_run: r.dry_run.unwrap_or(false),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct ReEncryptIn {
    pub ciphertext_blob: Option<Blob>,
    pub source_encryption_context: Option<Context>,
    pub source_key_id: Option<String>,
    pub destination_key_id: Option<String>,
    pub destination_encryption_context: Option<Context>,
    pub source_encryption_algorithm: Option<String>,
    pub destination_encryption_algorithm: Option<String>,
    pub grant_tokens: Option<Vec<String>>,
    pub dry_run: Option<bool>,
}

impl From<ReEncryptIn> for ops::ReEncryptRequest {
    fn from(r: ReEncryptIn) -> Self {
        Self {
            ciphertext_blob: r.ciphertext_blob.map(|b| b.0),
            source_encryption_context: r.source_encryption_context.unwrap_or_default().0,
            source_key_id: r.source_key_id,
            destination_key_id: r.destination_key_id,
            destination_encryption_context: r.destination_encryption_context.unwrap_or_default().0,
            source_encryption_algorithm: r.source_encryption_algorithm,
            destination_encryption_algorithm: r.destination_encryption_algorithm,
            grant_tokens: r.grant_tokens,
            dry_run: r.dry_run.unwrap_or(false),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct GenerateDataKeyIn {
    pub key_id: Option<String>,
    pub encryption_context: Option<Context>,
    pub number_of_bytes: Option<i64>,
    pub key_spec: Option<String>,
    pub grant_tokens: Option<Vec<String>>,
    pub recipient: Option<serde_json::Value>,
    pub dry_run: Option<bool>,
}

impl From<GenerateDataKeyIn> for ops::GenerateDataKeyRequest {
    fn from(r: GenerateDataKeyIn) -> Self {
        Self {
            key_id: r.key_id,
            encryption_context: r.encryption_context.unwrap_or_default().0,
            number_of_bytes: r.number_of_bytes,
            key_spec: r.key_spec,
            grant_tokens: r.grant_tokens,
            recipient: r.recipient.is_some(),
            dry_run: r.dry_run.unwrap_or(false),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct GenerateRandomIn {
    pub number_of_bytes: Option<i64>,
    pub custom_key_store_id: Option<String>,
    pub recipient: Option<serde_json::Value>,
}

impl From<GenerateRandomIn> for ops::GenerateRandomRequest {
    fn from(r: GenerateRandomIn) -> Self {
        Self {
            number_of_bytes: r.number_of_bytes,
            custom_key_store_id: r.custom_key_store_id,
            recipient: r.recipient.is_some(),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct ScheduleKeyDeletionIn {
    pub key_id: Option<String>,
    pub pending_window_in_days: Option<i64>,
}

impl From<ScheduleKeyDeletionIn> for ops::ScheduleKeyDeletionRequest {
    fn from(r: ScheduleKeyDeletionIn) -> Self {
        Self {
            key_id: r.key_id,
            pending_window_in_days: r.pending_window_in_days,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct EnableKeyRotationIn {
    pub key_id: Option<String>,
    pub rotation_period_in_days: Option<i64>,
}

impl From<EnableKeyRotationIn> for ops::EnableKeyRotationRequest {
    fn from(r: EnableKeyRotationIn) -> Self {
        Self {
            key_id: r.key_id,
            rotation_period_in_days: r.rotation_period_in_days,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct AliasIn {
    pub alias_name: Option<String>,
    pub target_key_id: Option<String>,
}

impl From<AliasIn> for ops::AliasRequest {
    fn from(r: AliasIn) -> Self {
        Self {
            alias_name: r.alias_name,
            target_key_id: r.target_key_id,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct TagResourceIn {
    pub key_id: Option<String>,
    pub tags: Option<Vec<TagIn>>,
}

impl From<TagResourceIn> for ops::TagResourceRequest {
    fn from(r: TagResourceIn) -> Self {
        Self {
            key_id: r.key_id,
            tags: tags(r.tags),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct UntagResourceIn {
    pub key_id: Option<String>,
    pub tag_keys: Option<Vec<String>>,
}

impl From<UntagResourceIn> for ops::UntagResourceRequest {
    fn from(r: UntagResourceIn) -> Self {
        Self {
            key_id: r.key_id,
            tag_keys: r.tag_keys,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct UpdateKeyDescriptionIn {
    pub key_id: Option<String>,
    pub description: Option<String>,
}

impl From<UpdateKeyDescriptionIn> for ops::UpdateKeyDescriptionRequest {
    fn from(r: UpdateKeyDescriptionIn) -> Self {
        Self {
            key_id: r.key_id,
            description: r.description,
        }
    }
}

// ----- responses --------------------------------------------------------------------------

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyMetadataOut {
    #[serde(rename = "AWSAccountId")]
    pub aws_account_id: String,
    pub key_id: String,
    pub arn: String,
    pub creation_date: f64,
    pub enabled: bool,
    pub description: String,
    pub key_usage: &'static str,
    pub key_state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deletion_date: Option<f64>,
    pub origin: &'static str,
    pub key_manager: &'static str,
    pub customer_master_key_spec: &'static str,
    pub key_spec: &'static str,
    pub encryption_algorithms: &'static [&'static str],
    pub multi_region: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending_deletion_window_in_days: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_key_material_id: Option<String>,
}

impl From<KeyMetadata> for KeyMetadataOut {
    fn from(m: KeyMetadata) -> Self {
        Self {
            aws_account_id: m.aws_account_id,
            key_id: m.key_id,
            arn: m.arn,
            creation_date: epoch(m.creation_date),
            enabled: m.enabled,
            description: m.description,
            key_usage: m.key_usage,
            key_state: m.key_state.as_str(),
            deletion_date: m.deletion_date.map(epoch),
            origin: m.origin,
            key_manager: m.key_manager,
            customer_master_key_spec: m.customer_master_key_spec,
            key_spec: m.key_spec,
            encryption_algorithms: m.encryption_algorithms,
            multi_region: m.multi_region,
            pending_deletion_window_in_days: m.pending_deletion_window_in_days,
            current_key_material_id: m.current_key_material_id,
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyMetadataResponseOut {
    pub key_metadata: KeyMetadataOut,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PageOut<T: Serialize> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_marker: Option<String>,
    pub truncated: bool,
    #[serde(flatten)]
    pub items: T,
}

pub fn page_out<T, U: Serialize>(p: Page<T>, items: impl FnOnce(Vec<T>) -> U) -> PageOut<U> {
    PageOut {
        next_marker: p.next_marker,
        truncated: p.truncated,
        items: items(p.items),
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeysOut {
    pub keys: Vec<KeyListEntryOut>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyListEntryOut {
    pub key_id: String,
    pub key_arn: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyNamesOut {
    pub policy_names: Vec<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetKeyPolicyOut {
    pub policy: String,
    pub policy_name: &'static str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct EncryptOut {
    pub ciphertext_blob: String,
    pub key_id: String,
    pub encryption_algorithm: &'static str,
}

impl From<ops::EncryptResponse> for EncryptOut {
    fn from(r: ops::EncryptResponse) -> Self {
        Self {
            ciphertext_blob: b64(&r.ciphertext_blob),
            key_id: r.key_id,
            encryption_algorithm: r.encryption_algorithm,
        }
    }
}

/// Responses carrying plaintext are serialized from zeroizing strings and dropped at once.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DecryptOut {
    pub key_id: String,
    #[serde(serialize_with = "secret_str")]
    pub plaintext: zeroize::Zeroizing<String>,
    pub encryption_algorithm: &'static str,
    pub key_material_id: String,
}

impl From<ops::DecryptResponse> for DecryptOut {
    fn from(r: ops::DecryptResponse) -> Self {
        Self {
            key_id: r.key_id,
            plaintext: secret_b64(&r.plaintext),
            encryption_algorithm: r.encryption_algorithm,
            key_material_id: r.key_material_id,
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReEncryptOut {
    pub ciphertext_blob: String,
    pub source_key_id: String,
    pub key_id: String,
    pub source_encryption_algorithm: &'static str,
    pub destination_encryption_algorithm: &'static str,
    pub source_key_material_id: String,
    pub destination_key_material_id: String,
}

impl From<ops::ReEncryptResponse> for ReEncryptOut {
    fn from(r: ops::ReEncryptResponse) -> Self {
        Self {
            ciphertext_blob: b64(&r.ciphertext_blob),
            source_key_id: r.source_key_id,
            key_id: r.key_id,
            source_encryption_algorithm: r.source_encryption_algorithm,
            destination_encryption_algorithm: r.destination_encryption_algorithm,
            source_key_material_id: r.source_key_material_id,
            destination_key_material_id: r.destination_key_material_id,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GenerateDataKeyOut {
    pub ciphertext_blob: String,
    #[serde(serialize_with = "secret_str")]
    pub plaintext: zeroize::Zeroizing<String>,
    pub key_id: String,
    pub key_material_id: String,
}

impl From<ops::GenerateDataKeyResponse> for GenerateDataKeyOut {
    fn from(r: ops::GenerateDataKeyResponse) -> Self {
        Self {
            ciphertext_blob: b64(&r.ciphertext_blob),
            plaintext: secret_b64(&r.plaintext),
            key_id: r.key_id,
            key_material_id: r.key_material_id,
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GenerateDataKeyWithoutPlaintextOut {
    pub ciphertext_blob: String,
    pub key_id: String,
    pub key_material_id: String,
}

impl From<ops::GenerateDataKeyWithoutPlaintextResponse> for GenerateDataKeyWithoutPlaintextOut {
    fn from(r: ops::GenerateDataKeyWithoutPlaintextResponse) -> Self {
        Self {
            ciphertext_blob: b64(&r.ciphertext_blob),
            key_id: r.key_id,
            key_material_id: r.key_material_id,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GenerateRandomOut {
    #[serde(serialize_with = "secret_str")]
    pub plaintext: zeroize::Zeroizing<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ScheduleKeyDeletionOut {
    pub key_id: String,
    pub deletion_date: f64,
    pub key_state: &'static str,
    pub pending_window_in_days: u32,
}

impl From<ops::ScheduleKeyDeletionResponse> for ScheduleKeyDeletionOut {
    fn from(r: ops::ScheduleKeyDeletionResponse) -> Self {
        Self {
            key_id: r.key_id,
            deletion_date: epoch(r.deletion_date),
            key_state: r.key_state.as_str(),
            pending_window_in_days: r.pending_window_in_days,
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyIdOut {
    pub key_id: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetKeyRotationStatusOut {
    pub key_rotation_enabled: bool,
    pub key_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rotation_period_in_days: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_rotation_date: Option<f64>,
}

impl From<ops::GetKeyRotationStatusResponse> for GetKeyRotationStatusOut {
    fn from(r: ops::GetKeyRotationStatusResponse) -> Self {
        Self {
            key_rotation_enabled: r.key_rotation_enabled,
            key_id: r.key_id,
            rotation_period_in_days: r.rotation_period_in_days,
            next_rotation_date: r.next_rotation_date.map(epoch),
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RotationsOut {
    pub rotations: Vec<RotationOut>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RotationOut {
    pub key_id: String,
    pub key_material_id: String,
    pub key_material_state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rotation_date: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rotation_type: Option<&'static str>,
}

impl From<ops::RotationEntry> for RotationOut {
    fn from(r: ops::RotationEntry) -> Self {
        Self {
            key_id: r.key_id,
            key_material_id: r.key_material_id,
            key_material_state: r.key_material_state,
            rotation_date: r.rotation_date.map(epoch),
            rotation_type: r.rotation_type.map(sealtrail_kms::RotationType::as_str),
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AliasesOut {
    pub aliases: Vec<AliasOut>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AliasOut {
    pub alias_name: String,
    pub alias_arn: String,
    pub target_key_id: String,
    pub creation_date: f64,
    pub last_updated_date: f64,
}

impl From<ops::AliasEntry> for AliasOut {
    fn from(a: ops::AliasEntry) -> Self {
        Self {
            alias_name: a.alias_name,
            alias_arn: a.alias_arn,
            target_key_id: a.target_key_id,
            creation_date: epoch(a.creation_date),
            last_updated_date: epoch(a.last_updated_date),
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagsOut {
    pub tags: Vec<TagOut>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagOut {
    pub tag_key: String,
    pub tag_value: String,
}
