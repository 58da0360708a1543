//! Property tests over generated policies and requests:
//! - adding a `Deny` statement never turns a denied request into an allowed one;
//! - the order of statements (and of identity policies) never changes a decision;
//! - parse → print → parse gives an equal policy, and printing is stable.

#![cfg(test)]

use proptest::prelude::*;
use proptest::sample::select;
use sealtrail_model::Arn;
use sealtrail_policy::{
    Caller, Context, ContextValue, Decision, ParseOptions, Policy, PolicySet, Request,
    ResourceKind, Value, authorize, decide,
};
use serde_json::{Value as J, json};

const A: &str = "111122223333";
const KEY: &str = "arn:aws:kms:us-east-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

fn one_or_many(items: Vec<&'static str>, array: bool) -> J {
    if items.len() == 1 && !array {
        json!(items[0])
    } else {
        json!(items)
    }
}

fn actions() -> impl Strategy<Value = J> {
    (
        prop::collection::vec(
            select(vec![
                "s3:GetObject",
                "s3:*",
                "s3:Get*",
                "kms:Decrypt",
                "kms:*",
                "kms:GenerateDataKey*",
                "*",
                "KMS:decrypt",
                "kms:DescribeKey",
                "s3:PutObject",
            ]),
            1..3,
        ),
        any::<bool>(),
    )
        .prop_map(|(v, a)| one_or_many(v, a))
}

fn resources() -> impl Strategy<Value = J> {
    (
        prop::collection::vec(
            select(vec![
                "*",
                "arn:aws:s3:::b/*",
                "arn:aws:s3:::b/home/${aws:username}/*",
                KEY,
                "arn:aws:kms:*:111122223333:key/*",
                "arn:aws:s3:::other/*",
            ]),
            1..3,
        ),
        any::<bool>(),
    )
        .prop_map(|(v, a)| one_or_many(v, a))
}

fn principals() -> impl Strategy<Value = J> {
    prop_oneof![
        Just(json!("*")),
        Just(json!({"AWS": "*"})),
        Just(json!({"AWS": "arn:aws:iam::111122223333:root"})),
        Just(json!({"AWS": "444455556666"})),
        Just(
            json!({"AWS": ["arn:aws:iam::111122223333:user/Alice", "arn:aws:iam::111122223333:role/Dev"]})
        ),
        Just(json!({"Service": "cloudtrail.amazonaws.com"})),
        Just(
            json!({"AWS": "arn:aws:iam::444455556666:user/Bob", "Service": ["cloudtrail.amazonaws.com"]})
        ),
    ]
}

fn condition() -> impl Strategy<Value = J> {
    let one = prop_oneof![
        Just(
            json!({"StringEquals": {"aws:SourceArn": "arn:aws:cloudtrail:us-east-2:111122223333:trail/t"}})
        ),
        Just(
            json!({"StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn": ["arn:aws:cloudtrail:*:111122223333:trail/*"]}})
        ),
        Just(json!({"StringNotEquals": {"aws:PrincipalTag/team": "red"}})),
        Just(json!({"Null": {"kms:EncryptionContext:aws:cloudtrail:arn": false}})),
        Just(json!({"Bool": {"aws:SecureTransport": true}})),
        Just(json!({"NumericLessThan": {"s3:max-keys": 10}})),
        Just(json!({"IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "2001:db8::/32"]}})),
        Just(json!({"ForAllValues:StringEquals": {"aws:TagKeys": ["a", "b"]}})),
        Just(json!({"ForAnyValue:StringLike": {"aws:TagKeys": "a*"}})),
        Just(json!({"StringEqualsIfExists": {"kms:ViaService": "s3.us-east-2.amazonaws.com"}})),
        Just(json!({"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::111122223333:*"}})),
        Just(json!({"DateLessThan": {"aws:CurrentTime": "2027-01-01T00:00:00Z"}})),
        Just(json!({"StringEquals": {"kms:CallerAccount": "111122223333"}})),
    ];
    prop::collection::vec(one, 0..3).prop_map(|blocks| {
        let mut m = serde_json::Map::new();
        for b in blocks {
            if let J::Object(o) = b {
                for (k, v) in o {
                    m.entry(k).or_insert(v);
                }
            }
        }
        J::Object(m)
    })
}

/// A statement; `resource_policy` adds a principal.
fn statement(resource_policy: bool, effect: Option<&'static str>) -> impl Strategy<Value = J> {
    let effect = match effect {
        Some(e) => Just(e).boxed(),
        None => select(vec!["Allow", "Deny"]).boxed(),
    };
    (
        effect,
        actions(),
        any::<bool>(),
        resources(),
        any::<bool>(),
        condition(),
        principals(),
        0u8..8,
    )
        .prop_map(
            move |(effect, action, not_action, resource, not_resource, cond, principal, extra)| {
                let mut s = serde_json::Map::new();
                s.insert("Effect".into(), json!(effect));
                if resource_policy {
                    let not_p = extra == 0 && effect == "Deny";
                    s.insert(
                        if not_p { "NotPrincipal" } else { "Principal" }.into(),
                        principal,
                    );
                }
                let not_action = not_action && extra % 3 == 0;
                s.insert(
                    if not_action { "NotAction" } else { "Action" }.into(),
                    action,
                );
                let not_resource = not_resource && extra % 4 == 1;
                s.insert(
                    if not_resource {
                        "NotResource"
                    } else {
                        "Resource"
                    }
                    .into(),
                    resource,
                );
                if !cond.as_object().is_some_and(serde_json::Map::is_empty) {
                    s.insert("Condition".into(), cond);
                }
                J::Object(s)
            },
        )
}

fn policy(resource_policy: bool) -> impl Strategy<Value = J> {
    (
        prop::collection::vec(statement(resource_policy, None), 1..5),
        any::<bool>(),
    )
        .prop_map(|(stmts, version)| {
            let mut p = serde_json::Map::new();
            if version {
                p.insert("Version".into(), json!("2012-10-17"));
            }
            p.insert("Statement".into(), J::Array(stmts));
            J::Object(p)
        })
}

fn parse(v: &J, options: &ParseOptions) -> Policy {
    let text = serde_json::to_string_pretty(v).unwrap();
    Policy::parse(&text, options).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn request() -> impl Strategy<Value = Request> {
    let caller = select(vec![
        "arn:aws:iam::111122223333:user/Alice",
        "arn:aws:iam::111122223333:root",
        "arn:aws:sts::111122223333:assumed-role/Dev/s",
        "arn:aws:iam::444455556666:user/Bob",
        "service:cloudtrail.amazonaws.com",
        "anonymous",
    ]);
    let action = select(vec![
        "s3:GetObject",
        "kms:Decrypt",
        "kms:GenerateDataKey",
        "s3:PutObject",
        "kms:PutKeyPolicy",
    ]);
    let resource = select(vec![
        KEY,
        "arn:aws:s3:::b/home/Alice/x",
        "arn:aws:s3:::other/y",
    ]);
    let keys = prop::collection::vec(0usize..8, 0..6);
    (caller, action, resource, keys).prop_map(|(caller, action, resource, keys)| {
        let mut ctx = Context::new();
        for k in keys {
            match k {
                0 => ctx.insert(
                    "aws:SourceArn",
                    Value::string("arn:aws:cloudtrail:us-east-2:111122223333:trail/t"),
                ),
                1 => ctx.insert(
                    "kms:EncryptionContext:aws:cloudtrail:arn",
                    Value::string("arn:aws:cloudtrail:us-east-2:111122223333:trail/t"),
                ),
                2 => ctx.insert("aws:SecureTransport", Value::bool(true)),
                3 => ctx.insert("aws:SourceIp", Value::string("10.1.2.3")),
                4 => ctx.insert(
                    "aws:TagKeys",
                    ContextValue::Multi(vec![Value::string("a"), Value::string("c")]),
                ),
                5 => ctx.insert("s3:max-keys", Value::string("5")),
                6 => ctx.insert("aws:CurrentTime", Value::string("2026-06-01T00:00:00Z")),
                _ => ctx.insert(
                    "kms:ViaService",
                    Value::string("s3.us-east-2.amazonaws.com"),
                ),
            }
        }
        Request::new(
            Caller::parse(caller).unwrap(),
            action,
            Arn::parse(resource).unwrap(),
            ctx,
        )
        .unwrap()
    })
}

fn kind_for(req: &Request) -> ResourceKind {
    ResourceKind::of_arn(req.resource())
}

fn set(identity: &[J], resource: Option<&J>, kind: ResourceKind) -> PolicySet {
    PolicySet {
        identity: identity
            .iter()
            .map(|p| {
                parse(
                    p,
                    &ParseOptions::infer().with_limit(ParseOptions::identity().limit),
                )
            })
            .collect(),
        resource: resource.map(|p| (parse(p, &ParseOptions::for_resource(kind)), kind)),
    }
}

fn reversed(p: &J) -> J {
    let mut p = p.clone();
    if let Some(J::Array(stmts)) = p.get_mut("Statement") {
        stmts.reverse();
    }
    p
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn adding_a_deny_never_allows(
        identity in prop::collection::vec(policy(false), 0..3),
        resource in prop::option::of(policy(true)),
        req in request(),
        deny_id in statement(false, Some("Deny")),
        deny_res in statement(true, Some("Deny")),
        into_resource in any::<bool>(),
    ) {
        let kind = kind_for(&req);
        let before = decide(&req, &set(&identity, resource.as_ref(), kind));
        let (mut identity2, mut resource2) = (identity.clone(), resource.clone());
        match (&mut resource2, into_resource) {
            (Some(J::Object(p)), true) => {
                if let Some(J::Array(s)) = p.get_mut("Statement") { s.push(deny_res); }
            }
            _ => {
                if identity2.is_empty() { identity2.push(json!({"Version": "2012-10-17", "Statement": []})); }
                if let Some(J::Array(s)) = identity2[0].get_mut("Statement") { s.push(deny_id); }
            }
        }
        let after = decide(&req, &set(&identity2, resource2.as_ref(), kind));
        prop_assert!(before == Decision::Allow || after != Decision::Allow, "{before} became {after}");
        prop_assert!(before != Decision::ExplicitDeny || after == Decision::ExplicitDeny);
    }

    #[test]
    fn statement_order_never_changes_a_decision(
        identity in prop::collection::vec(policy(false), 0..3),
        resource in prop::option::of(policy(true)),
        req in request(),
    ) {
        let kind = kind_for(&req);
        let s1 = set(&identity, resource.as_ref(), kind);
        let mut rev: Vec<J> = identity.iter().map(reversed).collect();
        rev.reverse();
        let s2 = set(&rev, resource.as_ref().map(reversed).as_ref(), kind);
        let (a, b) = (authorize(&req, &s1), authorize(&req, &s2));
        prop_assert_eq!(a.value(), b.value());
        prop_assert_eq!(a.basis(), b.basis());
        let mut la: Vec<String> = a.deciding().iter().map(|r| s1.statement(*r).unwrap().to_json_fragment()).collect();
        let mut lb: Vec<String> = b.deciding().iter().map(|r| s2.statement(*r).unwrap().to_json_fragment()).collect();
        la.sort();
        lb.sort();
        prop_assert_eq!(la, lb);
    }

    #[test]
    fn parse_print_parse_round_trips(p in policy(true), q in policy(false), sid in "[A-Za-z0-9]{1,8}", id in prop::option::of("[ -~]{0,12}")) {
        for (v, opts) in [(p, ParseOptions::resource_policy()), (q, ParseOptions::identity())] {
            let mut v = v;
            if let Some(J::Array(s)) = v.get_mut("Statement") {
                for (i, st) in s.iter_mut().enumerate() {
                    st["Sid"] = json!(format!("{sid}{i}"));
                }
            }
            if let Some(id) = &id { v["Id"] = json!(id); }
            let first = parse(&v, &opts);
            let printed = first.to_json();
            let second = Policy::parse(&printed, &opts).unwrap_or_else(|e| panic!("{e}\n{printed}"));
            prop_assert_eq!(&first, &second);
            prop_assert_eq!(printed, second.to_json());
        }
    }
}

/// A statement's printed form, for comparing deciding statements across orders.
trait Fragment {
    fn to_json_fragment(&self) -> String;
}

impl Fragment for sealtrail_policy::Statement {
    fn to_json_fragment(&self) -> String {
        format!(
            "{:?}",
            (
                self.effect(),
                self.sid(),
                self.action().map(|a| a
                    .values()
                    .items()
                    .iter()
                    .map(|p| p.as_str().to_owned())
                    .collect::<Vec<_>>())
            )
        ) + &format!(
            "{:?}",
            self.resource().map(|r| r
                .values()
                .items()
                .iter()
                .map(|p| p.as_str().to_owned())
                .collect::<Vec<_>>())
        ) + &format!(
            "{:?}",
            self.condition().map(|c| c
                .conditions()
                .map(|(o, k)| (o.as_str().to_owned(), k.key().to_owned()))
                .collect::<Vec<_>>())
        ) + &format!(
            "{:?}",
            self.principal().map(|p| (
                p.is_negated(),
                match p.spec() {
                    sealtrail_policy::PrincipalSpec::Everyone => vec!["*".to_owned()],
                    sealtrail_policy::PrincipalSpec::Map(m) => m
                        .iter()
                        .flat_map(|e| e.values().items().iter().map(move |i| format!(
                            "{}={}",
                            e.kind().as_str(),
                            i.as_str()
                        )))
                        .collect(),
                }
            ))
        )
    }
}

#[test]
fn a_single_statement_object_round_trips() {
    let text = r#"{"Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*",
        "Condition": {"NumericLessThan": {"s3:max-keys": 10}, "Bool": {"aws:SecureTransport": true}}}}"#;
    let p = Policy::parse(text, &ParseOptions::identity()).unwrap();
    let printed = p.to_json();
    assert_eq!(
        printed,
        "{\n  \"Statement\": {\n    \"Effect\": \"Allow\",\n    \"Action\": \"s3:GetObject\",\n    \"Resource\": \"*\",\n    \"Condition\": {\n      \"NumericLessThan\": {\n        \"s3:max-keys\": 10\n      },\n      \"Bool\": {\n        \"aws:SecureTransport\": true\n      }\n    }\n  }\n}\n"
    );
    assert_eq!(
        Policy::parse(&printed, &ParseOptions::identity()).unwrap(),
        p
    );
    let _ = A;
}
