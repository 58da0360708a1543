//! sealtrail's KMS: symmetric customer managed keys as AWS KMS has them, behind the same
//! operations, messages and authorization.
//!
//! What it does:
//! - the key model and state machine ([`KeyRecord`], [`KeyState`]: `Enabled`, `Disabled`,
//!   `PendingDeletion`, with AWS's key-state matrix; deletion destroys the key material once
//!   the window ends, judged by the request's clock and purged by [`Kms::tick`]);
//! - aliases, tags, descriptions, automatic and on-demand rotation (every material version
//!   is kept, so ciphertexts made before a rotation still decrypt), key policies (the default
//!   policy text, the lockout safety check);
//! - real AES-256-GCM on aws-lc-rs: a versioned ciphertext blob ([`blob`]) that names its key
//!   and material version, the encryption context bound as AAD in a canonical form
//!   ([`EncryptionContext::aad`]), data keys, random bytes;
//! - key material wrapped under a root key ([`KeyWrapper`], [`RootKeyWrapper`]) before it
//!   reaches a [`KeyStore`]; in memory it lives only inside the cipher contexts, and raw bytes
//!   pass through zeroizing buffers; plaintexts handed out are [`secrecy::SecretSlice`]s,
//!   which never print;
//! - authorization of every operation through `sealtrail-policy`: the key policy as root of
//!   trust plus the caller's identity policies, `kms:<Operation>` actions, and the condition
//!   keys KMS and CloudTrail rely on ([`Call`] documents them);
//! - AWS's errors and messages ([`KmsError`]), including `ValidationException`'s text
//!   ([`validate`]) and pagination ([`ops::Page`]).
//!
//! What it does not do: HTTP, JSON, SigV4 or reading the clock (the server does; time comes
//! in with each [`Call`] and randomness through the [`sealtrail_model::Rng`] given to
//! [`Kms::open`]); file or database I/O (a [`KeyStore`] does, `sealtrail-store` has the
//! SQLite one); asymmetric, HMAC, imported, multi-Region or custom-key-store keys, and grants
//! (all refused with AWS's codes).
//!
//! ```
//! use std::sync::Arc;
//! use sealtrail_kms::{Call, Caller, EncryptionContext, Kms, MemoryKeyStore, RootKeyWrapper};
//! use sealtrail_kms::ops::{CreateKeyRequest, DecryptRequest, EncryptRequest};
//! use sealtrail_model::{AccountId, Region, SeededRng, UtcTime};
//! use sealtrail_policy::AwsPrincipal;
//!
//! let kms = Kms::open(
//!     Region::parse("us-east-1")?,
//!     Arc::new(MemoryKeyStore::new()),
//!     Arc::new(RootKeyWrapper::new(&[7u8; 32])?),
//!     Box::new(SeededRng::new(1)), // a cryptographic generator in production
//! )?;
//! let root = Caller::aws(AwsPrincipal::root(&AccountId::parse("111122223333")?), None, Arc::default());
//! let call = Call::new(&root, UtcTime::from_epoch_seconds(1_767_225_600)?);
//! let key = kms.create_key(&call, CreateKeyRequest::default())?.key_metadata;
//! let context = EncryptionContext::new().with("purpose", "example");
//! let sealed = kms.encrypt(&call, EncryptRequest {
//!     key_id: Some(key.key_id.clone()),
//!     plaintext: Some(b"hello".to_vec().into()),
//!     encryption_context: context.clone(),
//!     ..Default::default()
//! })?;
//! let opened = kms.decrypt(&call, DecryptRequest {
//!     ciphertext_blob: Some(sealed.ciphertext_blob),
//!     encryption_context: context,
//!     ..Default::default()
//! })?;
//! use secrecy::ExposeSecret as _;
//! assert_eq!(opened.plaintext.expose_secret(), b"hello");
//! assert_eq!(opened.key_id, key.arn);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod blob;
mod caller;
mod context;
mod crypto;
mod error;
mod ids;
mod model;
pub mod ops;
mod paging;
mod service;
mod store;
pub mod validate;

pub use caller::{Call, Caller};
pub use context::EncryptionContext;
pub use crypto::{KeyWrapper, MATERIAL_LEN, RootKeyWrapper};
pub use error::KmsError;
pub use ids::{Accepts, AliasName, KeyId, KeyRef, alias_arn, key_arn};
pub use model::{
    AliasRecord, KeyMetadata, KeyRecord, KeyState, MaterialRecord, RotationConfig, RotationType,
    default_key_policy,
};
pub use service::{Kms, MAX_ON_DEMAND_ROTATIONS, MAX_POLICY_BYTES, MAX_TAGS};
pub use store::{Change, KeyStore, MemoryKeyStore, Snapshot, StoreError};
