//! [`SqliteKeyStore`]: the durable [`KeyStore`] of sealtrail's KMS, one SQLite file.
//!
//! The database is in WAL mode with `synchronous=FULL` (a commit is on disk when it returns,
//! and the file survives `kill -9` and power loss at any moment), `foreign_keys=ON` and
//! `secure_delete=ON` (deleted rows, such as a deleted key's wrapped material, are
//! overwritten with zeros, not left in free pages). Every [`KeyStore::apply`] is one
//! transaction. Key material is stored only as the service hands it over: wrapped under the
//! root key.
//!
//! Schema, version 1 (`PRAGMA user_version`):
//!
//! ```sql
//! CREATE TABLE kms_keys (
//!     key_id TEXT PRIMARY KEY,            -- UUID
//!     account TEXT NOT NULL, region TEXT NOT NULL,
//!     created INTEGER NOT NULL,           -- epoch seconds
//!     description TEXT NOT NULL,
//!     state TEXT NOT NULL,                -- Enabled | Disabled | PendingDeletion
//!     deletion_date INTEGER, pending_window_days INTEGER,
//!     policy TEXT NOT NULL,               -- exactly as given
//!     rotation_enabled INTEGER NOT NULL, rotation_period_days INTEGER,
//!     next_rotation INTEGER, on_demand_rotations INTEGER NOT NULL);
//! CREATE TABLE kms_key_materials (
//!     key_id TEXT NOT NULL REFERENCES kms_keys(key_id) ON DELETE CASCADE,
//!     version INTEGER NOT NULL,           -- 1, 2, ...
//!     material_id TEXT NOT NULL,          -- KeyMaterialId, 64 hex digits
//!     created INTEGER NOT NULL,
//!     rotation_type TEXT,                 -- NULL | AUTOMATIC | ON_DEMAND
//!     wrapped BLOB NOT NULL,              -- wrapped under the root key, never plaintext
//!     PRIMARY KEY (key_id, version));
//! CREATE TABLE kms_key_tags (
//!     key_id TEXT NOT NULL REFERENCES kms_keys(key_id) ON DELETE CASCADE,
//!     tag_key TEXT NOT NULL, tag_value TEXT NOT NULL,
//!     PRIMARY KEY (key_id, tag_key));
//! CREATE TABLE kms_aliases (
//!     account TEXT NOT NULL, region TEXT NOT NULL, name TEXT NOT NULL,
//!     target_key_id TEXT NOT NULL REFERENCES kms_keys(key_id) ON DELETE CASCADE,
//!     created INTEGER NOT NULL, updated INTEGER NOT NULL,
//!     PRIMARY KEY (account, region, name));
//! ```
//!
//! A database with a newer `user_version` is refused rather than misread.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use rusqlite::{Connection, OptionalExtension as _, Transaction, params};
use sealtrail_kms::{
    AliasName, AliasRecord, Change, KeyId, KeyRecord, KeyState, KeyStore, MaterialRecord,
    RotationConfig, RotationType, Snapshot, StoreError,
};
use sealtrail_model::{AccountId, Region, UtcTime};

/// The schema version this module writes and reads.
pub const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE kms_keys (
    key_id TEXT PRIMARY KEY,
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    created INTEGER NOT NULL,
    description TEXT NOT NULL,
    state TEXT NOT NULL,
    deletion_date INTEGER,
    pending_window_days INTEGER,
    policy TEXT NOT NULL,
    rotation_enabled INTEGER NOT NULL,
    rotation_period_days INTEGER,
    next_rotation INTEGER,
    on_demand_rotations INTEGER NOT NULL
);
CREATE TABLE kms_key_materials (
    key_id TEXT NOT NULL REFERENCES kms_keys(key_id) ON DELETE CASCADE,
    version INTEGER NOT NULL,
    material_id TEXT NOT NULL,
    created INTEGER NOT NULL,
    rotation_type TEXT,
    wrapped BLOB NOT NULL,
    PRIMARY KEY (key_id, version)
);
CREATE TABLE kms_key_tags (
    key_id TEXT NOT NULL REFERENCES kms_keys(key_id) ON DELETE CASCADE,
    tag_key TEXT NOT NULL,
    tag_value TEXT NOT NULL,
    PRIMARY KEY (key_id, tag_key)
);
CREATE TABLE kms_aliases (
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    name TEXT NOT NULL,
    target_key_id TEXT NOT NULL REFERENCES kms_keys(key_id) ON DELETE CASCADE,
    created INTEGER NOT NULL,
    updated INTEGER NOT NULL,
    PRIMARY KEY (account, region, name)
);
";

/// The KMS key store in one SQLite database file.
#[derive(Debug)]
pub struct SqliteKeyStore {
    path: PathBuf,
    conn: Mutex<Connection>,
}

fn err(context: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError(format!("{context}: {e}"))
}

impl SqliteKeyStore {
    /// Opens (creating if needed) the database at `path`, sets its pragmas, creates or checks
    /// the schema, and restricts the file (and its WAL and shared-memory files) to the owner
    /// on Unix.
    ///
    /// # Errors
    /// [`StoreError`] when the file cannot be opened or created, or has a newer schema.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let conn = Connection::open(path).map_err(|e| err(&path.display().to_string(), e))?;
        let mode: String = conn
            .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
            .map_err(|e| err("journal_mode", e))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError(format!(
                "{}: the database refused WAL mode (got {mode})",
                path.display()
            )));
        }
        conn.execute_batch(
            "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA secure_delete=ON;",
        )
        .map_err(|e| err("pragmas", e))?;
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| err("user_version", e))?;
        match version {
            0 => {
                conn.execute_batch(&format!(
                    "BEGIN IMMEDIATE; {SCHEMA} PRAGMA user_version={SCHEMA_VERSION}; COMMIT;"
                ))
                .map_err(|e| err("creating the schema", e))?;
            }
            SCHEMA_VERSION => {}
            other => {
                return Err(StoreError(format!(
                    "{}: schema version {other} is newer than this sealtrail ({SCHEMA_VERSION})",
                    path.display()
                )));
            }
        }
        let store = Self {
            path: path.to_owned(),
            conn: Mutex::new(conn),
        };
        store.restrict_permissions();
        Ok(store)
    }

    /// The database file.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    #[cfg(unix)]
    fn restrict_permissions(&self) {
        use std::os::unix::fs::PermissionsExt as _;
        for suffix in ["", "-wal", "-shm"] {
            let mut p = self.path.clone().into_os_string();
            p.push(suffix);
            // Best effort: a missing -wal/-shm file is fine.
            let _ = std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600));
        }
    }

    #[cfg(not(unix))]
    fn restrict_permissions(&self) {}

    fn put_key(tx: &Transaction<'_>, k: &KeyRecord) -> rusqlite::Result<()> {
        let id = k.id.to_string();
        tx.execute(
            "INSERT INTO kms_keys (key_id, account, region, created, description, state,
                deletion_date, pending_window_days, policy, rotation_enabled,
                rotation_period_days, next_rotation, on_demand_rotations)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
             ON CONFLICT (key_id) DO UPDATE SET
                account = excluded.account, region = excluded.region,
                created = excluded.created, description = excluded.description,
                state = excluded.state, deletion_date = excluded.deletion_date,
                pending_window_days = excluded.pending_window_days, policy = excluded.policy,
                rotation_enabled = excluded.rotation_enabled,
                rotation_period_days = excluded.rotation_period_days,
                next_rotation = excluded.next_rotation,
                on_demand_rotations = excluded.on_demand_rotations",
            params![
                id,
                k.account.as_str(),
                k.region.as_str(),
                k.created.epoch_seconds(),
                k.description,
                k.state.as_str(),
                k.deletion_date.map(UtcTime::epoch_seconds),
                k.pending_window_days,
                k.policy,
                k.rotation.enabled,
                k.rotation.period_days,
                k.rotation.next.map(UtcTime::epoch_seconds),
                k.rotation.on_demand_count,
            ],
        )?;
        tx.execute("DELETE FROM kms_key_tags WHERE key_id = ?1", params![id])?;
        let mut tag = tx.prepare_cached(
            "INSERT INTO kms_key_tags (key_id, tag_key, tag_value) VALUES (?1, ?2, ?3)",
        )?;
        for (tk, tv) in &k.tags {
            tag.execute(params![id, tk, tv])?;
        }
        let mut mat = tx.prepare_cached(
            "INSERT OR IGNORE INTO kms_key_materials
                (key_id, version, material_id, created, rotation_type, wrapped)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        for m in &k.materials {
            mat.execute(params![
                id,
                m.version,
                m.id,
                m.created.epoch_seconds(),
                m.rotation.map(RotationType::as_str),
                m.wrapped,
            ])?;
        }
        Ok(())
    }

    fn apply_one(tx: &Transaction<'_>, c: &Change) -> rusqlite::Result<()> {
        match c {
            Change::PutKey(k) => Self::put_key(tx, k),
            Change::DeleteKey(id) => {
                let id = id.to_string();
                tx.execute(
                    "DELETE FROM kms_aliases WHERE target_key_id = ?1",
                    params![id],
                )?;
                tx.execute("DELETE FROM kms_key_tags WHERE key_id = ?1", params![id])?;
                tx.execute(
                    "DELETE FROM kms_key_materials WHERE key_id = ?1",
                    params![id],
                )?;
                tx.execute("DELETE FROM kms_keys WHERE key_id = ?1", params![id])?;
                Ok(())
            }
            Change::PutAlias(a) => {
                tx.execute(
                    "INSERT INTO kms_aliases (account, region, name, target_key_id, created, updated)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                     ON CONFLICT (account, region, name) DO UPDATE SET
                        target_key_id = excluded.target_key_id,
                        created = excluded.created, updated = excluded.updated",
                    params![
                        a.account.as_str(),
                        a.region.as_str(),
                        a.name.as_str(),
                        a.target.to_string(),
                        a.created.epoch_seconds(),
                        a.updated.epoch_seconds(),
                    ],
                )?;
                Ok(())
            }
            Change::DeleteAlias {
                account,
                region,
                name,
            } => {
                tx.execute(
                    "DELETE FROM kms_aliases WHERE account = ?1 AND region = ?2 AND name = ?3",
                    params![account.as_str(), region.as_str(), name.as_str()],
                )?;
                Ok(())
            }
        }
    }
}

fn time(v: i64) -> Result<UtcTime, StoreError> {
    UtcTime::from_epoch_seconds(v).map_err(|e| err("a stored time", e))
}

fn key_id(s: &str) -> Result<KeyId, StoreError> {
    KeyId::parse(s).ok_or_else(|| StoreError(format!("stored key id `{s}` is not a UUID")))
}

fn u32_of(v: i64, what: &str) -> Result<u32, StoreError> {
    u32::try_from(v).map_err(|e| err(what, e))
}

struct KeyRow {
    id: String,
    account: String,
    region: String,
    created: i64,
    description: String,
    state: String,
    deletion_date: Option<i64>,
    pending_window_days: Option<i64>,
    policy: String,
    rotation_enabled: bool,
    rotation_period_days: Option<i64>,
    next_rotation: Option<i64>,
    on_demand_rotations: i64,
}

impl KeyStore for SqliteKeyStore {
    fn load(&self) -> Result<Snapshot, StoreError> {
        let conn = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
        let q = |e| err("reading the KMS store", e);
        let rows: Vec<KeyRow> = conn
            .prepare(
                "SELECT key_id, account, region, created, description, state, deletion_date,
                    pending_window_days, policy, rotation_enabled, rotation_period_days,
                    next_rotation, on_demand_rotations FROM kms_keys ORDER BY key_id",
            )
            .map_err(q)?
            .query_map([], |r| {
                Ok(KeyRow {
                    id: r.get(0)?,
                    account: r.get(1)?,
                    region: r.get(2)?,
                    created: r.get(3)?,
                    description: r.get(4)?,
                    state: r.get(5)?,
                    deletion_date: r.get(6)?,
                    pending_window_days: r.get(7)?,
                    policy: r.get(8)?,
                    rotation_enabled: r.get(9)?,
                    rotation_period_days: r.get(10)?,
                    next_rotation: r.get(11)?,
                    on_demand_rotations: r.get(12)?,
                })
            })
            .map_err(q)?
            .collect::<Result<_, _>>()
            .map_err(q)?;
        let mut materials: BTreeMap<String, Vec<MaterialRecord>> = BTreeMap::new();
        let mut stmt = conn
            .prepare(
                "SELECT key_id, version, material_id, created, rotation_type, wrapped
                 FROM kms_key_materials ORDER BY key_id, version",
            )
            .map_err(q)?;
        let mut it = stmt.query([]).map_err(q)?;
        while let Some(r) = it.next().map_err(q)? {
            let kid: String = r.get(0).map_err(q)?;
            let rotation: Option<String> = r.get(4).map_err(q)?;
            let rotation =
                match rotation {
                    None => None,
                    Some(t) => Some(RotationType::parse(&t).ok_or_else(|| {
                        StoreError(format!("stored rotation type `{t}` is unknown"))
                    })?),
                };
            materials.entry(kid).or_default().push(MaterialRecord {
                version: u32_of(r.get(1).map_err(q)?, "a material version")?,
                id: r.get(2).map_err(q)?,
                created: time(r.get(3).map_err(q)?)?,
                rotation,
                wrapped: r.get(5).map_err(q)?,
            });
        }
        drop(it);
        drop(stmt);
        let mut tags: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        let mut stmt = conn
            .prepare("SELECT key_id, tag_key, tag_value FROM kms_key_tags")
            .map_err(q)?;
        let mut it = stmt.query([]).map_err(q)?;
        while let Some(r) = it.next().map_err(q)? {
            let kid: String = r.get(0).map_err(q)?;
            tags.entry(kid)
                .or_default()
                .insert(r.get(1).map_err(q)?, r.get(2).map_err(q)?);
        }
        drop(it);
        drop(stmt);
        let mut keys = Vec::with_capacity(rows.len());
        for row in rows {
            keys.push(KeyRecord {
                id: key_id(&row.id)?,
                account: AccountId::parse(&row.account).map_err(|e| err("a stored account", e))?,
                region: Region::parse(&row.region).map_err(|e| err("a stored region", e))?,
                created: time(row.created)?,
                description: row.description,
                state: KeyState::parse(&row.state)
                    .ok_or_else(|| StoreError(format!("stored key state `{}`", row.state)))?,
                deletion_date: row.deletion_date.map(time).transpose()?,
                pending_window_days: row
                    .pending_window_days
                    .map(|d| u32_of(d, "a pending window"))
                    .transpose()?,
                policy: row.policy,
                tags: tags.remove(&row.id).unwrap_or_default(),
                rotation: RotationConfig {
                    enabled: row.rotation_enabled,
                    period_days: row
                        .rotation_period_days
                        .map(|d| u32_of(d, "a rotation period"))
                        .transpose()?,
                    next: row.next_rotation.map(time).transpose()?,
                    on_demand_count: u32_of(row.on_demand_rotations, "a rotation count")?,
                },
                materials: materials.remove(&row.id).unwrap_or_default(),
            });
        }
        let mut aliases = Vec::new();
        let mut stmt = conn
            .prepare(
                "SELECT account, region, name, target_key_id, created, updated
                 FROM kms_aliases ORDER BY account, region, name",
            )
            .map_err(q)?;
        let mut it = stmt.query([]).map_err(q)?;
        while let Some(r) = it.next().map_err(q)? {
            let account: String = r.get(0).map_err(q)?;
            let region: String = r.get(1).map_err(q)?;
            let name: String = r.get(2).map_err(q)?;
            let target: String = r.get(3).map_err(q)?;
            aliases.push(AliasRecord {
                account: AccountId::parse(&account).map_err(|e| err("a stored account", e))?,
                region: Region::parse(&region).map_err(|e| err("a stored region", e))?,
                name: AliasName::parse_existing(&name).map_err(|e| err("a stored alias", e))?,
                target: key_id(&target)?,
                created: time(r.get(4).map_err(q)?)?,
                updated: time(r.get(5).map_err(q)?)?,
            });
        }
        Ok(Snapshot { keys, aliases })
    }

    fn apply(&self, changes: &[Change]) -> Result<(), StoreError> {
        let mut conn = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
        let w = |e| err("writing the KMS store", e);
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(w)?;
        for c in changes {
            Self::apply_one(&tx, c).map_err(w)?;
        }
        tx.commit().map_err(w)?;
        drop(conn);
        self.restrict_permissions();
        Ok(())
    }
}

impl SqliteKeyStore {
    /// The schema version of the open database (for diagnostics).
    ///
    /// # Errors
    /// [`StoreError`] when it cannot be read.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        let conn = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
        conn.query_row("PRAGMA user_version", [], |r| r.get(0))
            .optional()
            .map_err(|e| err("user_version", e))
            .map(Option::unwrap_or_default)
    }
}

#[cfg(test)]
mod tests {
    //! A full disk, made real at SQLite's level: `max_page_count` makes the database refuse
    //! to grow with `SQLITE_FULL`, the error a full file system gives.

    use std::sync::Arc;

    use sealtrail_kms::ops::{CreateKeyRequest, DecryptRequest, EncryptRequest, ListKeysRequest};
    use sealtrail_kms::{Call, Caller, EncryptionContext, Kms, RootKeyWrapper};
    use sealtrail_model::{AccountId, Region, SeededRng, UtcTime};
    use sealtrail_policy::AwsPrincipal;
    use secrecy::ExposeSecret as _;

    use super::*;

    fn open_kms(store: Arc<SqliteKeyStore>, seed: u64) -> Kms {
        Kms::open(
            Region::parse("us-east-1").unwrap(),
            store,
            Arc::new(RootKeyWrapper::new(&[0x42; 32]).unwrap()),
            Box::new(SeededRng::new(seed)),
        )
        .unwrap()
    }

    fn key_ids(kms: &Kms, call: &Call<'_>) -> Vec<String> {
        let mut ids: Vec<String> = kms
            .list_keys(call, ListKeysRequest::default())
            .unwrap()
            .items
            .into_iter()
            .map(|e| e.key_id)
            .collect();
        ids.sort();
        ids
    }

    #[test]
    fn a_full_disk_refuses_the_write_and_loses_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("kms.sqlite3");
        let caller = Caller::aws(
            AwsPrincipal::root(&AccountId::parse("111122223333").unwrap()),
            None,
            Arc::default(),
        );
        let call = Call::new(&caller, UtcTime::from_epoch_seconds(1_767_225_600).unwrap());
        let store = Arc::new(SqliteKeyStore::open(&db).unwrap());
        let kms = open_kms(Arc::clone(&store), 1);
        let first = kms
            .create_key(&call, CreateKeyRequest::default())
            .unwrap()
            .key_metadata
            .key_id;
        let context = EncryptionContext::new().with("purpose", "disk-full");
        let blob = kms
            .encrypt(
                &call,
                EncryptRequest {
                    key_id: Some(first.clone()),
                    plaintext: Some(b"kept".to_vec().into()),
                    encryption_context: context.clone(),
                    ..Default::default()
                },
            )
            .unwrap()
            .ciphertext_blob;

        // The disk is full: the database may not grow by one page.
        {
            let conn = store.conn.lock().unwrap();
            let pages: i64 = conn
                .query_row("PRAGMA page_count", [], |r| r.get(0))
                .unwrap();
            let _: i64 = conn
                .query_row(&format!("PRAGMA max_page_count = {pages}"), [], |r| {
                    r.get(0)
                })
                .unwrap();
        }
        let description = "d".repeat(8192);
        let mut refused = None;
        for _ in 0..200 {
            match kms.create_key(
                &call,
                CreateKeyRequest {
                    description: Some(description.clone()),
                    ..Default::default()
                },
            ) {
                Ok(_) => {}
                Err(e) => {
                    refused = Some(e);
                    break;
                }
            }
        }
        let e = refused.expect("a full database must refuse a write");
        assert_eq!(e.aws_code(), "KMSInternalException");
        let in_memory = key_ids(&kms, &call);
        assert!(in_memory.contains(&first));

        // Space again: writes go on, and what was acknowledged is exactly what is on disk.
        {
            let conn = store.conn.lock().unwrap();
            let _: i64 = conn
                .query_row("PRAGMA max_page_count = 1073741823", [], |r| r.get(0))
                .unwrap();
        }
        let after = kms
            .create_key(&call, CreateKeyRequest::default())
            .unwrap()
            .key_metadata
            .key_id;
        let mut expected = in_memory;
        expected.push(after);
        expected.sort();
        drop(kms);
        let reopened = open_kms(Arc::new(SqliteKeyStore::open(&db).unwrap()), 2);
        assert_eq!(key_ids(&reopened, &call), expected);
        let plaintext = reopened
            .decrypt(
                &call,
                DecryptRequest {
                    ciphertext_blob: Some(blob),
                    encryption_context: context,
                    ..Default::default()
                },
            )
            .unwrap()
            .plaintext;
        assert_eq!(plaintext.expose_secret(), b"kept");
    }
}
