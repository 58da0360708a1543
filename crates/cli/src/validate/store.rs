//! Where `validate-logs` reads from: the [`Store`] trait and its offline implementations (a
//! local copy of a bucket, a tar archive of one). The online implementation is in
//! [`super::s3`].

use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine;
use sealtrail_integrity::gzip::GzipError;
use sealtrail_integrity::logfile::{LogHash, LogHasher};
use sealtrail_integrity::verify::{KeyRing, Metadata};
use sealtrail_integrity::walk::{FetchError, FetchedDigest, WalkFatal};
use sealtrail_model::UtcTime;
use sealtrail_store::LocalCopy;

/// How hashing a log file went: `None` when the object does not exist.
pub type LogRead = Option<Result<LogHash, GzipError>>;

/// The most a single log file may inflate to before it is reported as invalid (a gzip bomb).
pub const LOG_INFLATE_LIMIT: u64 = 64 << 30;

/// A bucket (or a copy of one) that validation reads.
pub trait Store: Clone + Send + Sync + 'static {
    /// ListObjects v1: keys under `prefix` after `marker`, ascending; `visit` may stop early.
    fn list(
        &self,
        bucket: &str,
        prefix: &str,
        marker: &str,
        visit: &mut (dyn FnMut(&str) -> ControlFlow<()> + Send),
    ) -> impl Future<Output = Result<(), WalkFatal>> + Send;

    /// Reads a digest object and its metadata.
    fn get_digest(
        &self,
        bucket: &str,
        key: &str,
    ) -> impl Future<Output = Result<FetchedDigest, FetchError>> + Send;

    /// Streams a log object through gunzip and SHA-256.
    fn hash_log(
        &self,
        bucket: &str,
        key: &str,
    ) -> impl Future<Output = Result<LogRead, WalkFatal>> + Send;

    /// ListPublicKeys.
    fn public_keys(
        &self,
        start: UtcTime,
        end: UtcTime,
    ) -> impl Future<Output = Result<KeyRing, WalkFatal>> + Send;
}

/// Hashes a file as a log file, in bounded memory. Each thread keeps its hasher and read
/// buffer between files: with thousands of small log files, allocating (and zeroing) them per
/// file costs more than the hashing.
///
/// # Errors
/// Read errors other than "not found" are fatal.
pub fn hash_file(path: &Path) -> Result<LogRead, WalkFatal> {
    thread_local! {
        static SCRATCH: std::cell::RefCell<Option<(LogHasher, Vec<u8>)>> = const { std::cell::RefCell::new(None) };
    }
    let mut f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(WalkFatal(format!("{}: {e}", path.display()))),
    };
    SCRATCH.with(|cell| {
        let mut slot = cell.borrow_mut();
        let (hasher, buf) =
            slot.get_or_insert_with(|| (LogHasher::new(LOG_INFLATE_LIMIT), vec![0u8; 256 * 1024]));
        hasher.reset(LOG_INFLATE_LIMIT);
        loop {
            let n = match f.read(buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(WalkFatal(format!("{}: {e}", path.display()))),
            };
            if let Err(e) = hasher.update(buf.get(..n).unwrap_or(&[])) {
                return Ok(Some(Err(e)));
            }
        }
        Ok(Some(Ok(hasher.finish_and_reset(LOG_INFLATE_LIMIT))))
    })
}

/// Public keys read from a file: the JSON `aws cloudtrail list-public-keys` prints (v1: epoch
/// numbers, v2: ISO strings; only `Value` and `Fingerprint` are used). Offline, every key in
/// the file is offered for every time range.
///
/// # Errors
/// A message naming the file and the problem.
pub fn read_public_keys(path: &Path) -> Result<Vec<(String, Vec<u8>)>, String> {
    let text = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let v: serde_json::Value =
        serde_json::from_slice(&text).map_err(|e| format!("{}: not JSON: {e}", path.display()))?;
    // The CLI prints `PublicKeyList`; the CloudTrail User Guide's sample says `publicKeyList`.
    let list = v
        .get("PublicKeyList")
        .or_else(|| v.get("publicKeyList"))
        .and_then(serde_json::Value::as_array)
        .ok_or_else(|| format!("{}: no `PublicKeyList` array (expected the output of `aws cloudtrail list-public-keys`)", path.display()))?;
    list.iter()
        .enumerate()
        .map(|(i, k)| {
            let value = k
                .get("Value")
                .and_then(serde_json::Value::as_str)
                .ok_or_else(|| {
                    format!(
                        "{}: PublicKeyList[{i}] has no string `Value`",
                        path.display()
                    )
                })?;
            let der = base64::engine::general_purpose::STANDARD
                .decode(value.trim())
                .map_err(|e| {
                    format!(
                        "{}: PublicKeyList[{i}].Value is not base64: {e}",
                        path.display()
                    )
                })?;
            let fp = k
                .get("Fingerprint")
                .and_then(serde_json::Value::as_str)
                .ok_or_else(|| {
                    format!(
                        "{}: PublicKeyList[{i}] has no string `Fingerprint`",
                        path.display()
                    )
                })?;
            Ok((fp.to_owned(), der))
        })
        .collect()
}

fn ring(keys: &[(String, Vec<u8>)]) -> KeyRing {
    let mut r = KeyRing::new();
    for (fp, der) in keys {
        r.insert(fp, der);
    }
    r
}

/// A local copy of one bucket (`--local DIR`).
#[derive(Clone)]
pub struct LocalStore {
    inner: Arc<LocalInner>,
}

struct LocalInner {
    copy: LocalCopy,
    bucket: String,
    keys: Vec<(String, Vec<u8>)>,
}

impl LocalStore {
    /// A store over `copy`, which holds bucket `bucket`.
    #[must_use]
    pub fn new(copy: LocalCopy, bucket: String, keys: Vec<(String, Vec<u8>)>) -> Self {
        Self {
            inner: Arc::new(LocalInner { copy, bucket, keys }),
        }
    }

    fn path(&self, bucket: &str, key: &str) -> Option<PathBuf> {
        (bucket == self.inner.bucket)
            .then(|| self.inner.copy.object_path(key))
            .flatten()
    }
}

impl Store for LocalStore {
    async fn list(
        &self,
        bucket: &str,
        prefix: &str,
        marker: &str,
        visit: &mut (dyn FnMut(&str) -> ControlFlow<()> + Send),
    ) -> Result<(), WalkFatal> {
        if bucket != self.inner.bucket {
            return Err(WalkFatal(format!(
                "An error occurred (NoSuchBucket) when calling the ListObjects operation: the local copy holds bucket {}, not {bucket}",
                self.inner.bucket
            )));
        }
        self.inner
            .copy
            .list(prefix, marker, &mut |k| visit(k))
            .map_err(|e| WalkFatal(e.to_string()))
    }

    async fn get_digest(&self, bucket: &str, key: &str) -> Result<FetchedDigest, FetchError> {
        let Some(path) = self.path(bucket, key) else {
            return Err(FetchError::NotFound);
        };
        // Page-cache reads of two small files: done on the worker, like the log files.
        let body = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(FetchError::NotFound);
            }
            Err(e) => return Err(FetchError::Fatal(format!("{}: {e}", path.display()))),
        };
        let metadata = if self.inner.copy.source().is_some() {
            let info = self
                .inner
                .copy
                .info(key)
                .map_err(|e| FetchError::Fatal(e.to_string()))?;
            Metadata::Known(info.map(|i| i.metadata).unwrap_or_default())
        } else {
            Metadata::Unknown
        };
        Ok(FetchedDigest::new(body, metadata))
    }

    async fn hash_log(&self, bucket: &str, key: &str) -> Result<LogRead, WalkFatal> {
        let Some(path) = self.path(bucket, key) else {
            return Ok(None);
        };
        // Local reads are page-cache reads: hashing on the runtime's worker (one per CPU)
        // saves a thread hand-off per file, which matters with thousands of small files.
        hash_file(&path)
    }

    async fn public_keys(&self, _start: UtcTime, _end: UtcTime) -> Result<KeyRing, WalkFatal> {
        Ok(ring(&self.inner.keys))
    }
}

/// A tar (or tar.gz) archive of a bucket copy (`--archive FILE`), read in one pass: digests
/// and their metadata are kept, log files are hashed as they stream by.
#[derive(Clone)]
pub struct ArchiveStore {
    inner: Arc<ArchiveInner>,
}

struct ArchiveInner {
    bucket: String,
    /// Full S3 key → body.
    digests: HashMap<String, Vec<u8>>,
    /// Full S3 key → metadata (sync copies only).
    metadata: Option<HashMap<String, std::collections::BTreeMap<String, String>>>,
    /// Full S3 key → log hash outcome.
    logs: HashMap<String, Result<LogHash, GzipError>>,
    /// Every key, sorted.
    keys: Vec<String>,
    public_keys: Vec<(String, Vec<u8>)>,
}

/// What the archive turned out to hold.
#[derive(Debug, Clone)]
pub struct ArchiveSummary {
    /// Bucket named by the archive's sync record, if any.
    pub bucket: Option<String>,
    /// Files read.
    pub files: u64,
}

impl ArchiveStore {
    /// Reads `path` (`.tar`, `.tar.gz` or `.tgz`). Entries are mapped to keys relative to the
    /// directory holding `AWSLogs/` (or the sync record), prefixed with `key_prefix`.
    ///
    /// # Errors
    /// A message when the archive cannot be read.
    pub fn open(
        path: &Path,
        bucket: Option<&str>,
        key_prefix: &str,
        public_keys: Vec<(String, Vec<u8>)>,
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<(Self, ArchiveSummary), String> {
        let file = File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let name = path.to_string_lossy();
        let reader: Box<dyn Read> = if name.ends_with(".gz") || name.ends_with(".tgz") {
            Box::new(flate2::read::MultiGzDecoder::new(
                std::io::BufReader::with_capacity(1 << 20, file),
            ))
        } else {
            Box::new(std::io::BufReader::with_capacity(1 << 20, file))
        };
        let mut archive = tar::Archive::new(reader);
        let mut digests: HashMap<String, Vec<u8>> = HashMap::new();
        let mut sidecars: HashMap<String, Vec<u8>> = HashMap::new();
        let mut logs: HashMap<String, Result<LogHash, GzipError>> = HashMap::new();
        let mut source: Option<(String, sealtrail_store::CopySource)> = None;
        let mut files = 0u64;
        let entries = archive
            .entries()
            .map_err(|e| format!("{}: {e}", path.display()))?;
        for entry in entries {
            let mut entry = entry.map_err(|e| format!("{}: {e}", path.display()))?;
            if !entry.header().entry_type().is_file() {
                continue;
            }
            let entry_path = entry
                .path()
                .map_err(|e| format!("{}: {e}", path.display()))?
                .to_string_lossy()
                .trim_start_matches("./")
                .to_owned();
            files += 1;
            progress(files);
            if let Some(root) = entry_path.strip_suffix(".sealtrail-sync/source.json") {
                let mut buf = Vec::new();
                entry
                    .read_to_end(&mut buf)
                    .map_err(|e| format!("{entry_path}: {e}"))?;
                let s: sealtrail_store::CopySource =
                    serde_json::from_slice(&buf).map_err(|e| format!("{entry_path}: {e}"))?;
                source = Some((root.to_owned(), s));
            } else if entry_path.contains(".sealtrail-sync/meta/")
                && entry_path.contains("/CloudTrail-Digest/")
            {
                let mut buf = Vec::new();
                entry
                    .read_to_end(&mut buf)
                    .map_err(|e| format!("{entry_path}: {e}"))?;
                sidecars.insert(entry_path, buf);
            } else if entry_path.contains(".sealtrail-sync/") {
                continue;
            } else if entry_path.contains("/CloudTrail-Digest/")
                || entry_path.starts_with("CloudTrail-Digest/")
            {
                let mut buf = Vec::new();
                entry
                    .read_to_end(&mut buf)
                    .map_err(|e| format!("{entry_path}: {e}"))?;
                digests.insert(entry_path, buf);
            } else if entry_path.contains("CloudTrail/") && entry_path.ends_with(".gz") {
                let mut hasher = LogHasher::new(LOG_INFLATE_LIMIT);
                let mut buf = vec![0u8; 256 * 1024];
                let outcome = loop {
                    let n = entry
                        .read(&mut buf)
                        .map_err(|e| format!("{entry_path}: {e}"))?;
                    if n == 0 {
                        break Ok(hasher.finish());
                    }
                    if let Err(e) = hasher.update(buf.get(..n).unwrap_or(&[])) {
                        // Drain the rest of the entry; the tar reader skips it anyway.
                        break Err(e);
                    }
                };
                logs.insert(entry_path, outcome);
            }
        }
        // Map archive paths to S3 keys.
        let (root, key_prefix, bucket_from_archive) = match &source {
            Some((root, s)) => (root.clone(), s.prefix.clone(), Some(s.bucket.clone())),
            None => {
                let root = digests
                    .keys()
                    .chain(logs.keys())
                    .find_map(|p| {
                        p.find("AWSLogs/")
                            .map(|i| p.get(..i).unwrap_or("").to_owned())
                    })
                    .unwrap_or_default();
                (root, key_prefix.to_owned(), None)
            }
        };
        let to_key = |p: &str| {
            p.strip_prefix(root.as_str())
                .map(|rel| format!("{key_prefix}{rel}"))
        };
        let digests: HashMap<String, Vec<u8>> = digests
            .into_iter()
            .filter_map(|(p, b)| to_key(&p).map(|k| (k, b)))
            .collect();
        let logs: HashMap<String, Result<LogHash, GzipError>> = logs
            .into_iter()
            .filter_map(|(p, o)| to_key(&p).map(|k| (k, o)))
            .collect();
        let metadata = source.as_ref().map(|_| {
            sidecars
                .into_values()
                .filter_map(|bytes| {
                    serde_json::from_slice::<sealtrail_store::ObjectInfo>(&bytes).ok()
                })
                .map(|info| (info.key, info.metadata))
                .collect::<HashMap<_, _>>()
        });
        let mut keys: Vec<String> = digests.keys().chain(logs.keys()).cloned().collect();
        keys.sort_unstable();
        let bucket = bucket
            .map(str::to_owned)
            .or_else(|| bucket_from_archive.clone())
            .ok_or("--s3-bucket is required with an archive that `sealtrail sync` did not make")?;
        Ok((
            Self {
                inner: Arc::new(ArchiveInner {
                    bucket,
                    digests,
                    metadata,
                    logs,
                    keys,
                    public_keys,
                }),
            },
            ArchiveSummary {
                bucket: bucket_from_archive,
                files,
            },
        ))
    }
}

impl ArchiveStore {
    /// The bucket the archive is validated as.
    #[must_use]
    pub fn bucket(&self) -> &str {
        &self.inner.bucket
    }
}

impl Store for ArchiveStore {
    async fn list(
        &self,
        bucket: &str,
        prefix: &str,
        marker: &str,
        visit: &mut (dyn FnMut(&str) -> ControlFlow<()> + Send),
    ) -> Result<(), WalkFatal> {
        if bucket != self.inner.bucket {
            return Ok(());
        }
        let start = self.inner.keys.partition_point(|k| k.as_str() <= marker);
        for k in self.inner.keys.get(start..).unwrap_or(&[]) {
            if k.starts_with(prefix) && visit(k).is_break() {
                break;
            }
        }
        Ok(())
    }

    async fn get_digest(&self, bucket: &str, key: &str) -> Result<FetchedDigest, FetchError> {
        if bucket != self.inner.bucket {
            return Err(FetchError::NotFound);
        }
        let body = self
            .inner
            .digests
            .get(key)
            .ok_or(FetchError::NotFound)?
            .clone();
        let metadata = match &self.inner.metadata {
            Some(m) => Metadata::Known(m.get(key).cloned().unwrap_or_default()),
            None => Metadata::Unknown,
        };
        Ok(FetchedDigest::new(body, metadata))
    }

    async fn hash_log(&self, bucket: &str, key: &str) -> Result<LogRead, WalkFatal> {
        if bucket != self.inner.bucket {
            return Ok(None);
        }
        Ok(self.inner.logs.get(key).cloned())
    }

    async fn public_keys(&self, _start: UtcTime, _end: UtcTime) -> Result<KeyRing, WalkFatal> {
        Ok(ring(&self.inner.public_keys))
    }
}
