//! Properties of the envelope: encrypt → decrypt returns the plaintext for any plaintext and
//! context; any change to one byte of the blob, or to the context, is rejected.

mod common;

use common::*;
use proptest::prelude::*;
use sealtrail_kms::{EncryptionContext, KmsError};

/// Distinct keys, as in an encryption context: with a repeated key, the pairs in another
/// order would be another context (the last value wins), and rightly fail to decrypt.
fn contexts() -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::btree_map("[a-zA-Z0-9:_-]{1,12}", "\\PC{0,16}", 0..5)
        .prop_map(|m| m.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn round_trip_and_tamper_detection(
        plaintext in prop::collection::vec(any::<u8>(), 1..512),
        pairs in contexts(),
        flip_at in any::<prop::sample::Index>(),
        flip_bit in 0u8..8,
    ) {
        let f = Fixture::new();
        let k = f.create();
        let call = f.call(T0);
        let context: EncryptionContext = pairs.iter().cloned().collect();
        let e = encrypt(&f.kms, &call, &k.key_id, &plaintext, context.clone()).unwrap();
        prop_assert_eq!(e.ciphertext_blob.len(), plaintext.len() + 49);
        // Any order of the pairs decrypts.
        let reversed: EncryptionContext = pairs.iter().rev().cloned().collect();
        prop_assert_eq!(decrypt(&f.kms, &call, &e.ciphertext_blob, reversed).unwrap(), plaintext.clone());
        // One flipped bit anywhere in the blob.
        let mut bad = e.ciphertext_blob.clone();
        let i = flip_at.index(bad.len());
        bad[i] ^= 1 << flip_bit;
        let err = decrypt(&f.kms, &call, &bad, context.clone()).unwrap_err();
        prop_assert_eq!(err, KmsError::InvalidCiphertext);
        // A changed context: one more pair, or one pair dropped, or one value changed.
        let more = context.clone().with("extra-key-not-generated", "v");
        prop_assert_eq!(decrypt(&f.kms, &call, &e.ciphertext_blob, more).unwrap_err(), KmsError::InvalidCiphertext);
        if let Some((k0, v0)) = context.iter().next().map(|(a, b)| (a.to_owned(), b.to_owned())) {
            let fewer: EncryptionContext = context.iter().filter(|(a, _)| *a != k0).map(|(a, b)| (a.to_owned(), b.to_owned())).collect();
            prop_assert_eq!(decrypt(&f.kms, &call, &e.ciphertext_blob, fewer).unwrap_err(), KmsError::InvalidCiphertext);
            let changed = context.clone().with(k0, format!("{v0}x"));
            prop_assert_eq!(decrypt(&f.kms, &call, &e.ciphertext_blob, changed).unwrap_err(), KmsError::InvalidCiphertext);
        }
    }
}
