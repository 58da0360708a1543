//! The SQLite KMS store: state survives a reopen and a `kill -9` at any moment, ciphertexts
//! made before decrypt after, deletion removes the material rows, and no file of the data
//! directory ever holds plaintext key material.

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use sealtrail_kms::ops::*;
use sealtrail_kms::{Call, Caller, EncryptionContext, KeyStore, Kms, RootKeyWrapper};
use sealtrail_model::{AccountId, Region, Rng, SeededRng, UtcTime};
use sealtrail_policy::AwsPrincipal;
use sealtrail_store::kms_sqlite::{SCHEMA_VERSION, SqliteKeyStore};
use secrecy::ExposeSecret as _;

const ROOT_KEY: [u8; 32] = [0x24; 32];
const T0: i64 = 1_767_225_600;

/// Records every 32-byte draw (key material, data keys, material ids) so the test can look
/// for them on disk.
struct RecordingRng {
    inner: SeededRng,
    drawn: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl Rng for RecordingRng {
    fn fill(&mut self, buf: &mut [u8]) {
        self.inner.fill(buf);
        if buf.len() >= 16 {
            self.drawn.lock().unwrap().push(buf.to_vec());
        }
    }
}

fn root() -> Caller {
    Caller::aws(
        AwsPrincipal::root(&AccountId::parse("111122223333").unwrap()),
        None,
        Arc::default(),
    )
}

fn at(s: i64) -> UtcTime {
    UtcTime::from_epoch_seconds(s).unwrap()
}

fn open(path: &Path, rng: Box<dyn Rng>) -> Kms {
    let store = SqliteKeyStore::open(path).unwrap();
    Kms::open(
        Region::parse("us-east-1").unwrap(),
        Arc::new(store),
        Arc::new(RootKeyWrapper::new(&ROOT_KEY).unwrap()),
        rng,
    )
    .unwrap()
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn enc(kms: &Kms, call: &Call<'_>, key: &str, pt: &[u8], c: &EncryptionContext) -> Vec<u8> {
    kms.encrypt(
        call,
        EncryptRequest {
            key_id: Some(key.into()),
            plaintext: Some(pt.to_vec().into()),
            encryption_context: c.clone(),
            ..Default::default()
        },
    )
    .unwrap()
    .ciphertext_blob
}

fn dec(kms: &Kms, call: &Call<'_>, blob: &[u8], c: &EncryptionContext) -> Vec<u8> {
    kms.decrypt(
        call,
        DecryptRequest {
            ciphertext_blob: Some(blob.to_vec()),
            encryption_context: c.clone(),
            ..Default::default()
        },
    )
    .unwrap()
    .plaintext
    .expose_secret()
    .to_vec()
}

#[test]
fn state_survives_a_reopen_and_old_ciphertexts_decrypt() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kms.sqlite3");
    let caller = root();
    let call = Call::new(&caller, at(T0));
    let c = EncryptionContext::new().with("purpose", "persist");
    let (key, blob, rotated_blob) = {
        let kms = open(&db, Box::new(SeededRng::new(1)));
        let key = kms
            .create_key(
                &call,
                CreateKeyRequest {
                    description: Some("persisted".into()),
                    tags: Some(vec![Tag {
                        key: Some("team".into()),
                        value: Some("red".into()),
                    }]),
                    ..Default::default()
                },
            )
            .unwrap()
            .key_metadata;
        kms.create_alias(
            &call,
            AliasRequest {
                alias_name: Some("alias/persisted".into()),
                target_key_id: Some(key.key_id.clone()),
            },
        )
        .unwrap();
        let blob = enc(&kms, &call, &key.key_id, b"before", &c);
        kms.enable_key_rotation(
            &call,
            EnableKeyRotationRequest {
                key_id: Some(key.key_id.clone()),
                rotation_period_in_days: Some(100),
            },
        )
        .unwrap();
        kms.rotate_key_on_demand(
            &call,
            KeyIdRequest {
                key_id: Some(key.key_id.clone()),
            },
        )
        .unwrap();
        let rotated = enc(&kms, &call, "alias/persisted", b"after", &c);
        (key, blob, rotated)
    };
    let kms = open(&db, Box::new(SeededRng::new(2)));
    assert_eq!(dec(&kms, &call, &blob, &c), b"before");
    assert_eq!(dec(&kms, &call, &rotated_blob, &c), b"after");
    let d = kms
        .describe_key(
            &call,
            DescribeKeyRequest {
                key_id: Some("alias/persisted".into()),
                grant_tokens: None,
            },
        )
        .unwrap()
        .key_metadata;
    assert_eq!(d, {
        let mut k = key.clone();
        k.current_key_material_id = d.current_key_material_id.clone();
        k
    });
    assert_ne!(d.current_key_material_id, key.current_key_material_id);
    let st = kms
        .get_key_rotation_status(
            &call,
            KeyIdRequest {
                key_id: Some(key.key_id.clone()),
            },
        )
        .unwrap();
    assert_eq!(st.rotation_period_in_days, Some(100));
    let tags = kms
        .list_resource_tags(
            &call,
            KeyPageRequest {
                key_id: Some(key.key_id.clone()),
                page: PageRequest::default(),
            },
        )
        .unwrap();
    assert_eq!(tags.items[0].value, "red");
    let policy = kms
        .get_key_policy(
            &call,
            GetKeyPolicyRequest {
                key_id: Some(key.key_id.clone()),
                policy_name: None,
            },
        )
        .unwrap();
    assert!(policy.policy.contains("\"Id\" : \"key-default-1\""));
}

#[test]
fn deletion_removes_the_material_rows() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kms.sqlite3");
    let caller = root();
    let call = Call::new(&caller, at(T0));
    let kms = open(&db, Box::new(SeededRng::new(3)));
    let key = kms
        .create_key(&call, CreateKeyRequest::default())
        .unwrap()
        .key_metadata;
    let blob = enc(&kms, &call, &key.key_id, b"x", &EncryptionContext::new());
    kms.schedule_key_deletion(
        &call,
        ScheduleKeyDeletionRequest {
            key_id: Some(key.key_id.clone()),
            pending_window_in_days: Some(7),
        },
    )
    .unwrap();
    kms.tick(at(T0 + 7 * 86_400)).unwrap();
    drop(kms);
    let store = SqliteKeyStore::open(&db).unwrap();
    assert!(store.load().unwrap().keys.is_empty());
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    let kms = open(&db, Box::new(SeededRng::new(4)));
    let r = kms.decrypt(
        &call,
        DecryptRequest {
            ciphertext_blob: Some(blob),
            ..Default::default()
        },
    );
    assert_eq!(r.unwrap_err().aws_code(), "InvalidCiphertextException");
}

#[test]
fn no_file_in_the_data_directory_holds_plaintext_key_material() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kms.sqlite3");
    let drawn = Arc::new(Mutex::new(Vec::new()));
    let caller = root();
    let call = Call::new(&caller, at(T0));
    {
        let kms = open(
            &db,
            Box::new(RecordingRng {
                inner: SeededRng::new(5),
                drawn: drawn.clone(),
            }),
        );
        for i in 0..5 {
            let k = kms
                .create_key(&call, CreateKeyRequest::default())
                .unwrap()
                .key_metadata;
            kms.rotate_key_on_demand(
                &call,
                KeyIdRequest {
                    key_id: Some(k.key_id.clone()),
                },
            )
            .unwrap();
            let dk = kms
                .generate_data_key(
                    &call,
                    GenerateDataKeyRequest {
                        key_id: Some(k.key_id.clone()),
                        key_spec: Some("AES_256".into()),
                        ..Default::default()
                    },
                )
                .unwrap();
            assert_eq!(dk.plaintext.expose_secret().len(), 32);
            if i == 0 {
                kms.schedule_key_deletion(
                    &call,
                    ScheduleKeyDeletionRequest {
                        key_id: Some(k.key_id.clone()),
                        pending_window_in_days: Some(7),
                    },
                )
                .unwrap();
            }
        }
        kms.tick(at(T0 + 8 * 86_400)).unwrap();
        // The process is still running here: the WAL is in use and not checkpointed.
        let secrets: Vec<Vec<u8>> = drawn
            .lock()
            .unwrap()
            .iter()
            .filter(|d| d.len() == 32)
            .cloned()
            .collect();
        assert!(secrets.len() >= 15, "5 keys × 2 materials + 5 data keys");
        let files = files_under(dir.path());
        assert!(files.iter().any(|f| f.ends_with("kms.sqlite3-wal")));
        // Positive control: the scan sees what was stored (material ids, as hex text).
        let all: Vec<u8> = files
            .iter()
            .flat_map(|f| std::fs::read(f).unwrap())
            .collect();
        let stored_ids = drawn
            .lock()
            .unwrap()
            .iter()
            .filter(|d| d.len() == 32)
            .filter(|d| contains(&all, hex_encode(d).as_bytes()))
            .count();
        assert!(
            stored_ids >= 8,
            "material ids of the 4 live keys × 2 versions are stored"
        );
        for f in &files {
            let bytes = std::fs::read(f).unwrap();
            for s in &secrets {
                assert!(
                    !contains(&bytes, s),
                    "{} holds plaintext material",
                    f.display()
                );
            }
            assert!(!contains(&bytes, &ROOT_KEY));
        }
    }
    // And after close (checkpoint) too.
    let secrets: Vec<Vec<u8>> = drawn.lock().unwrap().clone();
    for f in files_under(dir.path()) {
        let bytes = std::fs::read(&f).unwrap();
        for s in secrets.iter().filter(|d| d.len() == 32) {
            assert!(
                !contains(&bytes, s),
                "{} holds plaintext material",
                f.display()
            );
        }
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&db).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "the database is private to its owner");
    }
}

#[test]
fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kms.sqlite3");
    drop(SqliteKeyStore::open(&db).unwrap());
    let conn = rusqlite_free_bump(&db);
    assert!(conn);
    let e = SqliteKeyStore::open(&db).unwrap_err();
    assert!(e.to_string().contains("newer"), "{e}");
}

/// Bumps `user_version` with the store's own connection type (rusqlite is a dependency of the
/// store, not of this test): open, then write the pragma through SQL in a fresh store.
fn rusqlite_free_bump(db: &Path) -> bool {
    // The store does not expose raw SQL; use the sqlite3 header directly: user_version is
    // the big-endian u32 at offset 60 of the database header.
    let mut bytes = std::fs::read(db).unwrap();
    if bytes.len() < 64 {
        return false;
    }
    bytes[60..64].copy_from_slice(&(SCHEMA_VERSION as u32 + 1).to_be_bytes());
    std::fs::write(db, bytes).unwrap();
    true
}

const CHILD_ENV: &str = "SEALTRAIL_KMS_KILL_CHILD_DB";

/// The child of `survives_kill_9`: creates keys as fast as it can and prints each key id
/// with a ciphertext once `CreateKey` (a committed write) and `Encrypt` have returned.
#[test]
fn kill_9_child() {
    let Ok(db) = std::env::var(CHILD_ENV) else {
        return;
    };
    let seed = std::process::id().into();
    let kms = open(Path::new(&db), Box::new(SeededRng::new(seed)));
    let caller = root();
    let mut out = std::io::stdout().lock();
    for i in 0u64.. {
        let call = Call::new(&caller, at(T0 + i64::try_from(i).unwrap()));
        let k = kms
            .create_key(&call, CreateKeyRequest::default())
            .unwrap()
            .key_metadata;
        kms.tag_resource(
            &call,
            TagResourceRequest {
                key_id: Some(k.key_id.clone()),
                tags: Some(vec![Tag {
                    key: Some("n".into()),
                    value: Some(i.to_string()),
                }]),
            },
        )
        .unwrap();
        let blob = enc(
            &kms,
            &call,
            &k.key_id,
            &i.to_be_bytes(),
            &EncryptionContext::new(),
        );
        writeln!(out, "{} {} {}", k.key_id, i, hex_encode(&blob)).unwrap();
        out.flush().unwrap();
    }
}

fn hex_encode(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn hex_decode(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn survives_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kms.sqlite3");
    let mut acked = Vec::new();
    for round in 0..3 {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "kill_9_child", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, &db)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let want = 10 + round * 7;
        let mut got = 0;
        while got < want {
            let Some(line) = lines.next() else { break };
            let line = line.unwrap();
            let parts: Vec<&str> = line.split(' ').collect();
            if parts.len() == 3 && parts[0].len() == 36 {
                acked.push((
                    parts[0].to_owned(),
                    parts[1].to_owned(),
                    hex_decode(parts[2]),
                ));
                got += 1;
            }
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        assert!(got == want, "the child acknowledged {got} keys");
    }
    let kms = open(&db, Box::new(SeededRng::new(99)));
    let caller = root();
    let call = Call::new(&caller, at(T0 + 1_000));
    let listed = kms
        .list_keys(
            &call,
            ListKeysRequest {
                page: PageRequest {
                    limit: Some(1000),
                    marker: None,
                },
            },
        )
        .unwrap();
    assert!(listed.items.len() >= acked.len());
    for (id, n, blob) in &acked {
        let pt = dec(&kms, &call, blob, &EncryptionContext::new());
        assert_eq!(pt, n.parse::<u64>().unwrap().to_be_bytes(), "key {id}");
        let tags = kms
            .list_resource_tags(
                &call,
                KeyPageRequest {
                    key_id: Some(id.clone()),
                    page: PageRequest::default(),
                },
            )
            .unwrap();
        assert_eq!(
            tags.items.len(),
            1,
            "the tag write acknowledged before the print"
        );
    }
}
