//! The ciphertext blob: what `Encrypt` and `GenerateDataKey` return and `Decrypt` reads.
//!
//! AWS's format is not public (spec §4.6); this is sealtrail's, version 1:
//!
//! ```text
//! offset  size  field
//!      0     1  format version, 0x01
//!      1    16  key id (the UUID's 16 bytes)
//!     17     4  key-material version, big-endian u32 (1 = the key's first material)
//!     21    12  AES-GCM nonce (random)
//!     33     n  AES-256-GCM ciphertext of the plaintext (n = plaintext length)
//!   33+n    16  AES-GCM tag
//! ```
//!
//! The AAD of the AES-GCM seal is the 33-byte header followed by the canonical encryption
//! context ([`crate::EncryptionContext::aad`]), so changing any byte of the blob, or any
//! pair of the context, makes the tag check fail. The header lets `Decrypt` find the key
//! (and the material version, which survives rotation) without a `KeyId`. A blob is 49 bytes
//! longer than its plaintext.

use crate::KmsError;
use crate::ids::KeyId;

/// The format version this module writes.
pub const VERSION: u8 = 1;
/// Bytes before the ciphertext.
pub const HEADER_LEN: usize = 1 + 16 + 4 + 12;
/// The AES-GCM tag length.
pub const TAG_LEN: usize = 16;

/// A parsed blob. `ciphertext` includes the tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blob<'a> {
    /// The key that sealed it.
    pub key_id: KeyId,
    /// The key-material version that sealed it.
    pub material_version: u32,
    /// The nonce.
    pub nonce: [u8; 12],
    /// The header bytes, part of the AAD.
    pub header: &'a [u8],
    /// Ciphertext followed by the tag.
    pub ciphertext_and_tag: &'a [u8],
}

/// Writes the header of a blob.
#[must_use]
pub fn header(key_id: &KeyId, material_version: u32, nonce: &[u8; 12]) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    let parts: [&[u8]; 4] = [
        &[VERSION],
        &key_id.to_bytes(),
        &material_version.to_be_bytes(),
        nonce,
    ];
    let mut at = 0;
    for p in parts {
        if let Some(dst) = h.get_mut(at..at + p.len()) {
            dst.copy_from_slice(p);
        }
        at += p.len();
    }
    h
}

/// Reads a blob.
///
/// # Errors
/// [`KmsError::InvalidCiphertext`] when it is shorter than a header and a tag or has another
/// format version.
pub fn parse(blob: &[u8]) -> Result<Blob<'_>, KmsError> {
    if blob.len() < HEADER_LEN + TAG_LEN {
        return Err(KmsError::InvalidCiphertext);
    }
    let (header, rest) = blob.split_at(HEADER_LEN);
    let (version, h) = header.split_first().ok_or(KmsError::InvalidCiphertext)?;
    if *version != VERSION {
        return Err(KmsError::InvalidCiphertext);
    }
    let (id, h) = h.split_at(16);
    let (mv, nonce) = h.split_at(4);
    let id: [u8; 16] = id.try_into().map_err(|_| KmsError::InvalidCiphertext)?;
    let mv: [u8; 4] = mv.try_into().map_err(|_| KmsError::InvalidCiphertext)?;
    let nonce: [u8; 12] = nonce.try_into().map_err(|_| KmsError::InvalidCiphertext)?;
    Ok(Blob {
        key_id: KeyId::from_bytes(id),
        material_version: u32::from_be_bytes(mv),
        nonce,
        header,
        ciphertext_and_tag: rest,
    })
}

/// Seals `plaintext` into a version-1 blob under raw AES-256 `material`, with the given
/// nonce. The service draws the nonce at random and keeps the material inside a cipher
/// context; this form exists for test vectors (`testdata/kms/blob-v1.json`) and for tools
/// that check the format.
///
/// # Errors
/// [`KmsError::Internal`] when `material` is not 32 bytes.
pub fn seal_with(
    material: &[u8],
    key_id: &KeyId,
    material_version: u32,
    nonce: [u8; 12],
    plaintext: &[u8],
    context: &crate::EncryptionContext,
) -> Result<Vec<u8>, KmsError> {
    let m = crate::crypto::Material::new(material_version, String::new(), material)?;
    m.seal(key_id, plaintext, &context.aad(), &mut FixedNonce(nonce))
}

/// Opens a blob under raw `material` (the counterpart of [`seal_with`]).
///
/// # Errors
/// [`KmsError::InvalidCiphertext`] when the blob is malformed, was sealed under other
/// material or another context; [`KmsError::Internal`] when `material` is not 32 bytes.
pub fn open_with(
    material: &[u8],
    blob: &[u8],
    context: &crate::EncryptionContext,
) -> Result<zeroize::Zeroizing<Vec<u8>>, KmsError> {
    let b = parse(blob)?;
    let m = crate::crypto::Material::new(b.material_version, String::new(), material)?;
    m.open(&b, &context.aad())
}

struct FixedNonce([u8; 12]);

impl sealtrail_model::Rng for FixedNonce {
    fn fill(&mut self, buf: &mut [u8]) {
        for (d, s) in buf.iter_mut().zip(self.0.iter().cycle()) {
            *d = *s;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_layout() {
        let id = KeyId::parse("1234abcd-12ab-34cd-56ef-1234567890ab").unwrap();
        let h = header(&id, 0x0102_0304, &[9; 12]);
        assert_eq!(h[0], 1);
        assert_eq!(&h[1..17], &id.to_bytes());
        assert_eq!(&h[17..21], &[1, 2, 3, 4]);
        assert_eq!(&h[21..33], &[9; 12]);
        let mut blob = h.to_vec();
        blob.extend_from_slice(&[7; 20]);
        let b = parse(&blob).unwrap();
        assert_eq!(b.key_id, id);
        assert_eq!(b.material_version, 0x0102_0304);
        assert_eq!(b.nonce, [9; 12]);
        assert_eq!(b.header, &h[..]);
        assert_eq!(b.ciphertext_and_tag.len(), 20);
    }

    #[test]
    fn short_or_foreign_blobs_are_invalid() {
        assert_eq!(parse(&[]), Err(KmsError::InvalidCiphertext));
        assert_eq!(parse(&[1; 48]), Err(KmsError::InvalidCiphertext));
        assert!(parse(&[1; 49]).is_ok());
        let mut other = vec![1u8; 60];
        other[0] = 2;
        assert_eq!(parse(&other), Err(KmsError::InvalidCiphertext));
    }
}
