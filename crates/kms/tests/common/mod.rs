//! Shared fixtures of the KMS API tests.

#![allow(dead_code)]

use std::sync::Arc;

use sealtrail_kms::ops::*;
use sealtrail_kms::{
    Call, Caller, EncryptionContext, KeyMetadata, KeyStore, Kms, KmsError, MemoryKeyStore,
    RootKeyWrapper,
};
use sealtrail_model::{AccountId, Region, SeededRng, UtcTime};
use sealtrail_policy::{AwsPrincipal, ParseOptions, Policy};
use secrecy::ExposeSecret as _;

pub const ACCOUNT: &str = "111122223333";
pub const OTHER: &str = "444455556666";
pub const T0: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z
pub const DAY: i64 = 86_400;

pub fn region() -> Region {
    Region::parse("us-east-1").unwrap()
}

pub fn at(secs: i64) -> UtcTime {
    UtcTime::from_epoch_seconds(secs).unwrap()
}

pub fn root(account: &str) -> Caller {
    Caller::aws(
        AwsPrincipal::root(&AccountId::parse(account).unwrap()),
        None,
        Arc::default(),
    )
}

pub fn identity(text: &str) -> Policy {
    Policy::parse(text, &ParseOptions::identity()).unwrap()
}

pub fn user(arn: &str, policies: &[&str]) -> Caller {
    Caller::aws(
        AwsPrincipal::from_arn(arn).unwrap(),
        Some("AIDAEXAMPLE".into()),
        Arc::new(policies.iter().map(|p| identity(p)).collect()),
    )
}

pub const ALLOW_ALL_KMS: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}"#;

pub struct Fixture {
    pub kms: Kms,
    pub store: Arc<MemoryKeyStore>,
    pub root: Caller,
}

impl Fixture {
    pub fn new() -> Self {
        let store = Arc::new(MemoryKeyStore::new());
        Self {
            kms: open(store.clone()),
            store,
            root: root(ACCOUNT),
        }
    }

    /// Reopens the service over the same store (a restart).
    pub fn reopen(&mut self) {
        self.kms = open(self.store.clone());
    }

    pub fn call(&self, now: i64) -> Call<'_> {
        Call::new(&self.root, at(now))
    }

    pub fn create(&self) -> KeyMetadata {
        self.kms
            .create_key(&self.call(T0), CreateKeyRequest::default())
            .unwrap()
            .key_metadata
    }

    pub fn create_with_policy(&self, policy: &str) -> KeyMetadata {
        self.kms
            .create_key(
                &self.call(T0),
                CreateKeyRequest {
                    policy: Some(policy.to_owned()),
                    bypass_policy_lockout_safety_check: true,
                    ..Default::default()
                },
            )
            .unwrap()
            .key_metadata
    }
}

pub fn open(store: Arc<dyn KeyStore>) -> Kms {
    Kms::open(
        region(),
        store,
        Arc::new(RootKeyWrapper::new(&[0x42; 32]).unwrap()),
        Box::new(SeededRng::new(0x5eed)),
    )
    .unwrap()
}

pub fn ctx(pairs: &[(&str, &str)]) -> EncryptionContext {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

pub fn encrypt(
    kms: &Kms,
    call: &Call<'_>,
    key: &str,
    plaintext: &[u8],
    context: EncryptionContext,
) -> Result<EncryptResponse, KmsError> {
    kms.encrypt(
        call,
        EncryptRequest {
            key_id: Some(key.to_owned()),
            plaintext: Some(plaintext.to_vec().into()),
            encryption_context: context,
            ..Default::default()
        },
    )
}

pub fn decrypt(
    kms: &Kms,
    call: &Call<'_>,
    blob: &[u8],
    context: EncryptionContext,
) -> Result<Vec<u8>, KmsError> {
    kms.decrypt(
        call,
        DecryptRequest {
            ciphertext_blob: Some(blob.to_vec()),
            encryption_context: context,
            ..Default::default()
        },
    )
    .map(|r| r.plaintext.expose_secret().to_vec())
}

pub fn key_req(id: &str) -> KeyIdRequest {
    KeyIdRequest {
        key_id: Some(id.to_owned()),
    }
}
