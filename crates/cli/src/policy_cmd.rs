//! `sealtrail policy eval` and `sealtrail policy lint`: the IAM policy engine
//! (`sealtrail-policy`) on the command line.
//!
//! This module reads files, builds the request from flags and prints; every decision is made
//! by the library.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand, ValueEnum};
use sealtrail_model::{AccountId, Arn};
use sealtrail_policy::{
    Basis, Caller, Context, ContextValue, Decision, Explained, Finding, LintOptions, Outcome,
    ParseError, ParseOptions, Policy, PolicyKind, PolicySet, Request, ResourceKind, Value,
    ValueType, authorize, lint,
};

use crate::exit::PolicyExit;

/// `sealtrail policy ...`
#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Decide whether a request is allowed, and explain why.
    ///
    /// Evaluates the request against the identity policies (`--policy`) and the resource
    /// policy (`--resource-policy`) with the IAM evaluation logic: an explicit Deny anywhere
    /// wins; in the same account an identity or resource policy Allow is enough; across
    /// accounts both are needed; for a KMS key the key policy is the root of trust (identity
    /// policies count only when the key policy allows the caller's account).
    ///
    /// Prints the decision (Allow, ExplicitDeny or ImplicitDeny), the statements that decided,
    /// and for every statement whether it matched and, if not, which element or condition did
    /// not.
    ///
    /// Exit status: 0 allowed, 1 denied (explicitly or implicitly), 2 usage error, unreadable
    /// file or a policy that does not parse.
    #[command(after_long_help = EVAL_EXAMPLES)]
    Eval(EvalArgs),
    /// Check policy files for mistakes a careful reviewer would flag.
    ///
    /// Reports parse errors (with line, column and JSON pointer) and warnings, each with a
    /// stable code: unknown-action, not-principal-with-allow, public-key-policy, invalid-arn,
    /// condition-key-not-applicable, set-operator-on-single-valued-key,
    /// multi-valued-key-without-set-operator, statement-never-matches, key-policy-lockout,
    /// missing-version, literal-policy-variable.
    ///
    /// Exit status: 0 no findings, 1 warnings only, 2 an error (a file that cannot be read or
    /// does not parse) or a usage error.
    Lint(LintArgs),
}

const EVAL_EXAMPLES: &str = "\
Examples:
  # Can CloudTrail write a log with this key?
  sealtrail policy eval --resource-policy key.json \\
    --principal service:cloudtrail.amazonaws.com --action kms:GenerateDataKey \\
    --resource arn:aws:kms:us-east-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab \\
    --context aws:SourceArn=arn:aws:cloudtrail:us-east-2:111122223333:trail/my-trail \\
    --context kms:EncryptionContext:aws:cloudtrail:arn=arn:aws:cloudtrail:us-east-2:111122223333:trail/my-trail

  # Can Alice read it, given her IAM policy?
  sealtrail policy eval --policy alice.json --resource-policy key.json \\
    --principal arn:aws:iam::111122223333:user/Alice --action kms:Decrypt \\
    --resource arn:aws:kms:us-east-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab \\
    --context 'kms:EncryptionContextKeys[]=aws:cloudtrail:arn' --output json";

/// Arguments of `sealtrail policy eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// An identity policy attached to the caller (repeatable). Its file name (without
    /// extension) names it in the explanation.
    #[arg(long = "policy", value_name = "FILE")]
    pub policies: Vec<PathBuf>,

    /// The resource-based policy: a KMS key policy, an S3 bucket policy, ...
    #[arg(long, value_name = "FILE")]
    pub resource_policy: Option<PathBuf>,

    /// What the resource policy is attached to [default: from the service of --resource:
    /// kms → kms-key, s3 → s3-bucket, else other].
    #[arg(long, value_enum, value_name = "KIND")]
    pub resource_kind: Option<KindArg>,

    /// Who makes the request: an IAM or STS ARN (`arn:aws:iam::111122223333:user/Alice`,
    /// `arn:aws:sts::111122223333:assumed-role/Role/session`, `arn:aws:iam::111122223333:root`),
    /// a 12-digit account id (its root), `service:<name>` (an AWS service principal such as
    /// `service:cloudtrail.amazonaws.com`), `federated:<provider>`, `canonical:<id>` or
    /// `anonymous`.
    #[arg(long, value_name = "PRINCIPAL")]
    pub principal: String,

    /// A tag of the calling principal, `KEY=VALUE` (repeatable): sets
    /// `aws:PrincipalTag/KEY`.
    #[arg(long = "principal-tag", value_name = "KEY=VALUE")]
    pub principal_tags: Vec<String>,

    /// The action, `service:Name` (case-insensitive), e.g. `kms:Decrypt`.
    #[arg(long, value_name = "ACTION")]
    pub action: String,

    /// The resource ARN, e.g. a key ARN or `arn:aws:s3:::bucket/key`.
    #[arg(long, value_name = "ARN")]
    pub resource: String,

    /// The account that owns the resource, for ARNs without an account (S3). Without it such
    /// a resource is taken to be in the caller's account.
    #[arg(long, value_name = "ACCOUNT")]
    pub resource_account: Option<String>,

    /// A request-context key, `KEY=VALUE` (repeatable). Key names are case-insensitive.
    ///
    /// Repeating a key makes it multi-valued. `KEY[]=VALUE` adds VALUE to a multi-valued key
    /// even if it is given once; `KEY[]` alone is an empty set. A VALUE may start with a type:
    /// `string:`, `bool:`, `number:`, `date:` (ISO 8601 or epoch seconds), `ip:` or `binary:`
    /// (base64), e.g. `aws:CurrentTime=date:2026-01-01T00:00:00Z`; otherwise it is a string
    /// (typed operators such as NumericLessThan or IpAddress read strings as well).
    ///
    /// Derived from the principal unless given: aws:PrincipalArn, aws:PrincipalAccount,
    /// aws:PrincipalType, aws:username, aws:PrincipalTag/*, aws:PrincipalIsAWSService,
    /// aws:PrincipalServiceName and, for kms: actions, kms:CallerAccount. There is no clock:
    /// give aws:CurrentTime if a policy tests it.
    #[arg(long = "context", value_name = "KEY=VALUE")]
    pub context: Vec<String>,

    /// Output format: `text` for people, `json` for one JSON object (`"type": "decision"`).
    #[arg(long, value_enum, default_value_t = OutputArg::Text)]
    pub output: OutputArg,
}

/// Arguments of `sealtrail policy lint`.
#[derive(Debug, Args)]
pub struct LintArgs {
    /// Policy files.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// What kind of policy the files are [default: auto: a policy whose statements name
    /// principals is a resource policy (a key policy when all its actions are `kms:`),
    /// otherwise an identity policy].
    #[arg(long, value_enum, default_value_t = LintKindArg::Auto)]
    pub kind: LintKindArg,

    /// The account that owns the key, for the key-policy-lockout check (default: every
    /// account the key policy names).
    #[arg(long, value_name = "ACCOUNT")]
    pub account: Option<String>,

    /// Output format: `text` (`FILE:LINE:COLUMN: warning[code]: message`) or `json` (one JSON
    /// object per line, `"type": "finding"` or `"type": "error"`).
    #[arg(long, value_enum, default_value_t = OutputArg::Text)]
    pub output: OutputArg,
}

/// `--resource-kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KindArg {
    /// A KMS key policy (the root of trust for the key).
    KmsKey,
    /// An S3 bucket policy.
    S3Bucket,
    /// Another resource-based policy.
    Other,
}

impl From<KindArg> for ResourceKind {
    fn from(k: KindArg) -> Self {
        match k {
            KindArg::KmsKey => Self::KmsKey,
            KindArg::S3Bucket => Self::S3Bucket,
            KindArg::Other => Self::Other,
        }
    }
}

/// `lint --kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LintKindArg {
    /// Infer from the document.
    Auto,
    /// An identity policy.
    Identity,
    /// A KMS key policy.
    KmsKey,
    /// An S3 bucket policy.
    S3Bucket,
    /// Another resource-based policy.
    Other,
}

/// `--output`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputArg {
    /// For people.
    Text,
    /// For programs.
    Json,
}

/// Runs a `policy` subcommand.
#[must_use]
pub fn run(cmd: PolicyCommand) -> PolicyExit {
    match cmd {
        PolicyCommand::Eval(args) => match eval(&args) {
            Ok(exit) => exit,
            Err(msg) => {
                eprintln!("error: {msg}");
                PolicyExit::Error
            }
        },
        PolicyCommand::Lint(args) => lint_files(&args),
    }
}

/// Writes to stdout; a closed pipe is not an error.
fn emit(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read `{}`: {e}", path.display()))
}

fn parse_file(path: &Path, options: &ParseOptions) -> Result<Policy, String> {
    let text = read(path)?;
    let name = path.file_stem().map_or_else(
        || path.display().to_string(),
        |s| s.to_string_lossy().into_owned(),
    );
    Policy::parse(&text, options)
        .map(|p| p.named(name))
        .map_err(|e| format!("`{}`: {e}", path.display()))
}

/// Splits `KEY=VALUE`.
fn key_value<'a>(flag: &str, s: &'a str) -> Result<(&'a str, Option<&'a str>), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k, Some(v))),
        None if !s.is_empty() => Ok((s, None)),
        _ => Err(format!("`{flag} {s}`: expected KEY=VALUE")),
    }
}

/// A context value with an optional `type:` prefix.
fn typed_value(key: &str, text: &str) -> Result<Value, String> {
    if let Some((ty, rest)) = text.split_once(':')
        && let Some(t) = ValueType::from_name(ty)
    {
        return Value::parse(key, t, rest).map_err(|e| e.to_string());
    }
    Ok(Value::string(text))
}

/// Builds the request context from `--context` flags.
fn context(flags: &[String]) -> Result<Context, String> {
    // Keys in first-seen order, with their values and whether they are multi-valued.
    let mut keys: Vec<(String, Vec<Value>, bool)> = Vec::new();
    for flag in flags {
        let (raw_key, value) = key_value("--context", flag)?;
        let (key, forced_multi) = match raw_key.strip_suffix("[]") {
            Some(k) => (k, true),
            None => (raw_key, false),
        };
        if !key.contains(':') {
            return Err(format!(
                "`--context {flag}`: keys are written `prefix:name`, as in `aws:SourceArn`"
            ));
        }
        let value = match value {
            Some(v) => Some(typed_value(key, v)?),
            None if forced_multi => None,
            None => {
                return Err(format!(
                    "`--context {flag}`: expected KEY=VALUE (or KEY[] for an empty set)"
                ));
            }
        };
        let lower = key.to_lowercase();
        let slot = match keys.iter().position(|(k, _, _)| k.to_lowercase() == lower) {
            Some(i) => keys.get_mut(i),
            None => {
                keys.push((key.to_owned(), Vec::new(), false));
                keys.last_mut()
            }
        };
        if let Some((_, values, multi)) = slot {
            *multi |= forced_multi;
            values.extend(value);
        }
    }
    let mut ctx = Context::new();
    for (key, mut values, multi) in keys {
        if multi || values.len() != 1 {
            ctx.insert(&key, ContextValue::Multi(values));
        } else if let Some(v) = values.pop() {
            ctx.insert(&key, v);
        }
    }
    Ok(ctx)
}

fn eval(args: &EvalArgs) -> Result<PolicyExit, String> {
    let mut caller = Caller::parse(&args.principal).map_err(|e| format!("--principal: {e}"))?;
    for tag in &args.principal_tags {
        let (k, v) = key_value("--principal-tag", tag)?;
        let Some(v) = v else {
            return Err(format!("`--principal-tag {tag}`: expected KEY=VALUE"));
        };
        match &mut caller {
            Caller::Aws(p) => *p = p.clone().with_tag(k, v),
            _ => return Err("--principal-tag applies only to IAM and STS principals".to_owned()),
        }
    }
    let resource = Arn::parse(&args.resource).map_err(|e| format!("--resource: {e}"))?;
    let kind = args
        .resource_kind
        .map_or_else(|| ResourceKind::of_arn(&resource), ResourceKind::from);
    let mut request = Request::new(caller, &args.action, resource, context(&args.context)?)
        .map_err(|e| format!("--action: {e}"))?;
    if let Some(a) = &args.resource_account {
        request = request.with_resource_account(
            AccountId::parse(a).map_err(|e| format!("--resource-account: {e}"))?,
        );
    }
    let mut set = PolicySet::default();
    for p in &args.policies {
        set.identity.push(parse_file(p, &ParseOptions::identity())?);
    }
    if let Some(p) = &args.resource_policy {
        set.resource = Some((parse_file(p, &ParseOptions::for_resource(kind))?, kind));
    }
    let answer = authorize(&request, &set);
    emit(&match args.output {
        OutputArg::Text => render_text(&answer, &set, &request),
        OutputArg::Json => render_json(&answer, &set, &request),
    });
    Ok(if answer.value() == Decision::Allow {
        PolicyExit::Allow
    } else {
        PolicyExit::Deny
    })
}

fn outcome_text(
    set: &PolicySet,
    outcome: Outcome,
    statement: sealtrail_policy::StatementRef,
) -> (&'static str, String) {
    match outcome {
        Outcome::Matched => ("matched", String::new()),
        Outcome::MatchedAccount => (
            "matched-account",
            "the caller's account is the principal: this delegates to the account's identity policies".to_owned(),
        ),
        Outcome::Skipped(m) => (
            "skipped",
            set.statement(statement).map(|s| m.describe(s)).unwrap_or_default(),
        ),
    }
}

fn render_text(answer: &Explained<Decision>, set: &PolicySet, request: &Request) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "decision: {}", answer.value());
    if let Some(msg) = answer.access_denied_message(request) {
        let _ = writeln!(out, "reason: {msg}");
    }
    if answer.deciding().is_empty() {
        let _ = writeln!(out, "deciding statements: none");
    } else {
        let _ = writeln!(out, "deciding statements:");
        for r in answer.deciding() {
            let _ = writeln!(out, "  {}", set.label(*r));
        }
    }
    if !answer.trace().is_empty() {
        let _ = writeln!(out, "statements:");
    }
    for t in answer.trace() {
        let (what, why) = outcome_text(set, t.outcome, t.statement);
        let _ = write!(out, "  {} ({}): {what}", set.label(t.statement), t.effect);
        if !why.is_empty() {
            let _ = write!(out, ": {why}");
        }
        out.push('\n');
    }
    out
}

fn render_json(answer: &Explained<Decision>, set: &PolicySet, request: &Request) -> String {
    let statements: Vec<serde_json::Value> = answer
        .trace()
        .iter()
        .map(|t| {
            let (what, why) = outcome_text(set, t.outcome, t.statement);
            let mut v = serde_json::json!({
                "statement": set.label(t.statement),
                "effect": t.effect.as_str(),
                "outcome": what,
            });
            if let Some(obj) = v.as_object_mut()
                && !why.is_empty()
            {
                obj.insert("reason".to_owned(), serde_json::Value::String(why));
            }
            v
        })
        .collect();
    let v = serde_json::json!({
        "type": "decision",
        "version": 1,
        "decision": answer.value().as_str(),
        "basis": match answer.basis() {
            Basis::Allowed => "allowed",
            Basis::ExplicitDeny => "explicit-deny",
            Basis::NoIdentityAllow => "no-identity-based-policy-allows",
            Basis::NoResourceAllow => "no-resource-based-policy-allows",
        },
        "message": answer.access_denied_message(request),
        "deciding": answer.deciding().iter().map(|r| set.label(*r)).collect::<Vec<_>>(),
        "statements": statements,
    });
    format!("{v}\n")
}

fn lint_files(args: &LintArgs) -> PolicyExit {
    let options = match args.kind {
        LintKindArg::Auto => ParseOptions::infer(),
        LintKindArg::Identity => ParseOptions::identity(),
        LintKindArg::KmsKey => ParseOptions::key_policy(),
        LintKindArg::S3Bucket => ParseOptions::bucket_policy(),
        LintKindArg::Other => ParseOptions::resource_policy(),
    };
    let account = match args.account.as_deref().map(AccountId::parse).transpose() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: --account: {e}");
            return PolicyExit::Error;
        }
    };
    let lint_options = LintOptions { account };
    let mut errors = false;
    let mut warnings = false;
    let mut out = String::new();
    for path in &args.files {
        let text = match read(path) {
            Ok(t) => t,
            Err(e) => {
                errors = true;
                eprintln!("error: {e}");
                continue;
            }
        };
        match Policy::parse(&text, &options) {
            Err(e) => {
                errors = true;
                print_parse_error(&mut out, args.output, path, &e);
            }
            Ok(policy) => {
                // A key policy written with `--kind auto` is linted as one when it says so.
                let policy = reparse_as_key_policy(policy, &text, args.kind);
                for f in lint(&policy, &lint_options) {
                    warnings = true;
                    print_finding(&mut out, args.output, path, &f);
                }
            }
        }
    }
    emit(&out);
    if errors {
        PolicyExit::Error
    } else if warnings {
        PolicyExit::Deny
    } else {
        PolicyExit::Allow
    }
}

/// With `--kind auto`, a resource policy whose statements act only on `kms:` actions is
/// linted as a key policy.
fn reparse_as_key_policy(policy: Policy, text: &str, kind: LintKindArg) -> Policy {
    if kind != LintKindArg::Auto || policy.kind() != PolicyKind::Resource(ResourceKind::Other) {
        return policy;
    }
    let only_kms = policy.statements().iter().all(|s| {
        s.action().is_some_and(|a| {
            a.values()
                .items()
                .iter()
                .all(|p| p.as_str().to_ascii_lowercase().starts_with("kms:"))
        })
    });
    if !only_kms || policy.statements().is_empty() {
        return policy;
    }
    Policy::parse(text, &ParseOptions::key_policy()).unwrap_or(policy)
}

fn print_parse_error(out: &mut String, output: OutputArg, path: &Path, e: &ParseError) {
    let loc = e.location();
    match output {
        OutputArg::Text => {
            let _ = writeln!(
                out,
                "{}:{}:{}: error: {}",
                path.display(),
                loc.line(),
                loc.column(),
                e.kind()
            );
        }
        OutputArg::Json => {
            let v = serde_json::json!({
                "type": "error", "version": 1, "file": path.display().to_string(),
                "message": e.kind().to_string(), "line": loc.line(), "column": loc.column(), "pointer": loc.pointer(),
            });
            let _ = writeln!(out, "{v}");
        }
    }
}

fn print_finding(out: &mut String, output: OutputArg, path: &Path, f: &Finding) {
    match output {
        OutputArg::Text => {
            let _ = writeln!(
                out,
                "{}:{}:{}: warning[{}]: {}",
                path.display(),
                f.location.line().max(1),
                f.location.column().max(1),
                f.code,
                f.message
            );
        }
        OutputArg::Json => {
            let v = serde_json::json!({
                "type": "finding", "version": 1, "file": path.display().to_string(), "code": f.code.as_str(),
                "severity": "warning", "message": f.message, "line": f.location.line().max(1),
                "column": f.location.column().max(1), "pointer": f.location.pointer(),
            });
            let _ = writeln!(out, "{v}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_flags() {
        let ctx = context(&[
            "aws:SourceArn=arn:aws:cloudtrail:us-east-2:111122223333:trail/t".to_owned(),
            "aws:TagKeys=a".to_owned(),
            "AWS:TagKeys=b".to_owned(),
            "kms:EncryptionContextKeys[]=x".to_owned(),
            "aws:PrincipalOrgPaths[]".to_owned(),
            "aws:CurrentTime=date:2026-01-01T00:00:00Z".to_owned(),
            "aws:SecureTransport=bool:true".to_owned(),
            "custom:note=arn:still-a-string".to_owned(),
        ])
        .unwrap();
        assert!(matches!(
            ctx.get("aws:sourcearn"),
            Some(ContextValue::Single(_))
        ));
        assert!(matches!(ctx.get("aws:tagkeys"), Some(ContextValue::Multi(v)) if v.len() == 2));
        assert!(
            matches!(ctx.get("kms:encryptioncontextkeys"), Some(ContextValue::Multi(v)) if v.len() == 1)
        );
        assert!(
            matches!(ctx.get("aws:principalorgpaths"), Some(ContextValue::Multi(v)) if v.is_empty())
        );
        assert!(
            matches!(ctx.get("custom:note"), Some(ContextValue::Single(v)) if v.as_str() == "arn:still-a-string")
        );
        assert!(context(&["aws:CurrentTime=date:tomorrow".to_owned()]).is_err());
        assert!(context(&["nocolon=x".to_owned()]).is_err());
        assert!(context(&["aws:x".to_owned()]).is_err());
    }
}
