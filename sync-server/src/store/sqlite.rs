//! [`Store`] on one SQLite file (WAL, `synchronous = FULL`).

use std::path::Path;
use std::sync::Mutex;

use automerge::ChangeHash;
use fieldloop_core::Role;
use fieldloop_core::demo::DemoData;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use rusqlite_migration::{M, Migrations};

use super::{Device, Receipt, Store, StoreError, StoredTask, TaskWrite};

const V1: &str = "
CREATE TABLE inspectors (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    badge_no TEXT NOT NULL,
    department TEXT NOT NULL,
    team TEXT NOT NULL
) STRICT;

CREATE TABLE enrollments (
    code_hash TEXT PRIMARY KEY NOT NULL,
    inspector TEXT NOT NULL REFERENCES inspectors(id),
    expires_at INTEGER NOT NULL,
    used_at INTEGER
) STRICT;

CREATE TABLE devices (
    id TEXT PRIMARY KEY NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    actor TEXT NOT NULL UNIQUE,
    person TEXT NOT NULL,
    role TEXT NOT NULL,
    team TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
) STRICT;

CREATE TABLE tasks (
    id TEXT PRIMARY KEY NOT NULL,
    team TEXT NOT NULL,
    doc BLOB NOT NULL
) STRICT;

-- one row per change of a task as the server saw it; seq is the feed position
CREATE TABLE feed (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id TEXT NOT NULL REFERENCES tasks(id),
    team TEXT NOT NULL,
    heads BLOB NOT NULL
) STRICT;
CREATE INDEX feed_team ON feed (team, seq);
CREATE INDEX feed_task ON feed (task_id, seq);

CREATE TABLE receipts (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    change_hash TEXT NOT NULL,
    task_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    prev TEXT NOT NULL,
    hash TEXT NOT NULL
) STRICT;
";

fn migrations() -> Migrations<'static> {
    Migrations::new(vec![M::up(V1)])
}

/// The embedded default store.
#[derive(Debug)]
pub struct SqliteStore {
    conn: Mutex<Connection>,
}

fn role_from(name: &str) -> Role {
    match name {
        "supervisor" => Role::Supervisor,
        "admin" => Role::Admin,
        _ => Role::Inspector,
    }
}

fn heads_blob(heads: &[ChangeHash]) -> Vec<u8> {
    heads.iter().flat_map(|h| h.0).collect()
}

fn heads_from_blob(blob: &[u8]) -> Vec<ChangeHash> {
    blob.chunks_exact(32)
        .filter_map(|c| ChangeHash::try_from(c).ok())
        .collect()
}

fn device_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Device> {
    let role: String = r.get(3)?;
    let revoked: Option<i64> = r.get(5)?;
    Ok(Device {
        id: r.get(0)?,
        actor: r.get(1)?,
        person: r.get(2)?,
        role: role_from(&role),
        team: r.get(4)?,
        revoked: revoked.is_some(),
    })
}

/// Feed positions are SQLite integers; a cursor past the end is clamped.
fn seq_param(cursor: u64) -> i64 {
    i64::try_from(cursor).unwrap_or(i64::MAX)
}

const DEVICE_COLUMNS: &str = "id, actor, person, role, team, revoked_at";

impl SqliteStore {
    /// Opens (creating and migrating) `dir/fieldloop-server.sqlite3`.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        let mut conn = Connection::open(dir.join("fieldloop-server.sqlite3"))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        migrations().to_latest(&mut conn)?;
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = self
            .conn
            .lock()
            .map_err(|_| StoreError::Invalid("the store lock was poisoned".into()))?;
        f(&mut conn)
    }
}

/// Appends receipts for `changes` to the hash chain.
fn append_receipts(
    tx: &rusqlite::Transaction<'_>,
    task_id: &str,
    changes: &[ChangeHash],
    device_id: &str,
    now: i64,
) -> Result<(), StoreError> {
    let mut prev: String = tx
        .query_row(
            "SELECT hash FROM receipts ORDER BY seq DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or_else(|| "0".repeat(64));
    let first_seq: i64 =
        tx.query_row("SELECT coalesce(max(seq), 0) + 1 FROM receipts", [], |r| {
            r.get(0)
        })?;
    for (seq, change) in (first_seq..).zip(changes) {
        let mut receipt = Receipt {
            seq,
            change_hash: change.to_string(),
            task_id: task_id.to_owned(),
            device_id: device_id.to_owned(),
            received_at: now,
            prev,
            hash: String::new(),
        };
        receipt.hash = receipt.expected_hash();
        tx.execute(
            "INSERT INTO receipts (seq, change_hash, task_id, device_id, received_at, prev, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![receipt.seq, receipt.change_hash, receipt.task_id, receipt.device_id, receipt.received_at, receipt.prev, receipt.hash],
        )?;
        prev = receipt.hash;
    }
    Ok(())
}

fn write_task(
    tx: &rusqlite::Transaction<'_>,
    w: &TaskWrite,
    device_id: &str,
    now: i64,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO tasks (id, team, doc) VALUES (?1, ?2, ?3) ON CONFLICT (id) DO UPDATE SET doc = ?3",
        params![w.id, w.team, w.doc],
    )?;
    tx.execute(
        "INSERT INTO feed (task_id, team, heads) VALUES (?1, ?2, ?3)",
        params![w.id, w.team, heads_blob(&w.heads)],
    )?;
    append_receipts(tx, &w.id, &w.new_changes, device_id, now)
}

impl Store for SqliteStore {
    fn import_people(&self, data: &DemoData) -> Result<(), StoreError> {
        self.with(|conn| {
            let tx = conn.transaction()?;
            for i in &data.inspectors {
                tx.execute(
                    "INSERT INTO inspectors (id, name, badge_no, department, team) VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (id) DO UPDATE SET name = ?2, badge_no = ?3, department = ?4, team = ?5",
                    params![i.id, i.name, i.badge_no, i.department, i.team],
                )?;
            }
            tx.commit()?;
            Ok(())
        })
    }

    fn inspector_team(&self, inspector: &str) -> Result<Option<String>, StoreError> {
        self.with(|conn| {
            Ok(conn
                .query_row(
                    "SELECT team FROM inspectors WHERE id = ?1",
                    [inspector],
                    |r| r.get(0),
                )
                .optional()?)
        })
    }

    fn create_enrollment(
        &self,
        code_hash: &str,
        inspector: &str,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        if self.inspector_team(inspector)?.is_none() {
            return Err(StoreError::UnknownInspector(inspector.to_owned()));
        }
        self.with(|conn| {
            conn.execute(
                "INSERT INTO enrollments (code_hash, inspector, expires_at) VALUES (?1, ?2, ?3)",
                params![code_hash, inspector, expires_at],
            )?;
            Ok(())
        })
    }

    fn redeem_enrollment(
        &self,
        code_hash: &str,
        now: i64,
        device_id: &str,
        token_hash: &str,
        actor: &str,
        name: &str,
    ) -> Result<Device, StoreError> {
        self.with(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let used = tx.execute(
                "UPDATE enrollments SET used_at = ?2 WHERE code_hash = ?1 AND used_at IS NULL AND expires_at > ?2",
                params![code_hash, now],
            )?;
            if used != 1 {
                return Err(StoreError::BadEnrollmentCode);
            }
            let (person, team): (String, String) = tx.query_row(
                "SELECT i.id, i.team FROM enrollments e JOIN inspectors i ON i.id = e.inspector WHERE e.code_hash = ?1",
                [code_hash],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            tx.execute(
                "INSERT INTO devices (id, token_hash, actor, person, role, team, name, created_at) VALUES (?1, ?2, ?3, ?4, 'inspector', ?5, ?6, ?7)",
                params![device_id, token_hash, actor, person, team, name, now],
            )?;
            tx.commit()?;
            Ok(Device { id: device_id.to_owned(), actor: actor.to_owned(), person, role: Role::Inspector, team, revoked: false })
        })
    }

    fn add_device(
        &self,
        device: &Device,
        token_hash: &str,
        name: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        let role = match device.role {
            Role::Inspector => "inspector",
            Role::Supervisor => "supervisor",
            Role::Admin => "admin",
        };
        self.with(|conn| {
            conn.execute(
                "INSERT INTO devices (id, token_hash, actor, person, role, team, name, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![device.id, token_hash, device.actor, device.person, role, device.team, name, now],
            )?;
            Ok(())
        })
    }

    fn device_by_token(&self, token_hash: &str) -> Result<Option<Device>, StoreError> {
        self.with(|conn| {
            let sql = format!("SELECT {DEVICE_COLUMNS} FROM devices WHERE token_hash = ?1");
            Ok(conn
                .query_row(&sql, [token_hash], device_from_row)
                .optional()?)
        })
    }

    fn revoke_device(&self, device_id: &str, now: i64) -> Result<(), StoreError> {
        self.with(|conn| {
            let n = conn.execute(
                "UPDATE devices SET revoked_at = coalesce(revoked_at, ?2) WHERE id = ?1",
                params![device_id, now],
            )?;
            if n == 0 {
                Err(StoreError::UnknownDevice(device_id.to_owned()))
            } else {
                Ok(())
            }
        })
    }

    fn insert_task(&self, write: &TaskWrite, device_id: &str, now: i64) -> Result<(), StoreError> {
        self.with(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            write_task(&tx, write, device_id, now)?;
            tx.commit()?;
            Ok(())
        })
    }

    fn task(&self, id: &str) -> Result<Option<StoredTask>, StoreError> {
        self.with(|conn| {
            Ok(conn
                .query_row("SELECT id, team, doc FROM tasks WHERE id = ?1", [id], |r| {
                    Ok(StoredTask {
                        id: r.get(0)?,
                        team: r.get(1)?,
                        doc: r.get(2)?,
                    })
                })
                .optional()?)
        })
    }

    fn commit_sync(
        &self,
        writes: &[TaskWrite],
        device_id: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        if writes.is_empty() {
            return Ok(());
        }
        self.with(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            for w in writes {
                write_task(&tx, w, device_id, now)?;
            }
            tx.commit()?;
            Ok(())
        })
    }

    fn feed_end(&self) -> Result<u64, StoreError> {
        self.with(|conn| {
            let end: i64 =
                conn.query_row("SELECT coalesce(max(seq), 0) FROM feed", [], |r| r.get(0))?;
            Ok(end.unsigned_abs())
        })
    }

    fn changed_since(
        &self,
        team: &str,
        cursor: u64,
        limit: usize,
    ) -> Result<Vec<(String, u64)>, StoreError> {
        self.with(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT task_id, max(seq) AS last FROM feed WHERE team = ?1 AND seq > ?2
                 GROUP BY task_id ORDER BY last LIMIT ?3",
            )?;
            let rows = stmt.query_map(params![team, seq_param(cursor), limit as i64], |r| {
                Ok((r.get(0)?, r.get::<_, i64>(1)?.unsigned_abs()))
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    fn heads_at(&self, task_id: &str, cursor: u64) -> Result<Option<Vec<ChangeHash>>, StoreError> {
        self.with(|conn| {
            let blob: Option<Vec<u8>> = conn
                .query_row(
                    "SELECT heads FROM feed WHERE task_id = ?1 AND seq <= ?2 ORDER BY seq DESC LIMIT 1",
                    params![task_id, seq_param(cursor)],
                    |r| r.get(0),
                )
                .optional()?;
            Ok(blob.map(|b| heads_from_blob(&b)))
        })
    }

    fn receipts(&self) -> Result<Vec<Receipt>, StoreError> {
        self.with(|conn| {
            let mut stmt = conn.prepare(
                "SELECT seq, change_hash, task_id, device_id, received_at, prev, hash FROM receipts ORDER BY seq",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(Receipt {
                    seq: r.get(0)?,
                    change_hash: r.get(1)?,
                    task_id: r.get(2)?,
                    device_id: r.get(3)?,
                    received_at: r.get(4)?,
                    prev: r.get(5)?,
                    hash: r.get(6)?,
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::verify_receipts;

    #[test]
    fn migrations_are_valid() {
        assert!(migrations().validate().is_ok());
    }

    #[test]
    fn the_receipt_chain_detects_alteration_and_removal() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open(dir.path()).expect("open");
        let write = |id: &str, n: u8| TaskWrite {
            id: id.into(),
            team: "T".into(),
            doc: vec![n],
            heads: vec![ChangeHash([n; 32])],
            new_changes: vec![ChangeHash([n; 32]), ChangeHash([n + 1; 32])],
        };
        store
            .insert_task(&write("a", 1), "server", 10)
            .expect("insert");
        store
            .commit_sync(&[write("a", 3), write("b", 5)], "dev-1", 20)
            .expect("commit");
        let receipts = store.receipts().expect("receipts");
        assert_eq!(verify_receipts(&receipts), Ok(6));

        let mut altered = receipts.clone();
        altered[2].device_id = "dev-2".into();
        assert!(
            verify_receipts(&altered)
                .expect_err("altered")
                .contains("receipt 3 was altered")
        );
        let mut removed = receipts.clone();
        removed.remove(1);
        assert!(
            verify_receipts(&removed)
                .expect_err("removed")
                .contains("receipt 3")
        );
        assert_eq!(store.feed_end().expect("end"), 3);
        assert_eq!(
            store.changed_since("T", 1, 10).expect("feed"),
            vec![("a".to_string(), 2), ("b".to_string(), 3)]
        );
        assert_eq!(
            store.heads_at("a", 1).expect("heads"),
            Some(vec![ChangeHash([1; 32])])
        );
        assert_eq!(store.heads_at("b", 2).expect("heads"), None);
    }
}
