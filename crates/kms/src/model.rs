//! The durable key model ([`KeyRecord`], [`AliasRecord`]) and what `DescribeKey` shows
//! ([`KeyMetadata`]).

use std::collections::BTreeMap;
use std::fmt;

use sealtrail_model::{AccountId, Region, UtcTime};

use crate::ids::{AliasName, KeyId, key_arn};

/// The key states sealtrail's keys can be in (AWS also has `Creating`, `PendingImport`,
/// `PendingReplicaDeletion`, `Unavailable` and `Updating`, which only imported, custom-store
/// and multi-Region keys reach).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyState {
    /// Usable.
    Enabled,
    /// Disabled by `DisableKey` or `CancelKeyDeletion`: managed but not used.
    Disabled,
    /// Scheduled for deletion: the material is destroyed at the deletion date.
    PendingDeletion,
}

impl KeyState {
    /// The wire value.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Enabled => "Enabled",
            Self::Disabled => "Disabled",
            Self::PendingDeletion => "PendingDeletion",
        }
    }

    /// Reads the wire value.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "Enabled" => Self::Enabled,
            "Disabled" => Self::Disabled,
            "PendingDeletion" => Self::PendingDeletion,
            _ => return None,
        })
    }
}

impl fmt::Display for KeyState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a key-material version came to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RotationType {
    /// Automatic rotation (the key's rotation period elapsed).
    Automatic,
    /// `RotateKeyOnDemand`.
    OnDemand,
}

impl RotationType {
    /// The wire value (`AUTOMATIC`, `ON_DEMAND`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Automatic => "AUTOMATIC",
            Self::OnDemand => "ON_DEMAND",
        }
    }

    /// Reads the wire value.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "AUTOMATIC" => Some(Self::Automatic),
            "ON_DEMAND" => Some(Self::OnDemand),
            _ => None,
        }
    }
}

/// One version of a key's material, as stored: wrapped under the root key, never in
/// plaintext.
#[derive(Clone, PartialEq, Eq)]
pub struct MaterialRecord {
    /// 1 for the material made with the key, then 2, 3, ... for each rotation.
    pub version: u32,
    /// `KeyMaterialId`: 64 lower-case hex digits.
    pub id: String,
    /// When it was made.
    pub created: UtcTime,
    /// How it was made (`None` for version 1).
    pub rotation: Option<RotationType>,
    /// The material wrapped by a [`crate::KeyWrapper`].
    pub wrapped: Vec<u8>,
}

impl fmt::Debug for MaterialRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MaterialRecord")
            .field("version", &self.version)
            .field("id", &self.id)
            .field("created", &self.created)
            .field("rotation", &self.rotation)
            .field("wrapped", &format_args!("<{} bytes>", self.wrapped.len()))
            .finish()
    }
}

/// Automatic-rotation settings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RotationConfig {
    /// Automatic rotation is on.
    pub enabled: bool,
    /// The period in days (90 to 2560), while enabled.
    pub period_days: Option<u32>,
    /// When the next automatic rotation is due, while enabled.
    pub next: Option<UtcTime>,
    /// How many on-demand rotations were made (AWS allows 25).
    pub on_demand_count: u32,
}

/// Everything stored about one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRecord {
    /// The key id.
    pub id: KeyId,
    /// The owning account.
    pub account: AccountId,
    /// The region.
    pub region: Region,
    /// `CreationDate`.
    pub created: UtcTime,
    /// `Description`.
    pub description: String,
    /// The stored state (a `PendingDeletion` key past its deletion date is deleted whatever
    /// this says: see [`KeyRecord::is_deleted_at`]).
    pub state: KeyState,
    /// `DeletionDate`, while pending deletion.
    pub deletion_date: Option<UtcTime>,
    /// `PendingDeletionWindowInDays`, while pending deletion.
    pub pending_window_days: Option<u32>,
    /// The key policy, exactly as given (or the default policy text).
    pub policy: String,
    /// Tags, by key.
    pub tags: BTreeMap<String, String>,
    /// Automatic rotation.
    pub rotation: RotationConfig,
    /// Every material version, oldest first; the last is current. Never empty.
    pub materials: Vec<MaterialRecord>,
}

impl KeyRecord {
    /// The key ARN.
    #[must_use]
    pub fn arn(&self) -> String {
        key_arn(&self.region, &self.account, &self.id)
    }

    /// True when the key is pending deletion and its deletion date has come: from then on
    /// every request sees it as deleted, even before [`crate::Kms::tick`] purges it.
    #[must_use]
    pub fn is_deleted_at(&self, now: UtcTime) -> bool {
        self.state == KeyState::PendingDeletion && self.deletion_date.is_some_and(|d| now >= d)
    }

    /// The current material version.
    #[must_use]
    pub fn current_material(&self) -> Option<&MaterialRecord> {
        self.materials.last()
    }

    /// `DescribeKey`'s view.
    #[must_use]
    pub fn metadata(&self) -> KeyMetadata {
        KeyMetadata {
            aws_account_id: self.account.to_string(),
            key_id: self.id.to_string(),
            arn: self.arn(),
            creation_date: self.created,
            enabled: self.state == KeyState::Enabled,
            description: self.description.clone(),
            key_usage: "ENCRYPT_DECRYPT",
            key_state: self.state,
            deletion_date: self.deletion_date,
            origin: "AWS_KMS",
            key_manager: "CUSTOMER",
            customer_master_key_spec: "SYMMETRIC_DEFAULT",
            key_spec: "SYMMETRIC_DEFAULT",
            encryption_algorithms: &["SYMMETRIC_DEFAULT"],
            multi_region: false,
            pending_deletion_window_in_days: self.pending_window_days,
            current_key_material_id: self.current_material().map(|m| m.id.clone()),
        }
    }
}

/// `KeyMetadata` as AWS returns it for a symmetric customer managed key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyMetadata {
    /// `AWSAccountId`.
    pub aws_account_id: String,
    /// `KeyId`.
    pub key_id: String,
    /// `Arn`.
    pub arn: String,
    /// `CreationDate`.
    pub creation_date: UtcTime,
    /// `Enabled`: true exactly when the state is `Enabled`.
    pub enabled: bool,
    /// `Description`.
    pub description: String,
    /// `KeyUsage`: `ENCRYPT_DECRYPT`.
    pub key_usage: &'static str,
    /// `KeyState`.
    pub key_state: KeyState,
    /// `DeletionDate`, while pending deletion.
    pub deletion_date: Option<UtcTime>,
    /// `Origin`: `AWS_KMS`.
    pub origin: &'static str,
    /// `KeyManager`: `CUSTOMER`.
    pub key_manager: &'static str,
    /// `CustomerMasterKeySpec` (deprecated twin of `KeySpec`).
    pub customer_master_key_spec: &'static str,
    /// `KeySpec`: `SYMMETRIC_DEFAULT`.
    pub key_spec: &'static str,
    /// `EncryptionAlgorithms`: `["SYMMETRIC_DEFAULT"]`.
    pub encryption_algorithms: &'static [&'static str],
    /// `MultiRegion`: false.
    pub multi_region: bool,
    /// `PendingDeletionWindowInDays`, while pending deletion.
    pub pending_deletion_window_in_days: Option<u32>,
    /// `CurrentKeyMaterialId`.
    pub current_key_material_id: Option<String>,
}

/// An alias.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AliasRecord {
    /// The owning account.
    pub account: AccountId,
    /// The region.
    pub region: Region,
    /// `alias/...`.
    pub name: AliasName,
    /// The key it points to.
    pub target: KeyId,
    /// `CreationDate`.
    pub created: UtcTime,
    /// `LastUpdatedDate`.
    pub updated: UtcTime,
}

/// The key policy `CreateKey` applies when none is given, with the account substituted:
/// exactly AWS's text (spec §4.4), with its `" : "` spacing.
#[must_use]
pub fn default_key_policy(account: &AccountId) -> String {
    format!(
        "{{\n  \"Version\" : \"2012-10-17\",\n  \"Id\" : \"key-default-1\",\n  \"Statement\" : [ {{\n    \"Sid\" : \"Enable IAM User Permissions\",\n    \"Effect\" : \"Allow\",\n    \"Principal\" : {{\n      \"AWS\" : \"arn:aws:iam::{account}:root\"\n    }},\n    \"Action\" : \"kms:*\",\n    \"Resource\" : \"*\"\n  }} ]\n}}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_policy_is_aws_text() {
        let a = AccountId::parse("111122223333").unwrap();
        assert_eq!(
            default_key_policy(&a),
            "{\n  \"Version\" : \"2012-10-17\",\n  \"Id\" : \"key-default-1\",\n  \"Statement\" : [ {\n    \"Sid\" : \"Enable IAM User Permissions\",\n    \"Effect\" : \"Allow\",\n    \"Principal\" : {\n      \"AWS\" : \"arn:aws:iam::111122223333:root\"\n    },\n    \"Action\" : \"kms:*\",\n    \"Resource\" : \"*\"\n  } ]\n}"
        );
    }

    #[test]
    fn states_round_trip() {
        for s in [
            KeyState::Enabled,
            KeyState::Disabled,
            KeyState::PendingDeletion,
        ] {
            assert_eq!(KeyState::parse(s.as_str()), Some(s));
        }
        for r in [RotationType::Automatic, RotationType::OnDemand] {
            assert_eq!(RotationType::parse(r.as_str()), Some(r));
        }
        assert_eq!(KeyState::parse("Creating"), None);
    }

    #[test]
    fn wrapped_material_is_not_printed() {
        let m = MaterialRecord {
            version: 1,
            id: "0".repeat(64),
            created: UtcTime::UNIX_EPOCH,
            rotation: None,
            wrapped: vec![0xab; 61],
        };
        assert!(format!("{m:?}").contains("<61 bytes>"));
        assert!(!format!("{m:?}").contains("171"));
    }
}
