//! AES-256-GCM on aws-lc-rs: sealing ciphertext blobs under key material, and wrapping key
//! material under a root key ([`KeyWrapper`]) so that it is never stored in plaintext.

use std::fmt;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use sealtrail_model::Rng;
use zeroize::Zeroizing;

use crate::KmsError;
use crate::blob;

/// Bytes of AES-256 key material.
pub const MATERIAL_LEN: usize = 32;

/// Wraps and unwraps key material for storage (envelope encryption under a root key).
///
/// `aad` binds a wrapped blob to the key and material version it belongs to, so that
/// swapping wrapped material between keys in the store is detected on unwrap.
pub trait KeyWrapper: Send + Sync {
    /// Encrypts `material`, bound to `aad`.
    ///
    /// # Errors
    /// [`KmsError::Internal`] when the cipher fails.
    fn wrap(&self, material: &[u8], aad: &[u8], rng: &mut dyn Rng) -> Result<Vec<u8>, KmsError>;

    /// Decrypts what [`KeyWrapper::wrap`] made with the same `aad`.
    ///
    /// # Errors
    /// [`KmsError::Internal`] when the wrapped bytes are corrupt, wrapped under another root
    /// key or bound to another `aad`.
    fn unwrap(&self, wrapped: &[u8], aad: &[u8]) -> Result<Zeroizing<Vec<u8>>, KmsError>;
}

/// [`KeyWrapper`] with AES-256-GCM under a 32-byte root key (the server's root key file).
///
/// Wrapped form: `0x01 ‖ nonce (12) ‖ ciphertext (32) ‖ tag (16)`, 61 bytes for AES-256
/// material.
pub struct RootKeyWrapper {
    key: LessSafeKey,
}

impl RootKeyWrapper {
    /// Wrapped-form version byte.
    const VERSION: u8 = 1;

    /// A wrapper under `root` (32 bytes). The caller should zeroize its copy.
    ///
    /// # Errors
    /// [`KmsError::Internal`] when `root` is not 32 bytes.
    pub fn new(root: &[u8]) -> Result<Self, KmsError> {
        if root.len() != MATERIAL_LEN {
            return Err(KmsError::internal(format!(
                "a root key is {MATERIAL_LEN} bytes, not {}",
                root.len()
            )));
        }
        Ok(Self {
            key: aes_key(root)?,
        })
    }
}

impl fmt::Debug for RootKeyWrapper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RootKeyWrapper([REDACTED])")
    }
}

impl KeyWrapper for RootKeyWrapper {
    fn wrap(&self, material: &[u8], aad: &[u8], rng: &mut dyn Rng) -> Result<Vec<u8>, KmsError> {
        let mut nonce = [0u8; 12];
        rng.fill(&mut nonce);
        let mut out = Vec::with_capacity(1 + 12 + material.len() + blob::TAG_LEN);
        out.push(Self::VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(material);
        let mut body = out.split_off(13);
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad),
                &mut body,
            )
            .map_err(|_| KmsError::internal("wrapping key material failed"))?;
        out.extend_from_slice(&body);
        Ok(out)
    }

    fn unwrap(&self, wrapped: &[u8], aad: &[u8]) -> Result<Zeroizing<Vec<u8>>, KmsError> {
        let bad = || {
            KmsError::internal(
                "stored key material does not unwrap (wrong root key, or corrupt store)",
            )
        };
        let (version, rest) = wrapped.split_first().ok_or_else(bad)?;
        if *version != Self::VERSION || rest.len() < 12 + blob::TAG_LEN {
            return Err(bad());
        }
        let (nonce, body) = rest.split_at(12);
        let nonce: [u8; 12] = nonce.try_into().map_err(|_| bad())?;
        let mut buf = Zeroizing::new(body.to_vec());
        let n = self
            .key
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad),
                buf.as_mut_slice(),
            )
            .map_err(|_| bad())?
            .len();
        buf.truncate(n);
        Ok(buf)
    }
}

pub(crate) fn aes_key(material: &[u8]) -> Result<LessSafeKey, KmsError> {
    UnboundKey::new(&AES_256_GCM, material)
        .map(LessSafeKey::new)
        .map_err(|_| KmsError::internal("AES-256-GCM key setup failed"))
}

/// One version of a key's material, ready to use. The raw bytes are gone once the cipher
/// key is set up (they were held in zeroizing memory); it never prints them.
pub(crate) struct Material {
    pub(crate) version: u32,
    /// `KeyMaterialId`: 64 lower-case hex digits.
    pub(crate) id: String,
    key: LessSafeKey,
}

impl fmt::Debug for Material {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Material")
            .field("version", &self.version)
            .field("id", &self.id)
            .field("key", &"[REDACTED]")
            .finish()
    }
}

impl Material {
    pub(crate) fn new(version: u32, id: String, raw: &[u8]) -> Result<Self, KmsError> {
        Ok(Self {
            version,
            id,
            key: aes_key(raw)?,
        })
    }

    /// Seals `plaintext` into a blob naming `key_id` and this version.
    pub(crate) fn seal(
        &self,
        key_id: &crate::KeyId,
        plaintext: &[u8],
        context_aad: &[u8],
        rng: &mut dyn Rng,
    ) -> Result<Vec<u8>, KmsError> {
        let mut nonce = [0u8; 12];
        rng.fill(&mut nonce);
        let header = blob::header(key_id, self.version, &nonce);
        let mut aad = Vec::with_capacity(header.len() + context_aad.len());
        aad.extend_from_slice(&header);
        aad.extend_from_slice(context_aad);
        let mut out = Vec::with_capacity(header.len() + plaintext.len() + blob::TAG_LEN);
        out.extend_from_slice(plaintext);
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(&aad[..]),
                &mut out,
            )
            .map_err(|_| KmsError::internal("AES-GCM seal failed"))?;
        let mut blob = Vec::with_capacity(header.len() + out.len());
        blob.extend_from_slice(&header);
        blob.extend_from_slice(&out);
        // The plaintext was copied into `out` and encrypted in place: nothing to wipe.
        Ok(blob)
    }

    /// Opens a parsed blob sealed under this version.
    pub(crate) fn open(
        &self,
        blob: &blob::Blob<'_>,
        context_aad: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, KmsError> {
        let mut aad = Vec::with_capacity(blob.header.len() + context_aad.len());
        aad.extend_from_slice(blob.header);
        aad.extend_from_slice(context_aad);
        let mut buf = Zeroizing::new(blob.ciphertext_and_tag.to_vec());
        let n = self
            .key
            .open_in_place(
                Nonce::assume_unique_for_key(blob.nonce),
                Aad::from(&aad[..]),
                buf.as_mut_slice(),
            )
            .map_err(|_| KmsError::InvalidCiphertext)?
            .len();
        buf.truncate(n);
        Ok(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sealtrail_model::SeededRng;

    #[test]
    fn wrap_round_trip_and_binding() {
        let w = RootKeyWrapper::new(&[7u8; 32]).unwrap();
        let mut rng = SeededRng::new(3);
        let material = [0x5au8; 32];
        let wrapped = w.wrap(&material, b"key-a:1", &mut rng).unwrap();
        assert_eq!(wrapped.len(), 61);
        assert!(!wrapped.windows(32).any(|x| x == material));
        assert_eq!(&w.unwrap(&wrapped, b"key-a:1").unwrap()[..], &material);
        assert!(w.unwrap(&wrapped, b"key-b:1").is_err());
        let other = RootKeyWrapper::new(&[8u8; 32]).unwrap();
        assert!(other.unwrap(&wrapped, b"key-a:1").is_err());
        let mut flipped = wrapped.clone();
        flipped[20] ^= 1;
        assert!(w.unwrap(&flipped, b"key-a:1").is_err());
        assert!(RootKeyWrapper::new(&[0u8; 16]).is_err());
        assert_eq!(format!("{w:?}"), "RootKeyWrapper([REDACTED])");
    }

    #[test]
    fn seal_open() {
        let id = crate::KeyId::parse("1234abcd-12ab-34cd-56ef-1234567890ab").unwrap();
        let m = Material::new(1, "ab".repeat(32), &[1u8; 32]).unwrap();
        let mut rng = SeededRng::new(1);
        let b = m.seal(&id, b"hello", b"ctx", &mut rng).unwrap();
        assert_eq!(b.len(), 5 + 49);
        let parsed = blob::parse(&b).unwrap();
        assert_eq!(&m.open(&parsed, b"ctx").unwrap()[..], b"hello");
        assert_eq!(
            m.open(&parsed, b"other").unwrap_err(),
            KmsError::InvalidCiphertext
        );
        assert!(!format!("{m:?}").contains("1, 1"));
    }
}
