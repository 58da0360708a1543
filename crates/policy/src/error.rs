//! The error types of this crate: one for reading a policy, one for building a request.

use std::fmt;

/// Where in a policy document something is: line and column (1-based, columns counted in
/// characters) and the JSON pointer of the element.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Location {
    line: usize,
    column: usize,
    pointer: String,
}

impl Location {
    pub(crate) fn new(line: usize, column: usize, pointer: String) -> Self {
        Self {
            line,
            column,
            pointer,
        }
    }

    /// 1-based line.
    #[must_use]
    pub fn line(&self) -> usize {
        self.line
    }

    /// 1-based column, in characters.
    #[must_use]
    pub fn column(&self) -> usize {
        self.column
    }

    /// The JSON pointer (RFC 6901) of the element, e.g. `/Statement/0/Effect`; empty for the
    /// document itself.
    #[must_use]
    pub fn pointer(&self) -> &str {
        &self.pointer
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)?;
        if !self.pointer.is_empty() {
            write!(f, " ({})", self.pointer)?;
        }
        Ok(())
    }
}

/// A policy document that cannot be used, with where the problem is.
///
/// Displayed as `<what> at line L, column C (<pointer>)`. This is what a KMS or IAM front
/// end reports as `MalformedPolicyDocumentException`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} at {location}")]
pub struct ParseError {
    kind: ParseErrorKind,
    location: Location,
}

impl ParseError {
    pub(crate) fn new(kind: ParseErrorKind, location: Location) -> Self {
        Self { kind, location }
    }

    /// What is wrong.
    #[must_use]
    pub fn kind(&self) -> &ParseErrorKind {
        &self.kind
    }

    /// Where.
    #[must_use]
    pub fn location(&self) -> &Location {
        &self.location
    }
}

/// What is wrong with a policy document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// The document is longer than the limit for its kind.
    #[error("policy is {size} {unit}, more than the limit of {limit}")]
    TooLarge {
        /// The measured size.
        size: usize,
        /// The limit.
        limit: usize,
        /// `bytes` or `non-whitespace characters`.
        unit: &'static str,
    },
    /// A character a key policy may not contain.
    #[error("policy contains the character {0:?}, which is not allowed in a key policy")]
    BadCharacter(char),
    /// Not JSON.
    #[error("syntax error: {0}")]
    Syntax(String),
    /// The same member twice in one object.
    #[error("duplicate key `{0}`")]
    DuplicateKey(String),
    /// A member this kind of object does not have.
    #[error("unknown element `{element}` in {context}{hint}")]
    UnknownElement {
        /// The member name as written.
        element: String,
        /// `policy`, `statement`, `principal`.
        context: &'static str,
        /// `, did you mean ...` or empty.
        hint: String,
    },
    /// A required member is absent.
    #[error("missing required element `{element}` in {context}")]
    Missing {
        /// The member.
        element: &'static str,
        /// Where it was expected.
        context: &'static str,
    },
    /// Two members that exclude each other.
    #[error("statement has both `{0}` and `{1}`")]
    Conflict(&'static str, &'static str),
    /// A value of the wrong JSON type.
    #[error("`{element}` must be {expected}, not {found}")]
    WrongType {
        /// The element.
        element: String,
        /// What it may be.
        expected: &'static str,
        /// The JSON type found.
        found: &'static str,
    },
    /// An empty list or map where one entry is needed.
    #[error("`{0}` must not be empty")]
    Empty(String),
    /// `Version` is not one of the two versions.
    #[error("unsupported policy version `{0}`: use `2012-10-17` or `2008-10-17`")]
    Version(String),
    /// `Effect` is not `Allow` or `Deny`.
    #[error("invalid effect `{0}`: use `Allow` or `Deny`")]
    Effect(String),
    /// A `Sid` that this kind of policy does not accept.
    #[error(
        "invalid statement id `{0}`: identity-policy sids may contain only ASCII letters and digits"
    )]
    Sid(String),
    /// Two statements with the same `Sid`.
    #[error("duplicate statement id `{0}`")]
    DuplicateSid(String),
    /// A principal in an identity policy.
    #[error(
        "policy document should not specify a principal: identity policies apply to the principal they are attached to"
    )]
    UnexpectedPrincipal,
    /// A principal that is not well formed.
    #[error("invalid principal `{value}` in `{kind}`: {why}")]
    Principal {
        /// `AWS`, `Service`, ...
        kind: String,
        /// The value as written.
        value: String,
        /// Why.
        why: &'static str,
    },
    /// An action that is not `service:name` or `*`.
    #[error(
        "invalid action `{0}`: actions must be prefixed by a service namespace, as in `kms:Decrypt`"
    )]
    Action(String),
    /// A resource that is not an ARN or `*`.
    #[error("invalid resource `{0}`: resources must be an ARN or `*`")]
    Resource(String),
    /// A condition operator that does not exist.
    #[error("unknown condition operator `{0}`{1}")]
    Operator(String, String),
    /// An operator combination that is not allowed (`NullIfExists`, `ForAnyValue:Null`).
    #[error("condition operator `{0}` is not allowed: {1}")]
    OperatorForm(String, &'static str),
    /// A condition key that is not `prefix:name`.
    #[error("invalid condition key `{0}`: keys are written `prefix:name`, as in `aws:SourceArn`")]
    ConditionKey(String),
    /// A condition value the operator cannot use.
    #[error("invalid value `{value}` for `{operator}`: expected {expected}")]
    ConditionValue {
        /// The operator.
        operator: String,
        /// The value as written.
        value: String,
        /// What the operator takes.
        expected: &'static str,
    },
    /// A malformed `${...}` policy variable.
    #[error("invalid policy variable in `{0}`: {1}")]
    Variable(String, &'static str),
    /// `ForAllValues` with `kms:EncryptionContext:<key>` in a key policy (KMS rejects it).
    #[error(
        "OverlyPermissiveCondition:EncryptionContext: using the ForAllValues set operator with the single-valued condition key `{0}` matches requests without the specified encryption context or with an unspecified encryption context; remove ForAllValues"
    )]
    OverlyPermissiveCondition(String),
}

/// A request that cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// The principal is not an IAM or STS principal ARN, an account id, or a known form.
    #[error("invalid principal `{0}`: {1}")]
    Principal(String, &'static str),
    /// The action is not `service:name`.
    #[error("invalid action `{0}`: expected `service:name`, as in `kms:Decrypt`")]
    Action(String),
    /// The resource is not an ARN.
    #[error("invalid resource `{0}`: expected an ARN")]
    Resource(String),
    /// A context value that does not parse as the type it was declared with.
    #[error("invalid {expected} value `{value}` for context key `{key}`")]
    Value {
        /// The key.
        key: String,
        /// The value as given.
        value: String,
        /// `date`, `ip`, ...
        expected: &'static str,
    },
    /// A context key that is not `prefix:name`.
    #[error("invalid context key `{0}`: keys are written `prefix:name`, as in `aws:SourceArn`")]
    Key(String),
}
