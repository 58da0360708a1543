//! [`Kms`]: the operations, over an in-memory cache of every key that writes through to a
//! [`KeyStore`].
//!
//! Concurrency: every method takes `&self`. Reads (all cryptographic operations, describes
//! and lists) take a read lock for as long as it takes to clone an `Arc` of the key, then
//! work without locks; they do no I/O. Mutations are serialized by a writer mutex, which is
//! held across the store write (so that writes reach the store in the order they become
//! visible), while the read lock is taken only to publish the new state after the write
//! committed. A failed write changes nothing.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use sealtrail_model::{AccountId, Arn, Region, Rng, UtcTime};
use sealtrail_policy::{
    Context, ContextValue, ParseErrorKind, ParseOptions, Policy, PolicySet, Request, ResourceKind,
    Value, authorize, decide,
};
use secrecy::{ExposeSecret as _, SecretSlice};
use zeroize::Zeroizing;

use crate::blob;
use crate::caller::Call;
use crate::context::EncryptionContext;
use crate::crypto::{KeyWrapper, MATERIAL_LEN, Material};
use crate::error::KmsError;
use crate::ids::{Accepts, AliasName, KeyId, KeyRef, alias_arn, key_arn};
use crate::model::{
    AliasRecord, KeyRecord, KeyState, MaterialRecord, RotationConfig, RotationType,
    default_key_policy,
};
use crate::ops::*;
use crate::paging;
use crate::store::{Change, KeyStore};
use crate::validate::{self, Checker};

const SECONDS_PER_DAY: i64 = 86_400;
/// Tags per key (AWS's quota).
pub const MAX_TAGS: usize = 50;
/// On-demand rotations per key (AWS's quota).
pub const MAX_ON_DEMAND_ROTATIONS: u32 = 25;
/// Key policy size in bytes (the KMS Developer Guide's quota; the API model's 131,072
/// characters is checked first, as a `ValidationException`).
pub const MAX_POLICY_BYTES: usize = 32_768;

const ALGORITHMS: &[&str] = &[
    "SYMMETRIC_DEFAULT",
    "RSAES_OAEP_SHA_1",
    "RSAES_OAEP_SHA_256",
    "SM2PKE",
];
const KEY_SPECS: &[&str] = &[
    "RSA_2048",
    "RSA_3072",
    "RSA_4096",
    "ECC_NIST_P256",
    "ECC_NIST_P384",
    "ECC_NIST_P521",
    "ECC_SECG_P256K1",
    "SYMMETRIC_DEFAULT",
    "HMAC_224",
    "HMAC_256",
    "HMAC_384",
    "HMAC_512",
    "SM2",
    "ML_DSA_44",
    "ML_DSA_65",
    "ML_DSA_87",
    "ECC_NIST_EDWARDS25519",
    "ML_KEM_512",
    "ML_KEM_768",
    "ML_KEM_1024",
];
const CMK_SPECS: &[&str] = &[
    "RSA_2048",
    "RSA_3072",
    "RSA_4096",
    "ECC_NIST_P256",
    "ECC_NIST_P384",
    "ECC_NIST_P521",
    "ECC_SECG_P256K1",
    "SYMMETRIC_DEFAULT",
    "HMAC_224",
    "HMAC_256",
    "HMAC_384",
    "HMAC_512",
    "SM2",
];
const KEY_USAGES: &[&str] = &[
    "SIGN_VERIFY",
    "ENCRYPT_DECRYPT",
    "GENERATE_VERIFY_MAC",
    "KEY_AGREEMENT",
    "ENCAPSULATE_DECAPSULATE",
];
const ORIGINS: &[&str] = &["AWS_KMS", "EXTERNAL", "AWS_CLOUDHSM", "EXTERNAL_KEY_STORE"];
const DATA_KEY_SPECS: &[&str] = &["AES_256", "AES_128"];
const INCLUDE_KEY_MATERIAL: &[&str] = &["ALL_KEY_MATERIAL", "ROTATIONS_ONLY"];

/// A key ready to use: its record, its parsed policy and its unwrapped material.
#[derive(Debug, Clone)]
struct KeyEntry {
    record: KeyRecord,
    arn: Arn,
    policy: Arc<Policy>,
    /// `materials[i]` is version `i + 1`.
    materials: Vec<Arc<Material>>,
}

impl KeyEntry {
    fn arn_text(&self) -> &str {
        self.arn.as_str()
    }

    fn material(&self, version: u32) -> Option<&Arc<Material>> {
        let i = usize::try_from(version.checked_sub(1)?).ok()?;
        self.materials.get(i)
    }

    fn current(&self) -> Result<&Arc<Material>, KmsError> {
        self.materials
            .last()
            .ok_or_else(|| KmsError::internal("key without material"))
    }

    /// `DisabledException` / `KMSInvalidStateException` for cryptographic use.
    fn usable(&self) -> Result<(), KmsError> {
        match self.record.state {
            KeyState::Enabled => Ok(()),
            KeyState::Disabled => Err(KmsError::Disabled(self.arn_text().to_owned())),
            KeyState::PendingDeletion => Err(KmsError::PendingDeletion(self.arn_text().to_owned())),
        }
    }

    /// `KMSInvalidStateException` when pending deletion.
    fn not_pending_deletion(&self) -> Result<(), KmsError> {
        if self.record.state == KeyState::PendingDeletion {
            return Err(KmsError::PendingDeletion(self.arn_text().to_owned()));
        }
        Ok(())
    }

    /// For rotation settings: `DisabledException` when disabled, `KMSInvalidStateException`
    /// when pending deletion.
    fn rotatable(&self) -> Result<(), KmsError> {
        self.usable()
    }
}

#[derive(Debug, Default)]
struct State {
    keys: HashMap<KeyId, Arc<KeyEntry>>,
    aliases: BTreeMap<(AccountId, AliasName), AliasRecord>,
}

/// A resolved key, with the alias used to name it (for `kms:RequestAlias`).
struct Resolved {
    entry: Arc<KeyEntry>,
    alias: Option<AliasName>,
}

/// A decrypted blob.
struct Opened {
    key: Resolved,
    plaintext: Zeroizing<Vec<u8>>,
    material: Arc<Material>,
}

/// A new data key, in plaintext and sealed.
struct DataKey {
    plaintext: Zeroizing<Vec<u8>>,
    blob: Vec<u8>,
    entry: Arc<KeyEntry>,
}

/// Whether an operation works on another account's key (named by ARN).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CrossAccount {
    Allowed,
    Refused,
}

/// sealtrail's KMS for one region: symmetric customer managed keys with their policies,
/// aliases, tags, rotation and deletion, over a [`KeyStore`].
///
/// Create it once with [`Kms::open`] and share it (`Arc<Kms>`); call [`Kms::tick`]
/// periodically (every few seconds) so that keys past their deletion date are purged and
/// due rotations happen.
pub struct Kms {
    region: Region,
    store: Arc<dyn KeyStore>,
    wrapper: Arc<dyn KeyWrapper>,
    rng: Mutex<Box<dyn Rng>>,
    state: RwLock<State>,
    writer: Mutex<()>,
}

impl std::fmt::Debug for Kms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kms")
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

fn material_aad(id: &KeyId, version: u32, material_id: &str) -> Vec<u8> {
    format!("sealtrail-kms-material:v1:{id}:{version}:{material_id}").into_bytes()
}

fn parse_policy(text: &str) -> Result<Policy, KmsError> {
    Policy::parse(text, &ParseOptions::key_policy()).map_err(|e| match e.kind() {
        ParseErrorKind::TooLarge { .. } => KmsError::LimitExceeded(format!(
            "The key policy is larger than the maximum of {MAX_POLICY_BYTES} bytes."
        )),
        ParseErrorKind::Principal { .. } => KmsError::MalformedPolicy(
            "Policy contains a statement with one or more invalid principals.".to_owned(),
        ),
        ParseErrorKind::OverlyPermissiveCondition(_) => KmsError::MalformedPolicy(
            "OverlyPermissiveCondition:EncryptionContext: Using the ForAllValues set operator with a single-valued condition key matches requests without the specified encryption context or with an unspecified encryption context. To fix, remove ForAllValues.".to_owned(),
        ),
        _ => KmsError::MalformedPolicy(format!("The policy is not valid: {e}")),
    })
}

fn check_grant_tokens(c: &mut Checker, tokens: Option<&Vec<String>>) {
    c.list_length("grantTokens", tokens.map(Vec::len), 0, 10);
    for (i, t) in tokens.into_iter().flatten().enumerate() {
        c.length(&format!("grantTokens.{}.member", i + 1), Some(t), 1, 8192);
    }
}

fn refuse_grant_tokens(tokens: Option<&Vec<String>>) -> Result<(), KmsError> {
    if tokens.is_some_and(|t| !t.is_empty()) {
        return Err(KmsError::InvalidGrantToken(
            "The grant token is not valid: sealtrail has no grants.".to_owned(),
        ));
    }
    Ok(())
}

fn symmetric_algorithm(alg: Option<&str>) -> Result<(), KmsError> {
    match alg {
        None | Some("SYMMETRIC_DEFAULT") => Ok(()),
        Some(other) => Err(KmsError::InvalidKeyUsage(format!(
            "The encryption algorithm {other} is not compatible with a symmetric encryption KMS key: use SYMMETRIC_DEFAULT."
        ))),
    }
}

fn check_tags(c: &mut Checker, member: &str, tags: Option<&Vec<Tag>>) {
    for (i, t) in tags.into_iter().flatten().enumerate() {
        let base = format!("{member}.{}.member", i + 1);
        c.required(&format!("{base}.tagKey"), t.key.as_ref());
        c.length(&format!("{base}.tagKey"), t.key.as_deref(), 1, 128);
        c.required(&format!("{base}.tagValue"), t.value.as_ref());
        c.length(&format!("{base}.tagValue"), t.value.as_deref(), 0, 256);
    }
}

/// Tags as a map, after the checks of [`check_tags`]: `TagException` for reserved or repeated
/// keys.
fn tag_map(tags: &[Tag]) -> Result<BTreeMap<String, String>, KmsError> {
    let mut out = BTreeMap::new();
    for t in tags {
        let (Some(k), Some(v)) = (&t.key, &t.value) else {
            continue;
        };
        if k.starts_with("aws:") {
            return Err(KmsError::Tag(format!(
                "Tag key {k} is not allowed: the prefix aws: is reserved for AWS use."
            )));
        }
        if out.insert(k.clone(), v.clone()).is_some() {
            return Err(KmsError::Tag(format!("Duplicate tag key {k}.")));
        }
    }
    Ok(out)
}

fn add_request_tags(ctx: &mut Context, tags: &BTreeMap<String, String>) {
    for (k, v) in tags {
        ctx.insert(&format!("aws:RequestTag/{k}"), Value::string(v.as_str()));
    }
    ctx.insert(
        "aws:TagKeys",
        ContextValue::Multi(tags.keys().map(|k| Value::string(k.as_str())).collect()),
    );
}

impl Kms {
    /// Opens the KMS of `region` over `store`: loads every key and alias of the region and
    /// unwraps the key material with `wrapper` into memory. `rng` must be a cryptographic
    /// generator in production (it makes key material, nonces and data keys).
    ///
    /// # Errors
    /// [`KmsError::Internal`] when the store cannot be read, a stored policy does not parse,
    /// or material does not unwrap (a wrong root key).
    pub fn open(
        region: Region,
        store: Arc<dyn KeyStore>,
        wrapper: Arc<dyn KeyWrapper>,
        rng: Box<dyn Rng>,
    ) -> Result<Self, KmsError> {
        let snapshot = store.load().map_err(KmsError::internal)?;
        let mut state = State::default();
        for record in snapshot.keys {
            if record.region != region {
                continue;
            }
            let entry = Self::entry_from_record(wrapper.as_ref(), record)?;
            state.keys.insert(entry.record.id.clone(), Arc::new(entry));
        }
        for alias in snapshot.aliases {
            if alias.region == region {
                state
                    .aliases
                    .insert((alias.account.clone(), alias.name.clone()), alias);
            }
        }
        Ok(Self {
            region,
            store,
            wrapper,
            rng: Mutex::new(rng),
            state: RwLock::new(state),
            writer: Mutex::new(()),
        })
    }

    fn entry_from_record(
        wrapper: &dyn KeyWrapper,
        record: KeyRecord,
    ) -> Result<KeyEntry, KmsError> {
        let policy = parse_policy(&record.policy).map_err(|e| {
            KmsError::internal(format!(
                "stored policy of key {} does not parse: {e}",
                record.id
            ))
        })?;
        let mut materials = Vec::with_capacity(record.materials.len());
        for (i, m) in record.materials.iter().enumerate() {
            if usize::try_from(m.version).ok() != Some(i + 1) {
                return Err(KmsError::internal(format!(
                    "key {} has material versions out of order",
                    record.id
                )));
            }
            let raw = wrapper.unwrap(&m.wrapped, &material_aad(&record.id, m.version, &m.id))?;
            materials.push(Arc::new(Material::new(m.version, m.id.clone(), &raw)?));
        }
        if materials.is_empty() {
            return Err(KmsError::internal(format!(
                "key {} has no material",
                record.id
            )));
        }
        let arn = Arn::parse(&record.arn()).map_err(KmsError::internal)?;
        Ok(KeyEntry {
            record,
            arn,
            policy: Arc::new(policy),
            materials,
        })
    }

    /// The region served.
    #[must_use]
    pub fn region(&self) -> &Region {
        &self.region
    }

    fn read(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write_state(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(PoisonError::into_inner)
    }

    fn writer(&self) -> MutexGuard<'_, ()> {
        self.writer.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn fill_random(&self, buf: &mut [u8]) {
        self.rng
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .fill(buf);
    }

    // ----- resolution -------------------------------------------------------------------

    fn resolve(
        &self,
        call: &Call<'_>,
        text: &str,
        accepts: Accepts,
        cross: CrossAccount,
    ) -> Result<Resolved, KmsError> {
        let r = KeyRef::parse(text, accepts, call.caller.account(), &self.region)?;
        let state = self.read();
        match r {
            KeyRef::Key { account, id } => {
                let not_found = || KmsError::KeyNotFound(key_arn(&self.region, &account, &id));
                if cross == CrossAccount::Refused && account != *call.caller.account() {
                    return Err(not_found());
                }
                let entry = state
                    .keys
                    .get(&id)
                    .filter(|e| e.record.account == account && !e.record.is_deleted_at(call.now))
                    .ok_or_else(not_found)?;
                Ok(Resolved {
                    entry: Arc::clone(entry),
                    alias: None,
                })
            }
            KeyRef::Alias { account, name } => {
                let not_found =
                    || KmsError::AliasNotFound(alias_arn(&self.region, &account, &name));
                if cross == CrossAccount::Refused && account != *call.caller.account() {
                    return Err(not_found());
                }
                let alias = state
                    .aliases
                    .get(&(account.clone(), name.clone()))
                    .ok_or_else(not_found)?;
                let entry = state
                    .keys
                    .get(&alias.target)
                    .filter(|e| !e.record.is_deleted_at(call.now))
                    .ok_or_else(not_found)?;
                Ok(Resolved {
                    entry: Arc::clone(entry),
                    alias: Some(name),
                })
            }
        }
    }

    // ----- authorization ----------------------------------------------------------------

    fn base_context(&self, call: &Call<'_>) -> Context {
        let mut c = Context::new();
        c.insert("aws:CurrentTime", Value::date(call.now));
        c.insert("aws:EpochTime", Value::number(call.now.epoch_seconds()));
        c.insert("aws:RequestedRegion", Value::string(self.region.as_str()));
        if let Some(ip) = call.source_ip {
            c.insert("aws:SourceIp", Value::ip(ip));
        }
        if let Some(s) = call.secure_transport {
            c.insert("aws:SecureTransport", Value::bool(s));
        }
        if let Some(v) = call.via_service {
            c.insert("kms:ViaService", Value::string(v));
        }
        if let Some(a) = call.source_arn {
            c.insert("aws:SourceArn", Value::string(a));
        }
        if let Some(a) = call.source_account {
            c.insert("aws:SourceAccount", Value::string(a));
        }
        if let Some(u) = call.caller.user_id() {
            c.insert("aws:userid", Value::string(u));
        }
        c
    }

    fn key_context(&self, call: &Call<'_>, r: &Resolved) -> Context {
        let mut c = self.base_context(call);
        c.insert("kms:KeyOrigin", Value::string("AWS_KMS"));
        c.insert("kms:KeySpec", Value::string("SYMMETRIC_DEFAULT"));
        c.insert("kms:KeyUsage", Value::string("ENCRYPT_DECRYPT"));
        c.insert("kms:MultiRegion", Value::bool(false));
        for (k, v) in &r.entry.record.tags {
            c.insert(&format!("aws:ResourceTag/{k}"), Value::string(v.as_str()));
        }
        if let Some(a) = &r.alias {
            c.insert("kms:RequestAlias", Value::string(a.as_str()));
        }
        c
    }

    /// Decides `action` on `resource` with the caller's identity policies and, for a key,
    /// its key policy; `AccessDeniedException` with AWS's message when refused. `star` shows
    /// the resource as `*` in the message (operations without a resource).
    fn check(
        &self,
        call: &Call<'_>,
        action: &str,
        resource: &Arn,
        context: Context,
        key_policy: Option<&Policy>,
        star: bool,
    ) -> Result<(), KmsError> {
        let req = Request::new(
            call.caller.principal().clone(),
            action,
            resource.clone(),
            context,
        )
        .map_err(KmsError::internal)?;
        let set = PolicySet {
            identity: call
                .caller
                .identity_policies()
                .iter()
                .collect::<Vec<&Policy>>(),
            resource: key_policy.map(|p| (p, ResourceKind::KmsKey)),
        };
        if decide(&req, &set).is_allow() {
            return Ok(());
        }
        let message = authorize(&req, &set)
            .access_denied_message(&req)
            .unwrap_or_default();
        let message = if star {
            message.replacen(&format!(" on resource: {resource}"), " on resource: *", 1)
        } else {
            message
        };
        Err(KmsError::AccessDenied(message))
    }

    /// A key of the caller's account named by key id or ARN (no alias, no other account),
    /// once `action` is allowed on it with the key's context: what the read-only key
    /// operations (`GetKeyPolicy`, the `List...` of one key) share.
    fn own_key_for(
        &self,
        call: &Call<'_>,
        key_id: Option<&str>,
        action: &str,
    ) -> Result<Resolved, KmsError> {
        let r = self.resolve(
            call,
            key_id.unwrap_or_default(),
            Accepts::KeyOnly,
            CrossAccount::Refused,
        )?;
        self.check_key(call, action, &r, self.key_context(call, &r))?;
        Ok(r)
    }

    fn check_key(
        &self,
        call: &Call<'_>,
        action: &str,
        r: &Resolved,
        context: Context,
    ) -> Result<(), KmsError> {
        self.check(
            call,
            action,
            &r.entry.arn,
            context,
            Some(&r.entry.policy),
            false,
        )
    }

    /// Identity-only actions without a resource (`CreateKey`, `ListKeys`, `ListAliases`,
    /// `GenerateRandom`): the resource is `*`.
    fn check_account(
        &self,
        call: &Call<'_>,
        action: &str,
        context: Context,
    ) -> Result<(), KmsError> {
        let star = Arn::parse(&format!(
            "arn:aws:kms:{}:{}:*",
            self.region,
            call.caller.account()
        ))
        .map_err(KmsError::internal)?;
        self.check(call, action, &star, context, None, true)
    }

    /// The alias side of alias operations: identity policies on the alias ARN.
    fn check_alias(&self, call: &Call<'_>, action: &str, name: &AliasName) -> Result<(), KmsError> {
        let arn = Arn::parse(&alias_arn(&self.region, call.caller.account(), name))
            .map_err(KmsError::internal)?;
        self.check(call, action, &arn, self.base_context(call), None, false)
    }

    /// `PutKeyPolicy`'s and `CreateKey`'s lockout safety check: the new policy must let the
    /// caller call `PutKeyPolicy` later.
    fn lockout_check(&self, call: &Call<'_>, key: &Arn, policy: &Policy) -> Result<(), KmsError> {
        let req = Request::new(
            call.caller.principal().clone(),
            "kms:PutKeyPolicy",
            key.clone(),
            self.base_context(call),
        )
        .map_err(KmsError::internal)?;
        let set = PolicySet {
            identity: call
                .caller
                .identity_policies()
                .iter()
                .collect::<Vec<&Policy>>(),
            resource: Some((policy, ResourceKind::KmsKey)),
        };
        if decide(&req, &set).is_allow() {
            Ok(())
        } else {
            Err(KmsError::MalformedPolicy(
                "The new key policy will not allow you to update the key policy in the future."
                    .to_owned(),
            ))
        }
    }

    // ----- mutation helpers -------------------------------------------------------------

    fn new_material(
        &self,
        id: &KeyId,
        version: u32,
        now: UtcTime,
        rotation: Option<RotationType>,
    ) -> Result<(MaterialRecord, Arc<Material>), KmsError> {
        let mut raw = Zeroizing::new([0u8; MATERIAL_LEN]);
        let mut mid = [0u8; 32];
        let wrapped = {
            let mut rng = self.rng.lock().unwrap_or_else(PoisonError::into_inner);
            rng.fill(&mut raw[..]);
            rng.fill(&mut mid);
            let mid = hex::encode(mid);
            let wrapped =
                self.wrapper
                    .wrap(&raw[..], &material_aad(id, version, &mid), &mut **rng)?;
            (mid, wrapped)
        };
        let (mid, wrapped) = wrapped;
        let material = Arc::new(Material::new(version, mid.clone(), &raw[..])?);
        Ok((
            MaterialRecord {
                version,
                id: mid,
                created: now,
                rotation,
                wrapped,
            },
            material,
        ))
    }

    /// Writes `changes`, then publishes with `publish`. Call with the writer lock held.
    fn commit(&self, changes: &[Change], publish: impl FnOnce(&mut State)) -> Result<(), KmsError> {
        self.store.apply(changes).map_err(KmsError::internal)?;
        publish(&mut self.write_state());
        Ok(())
    }

    /// Stores and publishes a changed key. Call with the writer lock held.
    fn put_entry(&self, entry: KeyEntry) -> Result<Arc<KeyEntry>, KmsError> {
        let entry = Arc::new(entry);
        let shared = Arc::clone(&entry);
        self.commit(&[Change::PutKey(entry.record.clone())], move |s| {
            s.keys.insert(shared.record.id.clone(), shared);
        })?;
        Ok(entry)
    }

    fn key_id_checked(c: &mut Checker, key_id: Option<&String>) {
        c.required("keyId", key_id);
        validate::key_id(c, "keyId", key_id.map(String::as_str));
    }

    /// The common path of a management operation on one key: check, resolve (key id or key
    /// ARN, own account), authorize `action`, check the state, change the record, store,
    /// publish.
    fn manage(
        &self,
        call: &Call<'_>,
        key_id: Option<&str>,
        action: &str,
        extra_context: impl FnOnce(&mut Context),
        state_ok: impl FnOnce(&KeyEntry) -> Result<(), KmsError>,
        change: impl FnOnce(&mut KeyEntry) -> Result<(), KmsError>,
    ) -> Result<Arc<KeyEntry>, KmsError> {
        let key_id = key_id.ok_or_else(|| KmsError::internal("key id was checked"))?;
        let _w = self.writer();
        let r = self.resolve(call, key_id, Accepts::KeyOnly, CrossAccount::Refused)?;
        let mut ctx = self.key_context(call, &r);
        extra_context(&mut ctx);
        self.check_key(call, action, &r, ctx)?;
        state_ok(&r.entry)?;
        let mut entry = (*r.entry).clone();
        change(&mut entry)?;
        self.put_entry(entry)
    }

    // ----- operations: keys -------------------------------------------------------------

    /// `CreateKey`: a symmetric encryption key with fresh AES-256 material, the given policy
    /// (checked, and the lockout check unless bypassed) or the default key policy.
    ///
    /// # Errors
    /// `ValidationException`, `UnsupportedOperationException` (anything but a symmetric
    /// `AWS_KMS` single-Region key), `AccessDeniedException` (`kms:CreateKey`, and
    /// `kms:TagResource` with tags, from identity policies), `MalformedPolicyDocumentException`,
    /// `LimitExceededException`, `TagException`, `KMSInternalException`.
    pub fn create_key(
        &self,
        call: &Call<'_>,
        req: CreateKeyRequest,
    ) -> Result<KeyMetadataResponse, KmsError> {
        let mut c = Checker::new();
        c.length("policy", req.policy.as_deref(), 1, 131_072);
        c.pattern(
            "policy",
            req.policy.as_deref(),
            "[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+",
            validate::is_policy_chars,
        );
        c.length("description", req.description.as_deref(), 0, 8192);
        c.one_of("keyUsage", req.key_usage.as_deref(), KEY_USAGES);
        c.one_of(
            "customerMasterKeySpec",
            req.customer_master_key_spec.as_deref(),
            CMK_SPECS,
        );
        c.one_of("keySpec", req.key_spec.as_deref(), KEY_SPECS);
        c.one_of("origin", req.origin.as_deref(), ORIGINS);
        c.length(
            "customKeyStoreId",
            req.custom_key_store_id.as_deref(),
            1,
            64,
        );
        c.length("xksKeyId", req.xks_key_id.as_deref(), 1, 128);
        check_tags(&mut c, "tags", req.tags.as_ref());
        c.finish()?;
        if req.key_spec.is_some() && req.customer_master_key_spec.is_some() {
            return Err(KmsError::InvalidRequest(
                "You cannot specify KeySpec and CustomerMasterKeySpec in the same request. CustomerMasterKeySpec is deprecated.".to_owned(),
            ));
        }
        let spec = req
            .key_spec
            .as_deref()
            .or(req.customer_master_key_spec.as_deref())
            .unwrap_or("SYMMETRIC_DEFAULT");
        if spec != "SYMMETRIC_DEFAULT" {
            return Err(KmsError::Unsupported(format!(
                "KeySpec {spec} is not supported: sealtrail's KMS has symmetric encryption keys (SYMMETRIC_DEFAULT) only."
            )));
        }
        if let Some(u) = req.key_usage.as_deref().filter(|u| *u != "ENCRYPT_DECRYPT") {
            return Err(KmsError::Unsupported(format!(
                "KeyUsage {u} is not supported for SYMMETRIC_DEFAULT keys: use ENCRYPT_DECRYPT."
            )));
        }
        if let Some(o) = req.origin.as_deref().filter(|o| *o != "AWS_KMS") {
            return Err(KmsError::Unsupported(format!(
                "Origin {o} is not supported: sealtrail's KMS makes its own key material (AWS_KMS)."
            )));
        }
        if req.multi_region == Some(true) {
            return Err(KmsError::Unsupported(
                "Multi-Region keys are not supported.".to_owned(),
            ));
        }
        if req.custom_key_store_id.is_some() || req.xks_key_id.is_some() {
            return Err(KmsError::Unsupported(
                "Custom key stores are not supported.".to_owned(),
            ));
        }
        let tags = tag_map(req.tags.as_deref().unwrap_or_default())?;
        if tags.len() > MAX_TAGS {
            return Err(KmsError::LimitExceeded(format!(
                "A KMS key can have at most {MAX_TAGS} tags."
            )));
        }

        let mut ctx = self.base_context(call);
        ctx.insert(
            "kms:BypassPolicyLockoutSafetyCheck",
            Value::bool(req.bypass_policy_lockout_safety_check),
        );
        ctx.insert("kms:KeyOrigin", Value::string("AWS_KMS"));
        ctx.insert("kms:KeySpec", Value::string("SYMMETRIC_DEFAULT"));
        ctx.insert("kms:KeyUsage", Value::string("ENCRYPT_DECRYPT"));
        ctx.insert("kms:MultiRegion", Value::bool(false));
        if !tags.is_empty() {
            add_request_tags(&mut ctx, &tags);
        }
        self.check_account(call, "kms:CreateKey", ctx.clone())?;
        if !tags.is_empty() {
            self.check_account(call, "kms:TagResource", ctx)?;
        }

        let account = call.caller.account().clone();
        let id = {
            let mut rng = self.rng.lock().unwrap_or_else(PoisonError::into_inner);
            KeyId::generate(&mut **rng)
        };
        let arn_text = key_arn(&self.region, &account, &id);
        let arn = Arn::parse(&arn_text).map_err(KmsError::internal)?;
        let (policy_text, policy) = match req.policy {
            Some(text) => {
                let policy = parse_policy(&text)?;
                if !req.bypass_policy_lockout_safety_check {
                    self.lockout_check(call, &arn, &policy)?;
                }
                (text, policy)
            }
            None => {
                let text = default_key_policy(&account);
                let policy = parse_policy(&text)?;
                (text, policy)
            }
        };
        let (material_record, material) = self.new_material(&id, 1, call.now, None)?;
        let record = KeyRecord {
            id,
            account,
            region: self.region.clone(),
            created: call.now,
            description: req.description.unwrap_or_default(),
            state: KeyState::Enabled,
            deletion_date: None,
            pending_window_days: None,
            policy: policy_text,
            tags,
            rotation: RotationConfig::default(),
            materials: vec![material_record],
        };
        let entry = KeyEntry {
            record,
            arn,
            policy: Arc::new(policy),
            materials: vec![material],
        };
        let _w = self.writer();
        let entry = self.put_entry(entry)?;
        Ok(KeyMetadataResponse {
            key_metadata: entry.record.metadata(),
        })
    }

    /// `DescribeKey` (any key state; another account's key by ARN).
    ///
    /// # Errors
    /// `ValidationException`, `NotFoundException`, `InvalidArnException`,
    /// `AccessDeniedException` (`kms:DescribeKey`), `InvalidGrantTokenException`.
    pub fn describe_key(
        &self,
        call: &Call<'_>,
        req: DescribeKeyRequest,
    ) -> Result<KeyMetadataResponse, KmsError> {
        let mut c = Checker::new();
        Self::key_id_checked(&mut c, req.key_id.as_ref());
        check_grant_tokens(&mut c, req.grant_tokens.as_ref());
        c.finish()?;
        let key_id = req.key_id.unwrap_or_default();
        let r = self.resolve(call, &key_id, Accepts::KeyOrAlias, CrossAccount::Allowed)?;
        self.check_key(call, "kms:DescribeKey", &r, self.key_context(call, &r))?;
        refuse_grant_tokens(req.grant_tokens.as_ref())?;
        Ok(KeyMetadataResponse {
            key_metadata: r.entry.record.metadata(),
        })
    }

    /// `ListKeys`: the caller's keys in this region, by key id (keys pending deletion
    /// included, deleted ones not).
    ///
    /// # Errors
    /// `ValidationException`, `InvalidMarkerException`, `AccessDeniedException`
    /// (`kms:ListKeys`, identity policies).
    pub fn list_keys(
        &self,
        call: &Call<'_>,
        req: ListKeysRequest,
    ) -> Result<Page<KeyListEntry>, KmsError> {
        let mut c = Checker::new();
        paging::check(&mut c, &req.page);
        c.finish()?;
        self.check_account(call, "kms:ListKeys", self.base_context(call))?;
        let mut keys: Vec<(String, KeyListEntry)> = self
            .read()
            .keys
            .values()
            .filter(|e| {
                e.record.account == *call.caller.account() && !e.record.is_deleted_at(call.now)
            })
            .map(|e| {
                let id = e.record.id.to_string();
                (
                    id.clone(),
                    KeyListEntry {
                        key_id: id,
                        key_arn: e.arn_text().to_owned(),
                    },
                )
            })
            .collect();
        keys.sort_by(|a, b| a.0.cmp(&b.0));
        paging::page("keys", keys, &req.page, 100)
    }

    /// `EnableKey` (a pending-deletion key stays so: `KMSInvalidStateException`).
    ///
    /// # Errors
    /// `ValidationException`, `NotFoundException`, `AccessDeniedException`,
    /// `KMSInvalidStateException`, `KMSInternalException`.
    pub fn enable_key(&self, call: &Call<'_>, req: KeyIdRequest) -> Result<(), KmsError> {
        self.set_enabled(call, req, true)
    }

    /// `DisableKey`.
    ///
    /// # Errors
    /// As [`Kms::enable_key`].
    pub fn disable_key(&self, call: &Call<'_>, req: KeyIdRequest) -> Result<(), KmsError> {
        self.set_enabled(call, req, false)
    }

    fn set_enabled(&self, call: &Call<'_>, req: KeyIdRequest, on: bool) -> Result<(), KmsError> {
        let mut c = Checker::new();
        Self::key_id_checked(&mut c, req.key_id.as_ref());
        c.finish()?;
        let action = if on {
            "kms:EnableKey"
        } else {
            "kms:DisableKey"
        };
        self.manage(
            call,
            req.key_id.as_deref(),
            action,
            |_| {},
            KeyEntry::not_pending_deletion,
            |e| {
                e.record.state = if on {
                    KeyState::Enabled
                } else {
                    KeyState::Disabled
                };
                Ok(())
            },
        )?;
        Ok(())
    }

    /// `UpdateKeyDescription`.
    ///
    /// # Errors
    /// As [`Kms::enable_key`].
    pub fn update_key_description(
        &self,
        call: &Call<'_>,
        req: UpdateKeyDescriptionRequest,
    ) -> Result<(), KmsError> {
        let mut c = Checker::new();
        Self::key_id_checked(&mut c, req.key_id.as_ref());
        c.required("description", req.description.as_ref());
        c.length("description", req.description.as_deref(), 0, 8192);
        c.finish()?;
        let description = req.description.unwrap_or_default();
        self.manage(
            call,
            req.key_id.as_deref(),
            "kms:UpdateKeyDescription",
            |_| {},
            KeyEntry::not_pending_deletion,
            |e| {
                e.record.description = description;
                Ok(())
            },
        )?;
        Ok(())
    }

    /// `ScheduleKeyDeletion`: `PendingWindowInDays` 7 to 30 (default 30). The key is unusable
    /// at once; its material is destroyed when the window ends.
    ///
    /// # Errors
    /// As [`Kms::enable_key`].
    pub fn schedule_key_deletion(
        &self,
        call: &Call<'_>,
        req: ScheduleKeyDeletionRequest,
    ) -> Result<ScheduleKeyDeletionResponse, KmsError> {
        let mut c = Checker::new();
        Self::key_id_checked(&mut c, req.key_id.as_ref());
        // The model allows 1 to 365 (its bounds are what the front end reports); the service
        // then takes only 7 to 30.
        c.range("pendingWindowInDays", req.pending_window_in_days, 1, 365);
        c.finish()?;
        let mut c = Checker::new();
        c.range("pendingWindowInDays", req.pending_window_in_days, 7, 30);
        c.finish()?;
        let days = req.pending_window_in_days.unwrap_or(30);
        let date = call.now.plus_seconds(days * SECONDS_PER_DAY);
        let days_u = u32::try_from(days).map_err(KmsError::internal)?;
        let e = self.manage(
            call,
            req.key_id.as_deref(),
            "kms:ScheduleKeyDeletion",
            |ctx| {
                ctx.insert(
                    "kms:ScheduleKeyDeletionPendingWindowInDays",
                    Value::number(days),
                );
            },
            KeyEntry::not_pending_deletion,
            |e| {
                e.record.state = KeyState::PendingDeletion;
                e.record.deletion_date = Some(date);
                e.record.pending_window_days = Some(days_u);
                Ok(())
            },
        )?;
        Ok(ScheduleKeyDeletionResponse {
            key_id: e.arn_text().to_owned(),
            deletion_date: date,
            key_state: KeyState::PendingDeletion,
            pending_window_in_days: days_u,
        })
    }

    /// `CancelKeyDeletion`: back to `Disabled` (not `Enabled`), as AWS does.
    ///
    /// # Errors
    /// As [`Kms::enable_key`]; `KMSInvalidStateException` when not pending deletion.
    pub fn cancel_key_deletion(
        &self,
        call: &Call<'_>,
        req: KeyIdRequest,
    ) -> Result<String, KmsError> {
        let mut c = Checker::new();
        Self::key_id_checked(&mut c, req.key_id.as_ref());
        c.finish()?;
        let e = self.manage(
            call,
            req.key_id.as_deref(),
            "kms:CancelKeyDeletion",
            |_| {},
            |e| {
                if e.record.state == KeyState::PendingDeletion {
                    Ok(())
                } else {
                    Err(KmsError::NotPendingDeletion(e.arn_text().to_owned()))
                }
            },
            |e| {
                e.record.state = KeyState::Disabled;
                e.record.deletion_date = None;
                e.record.pending_window_days = None;
                Ok(())
            },
        )?;
        Ok(e.arn_text().to_owned())
    }

    // ----- policies ---------------------------------------------------------------------

    fn check_policy_name(c: &mut Checker, name: Option<&str>) {
        c.length("policyName", name, 1, 128);
        c.pattern("policyName", name, "[\\w]+", validate::is_word_chars);
    }

    fn only_default_policy(name: Option<&str>) -> Result<(), KmsError> {
        match name {
            None | Some("default") => Ok(()),
            Some(other) => Err(KmsError::InvalidRequest(format!(
                "Policy name {other} is not valid: the only key policy name is default."
            ))),
        }
    }

    /// `PutKeyPolicy`: replaces the policy, stored exactly as given, after the parse and the
    /// lockout safety check (unless bypassed).
    ///
    /// # Errors
    /// As [`Kms::enable_key`] (allowed in every key state), plus
    /// `MalformedPolicyDocumentException` and `LimitExceededException`.
    pub fn put_key_policy(
        &self,
        call: &Call<'_>,
        req: PutKeyPolicyRequest,
    ) -> Result<(), KmsError> {
        let mut c = Checker::new();
        Self::key_id_checked(&mut c, req.key_id.as_ref());
        Self::check_policy_name(&mut c, req.policy_name.as_deref());
        c.required("policy", req.policy.as_ref());
        c.length("policy", req.policy.as_deref(), 1, 131_072);
        c.pattern(
            "policy",
            req.policy.as_deref(),
            "[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+",
            validate::is_policy_chars,
        );
        c.finish()?;
        Self::only_default_policy(req.policy_name.as_deref())?;
        let text = req.policy.unwrap_or_default();
        let policy = Arc::new(parse_policy(&text)?);
        let bypass = req.bypass_policy_lockout_safety_check;
        let new_policy = Arc::clone(&policy);
        self.manage(
            call,
            req.key_id.as_deref(),
            "kms:PutKeyPolicy",
            |ctx| {
                ctx.insert("kms:BypassPolicyLockoutSafetyCheck", Value::bool(bypass));
            },
            |e| {
                if bypass {
                    Ok(())
                } else {
                    self.lockout_check(call, &e.arn, &policy)
                }
            },
            |e| {
                e.record.policy = text;
                e.policy = new_policy;
                Ok(())
            },
        )?;
        Ok(())
    }

    /// `GetKeyPolicy`: the text exactly as stored.
    ///
    /// # Errors
    /// `ValidationException`, `NotFoundException`, `AccessDeniedException`.
    pub fn get_key_policy(
        &self,
        call: &Call<'_>,
        req: GetKeyPolicyRequest,
    ) -> Result<GetKeyPolicyResponse, KmsError> {
        let mut c = Checker::new();
        Self::key_id_checked(&mut c, req.key_id.as_ref());
        Self::check_policy_name(&mut c, req.policy_name.as_deref());
        c.finish()?;
        let r = self.own_key_for(call, req.key_id.as_deref(), "kms:GetKeyPolicy")?;
        Self::only_default_policy(req.policy_name.as_deref())?;
        Ok(GetKeyPolicyResponse {
            policy: r.entry.record.policy.clone(),
            policy_name: "default",
        })
    }

    /// `ListKeyPolicies`: `["default"]`.
    ///
    /// # Errors
    /// `ValidationException`, `NotFoundException`, `AccessDeniedException`,
    /// `InvalidMarkerException`.
    pub fn list_key_policies(
        &self,
        call: &Call<'_>,
        req: KeyPageRequest,
    ) -> Result<Page<String>, KmsError> {
        let mut c = Checker::new();
        Self::key_id_checked(&mut c, req.key_id.as_ref());
        paging::check(&mut c, &req.page);
        c.finish()?;
        self.own_key_for(call, req.key_id.as_deref(), "kms:ListKeyPolicies")?;
        paging::page(
            "policies",
            [("default".to_owned(), "default".to_owned())],
            &req.page,
            100,
        )
    }

    // ----- cryptography -----------------------------------------------------------------

    fn crypto_context(&self, call: &Call<'_>, r: &Resolved, ec: &EncryptionContext) -> Context {
        let mut ctx = self.key_context(call, r);
        ctx.insert(
            "kms:EncryptionAlgorithm",
            Value::string("SYMMETRIC_DEFAULT"),
        );
        ec.add_condition_keys(&mut ctx);
        ctx
    }

    /// `Encrypt`: 1 to 4096 bytes under the key's current material.
    ///
    /// # Errors
    /// `ValidationException`, `NotFoundException`, `AccessDeniedException` (`kms:Encrypt`),
    /// `DisabledException`, `KMSInvalidStateException`, `InvalidKeyUsageException`,
    /// `InvalidGrantTokenException`, `DryRunOperationException`, `KMSInternalException`.
    pub fn encrypt(
        &self,
        call: &Call<'_>,
        req: EncryptRequest,
    ) -> Result<EncryptResponse, KmsError> {
        let mut c = Checker::new();
        Self::key_id_checked(&mut c, req.key_id.as_ref());
        c.required("plaintext", req.plaintext.as_ref());
        c.hidden_length(
            "plaintext",
            req.plaintext.as_ref().map(|p| p.expose_secret().len()),
            1,
            4096,
        );
        check_grant_tokens(&mut c, req.grant_tokens.as_ref());
        c.one_of(
            "encryptionAlgorithm",
            req.encryption_algorithm.as_deref(),
            ALGORITHMS,
        );
        c.finish()?;
        let key_id = req.key_id.unwrap_or_default();
        let r = self.resolve(call, &key_id, Accepts::KeyOrAlias, CrossAccount::Allowed)?;
        let ctx = self.crypto_context(call, &r, &req.encryption_context);
        self.check_key(call, "kms:Encrypt", &r, ctx)?;
        refuse_grant_tokens(req.grant_tokens.as_ref())?;
        r.entry.usable()?;
        symmetric_algorithm(req.encryption_algorithm.as_deref())?;
        if req.dry_run {
            return Err(KmsError::DryRun);
        }
        let plaintext = req
            .plaintext
            .ok_or_else(|| KmsError::internal("plaintext was checked"))?;
        let blob = self.seal(&r.entry, plaintext.expose_secret(), &req.encryption_context)?;
        Ok(EncryptResponse {
            ciphertext_blob: blob,
            key_id: r.entry.arn_text().to_owned(),
            encryption_algorithm: "SYMMETRIC_DEFAULT",
        })
    }

    fn seal(
        &self,
        entry: &KeyEntry,
        plaintext: &[u8],
        ec: &EncryptionContext,
    ) -> Result<Vec<u8>, KmsError> {
        let material = entry.current()?;
        let mut rng = self.rng.lock().unwrap_or_else(PoisonError::into_inner);
        material.seal(&entry.record.id, plaintext, &ec.aad(), &mut **rng)
    }

    /// Finds the key a blob names; `InvalidCiphertextException` when none (or deleted).
    fn blob_key(&self, call: &Call<'_>, b: &blob::Blob<'_>) -> Result<Resolved, KmsError> {
        let state = self.read();
        let entry = state
            .keys
            .get(&b.key_id)
            .filter(|e| !e.record.is_deleted_at(call.now))
            .ok_or(KmsError::InvalidCiphertext)?;
        Ok(Resolved {
            entry: Arc::clone(entry),
            alias: None,
        })
    }

    /// The decrypting half of `Decrypt` and `ReEncrypt`: blob → key (checked against the
    /// named key, if any) → authorization → state → plaintext.
    fn open_blob(
        &self,
        call: &Call<'_>,
        blob_bytes: &[u8],
        named: Option<&str>,
        ec: &EncryptionContext,
        action: &str,
        tokens: Option<&Vec<String>>,
    ) -> Result<Opened, KmsError> {
        let b = blob::parse(blob_bytes)?;
        let mut r = self.blob_key(call, &b)?;
        if let Some(named) = named {
            let n = self.resolve(call, named, Accepts::KeyOrAlias, CrossAccount::Allowed)?;
            if n.entry.record.id != r.entry.record.id {
                return Err(KmsError::IncorrectKey);
            }
            r.alias = n.alias;
        }
        let ctx = self.crypto_context(call, &r, ec);
        self.check_key(call, action, &r, ctx)?;
        refuse_grant_tokens(tokens)?;
        r.entry.usable()?;
        let material = Arc::clone(
            r.entry
                .material(b.material_version)
                .ok_or(KmsError::InvalidCiphertext)?,
        );
        let plaintext = material.open(&b, &ec.aad())?;
        Ok(Opened {
            key: r,
            plaintext,
            material,
        })
    }

    /// `Decrypt`: the blob names its key and material version; `KeyId`, when given, must be
    /// that key. The encryption context must match exactly.
    ///
    /// # Errors
    /// `ValidationException`, `InvalidCiphertextException` (corrupt blob, unknown or deleted
    /// key, context mismatch), `IncorrectKeyException`, `NotFoundException`,
    /// `AccessDeniedException` (`kms:Decrypt`), `DisabledException`,
    /// `KMSInvalidStateException`, `InvalidKeyUsageException`, `UnsupportedOperationException`
    /// (`Recipient`), `DryRunOperationException`.
    pub fn decrypt(
        &self,
        call: &Call<'_>,
        req: DecryptRequest,
    ) -> Result<DecryptResponse, KmsError> {
        let mut c = Checker::new();
        c.required("ciphertextBlob", req.ciphertext_blob.as_ref());
        c.hidden_length(
            "ciphertextBlob",
            req.ciphertext_blob.as_ref().map(Vec::len),
            1,
            6144,
        );
        validate::key_id(&mut c, "keyId", req.key_id.as_deref());
        check_grant_tokens(&mut c, req.grant_tokens.as_ref());
        c.one_of(
            "encryptionAlgorithm",
            req.encryption_algorithm.as_deref(),
            ALGORITHMS,
        );
        c.finish()?;
        if req.recipient {
            return Err(KmsError::Unsupported(
                "Recipient (Nitro Enclaves attestation) is not supported.".to_owned(),
            ));
        }
        symmetric_algorithm(req.encryption_algorithm.as_deref())?;
        let blob_bytes = req.ciphertext_blob.unwrap_or_default();
        let Opened {
            key: r,
            plaintext,
            material,
        } = self.open_blob(
            call,
            &blob_bytes,
            req.key_id.as_deref(),
            &req.encryption_context,
            "kms:Decrypt",
            req.grant_tokens.as_ref(),
        )?;
        if req.dry_run {
            return Err(KmsError::DryRun);
        }
        Ok(DecryptResponse {
            key_id: r.entry.arn_text().to_owned(),
            plaintext: SecretSlice::from(plaintext.to_vec()),
            encryption_algorithm: "SYMMETRIC_DEFAULT",
            key_material_id: material.id.clone(),
        })
    }

    /// `ReEncrypt`: decrypts under the source key (`kms:ReEncryptFrom`) and encrypts under
    /// the destination key (`kms:ReEncryptTo`) without revealing the plaintext.
    ///
    /// # Errors
    /// As [`Kms::decrypt`] and [`Kms::encrypt`].
    pub fn re_encrypt(
        &self,
        call: &Call<'_>,
        req: ReEncryptRequest,
    ) -> Result<ReEncryptResponse, KmsError> {
        let mut c = Checker::new();
        c.required("ciphertextBlob", req.ciphertext_blob.as_ref());
        c.hidden_length(
            "ciphertextBlob",
            req.ciphertext_blob.as_ref().map(Vec::len),
            1,
            6144,
        );
        validate::key_id(&mut c, "sourceKeyId", req.source_key_id.as_deref());
        c.required("destinationKeyId", req.destination_key_id.as_ref());
        validate::key_id(
            &mut c,
            "destinationKeyId",
            req.destination_key_id.as_deref(),
        );
        c.one_of(
            "sourceEncryptionAlgorithm",
            req.source_encryption_algorithm.as_deref(),
            ALGORITHMS,
        );
        c.one_of(
            "destinationEncryptionAlgorithm",
            req.destination_encryption_algorithm.as_deref(),
            ALGORITHMS,
        );
        check_grant_tokens(&mut c, req.grant_tokens.as_ref());
        c.finish()?;
        symmetric_algorithm(req.source_encryption_algorithm.as_deref())?;
        symmetric_algorithm(req.destination_encryption_algorithm.as_deref())?;
        let blob_bytes = req.ciphertext_blob.unwrap_or_default();
        let Opened {
            key: source,
            plaintext,
            material: source_material,
        } = self.open_blob(
            call,
            &blob_bytes,
            req.source_key_id.as_deref(),
            &req.source_encryption_context,
            "kms:ReEncryptFrom",
            req.grant_tokens.as_ref(),
        )?;
        let dest_id = req.destination_key_id.unwrap_or_default();
        let dest = self.resolve(call, &dest_id, Accepts::KeyOrAlias, CrossAccount::Allowed)?;
        let ctx = self.crypto_context(call, &dest, &req.destination_encryption_context);
        self.check_key(call, "kms:ReEncryptTo", &dest, ctx)?;
        dest.entry.usable()?;
        if req.dry_run {
            return Err(KmsError::DryRun);
        }
        let blob = self.seal(&dest.entry, &plaintext, &req.destination_encryption_context)?;
        Ok(ReEncryptResponse {
            ciphertext_blob: blob,
            source_key_id: source.entry.arn_text().to_owned(),
            key_id: dest.entry.arn_text().to_owned(),
            source_encryption_algorithm: "SYMMETRIC_DEFAULT",
            destination_encryption_algorithm: "SYMMETRIC_DEFAULT",
            source_key_material_id: source_material.id.clone(),
            destination_key_material_id: dest.entry.current()?.id.clone(),
        })
    }

    fn data_key(
        &self,
        call: &Call<'_>,
        req: GenerateDataKeyRequest,
        action: &str,
    ) -> Result<DataKey, KmsError> {
        let mut c = Checker::new();
        Self::key_id_checked(&mut c, req.key_id.as_ref());
        c.range("numberOfBytes", req.number_of_bytes, 1, 1024);
        c.one_of("keySpec", req.key_spec.as_deref(), DATA_KEY_SPECS);
        check_grant_tokens(&mut c, req.grant_tokens.as_ref());
        c.finish()?;
        let len = match (req.key_spec.as_deref(), req.number_of_bytes) {
            (Some("AES_256"), None) => 32,
            (Some(_), None) => 16,
            (None, Some(n)) => usize::try_from(n).map_err(KmsError::internal)?,
            _ => {
                return Err(KmsError::InvalidRequest(
                    "Please specify either number of bytes or key spec.".to_owned(),
                ));
            }
        };
        if req.recipient {
            return Err(KmsError::Unsupported(
                "Recipient (Nitro Enclaves attestation) is not supported.".to_owned(),
            ));
        }
        let key_id = req.key_id.unwrap_or_default();
        let r = self.resolve(call, &key_id, Accepts::KeyOrAlias, CrossAccount::Allowed)?;
        let ctx = self.crypto_context(call, &r, &req.encryption_context);
        self.check_key(call, action, &r, ctx)?;
        refuse_grant_tokens(req.grant_tokens.as_ref())?;
        r.entry.usable()?;
        if req.dry_run {
            return Err(KmsError::DryRun);
        }
        let mut data_key = Zeroizing::new(vec![0u8; len]);
        self.fill_random(&mut data_key);
        let blob = self.seal(&r.entry, &data_key, &req.encryption_context)?;
        Ok(DataKey {
            plaintext: data_key,
            blob,
            entry: r.entry,
        })
    }

    /// `GenerateDataKey`: a random data key (`KeySpec` AES_256/AES_128 or `NumberOfBytes`
    /// 1 to 1024, exactly one), in plaintext and encrypted under the key.
    ///
    /// # Errors
    /// As [`Kms::encrypt`] (action `kms:GenerateDataKey`).
    pub fn generate_data_key(
        &self,
        call: &Call<'_>,
        req: GenerateDataKeyRequest,
    ) -> Result<GenerateDataKeyResponse, KmsError> {
        let DataKey {
            plaintext: data_key,
            blob,
            entry,
        } = self.data_key(call, req, "kms:GenerateDataKey")?;
        Ok(GenerateDataKeyResponse {
            ciphertext_blob: blob,
            plaintext: SecretSlice::from(data_key.to_vec()),
            key_id: entry.arn_text().to_owned(),
            key_material_id: entry.current()?.id.clone(),
        })
    }

    /// `GenerateDataKeyWithoutPlaintext`: the encrypted data key only.
    ///
    /// # Errors
    /// As [`Kms::encrypt`] (action `kms:GenerateDataKeyWithoutPlaintext`).
    pub fn generate_data_key_without_plaintext(
        &self,
        call: &Call<'_>,
        mut req: GenerateDataKeyRequest,
    ) -> Result<GenerateDataKeyWithoutPlaintextResponse, KmsError> {
        req.recipient = false;
        let DataKey { blob, entry, .. } =
            self.data_key(call, req, "kms:GenerateDataKeyWithoutPlaintext")?;
        Ok(GenerateDataKeyWithoutPlaintextResponse {
            ciphertext_blob: blob,
            key_id: entry.arn_text().to_owned(),
            key_material_id: entry.current()?.id.clone(),
        })
    }

    /// `GenerateRandom`: 1 to 1024 random bytes.
    ///
    /// # Errors
    /// `ValidationException`, `AccessDeniedException` (`kms:GenerateRandom`, identity
    /// policies), `UnsupportedOperationException` (custom key stores, `Recipient`).
    pub fn generate_random(
        &self,
        call: &Call<'_>,
        req: GenerateRandomRequest,
    ) -> Result<SecretSlice<u8>, KmsError> {
        let mut c = Checker::new();
        c.required("numberOfBytes", req.number_of_bytes.as_ref());
        c.range("numberOfBytes", req.number_of_bytes, 1, 1024);
        c.length(
            "customKeyStoreId",
            req.custom_key_store_id.as_deref(),
            1,
            64,
        );
        c.finish()?;
        if req.custom_key_store_id.is_some() {
            return Err(KmsError::Unsupported(
                "Custom key stores are not supported.".to_owned(),
            ));
        }
        if req.recipient {
            return Err(KmsError::Unsupported(
                "Recipient (Nitro Enclaves attestation) is not supported.".to_owned(),
            ));
        }
        self.check_account(call, "kms:GenerateRandom", self.base_context(call))?;
        let n = usize::try_from(req.number_of_bytes.unwrap_or(0)).map_err(KmsError::internal)?;
        let mut out = vec![0u8; n];
        self.fill_random(&mut out);
        Ok(SecretSlice::from(out))
    }

    // ----- rotation ---------------------------------------------------------------------

    /// `EnableKeyRotation`: automatic rotation every `RotationPeriodInDays` (90 to 2560,
    /// default 365), first due that many days from now (or from the previous schedule's
    /// start when only the period changes).
    ///
    /// # Errors
    /// As [`Kms::enable_key`]; `DisabledException` on a disabled key.
    pub fn enable_key_rotation(
        &self,
        call: &Call<'_>,
        req: EnableKeyRotationRequest,
    ) -> Result<(), KmsError> {
        let mut c = Checker::new();
        Self::key_id_checked(&mut c, req.key_id.as_ref());
        c.range(
            "rotationPeriodInDays",
            req.rotation_period_in_days,
            90,
            2560,
        );
        c.finish()?;
        let period = req.rotation_period_in_days.unwrap_or(365);
        let period_u = u32::try_from(period).map_err(KmsError::internal)?;
        let now = call.now;
        self.manage(
            call,
            req.key_id.as_deref(),
            "kms:EnableKeyRotation",
            |ctx| ctx.insert("kms:RotationPeriodInDays", Value::number(period)),
            KeyEntry::rotatable,
            |e| {
                let rot = &mut e.record.rotation;
                let start = match (rot.enabled, rot.next, rot.period_days) {
                    (true, Some(next), Some(old)) => {
                        next.plus_seconds(-i64::from(old) * SECONDS_PER_DAY)
                    }
                    _ => now,
                };
                rot.enabled = true;
                rot.period_days = Some(period_u);
                rot.next = Some(start.plus_seconds(period * SECONDS_PER_DAY));
                Ok(())
            },
        )?;
        Ok(())
    }

    /// `DisableKeyRotation`.
    ///
    /// # Errors
    /// As [`Kms::enable_key_rotation`].
    pub fn disable_key_rotation(&self, call: &Call<'_>, req: KeyIdRequest) -> Result<(), KmsError> {
        let mut c = Checker::new();
        Self::key_id_checked(&mut c, req.key_id.as_ref());
        c.finish()?;
        self.manage(
            call,
            req.key_id.as_deref(),
            "kms:DisableKeyRotation",
            |_| {},
            KeyEntry::rotatable,
            |e| {
                let rot = &mut e.record.rotation;
                rot.enabled = false;
                rot.period_days = None;
                rot.next = None;
                Ok(())
            },
        )?;
        Ok(())
    }

    /// `GetKeyRotationStatus` (a key pending deletion reports false).
    ///
    /// # Errors
    /// `ValidationException`, `NotFoundException`, `AccessDeniedException`.
    pub fn get_key_rotation_status(
        &self,
        call: &Call<'_>,
        req: KeyIdRequest,
    ) -> Result<GetKeyRotationStatusResponse, KmsError> {
        let mut c = Checker::new();
        Self::key_id_checked(&mut c, req.key_id.as_ref());
        c.finish()?;
        let key_id = req.key_id.unwrap_or_default();
        let r = self.resolve(call, &key_id, Accepts::KeyOnly, CrossAccount::Allowed)?;
        self.check_key(
            call,
            "kms:GetKeyRotationStatus",
            &r,
            self.key_context(call, &r),
        )?;
        let rec = &r.entry.record;
        let on = rec.rotation.enabled && rec.state != KeyState::PendingDeletion;
        Ok(GetKeyRotationStatusResponse {
            key_rotation_enabled: on,
            key_id: rec.id.to_string(),
            rotation_period_in_days: rec.rotation.period_days.filter(|_| on),
            next_rotation_date: rec.rotation.next.filter(|_| on),
        })
    }

    /// `RotateKeyOnDemand`: new current material now (at most 25 times per key); the old
    /// versions keep decrypting.
    ///
    /// # Errors
    /// As [`Kms::enable_key_rotation`]; `LimitExceededException` after 25.
    pub fn rotate_key_on_demand(
        &self,
        call: &Call<'_>,
        req: KeyIdRequest,
    ) -> Result<String, KmsError> {
        let mut c = Checker::new();
        Self::key_id_checked(&mut c, req.key_id.as_ref());
        c.finish()?;
        let e = self.manage(
            call,
            req.key_id.as_deref(),
            "kms:RotateKeyOnDemand",
            |_| {},
            |e| {
                e.rotatable()?;
                if e.record.rotation.on_demand_count >= MAX_ON_DEMAND_ROTATIONS {
                    return Err(KmsError::LimitExceeded(format!(
                        "The on-demand rotation limit ({MAX_ON_DEMAND_ROTATIONS}) has been reached for {}.",
                        e.arn_text()
                    )));
                }
                Ok(())
            },
            |e| {
                self.add_material(e, call.now, RotationType::OnDemand)?;
                e.record.rotation.on_demand_count += 1;
                Ok(())
            },
        )?;
        Ok(e.record.id.to_string())
    }

    fn add_material(
        &self,
        e: &mut KeyEntry,
        now: UtcTime,
        rotation: RotationType,
    ) -> Result<(), KmsError> {
        let version = u32::try_from(e.materials.len() + 1).map_err(KmsError::internal)?;
        let (rec, m) = self.new_material(&e.record.id, version, now, Some(rotation))?;
        e.record.materials.push(rec);
        e.materials.push(m);
        Ok(())
    }

    /// `ListKeyRotations`: completed rotations (`ROTATIONS_ONLY`, the default), or every
    /// material version (`ALL_KEY_MATERIAL`), oldest first.
    ///
    /// # Errors
    /// `ValidationException`, `NotFoundException`, `AccessDeniedException`,
    /// `InvalidMarkerException`.
    pub fn list_key_rotations(
        &self,
        call: &Call<'_>,
        req: ListKeyRotationsRequest,
    ) -> Result<Page<RotationEntry>, KmsError> {
        let mut c = Checker::new();
        Self::key_id_checked(&mut c, req.key_id.as_ref());
        c.one_of(
            "includeKeyMaterial",
            req.include_key_material.as_deref(),
            INCLUDE_KEY_MATERIAL,
        );
        paging::check(&mut c, &req.page);
        c.finish()?;
        let r = self.own_key_for(call, req.key_id.as_deref(), "kms:ListKeyRotations")?;
        let all = req.include_key_material.as_deref() == Some("ALL_KEY_MATERIAL");
        let rec = &r.entry.record;
        let current = rec.materials.len();
        let items = rec
            .materials
            .iter()
            .enumerate()
            .filter(|(_, m)| all || m.rotation.is_some())
            .map(|(i, m)| {
                (
                    format!("{:010}", m.version),
                    RotationEntry {
                        key_id: rec.id.to_string(),
                        key_material_id: m.id.clone(),
                        key_material_state: if i + 1 == current {
                            "CURRENT"
                        } else {
                            "NON_CURRENT"
                        },
                        rotation_date: m.rotation.map(|_| m.created),
                        rotation_type: m.rotation,
                    },
                )
            });
        paging::page("rotations", items, &req.page, 100)
    }

    // ----- aliases ----------------------------------------------------------------------

    fn check_alias_name(c: &mut Checker, name: Option<&String>) {
        c.required("aliasName", name);
        c.length("aliasName", name.map(String::as_str), 1, 256);
        c.pattern(
            "aliasName",
            name.map(String::as_str),
            "^[a-zA-Z0-9:/_-]+$",
            validate::is_alias_chars,
        );
    }

    /// `CreateAlias`: needs `kms:CreateAlias` on the alias (identity policies) and on the
    /// key (key policy).
    ///
    /// # Errors
    /// `ValidationException`, `InvalidAliasNameException`, `NotFoundException`,
    /// `AlreadyExistsException`, `AccessDeniedException`, `KMSInvalidStateException` (key
    /// pending deletion), `KMSInternalException`.
    pub fn create_alias(&self, call: &Call<'_>, req: AliasRequest) -> Result<(), KmsError> {
        let mut c = Checker::new();
        Self::check_alias_name(&mut c, req.alias_name.as_ref());
        c.required("targetKeyId", req.target_key_id.as_ref());
        validate::key_id(&mut c, "targetKeyId", req.target_key_id.as_deref());
        c.finish()?;
        let name = AliasName::parse_new(req.alias_name.as_deref().unwrap_or_default())?;
        let _w = self.writer();
        let target = self.resolve(
            call,
            req.target_key_id.as_deref().unwrap_or_default(),
            Accepts::KeyOnly,
            CrossAccount::Refused,
        )?;
        self.check_alias(call, "kms:CreateAlias", &name)?;
        self.check_key(
            call,
            "kms:CreateAlias",
            &target,
            self.key_context(call, &target),
        )?;
        target.entry.not_pending_deletion()?;
        let account = call.caller.account().clone();
        if self.alias_target(&account, &name, call.now).is_some() {
            return Err(KmsError::AliasExists(alias_arn(
                &self.region,
                &account,
                &name,
            )));
        }
        let record = AliasRecord {
            account: account.clone(),
            region: self.region.clone(),
            name: name.clone(),
            target: target.entry.record.id.clone(),
            created: call.now,
            updated: call.now,
        };
        self.commit(&[Change::PutAlias(record.clone())], |s| {
            s.aliases.insert((account, name), record);
        })
    }

    /// The live key an alias points to (`None` when the alias does not exist or its key is
    /// deleted).
    fn alias_target(
        &self,
        account: &AccountId,
        name: &AliasName,
        now: UtcTime,
    ) -> Option<(AliasRecord, Arc<KeyEntry>)> {
        let state = self.read();
        let alias = state.aliases.get(&(account.clone(), name.clone()))?;
        let entry = state
            .keys
            .get(&alias.target)
            .filter(|e| !e.record.is_deleted_at(now))?;
        Some((alias.clone(), Arc::clone(entry)))
    }

    /// `UpdateAlias`: points an alias at another key; needs `kms:UpdateAlias` on the alias
    /// (identity policies) and on both keys (key policies).
    ///
    /// # Errors
    /// As [`Kms::create_alias`], with `NotFoundException` for a missing alias.
    pub fn update_alias(&self, call: &Call<'_>, req: AliasRequest) -> Result<(), KmsError> {
        let mut c = Checker::new();
        Self::check_alias_name(&mut c, req.alias_name.as_ref());
        c.required("targetKeyId", req.target_key_id.as_ref());
        validate::key_id(&mut c, "targetKeyId", req.target_key_id.as_deref());
        c.finish()?;
        let name = AliasName::parse_existing(req.alias_name.as_deref().unwrap_or_default())?;
        let _w = self.writer();
        let account = call.caller.account().clone();
        let (alias, old) = self
            .alias_target(&account, &name, call.now)
            .ok_or_else(|| KmsError::AliasNotFound(alias_arn(&self.region, &account, &name)))?;
        let new = self.resolve(
            call,
            req.target_key_id.as_deref().unwrap_or_default(),
            Accepts::KeyOnly,
            CrossAccount::Refused,
        )?;
        self.check_alias(call, "kms:UpdateAlias", &name)?;
        let old = Resolved {
            entry: old,
            alias: None,
        };
        self.check_key(call, "kms:UpdateAlias", &old, self.key_context(call, &old))?;
        self.check_key(call, "kms:UpdateAlias", &new, self.key_context(call, &new))?;
        new.entry.not_pending_deletion()?;
        let record = AliasRecord {
            target: new.entry.record.id.clone(),
            updated: call.now,
            ..alias
        };
        self.commit(&[Change::PutAlias(record.clone())], |s| {
            s.aliases.insert((account, name), record);
        })
    }

    /// `DeleteAlias`: needs `kms:DeleteAlias` on the alias (identity policies) and on its key
    /// (key policy); allowed in every key state.
    ///
    /// # Errors
    /// `ValidationException`, `NotFoundException`, `AccessDeniedException`,
    /// `KMSInternalException`.
    pub fn delete_alias(&self, call: &Call<'_>, req: AliasRequest) -> Result<(), KmsError> {
        let mut c = Checker::new();
        Self::check_alias_name(&mut c, req.alias_name.as_ref());
        c.finish()?;
        let name = AliasName::parse_existing(req.alias_name.as_deref().unwrap_or_default())?;
        let _w = self.writer();
        let account = call.caller.account().clone();
        let (_, key) = self
            .alias_target(&account, &name, call.now)
            .ok_or_else(|| KmsError::AliasNotFound(alias_arn(&self.region, &account, &name)))?;
        self.check_alias(call, "kms:DeleteAlias", &name)?;
        let key = Resolved {
            entry: key,
            alias: None,
        };
        self.check_key(call, "kms:DeleteAlias", &key, self.key_context(call, &key))?;
        let change = Change::DeleteAlias {
            account: account.clone(),
            region: self.region.clone(),
            name: name.clone(),
        };
        self.commit(&[change], |s| {
            s.aliases.remove(&(account, name));
        })
    }

    /// `ListAliases`: the caller's aliases by name (of one key, with `KeyId`).
    ///
    /// # Errors
    /// `ValidationException`, `NotFoundException`, `InvalidArnException`,
    /// `InvalidMarkerException`, `AccessDeniedException` (`kms:ListAliases`, identity
    /// policies).
    pub fn list_aliases(
        &self,
        call: &Call<'_>,
        req: ListAliasesRequest,
    ) -> Result<Page<AliasEntry>, KmsError> {
        let mut c = Checker::new();
        validate::key_id(&mut c, "keyId", req.key_id.as_deref());
        paging::check(&mut c, &req.page);
        c.finish()?;
        let only = match req.key_id.as_deref() {
            Some(k) => Some(
                self.resolve(call, k, Accepts::KeyOnly, CrossAccount::Refused)?
                    .entry
                    .record
                    .id
                    .clone(),
            ),
            None => None,
        };
        self.check_account(call, "kms:ListAliases", self.base_context(call))?;
        let account = call.caller.account();
        let state = self.read();
        let items: Vec<(String, AliasEntry)> = state
            .aliases
            .iter()
            .filter(|((a, _), _)| a == account)
            .filter(|(_, alias)| only.as_ref().is_none_or(|id| alias.target == *id))
            .filter(|(_, alias)| {
                state
                    .keys
                    .get(&alias.target)
                    .is_some_and(|e| !e.record.is_deleted_at(call.now))
            })
            .map(|((_, name), alias)| {
                (
                    name.to_string(),
                    AliasEntry {
                        alias_name: name.to_string(),
                        alias_arn: alias_arn(&self.region, account, name),
                        target_key_id: alias.target.to_string(),
                        creation_date: alias.created,
                        last_updated_date: alias.updated,
                    },
                )
            })
            .collect();
        drop(state);
        paging::page("aliases", items, &req.page, 100)
    }

    // ----- tags -------------------------------------------------------------------------

    /// `TagResource`: adds or replaces tags (at most 50 per key).
    ///
    /// # Errors
    /// As [`Kms::enable_key`], plus `TagException` and `LimitExceededException`.
    pub fn tag_resource(&self, call: &Call<'_>, req: TagResourceRequest) -> Result<(), KmsError> {
        let mut c = Checker::new();
        Self::key_id_checked(&mut c, req.key_id.as_ref());
        c.required("tags", req.tags.as_ref());
        check_tags(&mut c, "tags", req.tags.as_ref());
        c.finish()?;
        let tags = tag_map(req.tags.as_deref().unwrap_or_default())?;
        self.manage(
            call,
            req.key_id.as_deref(),
            "kms:TagResource",
            |ctx| add_request_tags(ctx, &tags),
            KeyEntry::not_pending_deletion,
            |e| {
                let mut merged = e.record.tags.clone();
                merged.extend(tags.clone());
                if merged.len() > MAX_TAGS {
                    return Err(KmsError::LimitExceeded(format!(
                        "A KMS key can have at most {MAX_TAGS} tags."
                    )));
                }
                e.record.tags = merged;
                Ok(())
            },
        )?;
        Ok(())
    }

    /// `UntagResource`: removes tags by key (absent keys are ignored).
    ///
    /// # Errors
    /// As [`Kms::enable_key`].
    pub fn untag_resource(
        &self,
        call: &Call<'_>,
        req: UntagResourceRequest,
    ) -> Result<(), KmsError> {
        let mut c = Checker::new();
        Self::key_id_checked(&mut c, req.key_id.as_ref());
        c.required("tagKeys", req.tag_keys.as_ref());
        for (i, k) in req.tag_keys.iter().flatten().enumerate() {
            c.length(&format!("tagKeys.{}.member", i + 1), Some(k), 1, 128);
        }
        c.finish()?;
        let keys = req.tag_keys.unwrap_or_default();
        self.manage(
            call,
            req.key_id.as_deref(),
            "kms:UntagResource",
            |ctx| {
                ctx.insert(
                    "aws:TagKeys",
                    ContextValue::Multi(keys.iter().map(|k| Value::string(k.as_str())).collect()),
                );
            },
            KeyEntry::not_pending_deletion,
            |e| {
                for k in &keys {
                    e.record.tags.remove(k);
                }
                Ok(())
            },
        )?;
        Ok(())
    }

    /// `ListResourceTags`: by tag key (default page size 50).
    ///
    /// # Errors
    /// `ValidationException`, `NotFoundException`, `AccessDeniedException`,
    /// `InvalidMarkerException`.
    pub fn list_resource_tags(
        &self,
        call: &Call<'_>,
        req: KeyPageRequest,
    ) -> Result<Page<TagEntry>, KmsError> {
        let mut c = Checker::new();
        Self::key_id_checked(&mut c, req.key_id.as_ref());
        paging::check(&mut c, &req.page);
        c.finish()?;
        let r = self.own_key_for(call, req.key_id.as_deref(), "kms:ListResourceTags")?;
        let items = r.entry.record.tags.iter().map(|(k, v)| {
            (
                k.clone(),
                TagEntry {
                    key: k.clone(),
                    value: v.clone(),
                },
            )
        });
        paging::page("tags", items, &req.page, 50)
    }

    // ----- the clock --------------------------------------------------------------------

    /// What the server calls periodically: deletes (record, every material version, tags and
    /// aliases) each key whose deletion date has come, and rotates each enabled key whose
    /// automatic rotation is due. Everything is written in one batch before it is applied
    /// in memory.
    ///
    /// # Errors
    /// [`KmsError::Internal`] when the store write fails (nothing changed; the next tick
    /// tries again).
    pub fn tick(&self, now: UtcTime) -> Result<TickReport, KmsError> {
        let _w = self.writer();
        let (expired, due): (Vec<Arc<KeyEntry>>, Vec<Arc<KeyEntry>>) = {
            let state = self.read();
            let expired = state
                .keys
                .values()
                .filter(|e| e.record.is_deleted_at(now))
                .cloned()
                .collect();
            let due = state
                .keys
                .values()
                .filter(|e| {
                    e.record.state == KeyState::Enabled
                        && e.record.rotation.enabled
                        && e.record.rotation.next.is_some_and(|n| now >= n)
                })
                .cloned()
                .collect();
            (expired, due)
        };
        if expired.is_empty() && due.is_empty() {
            return Ok(TickReport::default());
        }
        let mut changes = Vec::new();
        let mut rotated = Vec::new();
        for e in &expired {
            changes.push(Change::DeleteKey(e.record.id.clone()));
        }
        for e in &due {
            let mut entry = (**e).clone();
            self.add_material(&mut entry, now, RotationType::Automatic)?;
            let period = i64::from(entry.record.rotation.period_days.unwrap_or(365));
            entry.record.rotation.next = Some(now.plus_seconds(period * SECONDS_PER_DAY));
            changes.push(Change::PutKey(entry.record.clone()));
            rotated.push(Arc::new(entry));
        }
        let report = TickReport {
            deleted: expired.iter().map(|e| e.arn_text().to_owned()).collect(),
            rotated: rotated.iter().map(|e| e.arn_text().to_owned()).collect(),
        };
        self.commit(&changes, |s| {
            for e in &expired {
                s.keys.remove(&e.record.id);
                s.aliases.retain(|_, a| a.target != e.record.id);
            }
            for e in rotated {
                s.keys.insert(e.record.id.clone(), e);
            }
        })?;
        Ok(report)
    }
}
