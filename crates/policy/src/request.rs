//! The request being authorized: who (the caller), what (the action), on what (the resource
//! ARN), and the request context (condition keys and their values).
//!
//! Building a [`Request`] does all the allocation and derivation (lower-cased key names,
//! `aws:PrincipalArn`, `aws:PrincipalTag/...`, `kms:CallerAccount`, ...) once, so that
//! evaluating it against many policies allocates nothing.

use std::fmt;
use std::net::IpAddr;

use base64::Engine as _;
use sealtrail_model::{AccountId, Arn, UtcTime};

use crate::error::RequestError;
use crate::pattern::{Vars, key_hash};
use crate::scalar::{Decimal, Nanos, parse_bool, parse_date};

/// The `aws:PrincipalType` of a caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PrincipalType {
    /// The account root user (`arn:aws:iam::<account>:root`).
    Account,
    /// An IAM user.
    User,
    /// A role session (`arn:aws:sts::<account>:assumed-role/<role>/<session>`).
    AssumedRole,
    /// A federated user session (`arn:aws:sts::<account>:federated-user/<name>`).
    FederatedUser,
    /// An anonymous caller.
    Anonymous,
}

impl PrincipalType {
    /// The `aws:PrincipalType` value.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Account => "Account",
            Self::User => "User",
            Self::AssumedRole => "AssumedRole",
            Self::FederatedUser => "FederatedUser",
            Self::Anonymous => "Anonymous",
        }
    }
}

/// An IAM or STS principal making a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsPrincipal {
    arn: Arn,
    account: AccountId,
    account_number: u64,
    kind: PrincipalType,
    /// User name, role name or federated user name; empty for the root.
    name: String,
    /// For a role session: the role ARN without path (`arn:aws:iam::A:role/R`).
    role_arn: Option<String>,
    tags: Vec<(String, String)>,
}

impl AwsPrincipal {
    /// Reads a principal from an ARN: `arn:aws:iam::A:root`, `arn:aws:iam::A:user/[path/]N`,
    /// `arn:aws:sts::A:assumed-role/R/S`, `arn:aws:sts::A:federated-user/N`, or a role ARN
    /// `arn:aws:iam::A:role/[path/]R` (taken as a session of that role).
    ///
    /// For a session, `aws:PrincipalArn` is the role's ARN: the role ARN as given, or, from an
    /// `assumed-role` ARN (which has no path), `arn:aws:iam::A:role/R`. A `role/` principal in a
    /// policy matches sessions by account and role name.
    ///
    /// # Errors
    /// [`RequestError::Principal`] for any other text.
    pub fn from_arn(text: &str) -> Result<Self, RequestError> {
        let bad = |why| RequestError::Principal(text.to_owned(), why);
        let arn = Arn::parse(text).map_err(|_| bad("expected an IAM or STS ARN"))?;
        let account =
            AccountId::parse(arn.account()).map_err(|_| bad("the account must be 12 digits"))?;
        let res = arn.resource();
        let last = |r: &str| r.rsplit('/').next().unwrap_or_default().to_owned();
        let (kind, name, role_arn) = match arn.service() {
            "iam" if res == "root" => (PrincipalType::Account, String::new(), None),
            "iam" if res.starts_with("user/") => (PrincipalType::User, last(res), None),
            // A role ARN stands for a session of the role; it keeps its path.
            "iam" if res.starts_with("role/") => {
                (PrincipalType::AssumedRole, last(res), Some(text.to_owned()))
            }
            "sts" => {
                if let Some(rest) = res.strip_prefix("assumed-role/") {
                    let Some((role, _session)) = rest.split_once('/') else {
                        return Err(bad(
                            "an assumed-role ARN is `assumed-role/<role>/<session>`",
                        ));
                    };
                    let arn_text =
                        format!("arn:{}:iam::{}:role/{}", arn.partition(), account, role);
                    (PrincipalType::AssumedRole, role.to_owned(), Some(arn_text))
                } else if let Some(n) = res.strip_prefix("federated-user/") {
                    (PrincipalType::FederatedUser, n.to_owned(), None)
                } else {
                    return Err(bad(
                        "STS principals are `assumed-role/...` or `federated-user/...`",
                    ));
                }
            }
            _ => {
                return Err(bad(
                    "expected `root`, `user/`, `role/`, `assumed-role/` or `federated-user/`",
                ));
            }
        };
        if kind != PrincipalType::Account && name.is_empty() {
            return Err(bad("the name is empty"));
        }
        Ok(Self {
            account_number: crate::parse::account_number(account.as_str()),
            arn,
            account,
            kind,
            name,
            role_arn,
            tags: Vec::new(),
        })
    }

    /// The account root principal `arn:aws:iam::<account>:root`.
    #[must_use]
    pub fn root(account: &AccountId) -> Self {
        let text = format!("arn:aws:iam::{account}:root");
        #[expect(
            clippy::expect_used,
            reason = "a 12-digit account makes a well-formed root ARN"
        )]
        Self::from_arn(&text).expect("root ARN is well formed")
    }

    /// Adds a principal tag (`aws:PrincipalTag/<key>`).
    #[must_use]
    pub fn with_tag(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.tags.push((key.into(), value.into()));
        self
    }

    /// The ARN.
    #[must_use]
    pub fn arn(&self) -> &Arn {
        &self.arn
    }
    /// The account.
    #[must_use]
    pub fn account(&self) -> &AccountId {
        &self.account
    }
    /// The principal type.
    #[must_use]
    pub fn kind(&self) -> PrincipalType {
        self.kind
    }
    /// User, role or federated-user name (empty for the root).
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The tags.
    #[must_use]
    pub fn tags(&self) -> &[(String, String)] {
        &self.tags
    }
    pub(crate) fn account_number(&self) -> u64 {
        self.account_number
    }
    pub(crate) fn role_arn(&self) -> Option<&str> {
        self.role_arn.as_deref()
    }
}

/// Who makes the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// An IAM user, role session, federated user or account root.
    Aws(AwsPrincipal),
    /// An AWS service principal such as `cloudtrail.amazonaws.com`, calling on its own
    /// behalf. It has no identity policies: only the resource policy can allow it.
    Service(String),
    /// A web-identity or SAML federated caller (matched by `{"Federated": ...}`).
    Federated(String),
    /// An S3 canonical user (matched by `{"CanonicalUser": ...}`).
    CanonicalUser(String),
    /// An unauthenticated caller (matched only by `*`).
    Anonymous,
}

impl Caller {
    /// Reads the principal notation of the CLI: an IAM/STS ARN, a 12-digit account id (its
    /// root), `service:<name>`, `federated:<provider>`, `canonical:<id>` or `anonymous`.
    ///
    /// # Errors
    /// [`RequestError::Principal`] when the text is none of these.
    pub fn parse(text: &str) -> Result<Self, RequestError> {
        if let Some(s) = text.strip_prefix("service:") {
            if s.is_empty() {
                return Err(RequestError::Principal(
                    text.to_owned(),
                    "the service name is empty",
                ));
            }
            return Ok(Self::Service(s.to_owned()));
        }
        if let Some(s) = text.strip_prefix("federated:") {
            return Ok(Self::Federated(s.to_owned()));
        }
        if let Some(s) = text.strip_prefix("canonical:") {
            return Ok(Self::CanonicalUser(s.to_owned()));
        }
        if text == "anonymous" || text == "*" {
            return Ok(Self::Anonymous);
        }
        if let Ok(acct) = AccountId::parse(text) {
            return Ok(Self::Aws(AwsPrincipal::root(&acct)));
        }
        if text.ends_with(".amazonaws.com") && !text.contains(':') {
            return Ok(Self::Service(text.to_owned()));
        }
        AwsPrincipal::from_arn(text).map(Self::Aws)
    }

    /// The account of an AWS principal.
    #[must_use]
    pub fn account(&self) -> Option<&AccountId> {
        match self {
            Self::Aws(p) => Some(p.account()),
            _ => None,
        }
    }
}

impl fmt::Display for Caller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Aws(p) => write!(f, "{}", p.arn),
            Self::Service(s) => write!(f, "{s}"),
            Self::Federated(s) => write!(f, "federated:{s}"),
            Self::CanonicalUser(s) => write!(f, "canonical:{s}"),
            Self::Anonymous => f.write_str("anonymous"),
        }
    }
}

/// The type of a context value, for [`Value::parse`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValueType {
    /// Text.
    String,
    /// `true` or `false`.
    Bool,
    /// A decimal number.
    Number,
    /// ISO 8601 or epoch seconds.
    Date,
    /// An IPv4 or IPv6 address.
    Ip,
    /// Base64 of bytes.
    Binary,
}

impl ValueType {
    /// Reads `string`, `bool`, `number`, `date`, `ip` or `binary`.
    #[must_use]
    pub fn from_name(s: &str) -> Option<Self> {
        Some(match s {
            "string" => Self::String,
            "bool" => Self::Bool,
            "number" => Self::Number,
            "date" => Self::Date,
            "ip" => Self::Ip,
            "binary" => Self::Binary,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Typed {
    Text,
    Bool(bool),
    Date(Nanos),
    Ip(IpAddr),
    Binary(Box<[u8]>),
}

/// One context value: its text (what string operators see) and, when it was built typed, the
/// parsed form (what typed operators use without re-parsing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Value {
    text: Box<str>,
    typed: Typed,
}

impl Value {
    /// A string.
    #[must_use]
    pub fn string(s: impl Into<String>) -> Self {
        Self {
            text: s.into().into_boxed_str(),
            typed: Typed::Text,
        }
    }
    /// A boolean (`true` / `false`).
    #[must_use]
    pub fn bool(b: bool) -> Self {
        Self {
            text: if b { "true" } else { "false" }.into(),
            typed: Typed::Bool(b),
        }
    }
    /// An integer.
    #[must_use]
    pub fn number(n: i64) -> Self {
        Self::string(n.to_string())
    }
    /// An instant.
    #[must_use]
    pub fn date(t: UtcTime) -> Self {
        Self {
            text: t.to_iso().into_boxed_str(),
            typed: Typed::Date(i128::from(t.epoch_seconds()) * 1_000_000_000),
        }
    }
    /// An IP address.
    #[must_use]
    pub fn ip(ip: IpAddr) -> Self {
        Self {
            text: ip.to_string().into_boxed_str(),
            typed: Typed::Ip(ip),
        }
    }
    /// Bytes (the text is their standard base64).
    #[must_use]
    pub fn binary(bytes: &[u8]) -> Self {
        Self {
            text: base64::engine::general_purpose::STANDARD
                .encode(bytes)
                .into_boxed_str(),
            typed: Typed::Binary(bytes.into()),
        }
    }

    /// Parses `text` as a value of type `ty`.
    ///
    /// # Errors
    /// [`RequestError::Value`] when the text is not of that type (`key` is for the message).
    pub fn parse(key: &str, ty: ValueType, text: &str) -> Result<Self, RequestError> {
        let bad = |expected| RequestError::Value {
            key: key.to_owned(),
            value: text.to_owned(),
            expected,
        };
        let typed = match ty {
            ValueType::String => Typed::Text,
            ValueType::Bool => Typed::Bool(parse_bool(text).ok_or_else(|| bad("bool"))?),
            ValueType::Number => {
                Decimal::parse(text).ok_or_else(|| bad("number"))?;
                Typed::Text
            }
            ValueType::Date => Typed::Date(parse_date(text).ok_or_else(|| bad("date"))?),
            ValueType::Ip => Typed::Ip(text.parse().map_err(|_| bad("ip"))?),
            ValueType::Binary => Typed::Binary(
                base64::engine::general_purpose::STANDARD
                    .decode(text)
                    .map_err(|_| bad("binary (base64)"))?
                    .into_boxed_slice(),
            ),
        };
        Ok(Self {
            text: text.into(),
            typed,
        })
    }

    /// The text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub(crate) fn as_bool(&self) -> Option<bool> {
        match self.typed {
            Typed::Bool(b) => Some(b),
            _ => parse_bool(&self.text),
        }
    }
    pub(crate) fn as_decimal(&self) -> Option<Decimal<'_>> {
        Decimal::parse(&self.text)
    }
    pub(crate) fn as_date(&self) -> Option<Nanos> {
        match self.typed {
            Typed::Date(n) => Some(n),
            _ => parse_date(&self.text),
        }
    }
    pub(crate) fn as_ip(&self) -> Option<IpAddr> {
        match self.typed {
            Typed::Ip(ip) => Some(ip),
            _ => self.text.trim().parse().ok(),
        }
    }
    pub(crate) fn with_bytes<R>(&self, f: impl FnOnce(Option<&[u8]>) -> R) -> R {
        match &self.typed {
            Typed::Binary(b) => f(Some(b)),
            _ => {
                let decoded = base64::engine::general_purpose::STANDARD
                    .decode(self.text.as_bytes())
                    .ok();
                f(decoded.as_deref())
            }
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// A context key's values: one value, or a set (possibly empty) for multi-valued keys such as
/// `aws:TagKeys` and `kms:EncryptionContextKeys`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContextValue {
    /// A single-valued key.
    Single(Value),
    /// A multi-valued key.
    Multi(Vec<Value>),
}

impl ContextValue {
    /// The values as a slice (one element for a single value).
    #[must_use]
    pub fn values(&self) -> &[Value] {
        match self {
            Self::Single(v) => std::slice::from_ref(v),
            Self::Multi(v) => v,
        }
    }
}

impl From<Value> for ContextValue {
    fn from(v: Value) -> Self {
        Self::Single(v)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    hash: u64,
    lower: Box<str>,
    name: Box<str>,
    value: ContextValue,
}

/// The request context: condition keys (compared case-insensitively) and their values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    entries: Vec<Entry>,
}

impl Context {
    /// An empty context.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `key` (any letter case) to `value`, replacing an earlier value of the same key.
    pub fn insert(&mut self, key: &str, value: impl Into<ContextValue>) {
        self.set(key, value.into(), true);
    }

    /// Sets `key` only if it has no value yet.
    fn insert_default(&mut self, key: &str, value: Value) {
        self.set(key, ContextValue::Single(value), false);
    }

    fn set(&mut self, key: &str, value: ContextValue, replace: bool) {
        let lower: Box<str> = if key.bytes().any(|b| b.is_ascii_uppercase()) || !key.is_ascii() {
            key.to_lowercase().into_boxed_str()
        } else {
            key.into()
        };
        let hash = key_hash(&lower);
        if let Some(e) = self
            .entries
            .iter_mut()
            .find(|e| e.hash == hash && e.lower == lower)
        {
            if replace {
                e.name = key.into();
                e.value = value;
            }
        } else {
            self.entries.push(Entry {
                hash,
                name: key.into(),
                lower,
                value,
            });
        }
    }

    /// Removes `key`.
    pub fn remove(&mut self, key: &str) {
        let lower = key.to_lowercase();
        self.entries.retain(|e| *e.lower != *lower);
    }

    /// The values of a key given in lower case.
    #[must_use]
    pub fn get(&self, lower_key: &str) -> Option<&ContextValue> {
        self.get_hashed(lower_key, key_hash(lower_key))
    }

    /// [`Context::get`] with the key's hash computed beforehand (at parse time).
    pub(crate) fn get_hashed(&self, lower_key: &str, hash: u64) -> Option<&ContextValue> {
        self.entries
            .iter()
            .find(|e| e.hash == hash && &*e.lower == lower_key)
            .map(|e| &e.value)
    }

    /// Every key (as last written) and its values.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &ContextValue)> {
        self.entries.iter().map(|e| (&*e.name, &e.value))
    }
}

impl Vars for Context {
    fn var(&self, key: &str, hash: u64) -> Option<&str> {
        match self.get_hashed(key, hash)? {
            ContextValue::Single(v) => Some(v.as_str()),
            ContextValue::Multi(_) => None,
        }
    }
}

/// A request to authorize.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    caller: Caller,
    action: String,
    resource: Arn,
    resource_account: Option<AccountId>,
    context: Context,
}

impl Request {
    /// A request by `caller` for `action` (`service:Name`) on `resource`, with `context`.
    ///
    /// Keys the caller implies are added unless `context` already has them:
    /// `aws:PrincipalArn` (for a role session, the role ARN), `aws:PrincipalAccount`,
    /// `aws:PrincipalType`, `aws:username` (IAM users), `aws:userid` (the root: the account
    /// id), `aws:PrincipalTag/<k>`, `aws:PrincipalIsAWSService`, `aws:PrincipalServiceName`
    /// (service callers), and `kms:CallerAccount` (AWS callers of `kms:` actions).
    ///
    /// # Errors
    /// [`RequestError::Action`] when `action` is not `service:name`.
    pub fn new(
        caller: Caller,
        action: &str,
        resource: Arn,
        mut context: Context,
    ) -> Result<Self, RequestError> {
        match action.split_once(':') {
            Some((svc, name))
                if !svc.is_empty() && !name.is_empty() && !action.contains(char::is_whitespace) => {
            }
            _ => return Err(RequestError::Action(action.to_owned())),
        }
        match &caller {
            Caller::Aws(p) => {
                let principal_arn = p
                    .role_arn()
                    .map_or_else(|| p.arn().to_string(), str::to_owned);
                context.insert_default("aws:PrincipalArn", Value::string(principal_arn));
                context.insert_default("aws:PrincipalAccount", Value::string(p.account().as_str()));
                context.insert_default("aws:PrincipalType", Value::string(p.kind().as_str()));
                context.insert_default("aws:PrincipalIsAWSService", Value::bool(false));
                match p.kind() {
                    PrincipalType::User => {
                        context.insert_default("aws:username", Value::string(p.name()))
                    }
                    PrincipalType::Account => {
                        context.insert_default("aws:userid", Value::string(p.account().as_str()));
                    }
                    _ => {}
                }
                for (k, v) in p.tags() {
                    context.insert_default(
                        &format!("aws:PrincipalTag/{k}"),
                        Value::string(v.as_str()),
                    );
                }
                if action
                    .get(..4)
                    .is_some_and(|s| s.eq_ignore_ascii_case("kms:"))
                {
                    context
                        .insert_default("kms:CallerAccount", Value::string(p.account().as_str()));
                }
            }
            Caller::Service(s) => {
                context.insert_default("aws:PrincipalIsAWSService", Value::bool(true));
                context.insert_default("aws:PrincipalServiceName", Value::string(s.as_str()));
            }
            Caller::Anonymous => {
                context.insert_default("aws:PrincipalType", Value::string("Anonymous"));
            }
            Caller::Federated(_) | Caller::CanonicalUser(_) => {}
        }
        Ok(Self {
            caller,
            action: action.to_owned(),
            resource,
            resource_account: None,
            context,
        })
    }

    /// Sets the account that owns the resource, for resources whose ARN has no account
    /// (S3 buckets). Without it such a resource is taken to be in the caller's account.
    #[must_use]
    pub fn with_resource_account(mut self, account: AccountId) -> Self {
        self.resource_account = Some(account);
        self
    }

    /// The caller.
    #[must_use]
    pub fn caller(&self) -> &Caller {
        &self.caller
    }
    /// The action.
    #[must_use]
    pub fn action(&self) -> &str {
        &self.action
    }
    /// The resource.
    #[must_use]
    pub fn resource(&self) -> &Arn {
        &self.resource
    }
    /// The context, including the keys derived from the caller.
    #[must_use]
    pub fn context(&self) -> &Context {
        &self.context
    }
    /// The resource owner: as set, else the account field of the resource ARN.
    #[must_use]
    pub fn resource_account(&self) -> Option<&str> {
        match &self.resource_account {
            Some(a) => Some(a.as_str()),
            None => Some(self.resource.account()).filter(|a| !a.is_empty()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn principals_from_arns() {
        let u = AwsPrincipal::from_arn("arn:aws:iam::111122223333:user/division/Bob").unwrap();
        assert_eq!((u.kind(), u.name()), (PrincipalType::User, "Bob"));
        let r = AwsPrincipal::from_arn("arn:aws:sts::111122223333:assumed-role/Admin/s1").unwrap();
        assert_eq!(r.role_arn(), Some("arn:aws:iam::111122223333:role/Admin"));
        let root = AwsPrincipal::root(&AccountId::parse("111122223333").unwrap());
        assert_eq!(root.kind(), PrincipalType::Account);
        assert!(AwsPrincipal::from_arn("arn:aws:s3:::bucket").is_err());
        assert!(AwsPrincipal::from_arn("arn:aws:iam::1:user/x").is_err());
        assert!(matches!(
            Caller::parse("service:cloudtrail.amazonaws.com"),
            Ok(Caller::Service(_))
        ));
        assert!(matches!(Caller::parse("111122223333"), Ok(Caller::Aws(_))));
        assert!(matches!(Caller::parse("anonymous"), Ok(Caller::Anonymous)));
    }

    #[test]
    fn derived_keys_do_not_override_given_ones() {
        let caller = Caller::Aws(
            AwsPrincipal::from_arn("arn:aws:iam::111122223333:user/Bob")
                .unwrap()
                .with_tag("Team", "red"),
        );
        let mut ctx = Context::new();
        ctx.insert("AWS:USERNAME", Value::string("override"));
        let arn = Arn::parse("arn:aws:kms:us-east-1:111122223333:key/k").unwrap();
        let r = Request::new(caller, "kms:Decrypt", arn, ctx).unwrap();
        let var = |k: &str| r.context().var(k, key_hash(k)).map(str::to_owned);
        assert_eq!(var("aws:username").as_deref(), Some("override"));
        assert_eq!(var("aws:principaltag/team").as_deref(), Some("red"));
        assert_eq!(var("kms:calleraccount").as_deref(), Some("111122223333"));
        assert_eq!(r.resource_account(), Some("111122223333"));
    }
}
