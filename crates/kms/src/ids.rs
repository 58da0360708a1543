//! Key ids, alias names, and the four ways a request names a key (spec §4.2): key id, key
//! ARN, alias name, alias ARN.

use std::fmt;

use sealtrail_model::{AccountId, Arn, Region, Rng};

use crate::KmsError;

/// A key id: a lower-case UUID such as `1234abcd-12ab-34cd-56ef-1234567890ab`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId([u8; 16]);

impl KeyId {
    /// Parses `8-4-4-4-12` hexadecimal digits (either letter case; shown in lower case).
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        let b = s.as_bytes();
        if b.len() != 36 {
            return None;
        }
        let mut out = [0u8; 16];
        let mut hex = Vec::with_capacity(32);
        for (i, &c) in b.iter().enumerate() {
            if matches!(i, 8 | 13 | 18 | 23) {
                if c != b'-' {
                    return None;
                }
            } else {
                hex.push(c);
            }
        }
        hex::decode_to_slice(&hex, &mut out).ok()?;
        Some(Self(out))
    }

    /// A new random (version 4) UUID.
    pub fn generate(rng: &mut dyn Rng) -> Self {
        let mut b = [0u8; 16];
        rng.fill(&mut b);
        if let Some(x) = b.get_mut(6) {
            *x = (*x & 0x0f) | 0x40;
        }
        if let Some(x) = b.get_mut(8) {
            *x = (*x & 0x3f) | 0x80;
        }
        Self(b)
    }

    /// The 16 bytes (as the ciphertext blob carries them).
    #[must_use]
    pub fn to_bytes(&self) -> [u8; 16] {
        self.0
    }

    /// From the 16 bytes.
    #[must_use]
    pub fn from_bytes(b: [u8; 16]) -> Self {
        Self(b)
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let h = hex::encode(self.0);
        let part = |r: std::ops::Range<usize>| h.get(r).unwrap_or("");
        write!(
            f,
            "{}-{}-{}-{}-{}",
            part(0..8),
            part(8..12),
            part(12..16),
            part(16..20),
            part(20..32)
        )
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

/// An alias name: `alias/` followed by at least one of `[a-zA-Z0-9/_-]`, at most 256
/// characters in all, not under the reserved `alias/aws/`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AliasName(String);

/// AWS's text when an alias name lacks its `alias/` prefix.
const ALIAS_PREFIX_MESSAGE: &str = "Alias must start with the prefix \"alias/\". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html";

impl AliasName {
    /// Checks a name given to `CreateAlias` (the pattern and length are checked before, as
    /// `ValidationException`s).
    ///
    /// # Errors
    /// [`KmsError::InvalidRequest`] (`ValidationException`, as AWS answers) when the name does
    /// not start with `alias/`; [`KmsError::InvalidAliasName`] when nothing follows it, it
    /// contains `:`, or it starts with the reserved `alias/aws/`.
    pub fn parse_new(s: &str) -> Result<Self, KmsError> {
        if !s.starts_with("alias/") {
            return Err(KmsError::InvalidRequest(ALIAS_PREFIX_MESSAGE.to_owned()));
        }
        let name = Self::parse_existing(s)?;
        if s.contains(':') {
            return Err(KmsError::InvalidAliasName(format!(
                "{s} contains invalid characters for an alias"
            )));
        }
        if s.starts_with("alias/aws/") {
            return Err(KmsError::InvalidAliasName(format!(
                "{s}: alias names that begin with alias/aws/ are reserved for AWS managed keys"
            )));
        }
        Ok(name)
    }

    /// Checks a name that refers to an alias (`DeleteAlias`, a `KeyId` given as an alias).
    ///
    /// # Errors
    /// [`KmsError::InvalidAliasName`] when the name does not start with `alias/` or has
    /// nothing after it.
    pub fn parse_existing(s: &str) -> Result<Self, KmsError> {
        match s.strip_prefix("alias/") {
            Some(rest) if !rest.is_empty() => Ok(Self(s.to_owned())),
            _ => Err(KmsError::InvalidAliasName(format!(
                "{ALIAS_PREFIX_MESSAGE} (alias name `{s}`)"
            ))),
        }
    }

    /// The name, `alias/...`.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AliasName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `arn:aws:kms:<region>:<account>:key/<id>`.
#[must_use]
pub fn key_arn(region: &Region, account: &AccountId, id: &KeyId) -> String {
    format!("arn:aws:kms:{region}:{account}:key/{id}")
}

/// `arn:aws:kms:<region>:<account>:<alias name>`.
#[must_use]
pub fn alias_arn(region: &Region, account: &AccountId, alias: &AliasName) -> String {
    format!("arn:aws:kms:{region}:{account}:{alias}")
}

/// Which identifier forms an operation accepts for its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accepts {
    /// Key id or key ARN (management operations, `CreateAlias`'s `TargetKeyId`).
    KeyOnly,
    /// Key id, key ARN, alias name or alias ARN (cryptographic operations, `DescribeKey`).
    KeyOrAlias,
}

/// A key as a request names it, with the account the name refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyRef {
    /// A key id or key ARN.
    Key {
        /// The account (the caller's for a bare id).
        account: AccountId,
        /// The id.
        id: KeyId,
    },
    /// An alias name or alias ARN.
    Alias {
        /// The account (the caller's for a bare name).
        account: AccountId,
        /// The alias.
        name: AliasName,
    },
}

impl KeyRef {
    /// Reads `text` as the operation accepts it. `caller_account` is the account of bare ids
    /// and names; `region` is the region this KMS serves.
    ///
    /// # Errors
    /// [`KmsError::InvalidKeyId`] (`NotFoundException`) for text that is no accepted form,
    /// [`KmsError::InvalidArn`] for an `arn:` that is not a KMS key or alias ARN, and
    /// [`KmsError::KeyNotFound`] / [`KmsError::AliasNotFound`] for a well-formed ARN of
    /// another region.
    pub fn parse(
        text: &str,
        accepts: Accepts,
        caller_account: &AccountId,
        region: &Region,
    ) -> Result<Self, KmsError> {
        let invalid = || KmsError::InvalidKeyId(text.to_owned());
        if text.starts_with("arn:") {
            let bad_arn = || KmsError::InvalidArn(format!("Invalid arn {text}"));
            let arn = Arn::parse(text).map_err(|_| bad_arn())?;
            if arn.service() != "kms" {
                return Err(bad_arn());
            }
            let account = AccountId::parse(arn.account()).map_err(|_| bad_arn())?;
            if let Some(id) = arn.resource().strip_prefix("key/") {
                let id = KeyId::parse(id).ok_or_else(invalid)?;
                if arn.region() != region.as_str() || arn.partition() != "aws" {
                    return Err(KmsError::KeyNotFound(text.to_owned()));
                }
                return Ok(Self::Key { account, id });
            }
            if arn.resource().starts_with("alias/") {
                if accepts == Accepts::KeyOnly {
                    return Err(invalid());
                }
                let name = AliasName::parse_existing(arn.resource()).map_err(|_| invalid())?;
                if arn.region() != region.as_str() || arn.partition() != "aws" {
                    return Err(KmsError::AliasNotFound(text.to_owned()));
                }
                return Ok(Self::Alias { account, name });
            }
            return Err(bad_arn());
        }
        if text.starts_with("alias/") {
            if accepts == Accepts::KeyOnly {
                return Err(invalid());
            }
            let name = AliasName::parse_existing(text).map_err(|_| invalid())?;
            return Ok(Self::Alias {
                account: caller_account.clone(),
                name,
            });
        }
        let id = KeyId::parse(text).ok_or_else(invalid)?;
        Ok(Self::Key {
            account: caller_account.clone(),
            id,
        })
    }

    /// The account the identifier refers to.
    #[must_use]
    pub fn account(&self) -> &AccountId {
        match self {
            Self::Key { account, .. } | Self::Alias { account, .. } => account,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sealtrail_model::SeededRng;

    fn acct() -> AccountId {
        AccountId::parse("111122223333").unwrap()
    }
    fn region() -> Region {
        Region::parse("us-east-1").unwrap()
    }

    #[test]
    fn key_ids_round_trip_and_generate_v4() {
        let id = KeyId::parse("1234ABCD-12ab-34cd-56ef-1234567890ab").unwrap();
        assert_eq!(id.to_string(), "1234abcd-12ab-34cd-56ef-1234567890ab");
        assert_eq!(KeyId::from_bytes(id.to_bytes()), id);
        for bad in [
            "",
            "1234abcd12ab34cd56ef1234567890ab",
            "1234abcd-12ab-34cd-56ef-1234567890a",
            "1234abcd-12ab-34cd-56ef_1234567890ab",
            "1234abcg-12ab-34cd-56ef-1234567890ab",
        ] {
            assert!(KeyId::parse(bad).is_none(), "{bad}");
        }
        let g = KeyId::generate(&mut SeededRng::new(1)).to_string();
        assert_eq!(g.as_bytes()[14], b'4');
        assert!(matches!(g.as_bytes()[19], b'8' | b'9' | b'a' | b'b'));
        assert_eq!(KeyId::parse(&g).unwrap().to_string(), g);
    }

    #[test]
    fn alias_names() {
        assert!(AliasName::parse_new("alias/my-key").is_ok());
        assert!(AliasName::parse_new("alias/a/b_c").is_ok());
        for bad in ["alias/", "alias/aws/s3", "alias/a:b"] {
            assert!(
                matches!(
                    AliasName::parse_new(bad),
                    Err(KmsError::InvalidAliasName(_))
                ),
                "{bad}"
            );
        }
        assert!(AliasName::parse_existing("alias/aws/s3").is_ok());
        // Without the prefix, AWS answers ValidationException with exactly this text.
        for bad in ["my-key", "Alias/x"] {
            match AliasName::parse_new(bad) {
                Err(KmsError::InvalidRequest(m)) => assert_eq!(
                    m,
                    "Alias must start with the prefix \"alias/\". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html"
                ),
                other => panic!("{bad}: {other:?}"),
            }
        }
    }

    #[test]
    fn key_refs_by_form() {
        let (a, r) = (acct(), region());
        let id = "1234abcd-12ab-34cd-56ef-1234567890ab";
        let other = AccountId::parse("444455556666").unwrap();
        let p = |s: &str, acc| KeyRef::parse(s, acc, &a, &r);
        assert_eq!(
            p(id, Accepts::KeyOnly).unwrap(),
            KeyRef::Key {
                account: a.clone(),
                id: KeyId::parse(id).unwrap()
            }
        );
        assert_eq!(
            p(
                &format!("arn:aws:kms:us-east-1:444455556666:key/{id}"),
                Accepts::KeyOnly
            )
            .unwrap()
            .account(),
            &other
        );
        assert!(matches!(
            p("alias/x", Accepts::KeyOrAlias).unwrap(),
            KeyRef::Alias { .. }
        ));
        assert!(matches!(
            p("arn:aws:kms:us-east-1:444455556666:alias/x", Accepts::KeyOrAlias).unwrap(),
            KeyRef::Alias { account, .. } if account == other
        ));
        assert_eq!(
            p("alias/x", Accepts::KeyOnly).unwrap_err(),
            KmsError::InvalidKeyId("alias/x".into())
        );
        assert_eq!(
            p("nope", Accepts::KeyOrAlias).unwrap_err(),
            KmsError::InvalidKeyId("nope".into())
        );
        assert!(matches!(
            p("arn:aws:s3:::bucket", Accepts::KeyOrAlias),
            Err(KmsError::InvalidArn(_))
        ));
        assert!(matches!(
            p(
                &format!("arn:aws:kms:eu-west-1:111122223333:key/{id}"),
                Accepts::KeyOnly
            ),
            Err(KmsError::KeyNotFound(_))
        ));
    }
}
