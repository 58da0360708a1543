//! SHA256withRSA signing and verification of digests, behind [`Signer`] and [`Verifier`].
//!
//! Public keys travel as ListPublicKeys publishes them: DER of a PKCS#1 `RSAPublicKey`,
//! fingerprinted by the lower-case hex MD5 of exactly those bytes.

use aws_lc_rs::rand::SystemRandom;
use std::sync::Arc;

use aws_lc_rs::signature::{self, KeyPair, ParsedPublicKey, RsaKeyPair};
use md5::{Digest, Md5};

use crate::IntegrityError;

/// The string a digest's signature covers, as UTF-8 bytes (spec §2.5):
/// four lines joined by `\n`, no trailing newline, `null` for a first digest.
#[must_use]
pub fn string_to_sign(
    digest_end_time: &str,
    bucket: &str,
    key: &str,
    digest_sha256_hex: &str,
    previous_signature: Option<&str>,
) -> String {
    format!(
        "{digest_end_time}\n{bucket}/{key}\n{digest_sha256_hex}\n{}",
        previous_signature.unwrap_or("null")
    )
}

/// Something that signs digests: a software RSA key here; an HSM elsewhere.
pub trait Signer: Send + Sync {
    /// The public half, as published by ListPublicKeys.
    fn public_key(&self) -> &PublicKey;
    /// SHA256withRSA (RSASSA-PKCS1-v1_5 with SHA-256) over `message`.
    ///
    /// # Errors
    /// [`IntegrityError::Crypto`] if the signing primitive fails.
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, IntegrityError>;
}

/// Something that checks a signature over a message.
pub trait Verifier {
    /// `Ok` when `signature` is a valid SHA256withRSA signature of `message`.
    ///
    /// # Errors
    /// [`IntegrityError::BadSignature`] otherwise.
    fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), IntegrityError>;
}

/// An RSA signing key held in memory (aws-lc-rs).
pub struct RsaSigner {
    key_pair: RsaKeyPair,
    public: PublicKey,
}

impl std::fmt::Debug for RsaSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RsaSigner")
            .field("fingerprint", &self.public.fingerprint())
            .finish_non_exhaustive()
    }
}

impl RsaSigner {
    /// A fresh 2048-bit key, the size CloudTrail uses.
    ///
    /// # Errors
    /// [`IntegrityError::Crypto`] if key generation fails.
    pub fn generate() -> Result<Self, IntegrityError> {
        let key_pair = RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
            .map_err(|_| IntegrityError::Crypto("rsa key generation failed"))?;
        Self::from_key_pair(key_pair)
    }

    /// Loads a PKCS#8 DER private key.
    ///
    /// # Errors
    /// [`IntegrityError::Crypto`] when the bytes are not an RSA PKCS#8 key aws-lc-rs accepts.
    pub fn from_pkcs8(der: &[u8]) -> Result<Self, IntegrityError> {
        let key_pair = RsaKeyPair::from_pkcs8(der)
            .map_err(|_| IntegrityError::Crypto("not an rsa pkcs#8 key"))?;
        Self::from_key_pair(key_pair)
    }

    /// The private key as PKCS#8 DER (handle with care: this is the secret).
    ///
    /// # Errors
    /// [`IntegrityError::Crypto`] if export fails.
    pub fn to_pkcs8(&self) -> Result<Vec<u8>, IntegrityError> {
        use aws_lc_rs::encoding::AsDer;
        self.key_pair
            .as_der()
            .map(|d| d.as_ref().to_vec())
            .map_err(|_| IntegrityError::Crypto("pkcs#8 export failed"))
    }

    fn from_key_pair(key_pair: RsaKeyPair) -> Result<Self, IntegrityError> {
        let public = PublicKey::from_pkcs1_der(key_pair.public_key().as_ref())?;
        Ok(Self { key_pair, public })
    }
}

impl Signer for RsaSigner {
    fn public_key(&self) -> &PublicKey {
        &self.public
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, IntegrityError> {
        let mut sig = vec![0u8; self.key_pair.public_modulus_len()];
        self.key_pair
            .sign(
                &signature::RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                message,
                &mut sig,
            )
            .map_err(|_| IntegrityError::Crypto("rsa signing failed"))?;
        Ok(sig)
    }
}

/// An RSA public key as ListPublicKeys publishes it.
#[derive(Clone)]
pub struct PublicKey {
    /// The bytes as published (what the fingerprint covers).
    der: Vec<u8>,
    /// The length of the `RSAPublicKey` structure at the start of `der`.
    pkcs1_len: usize,
    fingerprint: String,
    /// Parsed once: building the key for every verification costs more than verifying.
    /// `None` when aws-lc refuses the key (e.g. under 2048 bits): nothing verifies then.
    parsed: Option<Arc<ParsedPublicKey>>,
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PublicKey")
            .field("fingerprint", &self.fingerprint)
            .field("der_len", &self.der.len())
            .finish_non_exhaustive()
    }
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.der == other.der
    }
}

impl Eq for PublicKey {}

impl std::hash::Hash for PublicKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.der.hash(state);
    }
}

impl PublicKey {
    /// Loads DER bytes the way the AWS CLI does (`rsa.PublicKey.load_pkcs1(der, 'DER')`): a
    /// PKCS#1 `RSAPublicKey` (`SEQUENCE { INTEGER n, INTEGER e }`); bytes after it are ignored,
    /// but still part of the fingerprint. A SubjectPublicKeyInfo is rejected, as in the CLI.
    ///
    /// # Errors
    /// [`IntegrityError::PublicKey`] when the bytes are not a PKCS#1 RSA public key.
    pub fn from_pkcs1_der(der: &[u8]) -> Result<Self, IntegrityError> {
        let pkcs1_len = parse_rsa_public_key(der)
            .ok_or(IntegrityError::PublicKey("not a pkcs#1 rsa public key"))?;
        let parsed = der
            .get(..pkcs1_len)
            .and_then(|pkcs1| {
                ParsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, pkcs1).ok()
            })
            .map(Arc::new);
        Ok(Self {
            der: der.to_vec(),
            pkcs1_len,
            fingerprint: fingerprint(der),
            parsed,
        })
    }

    /// Converts a SubjectPublicKeyInfo (`MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8A...`) to the PKCS#1
    /// form CloudTrail publishes.
    ///
    /// # Errors
    /// [`IntegrityError::PublicKey`] when `spki` is not an RSA SubjectPublicKeyInfo.
    pub fn from_spki_der(spki: &[u8]) -> Result<Self, IntegrityError> {
        let bad = IntegrityError::PublicKey("not an rsa subjectpublickeyinfo");
        let (outer, _) = der_element(spki, 0x30).ok_or_else(|| bad.clone())?;
        let (alg, rest) = der_element(outer, 0x30).ok_or_else(|| bad.clone())?;
        if !alg.starts_with(RSA_ENCRYPTION_OID) {
            return Err(bad);
        }
        let (bits, _) = der_element(rest, 0x03).ok_or_else(|| bad.clone())?;
        let (&unused, pkcs1) = bits.split_first().ok_or_else(|| bad.clone())?;
        if unused != 0 {
            return Err(bad);
        }
        Self::from_pkcs1_der(pkcs1)
    }

    /// The bytes as published.
    #[must_use]
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The `RSAPublicKey` structure alone.
    #[must_use]
    pub fn pkcs1_der(&self) -> &[u8] {
        self.der.get(..self.pkcs1_len).unwrap_or(&self.der)
    }

    /// The SubjectPublicKeyInfo form (for tools such as `openssl`).
    #[must_use]
    pub fn to_spki_der(&self) -> Vec<u8> {
        let pkcs1 = self.pkcs1_der();
        let mut bit_string = Vec::with_capacity(pkcs1.len() + 1);
        bit_string.push(0);
        bit_string.extend_from_slice(pkcs1);
        let mut alg = Vec::new();
        alg.extend_from_slice(RSA_ENCRYPTION_OID);
        alg.extend_from_slice(&[0x05, 0x00]);
        let mut body = der_wrap(0x30, &alg);
        body.extend(der_wrap(0x03, &bit_string));
        der_wrap(0x30, &body)
    }

    /// Lower-case hex MD5 of [`PublicKey::der`].
    #[must_use]
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Standard base64 of the DER bytes, the `Value` in ListPublicKeys JSON.
    #[must_use]
    pub fn to_base64(&self) -> String {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(&self.der)
    }
}

impl Verifier for PublicKey {
    fn verify(&self, message: &[u8], signature_bytes: &[u8]) -> Result<(), IntegrityError> {
        self.parsed
            .as_ref()
            .ok_or(IntegrityError::BadSignature)?
            .verify_sig(message, signature_bytes)
            .map_err(|_| IntegrityError::BadSignature)
    }
}

/// Lower-case hex MD5 of `der`: the `Fingerprint` of ListPublicKeys and a digest's
/// `digestPublicKeyFingerprint`.
#[must_use]
pub fn fingerprint(der: &[u8]) -> String {
    hex::encode(Md5::digest(der))
}

/// `SEQUENCE { OID 1.2.840.113549.1.1.1 ...`: the algorithm identifier of rsaEncryption.
const RSA_ENCRYPTION_OID: &[u8] = &[
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01,
];

/// Reads one DER element with tag `tag`; returns its contents and the bytes after it.
fn der_element(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (&t, rest) = input.split_first()?;
    if t != tag {
        return None;
    }
    let (&first, mut rest) = rest.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for _ in 0..n {
            let (&b, r) = rest.split_first()?;
            len = (len << 8) | usize::from(b);
            rest = r;
        }
        len
    };
    if rest.len() < len {
        return None;
    }
    Some((rest.get(..len)?, rest.get(len..)?))
}

/// The length of a PKCS#1 `RSAPublicKey` at the start of `der`, if there is one.
fn parse_rsa_public_key(der: &[u8]) -> Option<usize> {
    let (body, after) = der_element(der, 0x30)?;
    let (n, rest) = der_element(body, 0x02)?;
    let (e, rest) = der_element(rest, 0x02)?;
    if n.is_empty() || e.is_empty() || !rest.is_empty() {
        return None;
    }
    Some(der.len() - after.len())
}

fn der_wrap(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        let significant = bytes.get(skip..).unwrap_or(&[]);
        out.push(0x80 | significant.len() as u8);
        out.extend_from_slice(significant);
    }
    out.extend_from_slice(content);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sha256_hex;
    use base64::Engine;

    // Spec §2.5: the full verification vector.
    const PUBKEY_B64: &str = "MIIBCgKCAQEAjGxch7ChNJ9c8CvkuBmG2kJS6NFBA3sgOyNCNS9uvAWyKnc9490Csx0LvE2RpOREr7urbOP6s4zc5+EMNih/MX1nQwuiL6FPX1IXhOrJZTfT79zviHWcxMdi1P0t8I4tDdpV1X0a6JgK2NemfOuP5I0w2S5XO7nKi4J5RoqYDoRR4oLDdKndSa1NOyApHJCZtLcRydmqG0gX5BL/lh7YvRlYU3wr3s6weCneK4d8TQRb5PuAOYRclnPTpB+3at2L2Jo03f15Np9wks7sLBxJmfZjiATRTOnmZUBMmp0T3PkKHte2df0WcAvlF0Dw06fFrx1bjCvcklaBFw64mt2JkQIDAQAB";
    const DIGEST_JSON: &str = r#"{"awsAccountId":"123456789012","digestStartTime":"2026-01-10T00:05:00Z","digestEndTime":"2026-01-10T01:05:00Z","digestS3Bucket":"ct-bucket","digestS3Object":"AWSLogs/123456789012/CloudTrail-Digest/us-east-1/2026/01/10/123456789012_CloudTrail-Digest_us-east-1_mytrail_us-east-1_20260110T010500Z.json.gz","digestPublicKeyFingerprint":"67a84482bf71b26c04c8ab2c88ce275f","digestSignatureAlgorithm":"SHA256withRSA","newestEventTime":null,"oldestEventTime":null,"previousDigestS3Bucket":null,"previousDigestS3Object":null,"previousDigestHashValue":null,"previousDigestHashAlgorithm":null,"previousDigestSignature":null,"logFiles":[]}"#;
    const SIGNATURE_HEX: &str = "84fe6fb0e129838a91fb19cf4c7a9979ef92a6ed39c52b4eba2a903f55827b1d53ea738f37c4cac231af093c6859a0a2d50ed8ff39e636836f19ac5c081cb1cab66d9eb1b88fc46d479fe8c980c546bdf26f27ea1101f5fba7cfa26aca5efaefe7119f39f5cf67ad2cd669430f7510b02c2a9583dcd8e8da86f5c2b60a560032e9eebaf5bc9e1bbf9439e5e3e88d201027a9c814c50bd79f5b63eb3e3b96cfee35cc1b8b4695c1d0e5457c4b6b92e9ae60a1d918755a11f1d2ccfeff689fac8a9831d4ebbc40454c0384ba585fc35a3b68999146706bd6a3471d1131cc1dd7109aa25b437b7a41cfe9ae039ffc2f8cc91171cd888259570eca7c8b75729a6acb";

    fn vector_key() -> PublicKey {
        let der = base64::engine::general_purpose::STANDARD
            .decode(PUBKEY_B64)
            .unwrap();
        PublicKey::from_pkcs1_der(&der).unwrap()
    }

    #[test]
    fn spec_vector_fingerprint_hash_string_and_signature() {
        let key = vector_key();
        assert_eq!(key.fingerprint(), "67a84482bf71b26c04c8ab2c88ce275f");
        assert_eq!(key.der().len(), 270);
        assert_eq!(key.to_base64(), PUBKEY_B64);
        let digest_hash = sha256_hex(DIGEST_JSON.as_bytes());
        assert_eq!(
            digest_hash,
            "9ef9bcacadcd973cb451082def1ec584308c219c200daf76cab5ada351e0db1e"
        );
        let to_sign = string_to_sign(
            "2026-01-10T01:05:00Z",
            "ct-bucket",
            "AWSLogs/123456789012/CloudTrail-Digest/us-east-1/2026/01/10/123456789012_CloudTrail-Digest_us-east-1_mytrail_us-east-1_20260110T010500Z.json.gz",
            &digest_hash,
            None,
        );
        assert_eq!(
            to_sign,
            "2026-01-10T01:05:00Z\nct-bucket/AWSLogs/123456789012/CloudTrail-Digest/us-east-1/2026/01/10/123456789012_CloudTrail-Digest_us-east-1_mytrail_us-east-1_20260110T010500Z.json.gz\n9ef9bcacadcd973cb451082def1ec584308c219c200daf76cab5ada351e0db1e\nnull"
        );
        let sig = hex::decode(SIGNATURE_HEX).unwrap();
        key.verify(to_sign.as_bytes(), &sig).unwrap();
        // Any change to the string breaks it.
        let mut other = to_sign.into_bytes();
        other[0] ^= 1;
        assert_eq!(key.verify(&other, &sig), Err(IntegrityError::BadSignature));
    }

    #[test]
    fn cli_unit_test_string_to_sign() {
        // aws-cli tests/unit/customizations/cloudtrail/test_validation.py
        assert_eq!(
            string_to_sign("a", "b", "c", &sha256_hex(b"abc"), None),
            "a\nb/c\nba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\nnull"
        );
    }

    #[test]
    fn spki_round_trip_and_rejection() {
        let key = vector_key();
        let spki = key.to_spki_der();
        assert_eq!(spki.len(), 294);
        assert!(
            base64::engine::general_purpose::STANDARD
                .encode(&spki)
                .starts_with("MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8A")
        );
        assert_eq!(PublicKey::from_spki_der(&spki).unwrap(), key);
        // The CLI cannot load an SPKI as PKCS#1, and neither do we.
        assert!(PublicKey::from_pkcs1_der(&spki).is_err());
        // Trailing bytes are ignored for loading (pyasn1 returns them as `rest`) but fingerprinted.
        let mut padded = key.der().to_vec();
        padded.push(0);
        let loaded = PublicKey::from_pkcs1_der(&padded).unwrap();
        assert_eq!(loaded.pkcs1_der(), key.der());
        assert_ne!(loaded.fingerprint(), key.fingerprint());
    }

    #[test]
    fn sign_and_verify_round_trip() {
        let signer = RsaSigner::generate().unwrap();
        let sig = signer.sign(b"message").unwrap();
        assert_eq!(sig.len(), 256);
        signer.public_key().verify(b"message", &sig).unwrap();
        assert!(signer.public_key().verify(b"messagf", &sig).is_err());
        let reloaded = RsaSigner::from_pkcs8(&signer.to_pkcs8().unwrap()).unwrap();
        assert_eq!(reloaded.public_key(), signer.public_key());
        assert_eq!(
            reloaded.sign(b"message").unwrap(),
            sig,
            "PKCS#1 v1.5 signatures are deterministic"
        );
    }
}
