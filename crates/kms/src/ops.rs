//! Request and response values of the KMS operations, one pair per operation, with AWS's
//! members (in snake case). Request members are as the client sent them (optional, not yet
//! checked): the service checks them as AWS does. The server maps them to and from JSON.

use sealtrail_model::UtcTime;
use secrecy::SecretSlice;

use crate::context::EncryptionContext;
use crate::model::{KeyMetadata, KeyState, RotationType};

/// `{"TagKey": ..., "TagValue": ...}`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tag {
    /// `TagKey` (required, 1 to 128 characters).
    pub key: Option<String>,
    /// `TagValue` (required, 0 to 256 characters).
    pub value: Option<String>,
}

/// `CreateKey`.
#[derive(Debug, Clone, Default)]
pub struct CreateKeyRequest {
    /// `Policy`.
    pub policy: Option<String>,
    /// `Description`.
    pub description: Option<String>,
    /// `KeyUsage`.
    pub key_usage: Option<String>,
    /// `CustomerMasterKeySpec`.
    pub customer_master_key_spec: Option<String>,
    /// `KeySpec`.
    pub key_spec: Option<String>,
    /// `Origin`.
    pub origin: Option<String>,
    /// `CustomKeyStoreId`.
    pub custom_key_store_id: Option<String>,
    /// `BypassPolicyLockoutSafetyCheck`.
    pub bypass_policy_lockout_safety_check: bool,
    /// `Tags`.
    pub tags: Option<Vec<Tag>>,
    /// `MultiRegion`.
    pub multi_region: Option<bool>,
    /// `XksKeyId`.
    pub xks_key_id: Option<String>,
}

/// A request whose only member is `KeyId` (`EnableKey`, `DisableKey`, `CancelKeyDeletion`,
/// `DisableKeyRotation`, `GetKeyRotationStatus`, `RotateKeyOnDemand`).
#[derive(Debug, Clone, Default)]
pub struct KeyIdRequest {
    /// `KeyId`.
    pub key_id: Option<String>,
}

/// `DescribeKey`.
#[derive(Debug, Clone, Default)]
pub struct DescribeKeyRequest {
    /// `KeyId`.
    pub key_id: Option<String>,
    /// `GrantTokens`.
    pub grant_tokens: Option<Vec<String>>,
}

/// A `Limit`/`Marker` page request.
#[derive(Debug, Clone, Default)]
pub struct PageRequest {
    /// `Limit` (1 to 1000).
    pub limit: Option<i64>,
    /// `Marker` from a previous `NextMarker`.
    pub marker: Option<String>,
}

/// `ListKeys`.
#[derive(Debug, Clone, Default)]
pub struct ListKeysRequest {
    /// `Limit`, `Marker`.
    pub page: PageRequest,
}

/// A page of results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// `NextMarker`, when `Truncated`.
    pub next_marker: Option<String>,
    /// `Truncated`.
    pub truncated: bool,
}

/// `KeyListEntry`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyListEntry {
    /// `KeyId`.
    pub key_id: String,
    /// `KeyArn`.
    pub key_arn: String,
}

/// `PutKeyPolicy`.
#[derive(Debug, Clone, Default)]
pub struct PutKeyPolicyRequest {
    /// `KeyId`.
    pub key_id: Option<String>,
    /// `PolicyName`.
    pub policy_name: Option<String>,
    /// `Policy`.
    pub policy: Option<String>,
    /// `BypassPolicyLockoutSafetyCheck`.
    pub bypass_policy_lockout_safety_check: bool,
}

/// `GetKeyPolicy`.
#[derive(Debug, Clone, Default)]
pub struct GetKeyPolicyRequest {
    /// `KeyId`.
    pub key_id: Option<String>,
    /// `PolicyName`.
    pub policy_name: Option<String>,
}

/// `GetKeyPolicy`'s answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetKeyPolicyResponse {
    /// `Policy`, exactly as stored.
    pub policy: String,
    /// `PolicyName`: `default`.
    pub policy_name: &'static str,
}

/// `ListKeyPolicies`, `ListResourceTags`: a key and a page.
#[derive(Debug, Clone, Default)]
pub struct KeyPageRequest {
    /// `KeyId`.
    pub key_id: Option<String>,
    /// `Limit`, `Marker`.
    pub page: PageRequest,
}

/// `Encrypt`.
#[derive(Debug, Default)]
pub struct EncryptRequest {
    /// `KeyId`.
    pub key_id: Option<String>,
    /// `Plaintext`.
    pub plaintext: Option<SecretSlice<u8>>,
    /// `EncryptionContext`.
    pub encryption_context: EncryptionContext,
    /// `GrantTokens`.
    pub grant_tokens: Option<Vec<String>>,
    /// `EncryptionAlgorithm`.
    pub encryption_algorithm: Option<String>,
    /// `DryRun`.
    pub dry_run: bool,
}

/// `Encrypt`'s answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncryptResponse {
    /// `CiphertextBlob`.
    pub ciphertext_blob: Vec<u8>,
    /// `KeyId`: the key ARN.
    pub key_id: String,
    /// `EncryptionAlgorithm`: `SYMMETRIC_DEFAULT`.
    pub encryption_algorithm: &'static str,
}

/// `Decrypt`.
#[derive(Debug, Clone, Default)]
pub struct DecryptRequest {
    /// `CiphertextBlob`.
    pub ciphertext_blob: Option<Vec<u8>>,
    /// `EncryptionContext`.
    pub encryption_context: EncryptionContext,
    /// `GrantTokens`.
    pub grant_tokens: Option<Vec<String>>,
    /// `KeyId` (optional: the blob names its key).
    pub key_id: Option<String>,
    /// `EncryptionAlgorithm`.
    pub encryption_algorithm: Option<String>,
    /// `Recipient` was given (Nitro attestation: unsupported).
    pub recipient: bool,
    /// `DryRun`.
    pub dry_run: bool,
}

/// `Decrypt`'s answer.
#[derive(Debug)]
pub struct DecryptResponse {
    /// `KeyId`: the key ARN.
    pub key_id: String,
    /// `Plaintext`.
    pub plaintext: SecretSlice<u8>,
    /// `EncryptionAlgorithm`: `SYMMETRIC_DEFAULT`.
    pub encryption_algorithm: &'static str,
    /// `KeyMaterialId` of the material that decrypted.
    pub key_material_id: String,
}

/// `ReEncrypt`.
#[derive(Debug, Clone, Default)]
pub struct ReEncryptRequest {
    /// `CiphertextBlob`.
    pub ciphertext_blob: Option<Vec<u8>>,
    /// `SourceEncryptionContext`.
    pub source_encryption_context: EncryptionContext,
    /// `SourceKeyId`.
    pub source_key_id: Option<String>,
    /// `DestinationKeyId`.
    pub destination_key_id: Option<String>,
    /// `DestinationEncryptionContext`.
    pub destination_encryption_context: EncryptionContext,
    /// `SourceEncryptionAlgorithm`.
    pub source_encryption_algorithm: Option<String>,
    /// `DestinationEncryptionAlgorithm`.
    pub destination_encryption_algorithm: Option<String>,
    /// `GrantTokens`.
    pub grant_tokens: Option<Vec<String>>,
    /// `DryRun`.
    pub dry_run: bool,
}

/// `ReEncrypt`'s answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReEncryptResponse {
    /// `CiphertextBlob`.
    pub ciphertext_blob: Vec<u8>,
    /// `SourceKeyId`: the source key ARN.
    pub source_key_id: String,
    /// `KeyId`: the destination key ARN.
    pub key_id: String,
    /// `SourceEncryptionAlgorithm`.
    pub source_encryption_algorithm: &'static str,
    /// `DestinationEncryptionAlgorithm`.
    pub destination_encryption_algorithm: &'static str,
    /// `SourceKeyMaterialId`.
    pub source_key_material_id: String,
    /// `DestinationKeyMaterialId`.
    pub destination_key_material_id: String,
}

/// `GenerateDataKey` and `GenerateDataKeyWithoutPlaintext`.
#[derive(Debug, Clone, Default)]
pub struct GenerateDataKeyRequest {
    /// `KeyId`.
    pub key_id: Option<String>,
    /// `EncryptionContext`.
    pub encryption_context: EncryptionContext,
    /// `NumberOfBytes`.
    pub number_of_bytes: Option<i64>,
    /// `KeySpec`.
    pub key_spec: Option<String>,
    /// `GrantTokens`.
    pub grant_tokens: Option<Vec<String>>,
    /// `Recipient` was given (Nitro attestation: unsupported).
    pub recipient: bool,
    /// `DryRun`.
    pub dry_run: bool,
}

/// `GenerateDataKey`'s answer (`GenerateDataKeyWithoutPlaintext` drops the plaintext).
#[derive(Debug)]
pub struct GenerateDataKeyResponse {
    /// `CiphertextBlob`.
    pub ciphertext_blob: Vec<u8>,
    /// `Plaintext`: the data key.
    pub plaintext: SecretSlice<u8>,
    /// `KeyId`: the key ARN.
    pub key_id: String,
    /// `KeyMaterialId`.
    pub key_material_id: String,
}

/// `GenerateDataKeyWithoutPlaintext`'s answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerateDataKeyWithoutPlaintextResponse {
    /// `CiphertextBlob`.
    pub ciphertext_blob: Vec<u8>,
    /// `KeyId`: the key ARN.
    pub key_id: String,
    /// `KeyMaterialId`.
    pub key_material_id: String,
}

/// `GenerateRandom`.
#[derive(Debug, Clone, Default)]
pub struct GenerateRandomRequest {
    /// `NumberOfBytes`.
    pub number_of_bytes: Option<i64>,
    /// `CustomKeyStoreId`.
    pub custom_key_store_id: Option<String>,
    /// `Recipient` was given.
    pub recipient: bool,
}

/// `ScheduleKeyDeletion`.
#[derive(Debug, Clone, Default)]
pub struct ScheduleKeyDeletionRequest {
    /// `KeyId`.
    pub key_id: Option<String>,
    /// `PendingWindowInDays` (7 to 30, default 30).
    pub pending_window_in_days: Option<i64>,
}

/// `ScheduleKeyDeletion`'s answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleKeyDeletionResponse {
    /// `KeyId`: the key ARN.
    pub key_id: String,
    /// `DeletionDate`.
    pub deletion_date: UtcTime,
    /// `KeyState`: `PendingDeletion`.
    pub key_state: KeyState,
    /// `PendingWindowInDays`.
    pub pending_window_in_days: u32,
}

/// `EnableKeyRotation`.
#[derive(Debug, Clone, Default)]
pub struct EnableKeyRotationRequest {
    /// `KeyId`.
    pub key_id: Option<String>,
    /// `RotationPeriodInDays` (90 to 2560, default 365).
    pub rotation_period_in_days: Option<i64>,
}

/// `GetKeyRotationStatus`'s answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetKeyRotationStatusResponse {
    /// `KeyRotationEnabled`.
    pub key_rotation_enabled: bool,
    /// `KeyId`: the key id.
    pub key_id: String,
    /// `RotationPeriodInDays`, while enabled.
    pub rotation_period_in_days: Option<u32>,
    /// `NextRotationDate`, while enabled.
    pub next_rotation_date: Option<UtcTime>,
}

/// `ListKeyRotations`.
#[derive(Debug, Clone, Default)]
pub struct ListKeyRotationsRequest {
    /// `KeyId`.
    pub key_id: Option<String>,
    /// `IncludeKeyMaterial`: `ROTATIONS_ONLY` (default) or `ALL_KEY_MATERIAL`.
    pub include_key_material: Option<String>,
    /// `Limit`, `Marker`.
    pub page: PageRequest,
}

/// `RotationsListEntry`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotationEntry {
    /// `KeyId`: the key id.
    pub key_id: String,
    /// `KeyMaterialId`.
    pub key_material_id: String,
    /// `KeyMaterialState`: `CURRENT` or `NON_CURRENT`.
    pub key_material_state: &'static str,
    /// `RotationDate` (absent for the key's first material).
    pub rotation_date: Option<UtcTime>,
    /// `RotationType` (absent for the key's first material).
    pub rotation_type: Option<RotationType>,
}

/// `CreateAlias` and `UpdateAlias`.
#[derive(Debug, Clone, Default)]
pub struct AliasRequest {
    /// `AliasName`.
    pub alias_name: Option<String>,
    /// `TargetKeyId`.
    pub target_key_id: Option<String>,
}

/// `ListAliases`.
#[derive(Debug, Clone, Default)]
pub struct ListAliasesRequest {
    /// `KeyId` (only aliases of this key).
    pub key_id: Option<String>,
    /// `Limit`, `Marker`.
    pub page: PageRequest,
}

/// `AliasListEntry`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AliasEntry {
    /// `AliasName`.
    pub alias_name: String,
    /// `AliasArn`.
    pub alias_arn: String,
    /// `TargetKeyId`: the key id (not the ARN).
    pub target_key_id: String,
    /// `CreationDate`.
    pub creation_date: UtcTime,
    /// `LastUpdatedDate`.
    pub last_updated_date: UtcTime,
}

/// `TagResource`.
#[derive(Debug, Clone, Default)]
pub struct TagResourceRequest {
    /// `KeyId`.
    pub key_id: Option<String>,
    /// `Tags`.
    pub tags: Option<Vec<Tag>>,
}

/// `UntagResource`.
#[derive(Debug, Clone, Default)]
pub struct UntagResourceRequest {
    /// `KeyId`.
    pub key_id: Option<String>,
    /// `TagKeys`.
    pub tag_keys: Option<Vec<String>>,
}

/// A tag in a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagEntry {
    /// `TagKey`.
    pub key: String,
    /// `TagValue`.
    pub value: String,
}

/// `UpdateKeyDescription`.
#[derive(Debug, Clone, Default)]
pub struct UpdateKeyDescriptionRequest {
    /// `KeyId`.
    pub key_id: Option<String>,
    /// `Description`.
    pub description: Option<String>,
}

/// The answer of operations that return only the key's metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyMetadataResponse {
    /// `KeyMetadata`.
    pub key_metadata: KeyMetadata,
}

/// What [`crate::Kms::tick`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TickReport {
    /// Keys whose deletion date passed: deleted with their material and aliases.
    pub deleted: Vec<String>,
    /// Keys whose automatic rotation was due: rotated.
    pub rotated: Vec<String>,
}
