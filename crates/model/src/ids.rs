//! Account ids, regions, trail names and organization ids.

use std::fmt;

use crate::ModelError;

macro_rules! string_newtype {
    ($name:ident) => {
        impl $name {
            /// The identifier as text.
            #[must_use]
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl std::str::FromStr for $name {
            type Err = ModelError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <String as serde::Deserialize>::deserialize(d)?;
                Self::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

/// A 12-digit AWS account id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountId(String);
string_newtype!(AccountId);

impl AccountId {
    /// Parses a 12-digit account id.
    ///
    /// # Errors
    /// [`ModelError::AccountId`] when `s` is not exactly twelve ASCII digits.
    pub fn parse(s: &str) -> Result<Self, ModelError> {
        if s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(s.to_owned()))
        } else {
            Err(ModelError::AccountId(s.to_owned()))
        }
    }
}

/// An AWS region name such as `us-east-1` or `us-gov-west-1`.
///
/// Accepted shape: lower-case letter groups separated by `-`, ending in a number.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Region(String);
string_newtype!(Region);

impl Region {
    /// Parses a region name.
    ///
    /// # Errors
    /// [`ModelError::Region`] when `s` does not look like `<letters>(-<letters>)*-<digits>`.
    pub fn parse(s: &str) -> Result<Self, ModelError> {
        let err = || ModelError::Region(s.to_owned());
        let mut parts = s.split('-').collect::<Vec<_>>();
        let last = parts.pop().ok_or_else(err)?;
        if parts.len() < 2 || s.len() > 32 {
            return Err(err());
        }
        let digits = !last.is_empty() && last.bytes().all(|b| b.is_ascii_digit());
        let words = parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()));
        if digits && words {
            Ok(Self(s.to_owned()))
        } else {
            Err(err())
        }
    }
}

/// A CloudTrail trail name, checked against the rules of `CreateTrail`.
///
/// ASCII letters, digits, `.`, `_` and `-`; starts and ends with a letter or digit; 3 to 128
/// characters; no two of `.`, `_`, `-` next to each other; not shaped like an IP address.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TrailName(String);
string_newtype!(TrailName);

impl TrailName {
    /// Parses a trail name.
    ///
    /// # Errors
    /// [`ModelError::TrailName`] naming the rule that `s` breaks.
    pub fn parse(s: &str) -> Result<Self, ModelError> {
        let bad = |why| Err(ModelError::TrailName(s.to_owned(), why));
        if s.len() < 3 {
            return bad("shorter than 3 characters");
        }
        if s.len() > 128 {
            return bad("longer than 128 characters");
        }
        let punct = |b: u8| matches!(b, b'.' | b'_' | b'-');
        if !s.bytes().all(|b| b.is_ascii_alphanumeric() || punct(b)) {
            return bad("only letters, digits, `.`, `_` and `-` are allowed");
        }
        let bytes = s.as_bytes();
        let ends_ok = bytes.first().is_some_and(u8::is_ascii_alphanumeric)
            && bytes.last().is_some_and(u8::is_ascii_alphanumeric);
        if !ends_ok {
            return bad("must start and end with a letter or digit");
        }
        if bytes.windows(2).any(|w| w.iter().all(|&b| punct(b))) {
            return bad("`.`, `_` and `-` may not be adjacent");
        }
        if s.parse::<std::net::Ipv4Addr>().is_ok() {
            return bad("must not be formatted as an IP address");
        }
        Ok(Self(s.to_owned()))
    }
}

/// An AWS Organizations id, `o-` followed by 10 to 32 lower-case letters or digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OrganizationId(String);
string_newtype!(OrganizationId);

impl OrganizationId {
    /// Parses an organization id.
    ///
    /// # Errors
    /// [`ModelError::OrganizationId`] when `s` is not of the form `o-[a-z0-9]{10,32}`.
    pub fn parse(s: &str) -> Result<Self, ModelError> {
        let ok = s.strip_prefix("o-").is_some_and(|rest| {
            (10..=32).contains(&rest.len())
                && rest
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        });
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(ModelError::OrganizationId(s.to_owned()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_ids() {
        assert!(AccountId::parse("123456789012").is_ok());
        assert!(AccountId::parse("12345678901").is_err());
        assert!(AccountId::parse("12345678901a").is_err());
        assert_eq!(
            AccountId::parse("x").unwrap_err().to_string(),
            "`x` is not a 12-digit account id"
        );
    }

    #[test]
    fn regions() {
        for ok in [
            "us-east-1",
            "eu-central-2",
            "us-gov-west-1",
            "ap-southeast-5",
        ] {
            assert!(Region::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "us",
            "us-east",
            "US-east-1",
            "us--1",
            "us-east-1a",
            "-east-1",
        ] {
            assert!(Region::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn trail_names() {
        for ok in ["mytrail", "my-trail.v2", "abc", "a_b-c.d"] {
            assert!(TrailName::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "ab",
            "-abc",
            "abc-",
            "a..b",
            "a-_b",
            "my trail",
            "10.0.0.1",
            &"a".repeat(129),
        ] {
            assert!(TrailName::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn organization_ids() {
        assert!(OrganizationId::parse("o-a1b2c3d4e5").is_ok());
        assert!(OrganizationId::parse("o-short").is_err());
        assert!(OrganizationId::parse("a1b2c3d4e5f6").is_err());
    }
}
