//! Amazon Resource Names.

use std::fmt;

use crate::{AccountId, ModelError, Region, TrailName};

/// A parsed ARN: `arn:<partition>:<service>:<region>:<account>:<resource>`.
///
/// The region and account may be empty (IAM and S3 ARNs have no region; S3 ARNs have no
/// account). The resource is everything after the fifth colon and may itself contain colons.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Arn {
    text: String,
    // Byte offsets of the five separating colons.
    colons: [usize; 5],
}

impl Arn {
    /// Parses an ARN.
    ///
    /// # Errors
    /// [`ModelError::Arn`] when `s` does not start with `arn:`, has fewer than six
    /// colon-separated fields, or has an empty partition, service or resource.
    pub fn parse(s: &str) -> Result<Self, ModelError> {
        let bad = |why| Err(ModelError::Arn(s.to_owned(), why));
        if !s.starts_with("arn:") {
            return bad("must start with `arn:`");
        }
        let mut colons = [0usize; 5];
        let mut found = s.match_indices(':').map(|(i, _)| i);
        for slot in &mut colons {
            match found.next() {
                Some(i) => *slot = i,
                None => return bad("must have six `:`-separated fields"),
            }
        }
        let arn = Self {
            text: s.to_owned(),
            colons,
        };
        if arn.partition().is_empty() || arn.service().is_empty() {
            return bad("partition and service must not be empty");
        }
        if arn.resource().is_empty() {
            return bad("resource must not be empty");
        }
        Ok(arn)
    }

    fn field(&self, i: usize) -> &str {
        let start = match i {
            0 => 0,
            _ => self.colons.get(i - 1).map_or(0, |c| c + 1),
        };
        let end = self.colons.get(i).copied().unwrap_or(self.text.len());
        self.text.get(start..end).unwrap_or("")
    }

    /// `aws`, `aws-cn`, `aws-us-gov`, ...
    #[must_use]
    pub fn partition(&self) -> &str {
        self.field(1)
    }
    /// The service namespace, e.g. `kms`.
    #[must_use]
    pub fn service(&self) -> &str {
        self.field(2)
    }
    /// The region field (may be empty).
    #[must_use]
    pub fn region(&self) -> &str {
        self.field(3)
    }
    /// The account field (may be empty).
    #[must_use]
    pub fn account(&self) -> &str {
        self.field(4)
    }
    /// Everything after the fifth colon.
    #[must_use]
    pub fn resource(&self) -> &str {
        self.colons
            .get(4)
            .and_then(|c| self.text.get(c + 1..))
            .unwrap_or("")
    }
    /// The whole ARN.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for Arn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::str::FromStr for Arn {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// The ARN of a CloudTrail trail: `arn:<partition>:cloudtrail:<region>:<account>:trail/<name>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TrailArn {
    arn: Arn,
    region: Region,
    account: AccountId,
    name: TrailName,
}

impl TrailArn {
    /// Parses and checks a trail ARN.
    ///
    /// # Errors
    /// [`ModelError::Arn`] when it is not a `cloudtrail` `trail/` ARN, or the region, account
    /// or trail name field is invalid.
    pub fn parse(s: &str) -> Result<Self, ModelError> {
        let arn = Arn::parse(s)?;
        let bad = |why| Err(ModelError::Arn(s.to_owned(), why));
        if arn.service() != "cloudtrail" {
            return bad("service must be `cloudtrail`");
        }
        let Some(name) = arn.resource().strip_prefix("trail/") else {
            return bad("resource must be `trail/<name>`");
        };
        let (Ok(region), Ok(account), Ok(name)) = (
            Region::parse(arn.region()),
            AccountId::parse(arn.account()),
            TrailName::parse(name),
        ) else {
            return bad("region, account or trail name is invalid");
        };
        Ok(Self {
            arn,
            region,
            account,
            name,
        })
    }

    /// Builds the ARN of `name` in `region` and `account` (partition `aws`).
    #[must_use]
    pub fn new(region: &Region, account: &AccountId, name: &TrailName) -> Self {
        let text = format!("arn:aws:cloudtrail:{region}:{account}:trail/{name}");
        let colons = [
            3,
            7,
            18,
            19 + region.as_str().len(),
            20 + region.as_str().len() + 12,
        ];
        Self {
            arn: Arn { text, colons },
            region: region.clone(),
            account: account.clone(),
            name: name.clone(),
        }
    }

    /// The home region of the trail.
    #[must_use]
    pub fn region(&self) -> &Region {
        &self.region
    }
    /// The owning account.
    #[must_use]
    pub fn account(&self) -> &AccountId {
        &self.account
    }
    /// The trail name.
    #[must_use]
    pub fn name(&self) -> &TrailName {
        &self.name
    }
    /// The ARN as parsed.
    #[must_use]
    pub fn arn(&self) -> &Arn {
        &self.arn
    }
}

impl fmt::Display for TrailArn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.arn.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arn_fields() {
        let a = Arn::parse("arn:aws:kms:us-east-1:123456789012:key/abc:def").unwrap();
        assert_eq!(a.partition(), "aws");
        assert_eq!(a.service(), "kms");
        assert_eq!(a.region(), "us-east-1");
        assert_eq!(a.account(), "123456789012");
        assert_eq!(a.resource(), "key/abc:def");
        let s3 = Arn::parse("arn:aws:s3:::bucket/key").unwrap();
        assert_eq!(s3.region(), "");
        assert_eq!(s3.account(), "");
        assert_eq!(s3.resource(), "bucket/key");
        assert!(Arn::parse("arn:aws:s3::").is_err());
        assert!(Arn::parse("nope:aws:s3:::b").is_err());
        assert!(Arn::parse("arn:aws:s3:::").is_err());
    }

    #[test]
    fn trail_arn_new_matches_parse() {
        let region = Region::parse("eu-west-3").unwrap();
        let account = AccountId::parse("123456789012").unwrap();
        let name = TrailName::parse("my-trail").unwrap();
        let built = TrailArn::new(&region, &account, &name);
        let parsed = TrailArn::parse(built.arn().as_str()).unwrap();
        assert_eq!(built, parsed);
        assert_eq!(built.arn().resource(), "trail/my-trail");
        assert_eq!(built.arn().account(), "123456789012");
        assert!(TrailArn::parse("arn:aws:kms:us-east-1:123456789012:trail/x1y").is_err());
        assert!(TrailArn::parse("arn:aws:cloudtrail:us-east-1:1234:trail/abc").is_err());
    }
}
