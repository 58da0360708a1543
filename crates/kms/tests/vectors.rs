//! The ciphertext blob format against vectors computed by an independent AES-GCM
//! implementation (`testdata/kms/regenerate.py`): sealtrail seals to exactly these bytes and
//! opens them; the canonical context encoding matches too.

use sealtrail_kms::{EncryptionContext, KeyId, KmsError, blob};

#[test]
fn blob_v1_vectors() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/kms/blob-v1.json"
    );
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let vectors = doc["vectors"].as_array().unwrap();
    assert_eq!(vectors.len(), 3);
    for v in vectors {
        let h = |k: &str| hex::decode(v[k].as_str().unwrap()).unwrap();
        let ctx: EncryptionContext = v["encryption_context"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, x)| (k.clone(), x.as_str().unwrap().to_owned()))
            .collect();
        assert_eq!(ctx.aad(), h("context_aad"), "{}", v["name"]);
        let key_id = KeyId::parse(v["key_id"].as_str().unwrap()).unwrap();
        let version = u32::try_from(v["material_version"].as_u64().unwrap()).unwrap();
        let nonce: [u8; 12] = h("nonce").try_into().unwrap();
        let sealed = blob::seal_with(
            &h("material"),
            &key_id,
            version,
            nonce,
            &h("plaintext"),
            &ctx,
        )
        .unwrap();
        assert_eq!(
            hex::encode(&sealed),
            v["blob"].as_str().unwrap(),
            "{}",
            v["name"]
        );
        let parsed = blob::parse(&sealed).unwrap();
        assert_eq!((parsed.key_id, parsed.material_version), (key_id, version));
        assert_eq!(
            &blob::open_with(&h("material"), &sealed, &ctx).unwrap()[..],
            &h("plaintext")[..]
        );
        let other = ctx.clone().with("extra", "1");
        assert_eq!(
            blob::open_with(&h("material"), &sealed, &other).unwrap_err(),
            KmsError::InvalidCiphertext
        );
    }
}
