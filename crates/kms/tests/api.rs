//! Every KMS operation through the public API, on the in-memory store: round trips, the
//! key-state matrix, rotation, deletion by the clock, aliases, tags, policies and
//! authorization with AWS's messages.

mod common;

use std::sync::Arc;

use common::*;
use sealtrail_kms::ops::*;
use sealtrail_kms::{Call, Caller, KeyState, KmsError};
use sealtrail_model::AccountId;
use secrecy::ExposeSecret as _;

// ----- round trips ------------------------------------------------------------------------

#[test]
fn create_describe_and_the_default_policy() {
    let f = Fixture::new();
    let k = f.create();
    assert_eq!(k.aws_account_id, ACCOUNT);
    assert_eq!(
        k.arn,
        format!("arn:aws:kms:us-east-1:{ACCOUNT}:key/{}", k.key_id)
    );
    assert_eq!(k.key_state, KeyState::Enabled);
    assert!(k.enabled);
    assert_eq!(
        (k.key_usage, k.key_spec, k.origin, k.key_manager),
        (
            "ENCRYPT_DECRYPT",
            "SYMMETRIC_DEFAULT",
            "AWS_KMS",
            "CUSTOMER"
        )
    );
    assert_eq!(k.creation_date, at(T0));
    assert_eq!(k.description, "");
    assert_eq!(k.current_key_material_id.as_ref().unwrap().len(), 64);
    let d = f
        .kms
        .describe_key(
            &f.call(T0),
            DescribeKeyRequest {
                key_id: Some(k.arn.clone()),
                grant_tokens: None,
            },
        )
        .unwrap();
    assert_eq!(d.key_metadata, k);
    let p = f
        .kms
        .get_key_policy(
            &f.call(T0),
            GetKeyPolicyRequest {
                key_id: Some(k.key_id.clone()),
                policy_name: None,
            },
        )
        .unwrap();
    assert_eq!(
        p.policy,
        sealtrail_kms::default_key_policy(&AccountId::parse(ACCOUNT).unwrap())
    );
    assert_eq!(p.policy_name, "default");
    let names = f
        .kms
        .list_key_policies(
            &f.call(T0),
            KeyPageRequest {
                key_id: Some(k.key_id.clone()),
                page: PageRequest::default(),
            },
        )
        .unwrap();
    assert_eq!(names.items, vec!["default".to_owned()]);
    assert!(!names.truncated);
}

#[test]
fn encrypt_decrypt_by_every_identifier_form() {
    let f = Fixture::new();
    let k = f.create();
    let call = f.call(T0);
    f.kms
        .create_alias(
            &call,
            AliasRequest {
                alias_name: Some("alias/app".into()),
                target_key_id: Some(k.key_id.clone()),
            },
        )
        .unwrap();
    let alias_arn = format!("arn:aws:kms:us-east-1:{ACCOUNT}:alias/app");
    for id in [&k.key_id, &k.arn, &"alias/app".to_owned(), &alias_arn] {
        let c = ctx(&[("a", "1"), ("b", "2")]);
        let e = encrypt(&f.kms, &call, id, b"secret", c).unwrap();
        assert_eq!(e.key_id, k.arn, "crypto responses name the key ARN");
        assert_eq!(e.ciphertext_blob.len(), 6 + 49);
        // Order of the context pairs does not matter.
        let back = decrypt(
            &f.kms,
            &call,
            &e.ciphertext_blob,
            ctx(&[("b", "2"), ("a", "1")]),
        );
        assert_eq!(back.unwrap(), b"secret");
    }
}

#[test]
fn context_mismatch_is_invalid_ciphertext_with_an_empty_message() {
    let f = Fixture::new();
    let k = f.create();
    let call = f.call(T0);
    let e = encrypt(&f.kms, &call, &k.key_id, b"x", ctx(&[("Dept", "IT")])).unwrap();
    for wrong in [
        ctx(&[]),
        ctx(&[("Dept", "it")]),
        ctx(&[("dept", "IT")]),
        ctx(&[("Dept", "IT"), ("x", "y")]),
    ] {
        let err = decrypt(&f.kms, &call, &e.ciphertext_blob, wrong).unwrap_err();
        assert_eq!(err, KmsError::InvalidCiphertext);
        assert_eq!(err.message(), "");
    }
    let mut bad = e.ciphertext_blob.clone();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    assert_eq!(
        decrypt(&f.kms, &call, &bad, ctx(&[("Dept", "IT")])).unwrap_err(),
        KmsError::InvalidCiphertext
    );
    assert_eq!(
        decrypt(&f.kms, &call, b"not a blob", ctx(&[])).unwrap_err(),
        KmsError::InvalidCiphertext
    );
}

#[test]
fn decrypt_with_the_wrong_key_id_is_incorrect_key() {
    let f = Fixture::new();
    let (a, b) = (f.create(), f.create());
    let call = f.call(T0);
    let e = encrypt(&f.kms, &call, &a.key_id, b"x", ctx(&[])).unwrap();
    let r = f.kms.decrypt(
        &call,
        DecryptRequest {
            ciphertext_blob: Some(e.ciphertext_blob.clone()),
            key_id: Some(b.key_id.clone()),
            ..Default::default()
        },
    );
    assert_eq!(r.unwrap_err(), KmsError::IncorrectKey);
    let ok = f
        .kms
        .decrypt(
            &call,
            DecryptRequest {
                ciphertext_blob: Some(e.ciphertext_blob),
                key_id: Some(a.arn.clone()),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(ok.key_id, a.arn);
}

#[test]
fn data_keys_and_re_encrypt() {
    let f = Fixture::new();
    let (a, b) = (f.create(), f.create());
    let call = f.call(T0);
    let c = ctx(&[("purpose", "test")]);
    let dk = f
        .kms
        .generate_data_key(
            &call,
            GenerateDataKeyRequest {
                key_id: Some(a.key_id.clone()),
                key_spec: Some("AES_256".into()),
                encryption_context: c.clone(),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(dk.plaintext.expose_secret().len(), 32);
    assert_eq!(dk.key_id, a.arn);
    assert_eq!(
        decrypt(&f.kms, &call, &dk.ciphertext_blob, c.clone()).unwrap(),
        dk.plaintext.expose_secret()
    );
    for (spec, n, len) in [
        (Some("AES_128"), None, 16),
        (None, Some(1), 1),
        (None, Some(1024), 1024),
    ] {
        let r = f
            .kms
            .generate_data_key_without_plaintext(
                &call,
                GenerateDataKeyRequest {
                    key_id: Some(a.key_id.clone()),
                    key_spec: spec.map(str::to_owned),
                    number_of_bytes: n,
                    ..Default::default()
                },
            )
            .unwrap();
        assert_eq!(r.ciphertext_blob.len(), len + 49);
    }
    for (spec, n) in [(None, None), (Some("AES_256"), Some(32))] {
        let r = f.kms.generate_data_key(
            &call,
            GenerateDataKeyRequest {
                key_id: Some(a.key_id.clone()),
                key_spec: spec.map(str::to_owned),
                number_of_bytes: n,
                ..Default::default()
            },
        );
        assert_eq!(
            r.unwrap_err().to_string(),
            "Please specify either number of bytes or key spec."
        );
    }
    let re = f
        .kms
        .re_encrypt(
            &call,
            ReEncryptRequest {
                ciphertext_blob: Some(dk.ciphertext_blob.clone()),
                source_encryption_context: c.clone(),
                destination_key_id: Some(b.key_id.clone()),
                destination_encryption_context: ctx(&[("new", "ctx")]),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(
        (re.source_key_id.as_str(), re.key_id.as_str()),
        (a.arn.as_str(), b.arn.as_str())
    );
    assert_eq!(
        decrypt(&f.kms, &call, &re.ciphertext_blob, ctx(&[("new", "ctx")])).unwrap(),
        dk.plaintext.expose_secret()
    );
    let r = f.kms.generate_random(
        &call,
        GenerateRandomRequest {
            number_of_bytes: Some(64),
            ..Default::default()
        },
    );
    assert_eq!(r.unwrap().expose_secret().len(), 64);
    let r = f
        .kms
        .generate_random(&call, GenerateRandomRequest::default());
    assert_eq!(
        r.unwrap_err().to_string(),
        "1 validation error detected: Value null at 'numberOfBytes' failed to satisfy constraint: Member must not be null"
    );
}

#[test]
fn validation_messages_are_awss() {
    let f = Fixture::new();
    let k = f.create();
    let call = f.call(T0);
    let big = vec![0u8; 4097];
    let r = encrypt(&f.kms, &call, &k.key_id, &big, ctx(&[]));
    assert_eq!(
        r.unwrap_err().to_string(),
        "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length less than or equal to 4096"
    );
    let r = f.kms.create_alias(
        &call,
        AliasRequest {
            alias_name: Some("alias/b@d".into()),
            target_key_id: Some(k.key_id.clone()),
        },
    );
    assert_eq!(
        r.unwrap_err().to_string(),
        "1 validation error detected: Value 'alias/b@d' at 'aliasName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$"
    );
    let r = f.kms.schedule_key_deletion(
        &call,
        ScheduleKeyDeletionRequest {
            key_id: Some(k.key_id.clone()),
            pending_window_in_days: Some(6),
        },
    );
    assert_eq!(
        r.unwrap_err().to_string(),
        "1 validation error detected: Value '6' at 'pendingWindowInDays' failed to satisfy constraint: Member must have value greater than or equal to 7"
    );
    // Outside the model's 1..365, the front end's message names the model's bounds.
    for (days, bound) in [
        (0, "greater than or equal to 1"),
        (366, "less than or equal to 365"),
    ] {
        let r = f.kms.schedule_key_deletion(
            &call,
            ScheduleKeyDeletionRequest {
                key_id: Some(k.key_id.clone()),
                pending_window_in_days: Some(days),
            },
        );
        assert_eq!(
            r.unwrap_err().to_string(),
            format!(
                "1 validation error detected: Value '{days}' at 'pendingWindowInDays' failed to satisfy constraint: Member must have value {bound}"
            )
        );
    }
    let r = f.kms.enable_key_rotation(
        &call,
        EnableKeyRotationRequest {
            key_id: None,
            rotation_period_in_days: Some(3000),
        },
    );
    assert_eq!(
        r.unwrap_err().to_string(),
        "2 validation errors detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null; Value '3000' at 'rotationPeriodInDays' failed to satisfy constraint: Member must have value less than or equal to 2560"
    );
    let r = f.kms.list_keys(
        &call,
        ListKeysRequest {
            page: PageRequest {
                limit: Some(1001),
                marker: None,
            },
        },
    );
    assert_eq!(r.unwrap_err().aws_code(), "ValidationException");
}

#[test]
fn unknown_keys_and_identifiers() {
    let f = Fixture::new();
    let call = f.call(T0);
    let id = "1234abcd-12ab-34cd-56ef-1234567890ab";
    let r = f.kms.describe_key(
        &call,
        DescribeKeyRequest {
            key_id: Some(id.into()),
            grant_tokens: None,
        },
    );
    assert_eq!(
        r.unwrap_err().to_string(),
        format!("Key 'arn:aws:kms:us-east-1:{ACCOUNT}:key/{id}' does not exist")
    );
    let r = f.kms.describe_key(
        &call,
        DescribeKeyRequest {
            key_id: Some("alias/nope".into()),
            grant_tokens: None,
        },
    );
    assert_eq!(
        r.unwrap_err().to_string(),
        format!("Alias arn:aws:kms:us-east-1:{ACCOUNT}:alias/nope is not found.")
    );
    let r = f.kms.enable_key(&call, key_req("not-a-key"));
    assert_eq!(r.unwrap_err().to_string(), "Invalid keyId not-a-key");
    // Management operations take key ids and key ARNs, not aliases.
    let k = f.create();
    f.kms
        .create_alias(
            &call,
            AliasRequest {
                alias_name: Some("alias/m".into()),
                target_key_id: Some(k.key_id.clone()),
            },
        )
        .unwrap();
    assert_eq!(
        f.kms.disable_key(&call, key_req("alias/m")).unwrap_err(),
        KmsError::InvalidKeyId("alias/m".into())
    );
    assert_eq!(
        f.kms
            .create_alias(
                &call,
                AliasRequest {
                    alias_name: Some("alias/n".into()),
                    target_key_id: Some("alias/m".into()),
                },
            )
            .unwrap_err()
            .aws_code(),
        "NotFoundException"
    );
}

// ----- key states -------------------------------------------------------------------------

#[test]
fn key_state_matrix() {
    let f = Fixture::new();
    let k = f.create();
    let call = f.call(T0);
    let blob = encrypt(&f.kms, &call, &k.key_id, b"x", ctx(&[]))
        .unwrap()
        .ciphertext_blob;

    // Disabled: cryptography refused with DisabledException, management allowed.
    f.kms.disable_key(&call, key_req(&k.key_id)).unwrap();
    let disabled = format!("{} is disabled.", k.arn);
    assert_eq!(
        encrypt(&f.kms, &call, &k.key_id, b"x", ctx(&[]))
            .unwrap_err()
            .to_string(),
        disabled
    );
    assert_eq!(
        decrypt(&f.kms, &call, &blob, ctx(&[]))
            .unwrap_err()
            .to_string(),
        disabled
    );
    assert_eq!(
        f.kms
            .enable_key_rotation(
                &call,
                EnableKeyRotationRequest {
                    key_id: Some(k.key_id.clone()),
                    rotation_period_in_days: None
                }
            )
            .unwrap_err()
            .aws_code(),
        "DisabledException"
    );
    f.kms
        .update_key_description(
            &call,
            UpdateKeyDescriptionRequest {
                key_id: Some(k.key_id.clone()),
                description: Some("d".into()),
            },
        )
        .unwrap();
    f.kms.enable_key(&call, key_req(&k.key_id)).unwrap();
    assert_eq!(decrypt(&f.kms, &call, &blob, ctx(&[])).unwrap(), b"x");

    // Pending deletion.
    let s = f
        .kms
        .schedule_key_deletion(
            &call,
            ScheduleKeyDeletionRequest {
                key_id: Some(k.key_id.clone()),
                pending_window_in_days: Some(7),
            },
        )
        .unwrap();
    assert_eq!(s.key_id, k.arn);
    assert_eq!(s.deletion_date, at(T0 + 7 * DAY));
    assert_eq!(
        (s.key_state, s.pending_window_in_days),
        (KeyState::PendingDeletion, 7)
    );
    let pending = format!("{} is pending deletion.", k.arn);
    let invalid_state = |r: Result<(), KmsError>| {
        let e = r.unwrap_err();
        assert_eq!(e.aws_code(), "KMSInvalidStateException");
        assert_eq!(e.to_string(), pending);
    };
    invalid_state(encrypt(&f.kms, &call, &k.key_id, b"x", ctx(&[])).map(|_| ()));
    invalid_state(decrypt(&f.kms, &call, &blob, ctx(&[])).map(|_| ()));
    invalid_state(f.kms.enable_key(&call, key_req(&k.key_id)));
    invalid_state(f.kms.disable_key(&call, key_req(&k.key_id)));
    invalid_state(
        f.kms
            .schedule_key_deletion(
                &call,
                ScheduleKeyDeletionRequest {
                    key_id: Some(k.key_id.clone()),
                    pending_window_in_days: None,
                },
            )
            .map(|_| ()),
    );
    invalid_state(f.kms.create_alias(
        &call,
        AliasRequest {
            alias_name: Some("alias/late".into()),
            target_key_id: Some(k.key_id.clone()),
        },
    ));
    invalid_state(f.kms.tag_resource(
        &call,
        TagResourceRequest {
            key_id: Some(k.key_id.clone()),
            tags: Some(vec![Tag {
                key: Some("a".into()),
                value: Some("b".into()),
            }]),
        },
    ));
    invalid_state(
        f.kms
            .enable_key_rotation(
                &call,
                EnableKeyRotationRequest {
                    key_id: Some(k.key_id.clone()),
                    rotation_period_in_days: None,
                },
            )
            .map(|_| ()),
    );
    invalid_state(
        f.kms
            .rotate_key_on_demand(&call, key_req(&k.key_id))
            .map(|_| ()),
    );
    // Allowed in every state.
    let d = f
        .kms
        .describe_key(
            &call,
            DescribeKeyRequest {
                key_id: Some(k.key_id.clone()),
                grant_tokens: None,
            },
        )
        .unwrap()
        .key_metadata;
    assert_eq!(d.key_state, KeyState::PendingDeletion);
    assert!(!d.enabled);
    assert_eq!(d.deletion_date, Some(at(T0 + 7 * DAY)));
    assert_eq!(d.pending_deletion_window_in_days, Some(7));
    f.kms
        .get_key_policy(
            &call,
            GetKeyPolicyRequest {
                key_id: Some(k.key_id.clone()),
                policy_name: None,
            },
        )
        .unwrap();
    f.kms
        .put_key_policy(
            &call,
            PutKeyPolicyRequest {
                key_id: Some(k.key_id.clone()),
                policy: Some(d_policy()),
                ..Default::default()
            },
        )
        .unwrap();

    // Cancel: back to Disabled, not Enabled.
    assert_eq!(
        f.kms
            .cancel_key_deletion(&call, key_req(&k.key_id))
            .unwrap(),
        k.arn
    );
    let d = f
        .kms
        .describe_key(
            &call,
            DescribeKeyRequest {
                key_id: Some(k.key_id.clone()),
                grant_tokens: None,
            },
        )
        .unwrap()
        .key_metadata;
    assert_eq!(d.key_state, KeyState::Disabled);
    assert_eq!(d.deletion_date, None);
    let e = f
        .kms
        .cancel_key_deletion(&call, key_req(&k.key_id))
        .unwrap_err();
    assert_eq!(e.to_string(), format!("{} is not pending deletion.", k.arn));
    assert_eq!(e.aws_code(), "KMSInvalidStateException");
}

fn d_policy() -> String {
    sealtrail_kms::default_key_policy(&AccountId::parse(ACCOUNT).unwrap())
}

#[test]
fn deletion_destroys_the_material_when_the_clock_passes_the_window() {
    let mut f = Fixture::new();
    let k = f.create();
    let keep = f.create();
    let call = f.call(T0);
    f.kms
        .create_alias(
            &call,
            AliasRequest {
                alias_name: Some("alias/doomed".into()),
                target_key_id: Some(k.key_id.clone()),
            },
        )
        .unwrap();
    let blob = encrypt(&f.kms, &call, &k.key_id, b"x", ctx(&[]))
        .unwrap()
        .ciphertext_blob;
    f.kms
        .schedule_key_deletion(
            &call,
            ScheduleKeyDeletionRequest {
                key_id: Some(k.key_id.clone()),
                pending_window_in_days: Some(7),
            },
        )
        .unwrap();
    let deadline = T0 + 7 * DAY;
    // A second before: still there, pending deletion.
    let before = f.call(deadline - 1);
    f.kms
        .describe_key(
            &before,
            DescribeKeyRequest {
                key_id: Some(k.key_id.clone()),
                grant_tokens: None,
            },
        )
        .unwrap();
    assert!(f.kms.tick(at(deadline - 1)).unwrap().deleted.is_empty());
    // At the deletion date, before any tick: every request sees it deleted.
    let after = f.call(deadline);
    let e = f
        .kms
        .describe_key(
            &after,
            DescribeKeyRequest {
                key_id: Some(k.key_id.clone()),
                grant_tokens: None,
            },
        )
        .unwrap_err();
    assert_eq!(e.to_string(), format!("Key '{}' does not exist", k.arn));
    assert_eq!(
        decrypt(&f.kms, &after, &blob, ctx(&[])).unwrap_err(),
        KmsError::InvalidCiphertext
    );
    let keys = f.kms.list_keys(&after, ListKeysRequest::default()).unwrap();
    assert_eq!(keys.items.len(), 1);
    assert_eq!(
        f.kms
            .list_aliases(&after, ListAliasesRequest::default())
            .unwrap()
            .items
            .len(),
        0
    );
    // The tick purges it from the store: record, material, alias.
    let report = f.kms.tick(at(deadline)).unwrap();
    assert_eq!(report.deleted, vec![k.arn.clone()]);
    let snap = sealtrail_kms::KeyStore::load(&*f.store).unwrap();
    assert_eq!(snap.keys.len(), 1);
    assert_eq!(snap.keys[0].id.to_string(), keep.key_id);
    assert!(snap.aliases.is_empty());
    // And after a restart nothing decrypts either.
    f.reopen();
    assert_eq!(
        decrypt(&f.kms, &f.call(deadline + 1), &blob, ctx(&[])).unwrap_err(),
        KmsError::InvalidCiphertext
    );
}

// ----- rotation ---------------------------------------------------------------------------

#[test]
fn rotation_keeps_every_version_and_old_ciphertexts_decrypt() {
    let mut f = Fixture::new();
    let k = f.create();
    let call = f.call(T0);
    let v1 = encrypt(&f.kms, &call, &k.key_id, b"one", ctx(&[]))
        .unwrap()
        .ciphertext_blob;
    let status = f
        .kms
        .get_key_rotation_status(&call, key_req(&k.key_id))
        .unwrap();
    assert!(!status.key_rotation_enabled);
    assert_eq!(status.next_rotation_date, None);

    f.kms
        .enable_key_rotation(
            &call,
            EnableKeyRotationRequest {
                key_id: Some(k.key_id.clone()),
                rotation_period_in_days: Some(90),
            },
        )
        .unwrap();
    let status = f
        .kms
        .get_key_rotation_status(&call, key_req(&k.key_id))
        .unwrap();
    assert!(status.key_rotation_enabled);
    assert_eq!(status.key_id, k.key_id);
    assert_eq!(status.rotation_period_in_days, Some(90));
    assert_eq!(status.next_rotation_date, Some(at(T0 + 90 * DAY)));

    // On demand.
    let on_demand = f.call(T0 + DAY);
    assert_eq!(
        f.kms
            .rotate_key_on_demand(&on_demand, key_req(&k.key_id))
            .unwrap(),
        k.key_id
    );
    let v2 = encrypt(&f.kms, &on_demand, &k.key_id, b"two", ctx(&[]))
        .unwrap()
        .ciphertext_blob;
    assert_ne!(
        v1[17..21],
        v2[17..21],
        "the blob names the material version"
    );

    // Automatic, driven by the clock.
    assert!(
        f.kms
            .tick(at(T0 + 90 * DAY - 1))
            .unwrap()
            .rotated
            .is_empty()
    );
    assert_eq!(
        f.kms.tick(at(T0 + 90 * DAY)).unwrap().rotated,
        vec![k.arn.clone()]
    );
    let later = f.call(T0 + 91 * DAY);
    let v3 = encrypt(&f.kms, &later, &k.key_id, b"three", ctx(&[]))
        .unwrap()
        .ciphertext_blob;
    let status = f
        .kms
        .get_key_rotation_status(&later, key_req(&k.key_id))
        .unwrap();
    assert_eq!(status.next_rotation_date, Some(at(T0 + 180 * DAY)));

    let rotations = f
        .kms
        .list_key_rotations(
            &later,
            ListKeyRotationsRequest {
                key_id: Some(k.key_id.clone()),
                ..Default::default()
            },
        )
        .unwrap();
    let kinds: Vec<_> = rotations
        .items
        .iter()
        .map(|r| (r.rotation_type.unwrap().as_str(), r.rotation_date.unwrap()))
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("ON_DEMAND", at(T0 + DAY)),
            ("AUTOMATIC", at(T0 + 90 * DAY))
        ]
    );
    let all = f
        .kms
        .list_key_rotations(
            &later,
            ListKeyRotationsRequest {
                key_id: Some(k.key_id.clone()),
                include_key_material: Some("ALL_KEY_MATERIAL".into()),
                page: PageRequest {
                    limit: Some(2),
                    marker: None,
                },
            },
        )
        .unwrap();
    assert_eq!(all.items.len(), 2);
    assert!(all.truncated);
    assert_eq!(all.items[0].key_material_state, "NON_CURRENT");

    // Every version decrypts, before and after a restart.
    for _ in 0..2 {
        let c = f.call(T0 + 92 * DAY);
        assert_eq!(decrypt(&f.kms, &c, &v1, ctx(&[])).unwrap(), b"one");
        assert_eq!(decrypt(&f.kms, &c, &v2, ctx(&[])).unwrap(), b"two");
        assert_eq!(decrypt(&f.kms, &c, &v3, ctx(&[])).unwrap(), b"three");
        f.reopen();
    }

    // Disabled keys do not rotate; pending deletion reports false.
    f.kms
        .disable_key(&f.call(T0 + 92 * DAY), key_req(&k.key_id))
        .unwrap();
    assert!(f.kms.tick(at(T0 + 400 * DAY)).unwrap().rotated.is_empty());
    f.kms
        .disable_key_rotation(&f.call(T0 + 92 * DAY), key_req(&k.key_id))
        .unwrap_err();
}

#[test]
fn on_demand_rotation_is_limited_to_25() {
    let f = Fixture::new();
    let k = f.create();
    let call = f.call(T0);
    for _ in 0..25 {
        f.kms
            .rotate_key_on_demand(&call, key_req(&k.key_id))
            .unwrap();
    }
    assert_eq!(
        f.kms
            .rotate_key_on_demand(&call, key_req(&k.key_id))
            .unwrap_err()
            .aws_code(),
        "LimitExceededException"
    );
}

// ----- aliases, tags, lists ---------------------------------------------------------------

#[test]
fn aliases_lifecycle() {
    let f = Fixture::new();
    let (a, b) = (f.create(), f.create());
    let call = f.call(T0);
    let req = |name: &str, target: &str| AliasRequest {
        alias_name: Some(name.into()),
        target_key_id: Some(target.into()),
    };
    f.kms
        .create_alias(&call, req("alias/one", &a.key_id))
        .unwrap();
    f.kms.create_alias(&call, req("alias/two", &a.arn)).unwrap();
    let e = f
        .kms
        .create_alias(&call, req("alias/one", &b.key_id))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("An alias with the name arn:aws:kms:us-east-1:{ACCOUNT}:alias/one already exists")
    );
    assert_eq!(e.aws_code(), "AlreadyExistsException");
    for (bad, code) in [
        ("alias/aws/s3", "InvalidAliasNameException"),
        ("noprefix", "ValidationException"),
    ] {
        assert_eq!(
            f.kms
                .create_alias(&call, req(bad, &a.key_id))
                .unwrap_err()
                .aws_code(),
            code
        );
    }
    let later = f.call(T0 + 10);
    f.kms
        .update_alias(&later, req("alias/two", &b.key_id))
        .unwrap();
    let list = f
        .kms
        .list_aliases(&later, ListAliasesRequest::default())
        .unwrap();
    let names: Vec<_> = list
        .items
        .iter()
        .map(|x| (x.alias_name.as_str(), x.target_key_id.as_str()))
        .collect();
    assert_eq!(
        names,
        vec![
            ("alias/one", a.key_id.as_str()),
            ("alias/two", b.key_id.as_str())
        ]
    );
    assert_eq!(list.items[1].creation_date, at(T0));
    assert_eq!(list.items[1].last_updated_date, at(T0 + 10));
    assert_eq!(
        list.items[0].alias_arn,
        format!("arn:aws:kms:us-east-1:{ACCOUNT}:alias/one")
    );
    let only_b = f
        .kms
        .list_aliases(
            &later,
            ListAliasesRequest {
                key_id: Some(b.arn.clone()),
                page: PageRequest::default(),
            },
        )
        .unwrap();
    assert_eq!(only_b.items.len(), 1);
    f.kms
        .delete_alias(
            &later,
            AliasRequest {
                alias_name: Some("alias/two".into()),
                target_key_id: None,
            },
        )
        .unwrap();
    assert_eq!(
        f.kms
            .delete_alias(
                &later,
                AliasRequest {
                    alias_name: Some("alias/two".into()),
                    target_key_id: None
                }
            )
            .unwrap_err()
            .aws_code(),
        "NotFoundException"
    );
    assert_eq!(
        f.kms
            .update_alias(&later, req("alias/none", &a.key_id))
            .unwrap_err()
            .aws_code(),
        "NotFoundException"
    );
}

#[test]
fn tags_and_pagination() {
    let f = Fixture::new();
    let k = f.create();
    let call = f.call(T0);
    let tag = |k: &str, v: &str| Tag {
        key: Some(k.into()),
        value: Some(v.into()),
    };
    f.kms
        .tag_resource(
            &call,
            TagResourceRequest {
                key_id: Some(k.key_id.clone()),
                tags: Some(vec![tag("b", "2"), tag("a", "1"), tag("c", "3")]),
            },
        )
        .unwrap();
    f.kms
        .tag_resource(
            &call,
            TagResourceRequest {
                key_id: Some(k.arn.clone()),
                tags: Some(vec![tag("a", "one")]),
            },
        )
        .unwrap();
    let mut all = Vec::new();
    let mut page = PageRequest {
        limit: Some(2),
        marker: None,
    };
    loop {
        let p = f
            .kms
            .list_resource_tags(
                &call,
                KeyPageRequest {
                    key_id: Some(k.key_id.clone()),
                    page: page.clone(),
                },
            )
            .unwrap();
        all.extend(p.items.into_iter().map(|t| (t.key, t.value)));
        if !p.truncated {
            break;
        }
        page.marker = p.next_marker;
    }
    assert_eq!(
        all,
        vec![
            ("a".into(), "one".into()),
            ("b".into(), "2".into()),
            ("c".into(), "3".into())
        ]
    );
    f.kms
        .untag_resource(
            &call,
            UntagResourceRequest {
                key_id: Some(k.key_id.clone()),
                tag_keys: Some(vec!["a".into(), "zz".into()]),
            },
        )
        .unwrap();
    let e = f
        .kms
        .tag_resource(
            &call,
            TagResourceRequest {
                key_id: Some(k.key_id.clone()),
                tags: Some(vec![tag("aws:x", "1")]),
            },
        )
        .unwrap_err();
    assert_eq!(e.aws_code(), "TagException");
    let many: Vec<Tag> = (0..51).map(|i| tag(&format!("t{i}"), "v")).collect();
    let e = f
        .kms
        .tag_resource(
            &call,
            TagResourceRequest {
                key_id: Some(k.key_id.clone()),
                tags: Some(many),
            },
        )
        .unwrap_err();
    assert_eq!(e.aws_code(), "LimitExceededException");
    let bad_marker = f.kms.list_resource_tags(
        &call,
        KeyPageRequest {
            key_id: Some(k.key_id.clone()),
            page: PageRequest {
                limit: None,
                marker: Some("garbage".into()),
            },
        },
    );
    assert_eq!(bad_marker.unwrap_err(), KmsError::InvalidMarker);
}

#[test]
fn list_keys_pages_through_the_accounts_keys_only() {
    let f = Fixture::new();
    let mut ids: Vec<String> = (0..5).map(|_| f.create().key_id).collect();
    ids.sort();
    let other = root(OTHER);
    f.kms
        .create_key(&Call::new(&other, at(T0)), CreateKeyRequest::default())
        .unwrap();
    let mut seen = Vec::new();
    let mut page = PageRequest {
        limit: Some(2),
        marker: None,
    };
    loop {
        let p = f
            .kms
            .list_keys(&f.call(T0), ListKeysRequest { page: page.clone() })
            .unwrap();
        seen.extend(p.items.into_iter().map(|k| k.key_id));
        if !p.truncated {
            break;
        }
        page.marker = p.next_marker;
    }
    assert_eq!(seen, ids);
}

#[test]
fn unsupported_key_kinds_and_features() {
    let f = Fixture::new();
    let call = f.call(T0);
    for req in [
        CreateKeyRequest {
            key_spec: Some("RSA_2048".into()),
            ..Default::default()
        },
        CreateKeyRequest {
            origin: Some("EXTERNAL".into()),
            ..Default::default()
        },
        CreateKeyRequest {
            multi_region: Some(true),
            ..Default::default()
        },
        CreateKeyRequest {
            key_usage: Some("SIGN_VERIFY".into()),
            ..Default::default()
        },
    ] {
        assert_eq!(
            f.kms.create_key(&call, req).unwrap_err().aws_code(),
            "UnsupportedOperationException"
        );
    }
    let e = f
        .kms
        .create_key(
            &call,
            CreateKeyRequest {
                key_spec: Some("AES_256".into()),
                ..Default::default()
            },
        )
        .unwrap_err();
    assert_eq!(e.aws_code(), "ValidationException");
    let k = f.create();
    let e = f
        .kms
        .encrypt(
            &call,
            EncryptRequest {
                key_id: Some(k.key_id.clone()),
                plaintext: Some(b"x".to_vec().into()),
                encryption_algorithm: Some("RSAES_OAEP_SHA_256".into()),
                ..Default::default()
            },
        )
        .unwrap_err();
    assert_eq!(e.aws_code(), "InvalidKeyUsageException");
    let e = f
        .kms
        .encrypt(
            &call,
            EncryptRequest {
                key_id: Some(k.key_id.clone()),
                plaintext: Some(b"x".to_vec().into()),
                dry_run: true,
                ..Default::default()
            },
        )
        .unwrap_err();
    assert_eq!(e, KmsError::DryRun);
}

#[test]
fn a_failed_store_write_changes_nothing() {
    let f = Fixture::new();
    let k = f.create();
    f.store.set_failing(true);
    let e = f
        .kms
        .disable_key(&f.call(T0), key_req(&k.key_id))
        .unwrap_err();
    assert_eq!(e.aws_code(), "KMSInternalException");
    assert!(!e.message().contains("store"));
    f.store.set_failing(false);
    let d = f
        .kms
        .describe_key(
            &f.call(T0),
            DescribeKeyRequest {
                key_id: Some(k.key_id.clone()),
                grant_tokens: None,
            },
        )
        .unwrap();
    assert_eq!(d.key_metadata.key_state, KeyState::Enabled);
}

// ----- policies and authorization ---------------------------------------------------------

const BOB: &str = "arn:aws:iam::111122223333:user/Bob";

fn denied(r: Result<impl std::fmt::Debug, KmsError>) -> String {
    match r.unwrap_err() {
        KmsError::AccessDenied(m) => m,
        other => panic!("expected AccessDenied, got {other:?}"),
    }
}

#[test]
fn a_principal_without_decrypt_is_refused_with_awss_message() {
    let f = Fixture::new();
    let k = f.create();
    let blob = encrypt(&f.kms, &f.call(T0), &k.key_id, b"x", ctx(&[]))
        .unwrap()
        .ciphertext_blob;
    let bob = user(
        BOB,
        &[
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:Encrypt","Resource":"*"}]}"#,
        ],
    );
    let call = Call::new(&bob, at(T0));
    encrypt(&f.kms, &call, &k.key_id, b"y", ctx(&[])).unwrap();
    assert_eq!(
        denied(decrypt(&f.kms, &call, &blob, ctx(&[]))),
        format!(
            "User: {BOB} is not authorized to perform: kms:Decrypt on resource: {} because no identity-based policy allows the kms:Decrypt action",
            k.arn
        )
    );
    // Identity-only operations name the resource `*`.
    assert_eq!(
        denied(f.kms.create_key(&call, CreateKeyRequest::default())),
        format!(
            "User: {BOB} is not authorized to perform: kms:CreateKey on resource: * because no identity-based policy allows the kms:CreateKey action"
        )
    );
    assert!(
        denied(f.kms.list_keys(&call, ListKeysRequest::default()))
            .contains("kms:ListKeys on resource: *")
    );
}

#[test]
fn a_key_policy_deny_beats_an_identity_allow() {
    let f = Fixture::new();
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[
        {{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{ACCOUNT}:root"}},"Action":"kms:*","Resource":"*"}},
        {{"Sid":"No decrypt for Bob","Effect":"Deny","Principal":{{"AWS":"{BOB}"}},"Action":"kms:Decrypt","Resource":"*"}}]}}"#
    );
    let k = f.create_with_policy(&policy);
    let bob = user(BOB, &[ALLOW_ALL_KMS]);
    let call = Call::new(&bob, at(T0));
    let blob = encrypt(&f.kms, &call, &k.key_id, b"x", ctx(&[]))
        .unwrap()
        .ciphertext_blob;
    assert_eq!(
        denied(decrypt(&f.kms, &call, &blob, ctx(&[]))),
        format!(
            "User: {BOB} is not authorized to perform: kms:Decrypt on resource: {} with an explicit deny in a resource-based policy",
            k.arn
        )
    );
    // GetKeyPolicy returns the text exactly as given.
    let p = f
        .kms
        .get_key_policy(
            &call,
            GetKeyPolicyRequest {
                key_id: Some(k.key_id.clone()),
                policy_name: None,
            },
        )
        .unwrap();
    assert_eq!(p.policy, policy);
}

#[test]
fn cross_account_needs_both_sides() {
    let f = Fixture::new();
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[
        {{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{ACCOUNT}:root"}},"Action":"kms:*","Resource":"*"}},
        {{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{OTHER}:root"}},"Action":["kms:Decrypt","kms:DescribeKey"],"Resource":"*"}}]}}"#
    );
    let k = f.create_with_policy(&policy);
    let blob = encrypt(&f.kms, &f.call(T0), &k.key_id, b"x", ctx(&[]))
        .unwrap()
        .ciphertext_blob;
    let carol_arn = format!("arn:aws:iam::{OTHER}:user/Carol");
    // Key policy allows the other account, Carol's IAM policy does not.
    let carol = user(&carol_arn, &[]);
    let call = Call::new(&carol, at(T0));
    assert_eq!(
        denied(decrypt(&f.kms, &call, &blob, ctx(&[]))),
        format!(
            "User: {carol_arn} is not authorized to perform: kms:Decrypt on resource: {} because no identity-based policy allows the kms:Decrypt action",
            k.arn
        )
    );
    // Both sides allow.
    let carol = user(
        &carol_arn,
        &[&format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"kms:Decrypt","Resource":"{}"}}]}}"#,
            k.arn
        )],
    );
    let call = Call::new(&carol, at(T0));
    assert_eq!(decrypt(&f.kms, &call, &blob, ctx(&[])).unwrap(), b"x");
    // The other account's key must be named by ARN; a bare id is looked up in Carol's account.
    let r = f.kms.describe_key(
        &call,
        DescribeKeyRequest {
            key_id: Some(k.key_id.clone()),
            grant_tokens: None,
        },
    );
    assert_eq!(r.unwrap_err().aws_code(), "NotFoundException");
    // IAM allows, the key policy does not: refused.
    let k2 = f.create();
    let blob2 = encrypt(&f.kms, &f.call(T0), &k2.key_id, b"x", ctx(&[]))
        .unwrap()
        .ciphertext_blob;
    let dave = user(&format!("arn:aws:iam::{OTHER}:user/Dave"), &[ALLOW_ALL_KMS]);
    let call = Call::new(&dave, at(T0));
    assert!(
        denied(decrypt(&f.kms, &call, &blob2, ctx(&[])))
            .ends_with("because no resource-based policy allows the kms:Decrypt action")
    );
    // Management operations do not cross accounts.
    let mallory = user(
        &format!("arn:aws:iam::{OTHER}:user/Mallory"),
        &[ALLOW_ALL_KMS],
    );
    let r = f
        .kms
        .disable_key(&Call::new(&mallory, at(T0)), key_req(&k.arn));
    assert_eq!(r.unwrap_err().aws_code(), "NotFoundException");
}

#[test]
fn encryption_context_conditions() {
    let f = Fixture::new();
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[
        {{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{ACCOUNT}:root"}},"Action":"kms:*","Resource":"*"}},
        {{"Effect":"Allow","Principal":{{"AWS":"{BOB}"}},"Action":["kms:Encrypt","kms:Decrypt"],"Resource":"*",
          "Condition":{{"StringEquals":{{"kms:EncryptionContext:Department":"IT"}}}}}},
        {{"Effect":"Deny","Principal":"*","Action":"kms:Encrypt","Resource":"*",
          "Condition":{{"ForAnyValue:StringEquals":{{"kms:EncryptionContextKeys":"forbidden"}}}}}}]}}"#
    );
    let k = f.create_with_policy(&policy);
    let bob = user(BOB, &[]);
    let call = Call::new(&bob, at(T0));
    let it = ctx(&[("Department", "IT")]);
    let blob = encrypt(&f.kms, &call, &k.key_id, b"x", it.clone())
        .unwrap()
        .ciphertext_blob;
    assert_eq!(decrypt(&f.kms, &call, &blob, it).unwrap(), b"x");
    denied(encrypt(
        &f.kms,
        &call,
        &k.key_id,
        b"x",
        ctx(&[("Department", "HR")]),
    ));
    denied(encrypt(&f.kms, &call, &k.key_id, b"x", ctx(&[])));
    // The condition key name is case-insensitive; the value is not (StringEquals).
    encrypt(&f.kms, &call, &k.key_id, b"x", ctx(&[("department", "IT")])).unwrap();
    denied(encrypt(
        &f.kms,
        &call,
        &k.key_id,
        b"x",
        ctx(&[("Department", "it")]),
    ));
    // kms:EncryptionContextKeys with a set operator.
    denied(encrypt(
        &f.kms,
        &f.call(T0),
        &k.key_id,
        b"x",
        ctx(&[("forbidden", "1")]),
    ));
}

fn cloudtrail_policy() -> String {
    let a = ACCOUNT;
    format!(
        r#"{{"Version":"2012-10-17","Id":"Key policy created by CloudTrail","Statement":[
 {{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{a}:root"}},"Action":"kms:*","Resource":"*"}},
 {{"Sid":"Allow CloudTrail to encrypt logs","Effect":"Allow","Principal":{{"Service":"cloudtrail.amazonaws.com"}},
  "Action":"kms:GenerateDataKey*","Resource":"*",
  "Condition":{{"StringLike":{{"kms:EncryptionContext:aws:cloudtrail:arn":"arn:aws:cloudtrail:*:{a}:trail/*"}},
               "StringEquals":{{"aws:SourceArn":"arn:aws:cloudtrail:us-east-1:{a}:trail/t"}}}}}},
 {{"Sid":"Allow CloudTrail to describe key","Effect":"Allow","Principal":{{"Service":"cloudtrail.amazonaws.com"}},
  "Action":"kms:DescribeKey","Resource":"*","Condition":{{"StringEquals":{{"aws:SourceArn":"arn:aws:cloudtrail:us-east-1:{a}:trail/t"}}}}}},
 {{"Sid":"Allow principals in the account to decrypt log files","Effect":"Allow","Principal":{{"AWS":"*"}},
  "Action":["kms:Decrypt","kms:ReEncryptFrom"],"Resource":"*",
  "Condition":{{"StringEquals":{{"kms:CallerAccount":"{a}"}},
               "StringLike":{{"kms:EncryptionContext:aws:cloudtrail:arn":"arn:aws:cloudtrail:*:{a}:trail/*"}}}}}},
 {{"Sid":"Allow alias creation during setup","Effect":"Allow","Principal":{{"AWS":"*"}},"Action":"kms:CreateAlias","Resource":"*",
  "Condition":{{"StringEquals":{{"kms:ViaService":"ec2.us-east-1.amazonaws.com","kms:CallerAccount":"{a}"}}}}}}]}}"#
    )
}

#[test]
fn the_cloudtrail_key_policy() {
    let f = Fixture::new();
    let k = f.create_with_policy(&cloudtrail_policy());
    let trail = format!("arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/t");
    let cloudtrail = Caller::service(
        "cloudtrail.amazonaws.com",
        AccountId::parse(ACCOUNT).unwrap(),
    );
    let call = Call::new(&cloudtrail, at(T0)).source(&trail, ACCOUNT);
    let log_ctx = ctx(&[
        ("aws:cloudtrail:arn", &trail),
        (
            "aws:s3:arn",
            "arn:aws:s3:::ct-bucket/AWSLogs/111122223333/CloudTrail/x.json.gz",
        ),
    ]);
    let gdk = |call: &Call<'_>, c| {
        f.kms.generate_data_key(
            call,
            GenerateDataKeyRequest {
                key_id: Some(k.arn.clone()),
                key_spec: Some("AES_256".into()),
                encryption_context: c,
                ..Default::default()
            },
        )
    };
    let dk = gdk(&call, log_ctx.clone()).unwrap();
    // Without its encryption context, or for another trail, or without aws:SourceArn: refused.
    assert_eq!(
        denied(gdk(&call, ctx(&[]))),
        format!(
            "User: cloudtrail.amazonaws.com is not authorized to perform: kms:GenerateDataKey on resource: {} because no resource-based policy allows the kms:GenerateDataKey action",
            k.arn
        )
    );
    let other_trail = format!("arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/other");
    denied(gdk(
        &Call::new(&cloudtrail, at(T0)).source(&other_trail, ACCOUNT),
        log_ctx.clone(),
    ));
    denied(gdk(&Call::new(&cloudtrail, at(T0)), log_ctx.clone()));
    // DescribeKey with the trail's source ARN.
    f.kms
        .describe_key(
            &call,
            DescribeKeyRequest {
                key_id: Some(k.arn.clone()),
                grant_tokens: None,
            },
        )
        .unwrap();
    // CloudTrail may not decrypt.
    denied(decrypt(&f.kms, &call, &dk.ciphertext_blob, log_ctx.clone()));
    // A user of the account decrypts the log's data key through S3 (kms:ViaService).
    let bob = user(BOB, &[]);
    let via_s3 = Call::new(&bob, at(T0)).via_service("s3.us-east-1.amazonaws.com");
    assert_eq!(
        decrypt(&f.kms, &via_s3, &dk.ciphertext_blob, log_ctx.clone()).unwrap(),
        dk.plaintext.expose_secret()
    );
    // A user of another account may not, even with an IAM allow.
    let eve = user(&format!("arn:aws:iam::{OTHER}:user/Eve"), &[ALLOW_ALL_KMS]);
    denied(decrypt(
        &f.kms,
        &Call::new(&eve, at(T0)),
        &dk.ciphertext_blob,
        log_ctx,
    ));
    // Alias creation only via EC2.
    denied(f.kms.create_alias(
        &Call::new(&bob, at(T0)),
        AliasRequest {
            alias_name: Some("alias/ct".into()),
            target_key_id: Some(k.key_id.clone()),
        },
    ));
}

#[test]
fn transport_and_identity_condition_keys() {
    let f = Fixture::new();
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[
        {{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{ACCOUNT}:root"}},"Action":"kms:*","Resource":"*"}},
        {{"Effect":"Deny","Principal":"*","Action":"kms:Encrypt","Resource":"*","Condition":{{"Bool":{{"aws:SecureTransport":"false"}}}}}},
        {{"Effect":"Deny","Principal":"*","Action":"kms:Encrypt","Resource":"*","Condition":{{"NotIpAddress":{{"aws:SourceIp":"10.0.0.0/8"}}}}}},
        {{"Effect":"Deny","Principal":"*","Action":"kms:Encrypt","Resource":"*","Condition":{{"DateGreaterThan":{{"aws:CurrentTime":"2026-06-01T00:00:00Z"}}}}}},
        {{"Effect":"Deny","Principal":"*","Action":"kms:Encrypt","Resource":"*","Condition":{{"StringEquals":{{"aws:username":"Mallory"}}}}}}]}}"#
    );
    let k = f.create_with_policy(&policy);
    let bob = user(BOB, &[ALLOW_ALL_KMS]);
    let ip = "10.1.2.3".parse().unwrap();
    let ok = Call::new(&bob, at(T0)).transport(ip, true);
    encrypt(&f.kms, &ok, &k.key_id, b"x", ctx(&[])).unwrap();
    denied(encrypt(
        &f.kms,
        &Call::new(&bob, at(T0)).transport(ip, false),
        &k.key_id,
        b"x",
        ctx(&[]),
    ));
    denied(encrypt(
        &f.kms,
        &Call::new(&bob, at(T0)).transport("192.168.1.1".parse().unwrap(), true),
        &k.key_id,
        b"x",
        ctx(&[]),
    ));
    denied(encrypt(
        &f.kms,
        &Call::new(&bob, at(T0 + 200 * DAY)).transport(ip, true),
        &k.key_id,
        b"x",
        ctx(&[]),
    ));
    let mallory = user("arn:aws:iam::111122223333:user/Mallory", &[ALLOW_ALL_KMS]);
    denied(encrypt(
        &f.kms,
        &Call::new(&mallory, at(T0)).transport(ip, true),
        &k.key_id,
        b"x",
        ctx(&[]),
    ));
}

#[test]
fn the_lockout_safety_check() {
    let f = Fixture::new();
    let k = f.create();
    let admin_only = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{ACCOUNT}:role/Admin"}},"Action":"kms:*","Resource":"*"}}]}}"#
    );
    let put = |bypass| {
        f.kms.put_key_policy(
            &f.call(T0),
            PutKeyPolicyRequest {
                key_id: Some(k.key_id.clone()),
                policy: Some(admin_only.clone()),
                bypass_policy_lockout_safety_check: bypass,
                policy_name: None,
            },
        )
    };
    let e = put(false).unwrap_err();
    assert_eq!(e.aws_code(), "MalformedPolicyDocumentException");
    assert_eq!(
        e.to_string(),
        "The new key policy will not allow you to update the key policy in the future."
    );
    put(true).unwrap();
    // Now the root is locked out of the key.
    denied(f.kms.describe_key(
        &f.call(T0),
        DescribeKeyRequest {
            key_id: Some(k.key_id.clone()),
            grant_tokens: None,
        },
    ));
    // CreateKey runs the same check.
    let e = f
        .kms
        .create_key(
            &f.call(T0),
            CreateKeyRequest {
                policy: Some(admin_only.clone()),
                ..Default::default()
            },
        )
        .unwrap_err();
    assert_eq!(e.aws_code(), "MalformedPolicyDocumentException");
    // Malformed documents.
    let bad_principal = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::1:user/x"},"Action":"kms:*","Resource":"*"}]}"#;
    let e = f
        .kms
        .create_key(
            &f.call(T0),
            CreateKeyRequest {
                policy: Some(bad_principal.into()),
                ..Default::default()
            },
        )
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "Policy contains a statement with one or more invalid principals."
    );
    let for_all = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"{ACCOUNT}"}},"Action":"kms:*","Resource":"*","Condition":{{"ForAllValues:StringEquals":{{"kms:EncryptionContext:dept":"IT"}}}}}}]}}"#
    );
    let e = f
        .kms
        .create_key(
            &f.call(T0),
            CreateKeyRequest {
                policy: Some(for_all),
                ..Default::default()
            },
        )
        .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("OverlyPermissiveCondition:EncryptionContext: Using the ForAllValues"),
        "{e}"
    );
    let e = f
        .kms
        .create_key(
            &f.call(T0),
            CreateKeyRequest {
                policy: Some("{not json".into()),
                ..Default::default()
            },
        )
        .unwrap_err();
    assert_eq!(e.aws_code(), "MalformedPolicyDocumentException");
    let huge = format!(
        r#"{{"Version":"2012-10-17","Id":"{}","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"{ACCOUNT}"}},"Action":"kms:*","Resource":"*"}}]}}"#,
        "x".repeat(40_000)
    );
    let e = f
        .kms
        .create_key(
            &f.call(T0),
            CreateKeyRequest {
                policy: Some(huge),
                ..Default::default()
            },
        )
        .unwrap_err();
    assert_eq!(e.aws_code(), "LimitExceededException");
    let e = f
        .kms
        .get_key_policy(
            &f.call(T0),
            GetKeyPolicyRequest {
                key_id: Some(k.key_id.clone()),
                policy_name: Some("other".into()),
            },
        )
        .unwrap_err();
    assert!(matches!(
        e,
        KmsError::AccessDenied(_) | KmsError::InvalidRequest(_)
    ));
}

#[test]
fn alias_operations_need_both_the_alias_and_the_key() {
    let f = Fixture::new();
    let k = f.create();
    // Allowed on keys but not on aliases.
    let bob = user(
        BOB,
        &[
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:CreateAlias","Resource":"arn:aws:kms:*:*:key/*"}]}"#,
        ],
    );
    let call = Call::new(&bob, at(T0));
    let msg = denied(f.kms.create_alias(
        &call,
        AliasRequest {
            alias_name: Some("alias/x".into()),
            target_key_id: Some(k.key_id.clone()),
        },
    ));
    assert_eq!(
        msg,
        format!(
            "User: {BOB} is not authorized to perform: kms:CreateAlias on resource: arn:aws:kms:us-east-1:{ACCOUNT}:alias/x because no identity-based policy allows the kms:CreateAlias action"
        )
    );
    let bob = user(
        BOB,
        &[
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:CreateAlias","Resource":["arn:aws:kms:*:*:key/*","arn:aws:kms:*:*:alias/*"]}]}"#,
        ],
    );
    f.kms
        .create_alias(
            &Call::new(&bob, at(T0)),
            AliasRequest {
                alias_name: Some("alias/x".into()),
                target_key_id: Some(k.key_id.clone()),
            },
        )
        .unwrap();
}

#[test]
fn the_store_never_sees_plaintext_material_and_restarts_keep_everything() {
    let mut f = Fixture::new();
    let k = f.create();
    let call = f.call(T0);
    f.kms
        .tag_resource(
            &call,
            TagResourceRequest {
                key_id: Some(k.key_id.clone()),
                tags: Some(vec![Tag {
                    key: Some("a".into()),
                    value: Some("b".into()),
                }]),
            },
        )
        .unwrap();
    f.kms
        .create_alias(
            &call,
            AliasRequest {
                alias_name: Some("alias/keep".into()),
                target_key_id: Some(k.key_id.clone()),
            },
        )
        .unwrap();
    let blob = encrypt(
        &f.kms,
        &call,
        "alias/keep",
        b"persisted",
        ctx(&[("k", "v")]),
    )
    .unwrap()
    .ciphertext_blob;
    f.reopen();
    assert_eq!(
        decrypt(&f.kms, &f.call(T0), &blob, ctx(&[("k", "v")])).unwrap(),
        b"persisted"
    );
    let tags = f
        .kms
        .list_resource_tags(
            &f.call(T0),
            KeyPageRequest {
                key_id: Some(k.key_id.clone()),
                page: PageRequest::default(),
            },
        )
        .unwrap();
    assert_eq!(tags.items.len(), 1);
    // A wrong root key does not open the store.
    let wrong = sealtrail_kms::Kms::open(
        region(),
        f.store.clone(),
        Arc::new(sealtrail_kms::RootKeyWrapper::new(&[0x43; 32]).unwrap()),
        Box::new(sealtrail_model::SeededRng::new(1)),
    );
    assert_eq!(wrong.unwrap_err().aws_code(), "KMSInternalException");
}

#[test]
fn concurrent_requests_and_mutations() {
    let f = Fixture::new();
    let k = f.create();
    let kms = &f.kms;
    std::thread::scope(|s| {
        for t in 0..4u8 {
            let k = &k;
            let f = &f;
            s.spawn(move || {
                for i in 0..200u32 {
                    let call = f.call(T0);
                    let pt = [t, (i % 256) as u8, (i / 256) as u8];
                    let c = ctx(&[("thread", &t.to_string())]);
                    let e = encrypt(kms, &call, &k.key_id, &pt, c.clone()).unwrap();
                    assert_eq!(decrypt(kms, &call, &e.ciphertext_blob, c).unwrap(), pt);
                }
            });
        }
        let f2 = &f;
        s.spawn(move || {
            for _ in 0..20 {
                let n = f2.create();
                kms.tag_resource(
                    &f2.call(T0),
                    TagResourceRequest {
                        key_id: Some(n.key_id),
                        tags: Some(vec![Tag {
                            key: Some("t".into()),
                            value: Some("v".into()),
                        }]),
                    },
                )
                .unwrap();
            }
        });
        let (f3, k3) = (&f, &k);
        s.spawn(move || {
            for _ in 0..20 {
                kms.rotate_key_on_demand(&f3.call(T0), key_req(&k3.key_id))
                    .unwrap();
                kms.tick(at(T0)).unwrap();
            }
        });
    });
    let keys = kms
        .list_keys(
            &f.call(T0),
            ListKeysRequest {
                page: PageRequest {
                    limit: Some(1000),
                    marker: None,
                },
            },
        )
        .unwrap();
    assert_eq!(keys.items.len(), 21);
    let rotations = kms
        .list_key_rotations(
            &f.call(T0),
            ListKeyRotationsRequest {
                key_id: Some(k.key_id.clone()),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(rotations.items.len(), 20);
}
