//! Durable KMS state behind a trait: [`KeyStore`], with [`MemoryKeyStore`] for tests. The
//! SQLite implementation lives in `sealtrail-store` (`kms_sqlite`).
//!
//! The service keeps everything in memory and writes through: it calls
//! [`KeyStore::load`] once at start and [`KeyStore::apply`] for every mutation, before the
//! mutation becomes visible. An implementation must apply a batch atomically and durably
//! (committed when `apply` returns), and must never see plaintext key material: records
//! carry material wrapped by a [`crate::KeyWrapper`].

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

use sealtrail_model::{AccountId, Region};

use crate::ids::{AliasName, KeyId};
use crate::model::{AliasRecord, KeyRecord};

/// A storage failure. The service reports it as `KMSInternalException`; the text is for the
/// log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("key store: {0}")]
pub struct StoreError(pub String);

/// One change to durable state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Insert or replace a key (metadata, policy, tags, rotation settings, and its material
    /// versions; material versions are never changed once written, only added).
    PutKey(KeyRecord),
    /// Delete a key: its record, every material version (this destroys the material), its
    /// tags, and every alias that points to it.
    DeleteKey(KeyId),
    /// Insert or replace an alias.
    PutAlias(AliasRecord),
    /// Delete an alias.
    DeleteAlias {
        /// The account.
        account: AccountId,
        /// The region.
        region: Region,
        /// The alias.
        name: AliasName,
    },
}

/// Everything stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Every key.
    pub keys: Vec<KeyRecord>,
    /// Every alias.
    pub aliases: Vec<AliasRecord>,
}

/// Durable KMS state.
pub trait KeyStore: Send + Sync {
    /// Everything stored.
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot be read or holds something invalid.
    fn load(&self) -> Result<Snapshot, StoreError>;

    /// Applies `changes` in order, atomically (all or none) and durably.
    ///
    /// # Errors
    /// [`StoreError`] when they could not be committed; then none is applied.
    fn apply(&self, changes: &[Change]) -> Result<(), StoreError>;
}

type AliasKey = (AccountId, Region, AliasName);

#[derive(Debug, Default)]
struct Maps {
    keys: BTreeMap<KeyId, KeyRecord>,
    aliases: BTreeMap<AliasKey, AliasRecord>,
}

/// A [`KeyStore`] in memory (tests; nothing survives the process).
#[derive(Debug, Default)]
pub struct MemoryKeyStore {
    maps: Mutex<Maps>,
    fail: Mutex<bool>,
}

impl MemoryKeyStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes every later [`KeyStore::apply`] fail (or succeed again), to test that a failed
    /// write changes nothing.
    pub fn set_failing(&self, fail: bool) {
        *self.fail.lock().unwrap_or_else(PoisonError::into_inner) = fail;
    }
}

impl KeyStore for MemoryKeyStore {
    fn load(&self) -> Result<Snapshot, StoreError> {
        let maps = self.maps.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(Snapshot {
            keys: maps.keys.values().cloned().collect(),
            aliases: maps.aliases.values().cloned().collect(),
        })
    }

    fn apply(&self, changes: &[Change]) -> Result<(), StoreError> {
        if *self.fail.lock().unwrap_or_else(PoisonError::into_inner) {
            return Err(StoreError("the store is set to fail".to_owned()));
        }
        let mut maps = self.maps.lock().unwrap_or_else(PoisonError::into_inner);
        for c in changes {
            match c {
                Change::PutKey(k) => {
                    maps.keys.insert(k.id.clone(), k.clone());
                }
                Change::DeleteKey(id) => {
                    maps.keys.remove(id);
                    maps.aliases.retain(|_, a| a.target != *id);
                }
                Change::PutAlias(a) => {
                    maps.aliases.insert(
                        (a.account.clone(), a.region.clone(), a.name.clone()),
                        a.clone(),
                    );
                }
                Change::DeleteAlias {
                    account,
                    region,
                    name,
                } => {
                    maps.aliases
                        .remove(&(account.clone(), region.clone(), name.clone()));
                }
            }
        }
        Ok(())
    }
}
