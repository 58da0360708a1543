//! `sealtrail policy eval` and `sealtrail policy lint` through the real binary: a sample of
//! the policy corpus (the same harness the library test uses), exit codes, output formats and
//! usage errors.

#[cfg(test)]
#[path = "../../policy/tests/harness/mod.rs"]
mod harness;

#[cfg(test)]
mod cli {
    use std::path::{Path, PathBuf};
    use std::process::{Command, Output};
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::harness::{
        self, Answer, ContextSpec, Engine, EvalCase, EvalFile, policy_label, policy_text,
    };

    fn bin() -> Command {
        Command::new(env!("CARGO_BIN_EXE_sealtrail"))
    }

    /// A fresh directory under the system temp dir, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new() -> Self {
            static N: AtomicUsize = AtomicUsize::new(0);
            let dir = std::env::temp_dir().join(format!(
                "sealtrail-policy-cli-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            std::fs::create_dir_all(&dir).unwrap();
            Self(dir)
        }
        fn write(&self, name: &str, text: &str) -> PathBuf {
            let p = self.0.join(name);
            std::fs::write(&p, text).unwrap();
            p
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn context_flags(case: &EvalCase) -> Vec<String> {
        let mut out = Vec::new();
        for (k, v) in &case.request.context {
            match v {
                ContextSpec::String(s) => out.push(format!("{k}=string:{s}")),
                ContextSpec::Bool(b) => out.push(format!("{k}=bool:{b}")),
                ContextSpec::Number(n) => out.push(format!("{k}=number:{n}")),
                ContextSpec::Multi(vs) if vs.is_empty() => out.push(format!("{k}[]")),
                ContextSpec::Multi(vs) => {
                    out.extend(vs.iter().map(|s| format!("{k}[]=string:{s}")))
                }
                ContextSpec::Typed(t) => match (&t.value, &t.values) {
                    (Some(v), _) => out.push(format!("{k}={}:{v}", t.ty)),
                    (None, Some(vs)) if vs.is_empty() => out.push(format!("{k}[]")),
                    (None, Some(vs)) => {
                        out.extend(vs.iter().map(|v| format!("{k}[]={}:{v}", t.ty)))
                    }
                    (None, None) => {}
                },
            }
        }
        out
    }

    struct Cli;

    impl Engine for Cli {
        fn eval(&self, file: &EvalFile, case: &EvalCase) -> Result<Answer, String> {
            let dir = TempDir::new();
            let mut cmd = bin();
            cmd.args(["policy", "eval", "--output", "json"]);
            for (i, r) in case.identity.iter().enumerate() {
                let label = policy_label(r, &format!("identity[{i}]"));
                let p = dir.write(&format!("{label}.json"), &policy_text(file, r));
                cmd.arg("--policy").arg(p);
            }
            if let Some(r) = &case.resource {
                let label = policy_label(r, "resource");
                let p = dir.write(&format!("{label}.json"), &policy_text(file, r));
                cmd.arg("--resource-policy").arg(p);
            }
            if let Some(k) = &case.resource_kind {
                cmd.args(["--resource-kind", k]);
            }
            let r = &case.request;
            cmd.args([
                "--principal",
                &r.principal,
                "--action",
                &r.action,
                "--resource",
                &r.resource,
            ]);
            if let Some(a) = &r.resource_account {
                cmd.args(["--resource-account", a]);
            }
            for (k, v) in &r.principal_tags {
                cmd.arg("--principal-tag").arg(format!("{k}={v}"));
            }
            for c in context_flags(case) {
                cmd.arg("--context").arg(c);
            }
            let out = cmd.output().map_err(|e| e.to_string())?;
            let code = out.status.code();
            let stdout = String::from_utf8_lossy(&out.stdout);
            let v: serde_json::Value = serde_json::from_str(&stdout).map_err(|e| {
                format!(
                    "exit {code:?}, stdout {stdout:?}, stderr {:?}: {e}",
                    String::from_utf8_lossy(&out.stderr)
                )
            })?;
            let decision = v["decision"].as_str().unwrap_or_default().to_owned();
            let basis = v["basis"].as_str().unwrap_or_default();
            let basis_fits = match decision.as_str() {
                "Allow" => basis == "allowed",
                "ExplicitDeny" => basis == "explicit-deny",
                _ => basis.starts_with("no-"),
            };
            if !basis_fits {
                return Err(format!("decision {decision} with basis {basis}"));
            }
            let want_code = if decision == "Allow" { 0 } else { 1 };
            if code != Some(want_code) {
                return Err(format!("decision {decision} but exit code {code:?}"));
            }
            let deciding = v["deciding"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            Ok(Answer { decision, deciding })
        }
    }

    #[test]
    fn corpus_sample_through_the_binary() {
        let n = harness::run_all(&Cli, 2);
        assert!(n >= 75, "ran only {n} cases");
    }

    fn run(args: &[&str]) -> Output {
        bin().args(args).output().unwrap()
    }

    fn stdout(o: &Output) -> String {
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    fn stderr(o: &Output) -> String {
        String::from_utf8_lossy(&o.stderr).into_owned()
    }

    const KEY: &str = "arn:aws:kms:us-east-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    const TRAIL: &str = "arn:aws:cloudtrail:us-east-2:111122223333:trail/my-trail";

    fn ct_key(dir: &TempDir) -> PathBuf {
        let text =
            std::fs::read_to_string(harness::corpus_dir().join("eval/cloudtrail_key_policy.json"))
                .unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        dir.write(
            "ct-key.json",
            &serde_json::to_string_pretty(&v["policies"]["ct-key"]).unwrap(),
        )
    }

    #[test]
    fn eval_text_output_explains_every_statement() {
        let dir = TempDir::new();
        let key = ct_key(&dir);
        let key = key.to_str().unwrap();
        let ec = format!("kms:EncryptionContext:aws:cloudtrail:arn={TRAIL}");
        let src = format!("aws:SourceArn={TRAIL}");
        let o = run(&[
            "policy",
            "eval",
            "--resource-policy",
            key,
            "--principal",
            "service:cloudtrail.amazonaws.com",
            "--action",
            "kms:GenerateDataKey",
            "--resource",
            KEY,
            "--context",
            &ec,
            "--context",
            &src,
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let out = stdout(&o);
        assert!(
            out.starts_with(
                "decision: Allow\ndeciding statements:\n  ct-key:Allow CloudTrail to encrypt logs\n"
            ),
            "{out}"
        );
        assert!(out.contains("  ct-key:Enable IAM User Permissions (Allow): skipped: the caller is not in `Principal`\n"), "{out}");

        // Without the encryption context: implicitly denied, and the reason names the condition.
        let o = run(&[
            "policy",
            "eval",
            "--resource-policy",
            key,
            "--principal",
            "service:cloudtrail.amazonaws.com",
            "--action",
            "kms:GenerateDataKey",
            "--resource",
            KEY,
            "--context",
            &src,
        ]);
        assert_eq!(o.status.code(), Some(1));
        let out = stdout(&o);
        assert!(out.contains("decision: ImplicitDeny\n"), "{out}");
        assert!(
            out.contains("because no resource-based policy allows the kms:GenerateDataKey action"),
            "{out}"
        );
        assert!(out.contains("ct-key:Allow CloudTrail to encrypt logs (Allow): skipped: condition `StringLike` on `kms:EncryptionContext:aws:cloudtrail:arn`: the key is not in the request"), "{out}");
    }

    #[test]
    fn eval_usage_and_parse_errors_exit_2() {
        let dir = TempDir::new();
        let bad = dir.write("bad.json", "{\"Version\": \"2012-10-17\", \"Statement\": {\"Effect\": \"Allow\", \"Effect\": \"Deny\"}}");
        let bad = bad.to_str().unwrap();
        let o = run(&[
            "policy",
            "eval",
            "--policy",
            bad,
            "--principal",
            "111122223333",
            "--action",
            "s3:GetObject",
            "--resource",
            "arn:aws:s3:::b/k",
        ]);
        assert_eq!(o.status.code(), Some(2));
        assert!(
            stderr(&o).contains("duplicate key `Effect` at line 1, column 60"),
            "{}",
            stderr(&o)
        );
        let o = run(&[
            "policy",
            "eval",
            "--principal",
            "nobody",
            "--action",
            "s3:GetObject",
            "--resource",
            "arn:aws:s3:::b/k",
        ]);
        assert_eq!(o.status.code(), Some(2));
        assert!(
            stderr(&o).starts_with("error: --principal: invalid principal `nobody`"),
            "{}",
            stderr(&o)
        );
        let o = run(&[
            "policy",
            "eval",
            "--principal",
            "111122223333",
            "--action",
            "GetObject",
            "--resource",
            "arn:aws:s3:::b/k",
        ]);
        assert_eq!(o.status.code(), Some(2));
        let o = run(&[
            "policy",
            "eval",
            "--principal",
            "111122223333",
            "--action",
            "s3:GetObject",
            "--resource",
            "bucket",
        ]);
        assert_eq!(o.status.code(), Some(2));
        let o = run(&[
            "policy",
            "eval",
            "--principal",
            "111122223333",
            "--action",
            "s3:GetObject",
            "--resource",
            "arn:aws:s3:::b/k",
            "--context",
            "aws:CurrentTime=date:soon",
        ]);
        assert_eq!(o.status.code(), Some(2));
        assert!(
            stderr(&o).contains("invalid date value `soon` for context key `aws:CurrentTime`"),
            "{}",
            stderr(&o)
        );
        let missing = dir.0.join("missing.json");
        let o = run(&[
            "policy",
            "eval",
            "--policy",
            missing.to_str().unwrap(),
            "--principal",
            "111122223333",
            "--action",
            "s3:GetObject",
            "--resource",
            "arn:aws:s3:::b/k",
        ]);
        assert_eq!(o.status.code(), Some(2));
        assert!(stderr(&o).contains("cannot read"), "{}", stderr(&o));
        // clap's own usage errors also exit 2.
        let o = run(&["policy", "eval", "--action", "s3:GetObject"]);
        assert_eq!(o.status.code(), Some(2));
    }

    #[test]
    fn lint_exit_codes_and_formats() {
        let dir = TempDir::new();
        let clean = ct_key(&dir);
        let warn = dir.write(
            "open-key.json",
            r#"{"Version": "2012-10-17", "Statement": [{"Sid": "Open", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:Decrypt", "Resource": "*"}]}"#,
        );
        let broken = dir.write("broken.json", r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject"}]}"#);
        let o = run(&["policy", "lint", clean.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
        assert_eq!(stdout(&o), "");

        let o = run(&["policy", "lint", warn.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(1));
        let out = stdout(&o);
        assert!(out.contains(":1:89: warning[public-key-policy]: statement `Open` allows any principal of any account, without a condition\n"), "{out}");
        assert!(out.contains("warning[key-policy-lockout]"), "{out}");

        let o = run(&[
            "policy",
            "lint",
            "--output",
            "json",
            warn.to_str().unwrap(),
            broken.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(2));
        let lines: Vec<serde_json::Value> = stdout(&o)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert!(lines.iter().any(|v| v["type"] == "finding"
            && v["code"] == "public-key-policy"
            && v["pointer"] == "/Statement/0/Principal"));
        let err = lines.iter().find(|v| v["type"] == "error").unwrap();
        assert_eq!(
            err["message"],
            "missing required element `Resource` in statement"
        );
        assert_eq!(
            (err["line"].as_u64(), err["column"].as_u64()),
            (Some(1), Some(41))
        );

        let o = run(&[
            "policy",
            "lint",
            "--kind",
            "identity",
            clean.to_str().unwrap(),
        ]);
        assert_eq!(
            o.status.code(),
            Some(2),
            "a key policy is not an identity policy"
        );
        let o = run(&["policy", "lint"]);
        assert_eq!(o.status.code(), Some(2));
    }

    #[test]
    fn help_documents_principals_context_and_exit_codes() {
        let o = run(&["policy", "eval", "--help"]);
        assert_eq!(o.status.code(), Some(0));
        let out = stdout(&o);
        for needle in [
            "service:cloudtrail.amazonaws.com",
            "KEY[]",
            "date:",
            "Exit status: 0 allowed, 1 denied",
            "--resource-kind",
            "root of trust",
        ] {
            assert!(out.contains(needle), "help lacks `{needle}`:\n{out}");
        }
        let o = run(&["policy", "lint", "--help"]);
        let out = stdout(&o);
        for needle in [
            "key-policy-lockout",
            "Exit status: 0 no findings, 1 warnings only, 2",
        ] {
            assert!(out.contains(needle), "help lacks `{needle}`:\n{out}");
        }
    }

    #[test]
    fn temp_dirs_are_removed() {
        let p: PathBuf;
        {
            let d = TempDir::new();
            p = d.0.clone();
            assert!(Path::new(&p).exists());
        }
        assert!(!p.exists());
    }
}
