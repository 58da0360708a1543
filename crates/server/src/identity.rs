//! Who may call: access keys and the callers they stand for.
//!
//! Each access key resolves to one [`Caller`] (account, ARN, kind, `aws:username`,
//! `aws:userid`, tags and identity policies, parsed once when the configuration is loaded).
//! The generated admin key is the account root (`arn:aws:iam::<account>:root`). Secrets are
//! held in zeroizing buffers and never printed; `Debug` shows the access key ids only.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;

use aws_lc_rs::digest;
use sealtrail_model::{AccountId, Arn};
use sealtrail_policy::Policy;
use zeroize::Zeroizing;

use crate::api::{Caller, PrincipalKind};
use crate::sigv4::CredentialSource;

/// A secret access key: zeroized on drop, never printed.
#[derive(Clone)]
pub struct SecretKey(Zeroizing<String>);

impl SecretKey {
    /// Wraps a secret.
    #[must_use]
    pub fn new(secret: String) -> Self {
        Self(Zeroizing::new(secret))
    }

    /// The secret text, for signing-key derivation only.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey([REDACTED])")
    }
}

/// The IAM identity an access key belongs to, before it is turned into a [`Caller`].
#[derive(Debug, Clone)]
pub enum Identity {
    /// The account's root user.
    Root,
    /// An IAM user.
    User {
        /// The user name.
        name: String,
        /// The IAM path, `/` or `/a/b/`.
        path: String,
        /// `aws:userid` (`AIDA...`); derived from the account and name when `None`.
        user_id: Option<String>,
    },
    /// A session of an IAM role (the key stands for `arn:aws:sts::A:assumed-role/R/S`).
    RoleSession {
        /// The role name.
        role: String,
        /// The session name.
        session: String,
        /// The role's unique id (`AROA...`); derived when `None`.
        role_id: Option<String>,
    },
}

/// The callers, by access key id.
#[derive(Debug, Default)]
pub struct Identities {
    by_key: HashMap<String, (SecretKey, Caller)>,
}

/// Why an access key cannot be added.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    /// The access key id is already defined.
    #[error("access key `{0}` is defined twice")]
    DuplicateAccessKey(String),
    /// The names make no valid ARN.
    #[error("`{0}` is not a valid principal ARN")]
    InvalidArn(String),
}

impl Identities {
    /// No callers.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an access key for `identity` in `account`.
    ///
    /// # Errors
    /// [`IdentityError`] when the access key id is already defined or the names make no
    /// valid ARN.
    pub fn insert(
        &mut self,
        access_key_id: &str,
        secret: SecretKey,
        account: &AccountId,
        identity: &Identity,
        tags: BTreeMap<String, String>,
        identity_policies: Arc<Vec<Policy>>,
    ) -> Result<(), IdentityError> {
        if self.by_key.contains_key(access_key_id) {
            return Err(IdentityError::DuplicateAccessKey(access_key_id.to_owned()));
        }
        let caller = caller(access_key_id, account, identity, tags, identity_policies)?;
        self.by_key
            .insert(access_key_id.to_owned(), (secret, caller));
        Ok(())
    }

    /// The caller an access key stands for.
    #[must_use]
    pub fn caller(&self, access_key_id: &str) -> Option<&Caller> {
        self.by_key.get(access_key_id).map(|(_, c)| c)
    }

    /// How many access keys are defined.
    #[must_use]
    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    /// Whether no access key is defined.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }
}

impl CredentialSource for Identities {
    type Entry = Caller;

    fn lookup(&self, access_key_id: &str) -> Option<(&str, &Caller)> {
        self.by_key
            .get(access_key_id)
            .map(|(secret, caller)| (secret.expose(), caller))
    }
}

/// Builds the caller of one access key.
fn caller(
    access_key_id: &str,
    account: &AccountId,
    identity: &Identity,
    tags: BTreeMap<String, String>,
    identity_policies: Arc<Vec<Policy>>,
) -> Result<Caller, IdentityError> {
    let a = account.as_str();
    let (arn, kind, user_name, user_id) = match identity {
        Identity::Root => (
            format!("arn:aws:iam::{a}:root"),
            PrincipalKind::Root,
            None,
            a.to_owned(),
        ),
        Identity::User {
            name,
            path,
            user_id,
        } => (
            format!("arn:aws:iam::{a}:user{path}{name}"),
            PrincipalKind::User,
            Some(name.clone()),
            user_id
                .clone()
                .unwrap_or_else(|| unique_id("AIDA", a, "user", name)),
        ),
        Identity::RoleSession {
            role,
            session,
            role_id,
        } => {
            let role_id = role_id
                .clone()
                .unwrap_or_else(|| unique_id("AROA", a, "role", role));
            (
                format!("arn:aws:sts::{a}:assumed-role/{role}/{session}"),
                PrincipalKind::AssumedRole,
                None,
                format!("{role_id}:{session}"),
            )
        }
    };
    let arn = Arn::parse(&arn).map_err(|_| IdentityError::InvalidArn(arn))?;
    Ok(Caller {
        account: account.clone(),
        arn,
        kind,
        user_name,
        user_id,
        access_key_id: access_key_id.to_owned(),
        tags,
        identity_policies,
    })
}

/// A stable AWS-style unique id: `prefix` + 17 base32 characters of a hash of the account,
/// kind and name (the shape of `AIDA...`/`AROA...` ids).
fn unique_id(prefix: &str, account: &str, kind: &str, name: &str) -> String {
    let hash = digest::digest(
        &digest::SHA256,
        format!("{account}:{kind}:{name}").as_bytes(),
    );
    let mut id = String::with_capacity(21);
    id.push_str(prefix);
    id.push_str(&base32(hash.as_ref(), 17));
    id
}

/// The first `n` characters of the RFC 4648 base32 (A-Z, 2-7) encoding of `bytes`.
#[must_use]
pub fn base32(bytes: &[u8], n: usize) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::with_capacity(n);
    let mut buffer: u32 = 0;
    let mut bits = 0;
    let push = |index: u32, out: &mut String| {
        out.push(char::from(*ALPHABET.get(index as usize).unwrap_or(&b'A')));
    };
    for &b in bytes {
        if out.len() >= n {
            return out;
        }
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 && out.len() < n {
            bits -= 5;
            push((buffer >> bits) & 0x1f, &mut out);
        }
        buffer &= (1u32 << bits) - 1;
    }
    if bits > 0 && out.len() < n {
        push((buffer << (5 - bits)) & 0x1f, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account() -> AccountId {
        AccountId::parse("111122223333").unwrap()
    }

    #[test]
    fn callers_have_aws_shapes() {
        let mut ids = Identities::new();
        let none = Arc::new(Vec::new());
        ids.insert(
            "AKIAROOT",
            SecretKey::new("s".into()),
            &account(),
            &Identity::Root,
            BTreeMap::new(),
            none.clone(),
        )
        .unwrap();
        ids.insert(
            "AKIAALICE",
            SecretKey::new("s".into()),
            &account(),
            &Identity::User {
                name: "alice".into(),
                path: "/ops/".into(),
                user_id: None,
            },
            BTreeMap::new(),
            none.clone(),
        )
        .unwrap();
        ids.insert(
            "AKIAROLE",
            SecretKey::new("s".into()),
            &account(),
            &Identity::RoleSession {
                role: "auditor".into(),
                session: "s1".into(),
                role_id: Some("AROAEXAMPLE".into()),
            },
            BTreeMap::new(),
            none.clone(),
        )
        .unwrap();
        let root = ids.caller("AKIAROOT").unwrap();
        assert_eq!(root.arn.as_str(), "arn:aws:iam::111122223333:root");
        assert_eq!(root.user_id, "111122223333");
        assert_eq!(root.kind, PrincipalKind::Root);
        let alice = ids.caller("AKIAALICE").unwrap();
        assert_eq!(
            alice.arn.as_str(),
            "arn:aws:iam::111122223333:user/ops/alice"
        );
        assert_eq!(alice.user_name.as_deref(), Some("alice"));
        assert!(
            alice.user_id.starts_with("AIDA") && alice.user_id.len() == 21,
            "{}",
            alice.user_id
        );
        let role = ids.caller("AKIAROLE").unwrap();
        assert_eq!(
            role.arn.as_str(),
            "arn:aws:sts::111122223333:assumed-role/auditor/s1"
        );
        assert_eq!(role.user_id, "AROAEXAMPLE:s1");
        assert_eq!(
            ids.insert(
                "AKIAROOT",
                SecretKey::new("t".into()),
                &account(),
                &Identity::Root,
                BTreeMap::new(),
                none
            ),
            Err(IdentityError::DuplicateAccessKey("AKIAROOT".into()))
        );
        assert_eq!(
            format!("{:?}", SecretKey::new("hunter2".into())),
            "SecretKey([REDACTED])"
        );
    }

    #[test]
    fn base32_is_rfc4648() {
        assert_eq!(base32(b"foobar", 10), "MZXW6YTBOI");
        assert_eq!(base32(&[0xff; 10], 16), "7777777777777777");
    }
}
