//! The data directory of the embedded default: created on first start (mode 0700) with a root
//! key and an admin access key, reused afterwards.
//!
//! ```text
//! <data dir>/            0700
//!   root.key             0600  32 random bytes (aws-lc-rs): wraps all KMS key material
//!   credentials          0600  AWS shared credentials file, profile `sealtrail`: the admin key
//!   kms.sqlite3                the KMS store (written by the KMS)
//! ```
//!
//! Secret files are created atomically: written to a temporary file opened with mode 0600,
//! fsynced, then hard-linked into place (so a concurrent start never sees half a file and
//! never overwrites one), and the directory is fsynced. A root key or credentials file whose
//! permissions let the group or others read it is refused, as `ssh` refuses a private key.

use std::fmt;
use std::fs::{self, File, OpenOptions, Permissions};
use std::io::{self, Read as _, Write as _};
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use zeroize::Zeroizing;

use crate::identity::{SecretKey, base32};

/// The root key file's name.
pub const ROOT_KEY_FILE: &str = "root.key";
/// The shared credentials file's name.
pub const CREDENTIALS_FILE: &str = "credentials";
/// The KMS SQLite database's name.
pub const KMS_DATABASE_FILE: &str = "kms.sqlite3";
/// The profile in the credentials file.
pub const PROFILE: &str = "sealtrail";

/// Why the data directory cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum DataDirError {
    /// A file system operation failed.
    #[error("`{path}`: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
    /// A secret file may be read by the group or others.
    #[error("`{path}` has mode {mode:04o}, readable by others than its owner: run `chmod 600 {path}`", path = .path.display())]
    Permissions {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The root key file is not 32 bytes long.
    #[error("`{path}` holds {len} bytes, not a 32-byte root key", path = .path.display())]
    RootKeyLength {
        /// The file.
        path: PathBuf,
        /// Its length.
        len: usize,
    },
    /// The credentials file has no usable `sealtrail` profile.
    #[error("`{path}` has no `[sealtrail]` profile with `aws_access_key_id` and `aws_secret_access_key`", path = .path.display())]
    Credentials {
        /// The file.
        path: PathBuf,
    },
    /// The system random generator failed.
    #[error("the system random generator failed")]
    Random,
}

/// The 32-byte root key that wraps all KMS key material. Zeroized on drop, never printed.
pub struct RootKey(Zeroizing<[u8; 32]>);

impl RootKey {
    /// The key bytes, for the KMS key wrapper only.
    #[must_use]
    pub fn expose(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for RootKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RootKey([REDACTED])")
    }
}

/// The generated admin access key (the account root).
#[derive(Debug, Clone)]
pub struct AdminKey {
    /// `AKIA` + 16 base32 characters.
    pub access_key_id: String,
    /// 40 characters, as AWS secrets.
    pub secret: SecretKey,
}

/// An opened data directory.
#[derive(Debug)]
pub struct DataDir {
    path: PathBuf,
    root_key: RootKey,
    admin: AdminKey,
    created: bool,
}

impl DataDir {
    /// Opens `path`, creating the directory, the root key and the admin key on first use.
    ///
    /// # Errors
    /// [`DataDirError`] when a file cannot be created or read, a secret file's permissions
    /// are too loose, or its content is malformed.
    pub fn open(path: &Path) -> Result<Self, DataDirError> {
        let io = |p: &Path| {
            let p = p.to_path_buf();
            move |source| DataDirError::Io { path: p, source }
        };
        let mut created = false;
        if !path.exists() {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(path)
                .map_err(io(path))?;
            created = true;
        }
        let meta = fs::metadata(path).map_err(io(path))?;
        if !meta.is_dir() {
            return Err(DataDirError::Io {
                path: path.to_path_buf(),
                source: io::Error::new(io::ErrorKind::NotADirectory, "not a directory"),
            });
        }
        let root_key = load_or_create_root_key(&path.join(ROOT_KEY_FILE))?;
        let admin = load_or_create_admin(&path.join(CREDENTIALS_FILE))?;
        Ok(Self {
            path: path.to_path_buf(),
            root_key,
            admin,
            created,
        })
    }

    /// The directory.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether this start created the directory.
    #[must_use]
    pub fn created(&self) -> bool {
        self.created
    }

    /// The root key.
    #[must_use]
    pub fn root_key(&self) -> &RootKey {
        &self.root_key
    }

    /// The admin access key.
    #[must_use]
    pub fn admin(&self) -> &AdminKey {
        &self.admin
    }

    /// Where the KMS keeps its SQLite database.
    #[must_use]
    pub fn kms_database(&self) -> PathBuf {
        self.path.join(KMS_DATABASE_FILE)
    }

    /// The AWS shared credentials file holding the admin key.
    #[must_use]
    pub fn credentials_file(&self) -> PathBuf {
        self.path.join(CREDENTIALS_FILE)
    }
}

fn io_error(path: &Path, source: io::Error) -> DataDirError {
    DataDirError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn random(buf: &mut [u8]) -> Result<(), DataDirError> {
    aws_lc_rs::rand::fill(buf).map_err(|_| DataDirError::Random)
}

/// Opens a secret file for reading after checking that only its owner may read it.
fn open_secret(path: &Path) -> Result<Option<File>, DataDirError> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error(path, e)),
    };
    let mode = file
        .metadata()
        .map_err(|e| io_error(path, e))?
        .permissions()
        .mode()
        & 0o777;
    if mode & 0o077 != 0 {
        return Err(DataDirError::Permissions {
            path: path.to_path_buf(),
            mode,
        });
    }
    Ok(Some(file))
}

/// Creates `path` with `content`, mode 0600, atomically and without replacing an existing
/// file. Returns `false` when the file already existed (another process won the race).
fn create_secret(path: &Path, content: &[u8]) -> Result<bool, DataDirError> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let mut suffix = [0u8; 8];
    random(&mut suffix)?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        path.file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default(),
        hex::encode(suffix)
    ));
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(|e| io_error(&tmp, e))?;
        // The umask cannot widen 0600, but make the mode explicit anyway.
        file.set_permissions(Permissions::from_mode(0o600))
            .map_err(|e| io_error(&tmp, e))?;
        file.write_all(content).map_err(|e| io_error(&tmp, e))?;
        file.sync_all().map_err(|e| io_error(&tmp, e))?;
        match fs::hard_link(&tmp, path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(io_error(path, e)),
        }
    })();
    let _ = fs::remove_file(&tmp);
    let created = result?;
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_error(dir, e))?;
    Ok(created)
}

fn load_or_create_root_key(path: &Path) -> Result<RootKey, DataDirError> {
    for _ in 0..2 {
        if let Some(mut file) = open_secret(path)? {
            let mut bytes = Zeroizing::new(Vec::with_capacity(33));
            io::Read::by_ref(&mut file)
                .take(64)
                .read_to_end(&mut bytes)
                .map_err(|e| io_error(path, e))?;
            let mut key = Zeroizing::new([0u8; 32]);
            if bytes.len() != key.len() {
                return Err(DataDirError::RootKeyLength {
                    path: path.to_path_buf(),
                    len: bytes.len(),
                });
            }
            key.copy_from_slice(&bytes);
            return Ok(RootKey(key));
        }
        let mut key = Zeroizing::new([0u8; 32]);
        random(key.as_mut())?;
        if create_secret(path, key.as_ref())? {
            return Ok(RootKey(key));
        }
    }
    Err(io_error(
        path,
        io::Error::other("created concurrently and then removed"),
    ))
}

fn load_or_create_admin(path: &Path) -> Result<AdminKey, DataDirError> {
    for _ in 0..2 {
        if let Some(mut file) = open_secret(path)? {
            let mut text = Zeroizing::new(String::new());
            io::Read::by_ref(&mut file)
                .take(64 * 1024)
                .read_to_string(&mut text)
                .map_err(|e| io_error(path, e))?;
            return parse_credentials(&text).ok_or_else(|| DataDirError::Credentials {
                path: path.to_path_buf(),
            });
        }
        let admin = generate_admin()?;
        let text = Zeroizing::new(format!(
            "# sealtrail admin access key: the root of the default account. Generated by\n\
             # `sealtrail serve`; keep this file secret. Use it with\n\
             #   AWS_SHARED_CREDENTIALS_FILE={} aws --profile {PROFILE} ...\n\
             [{PROFILE}]\n\
             aws_access_key_id = {}\n\
             aws_secret_access_key = {}\n",
            path.display(),
            admin.access_key_id,
            admin.secret.expose()
        ));
        if create_secret(path, text.as_bytes())? {
            return Ok(admin);
        }
    }
    Err(io_error(
        path,
        io::Error::other("created concurrently and then removed"),
    ))
}

/// A new admin key: `AKIA` + 16 base32 characters, and a 40-character secret (base64 of 30
/// random bytes, the alphabet of AWS secrets).
fn generate_admin() -> Result<AdminKey, DataDirError> {
    let mut id = [0u8; 10];
    random(&mut id)?;
    let mut secret = Zeroizing::new([0u8; 30]);
    random(secret.as_mut())?;
    Ok(AdminKey {
        access_key_id: format!("AKIA{}", base32(&id, 16)),
        secret: SecretKey::new(base64::engine::general_purpose::STANDARD.encode(secret.as_ref())),
    })
}

/// Reads the `[sealtrail]` profile of a shared credentials file.
fn parse_credentials(text: &str) -> Option<AdminKey> {
    let mut in_profile = false;
    let mut id = None;
    let mut secret = None;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || line.starts_with(';') || line.is_empty() {
            continue;
        }
        if let Some(section) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            in_profile = section.trim() == PROFILE;
            continue;
        }
        if !in_profile {
            continue;
        }
        if let Some((key, value)) = line.split_once('=') {
            match key.trim() {
                "aws_access_key_id" => id = Some(value.trim().to_owned()),
                "aws_secret_access_key" => secret = Some(SecretKey::new(value.trim().to_owned())),
                _ => {}
            }
        }
    }
    match (id, secret) {
        (Some(access_key_id), Some(secret))
            if !access_key_id.is_empty() && !secret.expose().is_empty() =>
        {
            Some(AdminKey {
                access_key_id,
                secret,
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bootstrap_then_reuse() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("data");
        let first = DataDir::open(&dir).unwrap();
        assert!(first.created());
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join(ROOT_KEY_FILE)), 0o600);
        assert_eq!(mode(&dir.join(CREDENTIALS_FILE)), 0o600);
        assert_eq!(fs::read(dir.join(ROOT_KEY_FILE)).unwrap().len(), 32);
        let admin = first.admin().clone();
        assert!(admin.access_key_id.starts_with("AKIA") && admin.access_key_id.len() == 20);
        assert_eq!(admin.secret.expose().len(), 40);
        let second = DataDir::open(&dir).unwrap();
        assert!(!second.created());
        assert_eq!(second.root_key().expose(), first.root_key().expose());
        assert_eq!(second.admin().access_key_id, admin.access_key_id);
        assert_eq!(second.admin().secret.expose(), admin.secret.expose());
        assert_eq!(format!("{:?}", first.root_key()), "RootKey([REDACTED])");
        // No temporary files are left behind.
        let names: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }

    #[test]
    fn loose_permissions_and_bad_files_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        DataDir::open(dir).unwrap();
        let key = dir.join(ROOT_KEY_FILE);
        fs::set_permissions(&key, Permissions::from_mode(0o644)).unwrap();
        let e = DataDir::open(dir).unwrap_err();
        assert!(
            matches!(e, DataDirError::Permissions { mode: 0o644, .. }),
            "{e}"
        );
        fs::set_permissions(&key, Permissions::from_mode(0o600)).unwrap();
        fs::write(&key, b"short").unwrap();
        let e = DataDir::open(dir).unwrap_err();
        assert!(
            matches!(e, DataDirError::RootKeyLength { len: 5, .. }),
            "{e}"
        );
        fs::remove_file(&key).unwrap();
        fs::write(
            dir.join(CREDENTIALS_FILE),
            "[default]\naws_access_key_id = x\n",
        )
        .unwrap();
        fs::set_permissions(dir.join(CREDENTIALS_FILE), Permissions::from_mode(0o600)).unwrap();
        let e = DataDir::open(dir).unwrap_err();
        assert!(matches!(e, DataDirError::Credentials { .. }), "{e}");
    }
}
