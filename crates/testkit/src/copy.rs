//! Writing generated buckets to disk: as a `sealtrail sync` copy (objects and their S3
//! metadata) or as a plain copy (objects only, as `aws s3 sync` leaves them).

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use sealtrail_store::{CopySource, LocalCopyWriter, ObjectInfo};

use crate::generate::ObjectSink;

/// A sink that writes a local copy of the generated bucket.
pub struct CopySink {
    writer: Option<LocalCopyWriter>,
    plain: Option<PathBuf>,
    keys: Vec<(String, Vec<u8>)>,
    mtime: SystemTime,
}

impl CopySink {
    /// A `sealtrail sync` copy of `bucket` in `dir`.
    ///
    /// # Errors
    /// When the directory cannot be prepared.
    pub fn sync(dir: &Path, bucket: &str, mtime: SystemTime) -> anyhow::Result<Self> {
        Ok(Self {
            writer: Some(LocalCopyWriter::create(
                dir,
                &CopySource {
                    bucket: bucket.to_owned(),
                    prefix: String::new(),
                },
            )?),
            plain: None,
            keys: vec![],
            mtime,
        })
    }

    /// A plain copy in `dir`: objects only.
    #[must_use]
    pub fn plain(dir: &Path, mtime: SystemTime) -> Self {
        Self {
            writer: None,
            plain: Some(dir.to_owned()),
            keys: vec![],
            mtime,
        }
    }

    /// Makes the copy durable; returns the published keys (fingerprint, PKCS#1 DER).
    ///
    /// # Errors
    /// When syncing the directories fails.
    pub fn finish(mut self) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
        if let Some(w) = self.writer.take() {
            w.finish()?;
        }
        Ok(self.keys)
    }
}

impl ObjectSink for CopySink {
    fn put(
        &mut self,
        _bucket: &str,
        key: &str,
        body: &[u8],
        metadata: &[(String, String)],
    ) -> anyhow::Result<()> {
        if let Some(w) = &self.writer {
            let info = ObjectInfo {
                key: key.to_owned(),
                size: body.len() as u64,
                etag: Some(format!(
                    "\"{}\"",
                    sealtrail_integrity::sign::fingerprint(body)
                )),
                last_modified: None,
                metadata: metadata.iter().cloned().collect(),
            };
            w.put(&info, &mut &body[..], Some(self.mtime))?;
        } else if let Some(root) = &self.plain {
            let path = root.join(key);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&path, body)?;
        }
        Ok(())
    }

    fn publish_key(&mut self, fingerprint: &str, der: &[u8]) -> anyhow::Result<()> {
        self.keys.push((fingerprint.to_owned(), der.to_vec()));
        Ok(())
    }
}
