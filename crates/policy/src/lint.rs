//! Warnings about policies that parse but are probably not what the author meant.
//!
//! Each finding has a stable [`LintCode`] (its `as_str` form is what the CLI prints and
//! what scripts may match on), a message and a location. Lints never change a decision.

use std::fmt;

use sealtrail_model::{AccountId, Arn};

use crate::ast::{
    Effect, Policy, PolicyKind, PrincipalMatcher, PrincipalSpec, ResourceKind, ResourceMatcher,
    Span, Statement,
};
use crate::catalog;
use crate::condition::{ArnValue, BaseOperator, Compiled, SetOperator};
use crate::error::Location;
use crate::eval::{Decision, PolicySet, decide};
use crate::request::{AwsPrincipal, Caller, Context, Request};

/// What a finding is about. The names returned by [`LintCode::as_str`] are stable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LintCode {
    /// `unknown-action`: an action of `kms`, `s3`, `cloudtrail`, `iam` or `sts` that does not
    /// exist, or a wildcard that matches none.
    UnknownAction,
    /// `not-principal-with-allow`: `NotPrincipal` with `Allow` grants almost everyone.
    NotPrincipalWithAllow,
    /// `public-key-policy`: a key policy `Allow` for `*` without any condition.
    PublicKeyPolicy,
    /// `invalid-arn`: a resource, or an ARN condition value, that is not a well-formed ARN.
    InvalidArn,
    /// `condition-key-not-applicable`: a service condition key that none of the statement's
    /// actions supports, so the condition is never satisfied (or, negated, always).
    ConditionKeyNotApplicable,
    /// `set-operator-on-single-valued-key`: `ForAllValues:`/`ForAnyValue:` with a single-valued
    /// key; `ForAllValues` then also matches requests without the key.
    SetOperatorOnSingleValuedKey,
    /// `multi-valued-key-without-set-operator`: a multi-valued key under a plain operator.
    MultiValuedKeyWithoutSetOperator,
    /// `statement-never-matches`: a statement that cannot apply to any request.
    StatementNeverMatches,
    /// `key-policy-lockout`: the key policy does not let its account's root call
    /// `kms:PutKeyPolicy`, so nobody could ever change it.
    KeyPolicyLockout,
    /// `missing-version`: no `Version`, so `${...}` is literal text and newer features are off.
    MissingVersion,
    /// `literal-policy-variable`: `${...}` where it is not expanded: in a policy whose version
    /// is not 2012-10-17, or in a resource ARN before the resource part.
    LiteralPolicyVariable,
}

impl LintCode {
    /// The stable kebab-case name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UnknownAction => "unknown-action",
            Self::NotPrincipalWithAllow => "not-principal-with-allow",
            Self::PublicKeyPolicy => "public-key-policy",
            Self::InvalidArn => "invalid-arn",
            Self::ConditionKeyNotApplicable => "condition-key-not-applicable",
            Self::SetOperatorOnSingleValuedKey => "set-operator-on-single-valued-key",
            Self::MultiValuedKeyWithoutSetOperator => "multi-valued-key-without-set-operator",
            Self::StatementNeverMatches => "statement-never-matches",
            Self::KeyPolicyLockout => "key-policy-lockout",
            Self::MissingVersion => "missing-version",
            Self::LiteralPolicyVariable => "literal-policy-variable",
        }
    }
}

impl fmt::Display for LintCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One warning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// What kind.
    pub code: LintCode,
    /// What is wrong, in words (lower case, user text in backticks).
    pub message: String,
    /// Where.
    pub location: Location,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} [{}] at {}", self.message, self.code, self.location)
    }
}

/// What the linter should assume.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LintOptions {
    /// The account that owns the key, for `key-policy-lockout`. Without it, every account
    /// that the key policy names is checked.
    pub account: Option<AccountId>,
}

/// Lints a parsed policy. The findings are in document order.
#[must_use]
pub fn lint(policy: &Policy, options: &LintOptions) -> Vec<Finding> {
    let mut out = Vec::new();
    let key_policy = policy.kind() == PolicyKind::Resource(ResourceKind::KmsKey);
    let root = Span::default();
    if policy.version().is_none() {
        push(
            &mut out,
            LintCode::MissingVersion,
            &root,
            "policy has no `Version`; use `2012-10-17`".to_owned(),
        );
    }
    for st in policy.statements() {
        statement(&mut out, policy, st, key_policy);
    }
    if key_policy {
        lockout(&mut out, policy, options);
    }
    out
}

fn push(out: &mut Vec<Finding>, code: LintCode, span: &Span, message: String) {
    out.push(Finding {
        code,
        message,
        location: span.location(),
    });
}

fn statement(out: &mut Vec<Finding>, policy: &Policy, st: &Statement, key_policy: bool) {
    let label = st.label();
    // Principals.
    if let Some(p) = st.principal() {
        if p.is_negated() && st.effect() == Effect::Allow {
            push(
                out,
                LintCode::NotPrincipalWithAllow,
                &p.span,
                format!(
                    "statement `{label}` allows every principal except those in `NotPrincipal`"
                ),
            );
        }
        if p.is_negated() && matches!(p.spec, PrincipalSpec::Everyone) {
            push(
                out,
                LintCode::StatementNeverMatches,
                &p.span,
                format!("statement `{label}` has `NotPrincipal: \"*\"`, which excludes everyone"),
            );
        }
        if key_policy
            && !p.is_negated()
            && p.is_everyone()
            && st.effect() == Effect::Allow
            && st.condition().is_none()
        {
            push(
                out,
                LintCode::PublicKeyPolicy,
                &p.span,
                format!(
                    "statement `{label}` allows any principal of any account, without a condition"
                ),
            );
        }
    }
    // Actions.
    let mut services: Vec<String> = Vec::new();
    let mut all_services = false;
    match st.action() {
        None => push(
            out,
            LintCode::StatementNeverMatches,
            &st.span,
            format!("statement `{label}` has no `Action`, so it has no effect"),
        ),
        Some(a) => {
            for pat in a.values().items() {
                let text = pat.as_str();
                if text == "*" {
                    if a.is_negated() {
                        push(
                            out,
                            LintCode::StatementNeverMatches,
                            &pat.span,
                            format!(
                                "statement `{label}` has `NotAction: \"*\"`, which excludes every action"
                            ),
                        );
                    }
                    all_services = true;
                    continue;
                }
                let Some((svc, name)) = text.split_once(':') else {
                    continue;
                };
                let svc_lower = svc.to_ascii_lowercase();
                if let Some(known) = catalog::actions(&svc_lower) {
                    let hits = known
                        .iter()
                        .filter(|k| pat.matches(&format!("{svc_lower}:{k}")))
                        .count();
                    if hits == 0 {
                        let what = if name.contains(['*', '?']) {
                            "matches no known action"
                        } else {
                            "is not a known action"
                        };
                        push(
                            out,
                            LintCode::UnknownAction,
                            &pat.span,
                            format!("`{text}` {what} of `{svc_lower}`"),
                        );
                    }
                }
                if a.is_negated() {
                    all_services = true;
                } else if !services.contains(&svc_lower) {
                    services.push(svc_lower);
                }
            }
        }
    }
    // Resources.
    match st.resource() {
        None => {
            if st.action().is_some() {
                push(
                    out,
                    LintCode::StatementNeverMatches,
                    &st.span,
                    format!("statement `{label}` has no `Resource`, so it has no effect"),
                );
            }
        }
        Some(r) => {
            let mut some_service_fits = false;
            let mut reported = false;
            for pat in r.values().items() {
                match &pat.matcher {
                    ResourceMatcher::Any => {
                        some_service_fits = true;
                        if r.is_negated() {
                            push(
                                out,
                                LintCode::StatementNeverMatches,
                                &pat.span,
                                format!(
                                    "statement `{label}` has `NotResource: \"*\"`, which excludes every resource"
                                ),
                            );
                        }
                    }
                    ResourceMatcher::Arn(arn) => {
                        if let Some(why) = arn_problem(pat.as_str()) {
                            push(
                                out,
                                LintCode::InvalidArn,
                                &pat.span,
                                format!("resource `{}` {why}", pat.as_str()),
                            );
                        }
                        let svc = &arn.segments()[2];
                        if all_services
                            || r.is_negated()
                            || services.iter().any(|s| {
                                svc.matches(s, crate::pattern::Case::Ascii, &crate::pattern::NoVars)
                            })
                        {
                            some_service_fits = true;
                        }
                        if key_policy
                            && !r.is_negated()
                            && !svc.matches(
                                "kms",
                                crate::pattern::Case::Sensitive,
                                &crate::pattern::NoVars,
                            )
                        {
                            push(
                                out,
                                LintCode::StatementNeverMatches,
                                &pat.span,
                                format!(
                                    "resource `{}` of a key policy is not a KMS key; use `*`, which means this key",
                                    pat.as_str()
                                ),
                            );
                            reported = true;
                        }
                    }
                }
            }
            if !some_service_fits && !services.is_empty() && !reported {
                push(
                    out,
                    LintCode::StatementNeverMatches,
                    &r.span,
                    format!(
                        "statement `{label}` lists actions of `{}` but resources of other services",
                        services.join("`, `")
                    ),
                );
            }
        }
    }
    // Conditions.
    if let Some(block) = st.condition() {
        conditions(out, policy, st, &label, block, &services, all_services);
    }
    // Variables before the resource part of a resource ARN are not expanded.
    if policy.expands_variables()
        && let Some(r) = st.resource()
    {
        for pat in r.values().items() {
            let head = crate::pattern::split_arn(pat.as_str(), true)
                .is_some_and(|f| f.iter().take(5).any(|x| x.contains("${")));
            if head {
                push(
                    out,
                    LintCode::LiteralPolicyVariable,
                    &pat.span,
                    format!(
                        "resource `{}` has a policy variable before the resource part, where it is literal text; variables work only after the fifth `:`",
                        pat.as_str()
                    ),
                );
            }
        }
    }
    // Literal variables.
    if !policy.expands_variables() {
        let has_var = st
            .resource()
            .is_some_and(|r| r.values().items().iter().any(|p| p.as_str().contains("${")))
            || st.condition().is_some_and(|b| {
                b.conditions()
                    .any(|(_, c)| c.values().items().iter().any(|v| v.as_str().contains("${")))
            });
        if has_var {
            push(
                out,
                LintCode::LiteralPolicyVariable,
                &st.span,
                format!(
                    "statement `{label}` contains `${{`, which is literal text unless the policy `Version` is `2012-10-17`"
                ),
            );
        }
    }
}

fn conditions(
    out: &mut Vec<Finding>,
    _policy: &Policy,
    st: &Statement,
    label: &str,
    block: &crate::ast::ConditionBlock,
    services: &[String],
    all_services: bool,
) {
    let action_names: Vec<&str> = st
        .action()
        .map(|a| a.values().items().iter().map(|p| p.as_str()).collect())
        .unwrap_or_default();
    for (entry, c) in block.conditions() {
        let op = entry.operator();
        let key = c.key_lower();
        // Service keys that none of the actions support.
        if let Some((prefix, _)) = key.split_once(':')
            && prefix != "aws"
            && !all_services
            && !services.is_empty()
        {
            if !services.iter().any(|s| s == prefix) {
                push(
                    out,
                    LintCode::ConditionKeyNotApplicable,
                    &c.span,
                    format!(
                        "condition key `{}` in statement `{label}` applies to `{prefix}` actions, but the statement has none",
                        c.key()
                    ),
                );
            } else if let Some(supported) = catalog::key_actions(key)
                && st.action().is_some_and(|a| !a.is_negated())
            {
                let fits = action_names.iter().any(|a| {
                    let pat = st
                        .action()
                        .and_then(|cl| cl.values().items().iter().find(|p| p.as_str() == *a));
                    supported
                        .iter()
                        .any(|s| pat.is_some_and(|p| p.matches(&format!("{prefix}:{s}"))))
                });
                if !fits {
                    push(
                        out,
                        LintCode::ConditionKeyNotApplicable,
                        &c.span,
                        format!(
                            "condition key `{}` in statement `{label}` does not apply to any of its actions",
                            c.key()
                        ),
                    );
                }
            }
        }
        // Set operators and key cardinality.
        match op.set {
            Some(set) if catalog::is_single_valued(key) => {
                let extra = if set == SetOperator::ForAllValues {
                    "; `ForAllValues` also matches requests without the key"
                } else {
                    ""
                };
                push(
                    out,
                    LintCode::SetOperatorOnSingleValuedKey,
                    &c.span,
                    format!(
                        "`{}` is used with the single-valued key `{}`{extra}",
                        entry.as_str(),
                        c.key()
                    ),
                );
            }
            None if catalog::is_multi_valued(key) && op.base != BaseOperator::Null => {
                push(
                    out,
                    LintCode::MultiValuedKeyWithoutSetOperator,
                    &c.span,
                    format!(
                        "multi-valued key `{}` needs `ForAnyValue:` or `ForAllValues:` with `{}`",
                        c.key(),
                        entry.as_str()
                    ),
                );
            }
            _ => {}
        }
        // ARN values that are not ARNs.
        if let Compiled::Arns(values) = &c.compiled {
            for (v, text) in values.iter().zip(c.values().items()) {
                if matches!(v, ArnValue::Glob(_)) {
                    push(
                        out,
                        LintCode::InvalidArn,
                        &c.span,
                        format!(
                            "`{}` under `{}` is not an ARN, so it is compared as plain text",
                            text.as_str(),
                            entry.as_str()
                        ),
                    );
                }
            }
        }
        // Null:true together with an operator that needs the key.
        if let Compiled::Null(wanted) = &c.compiled
            && wanted.iter().all(|w| *w)
        {
            let needs_key = block.conditions().any(|(e2, c2)| {
                let o = e2.operator();
                c2.key_lower() == key
                    && o.base != BaseOperator::Null
                    && !o.if_exists
                    && !o.base.is_negated()
                    && o.set != Some(SetOperator::ForAllValues)
            });
            if needs_key {
                push(
                    out,
                    LintCode::StatementNeverMatches,
                    &c.span,
                    format!(
                        "statement `{label}` requires `{}` to be absent and also to match a value",
                        c.key()
                    ),
                );
            }
        }
    }
    // Date and numeric ranges that are empty.
    for (e1, c1) in block.conditions() {
        for (e2, c2) in block.conditions() {
            if c1.key_lower() != c2.key_lower()
                || e1.operator().set.is_some()
                || e2.operator().set.is_some()
            {
                continue;
            }
            use BaseOperator::*;
            let (lo_op, hi_op) = (e1.operator().base, e2.operator().base);
            let lower = matches!(
                lo_op,
                DateGreaterThan
                    | DateGreaterThanEquals
                    | NumericGreaterThan
                    | NumericGreaterThanEquals
            );
            let upper = matches!(
                hi_op,
                DateLessThan | DateLessThanEquals | NumericLessThan | NumericLessThanEquals
            );
            if !(lower && upper) {
                continue;
            }
            let strict = matches!(lo_op, DateGreaterThan | NumericGreaterThan)
                || matches!(hi_op, DateLessThan | NumericLessThan);
            let empty = match (&c1.compiled, &c2.compiled) {
                (Compiled::Dates(a), Compiled::Dates(b)) => {
                    let lo = a.iter().min();
                    let hi = b.iter().max();
                    matches!((lo, hi), (Some(l), Some(h)) if if strict { l >= h } else { l > h })
                }
                (Compiled::Numbers(a), Compiled::Numbers(b)) => {
                    let lo = a
                        .iter()
                        .filter_map(|x| crate::scalar::Decimal::parse(x))
                        .min();
                    let hi = b
                        .iter()
                        .filter_map(|x| crate::scalar::Decimal::parse(x))
                        .max();
                    matches!((lo, hi), (Some(l), Some(h)) if if strict { l >= h } else { l > h })
                }
                _ => false,
            };
            if empty {
                push(
                    out,
                    LintCode::StatementNeverMatches,
                    &c2.span,
                    format!(
                        "statement `{label}` requires `{}` to be above one bound and below a smaller one",
                        c2.key()
                    ),
                );
            }
        }
    }
}

/// Why a resource ARN is malformed, if it is.
fn arn_problem(text: &str) -> Option<&'static str> {
    let f = crate::pattern::split_arn(text, true)?;
    let [_, partition, service, region, account, resource] = f;
    let wild = |s: &str| s.contains(['*', '?']) || s.contains("${");
    if !wild(partition)
        && !matches!(
            partition,
            "aws"
                | "aws-cn"
                | "aws-us-gov"
                | "aws-iso"
                | "aws-iso-b"
                | "aws-iso-e"
                | "aws-iso-f"
                | "aws-eusc"
        )
    {
        return Some("has an unknown partition");
    }
    if service.is_empty() || service.contains(['*', '?']) {
        return Some("needs a service name without wildcards");
    }
    if !service
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Some("has an invalid service name");
    }
    if !wild(region)
        && !region.is_empty()
        && !region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Some("has an invalid region");
    }
    let account_ok = wild(account)
        || account.is_empty()
        || account == "aws"
        || (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()));
    if !account_ok {
        return Some("has an account that is not 12 digits");
    }
    if service == "s3"
        && (!region.is_empty() || !account.is_empty())
        && !resource.starts_with("accesspoint/")
        && !resource.starts_with("job/")
        && !resource.starts_with("storage-lens/")
    {
        return Some(
            "names a bucket or object, whose ARNs have no region or account (`arn:aws:s3:::bucket/key`)",
        );
    }
    if resource.is_empty() {
        return Some("has an empty resource part");
    }
    None
}

/// `key-policy-lockout`: can the account root still call `kms:PutKeyPolicy`?
fn lockout(out: &mut Vec<Finding>, policy: &Policy, options: &LintOptions) {
    let mut accounts: Vec<AccountId> = Vec::new();
    if let Some(a) = &options.account {
        accounts.push(a.clone());
    } else {
        for st in policy.statements() {
            if let Some(PrincipalSpec::Map(entries)) = st.principal().map(|p| &p.spec) {
                for id in entries.iter().flat_map(|e| e.values().items()) {
                    if let PrincipalMatcher::Account(a) = &id.matcher
                        && let Ok(a) = AccountId::parse(&format!("{a:012}"))
                        && !accounts.contains(&a)
                    {
                        accounts.push(a);
                    }
                }
            }
        }
    }
    let root = Span::default();
    if accounts.is_empty() {
        push(out, LintCode::KeyPolicyLockout, &root, "key policy names no account principal, so no identity policy can ever manage the key and `kms:PutKeyPolicy` may be impossible".to_owned());
        return;
    }
    let set = PolicySet::<&Policy> {
        identity: Vec::new(),
        resource: Some((policy, ResourceKind::KmsKey)),
    };
    for a in accounts {
        let Ok(resource) = Arn::parse(&format!("arn:aws:kms:us-east-1:{a}:key/lint")) else {
            continue;
        };
        let Ok(req) = Request::new(
            Caller::Aws(AwsPrincipal::root(&a)),
            "kms:PutKeyPolicy",
            resource,
            Context::new(),
        ) else {
            continue;
        };
        if decide(&req, &set) != Decision::Allow {
            push(
                out,
                LintCode::KeyPolicyLockout,
                &root,
                format!(
                    "key policy does not let account `{a}` call `kms:PutKeyPolicy` unconditionally, so the key could become unmanageable"
                ),
            );
        }
    }
}
