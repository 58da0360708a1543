//! The policy corpus in `testdata/policy/`: its format, a loader, and one trait for the
//! implementation under test, so the library (`crates/policy/tests/corpus.rs`) and the CLI
//! (`crates/cli/tests/policy_cli.rs`, which includes this file by path) run the same cases.
//!
//! Format of `testdata/policy/eval/*.json` (see `testdata/policy/README.md`):
//! ```json
//! {"description": "...", "policies": {"name": {...policy...}},
//!  "cases": [{"name": "...", "identity": ["name"], "resource": "name", "resource_kind": "kms-key",
//!             "request": {"principal": "arn:...", "action": "kms:Decrypt", "resource": "arn:...",
//!                         "context": {"k": "v", "multi": ["a", "b"], "typed": {"type": "date", "value": "..."}}},
//!             "decision": "Allow", "deciding": ["name:Sid"]}]}
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// One file of evaluation cases.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvalFile {
    /// What the file covers.
    pub description: String,
    /// Where the cases come from (documentation pages), if anywhere.
    #[serde(default)]
    pub sources: Vec<String>,
    /// Named policies the cases refer to.
    #[serde(default)]
    pub policies: BTreeMap<String, serde_json::Value>,
    /// The cases.
    pub cases: Vec<EvalCase>,
}

/// A policy named in `policies`, or written inline.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum PolicyRef {
    /// A key of `policies`.
    Name(String),
    /// The policy itself.
    Inline(serde_json::Value),
}

/// One evaluation case.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvalCase {
    /// Unique within the file.
    pub name: String,
    /// Identity policies.
    #[serde(default)]
    pub identity: Vec<PolicyRef>,
    /// The resource policy.
    #[serde(default)]
    pub resource: Option<PolicyRef>,
    /// `kms-key`, `s3-bucket` or `other`; default from the resource ARN's service.
    #[serde(default)]
    pub resource_kind: Option<String>,
    /// The request.
    pub request: RequestSpec,
    /// `Allow`, `ExplicitDeny` or `ImplicitDeny`.
    pub decision: String,
    /// Labels `<policy>:<Sid or #index>` of the deciding statements, in evaluation order.
    #[serde(default)]
    pub deciding: Vec<String>,
    /// A note on the rule the case checks.
    #[serde(default)]
    pub note: Option<String>,
}

/// The request of a case.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestSpec {
    /// An IAM/STS ARN, an account id, `service:<name>`, `federated:<p>`, `canonical:<id>` or
    /// `anonymous`.
    pub principal: String,
    /// Principal tags.
    #[serde(default)]
    pub principal_tags: BTreeMap<String, String>,
    /// `service:Name`.
    pub action: String,
    /// The resource ARN.
    pub resource: String,
    /// The resource owner, for ARNs without an account.
    #[serde(default)]
    pub resource_account: Option<String>,
    /// Context keys.
    #[serde(default)]
    pub context: BTreeMap<String, ContextSpec>,
}

/// A context value: a string, a boolean, a number, an array of strings (multi-valued), or a
/// typed value.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum ContextSpec {
    /// Text.
    String(String),
    /// `true` / `false`.
    Bool(bool),
    /// A number, as written.
    Number(serde_json::Number),
    /// A multi-valued key (may be empty).
    Multi(Vec<String>),
    /// `{"type": "date", "value": "..."}` or `{"type": "ip", "values": [...]}`.
    Typed(TypedSpec),
}

/// A typed context value.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TypedSpec {
    /// `string`, `bool`, `number`, `date`, `ip` or `binary`.
    #[serde(rename = "type")]
    pub ty: String,
    /// A single value.
    #[serde(default)]
    pub value: Option<String>,
    /// A multi-valued key.
    #[serde(default)]
    pub values: Option<Vec<String>>,
}

/// What an implementation answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// `Allow`, `ExplicitDeny` or `ImplicitDeny`.
    pub decision: String,
    /// Labels of the deciding statements.
    pub deciding: Vec<String>,
}

/// The implementation under test.
pub trait Engine {
    /// Evaluates one case of `file`.
    ///
    /// # Errors
    /// Any failure to run the case, as text.
    fn eval(&self, file: &EvalFile, case: &EvalCase) -> Result<Answer, String>;
}

/// The `testdata/policy` directory.
pub fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/policy")
}

/// Every evaluation file, sorted by name.
pub fn eval_files() -> Vec<(String, EvalFile)> {
    let dir = corpus_dir().join("eval");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            let file: EvalFile =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (p.file_name().unwrap().to_string_lossy().into_owned(), file)
        })
        .collect()
}

/// The label a policy gets: its name in `policies`, or `identity[i]` / `resource`.
pub fn policy_label(r: &PolicyRef, fallback: &str) -> String {
    match r {
        PolicyRef::Name(n) => n.clone(),
        PolicyRef::Inline(_) => fallback.to_owned(),
    }
}

/// The policy text of a reference.
pub fn policy_text(file: &EvalFile, r: &PolicyRef) -> String {
    match r {
        PolicyRef::Name(n) => {
            let v = file
                .policies
                .get(n)
                .unwrap_or_else(|| panic!("no policy named `{n}`"));
            serde_json::to_string_pretty(v).unwrap()
        }
        PolicyRef::Inline(v) => serde_json::to_string_pretty(v).unwrap(),
    }
}

/// Runs every case (or every `stride`-th one) through `engine`; panics with a list of all
/// failures. Returns the number of cases run.
pub fn run_all(engine: &dyn Engine, stride: usize) -> usize {
    let mut failures = Vec::new();
    let mut n = 0;
    let mut seen = 0;
    for (fname, file) in eval_files() {
        assert!(!file.description.is_empty(), "{fname}: empty description");
        assert!(
            file.sources.iter().all(|s| !s.is_empty()),
            "{fname}: empty source"
        );
        let mut names = std::collections::BTreeSet::new();
        for case in &file.cases {
            assert!(
                names.insert(case.name.clone()),
                "{fname}: duplicate case name `{}`",
                case.name
            );
            seen += 1;
            assert!(
                case.note.as_ref().is_none_or(|n| !n.is_empty()),
                "{fname}: empty note"
            );
            if (seen - 1) % stride != 0 {
                continue;
            }
            n += 1;
            let want = Answer {
                decision: case.decision.clone(),
                deciding: case.deciding.clone(),
            };
            match engine.eval(&file, case) {
                Ok(got) if got == want => {}
                Ok(got) => failures.push(format!(
                    "{fname} / {}: expected {} {:?}, got {} {:?}",
                    case.name, want.decision, want.deciding, got.decision, got.deciding
                )),
                Err(e) => failures.push(format!("{fname} / {}: {e}", case.name)),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {n} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    n
}
