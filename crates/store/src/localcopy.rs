//! The local copy of a bucket.
//!
//! ```text
//! DIR/<key relative to the synced prefix>            the object, mtime = S3 LastModified
//! DIR/.sealtrail-sync/source.json                     {"bucket": ..., "prefix": ...}
//! DIR/.sealtrail-sync/meta/<relative key>.json        size, ETag, LastModified, metadata
//! DIR/.sealtrail-sync/unsafe/<sha256(key)>            objects whose key is not a safe path
//! DIR/.sealtrail-sync/unsafe-meta/<sha256(key)>.json  and their metadata (with the key)
//! ```
//!
//! A directory without `.sealtrail-sync/` is a *plain* copy (as `aws s3 sync` makes): objects
//! only, metadata unknown.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::ops::ControlFlow;
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

const SYNC_DIR: &str = ".sealtrail-sync";
/// The name prefix of every temporary file a writer creates (never listed as an object, and
/// removed by the next writer if a killed one left it).
pub const TMP_MARK: &str = ".sealtrail-tmp-";

/// Errors reading or writing a local copy.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    /// An I/O error on a path.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// A metadata file that does not parse.
    #[error("{path}: corrupt metadata file: {reason}")]
    Corrupt {
        /// The path.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Another writer (a running `sealtrail sync`) holds the copy.
    #[error("`{0}` is being written by another sealtrail sync")]
    Busy(PathBuf),
    /// The directory is a copy of another bucket or prefix.
    #[error("`{dir}` is a copy of s3://{existing}, not of s3://{requested}")]
    OtherSource {
        /// The directory.
        dir: PathBuf,
        /// What it holds.
        existing: String,
        /// What was asked.
        requested: String,
    },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> CopyError + '_ {
    move |source| CopyError::Io {
        path: path.to_owned(),
        source,
    }
}

/// What a sync copy is a copy of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CopySource {
    /// The bucket.
    pub bucket: String,
    /// The key prefix that was synced (empty for the whole bucket); keys below it are stored
    /// relative to it, as `aws s3 sync s3://BUCKET/PREFIX DIR` does.
    pub prefix: String,
}

/// What S3 said about an object, kept beside it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectInfo {
    /// The full S3 key.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// The ETag, quotes included, as S3 returned it.
    #[serde(default)]
    pub etag: Option<String>,
    /// `Last-Modified`, as S3 returned it.
    #[serde(default)]
    pub last_modified: Option<String>,
    /// User metadata: names without `x-amz-meta-`, as received.
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
}

/// Whether `rel` can be stored as a relative path as it is: no empty, `.` or `..` segments,
/// no NUL, no backslash, no segment over 255 bytes, not in the copy's own folder.
#[must_use]
pub fn is_safe_relative_key(rel: &str) -> bool {
    !rel.is_empty()
        && !rel.contains(['\0', '\\'])
        && rel.split('/').all(|seg| {
            !seg.is_empty()
                && seg != "."
                && seg != ".."
                && seg.len() <= 255
                && !seg.starts_with(TMP_MARK)
        })
        && !rel.starts_with(SYNC_DIR)
        && Path::new(rel)
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
}

fn key_hash(key: &str) -> String {
    hex::encode(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        key.as_bytes(),
    ))
}

/// A local copy opened for reading.
#[derive(Debug, Clone)]
pub struct LocalCopy {
    root: PathBuf,
    source: Option<CopySource>,
    /// The part of every S3 key that the directory does not represent.
    key_prefix: String,
}

impl LocalCopy {
    /// Opens `root`. A sync copy knows its bucket and prefix; a plain copy is read as a copy
    /// of `plain_key_prefix` (the part of the keys above the directory, e.g. `pfx/` when the
    /// user ran `aws s3 sync s3://bucket/pfx DIR`).
    ///
    /// # Errors
    /// [`CopyError`] when `root` is not a readable directory or its `source.json` is corrupt.
    pub fn open(root: &Path, plain_key_prefix: &str) -> Result<Self, CopyError> {
        let meta = fs::metadata(root).map_err(io_err(root))?;
        if !meta.is_dir() {
            return Err(CopyError::Io {
                path: root.to_owned(),
                source: io::Error::new(io::ErrorKind::NotADirectory, "not a directory"),
            });
        }
        let source_path = root.join(SYNC_DIR).join("source.json");
        let source = match fs::read(&source_path) {
            Ok(bytes) => Some(serde_json::from_slice::<CopySource>(&bytes).map_err(|e| {
                CopyError::Corrupt {
                    path: source_path.clone(),
                    reason: e.to_string(),
                }
            })?),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(io_err(&source_path)(e)),
        };
        let key_prefix = match &source {
            Some(s) => s.prefix.clone(),
            None => plain_key_prefix.to_owned(),
        };
        Ok(Self {
            root: root.to_owned(),
            source,
            key_prefix,
        })
    }

    /// The directory.
    #[must_use]
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// What a sync copy is a copy of; `None` for a plain copy.
    #[must_use]
    pub fn source(&self) -> Option<&CopySource> {
        self.source.as_ref()
    }

    /// The part of the S3 keys above the directory.
    #[must_use]
    pub fn key_prefix(&self) -> &str {
        &self.key_prefix
    }

    fn relative<'k>(&self, key: &'k str) -> Option<&'k str> {
        key.strip_prefix(self.key_prefix.as_str())
    }

    /// The file holding object `key`, if the key lies under this copy.
    #[must_use]
    pub fn object_path(&self, key: &str) -> Option<PathBuf> {
        let rel = self.relative(key)?;
        if is_safe_relative_key(rel) {
            Some(self.root.join(rel))
        } else if self.source.is_some() {
            Some(self.root.join(SYNC_DIR).join("unsafe").join(key_hash(key)))
        } else {
            None
        }
    }

    fn info_path(&self, key: &str) -> Option<PathBuf> {
        let rel = self.relative(key)?;
        let sync = self.root.join(SYNC_DIR);
        if is_safe_relative_key(rel) {
            Some(sync.join("meta").join(format!("{rel}.json")))
        } else {
            Some(
                sync.join("unsafe-meta")
                    .join(format!("{}.json", key_hash(key))),
            )
        }
    }

    /// What S3 said about `key`, for a sync copy. `Ok(None)` when the copy is plain or has no
    /// record of the key.
    ///
    /// # Errors
    /// [`CopyError`] when the record exists but cannot be read or parsed.
    pub fn info(&self, key: &str) -> Result<Option<ObjectInfo>, CopyError> {
        if self.source.is_none() {
            return Ok(None);
        }
        let Some(path) = self.info_path(key) else {
            return Ok(None);
        };
        match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| CopyError::Corrupt {
                    path,
                    reason: e.to_string(),
                }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_err(&path)(e)),
        }
    }

    /// Lists keys as S3 ListObjects would: every object whose full key starts with `prefix`
    /// and sorts strictly after `marker`, in ascending byte order. `visit` may stop early.
    ///
    /// # Errors
    /// [`CopyError`] on an unreadable directory.
    pub fn list(
        &self,
        prefix: &str,
        marker: &str,
        visit: &mut dyn FnMut(&str) -> ControlFlow<()>,
    ) -> Result<(), CopyError> {
        let mut keys = Vec::new();
        // The directory that holds every key with this prefix.
        let (rel_prefix, base) = match prefix.strip_prefix(self.key_prefix.as_str()) {
            Some(r) => (r.to_owned(), String::new()),
            None if self.key_prefix.starts_with(prefix) => (String::new(), String::new()),
            None => return Ok(()),
        };
        let _ = base;
        let dir_part = rel_prefix
            .rfind('/')
            .map_or("", |i| rel_prefix.get(..i).unwrap_or(""));
        let start_dir = if dir_part.is_empty() {
            self.root.clone()
        } else {
            self.root.join(dir_part)
        };
        if dir_part.is_empty() || is_safe_relative_key(dir_part) {
            collect_files(&start_dir, dir_part, &mut keys)?;
        }
        // Objects with unsafe keys, recorded in the sync folder.
        if self.source.is_some() {
            let unsafe_meta = self.root.join(SYNC_DIR).join("unsafe-meta");
            match fs::read_dir(&unsafe_meta) {
                Ok(entries) => {
                    for e in entries {
                        let e = e.map_err(io_err(&unsafe_meta))?;
                        let path = e.path();
                        if let Ok(bytes) = fs::read(&path)
                            && let Ok(info) = serde_json::from_slice::<ObjectInfo>(&bytes)
                            && let Some(rel) = info.key.strip_prefix(self.key_prefix.as_str())
                        {
                            keys.push(rel.to_owned());
                        }
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_err(&unsafe_meta)(e)),
            }
        }
        let mut full: Vec<String> = keys
            .into_iter()
            .map(|rel| format!("{}{rel}", self.key_prefix))
            .filter(|k| k.starts_with(prefix) && k.as_str() > marker)
            .collect();
        full.sort_unstable();
        full.dedup();
        for k in &full {
            if visit(k).is_break() {
                break;
            }
        }
        Ok(())
    }
}

fn collect_files(dir: &Path, rel: &str, out: &mut Vec<String>) -> Result<(), CopyError> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e)
            if e.kind() == io::ErrorKind::NotFound || e.kind() == io::ErrorKind::NotADirectory =>
        {
            return Ok(());
        }
        Err(e) => return Err(io_err(dir)(e)),
    };
    for entry in entries {
        let entry = entry.map_err(io_err(dir))?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        if (rel.is_empty() && name == SYNC_DIR) || name.starts_with(TMP_MARK) {
            continue;
        }
        let child_rel = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        let ft = entry.file_type().map_err(io_err(&entry.path()))?;
        if ft.is_dir() {
            collect_files(&entry.path(), &child_rel, out)?;
        } else if ft.is_file() {
            out.push(child_rel);
        }
    }
    Ok(())
}

/// Writes a sync copy, crash-safely: each record and each object goes to a temporary file,
/// is `fsync`ed and renamed into place, the record before the object, so that an object on
/// disk always has its metadata and a `kill -9` leaves at worst a missing object.
#[derive(Debug)]
pub struct LocalCopyWriter {
    copy: LocalCopy,
    dirty_dirs: std::sync::Mutex<std::collections::BTreeSet<PathBuf>>,
    counter: std::sync::atomic::AtomicU64,
    /// Held (an exclusive file lock) while this writer lives: one writer per copy.
    _lock: File,
}

impl LocalCopyWriter {
    /// Creates (or reopens) a sync copy of `source` in `root`, taking an exclusive lock on
    /// it and removing the temporary files a killed writer may have left.
    ///
    /// # Errors
    /// [`CopyError::OtherSource`] when `root` already holds a copy of something else;
    /// [`CopyError::Busy`] when another writer holds the copy; [`CopyError::Io`] on I/O
    /// errors.
    pub fn create(root: &Path, source: &CopySource) -> Result<Self, CopyError> {
        let sync = root.join(SYNC_DIR);
        fs::create_dir_all(&sync).map_err(io_err(&sync))?;
        let lock_path = sync.join("lock");
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io_err(&lock_path))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => return Err(CopyError::Busy(root.to_owned())),
            Err(fs::TryLockError::Error(e)) => return Err(io_err(&lock_path)(e)),
        }
        remove_temporaries(root)?;
        let source_path = sync.join("source.json");
        match fs::read(&source_path) {
            Ok(bytes) => {
                let existing: CopySource =
                    serde_json::from_slice(&bytes).map_err(|e| CopyError::Corrupt {
                        path: source_path.clone(),
                        reason: e.to_string(),
                    })?;
                if &existing != source {
                    return Err(CopyError::OtherSource {
                        dir: root.to_owned(),
                        existing: format!("{}/{}", existing.bucket, existing.prefix),
                        requested: format!("{}/{}", source.bucket, source.prefix),
                    });
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let bytes = serde_json::to_vec_pretty(source).map_err(|e| CopyError::Corrupt {
                    path: source_path.clone(),
                    reason: e.to_string(),
                })?;
                atomic_write(&source_path, &mut bytes.as_slice(), 0)?;
                sync_dir(&sync)?;
            }
            Err(e) => return Err(io_err(&source_path)(e)),
        }
        Ok(Self {
            copy: LocalCopy::open(root, "")?,
            dirty_dirs: std::sync::Mutex::new(std::collections::BTreeSet::new()),
            counter: std::sync::atomic::AtomicU64::new(0),
            _lock: lock,
        })
    }

    /// The copy being written (for reading what is already there).
    #[must_use]
    pub fn copy(&self) -> &LocalCopy {
        &self.copy
    }

    /// Whether the object is already in the copy with this ETag and size.
    ///
    /// # Errors
    /// [`CopyError`] when its record cannot be read.
    pub fn is_current(&self, key: &str, etag: Option<&str>, size: u64) -> Result<bool, CopyError> {
        let Some(info) = self.copy.info(key)? else {
            return Ok(false);
        };
        let Some(path) = self.copy.object_path(key) else {
            return Ok(false);
        };
        let on_disk = fs::metadata(&path).map(|m| m.len()).ok();
        Ok(info.size == size
            && on_disk == Some(size)
            && etag.is_some()
            && info.etag.as_deref() == etag)
    }

    /// Stores one object and its record. `data` must yield exactly `info.size` bytes. Safe to
    /// call from several threads at once.
    ///
    /// # Errors
    /// [`CopyError`] on I/O errors, or when the key lies outside the copied prefix.
    pub fn put(
        &self,
        info: &ObjectInfo,
        data: &mut dyn Read,
        mtime: Option<std::time::SystemTime>,
    ) -> Result<(), CopyError> {
        let (Some(obj), Some(meta)) = (
            self.copy.object_path(&info.key),
            self.copy.info_path(&info.key),
        ) else {
            return Err(CopyError::Corrupt {
                path: self.copy.root.clone(),
                reason: format!("key `{}` is outside the copied prefix", info.key),
            });
        };
        let n = self
            .counter
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let record = serde_json::to_vec(info).map_err(|e| CopyError::Corrupt {
            path: meta.clone(),
            reason: e.to_string(),
        })?;
        for p in [&meta, &obj] {
            if let Some(parent) = p.parent() {
                fs::create_dir_all(parent).map_err(io_err(parent))?;
                self.dirty_dirs
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .insert(parent.to_owned());
            }
        }
        atomic_write(&meta, &mut record.as_slice(), n)?;
        let written = atomic_write_with_mtime(&obj, data, n, mtime)?;
        if written != info.size {
            let _ = fs::remove_file(&obj);
            return Err(CopyError::Io {
                path: obj,
                source: io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("expected {} bytes, got {written}", info.size),
                ),
            });
        }
        Ok(())
    }

    /// Makes the renames durable (fsyncs every directory written to).
    ///
    /// # Errors
    /// [`CopyError::Io`] when a directory cannot be synced.
    pub fn finish(self) -> Result<(), CopyError> {
        let dirs = self
            .dirty_dirs
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for d in dirs {
            sync_dir(&d)?;
        }
        Ok(())
    }
}

/// Removes the temporary files of writers that died (`kill -9`) before renaming them; only
/// called under the copy's lock, so no live writer owns them.
fn remove_temporaries(dir: &Path) -> Result<(), CopyError> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_err(dir)(e)),
    };
    for entry in entries {
        let entry = entry.map_err(io_err(dir))?;
        let path = entry.path();
        let ft = entry.file_type().map_err(io_err(&path))?;
        if ft.is_dir() {
            remove_temporaries(&path)?;
        } else if entry.file_name().to_string_lossy().starts_with(TMP_MARK) {
            fs::remove_file(&path).map_err(io_err(&path))?;
        }
    }
    Ok(())
}

fn tmp_path(target: &Path, n: u64) -> PathBuf {
    let name = target
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("object");
    let short: String = name.chars().take(64).collect();
    target.with_file_name(format!("{TMP_MARK}{}-{n}-{short}", std::process::id()))
}

fn atomic_write(target: &Path, data: &mut dyn Read, n: u64) -> Result<u64, CopyError> {
    atomic_write_with_mtime(target, data, n, None)
}

fn atomic_write_with_mtime(
    target: &Path,
    data: &mut dyn Read,
    n: u64,
    mtime: Option<std::time::SystemTime>,
) -> Result<u64, CopyError> {
    let tmp = tmp_path(target, n);
    let result = (|| {
        let mut f = File::create(&tmp)?;
        let written = io::copy(data, &mut f)?;
        f.flush()?;
        if let Some(t) = mtime {
            f.set_modified(t)?;
        }
        f.sync_all()?;
        fs::rename(&tmp, target)?;
        Ok(written)
    })();
    result.map_err(|e| {
        let _ = fs::remove_file(&tmp);
        io_err(target)(e)
    })
}

fn sync_dir(dir: &Path) -> Result<(), CopyError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(key: &str, data: &[u8], meta: &[(&str, &str)]) -> ObjectInfo {
        ObjectInfo {
            key: key.into(),
            size: data.len() as u64,
            etag: Some(format!("\"{}\"", data.len())),
            last_modified: None,
            metadata: meta
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        }
    }

    #[test]
    fn safe_keys() {
        assert!(is_safe_relative_key("AWSLogs/1/x.json.gz"));
        for bad in [
            "",
            "/abs",
            "a//b",
            "a/../b",
            "./a",
            "a/",
            ".sealtrail-sync/x",
            "a\\b",
            "a\0b",
        ] {
            assert!(!is_safe_relative_key(bad), "{bad:?}");
        }
    }

    #[test]
    fn write_read_list_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let src = CopySource {
            bucket: "b".into(),
            prefix: "pfx/".into(),
        };
        let w = LocalCopyWriter::create(dir.path(), &src).unwrap();
        let objs = [
            ("pfx/a-c", &b"1"[..], vec![]),
            ("pfx/a/b", &b"22"[..], vec![("signature", "ab")]),
            ("pfx/odd/../key", &b"333"[..], vec![]),
        ];
        for (k, d, m) in &objs {
            w.put(&info(k, d, m), &mut &d[..], None).unwrap();
        }
        assert!(w.is_current("pfx/a/b", Some("\"2\""), 2).unwrap());
        assert!(!w.is_current("pfx/a/b", Some("\"9\""), 2).unwrap());
        w.finish().unwrap();

        let copy = LocalCopy::open(dir.path(), "ignored").unwrap();
        assert_eq!(copy.source(), Some(&src));
        assert_eq!(
            fs::read(copy.object_path("pfx/a/b").unwrap()).unwrap(),
            b"22"
        );
        assert_eq!(
            copy.info("pfx/a/b").unwrap().unwrap().metadata["signature"],
            "ab"
        );
        assert_eq!(
            fs::read(copy.object_path("pfx/odd/../key").unwrap()).unwrap(),
            b"333"
        );
        let mut listed = Vec::new();
        copy.list("pfx/", "", &mut |k| {
            listed.push(k.to_owned());
            ControlFlow::Continue(())
        })
        .unwrap();
        // S3 byte order: `-` (0x2d) before `/` (0x2f).
        assert_eq!(listed, ["pfx/a-c", "pfx/a/b", "pfx/odd/../key"]);
        let mut after = Vec::new();
        copy.list("pfx/a", "pfx/a-c", &mut |k| {
            after.push(k.to_owned());
            ControlFlow::Continue(())
        })
        .unwrap();
        assert_eq!(after, ["pfx/a/b"]);
        // Another source is refused.
        let other = CopySource {
            bucket: "c".into(),
            prefix: String::new(),
        };
        assert!(matches!(
            LocalCopyWriter::create(dir.path(), &other),
            Err(CopyError::OtherSource { .. })
        ));
    }

    #[test]
    fn plain_copy_has_no_metadata() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("AWSLogs")).unwrap();
        fs::write(dir.path().join("AWSLogs/x"), b"1").unwrap();
        let copy = LocalCopy::open(dir.path(), "pfx/").unwrap();
        assert!(copy.source().is_none());
        assert_eq!(copy.info("pfx/AWSLogs/x").unwrap(), None);
        assert_eq!(
            copy.object_path("pfx/AWSLogs/x").unwrap(),
            dir.path().join("AWSLogs/x")
        );
        assert_eq!(copy.object_path("other/AWSLogs/x"), None);
        assert_eq!(copy.object_path("pfx/../x"), None);
    }
}

#[cfg(test)]
mod writer_tests {
    use super::*;

    #[test]
    fn one_writer_at_a_time_and_stale_temporaries_go() {
        let dir = tempfile::tempdir().unwrap();
        let src = CopySource {
            bucket: "b".into(),
            prefix: String::new(),
        };
        std::fs::create_dir_all(dir.path().join("AWSLogs")).unwrap();
        let stale = dir
            .path()
            .join("AWSLogs")
            .join(format!("{TMP_MARK}123-4-x.json.gz"));
        std::fs::write(&stale, b"half").unwrap();
        let first = LocalCopyWriter::create(dir.path(), &src).unwrap();
        assert!(!stale.exists(), "a killed writer's temporary is removed");
        assert!(matches!(
            LocalCopyWriter::create(dir.path(), &src),
            Err(CopyError::Busy(_))
        ));
        drop(first);
        assert!(LocalCopyWriter::create(dir.path(), &src).is_ok());
    }
}
