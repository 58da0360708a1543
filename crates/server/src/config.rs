//! The TOML configuration of `sealtrail serve --config FILE`.
//!
//! ```toml
//! listen = "127.0.0.1:4599"        # default 127.0.0.1:4599
//! region = "us-east-1"             # default us-east-1
//! data_dir = "/var/lib/sealtrail"  # default ./sealtrail-data; relative to this file
//! admin_account = "111122223333"   # whose root the generated admin key is; default: the
//!                                  # first account below, else 123456789012
//! tick_seconds = 60                # how often the KMS clock advances (key deletion)
//! shutdown_grace_seconds = 30      # how long in-flight requests may finish on SIGTERM
//! max_body_bytes = 1048576         # larger JSON requests get 413
//!
//! [tls]                            # optional: serve HTTPS
//! cert = "tls/cert.pem"            # PEM chain, leaf first
//! key = "tls/key.pem"              # PEM private key (PKCS#8, PKCS#1 or SEC1)
//!
//! [[account]]
//! id = "111122223333"
//!
//! [[account.user]]
//! name = "alice"
//! path = "/ops/"                   # optional, default "/"
//! user_id = "AIDAEXAMPLEALICE00001" # optional, derived from account and name
//! tags = { team = "audit" }        # aws:PrincipalTag/*
//! policies = [{ file = "policies/alice.json" }, { inline = '{"Version": "2012-10-17", "Statement": []}' }]
//! access_keys = [{ id = "AKIAALICE00000000001", secret_env = "ALICE_SECRET" }]
//!
//! [[account.role]]                 # each key stands for a session of the role
//! name = "auditor"
//! session = "audit-session"        # optional, default: the role name
//! policies = [{ file = "policies/auditor.json" }]
//! access_keys = [{ id = "AKIAAUDITOR000000001", secret = "..." }]
//! ```
//!
//! Identity policies are parsed with `sealtrail-policy` when the file is loaded; every error
//! names the file and line (for a policy file, the policy file and its line). Unknown keys
//! are errors. Secrets come from the file or from an environment variable (`secret_env`).

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sealtrail_model::{AccountId, Region};
use sealtrail_policy::{ParseError, ParseOptions, Policy};
use serde::Deserialize;
use toml::Spanned;

use crate::identity::{Identities, Identity, IdentityError, SecretKey};

/// The default listen address: loopback only, port 4599.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:4599";
/// The default region.
pub const DEFAULT_REGION: &str = "us-east-1";
/// The default account (the admin key's account when no account is configured).
pub const DEFAULT_ACCOUNT: &str = "123456789012";
/// The default data directory.
pub const DEFAULT_DATA_DIR: &str = "./sealtrail-data";
/// The default largest JSON request body: 1 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1 << 20;

/// Why a configuration file cannot be used. Every variant names the file and line.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("`{path}`: {source}", path = .path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The file is not valid TOML or has an unknown or mistyped key.
    #[error("`{path}`: {message}", path = .path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The TOML parser's message, with line and column.
        message: String,
    },
    /// A value is not acceptable.
    #[error("`{path}`, line {line}: {message}", path = .path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// An identity policy does not parse.
    #[error("`{path}`, line {line}: identity policy{}: {error}", .policy_file.as_ref().map(|p| format!(" `{}`", p.display())).unwrap_or_default(), path = .path.display())]
    Policy {
        /// The configuration file.
        path: PathBuf,
        /// The line in the configuration file.
        line: usize,
        /// The policy file, when the policy is not inline.
        policy_file: Option<PathBuf>,
        /// The parser's error (with its own line and column).
        error: Box<ParseError>,
    },
}

/// TLS material.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The PEM certificate chain.
    pub cert: PathBuf,
    /// The PEM private key.
    pub key: PathBuf,
}

/// One configured access key.
#[derive(Debug, Clone)]
pub struct AccessKey {
    /// The access key id.
    pub id: String,
    /// Its secret.
    pub secret: SecretKey,
    /// The line that defines it (for duplicate reports).
    line: usize,
}

/// One configured principal with its keys.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The account.
    pub account: AccountId,
    /// Who.
    pub identity: Identity,
    /// `aws:PrincipalTag/*`.
    pub tags: BTreeMap<String, String>,
    /// Identity policies, parsed.
    pub policies: Arc<Vec<Policy>>,
    /// Its access keys.
    pub access_keys: Vec<AccessKey>,
}

/// A loaded, validated configuration. Paths are absolute or relative to the working
/// directory (those in the file are resolved against the file's directory).
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the file was read from (`None` for the built-in default).
    pub source: Option<PathBuf>,
    /// The listen address.
    pub listen: SocketAddr,
    /// The region served.
    pub region: Region,
    /// The data directory.
    pub data_dir: PathBuf,
    /// The account whose root the generated admin key is.
    pub admin_account: AccountId,
    /// TLS, if configured.
    pub tls: Option<TlsFiles>,
    /// Seconds between KMS clock ticks.
    pub tick_seconds: u64,
    /// Seconds in-flight requests get to finish on shutdown.
    pub shutdown_grace_seconds: u64,
    /// The largest request body.
    pub max_body_bytes: usize,
    /// The configured principals.
    pub principals: Vec<Principal>,
}

impl Default for Config {
    #[expect(
        clippy::expect_used,
        reason = "DEFAULT_REGION and DEFAULT_ACCOUNT are constants that parse (tested)"
    )]
    fn default() -> Self {
        Self {
            source: None,
            listen: SocketAddr::from(([127, 0, 0, 1], 4599)),
            region: Region::parse(DEFAULT_REGION).expect("DEFAULT_REGION parses"),
            data_dir: PathBuf::from(DEFAULT_DATA_DIR),
            admin_account: AccountId::parse(DEFAULT_ACCOUNT).expect("DEFAULT_ACCOUNT parses"),
            tls: None,
            tick_seconds: 60,
            shutdown_grace_seconds: 30,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            principals: Vec::new(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    listen: Option<Spanned<String>>,
    region: Option<Spanned<String>>,
    data_dir: Option<String>,
    admin_account: Option<Spanned<String>>,
    tls: Option<RawTls>,
    tick_seconds: Option<Spanned<u64>>,
    shutdown_grace_seconds: Option<u64>,
    max_body_bytes: Option<Spanned<u64>>,
    #[serde(default)]
    account: Vec<RawAccount>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTls {
    cert: String,
    key: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAccount {
    id: Spanned<String>,
    #[serde(default)]
    user: Vec<RawUser>,
    #[serde(default)]
    role: Vec<RawRole>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUser {
    name: Spanned<String>,
    path: Option<Spanned<String>>,
    user_id: Option<Spanned<String>>,
    #[serde(default)]
    tags: BTreeMap<String, String>,
    #[serde(default)]
    policies: Vec<Spanned<RawPolicy>>,
    #[serde(default)]
    access_keys: Vec<Spanned<RawAccessKey>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRole {
    name: Spanned<String>,
    session: Option<Spanned<String>>,
    role_id: Option<Spanned<String>>,
    #[serde(default)]
    tags: BTreeMap<String, String>,
    #[serde(default)]
    policies: Vec<Spanned<RawPolicy>>,
    #[serde(default)]
    access_keys: Vec<Spanned<RawAccessKey>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    file: Option<String>,
    inline: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAccessKey {
    id: String,
    secret: Option<String>,
    secret_env: Option<String>,
}

/// Reads and validates a configuration file.
///
/// # Errors
/// [`ConfigError`] naming the file and the line of the first problem.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&text, path, &|name| std::env::var(name).ok())
}

/// Parses configuration text; `path` names it in errors and anchors its relative paths;
/// `env` reads environment variables (for `secret_env`).
///
/// # Errors
/// [`ConfigError`] naming the file and the line of the first problem.
pub fn parse(
    text: &str,
    path: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, ConfigError> {
    let raw: RawConfig = toml::from_str(text).map_err(|e| ConfigError::Syntax {
        path: path.to_path_buf(),
        message: e.to_string().trim_end().replace('\n', " | "),
    })?;
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let resolve = |p: &str| {
        let p = Path::new(p);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            base.join(p)
        }
    };
    let line_of = |span: Range<usize>| line_at(text, span.start);
    let invalid = |span: Range<usize>, message: String| ConfigError::Invalid {
        path: path.to_path_buf(),
        line: line_of(span),
        message,
    };
    let mut config = Config {
        source: Some(path.to_path_buf()),
        ..Config::default()
    };
    if let Some(listen) = raw.listen {
        config.listen = listen.get_ref().parse().map_err(|_| {
            invalid(
                listen.span(),
                format!(
                    "`listen`: `{}` is not an address such as 127.0.0.1:4599",
                    listen.get_ref()
                ),
            )
        })?;
    }
    if let Some(region) = raw.region {
        config.region = Region::parse(region.get_ref())
            .map_err(|e| invalid(region.span(), format!("`region`: {e}")))?;
    }
    if let Some(dir) = raw.data_dir {
        config.data_dir = resolve(&dir);
    }
    if let Some(tls) = raw.tls {
        config.tls = Some(TlsFiles {
            cert: resolve(&tls.cert),
            key: resolve(&tls.key),
        });
    }
    if let Some(tick) = raw.tick_seconds {
        if *tick.get_ref() == 0 {
            return Err(invalid(
                tick.span(),
                "`tick_seconds` must be at least 1".to_owned(),
            ));
        }
        config.tick_seconds = *tick.get_ref();
    }
    if let Some(grace) = raw.shutdown_grace_seconds {
        config.shutdown_grace_seconds = grace;
    }
    if let Some(max) = raw.max_body_bytes {
        config.max_body_bytes = usize::try_from(*max.get_ref())
            .ok()
            .filter(|m| *m >= 1024)
            .ok_or_else(|| {
                invalid(
                    max.span(),
                    "`max_body_bytes` must be at least 1024".to_owned(),
                )
            })?;
    }
    let mut accounts = HashSet::new();
    for account in &raw.account {
        let id = AccountId::parse(account.id.get_ref())
            .map_err(|e| invalid(account.id.span(), format!("account `id`: {e}")))?;
        if !accounts.insert(id.clone()) {
            return Err(invalid(
                account.id.span(),
                format!("account `{}` is defined twice", id.as_str()),
            ));
        }
        for user in &account.user {
            let name = iam_name(user.name.get_ref(), 64)
                .map_err(|m| invalid(user.name.span(), format!("user `name`: {m}")))?;
            let user_path = match &user.path {
                Some(p) => iam_path(p.get_ref())
                    .map_err(|m| invalid(p.span(), format!("user `path`: {m}")))?,
                None => "/".to_owned(),
            };
            let user_id = match &user.user_id {
                Some(u) => Some(unique_id(u.get_ref(), "AIDA").map_err(|m| invalid(u.span(), m))?),
                None => None,
            };
            config.principals.push(Principal {
                account: id.clone(),
                identity: Identity::User {
                    name,
                    path: user_path,
                    user_id,
                },
                tags: user.tags.clone(),
                policies: Arc::new(policies(&user.policies, path, text, &resolve)?),
                access_keys: access_keys(&user.access_keys, path, text, env)?,
            });
        }
        for role in &account.role {
            let name = iam_name(role.name.get_ref(), 64)
                .map_err(|m| invalid(role.name.span(), format!("role `name`: {m}")))?;
            let session = match &role.session {
                Some(s) => iam_name(s.get_ref(), 64)
                    .map_err(|m| invalid(s.span(), format!("role `session`: {m}")))?,
                None => name.clone(),
            };
            let role_id = match &role.role_id {
                Some(r) => Some(unique_id(r.get_ref(), "AROA").map_err(|m| invalid(r.span(), m))?),
                None => None,
            };
            config.principals.push(Principal {
                account: id.clone(),
                identity: Identity::RoleSession {
                    role: name,
                    session,
                    role_id,
                },
                tags: role.tags.clone(),
                policies: Arc::new(policies(&role.policies, path, text, &resolve)?),
                access_keys: access_keys(&role.access_keys, path, text, env)?,
            });
        }
    }
    config.admin_account = match raw.admin_account {
        Some(a) => AccountId::parse(a.get_ref())
            .map_err(|e| invalid(a.span(), format!("`admin_account`: {e}")))?,
        None => match raw.account.first() {
            Some(first) => AccountId::parse(first.id.get_ref())
                .map_err(|e| invalid(first.id.span(), format!("account `id`: {e}")))?,
            None => config.admin_account,
        },
    };
    // Duplicate access keys are reported here, with their line, rather than at start.
    let mut seen = HashSet::new();
    for key in config.principals.iter().flat_map(|p| &p.access_keys) {
        if !seen.insert(key.id.clone()) {
            return Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                line: key.line,
                message: format!("access key `{}` is defined twice", key.id),
            });
        }
    }
    Ok(config)
}

impl Config {
    /// The callers: every configured access key, plus the admin key as the root of
    /// [`Config::admin_account`].
    ///
    /// # Errors
    /// [`IdentityError`] when the admin key's id is also configured for a principal.
    pub fn identities(
        &self,
        admin_key_id: &str,
        admin_secret: &SecretKey,
    ) -> Result<Identities, IdentityError> {
        let mut identities = Identities::new();
        identities.insert(
            admin_key_id,
            admin_secret.clone(),
            &self.admin_account,
            &Identity::Root,
            BTreeMap::new(),
            Arc::new(Vec::new()),
        )?;
        for principal in &self.principals {
            for key in &principal.access_keys {
                identities.insert(
                    &key.id,
                    key.secret.clone(),
                    &principal.account,
                    &principal.identity,
                    principal.tags.clone(),
                    principal.policies.clone(),
                )?;
            }
        }
        Ok(identities)
    }
}

/// The 1-based line of byte `offset` in `text`.
fn line_at(text: &str, offset: usize) -> usize {
    text.as_bytes()
        .iter()
        .take(offset)
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

fn iam_name(name: &str, max: usize) -> Result<String, String> {
    let ok = !name.is_empty()
        && name.len() <= max
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b));
    if ok {
        Ok(name.to_owned())
    } else {
        Err(format!(
            "`{name}` must be 1 to {max} characters of letters, digits and +=,.@_-"
        ))
    }
}

fn iam_path(path: &str) -> Result<String, String> {
    let ok = path.starts_with('/')
        && path.ends_with('/')
        && path.len() <= 512
        && path.bytes().all(|b| (0x21..=0x7e).contains(&b));
    if ok {
        Ok(path.to_owned())
    } else {
        Err(format!(
            "`{path}` must start and end with `/` (e.g. `/ops/`)"
        ))
    }
}

fn unique_id(id: &str, prefix: &str) -> Result<String, String> {
    let ok = id.len() >= 16
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    if ok {
        Ok(id.to_owned())
    } else {
        Err(format!(
            "`{id}` is not a unique id such as `{prefix}EXAMPLE1234567890`"
        ))
    }
}

fn policies(
    raw: &[Spanned<RawPolicy>],
    path: &Path,
    text: &str,
    resolve: &dyn Fn(&str) -> PathBuf,
) -> Result<Vec<Policy>, ConfigError> {
    let mut out = Vec::with_capacity(raw.len());
    for entry in raw {
        let line = line_at(text, entry.span().start);
        let invalid = |message: String| ConfigError::Invalid {
            path: path.to_path_buf(),
            line,
            message,
        };
        let (document, policy_file) = match (&entry.get_ref().file, &entry.get_ref().inline) {
            (Some(file), None) => {
                let file = resolve(file);
                let document = std::fs::read_to_string(&file)
                    .map_err(|e| invalid(format!("policy file `{}`: {e}", file.display())))?;
                (document, Some(file))
            }
            (None, Some(inline)) => (inline.clone(), None),
            _ => {
                return Err(invalid(
                    "a policy needs exactly one of `file` or `inline`".to_owned(),
                ));
            }
        };
        let policy = Policy::parse(&document, &ParseOptions::identity()).map_err(|error| {
            ConfigError::Policy {
                path: path.to_path_buf(),
                line,
                policy_file,
                error: Box::new(error),
            }
        })?;
        out.push(policy);
    }
    Ok(out)
}

fn access_keys(
    raw: &[Spanned<RawAccessKey>],
    path: &Path,
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<AccessKey>, ConfigError> {
    let mut out = Vec::with_capacity(raw.len());
    for entry in raw {
        let line = line_at(text, entry.span().start);
        let invalid = |message: String| ConfigError::Invalid {
            path: path.to_path_buf(),
            line,
            message,
        };
        let key = entry.get_ref();
        let id_ok = (16..=128).contains(&key.id.len())
            && key
                .id
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        if !id_ok {
            return Err(invalid(format!(
                "access key id `{}` must be 16 to 128 upper-case letters and digits (e.g. AKIAIOSFODNN7EXAMPLE)",
                key.id
            )));
        }
        let secret = match (&key.secret, &key.secret_env) {
            (Some(secret), None) => secret.clone(),
            (None, Some(var)) => env(var).ok_or_else(|| {
                invalid(format!(
                    "access key `{}`: environment variable `{var}` is not set",
                    key.id
                ))
            })?,
            _ => {
                return Err(invalid(format!(
                    "access key `{}` needs exactly one of `secret` or `secret_env`",
                    key.id
                )));
            }
        };
        if secret.is_empty() {
            return Err(invalid(format!(
                "access key `{}` has an empty secret",
                key.id
            )));
        }
        out.push(AccessKey {
            id: key.id.clone(),
            secret: SecretKey::new(secret),
            line,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        (name == "ALICE_SECRET").then(|| "alice-secret-from-env".to_owned())
    }

    fn parse_at(text: &str) -> Result<Config, ConfigError> {
        parse(text, Path::new("/etc/sealtrail/sealtrail.toml"), &env)
    }

    #[test]
    fn defaults() {
        let c = Config::default();
        assert_eq!(c.listen.to_string(), DEFAULT_LISTEN);
        assert_eq!(c.region.as_str(), DEFAULT_REGION);
        assert_eq!(c.admin_account.as_str(), DEFAULT_ACCOUNT);
    }

    #[test]
    fn full_example() {
        let c = parse_at(
            r#"
listen = "0.0.0.0:8443"
region = "eu-west-1"
data_dir = "data"
tick_seconds = 5

[tls]
cert = "cert.pem"
key = "/abs/key.pem"

[[account]]
id = "111122223333"

[[account.user]]
name = "alice"
path = "/ops/"
tags = { team = "audit" }
policies = [{ inline = '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}]}' }]
access_keys = [{ id = "AKIAALICE00000000001", secret_env = "ALICE_SECRET" }]

[[account.role]]
name = "auditor"
access_keys = [{ id = "AKIAAUDITOR000000001", secret = "s3cr3t" }]

[[account]]
id = "444455556666"
"#,
        )
        .unwrap();
        assert_eq!(c.listen.to_string(), "0.0.0.0:8443");
        assert_eq!(c.region.as_str(), "eu-west-1");
        assert_eq!(c.data_dir, Path::new("/etc/sealtrail/data"));
        assert_eq!(c.admin_account.as_str(), "111122223333");
        assert_eq!(
            c.tls,
            Some(TlsFiles {
                cert: "/etc/sealtrail/cert.pem".into(),
                key: "/abs/key.pem".into()
            })
        );
        assert_eq!(c.principals.len(), 2);
        let ids = c
            .identities("AKIAADMIN00000000000", &SecretKey::new("x".into()))
            .unwrap();
        assert_eq!(ids.len(), 3);
        let alice = ids.caller("AKIAALICE00000000001").unwrap();
        assert_eq!(
            alice.arn.as_str(),
            "arn:aws:iam::111122223333:user/ops/alice"
        );
        assert_eq!(alice.identity_policies.len(), 1);
        assert_eq!(alice.tags.get("team").map(String::as_str), Some("audit"));
        let role = ids.caller("AKIAAUDITOR000000001").unwrap();
        assert_eq!(
            role.arn.as_str(),
            "arn:aws:sts::111122223333:assumed-role/auditor/auditor"
        );
        assert_eq!(
            ids.caller("AKIAADMIN00000000000").unwrap().arn.as_str(),
            "arn:aws:iam::111122223333:root"
        );
    }

    #[test]
    fn errors_name_file_and_line() {
        let e = parse_at("listen = \"127.0.0.1:1\"\nregion = \"Mars\"\n").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("`/etc/sealtrail/sealtrail.toml`, line 2: `region`"),
            "{e}"
        );
        let e = parse_at("listen = 5\n").unwrap_err();
        assert!(
            matches!(e, ConfigError::Syntax { .. }) && e.to_string().contains("line 1"),
            "{e}"
        );
        let e = parse_at("lsiten = \"x\"\n").unwrap_err();
        assert!(e.to_string().contains("lsiten"), "{e}");
        let bad_policy = r#"
[[account]]
id = "111122223333"
[[account.user]]
name = "bob"
policies = [
  { inline = '{"Version": "2012-10-17", "Statement": [{"Effect": "Perhaps", "Action": "*", "Resource": "*"}]}' },
]
"#;
        let e = parse_at(bad_policy).unwrap_err();
        assert!(matches!(e, ConfigError::Policy { line: 7, .. }), "{e}");
        assert!(
            e.to_string()
                .starts_with("`/etc/sealtrail/sealtrail.toml`, line 7: identity policy: "),
            "{e}"
        );
        let missing_env = "[[account]]\nid = \"111122223333\"\n[[account.user]]\nname = \"c\"\naccess_keys = [{ id = \"AKIACCCCCCCCCCCCCCCC\", secret_env = \"NOPE\" }]\n";
        let e = parse_at(missing_env).unwrap_err();
        assert_eq!(
            e.to_string(),
            "`/etc/sealtrail/sealtrail.toml`, line 5: access key `AKIACCCCCCCCCCCCCCCC`: environment variable `NOPE` is not set"
        );
        let dup = "[[account]]\nid = \"111122223333\"\n[[account.user]]\nname = \"c\"\naccess_keys = [{ id = \"AKIACCCCCCCCCCCCCCCC\", secret = \"a\" }]\n[[account.role]]\nname = \"r\"\naccess_keys = [{ id = \"AKIACCCCCCCCCCCCCCCC\", secret = \"b\" }]\n";
        let e = parse_at(dup).unwrap_err();
        assert_eq!(
            e.to_string(),
            "`/etc/sealtrail/sealtrail.toml`, line 8: access key `AKIACCCCCCCCCCCCCCCC` is defined twice"
        );
        let e = parse_at("[[account]]\nid = \"12\"\n").unwrap_err();
        assert!(e.to_string().contains("line 2: account `id`"), "{e}");
    }
}
