//! The typed form of a policy document.
//!
//! Every node keeps the text it was written with (so [`crate::print`] can write it back) and
//! where it was (a [`Span`]), and the nodes that are matched against requests also hold their
//! compiled matcher, so that a parsed [`Policy`] can be evaluated many times without further
//! work.

use std::fmt;

use crate::condition::{Compiled, Operator};
use crate::pattern::{ArnPattern, Pattern};

/// Where a node starts in the source: byte offset, line and column (1-based), and its JSON
/// pointer.
///
/// Spans never take part in equality: two policies that differ only in layout are equal.
#[derive(Debug, Clone, Default)]
pub struct Span {
    pub(crate) offset: usize,
    pub(crate) line: usize,
    pub(crate) column: usize,
    pub(crate) pointer: Box<str>,
}

impl PartialEq for Span {
    fn eq(&self, _other: &Self) -> bool {
        true
    }
}
impl Eq for Span {}

impl Span {
    /// Byte offset of the node in the source.
    #[must_use]
    pub fn offset(&self) -> usize {
        self.offset
    }
    /// The [`crate::Location`] of the node.
    #[must_use]
    pub fn location(&self) -> crate::Location {
        crate::Location::new(self.line, self.column, self.pointer.to_string())
    }
}

/// The policy language version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    /// `2012-10-17`: policy variables are expanded.
    V2012_10_17,
    /// `2008-10-17`: `${...}` is literal text.
    V2008_10_17,
}

impl Version {
    /// The text of the version.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V2012_10_17 => "2012-10-17",
            Self::V2008_10_17 => "2008-10-17",
        }
    }
}

/// What kind of resource a resource-based policy is attached to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResourceKind {
    /// A KMS key policy: the root of trust for the key.
    KmsKey,
    /// An S3 bucket policy.
    S3Bucket,
    /// Any other resource-based policy (same evaluation rules as a bucket policy).
    Other,
}

impl ResourceKind {
    /// `kms-key`, `s3-bucket` or `other`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::KmsKey => "kms-key",
            Self::S3Bucket => "s3-bucket",
            Self::Other => "other",
        }
    }

    /// The kind of resource an ARN names: `kms` → key, `s3` → bucket, else other.
    #[must_use]
    pub fn of_arn(arn: &sealtrail_model::Arn) -> Self {
        match arn.service() {
            "kms" => Self::KmsKey,
            "s3" => Self::S3Bucket,
            _ => Self::Other,
        }
    }
}

/// Whether a policy is attached to an identity or to a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyKind {
    /// Attached to a user, group or role: no `Principal`.
    Identity,
    /// Attached to a resource: every statement names a `Principal` or `NotPrincipal`.
    Resource(ResourceKind),
}

/// `Allow` or `Deny`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Effect {
    /// Grants.
    Allow,
    /// Refuses; wins over any `Allow`.
    Deny,
}

impl Effect {
    /// `Allow` or `Deny`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allow => "Allow",
            Self::Deny => "Deny",
        }
    }
}

impl fmt::Display for Effect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A list written either as one value or as a JSON array; the form is kept for printing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OneOrMany<T> {
    pub(crate) items: Vec<T>,
    pub(crate) array: bool,
}

impl<T> OneOrMany<T> {
    /// The values.
    #[must_use]
    pub fn items(&self) -> &[T] {
        &self.items
    }
    /// True when the values were written as a JSON array.
    #[must_use]
    pub fn is_array(&self) -> bool {
        self.array
    }
}

/// A parsed, compiled policy document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub(crate) version: Option<Version>,
    pub(crate) id: Option<String>,
    pub(crate) statements: Vec<Statement>,
    pub(crate) statement_array: bool,
    pub(crate) kind: PolicyKind,
    pub(crate) name: Option<String>,
}

impl Policy {
    /// The `Version`, if written.
    #[must_use]
    pub fn version(&self) -> Option<Version> {
        self.version
    }
    /// The `Id`, if written.
    #[must_use]
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }
    /// The statements in document order.
    #[must_use]
    pub fn statements(&self) -> &[Statement] {
        &self.statements
    }
    /// Identity or resource policy, as given or inferred when parsing.
    #[must_use]
    pub fn kind(&self) -> PolicyKind {
        self.kind
    }
    /// The name used for this policy in explanations (a file name, `key-policy`, ...).
    ///
    /// Defaults to the `Id`, if any.
    #[must_use]
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref().or(self.id.as_deref())
    }
    /// Sets the name used for this policy in explanations.
    #[must_use]
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }
    /// True when `${...}` policy variables are expanded (version 2012-10-17).
    #[must_use]
    pub fn expands_variables(&self) -> bool {
        self.version == Some(Version::V2012_10_17)
    }
}

/// One statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub(crate) index: usize,
    pub(crate) sid: Option<String>,
    pub(crate) effect: Effect,
    pub(crate) principal: Option<PrincipalClause>,
    pub(crate) action: Option<ActionClause>,
    pub(crate) resource: Option<ResourceClause>,
    pub(crate) condition: Option<ConditionBlock>,
    pub(crate) span: Span,
}

impl Statement {
    /// Position in the policy (0-based).
    #[must_use]
    pub fn index(&self) -> usize {
        self.index
    }
    /// The `Sid`, if any.
    #[must_use]
    pub fn sid(&self) -> Option<&str> {
        self.sid.as_deref()
    }
    /// `Allow` or `Deny`.
    #[must_use]
    pub fn effect(&self) -> Effect {
        self.effect
    }
    /// `Principal` or `NotPrincipal`, if any.
    #[must_use]
    pub fn principal(&self) -> Option<&PrincipalClause> {
        self.principal.as_ref()
    }
    /// `Action` or `NotAction`; absent only in a key policy, where the statement then has no
    /// effect.
    #[must_use]
    pub fn action(&self) -> Option<&ActionClause> {
        self.action.as_ref()
    }
    /// `Resource` or `NotResource`; absent only in a key policy, where the statement then has
    /// no effect.
    #[must_use]
    pub fn resource(&self) -> Option<&ResourceClause> {
        self.resource.as_ref()
    }
    /// The `Condition` block, if any.
    #[must_use]
    pub fn condition(&self) -> Option<&ConditionBlock> {
        self.condition.as_ref()
    }
    /// Where the statement is.
    #[must_use]
    pub fn span(&self) -> &Span {
        &self.span
    }
    /// `Sid` if it has one, else `#<index>`.
    #[must_use]
    pub fn label(&self) -> String {
        match &self.sid {
            Some(s) => s.clone(),
            None => format!("#{}", self.index),
        }
    }
}

/// `Principal` or `NotPrincipal`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrincipalClause {
    pub(crate) negated: bool,
    pub(crate) spec: PrincipalSpec,
    pub(crate) span: Span,
}

impl PrincipalClause {
    /// True for `NotPrincipal`.
    #[must_use]
    pub fn is_negated(&self) -> bool {
        self.negated
    }
    /// The principals listed.
    #[must_use]
    pub fn spec(&self) -> &PrincipalSpec {
        &self.spec
    }
    /// True when the clause names everyone (`"*"` or `{"AWS": "*"}`).
    #[must_use]
    pub fn is_everyone(&self) -> bool {
        match &self.spec {
            PrincipalSpec::Everyone => true,
            PrincipalSpec::Map(entries) => entries.iter().any(|e| {
                e.kind == PrincipalKind::Aws
                    && e.values
                        .items
                        .iter()
                        .any(|v| v.matcher == PrincipalMatcher::Any)
            }),
        }
    }
}

/// The value of a principal clause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrincipalSpec {
    /// `"*"`.
    Everyone,
    /// `{"AWS": ..., "Service": ...}` in document order.
    Map(Vec<PrincipalEntry>),
}

/// One member of a principal map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrincipalEntry {
    pub(crate) kind: PrincipalKind,
    pub(crate) values: OneOrMany<PrincipalId>,
}

impl PrincipalEntry {
    /// `AWS`, `Service`, ...
    #[must_use]
    pub fn kind(&self) -> PrincipalKind {
        self.kind
    }
    /// The principals.
    #[must_use]
    pub fn values(&self) -> &OneOrMany<PrincipalId> {
        &self.values
    }
}

/// The principal types of the `Principal` element.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PrincipalKind {
    /// `AWS`: accounts, users, roles, sessions, or `*`.
    Aws,
    /// `Service`: an AWS service such as `cloudtrail.amazonaws.com`.
    Service,
    /// `Federated`: a web identity or SAML provider.
    Federated,
    /// `CanonicalUser`: an S3 canonical user id.
    CanonicalUser,
}

impl PrincipalKind {
    /// The member name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Aws => "AWS",
            Self::Service => "Service",
            Self::Federated => "Federated",
            Self::CanonicalUser => "CanonicalUser",
        }
    }
}

/// One principal as written, with its compiled matcher.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrincipalId {
    pub(crate) text: String,
    pub(crate) matcher: PrincipalMatcher,
    pub(crate) span: Span,
}

impl PrincipalId {
    /// The text as written.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.text
    }
    /// The account this principal names as a whole (`123456789012` or
    /// `arn:aws:iam::123456789012:root`), if it does.
    #[must_use]
    pub fn account(&self) -> Option<&str> {
        match &self.matcher {
            PrincipalMatcher::Account(_) => {
                // The id is the bare text or the account field of the root ARN.
                let t = self.text.as_str();
                Some(if t.len() == 12 {
                    t
                } else {
                    crate::pattern::split_arn(t, false)
                        .and_then(|f| f.get(4).copied())
                        .unwrap_or(t)
                })
            }
            _ => None,
        }
    }
}

/// How a listed principal is compared with the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PrincipalMatcher {
    /// `*`.
    Any,
    /// An account (its 12 digits as a number): the account root, and (as a delegation)
    /// every principal in it.
    Account(u64),
    /// A role: the role itself, and every session of it.
    Role { account: u64, name: Box<str> },
    /// Any other IAM/STS ARN, compared exactly.
    Arn(Box<str>),
    /// A service, lower case.
    Service(Box<str>),
    /// A federated provider.
    Federated(Box<str>),
    /// A canonical user id.
    CanonicalUser(Box<str>),
}

/// `Action` or `NotAction`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionClause {
    pub(crate) negated: bool,
    pub(crate) values: OneOrMany<ActionPattern>,
    pub(crate) span: Span,
}

impl ActionClause {
    /// True for `NotAction`.
    #[must_use]
    pub fn is_negated(&self) -> bool {
        self.negated
    }
    /// The patterns.
    #[must_use]
    pub fn values(&self) -> &OneOrMany<ActionPattern> {
        &self.values
    }
}

/// An action pattern such as `kms:GenerateDataKey*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionPattern {
    pub(crate) text: String,
    pub(crate) pattern: Pattern,
    pub(crate) span: Span,
}

impl ActionPattern {
    /// The text as written.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.text
    }
    /// True when this pattern matches `action` (case-insensitively).
    #[must_use]
    pub fn matches(&self, action: &str) -> bool {
        self.pattern
            .matches(action, crate::pattern::Case::Ascii, &crate::pattern::NoVars)
    }
    /// Where it is.
    #[must_use]
    pub fn span(&self) -> &Span {
        &self.span
    }
}

/// `Resource` or `NotResource`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceClause {
    pub(crate) negated: bool,
    pub(crate) values: OneOrMany<ResourcePattern>,
    pub(crate) span: Span,
}

impl ResourceClause {
    /// True for `NotResource`.
    #[must_use]
    pub fn is_negated(&self) -> bool {
        self.negated
    }
    /// The patterns.
    #[must_use]
    pub fn values(&self) -> &OneOrMany<ResourcePattern> {
        &self.values
    }
}

/// A resource pattern: `*` or an ARN with wildcards and (2012-10-17) policy variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourcePattern {
    pub(crate) text: String,
    pub(crate) matcher: ResourceMatcher,
    pub(crate) span: Span,
}

impl ResourcePattern {
    /// The text as written.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.text
    }
    /// Where it is.
    #[must_use]
    pub fn span(&self) -> &Span {
        &self.span
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ResourceMatcher {
    Any,
    Arn(ArnPattern),
}

/// A `Condition` block: operators, each with keys, each with values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionBlock {
    pub(crate) operators: Vec<OperatorEntry>,
    pub(crate) span: Span,
}

impl ConditionBlock {
    /// The operators in document order.
    #[must_use]
    pub fn operators(&self) -> &[OperatorEntry] {
        &self.operators
    }
    /// Every (operator, condition) pair.
    pub fn conditions(&self) -> impl Iterator<Item = (&OperatorEntry, &Condition)> {
        self.operators
            .iter()
            .flat_map(|o| o.conditions.iter().map(move |c| (o, c)))
    }
}

/// One operator of a condition block and the keys under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorEntry {
    pub(crate) operator: Operator,
    pub(crate) text: String,
    pub(crate) conditions: Vec<Condition>,
    pub(crate) span: Span,
}

impl OperatorEntry {
    /// The operator.
    #[must_use]
    pub fn operator(&self) -> Operator {
        self.operator
    }
    /// The operator as written, e.g. `ForAnyValue:StringLike`.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.text
    }
    /// The keys under this operator.
    #[must_use]
    pub fn conditions(&self) -> &[Condition] {
        &self.conditions
    }
}

/// One key under an operator, with its values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub(crate) key: String,
    pub(crate) key_lower: Box<str>,
    pub(crate) key_hash: u64,
    pub(crate) values: OneOrMany<ConditionValue>,
    pub(crate) compiled: Compiled,
    pub(crate) span: Span,
}

impl Condition {
    /// The condition key as written.
    #[must_use]
    pub fn key(&self) -> &str {
        &self.key
    }
    /// The condition key in lower case (keys compare case-insensitively).
    #[must_use]
    pub fn key_lower(&self) -> &str {
        &self.key_lower
    }
    /// The values (any one may match).
    #[must_use]
    pub fn values(&self) -> &OneOrMany<ConditionValue> {
        &self.values
    }
    /// Where it is.
    #[must_use]
    pub fn span(&self) -> &Span {
        &self.span
    }
}

/// A condition value as written: a JSON string, number or boolean.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionValue {
    pub(crate) text: String,
    pub(crate) json: ScalarKind,
}

impl ConditionValue {
    /// The value as text (`10` for the number 10, `true` for the boolean).
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.text
    }
    /// The JSON type it was written as.
    #[must_use]
    pub fn json_kind(&self) -> ScalarKind {
        self.json
    }
}

/// The JSON type of a condition value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScalarKind {
    /// `"..."`.
    String,
    /// `10`, `1.5`.
    Number,
    /// `true`, `false`.
    Bool,
}
