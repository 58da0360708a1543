//! Authorization: a [`Request`] against a [`PolicySet`], with the reasons.
//!
//! The decision follows the IAM policy evaluation logic, reduced to identity policies and one
//! resource-based policy (no SCPs, permission boundaries or session policies):
//! 1. an explicit `Deny` in any policy that matches the request wins;
//! 2. otherwise, for an IAM caller:
//!    - **same account**, bucket and other resources: an `Allow` in an identity policy or a
//!      resource-policy `Allow` that names the caller (or `*`) is enough;
//!    - **cross account**: the caller's identity policies must allow, *and* the resource
//!      policy must allow the caller or its account;
//!    - **KMS keys** (the key policy is the root of trust): the key policy must allow the
//!      caller directly, or allow the caller's *account* (`arn:aws:iam::<account>:root` or the
//!      bare account id), which delegates to the account's identity policies, which must then
//!      allow too; identity policies alone never allow access to a key;
//! 3. service, federated, canonical-user and anonymous callers have no identity policies:
//!    only a resource-policy `Allow` that names them (or `*`) allows them.
//!
//! A resource-policy statement that names an account allows only the account root directly;
//! for the account's users and roles it is a delegation (rule 2), while a `Deny` that names an
//! account applies to every principal in it. `NotPrincipal` leaves out an IAM user or role
//! session only when its own ARN (for a session, the session ARN) and its account are both
//! listed, as the IAM documentation describes.
//! The root user's identity-side permission is implicit.

use std::borrow::Borrow;
use std::fmt;

use crate::ast::{
    ActionClause, Effect, Policy, PrincipalClause, PrincipalMatcher, PrincipalSpec, ResourceClause,
    ResourceKind, ResourceMatcher, Statement,
};
use crate::condition::{self, ConditionFailure};
use crate::pattern::Case;
use crate::request::{Caller, PrincipalType, Request};

/// The answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Decision {
    /// Allowed.
    Allow,
    /// A matching `Deny` statement refuses the request.
    ExplicitDeny,
    /// Nothing allows the request (the default).
    ImplicitDeny,
}

impl Decision {
    /// `Allow`, `ExplicitDeny` or `ImplicitDeny`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allow => "Allow",
            Self::ExplicitDeny => "ExplicitDeny",
            Self::ImplicitDeny => "ImplicitDeny",
        }
    }

    /// True for [`Decision::Allow`].
    #[must_use]
    pub fn is_allow(self) -> bool {
        self == Self::Allow
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The policies that apply to one request: the caller's identity policies and, optionally,
/// the resource's policy and what kind of resource it is.
///
/// `P` is how the policies are held: owned ([`Policy`]), borrowed (`&Policy`) or shared
/// (`Arc<Policy>`), so a service can keep parsed policies in a cache and assemble a set per
/// request cheaply.
#[derive(Debug, Clone)]
pub struct PolicySet<P: Borrow<Policy> = Policy> {
    /// Policies attached to the caller (user, group and role policies).
    pub identity: Vec<P>,
    /// The resource-based policy (key policy, bucket policy) and the kind of resource.
    pub resource: Option<(P, ResourceKind)>,
}

impl<P: Borrow<Policy>> Default for PolicySet<P> {
    fn default() -> Self {
        Self {
            identity: Vec::new(),
            resource: None,
        }
    }
}

impl<P: Borrow<Policy>> PolicySet<P> {
    /// The policy a reference points at.
    #[must_use]
    pub fn policy(&self, r: PolicyRef) -> Option<&Policy> {
        match r {
            PolicyRef::Identity(i) => self.identity.get(i).map(Borrow::borrow),
            PolicyRef::Resource => self.resource.as_ref().map(|(p, _)| p.borrow()),
        }
    }

    /// The statement a reference points at.
    #[must_use]
    pub fn statement(&self, r: StatementRef) -> Option<&Statement> {
        self.policy(r.policy)?.statements().get(r.index)
    }

    /// `<policy name>:<Sid or #index>`, where the policy name is [`Policy::name`], else
    /// `identity[<i>]` or `resource`.
    #[must_use]
    pub fn label(&self, r: StatementRef) -> String {
        let policy = self
            .policy(r.policy)
            .and_then(Policy::name)
            .map_or_else(|| r.policy.to_string(), str::to_owned);
        let stmt = self
            .statement(r)
            .map_or_else(|| format!("#{}", r.index), Statement::label);
        format!("{policy}:{stmt}")
    }
}

/// Which policy of a [`PolicySet`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyRef {
    /// `identity[i]`.
    Identity(usize),
    /// The resource policy.
    Resource,
}

impl fmt::Display for PolicyRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Identity(i) => write!(f, "identity[{i}]"),
            Self::Resource => f.write_str("resource"),
        }
    }
}

/// One statement of one policy of a [`PolicySet`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StatementRef {
    /// The policy.
    pub policy: PolicyRef,
    /// The statement's index in it.
    pub index: usize,
}

/// The element that kept a statement from applying to the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mismatch {
    /// A resource-policy statement without `Principal`.
    NoPrincipal,
    /// A key-policy statement without `Action` (it has no effect).
    NoAction,
    /// A key-policy statement without `Resource` (it has no effect).
    NoResource,
    /// The caller is not listed in `Principal`.
    Principal,
    /// The caller is listed in `NotPrincipal`.
    NotPrincipal,
    /// The action is not listed in `Action`.
    Action,
    /// The action is listed in `NotAction`.
    NotAction,
    /// The resource is not listed in `Resource`.
    Resource,
    /// The resource is listed in `NotResource`.
    NotResource,
    /// A condition is false.
    Condition {
        /// Index of the operator in the condition block.
        operator: usize,
        /// Index of the key under that operator.
        key: usize,
        /// Why.
        failure: ConditionFailure,
    },
}

impl Mismatch {
    /// A sentence fragment saying why, e.g. ``condition `StringEquals` on `aws:SourceArn`:
    /// no request value matches a listed value``.
    #[must_use]
    pub fn describe(&self, statement: &Statement) -> String {
        match self {
            Self::NoPrincipal => "the statement has no `Principal`".to_owned(),
            Self::NoAction => "the statement has no `Action` and so no effect".to_owned(),
            Self::NoResource => "the statement has no `Resource` and so no effect".to_owned(),
            Self::Principal => "the caller is not in `Principal`".to_owned(),
            Self::NotPrincipal => "the caller is in `NotPrincipal`".to_owned(),
            Self::Action => "the action is not in `Action`".to_owned(),
            Self::NotAction => "the action is in `NotAction`".to_owned(),
            Self::Resource => "the resource is not in `Resource`".to_owned(),
            Self::NotResource => "the resource is in `NotResource`".to_owned(),
            Self::Condition {
                operator,
                key,
                failure,
            } => {
                let entry = statement
                    .condition()
                    .and_then(|b| b.operators().get(*operator));
                let op = entry.map_or("?", |e| e.as_str());
                let k = entry
                    .and_then(|e| e.conditions().get(*key))
                    .map_or("?", |c| c.key());
                format!("condition `{op}` on `{k}`: {failure}")
            }
        }
    }
}

/// How one statement related to the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// Every element matched.
    Matched,
    /// Every element matched, but the principal matched only as the caller's account: an
    /// `Allow` of this kind delegates to the account's identity policies.
    MatchedAccount,
    /// It did not apply.
    Skipped(Mismatch),
}

/// One statement's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StatementTrace {
    /// Which statement.
    pub statement: StatementRef,
    /// Its effect.
    pub effect: Effect,
    /// What happened.
    pub outcome: Outcome,
}

/// Why the decision is what it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Basis {
    /// Allowed by the deciding statements.
    Allowed,
    /// Refused by the deciding `Deny` statements.
    ExplicitDeny,
    /// No identity-based policy allows (same account, or the key policy delegates).
    NoIdentityAllow,
    /// No resource-based policy allows (cross account, KMS keys, callers without identity
    /// policies).
    NoResourceAllow,
}

/// A decision with its explanation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explained<T> {
    value: T,
    basis: Basis,
    deciding: Vec<StatementRef>,
    trace: Vec<StatementTrace>,
}

impl<T: Copy> Explained<T> {
    /// The decision.
    #[must_use]
    pub fn value(&self) -> T {
        self.value
    }
}

impl<T> Explained<T> {
    /// Why.
    #[must_use]
    pub fn basis(&self) -> Basis {
        self.basis
    }
    /// The statements that decided: for `ExplicitDeny` every matching `Deny`; for `Allow`
    /// every matching `Allow` in the policies that counted; empty for `ImplicitDeny`.
    #[must_use]
    pub fn deciding(&self) -> &[StatementRef] {
        &self.deciding
    }
    /// Every statement of every policy, in order, with what happened.
    #[must_use]
    pub fn trace(&self) -> &[StatementTrace] {
        &self.trace
    }
}

impl Explained<Decision> {
    /// The `AccessDenied` message AWS gives for this decision, or `None` for `Allow`:
    /// `User: <caller> is not authorized to perform: <action> on resource: <arn> because no
    /// resource-based policy allows the <action> action`, `... with an explicit deny in an
    /// identity-based policy`, and so on.
    #[must_use]
    pub fn access_denied_message(&self, req: &Request) -> Option<String> {
        let head = format!(
            "User: {} is not authorized to perform: {} on resource: {}",
            req.caller(),
            req.action(),
            req.resource()
        );
        match self.basis {
            Basis::Allowed => None,
            Basis::ExplicitDeny => {
                let kind = match self.deciding.first().map(|r| r.policy) {
                    Some(PolicyRef::Resource) => "a resource-based",
                    _ => "an identity-based",
                };
                Some(format!("{head} with an explicit deny in {kind} policy"))
            }
            Basis::NoIdentityAllow => Some(format!(
                "{head} because no identity-based policy allows the {} action",
                req.action()
            )),
            Basis::NoResourceAllow => Some(format!(
                "{head} because no resource-based policy allows the {} action",
                req.action()
            )),
        }
    }
}

/// Authorizes `req` against `set` and explains the result: the deciding statements, and for
/// every statement whether it matched and if not, which element or condition did not.
///
/// It allocates two small vectors for the explanation and nothing else; [`decide`] gives the
/// same decision without them.
#[must_use]
pub fn authorize<P: Borrow<Policy>>(req: &Request, set: &PolicySet<P>) -> Explained<Decision> {
    let total: usize = set
        .identity
        .iter()
        .map(|p| p.borrow().statements().len())
        .sum::<usize>()
        + set
            .resource
            .as_ref()
            .map_or(0, |(p, _)| p.borrow().statements().len());
    let mut trace = Vec::with_capacity(total);
    let verdict = run(req, set, |t| trace.push(t));
    let deciding = trace
        .iter()
        .filter(|t| match verdict.decision {
            Decision::ExplicitDeny => t.effect == Effect::Deny,
            Decision::Allow => {
                t.effect == Effect::Allow
                    && match (t.statement.policy, t.outcome) {
                        (PolicyRef::Identity(_), Outcome::Matched | Outcome::MatchedAccount) => {
                            verdict.identity_counts
                        }
                        (PolicyRef::Resource, Outcome::Matched) => true,
                        (PolicyRef::Resource, Outcome::MatchedAccount) => verdict.delegation_counts,
                        (_, Outcome::Skipped(_)) => false,
                    }
            }
            Decision::ImplicitDeny => false,
        })
        .filter(|t| !matches!(t.outcome, Outcome::Skipped(_)))
        .map(|t| t.statement)
        .collect();
    Explained {
        value: verdict.decision,
        basis: verdict.basis,
        deciding,
        trace,
    }
}

/// The decision alone, without allocating (the one exception: `BinaryEquals` against a
/// context value built as text rather than with [`crate::Value::binary`] decodes it).
#[must_use]
pub fn decide<P: Borrow<Policy>>(req: &Request, set: &PolicySet<P>) -> Decision {
    run(req, set, |_| {}).decision
}

struct Verdict {
    decision: Decision,
    basis: Basis,
    identity_counts: bool,
    delegation_counts: bool,
}

fn run<P: Borrow<Policy>>(
    req: &Request,
    set: &PolicySet<P>,
    mut sink: impl FnMut(StatementTrace),
) -> Verdict {
    let mut deny = false;
    let mut identity_allow = false;
    let mut resource_direct = false;
    let mut resource_delegates = false;
    let f = fields(req);
    for (i, p) in set.identity.iter().enumerate() {
        for st in p.borrow().statements() {
            let outcome = statement_outcome(st, req, f, false);
            let matched = !matches!(outcome, Outcome::Skipped(_));
            match st.effect {
                Effect::Deny => deny |= matched,
                Effect::Allow => identity_allow |= matched,
            }
            sink(StatementTrace {
                statement: StatementRef {
                    policy: PolicyRef::Identity(i),
                    index: st.index,
                },
                effect: st.effect,
                outcome,
            });
        }
    }
    let kind = set.resource.as_ref().map(|(_, k)| *k);
    if let Some((p, _)) = &set.resource {
        for st in p.borrow().statements() {
            let outcome = statement_outcome(st, req, f, true);
            match (st.effect, outcome) {
                (_, Outcome::Skipped(_)) => {}
                (Effect::Deny, _) => deny = true,
                (Effect::Allow, Outcome::Matched) => resource_direct = true,
                (Effect::Allow, Outcome::MatchedAccount) => resource_delegates = true,
            }
            sink(StatementTrace {
                statement: StatementRef {
                    policy: PolicyRef::Resource,
                    index: st.index,
                },
                effect: st.effect,
                outcome,
            });
        }
    }
    if deny {
        return Verdict {
            decision: Decision::ExplicitDeny,
            basis: Basis::ExplicitDeny,
            identity_counts: false,
            delegation_counts: false,
        };
    }
    let verdict =
        |allow: bool, basis: Basis, identity_counts: bool, delegation_counts: bool| Verdict {
            decision: if allow {
                Decision::Allow
            } else {
                Decision::ImplicitDeny
            },
            basis: if allow { Basis::Allowed } else { basis },
            identity_counts,
            delegation_counts,
        };
    let Caller::Aws(p) = req.caller() else {
        return verdict(resource_direct, Basis::NoResourceAllow, false, false);
    };
    let identity_ok = identity_allow || p.kind() == PrincipalType::Account;
    let same_account = req
        .resource_account()
        .is_none_or(|a| a == p.account().as_str());
    match (kind, same_account) {
        (Some(ResourceKind::KmsKey), true) => {
            let via_iam = resource_delegates && identity_ok;
            let basis = if resource_direct || resource_delegates {
                Basis::NoIdentityAllow
            } else {
                Basis::NoResourceAllow
            };
            verdict(resource_direct || via_iam, basis, via_iam, via_iam)
        }
        (Some(_), false) => {
            let key_side = resource_direct || resource_delegates;
            let basis = if identity_ok {
                Basis::NoResourceAllow
            } else {
                Basis::NoIdentityAllow
            };
            verdict(key_side && identity_ok, basis, true, true)
        }
        (Some(_), true) => verdict(
            identity_ok || resource_direct,
            Basis::NoIdentityAllow,
            true,
            identity_ok,
        ),
        (None, true) => verdict(identity_ok, Basis::NoIdentityAllow, true, false),
        (None, false) => verdict(false, Basis::NoResourceAllow, true, false),
    }
}

/// How the caller matched a principal element.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum PrincipalMatch {
    No,
    /// The caller's account is listed (a delegation for an IAM user or role).
    Account,
    /// The caller itself (or everyone) is listed.
    Direct,
}

/// The request's resource ARN split into its six fields, computed once per request.
type Fields<'a> = [&'a str; 6];

fn fields(req: &Request) -> Fields<'_> {
    let r = req.resource();
    [
        "arn",
        r.partition(),
        r.service(),
        r.region(),
        r.account(),
        r.resource(),
    ]
}

fn statement_outcome(
    st: &Statement,
    req: &Request,
    fields: Fields<'_>,
    resource_policy: bool,
) -> Outcome {
    let mut via_account = false;
    match &st.principal {
        Some(clause) => match principal_outcome(clause, req.caller()) {
            Ok(m) => via_account = m == PrincipalMatch::Account,
            Err(e) => return Outcome::Skipped(e),
        },
        None if resource_policy => return Outcome::Skipped(Mismatch::NoPrincipal),
        None => {}
    }
    let Some(action) = &st.action else {
        return Outcome::Skipped(Mismatch::NoAction);
    };
    if let Err(e) = action_outcome(action, req.action()) {
        return Outcome::Skipped(e);
    }
    let Some(resource) = &st.resource else {
        return Outcome::Skipped(Mismatch::NoResource);
    };
    if let Err(e) = resource_outcome(resource, req, fields) {
        return Outcome::Skipped(e);
    }
    if let Some(block) = &st.condition {
        for (oi, entry) in block.operators.iter().enumerate() {
            for (ki, c) in entry.conditions.iter().enumerate() {
                if let Err(failure) = condition::evaluate(
                    entry.operator,
                    &c.key_lower,
                    c.key_hash,
                    &c.compiled,
                    req.context(),
                ) {
                    return Outcome::Skipped(Mismatch::Condition {
                        operator: oi,
                        key: ki,
                        failure,
                    });
                }
            }
        }
    }
    if via_account {
        Outcome::MatchedAccount
    } else {
        Outcome::Matched
    }
}

fn principal_outcome(
    clause: &PrincipalClause,
    caller: &Caller,
) -> Result<PrincipalMatch, Mismatch> {
    let listed = match &clause.spec {
        PrincipalSpec::Everyone => PrincipalMatch::Direct,
        PrincipalSpec::Map(entries) => {
            let mut best = PrincipalMatch::No;
            for id in entries.iter().flat_map(|e| e.values.items.iter()) {
                match principal_id_match(&id.matcher, caller) {
                    PrincipalMatch::Direct => {
                        best = PrincipalMatch::Direct;
                        break;
                    }
                    m => best = best.max(m),
                }
            }
            best
        }
    };
    if !clause.negated {
        return match listed {
            PrincipalMatch::No => Err(Mismatch::Principal),
            m => Ok(m),
        };
    }
    // NotPrincipal: an IAM user or role session is left out only when its own ARN (the
    // session ARN for a session) and its account are both listed; `*` leaves out everyone.
    let excluded = match (&clause.spec, caller) {
        (PrincipalSpec::Everyone, _) => true,
        (PrincipalSpec::Map(entries), _)
            if entries
                .iter()
                .flat_map(|e| e.values.items.iter())
                .any(|id| id.matcher == PrincipalMatcher::Any) =>
        {
            true
        }
        (PrincipalSpec::Map(entries), Caller::Aws(p)) if p.kind() != PrincipalType::Account => {
            let ids = || entries.iter().flat_map(|e| e.values.items.iter());
            let itself = ids().any(|id| id.text == p.arn().as_str());
            let account = ids().any(
                |id| matches!(&id.matcher, PrincipalMatcher::Account(a) if *a == p.account_number()),
            );
            itself && account
        }
        (PrincipalSpec::Map(_), _) => listed != PrincipalMatch::No,
    };
    if excluded {
        Err(Mismatch::NotPrincipal)
    } else {
        Ok(PrincipalMatch::Direct)
    }
}

fn principal_id_match(m: &PrincipalMatcher, caller: &Caller) -> PrincipalMatch {
    let yes = |b: bool| {
        if b {
            PrincipalMatch::Direct
        } else {
            PrincipalMatch::No
        }
    };
    match (m, caller) {
        (PrincipalMatcher::Any, _) => PrincipalMatch::Direct,
        (PrincipalMatcher::Account(a), Caller::Aws(p)) if *a == p.account_number() => {
            if p.kind() == PrincipalType::Account {
                PrincipalMatch::Direct
            } else {
                PrincipalMatch::Account
            }
        }
        (PrincipalMatcher::Role { account, name }, Caller::Aws(p)) => yes(p.kind()
            == PrincipalType::AssumedRole
            && *account == p.account_number()
            && **name == *p.name()),
        (PrincipalMatcher::Arn(a), Caller::Aws(p)) => yes(**a == *p.arn().as_str()),
        (PrincipalMatcher::Service(s), Caller::Service(c)) => yes(s.eq_ignore_ascii_case(c)),
        (PrincipalMatcher::Federated(f), Caller::Federated(c)) => yes(**f == **c),
        (PrincipalMatcher::CanonicalUser(u), Caller::CanonicalUser(c)) => yes(**u == **c),
        _ => PrincipalMatch::No,
    }
}

fn action_outcome(clause: &ActionClause, action: &str) -> Result<(), Mismatch> {
    let listed = clause.values.items.iter().any(|a| {
        a.pattern
            .matches(action, Case::Ascii, &crate::pattern::NoVars)
    });
    match (clause.negated, listed) {
        (false, true) | (true, false) => Ok(()),
        (false, false) => Err(Mismatch::Action),
        (true, true) => Err(Mismatch::NotAction),
    }
}

fn resource_outcome(
    clause: &ResourceClause,
    req: &Request,
    fields: Fields<'_>,
) -> Result<(), Mismatch> {
    let listed = clause.values.items.iter().any(|p| match &p.matcher {
        ResourceMatcher::Any => true,
        ResourceMatcher::Arn(a) => a.matches_fields(fields, req.context()),
    });
    match (clause.negated, listed) {
        (false, true) | (true, false) => Ok(()),
        (false, false) => Err(Mismatch::Resource),
        (true, true) => Err(Mismatch::NotResource),
    }
}
