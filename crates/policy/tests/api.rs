//! The public API as the KMS and S3 layers use it: parse once, build a request, authorize
//! against shared policies, map the answer to AWS's `AccessDenied` text, check a new key
//! policy for lockout.

#![cfg(test)]

use std::sync::Arc;

use sealtrail_model::{AccountId, Arn};
use sealtrail_policy::{
    AwsPrincipal, Basis, Caller, Context, ContextValue, Decision, LintCode, LintOptions, Mismatch,
    Outcome, ParseOptions, Policy, PolicyRef, PolicySet, Request, ResourceKind, StatementRef,
    Value, authorize, decide, lint,
};

const KEY: &str = "arn:aws:kms:us-east-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

fn key_policy(text: &str) -> Policy {
    Policy::parse(text, &ParseOptions::key_policy()).unwrap()
}

fn identity(text: &str) -> Policy {
    Policy::parse(text, &ParseOptions::identity()).unwrap()
}

fn req(principal: &str, action: &str) -> Request {
    Request::new(
        Caller::parse(principal).unwrap(),
        action,
        Arn::parse(KEY).unwrap(),
        Context::new(),
    )
    .unwrap()
}

const DEFAULT_KEY_POLICY: &str = "{\n  \"Version\" : \"2012-10-17\",\n  \"Id\" : \"key-default-1\",\n  \"Statement\" : [ {\n    \"Sid\" : \"Enable IAM User Permissions\",\n    \"Effect\" : \"Allow\",\n    \"Principal\" : {\n      \"AWS\" : \"arn:aws:iam::111122223333:root\"\n    },\n    \"Action\" : \"kms:*\",\n    \"Resource\" : \"*\"\n  } ]\n}";

#[test]
fn the_default_key_policy_text_of_getkeypolicy_parses() {
    let p = key_policy(DEFAULT_KEY_POLICY);
    assert_eq!(p.id(), Some("key-default-1"));
    assert_eq!(p.statements()[0].sid(), Some("Enable IAM User Permissions"));
    let principal = p.statements()[0].principal().unwrap();
    let sealtrail_policy::PrincipalSpec::Map(m) = principal.spec() else {
        panic!()
    };
    assert_eq!(m[0].values().items()[0].account(), Some("111122223333"));
}

#[test]
fn access_denied_messages_match_aws() {
    let user = "arn:aws:iam::111122223333:user/Bob";
    let head = format!("User: {user} is not authorized to perform: kms:Decrypt on resource: {KEY}");
    let default = key_policy(DEFAULT_KEY_POLICY);
    // Key policy delegates, IAM silent.
    let set = PolicySet {
        identity: vec![],
        resource: Some((default.clone(), ResourceKind::KmsKey)),
    };
    let r = req(user, "kms:Decrypt");
    let a = authorize(&r, &set);
    assert_eq!(a.basis(), Basis::NoIdentityAllow);
    assert_eq!(
        a.access_denied_message(&r).unwrap(),
        format!("{head} because no identity-based policy allows the kms:Decrypt action")
    );
    // Key policy silent.
    let silent = key_policy(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/Admin"},"Action":"kms:*","Resource":"*"}]}"#,
    );
    let set = PolicySet {
        identity: vec![identity(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}"#,
        )],
        resource: Some((silent, ResourceKind::KmsKey)),
    };
    let a = authorize(&r, &set);
    assert_eq!(
        a.access_denied_message(&r).unwrap(),
        format!("{head} because no resource-based policy allows the kms:Decrypt action")
    );
    // Explicit denies.
    let deny_key = key_policy(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"kms:*","Resource":"*"},{"Effect":"Deny","Principal":"*","Action":"kms:Decrypt","Resource":"*"}]}"#,
    );
    let set = PolicySet {
        identity: vec![],
        resource: Some((deny_key, ResourceKind::KmsKey)),
    };
    let a = authorize(&r, &set);
    assert_eq!(a.value(), Decision::ExplicitDeny);
    assert_eq!(
        a.deciding(),
        &[StatementRef {
            policy: PolicyRef::Resource,
            index: 1
        }]
    );
    assert_eq!(
        a.access_denied_message(&r).unwrap(),
        format!("{head} with an explicit deny in a resource-based policy")
    );
    let set = PolicySet {
        identity: vec![identity(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"kms:*","Resource":"*"}]}"#,
        )],
        resource: Some((default, ResourceKind::KmsKey)),
    };
    let a = authorize(&r, &set);
    assert_eq!(
        a.access_denied_message(&r).unwrap(),
        format!("{head} with an explicit deny in an identity-based policy")
    );
}

#[test]
fn shared_and_borrowed_policy_sets_decide_alike() {
    let key = Arc::new(key_policy(DEFAULT_KEY_POLICY));
    let iam = Arc::new(identity(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:Decrypt","Resource":"*"}]}"#,
    ));
    let shared: PolicySet<Arc<Policy>> = PolicySet {
        identity: vec![Arc::clone(&iam)],
        resource: Some((Arc::clone(&key), ResourceKind::KmsKey)),
    };
    let borrowed: PolicySet<&Policy> = PolicySet {
        identity: vec![&*iam],
        resource: Some((&*key, ResourceKind::KmsKey)),
    };
    let r = req("arn:aws:iam::111122223333:user/Bob", "kms:Decrypt");
    assert_eq!(decide(&r, &shared), Decision::Allow);
    assert_eq!(decide(&r, &borrowed), Decision::Allow);
    assert_eq!(
        authorize(&r, &shared).deciding(),
        authorize(&r, &borrowed).deciding()
    );
    assert_eq!(
        borrowed.label(authorize(&r, &borrowed).deciding()[1]),
        "key-default-1:Enable IAM User Permissions"
    );
}

#[test]
fn the_trace_says_why_each_statement_did_not_apply() {
    let p = key_policy(
        r#"{"Version":"2012-10-17","Statement":[
        {"Sid":"A","Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},"Action":"kms:Decrypt","Resource":"*"},
        {"Sid":"B","Effect":"Allow","Principal":"*","Action":"kms:Encrypt","Resource":"*"},
        {"Sid":"C","Effect":"Allow","Principal":"*","NotAction":"kms:Decrypt","Resource":"*"},
        {"Sid":"D","Effect":"Allow","Principal":"*","Action":"kms:Decrypt","NotResource":"*"},
        {"Sid":"E","Effect":"Allow","Principal":"*","Action":"kms:Decrypt","Resource":"*","Condition":{"StringEquals":{"aws:SourceAccount":"1"},"Bool":{"aws:SecureTransport":"true"}}},
        {"Sid":"F","Effect":"Deny","NotPrincipal":{"AWS":["arn:aws:iam::111122223333:user/Bob","111122223333"]},"Action":"kms:*","Resource":"*"},
        {"Sid":"G","Effect":"Allow","Principal":{"AWS":"111122223333"}}]}"#,
    );
    let set = PolicySet {
        identity: vec![],
        resource: Some((p, ResourceKind::KmsKey)),
    };
    let mut ctx = Context::new();
    ctx.insert("aws:SecureTransport", Value::bool(true));
    ctx.insert("aws:TagKeys", ContextValue::Multi(vec![]));
    let r = Request::new(
        Caller::parse("arn:aws:iam::111122223333:user/Bob").unwrap(),
        "kms:Decrypt",
        Arn::parse(KEY).unwrap(),
        ctx,
    )
    .unwrap();
    let a = authorize(&r, &set);
    let outcomes: Vec<Outcome> = a.trace().iter().map(|t| t.outcome).collect();
    assert_eq!(outcomes[0], Outcome::Skipped(Mismatch::Principal));
    assert_eq!(outcomes[1], Outcome::Skipped(Mismatch::Action));
    assert_eq!(outcomes[2], Outcome::Skipped(Mismatch::NotAction));
    assert_eq!(outcomes[3], Outcome::Skipped(Mismatch::NotResource));
    let Outcome::Skipped(
        m @ Mismatch::Condition {
            operator: 0,
            key: 0,
            ..
        },
    ) = outcomes[4]
    else {
        panic!("{:?}", outcomes[4])
    };
    assert_eq!(
        m.describe(set.statement(a.trace()[4].statement).unwrap()),
        "condition `StringEquals` on `aws:SourceAccount`: the key is not in the request"
    );
    assert_eq!(outcomes[5], Outcome::Skipped(Mismatch::NotPrincipal));
    assert_eq!(outcomes[6], Outcome::Skipped(Mismatch::NoAction));
    assert_eq!(a.value(), Decision::ImplicitDeny);
}

#[test]
fn lockout_safety_check_for_the_calling_principal() {
    // What KMS PutKeyPolicy does before accepting a policy: can the caller still call
    // PutKeyPolicy under the new policy (with its identity policies)?
    let new_policy = key_policy(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/Admin"},"Action":"kms:*","Resource":"*"}]}"#,
    );
    let caller_iam = identity(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}"#,
    );
    let set = PolicySet {
        identity: vec![&caller_iam],
        resource: Some((&new_policy, ResourceKind::KmsKey)),
    };
    assert_eq!(
        decide(
            &req("arn:aws:iam::111122223333:user/Bob", "kms:PutKeyPolicy"),
            &set
        ),
        Decision::ImplicitDeny
    );
    assert_eq!(
        decide(
            &req(
                "arn:aws:sts::111122223333:assumed-role/Admin/s",
                "kms:PutKeyPolicy"
            ),
            &set
        ),
        Decision::Allow
    );
    let findings = lint(
        &new_policy,
        &LintOptions {
            account: Some(AccountId::parse("111122223333").unwrap()),
        },
    );
    assert_eq!(
        findings.iter().map(|f| f.code).collect::<Vec<_>>(),
        vec![LintCode::KeyPolicyLockout]
    );
}

#[test]
fn layout_does_not_matter_for_equality_but_spans_are_kept() {
    let a = key_policy(DEFAULT_KEY_POLICY);
    let b = key_policy(
        r#"{"Version":"2012-10-17","Id":"key-default-1","Statement":[{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"}]}"#,
    );
    assert_eq!(a, b);
    let loc = a.statements()[0].span().location();
    assert_eq!(
        (loc.line(), loc.column(), loc.pointer()),
        (4, 19, "/Statement/0")
    );
}

#[test]
fn principal_tags_and_the_root_helper() {
    let p = AwsPrincipal::from_arn("arn:aws:iam::111122223333:user/Bob")
        .unwrap()
        .with_tag("team", "red");
    let policy = identity(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:Decrypt","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalTag/Team":"red"}}}]}"#,
    );
    let set = PolicySet {
        identity: vec![policy],
        resource: None,
    };
    let r = Request::new(
        Caller::Aws(p),
        "kms:Decrypt",
        Arn::parse(KEY).unwrap(),
        Context::new(),
    )
    .unwrap();
    assert_eq!(decide(&r, &set), Decision::Allow);
    let root = AwsPrincipal::root(&AccountId::parse("111122223333").unwrap());
    assert_eq!(root.arn().as_str(), "arn:aws:iam::111122223333:root");
}
