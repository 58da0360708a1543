//! An in-memory bucket: a sink for the generator and a [`DigestSource`] for the walker, so
//! tests run the real validation code without I/O.

use std::collections::{BTreeMap, HashMap};
use std::ops::ControlFlow;

use sealtrail_integrity::verify::{KeyRing, Metadata};
use sealtrail_integrity::walk::{DigestSource, FetchError, FetchedDigest, WalkFatal};
use sealtrail_model::UtcTime;

use crate::generate::ObjectSink;

/// One stored object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredObject {
    /// The bytes.
    pub body: Vec<u8>,
    /// User metadata (names without `x-amz-meta-`).
    pub metadata: BTreeMap<String, String>,
}

/// Buckets of objects in memory, plus the public keys a ListPublicKeys would return.
#[derive(Debug, Clone, Default)]
pub struct MemoryBucket {
    /// `(bucket, key)` → object, ordered as S3 lists.
    pub objects: BTreeMap<(String, String), StoredObject>,
    /// Published keys: fingerprint → PKCS#1 DER.
    pub public_keys: Vec<(String, Vec<u8>)>,
    /// Keys whose reads fail with this S3 error text (fatal), for error-path tests.
    pub fail_reads: HashMap<(String, String), String>,
    /// When set, the metadata of every object reads as unknown (a plain `aws s3 sync` copy).
    pub drop_metadata: bool,
}

impl MemoryBucket {
    /// An empty bucket set.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The object, if present.
    #[must_use]
    pub fn get(&self, bucket: &str, key: &str) -> Option<&StoredObject> {
        self.objects.get(&(bucket.to_owned(), key.to_owned()))
    }

    /// The object for changing, if present.
    pub fn get_mut(&mut self, bucket: &str, key: &str) -> Option<&mut StoredObject> {
        self.objects.get_mut(&(bucket.to_owned(), key.to_owned()))
    }

    /// Removes an object.
    pub fn remove(&mut self, bucket: &str, key: &str) -> Option<StoredObject> {
        self.objects.remove(&(bucket.to_owned(), key.to_owned()))
    }

    /// Every key of `bucket`, in S3 order.
    #[must_use]
    pub fn keys(&self, bucket: &str) -> Vec<String> {
        self.objects
            .keys()
            .filter(|(b, _)| b == bucket)
            .map(|(_, k)| k.clone())
            .collect()
    }
}

impl ObjectSink for MemoryBucket {
    fn put(
        &mut self,
        bucket: &str,
        key: &str,
        body: &[u8],
        metadata: &[(String, String)],
    ) -> anyhow::Result<()> {
        self.objects.insert(
            (bucket.to_owned(), key.to_owned()),
            StoredObject {
                body: body.to_vec(),
                metadata: metadata.iter().cloned().collect(),
            },
        );
        Ok(())
    }

    fn publish_key(&mut self, fingerprint: &str, der: &[u8]) -> anyhow::Result<()> {
        if !self.public_keys.iter().any(|(f, _)| f == fingerprint) {
            self.public_keys
                .push((fingerprint.to_owned(), der.to_vec()));
        }
        Ok(())
    }
}

impl DigestSource for MemoryBucket {
    fn list(
        &mut self,
        bucket: &str,
        prefix: &str,
        marker: &str,
        visit: &mut (dyn FnMut(&str) -> ControlFlow<()> + Send),
    ) -> Result<(), WalkFatal> {
        let from = (bucket.to_owned(), marker.to_owned());
        for (b, k) in self.objects.range(from..).map(|(k, _)| k) {
            if b != bucket {
                break;
            }
            if k.as_str() <= marker || !k.starts_with(prefix) {
                continue;
            }
            if visit(k).is_break() {
                break;
            }
        }
        Ok(())
    }

    fn fetch(&mut self, bucket: &str, key: &str) -> Result<FetchedDigest, FetchError> {
        if let Some(msg) = self.fail_reads.get(&(bucket.to_owned(), key.to_owned())) {
            return Err(FetchError::Fatal(msg.clone()));
        }
        let obj = self.get(bucket, key).ok_or(FetchError::NotFound)?;
        Ok(FetchedDigest::new(
            obj.body.clone(),
            if self.drop_metadata {
                Metadata::Unknown
            } else {
                Metadata::Known(obj.metadata.clone())
            },
        ))
    }

    fn public_keys(&mut self, _start: UtcTime, _end: UtcTime) -> Result<KeyRing, WalkFatal> {
        let mut ring = KeyRing::new();
        for (fp, der) in &self.public_keys {
            ring.insert(fp, der);
        }
        Ok(ring)
    }
}
