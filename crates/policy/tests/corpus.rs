//! Runs the whole policy corpus in `testdata/policy/` through the library: evaluation cases,
//! parse-error cases and lint cases.

#[cfg(test)]
mod harness;

use std::collections::BTreeMap;

use harness::{Answer, ContextSpec, Engine, EvalCase, EvalFile, policy_label, policy_text};
use sealtrail_model::{AccountId, Arn};
use sealtrail_policy::{
    AwsPrincipal, Caller, Context, ContextValue, LintOptions, ParseOptions, Policy, PolicySet,
    Request, ResourceKind, Value, ValueType, authorize, decide, lint,
};
use serde::Deserialize;

#[cfg(test)]
struct Library;

#[cfg(test)]
fn kind_of(name: &str) -> ResourceKind {
    match name {
        "kms-key" => ResourceKind::KmsKey,
        "s3-bucket" => ResourceKind::S3Bucket,
        "other" => ResourceKind::Other,
        other => panic!("unknown resource kind `{other}`"),
    }
}

#[cfg(test)]
fn context(spec: &BTreeMap<String, ContextSpec>) -> Result<Context, String> {
    let mut ctx = Context::new();
    for (k, v) in spec {
        let value: ContextValue = match v {
            ContextSpec::String(s) => Value::string(s.as_str()).into(),
            ContextSpec::Bool(b) => Value::bool(*b).into(),
            ContextSpec::Number(n) => Value::parse(k, ValueType::Number, &n.to_string())
                .map_err(|e| e.to_string())?
                .into(),
            ContextSpec::Multi(vs) => {
                ContextValue::Multi(vs.iter().map(|s| Value::string(s.as_str())).collect())
            }
            ContextSpec::Typed(t) => {
                let ty = ValueType::from_name(&t.ty)
                    .ok_or_else(|| format!("unknown type `{}`", t.ty))?;
                match (&t.value, &t.values) {
                    (Some(v), None) => Value::parse(k, ty, v).map_err(|e| e.to_string())?.into(),
                    (None, Some(vs)) => ContextValue::Multi(
                        vs.iter()
                            .map(|v| Value::parse(k, ty, v))
                            .collect::<Result<_, _>>()
                            .map_err(|e| e.to_string())?,
                    ),
                    _ => return Err(format!("`{k}`: give exactly one of `value` and `values`")),
                }
            }
        };
        ctx.insert(k, value);
    }
    Ok(ctx)
}

#[cfg(test)]
/// Builds the request of a case.
fn request(case: &EvalCase) -> Result<Request, String> {
    let r = &case.request;
    let mut caller = Caller::parse(&r.principal).map_err(|e| e.to_string())?;
    if let Caller::Aws(p) = &mut caller {
        for (k, v) in &r.principal_tags {
            *p = p.clone().with_tag(k.as_str(), v.as_str());
        }
    }
    let resource = Arn::parse(&r.resource).map_err(|e| e.to_string())?;
    let mut req = Request::new(caller, &r.action, resource, context(&r.context)?)
        .map_err(|e| e.to_string())?;
    if let Some(a) = &r.resource_account {
        req = req.with_resource_account(AccountId::parse(a).map_err(|e| e.to_string())?);
    }
    Ok(req)
}

#[cfg(test)]
impl Engine for Library {
    fn eval(&self, file: &EvalFile, case: &EvalCase) -> Result<Answer, String> {
        let req = request(case)?;
        let kind = case
            .resource_kind
            .as_deref()
            .map_or_else(|| ResourceKind::of_arn(req.resource()), kind_of);
        let mut set = PolicySet::default();
        for (i, r) in case.identity.iter().enumerate() {
            let p = Policy::parse(&policy_text(file, r), &ParseOptions::identity())
                .map_err(|e| e.to_string())?;
            set.identity
                .push(p.named(policy_label(r, &format!("identity[{i}]"))));
        }
        if let Some(r) = &case.resource {
            let p = Policy::parse(&policy_text(file, r), &ParseOptions::for_resource(kind))
                .map_err(|e| e.to_string())?;
            set.resource = Some((p.named(policy_label(r, "resource")), kind));
        }
        let answer = authorize(&req, &set);
        // The allocation-free path must agree.
        assert_eq!(
            decide(&req, &set),
            answer.value(),
            "decide() disagrees on {}",
            case.name
        );
        Ok(Answer {
            decision: answer.value().as_str().to_owned(),
            deciding: answer.deciding().iter().map(|r| set.label(*r)).collect(),
        })
    }
}

#[test]
fn evaluation_corpus() {
    let n = harness::run_all(&Library, 1);
    assert!(
        n >= 150,
        "the corpus should have at least 150 evaluation cases, it has {n}"
    );
}

#[cfg(test)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ErrorFile {
    description: String,
    cases: Vec<ErrorCase>,
}

#[cfg(test)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ErrorCase {
    name: String,
    /// `identity`, `kms-key`, `s3-bucket`, `other` or `infer`.
    kind: String,
    /// The document, as text (so it can hold duplicate keys and broken JSON).
    text: String,
    /// The whole error message.
    error: String,
}

#[cfg(test)]
fn options(kind: &str) -> ParseOptions {
    match kind {
        "identity" => ParseOptions::identity(),
        "infer" => ParseOptions::infer(),
        k => ParseOptions::for_resource(kind_of(k)),
    }
}

#[test]
fn parse_error_corpus() {
    let text = std::fs::read_to_string(harness::corpus_dir().join("parse_errors.json")).unwrap();
    let file: ErrorFile = serde_json::from_str(&text).unwrap();
    assert!(!file.description.is_empty());
    let mut failures = Vec::new();
    for c in &file.cases {
        match Policy::parse(&c.text, &options(&c.kind)) {
            Ok(_) => failures.push(format!("{}: parsed, expected `{}`", c.name, c.error)),
            Err(e) if e.to_string() == c.error => {}
            Err(e) => failures.push(format!(
                "{}:\n  expected `{}`\n  got      `{e}`",
                c.name, c.error
            )),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[cfg(test)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LintFile {
    description: String,
    cases: Vec<LintCase>,
}

#[cfg(test)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LintCase {
    name: String,
    kind: String,
    #[serde(default)]
    account: Option<String>,
    policy: serde_json::Value,
    /// The codes found, in order (empty: clean).
    findings: Vec<String>,
}

#[test]
fn lint_corpus() {
    let text = std::fs::read_to_string(harness::corpus_dir().join("lint.json")).unwrap();
    let file: LintFile = serde_json::from_str(&text).unwrap();
    assert!(!file.description.is_empty());
    let mut failures = Vec::new();
    for c in &file.cases {
        let p = match Policy::parse(
            &serde_json::to_string_pretty(&c.policy).unwrap(),
            &options(&c.kind),
        ) {
            Ok(p) => p,
            Err(e) => {
                failures.push(format!("{}: {e}", c.name));
                continue;
            }
        };
        let opts = LintOptions {
            account: c.account.as_deref().map(|a| AccountId::parse(a).unwrap()),
        };
        let got: Vec<String> = lint(&p, &opts)
            .iter()
            .map(|f| f.code.as_str().to_owned())
            .collect();
        if got != c.findings {
            let detail: Vec<String> = lint(&p, &opts).iter().map(ToString::to_string).collect();
            failures.push(format!(
                "{}: expected {:?}, got {:?}\n    {}",
                c.name,
                c.findings,
                got,
                detail.join("\n    ")
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn root_principal_helper_matches_parse() {
    let a = AccountId::parse("111122223333").unwrap();
    assert_eq!(
        Caller::Aws(AwsPrincipal::root(&a)),
        Caller::parse("111122223333").unwrap()
    );
}
