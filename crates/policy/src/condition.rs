//! Condition operators: names, compiled values and evaluation.
//!
//! The semantics follow the IAM User Guide (condition operators, multi-valued context keys):
//! - several values for one key: any one may match (OR); a negated operator
//!   (`StringNotEquals`, `NotIpAddress`, `ArnNotLike`, ...) is true when the request value
//!   matches *none* of them;
//! - a missing key makes a plain operator false, a negated operator true, and any
//!   `...IfExists` operator true; `Null` tests presence;
//! - `ForAnyValue:` is true when at least one request value passes (false when the key is
//!   missing or its set empty); `ForAllValues:` is true when every request value passes (true
//!   when the key is missing or its set empty);
//! - without a set operator, a multi-valued key passes a plain operator when any of its values
//!   matches, and a negated operator when none does; an empty set counts as missing.

use std::fmt;

use base64::Engine as _;

use crate::pattern::{ArnPattern, Case, Pattern, Vars};
use crate::request::{Context, ContextValue, Value};
use crate::scalar::{Cidr, Decimal, Nanos, parse_bool, parse_date};

/// The operator families and their members, without set operator or `IfExists`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[expect(missing_docs, reason = "the variants are the IAM operator names")]
pub enum BaseOperator {
    StringEquals,
    StringNotEquals,
    StringEqualsIgnoreCase,
    StringNotEqualsIgnoreCase,
    StringLike,
    StringNotLike,
    NumericEquals,
    NumericNotEquals,
    NumericLessThan,
    NumericLessThanEquals,
    NumericGreaterThan,
    NumericGreaterThanEquals,
    DateEquals,
    DateNotEquals,
    DateLessThan,
    DateLessThanEquals,
    DateGreaterThan,
    DateGreaterThanEquals,
    Bool,
    BinaryEquals,
    IpAddress,
    NotIpAddress,
    ArnEquals,
    ArnLike,
    ArnNotEquals,
    ArnNotLike,
    Null,
}

const ALL: [BaseOperator; 27] = {
    use BaseOperator::*;
    [
        StringEquals,
        StringNotEquals,
        StringEqualsIgnoreCase,
        StringNotEqualsIgnoreCase,
        StringLike,
        StringNotLike,
        NumericEquals,
        NumericNotEquals,
        NumericLessThan,
        NumericLessThanEquals,
        NumericGreaterThan,
        NumericGreaterThanEquals,
        DateEquals,
        DateNotEquals,
        DateLessThan,
        DateLessThanEquals,
        DateGreaterThan,
        DateGreaterThanEquals,
        Bool,
        BinaryEquals,
        IpAddress,
        NotIpAddress,
        ArnEquals,
        ArnLike,
        ArnNotEquals,
        ArnNotLike,
        Null,
    ]
};

impl BaseOperator {
    /// Every operator.
    #[must_use]
    pub fn all() -> &'static [Self] {
        &ALL
    }

    /// The IAM name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        use BaseOperator::*;
        match self {
            StringEquals => "StringEquals",
            StringNotEquals => "StringNotEquals",
            StringEqualsIgnoreCase => "StringEqualsIgnoreCase",
            StringNotEqualsIgnoreCase => "StringNotEqualsIgnoreCase",
            StringLike => "StringLike",
            StringNotLike => "StringNotLike",
            NumericEquals => "NumericEquals",
            NumericNotEquals => "NumericNotEquals",
            NumericLessThan => "NumericLessThan",
            NumericLessThanEquals => "NumericLessThanEquals",
            NumericGreaterThan => "NumericGreaterThan",
            NumericGreaterThanEquals => "NumericGreaterThanEquals",
            DateEquals => "DateEquals",
            DateNotEquals => "DateNotEquals",
            DateLessThan => "DateLessThan",
            DateLessThanEquals => "DateLessThanEquals",
            DateGreaterThan => "DateGreaterThan",
            DateGreaterThanEquals => "DateGreaterThanEquals",
            Bool => "Bool",
            BinaryEquals => "BinaryEquals",
            IpAddress => "IpAddress",
            NotIpAddress => "NotIpAddress",
            ArnEquals => "ArnEquals",
            ArnLike => "ArnLike",
            ArnNotEquals => "ArnNotEquals",
            ArnNotLike => "ArnNotLike",
            Null => "Null",
        }
    }

    /// True for the operators that pass when the request value matches none of the listed
    /// values (and when the key is missing).
    #[must_use]
    pub fn is_negated(self) -> bool {
        use BaseOperator::*;
        matches!(
            self,
            StringNotEquals
                | StringNotEqualsIgnoreCase
                | StringNotLike
                | NumericNotEquals
                | DateNotEquals
                | NotIpAddress
                | ArnNotEquals
                | ArnNotLike
        )
    }

    /// True for the operators whose values may contain policy variables (String, ARN, Bool).
    #[must_use]
    pub fn takes_variables(self) -> bool {
        use BaseOperator::*;
        matches!(
            self,
            StringEquals
                | StringNotEquals
                | StringEqualsIgnoreCase
                | StringNotEqualsIgnoreCase
                | StringLike
                | StringNotLike
                | ArnEquals
                | ArnLike
                | ArnNotEquals
                | ArnNotLike
                | Bool
        )
    }

    fn from_name(s: &str) -> Option<Self> {
        ALL.iter().copied().find(|o| o.as_str() == s)
    }
}

/// `ForAllValues` or `ForAnyValue`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SetOperator {
    /// Every request value must pass; true for a missing or empty key.
    ForAllValues,
    /// Some request value must pass; false for a missing or empty key.
    ForAnyValue,
}

/// A full condition operator: `[ForAllValues:|ForAnyValue:]<Base>[IfExists]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Operator {
    /// The set operator, if any.
    pub set: Option<SetOperator>,
    /// The base operator.
    pub base: BaseOperator,
    /// The `IfExists` suffix.
    pub if_exists: bool,
}

/// Why an operator name is not accepted.
pub(crate) enum OperatorError {
    Unknown(String),
    Form(&'static str),
}

impl Operator {
    /// Reads an operator name (exact letter case, as IAM writes them).
    pub(crate) fn parse(text: &str) -> Result<Self, OperatorError> {
        let (set, rest) = if let Some(r) = text.strip_prefix("ForAllValues:") {
            (Some(SetOperator::ForAllValues), r)
        } else if let Some(r) = text.strip_prefix("ForAnyValue:") {
            (Some(SetOperator::ForAnyValue), r)
        } else {
            (None, text)
        };
        let (if_exists, base_name) = match rest.strip_suffix("IfExists") {
            Some(b) => (true, b),
            None => (false, rest),
        };
        let Some(base) = BaseOperator::from_name(base_name) else {
            return Err(OperatorError::Unknown(suggest(text)));
        };
        if base == BaseOperator::Null && if_exists {
            return Err(OperatorError::Form(
                "`Null` already tests whether the key exists, so it takes no `IfExists`",
            ));
        }
        if base == BaseOperator::Null && set.is_some() {
            return Err(OperatorError::Form(
                "`Null` tests whether the key exists and takes no set operator",
            ));
        }
        Ok(Self {
            set,
            base,
            if_exists,
        })
    }
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.set {
            Some(SetOperator::ForAllValues) => f.write_str("ForAllValues:")?,
            Some(SetOperator::ForAnyValue) => f.write_str("ForAnyValue:")?,
            None => {}
        }
        f.write_str(self.base.as_str())?;
        if self.if_exists {
            f.write_str("IfExists")?;
        }
        Ok(())
    }
}

/// `, did you mean ...` for a misspelt operator (wrong letter case or a known prefix).
fn suggest(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let mut names: Vec<String> = Vec::new();
    for set in ["", "ForAllValues:", "ForAnyValue:"] {
        for b in ALL {
            for ie in ["", "IfExists"] {
                names.push(format!("{set}{}{ie}", b.as_str()));
            }
        }
    }
    if let Some(n) = names.iter().find(|n| n.to_ascii_lowercase() == lower) {
        return format!(", did you mean `{n}`?");
    }
    if let Some(n) = names
        .iter()
        .find(|n| n.to_ascii_lowercase().starts_with(&lower) && !lower.is_empty())
    {
        return format!(", did you mean `{n}`?");
    }
    String::new()
}

/// A condition's values, compiled for its operator family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Compiled {
    /// String operators (wildcards only for `...Like`).
    Strings(Box<[Pattern]>),
    /// Numeric operators: the values as written (each checked to parse).
    Numbers(Box<[Box<str>]>),
    /// Date operators.
    Dates(Box<[Nanos]>),
    /// `Bool`: a literal or a pattern with a variable.
    Bools(Box<[BoolValue]>),
    /// `BinaryEquals`: decoded bytes.
    Binary(Box<[Box<[u8]>]>),
    /// `IpAddress` / `NotIpAddress`.
    Ips(Box<[Cidr]>),
    /// ARN operators (a value that is not an ARN is matched as a whole string).
    Arns(Box<[ArnValue]>),
    /// `Null`: `true` (absent) or `false` (present).
    Null(Box<[bool]>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BoolValue {
    Lit(bool),
    Var(Pattern),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ArnValue {
    Arn(ArnPattern),
    Glob(Pattern),
}

/// Why a value does not compile: what the operator expects.
pub(crate) enum ValueError {
    Expected(&'static str),
    Variable(&'static str),
}

/// Compiles the values of one condition.
pub(crate) fn compile(
    op: Operator,
    values: &[&str],
    variables: bool,
) -> Result<Compiled, (usize, ValueError)> {
    use BaseOperator::*;
    let vars = variables && op.base.takes_variables();
    let var_err = |e: crate::pattern::PatternError| match e {
        crate::pattern::PatternError::Unterminated => ValueError::Variable("`${` without `}`"),
        crate::pattern::PatternError::BadVariable(_) => {
            ValueError::Variable("expected `${key}` or `${key, 'default'}`")
        }
    };
    let each = |f: &dyn Fn(&str) -> Result<(), ValueError>| -> Result<(), (usize, ValueError)> {
        for (i, v) in values.iter().enumerate() {
            f(v).map_err(|e| (i, e))?;
        }
        Ok(())
    };
    Ok(match op.base {
        StringEquals
        | StringNotEquals
        | StringEqualsIgnoreCase
        | StringNotEqualsIgnoreCase
        | StringLike
        | StringNotLike => {
            let like = matches!(op.base, StringLike | StringNotLike);
            let mut out = Vec::with_capacity(values.len());
            for (i, v) in values.iter().enumerate() {
                out.push(Pattern::compile(v, like, vars).map_err(|e| (i, var_err(e)))?);
            }
            Compiled::Strings(out.into())
        }
        NumericEquals
        | NumericNotEquals
        | NumericLessThan
        | NumericLessThanEquals
        | NumericGreaterThan
        | NumericGreaterThanEquals => {
            each(&|v| {
                Decimal::parse(v)
                    .map(|_| ())
                    .ok_or(ValueError::Expected("a decimal number"))
            })?;
            Compiled::Numbers(values.iter().map(|v| Box::from(*v)).collect())
        }
        DateEquals
        | DateNotEquals
        | DateLessThan
        | DateLessThanEquals
        | DateGreaterThan
        | DateGreaterThanEquals => {
            let mut out = Vec::with_capacity(values.len());
            for (i, v) in values.iter().enumerate() {
                out.push(
                    parse_date(v)
                        .ok_or((i, ValueError::Expected("an ISO 8601 date or epoch seconds")))?,
                );
            }
            Compiled::Dates(out.into())
        }
        Bool => {
            let mut out = Vec::with_capacity(values.len());
            for (i, v) in values.iter().enumerate() {
                let p = Pattern::compile(v, false, vars).map_err(|e| (i, var_err(e)))?;
                out.push(match p.literal() {
                    Some(lit) => BoolValue::Lit(
                        parse_bool(lit).ok_or((i, ValueError::Expected("`true` or `false`")))?,
                    ),
                    None => BoolValue::Var(p),
                });
            }
            Compiled::Bools(out.into())
        }
        BinaryEquals => {
            let mut out = Vec::with_capacity(values.len());
            for (i, v) in values.iter().enumerate() {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(v)
                    .map_err(|_| (i, ValueError::Expected("base64")))?;
                out.push(bytes.into_boxed_slice());
            }
            Compiled::Binary(out.into())
        }
        IpAddress | NotIpAddress => {
            let mut out = Vec::with_capacity(values.len());
            for (i, v) in values.iter().enumerate() {
                out.push(Cidr::parse(v).ok_or((
                    i,
                    ValueError::Expected("an IPv4 or IPv6 address or CIDR block"),
                ))?);
            }
            Compiled::Ips(out.into())
        }
        ArnEquals | ArnLike | ArnNotEquals | ArnNotLike => {
            let mut out = Vec::with_capacity(values.len());
            for (i, v) in values.iter().enumerate() {
                out.push(match ArnPattern::compile(v, vars) {
                    Some(Ok(p)) => ArnValue::Arn(p),
                    Some(Err(e)) => return Err((i, var_err(e))),
                    None => ArnValue::Glob(
                        Pattern::compile(v, true, vars).map_err(|e| (i, var_err(e)))?,
                    ),
                });
            }
            Compiled::Arns(out.into())
        }
        Null => {
            let mut out = Vec::with_capacity(values.len());
            for (i, v) in values.iter().enumerate() {
                out.push(parse_bool(v).ok_or((i, ValueError::Expected("`true` or `false`")))?);
            }
            Compiled::Null(out.into())
        }
    })
}

/// Why a condition is false.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConditionFailure {
    /// The key is not in the request (or is an empty set) and the operator needs it.
    KeyMissing,
    /// `Null: true` but the key is present, or `Null: false` but it is absent.
    Presence,
    /// No request value matches any listed value.
    NoMatch,
    /// A negated operator: a request value matches a listed value.
    Excluded,
    /// `ForAllValues`: some request value does not pass.
    NotAll,
}

impl ConditionFailure {
    /// A short phrase for explanations.
    #[must_use]
    pub fn describe(self) -> &'static str {
        match self {
            Self::KeyMissing => "the key is not in the request",
            Self::Presence => "the key's presence is not as required",
            Self::NoMatch => "no request value matches a listed value",
            Self::Excluded => "a request value matches an excluded value",
            Self::NotAll => "not every request value matches a listed value",
        }
    }
}

impl fmt::Display for ConditionFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// Evaluates one condition (operator, key, compiled values) against the context.
pub(crate) fn evaluate(
    op: Operator,
    key_lower: &str,
    key_hash: u64,
    compiled: &Compiled,
    ctx: &Context,
) -> Result<(), ConditionFailure> {
    let entry = ctx.get_hashed(key_lower, key_hash);
    let values: &[Value] = entry.map_or(&[], ContextValue::values);
    if let Compiled::Null(wanted) = compiled {
        let absent = values.is_empty();
        return if wanted.contains(&absent) {
            Ok(())
        } else {
            Err(ConditionFailure::Presence)
        };
    }
    let negated = op.base.is_negated();
    let passes = |v: &Value| positive(op.base, compiled, v, ctx) != negated;
    match op.set {
        None => {
            if values.is_empty() {
                return if op.if_exists || negated {
                    Ok(())
                } else {
                    Err(ConditionFailure::KeyMissing)
                };
            }
            let any = values.iter().any(|v| positive(op.base, compiled, v, ctx));
            match (negated, any) {
                (false, true) | (true, false) => Ok(()),
                (false, false) => Err(ConditionFailure::NoMatch),
                (true, true) => Err(ConditionFailure::Excluded),
            }
        }
        Some(SetOperator::ForAnyValue) => {
            if values.is_empty() {
                return if op.if_exists {
                    Ok(())
                } else {
                    Err(ConditionFailure::KeyMissing)
                };
            }
            if values.iter().any(passes) {
                Ok(())
            } else if negated {
                Err(ConditionFailure::Excluded)
            } else {
                Err(ConditionFailure::NoMatch)
            }
        }
        Some(SetOperator::ForAllValues) => {
            if values.iter().all(passes) {
                Ok(())
            } else {
                Err(ConditionFailure::NotAll)
            }
        }
    }
}

/// True when the request value `v` matches at least one listed value under the positive form
/// of `base` (`StringNotEquals` is tested as `StringEquals`, and so on).
fn positive(base: BaseOperator, compiled: &Compiled, v: &Value, ctx: &Context) -> bool {
    use BaseOperator::*;
    match compiled {
        Compiled::Strings(pats) => {
            let case = match base {
                StringEqualsIgnoreCase | StringNotEqualsIgnoreCase => Case::Unicode,
                _ => Case::Sensitive,
            };
            pats.iter().any(|p| p.matches(v.as_str(), case, ctx))
        }
        Compiled::Numbers(nums) => {
            let Some(r) = v.as_decimal() else {
                return false;
            };
            nums.iter()
                .filter_map(|n| Decimal::parse(n))
                .any(|p| compare(base, r.cmp(&p)))
        }
        Compiled::Dates(dates) => {
            let Some(r) = v.as_date() else {
                return false;
            };
            dates.iter().any(|p| compare(base, r.cmp(p)))
        }
        Compiled::Bools(bools) => {
            let Some(r) = v.as_bool() else {
                return false;
            };
            bools.iter().any(|b| match b {
                BoolValue::Lit(p) => *p == r,
                BoolValue::Var(p) => resolved_bool(p, ctx) == Some(r),
            })
        }
        Compiled::Binary(blobs) => {
            v.with_bytes(|bytes| bytes.is_some_and(|b| blobs.iter().any(|p| **p == *b)))
        }
        Compiled::Ips(nets) => v
            .as_ip()
            .is_some_and(|ip| nets.iter().any(|n| n.contains(ip))),
        Compiled::Arns(arns) => arns.iter().any(|a| match a {
            ArnValue::Arn(p) => p.matches(v.as_str(), ctx),
            ArnValue::Glob(p) => p.matches(v.as_str(), Case::Sensitive, ctx),
        }),
        Compiled::Null(_) => false,
    }
}

/// The boolean a `Bool` value with a variable stands for, if the variable resolves.
fn resolved_bool<V: Vars>(p: &Pattern, ctx: &V) -> Option<bool> {
    [true, false]
        .into_iter()
        .find(|b| p.matches(if *b { "true" } else { "false" }, Case::Ascii, ctx))
}

/// Whether `ord` (request compared with policy value) satisfies a comparison operator.
fn compare(base: BaseOperator, ord: std::cmp::Ordering) -> bool {
    use BaseOperator::*;
    use std::cmp::Ordering::*;
    match base {
        NumericEquals | NumericNotEquals | DateEquals | DateNotEquals => ord == Equal,
        NumericLessThan | DateLessThan => ord == Less,
        NumericLessThanEquals | DateLessThanEquals => ord != Greater,
        NumericGreaterThan | DateGreaterThan => ord == Greater,
        NumericGreaterThanEquals | DateGreaterThanEquals => ord != Less,
        _ => false,
    }
}
