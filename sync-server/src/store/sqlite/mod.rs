//! [`Store`] on one SQLite file (WAL, `synchronous = FULL`): one writing
//! connection, and a small pool of reading connections beside it, so that
//! reads neither wait for a commit's sync to disk nor for each other.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use automerge::ChangeHash;
use fieldloop_core::{Department, Handbook, Industry, Inspector, Item, Role, Subject, Team, Uscc};
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::codec::{EntriesSince, feed_task, limit_param, parsed, role_from, role_name, seq_param};
use super::{
    BeginUpload, CatalogCounts, CatalogRows, ConsoleAccount, ConsoleSessionRow, ConsoleUser,
    Device, DirectoryRows, FeedTask, Receipt, Store, StoreError, StoredFlag, StoredTask,
    StoredUpload, SyncCommit, TaskBase, TaskCodes, TaskSince, TaskWrite, TokenUse,
};
use crate::console::{ConsoleTaskRow, Dashboard, TaskFilter, TaskPage, TaskSort};

mod audit;
mod catalog;
mod claims;
mod console;
mod index;
mod leads;
mod migrations;
mod plans;
mod rectify;
mod uploads;

use catalog::*;
use migrations::migrations;

/// Statements each connection keeps prepared (more than the store uses).
const STATEMENT_CACHE: usize = 96;

/// What every connection of the store is set to before its first query:
/// statements kept prepared, and plans that do not depend on bound values
/// (SQLite's query planner stability guarantee). Without the latter a
/// statement with a bound `LIMIT` (the feed's page) is compiled again on
/// every run, since SQLite reads the limit's value while planning.
fn tune(conn: &Connection) -> rusqlite::Result<()> {
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    Ok(())
}

/// How long a read waits for a pooled connection when all are lent out
/// before it fails as a store error.
const READER_WAIT: Duration = Duration::from_secs(30);

/// Prepared-statement-cached forms of `query_row` and `execute`.
trait Cached {
    fn cached_row<T, P: rusqlite::Params>(
        &self,
        sql: &str,
        params: P,
        f: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T>;
    fn cached_exec<P: rusqlite::Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize>;
}

impl Cached for Connection {
    fn cached_row<T, P: rusqlite::Params>(
        &self,
        sql: &str,
        params: P,
        f: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T> {
        self.prepare_cached(sql)?.query_row(params, f)
    }

    fn cached_exec<P: rusqlite::Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize> {
        self.prepare_cached(sql)?.execute(params)
    }
}

/// The pool of reading connections (r2d2), each opened by [`init_reader`].
type Readers = r2d2::Pool<SqliteConnectionManager>;

/// The embedded default store.
#[derive(Debug)]
pub struct SqliteStore {
    /// The one connection that writes.
    conn: Mutex<Connection>,
    /// None in a store on an in-memory database ([`SqliteStore::open_memdb`]):
    /// reads go through the writing connection.
    readers: Option<Readers>,
    /// The claim-signing key of 亮码检查, kept beside the database.
    claim_key: std::sync::Arc<crate::claims::ClaimKey>,
}

fn device_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Device> {
    let role: String = r.get(3)?;
    let revoked: Option<i64> = r.get(5)?;
    Ok(Device {
        id: r.get(0)?,
        actor: r.get(1)?,
        person: r.get(2)?,
        role: role_from(&role).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(3, rusqlite::types::Type::Text, e.into())
        })?,
        team: r.get(4)?,
        revoked: revoked.is_some(),
        active: r.get(6)?,
    })
}

/// A device, and whether its person is active (people other than
/// inspectors are not in the directory and count as active).
const DEVICE_COLUMNS: &str = "id, actor, person, role, team, revoked_at,
    coalesce((SELECT active FROM inspectors WHERE inspectors.id = devices.person), 1)";

impl SqliteStore {
    /// Opens (creating and migrating) `dir/fieldloop-server.sqlite3`.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        let path = dir.join("fieldloop-server.sqlite3");
        let vfs = test_vfs();
        let mut conn = match vfs {
            Some(vfs) => {
                Connection::open_with_flags_and_vfs(&path, rusqlite::OpenFlags::default(), vfs)?
            }
            None => Connection::open(&path)?,
        };
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(Duration::from_secs(5))?;
        tune(&conn)?;
        migrations().to_latest(&mut conn)?;
        // Fresh statistics for the query planner (the console's list picks
        // between the team and the due-date index by them); SQLite's own
        // advice: cheap, and a no-op when nothing changed much.
        conn.execute_batch("PRAGMA optimize = 0x10002;")?;
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        // Readers are opened on demand (none idle at start) and a request
        // waits at most READER_WAIT for one when all are lent.
        let readers = r2d2::Pool::builder()
            .max_size((2 * cores).clamp(4, 16) as u32)
            .min_idle(Some(0))
            .connection_timeout(READER_WAIT)
            .build(
                match vfs {
                    // Readers are opened on the pool's threads: the test
                    // VFS goes with them in the file name.
                    Some(vfs) => SqliteConnectionManager::file(vfs_uri(&path, vfs)),
                    None => SqliteConnectionManager::file(&path),
                }
                .with_init(init_reader),
            )?;
        let claim_key = crate::claims::ClaimKey::load_or_create(dir)
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        Ok(Self {
            conn: Mutex::new(conn),
            readers: Some(readers),
            claim_key: std::sync::Arc::new(claim_key),
        })
    }

    /// The store in the named in-memory database `name` (SQLite's `memdb`
    /// VFS, `file:/<name>?vfs=memdb`), for the deterministic simulation:
    /// every connection of this process opened on the same name shares it,
    /// so dropping the store and opening it again is a restart that keeps
    /// what was committed, as long as another connection (the test's
    /// keeper) holds the database open. One connection, no reader pool (no
    /// threads); the claim key is given. Test builds only.
    #[cfg(feature = "faults")]
    pub fn open_memdb(name: &str, claim_key: crate::claims::ClaimKey) -> Result<Self, StoreError> {
        let mut conn = Connection::open(format!("file:/{name}?vfs=memdb"))?;
        // The rollback journal in memory too; nothing to sync.
        conn.execute_batch(
            "PRAGMA journal_mode = MEMORY; PRAGMA synchronous = OFF; PRAGMA foreign_keys = ON;",
        )?;
        tune(&conn)?;
        migrations().to_latest(&mut conn)?;
        Ok(Self {
            conn: Mutex::new(conn),
            readers: None,
            claim_key: std::sync::Arc::new(claim_key),
        })
    }

    /// Runs `f` on the writing connection.
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

    /// Runs `f` on a reading connection (WAL: it sees every committed
    /// write, and neither waits for the writer nor holds it up).
    fn read<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        match &self.readers {
            Some(readers) => {
                let mut conn = readers.get()?;
                f(&mut conn)
            }
            None => self.with(f),
        }
    }
}

#[cfg(feature = "faults")]
thread_local! {
    static TEST_VFS: std::cell::Cell<Option<&'static str>> = const { std::cell::Cell::new(None) };
}

/// Test builds only (`faults`): the stores this thread opens from now on
/// use the SQLite VFS registered as `vfs` (such as the power-cut VFS of the
/// crash tests), their readers too; `None` goes back to the default.
#[cfg(feature = "faults")]
pub fn set_test_vfs(vfs: Option<&'static str>) {
    TEST_VFS.with(|v| v.set(vfs));
}

/// The VFS a test set for this thread's stores, if any.
fn test_vfs() -> Option<&'static str> {
    #[cfg(feature = "faults")]
    {
        TEST_VFS.with(std::cell::Cell::get)
    }
    #[cfg(not(feature = "faults"))]
    {
        None
    }
}

/// `path` on the VFS `vfs` as an SQLite `file:` URI.
fn vfs_uri(path: &Path, vfs: &str) -> String {
    let mut uri = String::from("file:");
    for c in path.to_string_lossy().chars() {
        match c {
            '%' => uri.push_str("%25"),
            '?' => uri.push_str("%3f"),
            '#' => uri.push_str("%23"),
            c => uri.push(c),
        }
    }
    uri.push_str("?vfs=");
    uri.push_str(vfs);
    uri
}

/// Makes a new pooled connection one that only reads (the file is already
/// created and migrated by the writer).
fn init_reader(conn: &mut Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.pragma_update(None, "query_only", "ON")?;
    tune(conn)
}

/// The feed's end as `conn` sees it.
fn feed_end_in(conn: &Connection) -> Result<u64, StoreError> {
    let end: i64 = conn.cached_row("SELECT coalesce(max(seq), 0) FROM feed", [], |r| r.get(0))?;
    Ok(end.unsigned_abs())
}

/// Whether every task in `bases` still has its base heads.
fn bases_hold(conn: &Connection, bases: &[TaskBase<'_>]) -> Result<bool, StoreError> {
    for base in bases {
        let latest: Option<Vec<u8>> = conn
            .cached_row(
                "SELECT heads FROM feed WHERE task_id = ?1 ORDER BY seq DESC LIMIT 1",
                [base.id],
                |r| r.get(0),
            )
            .optional()?;
        let latest = latest
            .map(|b| fieldloop_core::sync::heads_from_bytes(&b))
            .unwrap_or_default();
        if !super::same_heads(&latest, base.heads) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Task `id` as stored: its snapshot followed by the changes of its feed
/// entries after it. Read within one transaction, so that they agree.
fn stored_task(conn: &Connection, id: &str) -> Result<Option<StoredTask>, StoreError> {
    let Some((team, mut doc, snapshot_seq)) = conn
        .cached_row(
            "SELECT team, doc, snapshot_seq FROM tasks WHERE id = ?1",
            [id],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Vec<u8>>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            },
        )
        .optional()?
    else {
        return Ok(None);
    };
    let mut chunks = 0u32;
    let mut stmt = conn.prepare_cached(
        "SELECT f.seq, c.changes FROM feed f LEFT JOIN feed_changes c ON c.seq = f.seq
         WHERE f.task_id = ?1 AND f.seq > ?2 ORDER BY f.seq",
    )?;
    let mut rows = stmt.query(params![id, snapshot_seq])?;
    while let Some(row) = rows.next()? {
        let Some(changes) = row
            .get_ref(1)?
            .as_blob_or_null()
            .map_err(|e| StoreError::Invalid(format!("feed changes: {e}")))?
        else {
            let seq: i64 = row.get(0)?;
            return Err(StoreError::Invalid(format!(
                "task {id}: feed entry {seq}, after the task's snapshot, has no changes kept"
            )));
        };
        doc.extend_from_slice(changes);
        chunks += 1;
    }
    Ok(Some(StoredTask {
        id: id.to_owned(),
        team,
        doc,
        chunks,
    }))
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
        .cached_row(
            "SELECT hash FROM receipts ORDER BY seq DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or_else(|| "0".repeat(64));
    let first_seq: i64 =
        tx.cached_row("SELECT coalesce(max(seq), 0) + 1 FROM receipts", [], |r| {
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
        tx.cached_exec(
            "INSERT INTO receipts (seq, change_hash, task_id, device_id, received_at, prev, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![receipt.seq, receipt.change_hash, receipt.task_id, receipt.device_id, receipt.received_at, receipt.prev, receipt.hash],
        )?;
        prev = receipt.hash;
    }
    Ok(())
}

/// Writes a task, its feed entry (with the changes it added when
/// `keep_added` and known) and its receipts. An appending write keeps only
/// its changes; any other stores its document as the task's new snapshot.
fn write_task(
    tx: &rusqlite::Transaction<'_>,
    w: &TaskWrite,
    keep_added: bool,
    device_id: &str,
    now: i64,
) -> Result<(), StoreError> {
    let added = w.kept_changes(keep_added)?;
    if !w.append {
        tx.cached_exec(
            "INSERT INTO tasks (id, team, doc) VALUES (?1, ?2, ?3) ON CONFLICT (id) DO UPDATE SET doc = ?3",
            params![w.id, w.team, w.doc],
        )?;
    }
    // The task must exist for an appending write: the feed's reference to it
    // is checked here.
    tx.cached_exec(
        "INSERT INTO feed (task_id, team, heads) VALUES (?1, ?2, ?3)",
        params![w.id, w.team, fieldloop_core::sync::heads_to_bytes(&w.heads)],
    )?;
    let seq = tx.last_insert_rowid();
    if !w.append {
        tx.cached_exec(
            "UPDATE tasks SET snapshot_seq = ?2 WHERE id = ?1",
            params![w.id, seq],
        )?;
    }
    if let Some(added) = added {
        tx.cached_exec(
            "INSERT INTO feed_changes (seq, changes) VALUES (?1, ?2)",
            params![seq, added],
        )?;
    }
    for flag in &w.flags {
        let json =
            serde_json::to_string(flag).map_err(|e| StoreError::Invalid(format!("flag: {e}")))?;
        tx.cached_exec(
            "INSERT INTO change_flags (task_id, flag, device_id, received_at) VALUES (?1, ?2, ?3, ?4)",
            params![w.id, json, device_id, now],
        )?;
    }
    if let Some(index) = &w.index {
        index::write_index(tx, index, now)?;
        // A lead transfer recorded in the task becomes a lead, in the same transaction.
        leads::record_transfers(tx, index, now)?;
    }
    append_receipts(tx, &w.id, &w.new_changes, device_id, now)
}

impl Store for SqliteStore {
    fn write_catalog(&self, rows: &CatalogRows<'_>) -> Result<CatalogCounts, StoreError> {
        self.with(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let counts = CatalogCounts {
                departments: upsert(
                    &tx,
                    &rows.departments,
                    |d| d.code.clone(),
                    read_department,
                    write_department,
                )?,
                industries: upsert(
                    &tx,
                    &rows.industries,
                    |i| i.code.clone(),
                    read_industry,
                    write_industry,
                )?,
                teams: upsert(&tx, &rows.teams, |t| t.id.clone(), read_team, write_team)?,
                inspectors: upsert(
                    &tx,
                    &rows.inspectors,
                    |i| i.id.clone(),
                    read_inspector,
                    write_inspector,
                )?,
                subjects: upsert(
                    &tx,
                    &rows.subjects,
                    |s| s.uscc.to_string(),
                    read_subject,
                    write_subject,
                )?,
                items: upsert(&tx, &rows.items, |i| i.id.clone(), read_item, write_item)?,
                handbooks: upsert(
                    &tx,
                    &rows.handbooks,
                    |h| h.industry.clone(),
                    read_handbook,
                    write_handbook,
                )?,
            };
            tx.commit()?;
            Ok(counts)
        })
    }

    fn department(&self, code: &str) -> Result<Option<Department>, StoreError> {
        self.read(|conn| read_department(conn, code))
    }

    fn industry(&self, code: &str) -> Result<Option<Industry>, StoreError> {
        self.read(|conn| read_industry(conn, code))
    }

    fn team(&self, id: &str) -> Result<Option<Team>, StoreError> {
        self.read(|conn| read_team(conn, id))
    }

    fn inspector(&self, id: &str) -> Result<Option<Inspector>, StoreError> {
        self.read(|conn| read_inspector(conn, id))
    }

    fn subject(&self, uscc: &Uscc) -> Result<Option<Subject>, StoreError> {
        self.read(|conn| read_subject(conn, uscc.as_str()))
    }

    fn item(&self, id: &str) -> Result<Option<Item>, StoreError> {
        self.read(|conn| read_item(conn, id))
    }

    fn handbook(&self, industry: &str) -> Result<Option<Handbook>, StoreError> {
        self.read(|conn| read_handbook(conn, industry))
    }

    fn inspector_team(&self, inspector: &str) -> Result<Option<String>, StoreError> {
        self.read(|conn| {
            Ok(conn
                .cached_row(
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
            conn.cached_exec(
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
            let used = tx.cached_exec(
                "UPDATE enrollments SET used_at = ?2 WHERE code_hash = ?1 AND used_at IS NULL AND expires_at > ?2",
                params![code_hash, now],
            )?;
            if used != 1 {
                return Err(StoreError::BadEnrollmentCode);
            }
            let (person, team): (String, String) = tx.cached_row(
                "SELECT i.id, i.team FROM enrollments e JOIN inspectors i ON i.id = e.inspector WHERE e.code_hash = ?1",
                [code_hash],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            tx.cached_exec(
                "INSERT INTO devices (id, token_hash, actor, person, role, team, name, created_at, token_issued_at) VALUES (?1, ?2, ?3, ?4, 'inspector', ?5, ?6, ?7, ?7)",
                params![device_id, token_hash, actor, person, team, name, now],
            )?;
            fieldloop_core::faults::point("server.enroll.before_commit");
            tx.commit()?;
            // The code is spent; the answer with the token is not sent yet.
            fieldloop_core::faults::point("server.enroll.after_commit");
            Ok(Device { id: device_id.to_owned(), actor: actor.to_owned(), person, role: Role::Inspector, team, revoked: false, active: true })
        })
    }

    fn add_device(
        &self,
        device: &Device,
        token_hash: &str,
        name: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        let role = role_name(device.role);
        self.with(|conn| {
            conn.cached_exec(
                "INSERT INTO devices (id, token_hash, actor, person, role, team, name, created_at, token_issued_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
                params![device.id, token_hash, device.actor, device.person, role, device.team, name, now],
            )?;
            Ok(())
        })
    }

    fn add_console_user(
        &self,
        user: &ConsoleUser,
        password_hash: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        self.with(|conn| console::add_user(conn, user, password_hash, now))
    }

    fn console_account(&self, id: &str) -> Result<Option<ConsoleAccount>, StoreError> {
        self.read(|conn| console::account(conn, id))
    }

    fn record_login_failure(
        &self,
        id: &str,
        now: i64,
        max: u32,
        lock_ms: i64,
    ) -> Result<Option<i64>, StoreError> {
        self.with(|conn| console::record_failure(conn, id, now, max, lock_ms))
    }

    fn clear_login_failures(&self, id: &str) -> Result<(), StoreError> {
        self.with(|conn| console::clear_failures(conn, id))
    }

    fn create_console_session(
        &self,
        token_hash: &str,
        user: &str,
        csrf: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        self.with(|conn| console::create_session(conn, token_hash, user, csrf, now, expires_at))
    }

    fn console_session(&self, token_hash: &str) -> Result<Option<ConsoleSessionRow>, StoreError> {
        self.read(|conn| console::session(conn, token_hash))
    }

    fn end_console_session(&self, token_hash: &str, now: i64) -> Result<(), StoreError> {
        self.with(|conn| console::end_session(conn, token_hash, now))
    }

    fn device_by_token(&self, token_hash: &str) -> Result<Option<(Device, TokenUse)>, StoreError> {
        self.read(|conn| {
            // Two lookups, each on its own unique index.
            let sql = format!(
                "SELECT {DEVICE_COLUMNS}, coalesce(token_issued_at, created_at), NULL FROM devices WHERE token_hash = ?1
                 UNION ALL
                 SELECT {DEVICE_COLUMNS}, coalesce(token_issued_at, created_at), prev_token_until FROM devices WHERE prev_token_hash = ?1"
            );
            Ok(conn
                .cached_row(&sql, [token_hash], |r| {
                    Ok((
                        device_from_row(r)?,
                        TokenUse {
                            issued_at: r.get(7)?,
                            previous_until: r.get(8)?,
                        },
                    ))
                })
                .optional()?)
        })
    }

    fn rotate_device_token(
        &self,
        device_id: &str,
        presented_hash: &str,
        new_hash: &str,
        now: i64,
        grace_until: i64,
    ) -> Result<bool, StoreError> {
        self.with(|conn| {
            // One statement: its own transaction.
            fieldloop_core::faults::point("server.token.before_commit");
            let changed = conn.cached_exec(
                "UPDATE devices SET
                    prev_token_until = CASE WHEN token_hash = ?2 THEN ?5 ELSE prev_token_until END,
                    prev_token_hash = CASE WHEN token_hash = ?2 THEN token_hash ELSE prev_token_hash END,
                    token_hash = ?3,
                    token_issued_at = ?4
                 WHERE id = ?1 AND (token_hash = ?2 OR prev_token_hash = ?2)",
                params![device_id, presented_hash, new_hash, now, grace_until],
            )?;
            // The new token is stored; the answer carrying it is not sent yet.
            fieldloop_core::faults::point("server.token.after_commit");
            Ok(changed == 1)
        })
    }

    fn set_inspector_active(&self, inspector: &str, active: bool) -> Result<(), StoreError> {
        self.with(|conn| {
            let changed = conn.execute(
                "UPDATE inspectors SET active = ?2 WHERE id = ?1",
                params![inspector, active],
            )?;
            if changed == 0 {
                return Err(StoreError::UnknownInspector(inspector.to_owned()));
            }
            Ok(())
        })
    }

    fn revoke_device(&self, device_id: &str, now: i64) -> Result<(), StoreError> {
        self.with(|conn| {
            let n = conn.cached_exec(
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

    fn insert_task(
        &self,
        write: &TaskWrite,
        codes: &TaskCodes,
        device_id: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        self.with(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let taken: Option<(String, String)> = tx
                .cached_row(
                    "SELECT code, verify_code FROM task_codes
                     WHERE (code = ?1 OR verify_code = ?2) AND task_id <> ?3",
                    params![codes.code, codes.verify_code, write.id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            match taken {
                Some((code, _)) if code == codes.code => {
                    return Err(StoreError::TaskCodeTaken(code));
                }
                Some(_) => {
                    return Err(StoreError::Invalid(
                        "another task has the same verify code".into(),
                    ));
                }
                None => {}
            }
            write_task(&tx, write, false, device_id, now)?;
            tx.cached_exec(
                "INSERT INTO task_codes (task_id, code, verify_code) VALUES (?1, ?2, ?3)
                 ON CONFLICT (task_id) DO UPDATE SET code = excluded.code, verify_code = excluded.verify_code",
                params![write.id, codes.code, codes.verify_code],
            )?;
            tx.commit()?;
            Ok(())
        })
    }

    fn task(&self, id: &str) -> Result<Option<StoredTask>, StoreError> {
        self.read(|conn| {
            // One read transaction: the snapshot and the changes after it agree.
            let tx = conn.transaction()?;
            stored_task(&tx, id)
        })
    }

    fn task_codes(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT code FROM task_codes WHERE substr(code, 1, length(?1)) = ?1 ORDER BY code",
            )?;
            let rows = stmt.query_map([prefix], |r| r.get(0))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    fn commit_sync(
        &self,
        bases: &[TaskBase<'_>],
        writes: &[TaskWrite],
        device_id: &str,
        now: i64,
    ) -> Result<SyncCommit, StoreError> {
        if writes.is_empty() {
            // Nothing to write: one read transaction (a snapshot) checks
            // the bases against the feed's end.
            return self.read(|conn| {
                let tx = conn.transaction()?;
                let feed_end = feed_end_in(&tx)?;
                if !bases_hold(&tx, bases)? {
                    return Ok(SyncCommit::Moved);
                }
                Ok(SyncCommit::Done {
                    feed_end,
                    directory_version: None,
                })
            });
        }
        self.with(|conn| {
            // IMMEDIATE: the write lock of the file, taken before the bases
            // are read, so no other writer (this process's or another's on
            // the same file) commits between the check and the commit.
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            if !bases_hold(&tx, bases)? {
                return Ok(SyncCommit::Moved);
            }
            for w in writes {
                write_task(&tx, w, true, device_id, now)?;
            }
            let feed_end = feed_end_in(&tx)?;
            fieldloop_core::faults::point("server.sync.before_commit");
            tx.commit()?;
            // Durable; the answer that acknowledges it is not sent yet.
            fieldloop_core::faults::point("server.sync.after_commit");
            Ok(SyncCommit::Done {
                feed_end,
                directory_version: None,
            })
        })
    }

    fn latest_heads(&self, task_id: &str) -> Result<Option<Vec<ChangeHash>>, StoreError> {
        self.heads_at(task_id, u64::MAX)
    }

    fn feed_end(&self) -> Result<u64, StoreError> {
        self.read(|conn| feed_end_in(conn))
    }

    fn changed_since(
        &self,
        team: &str,
        cursor: u64,
        limit: usize,
    ) -> Result<Vec<FeedTask>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT task_id, min(seq) AS first, max(seq) FROM feed WHERE team = ?1 AND seq > ?2
                 GROUP BY task_id ORDER BY first LIMIT ?3",
            )?;
            let rows = stmt
                .query_map(params![team, seq_param(cursor), limit_param(limit)], |r| {
                    Ok(feed_task(r.get(0)?, r.get(1)?, r.get(2)?))
                })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    fn unsent_since(
        &self,
        team: &str,
        cursor: u64,
        done: u64,
        limit: usize,
    ) -> Result<Vec<FeedTask>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT task_id, min(seq), max(seq) AS last FROM feed WHERE team = ?1 AND seq > ?2
                 GROUP BY task_id HAVING max(seq) > ?3 ORDER BY last LIMIT ?4",
            )?;
            let rows = stmt.query_map(
                params![team, seq_param(cursor), seq_param(done), limit_param(limit)],
                |r| Ok(feed_task(r.get(0)?, r.get(1)?, r.get(2)?)),
            )?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    fn heads_at(&self, task_id: &str, cursor: u64) -> Result<Option<Vec<ChangeHash>>, StoreError> {
        self.read(|conn| {
            let blob: Option<Vec<u8>> = conn
                .cached_row(
                    "SELECT heads FROM feed WHERE task_id = ?1 AND seq <= ?2 ORDER BY seq DESC LIMIT 1",
                    params![task_id, seq_param(cursor)],
                    |r| r.get(0),
                )
                .optional()?;
            Ok(blob.map(|b| fieldloop_core::sync::heads_from_bytes(&b)))
        })
    }

    fn task_since(&self, task_id: &str, cursor: u64) -> Result<Option<TaskSince>, StoreError> {
        self.read(|conn| {
            // One read transaction: the entries, heads and document agree.
            let tx = conn.transaction()?;
            let base: Option<Vec<u8>> = tx
                .cached_row(
                    "SELECT heads FROM feed WHERE task_id = ?1 AND seq <= ?2 ORDER BY seq DESC LIMIT 1",
                    params![task_id, seq_param(cursor)],
                    |r| r.get(0),
                )
                .optional()?;
            let mut entries = EntriesSince::new();
            {
                let mut stmt = tx.prepare_cached(
                    "SELECT f.heads, c.changes FROM feed f LEFT JOIN feed_changes c ON c.seq = f.seq
                     WHERE f.task_id = ?1 AND f.seq > ?2 ORDER BY f.seq",
                )?;
                let mut rows = stmt.query(params![task_id, seq_param(cursor)])?;
                while let Some(row) = rows.next()? {
                    let heads = row.get(0)?;
                    let added = row
                        .get_ref(1)?
                        .as_blob_or_null()
                        .map_err(|e| StoreError::Invalid(format!("feed changes: {e}")))?;
                    entries.push(heads, added);
                }
            }
            let base = base.map(|b| fieldloop_core::sync::heads_from_bytes(&b));
            entries.since(base, || {
                Ok(stored_task(&tx, task_id)?.map(|t| (t.doc, t.chunks)))
            })
        })
    }

    fn blob_visible(&self, team: &str, sha256: &str) -> Result<bool, StoreError> {
        self.read(|conn| {
            Ok(conn
                .cached_row(
                    "SELECT 1 FROM blob_owners WHERE sha256 = ?1 AND team = ?2 LIMIT 1",
                    params![sha256, team],
                    |_| Ok(()),
                )
                .optional()?
                .is_some())
        })
    }

    fn record_blob_owner(
        &self,
        sha256: &str,
        team: &str,
        device_id: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        self.with(|conn| {
            fieldloop_core::faults::point("server.upload.owner_before_commit");
            conn.cached_exec(
                "INSERT OR IGNORE INTO blob_owners (sha256, team, device_id, uploaded_at) VALUES (?1, ?2, ?3, ?4)",
                params![sha256, team, device_id, now],
            )?;
            fieldloop_core::faults::point("server.upload.owner_after_commit");
            Ok(())
        })
    }

    fn upload(&self, device_id: &str, sha256: &str) -> Result<Option<StoredUpload>, StoreError> {
        self.read(|c| uploads::upload(c, device_id, sha256))
    }

    fn begin_upload(
        &self,
        device_id: &str,
        sha256: &str,
        length: u64,
        max_open: usize,
        now: i64,
    ) -> Result<BeginUpload, StoreError> {
        self.with(|c| uploads::begin_upload(c, device_id, sha256, length, max_open, now))
    }

    fn add_upload_part(
        &self,
        device_id: &str,
        sha256: &str,
        parts_before: usize,
        part: u64,
        now: i64,
    ) -> Result<bool, StoreError> {
        self.with(|c| uploads::add_upload_part(c, device_id, sha256, parts_before, part, now))
    }

    fn end_upload(&self, device_id: &str, sha256: &str) -> Result<(), StoreError> {
        self.with(|c| uploads::end_upload(c, device_id, sha256))
    }

    fn stale_uploads(
        &self,
        before: i64,
        limit: usize,
    ) -> Result<Vec<(String, String)>, StoreError> {
        self.read(|c| uploads::stale_uploads(c, before, limit))
    }

    fn charge_bytes(
        &self,
        device_id: &str,
        day: i64,
        bytes: u64,
        per_day: u64,
    ) -> Result<super::Charge, StoreError> {
        self.with(|c| uploads::charge_bytes(c, device_id, day, bytes, per_day))
    }

    fn forget_bytes_before(&self, day: i64) -> Result<(), StoreError> {
        self.with(|c| uploads::forget_bytes_before(c, day))
    }

    fn flags(&self, task_id: &str) -> Result<Vec<StoredFlag>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT flag, device_id, received_at FROM change_flags WHERE task_id = ?1 ORDER BY rowid",
            )?;
            let rows = stmt.query_map([task_id], |r| {
                Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?))
            })?;
            rows.map(|row| {
                let (json, device_id, received_at) = row?;
                let flag = parsed("stored flag", &json)?;
                Ok(StoredFlag {
                    flag,
                    device_id,
                    received_at,
                })
            })
            .collect()
        })
    }

    fn list_tasks(
        &self,
        filter: &TaskFilter,
        sort: TaskSort,
        page: u32,
        per_page: u32,
        now: i64,
    ) -> Result<TaskPage, StoreError> {
        self.read(|conn| index::list(conn, filter, sort, page, per_page, now))
    }

    fn export_tasks(
        &self,
        filter: &TaskFilter,
        sort: TaskSort,
        limit: usize,
        now: i64,
        each: &mut dyn FnMut(ConsoleTaskRow) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        self.read(|conn| index::export(conn, filter, sort, limit, now, each))
    }

    fn refresh_statistics(&self) -> Result<(), StoreError> {
        self.with(|conn| Ok(conn.execute_batch("PRAGMA optimize;")?))
    }

    fn dashboard(
        &self,
        scope: Option<&crate::console::Scope>,
        now: i64,
        year: i32,
        (start, end): (i64, i64),
    ) -> Result<Dashboard, StoreError> {
        self.read(|conn| index::dashboard(conn, scope, now, year, start, end))
    }

    fn receipt_times(&self, task_id: &str) -> Result<HashMap<String, (String, i64)>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT change_hash, device_id, received_at FROM receipts WHERE task_id = ?1",
            )?;
            let rows = stmt.query_map([task_id], |r| {
                Ok((r.get::<_, String>(0)?, (r.get(1)?, r.get(2)?)))
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    fn directory_version(&self) -> Result<u64, StoreError> {
        self.read(|conn| {
            let version: i64 = conn.cached_row(
                "SELECT version FROM directory_version WHERE id = 1",
                [],
                |r| r.get(0),
            )?;
            Ok(u64::try_from(version).unwrap_or(0))
        })
    }

    fn directory(&self) -> Result<DirectoryRows, StoreError> {
        self.read(|conn| {
            let ids = |sql: &str| -> Result<Vec<String>, StoreError> {
                let mut stmt = conn.prepare_cached(sql)?;
                let rows = stmt.query_map([], |r| r.get(0))?;
                Ok(rows.collect::<Result<_, _>>()?)
            };
            let mut rows = DirectoryRows::default();
            for code in ids("SELECT code FROM departments ORDER BY code")? {
                rows.departments
                    .extend(catalog::read_department(conn, &code)?);
            }
            for id in ids("SELECT id FROM teams ORDER BY id")? {
                rows.teams.extend(catalog::read_team(conn, &id)?);
            }
            for id in ids("SELECT id FROM inspectors ORDER BY id")? {
                let active: bool =
                    conn.cached_row("SELECT active FROM inspectors WHERE id = ?1", [&id], |r| {
                        r.get(0)
                    })?;
                if let Some(inspector) = catalog::read_inspector(conn, &id)? {
                    rows.inspectors.push((inspector, active));
                }
            }
            Ok(rows)
        })
    }

    fn catalog_keys(
        &self,
        kind: crate::import::Kind,
        text: &str,
        limit: usize,
    ) -> Result<(u64, Vec<String>), StoreError> {
        use crate::import::Kind;
        // Table, key and the columns searched: fixed strings, never input.
        let (table, key, searched) = match kind {
            Kind::Departments => (
                "departments",
                "code",
                "instr(code, ?1) > 0 OR instr(name, ?1) > 0 OR instr(lower(name_en), lower(?1)) > 0",
            ),
            Kind::Industries => (
                "industries",
                "code",
                "instr(code, ?1) > 0 OR instr(name, ?1) > 0 OR instr(lower(name_en), lower(?1)) > 0",
            ),
            Kind::Teams => ("teams", "id", "instr(id, ?1) > 0 OR instr(name, ?1) > 0"),
            Kind::Inspectors => (
                "inspectors",
                "id",
                "instr(id, ?1) > 0 OR instr(name, ?1) > 0 OR instr(badge_no, ?1) > 0",
            ),
            Kind::Subjects => (
                "subjects",
                "uscc",
                "instr(uscc, upper(?1)) > 0 OR instr(name, ?1) > 0 OR instr(address, ?1) > 0",
            ),
            Kind::Items => ("items", "id", "instr(id, ?1) > 0 OR instr(title, ?1) > 0"),
            Kind::Handbooks => (
                "handbooks",
                "industry",
                "instr(industry, ?1) > 0 OR industry IN (SELECT code FROM industries WHERE instr(name, ?1) > 0)",
            ),
        };
        let text = text.trim();
        let limit = limit_param(limit);
        self.read(|conn| {
            let filter = format!("(?1 = '' OR {searched})");
            let total: i64 = conn.cached_row(
                &format!("SELECT count(*) FROM {table} WHERE {filter}"),
                [text],
                |r| r.get(0),
            )?;
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {key} FROM {table} WHERE {filter} ORDER BY {key} LIMIT ?2"
            ))?;
            let keys = stmt
                .query_map(params![text, limit], |r| r.get(0))?
                .collect::<Result<Vec<String>, _>>()?;
            Ok((u64::try_from(total).unwrap_or(0), keys))
        })
    }

    fn search_subjects(&self, text: &str, limit: usize) -> Result<Vec<Subject>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT uscc FROM subjects
                 WHERE instr(name, ?1) > 0 OR instr(uscc, upper(?1)) > 0 OR instr(address, ?1) > 0
                 ORDER BY name LIMIT ?2",
            )?;
            let limit = limit_param(limit);
            let usccs: Vec<String> = stmt
                .query_map(params![text.trim(), limit], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            let mut subjects = Vec::with_capacity(usccs.len());
            for uscc in usccs {
                subjects.extend(catalog::read_subject(conn, &uscc)?);
            }
            Ok(subjects)
        })
    }

    fn inspections_in(
        &self,
        usccs: &[String],
        (start, end): (i64, i64),
    ) -> Result<Vec<u64>, StoreError> {
        self.read(|conn| index::inspections_in(conn, usccs, start, end))
    }

    fn all_subjects(&self) -> Result<Vec<Subject>, StoreError> {
        self.read(|conn| plans::all_subjects(conn))
    }

    fn inspection_counts(
        &self,
        (start, end): (i64, i64),
    ) -> Result<HashMap<String, u64>, StoreError> {
        self.read(|conn| plans::inspection_counts(conn, start, end))
    }

    fn plans(&self) -> Result<Vec<super::PlanRow>, StoreError> {
        self.read(|conn| plans::plans(conn))
    }

    fn plan(&self, id: &str) -> Result<Option<super::PlanRow>, StoreError> {
        self.read(|conn| plans::plan(conn, id))
    }

    fn plan_pools(&self, id: &str) -> Result<Option<fieldloop_core::draw::PlanPools>, StoreError> {
        self.read(|conn| plans::plan_pools(conn, id))
    }

    fn save_plan(
        &self,
        row: &super::PlanRow,
        pools: Option<&fieldloop_core::draw::PlanPools>,
        expect: Option<super::PlanState>,
    ) -> Result<(), StoreError> {
        self.with(|conn| plans::save_plan(conn, row, pools, expect))
    }

    fn delete_plan(&self, id: &str) -> Result<bool, StoreError> {
        self.with(|conn| plans::delete_plan(conn, id))
    }

    fn conflicts(&self) -> Result<Vec<super::ConflictRow>, StoreError> {
        self.read(|conn| plans::conflicts(conn))
    }

    fn put_conflict(&self, row: &super::ConflictRow) -> Result<(), StoreError> {
        self.with(|conn| plans::put_conflict(conn, row))
    }

    fn delete_conflict(&self, inspector: &str, uscc: &str) -> Result<bool, StoreError> {
        self.with(|conn| plans::delete_conflict(conn, inspector, uscc))
    }

    fn commit_draw(&self, draw: &super::DrawWrite<'_>, now: i64) -> Result<(), StoreError> {
        self.with(|conn| plans::commit_draw(conn, draw, now))
    }

    fn draws(&self) -> Result<Vec<(String, i64, String)>, StoreError> {
        self.read(|conn| plans::draws(conn))
    }

    fn draw_record(&self, id: &str) -> Result<Option<String>, StoreError> {
        self.read(|conn| plans::draw_column(conn, id, false))
    }

    fn draw_pools(&self, id: &str) -> Result<Option<String>, StoreError> {
        self.read(|conn| plans::draw_column(conn, id, true))
    }

    fn highest_code(&self, prefix: &str) -> Result<u64, StoreError> {
        self.read(|conn| plans::highest_code(conn, prefix))
    }

    fn published(&self, limit: usize) -> Result<Vec<super::PublishedRow>, StoreError> {
        self.read(|conn| plans::published(conn, limit))
    }

    fn claim_key(&self) -> Option<std::sync::Arc<crate::claims::ClaimKey>> {
        Some(self.claim_key.clone())
    }

    fn task_by_verify_code(&self, code: &str) -> Result<Option<String>, StoreError> {
        self.read(|conn| claims::task_by_verify_code(conn, code))
    }

    fn revoke_verify_code(
        &self,
        task_id: &str,
        revocation: &crate::claims::Revocation,
    ) -> Result<bool, StoreError> {
        self.with(|conn| claims::revoke(conn, task_id, revocation))
    }

    fn verify_revocation(
        &self,
        task_id: &str,
    ) -> Result<Option<crate::claims::Revocation>, StoreError> {
        self.read(|conn| claims::revocation(conn, task_id))
    }

    fn add_feedback(
        &self,
        row: &crate::claims::FeedbackRow,
        per_address_per_day: usize,
    ) -> Result<crate::claims::FeedbackAdded, StoreError> {
        self.with(|conn| claims::add_feedback(conn, row, per_address_per_day))
    }

    fn feedback_for_task(
        &self,
        task_id: &str,
    ) -> Result<Option<crate::claims::FeedbackRow>, StoreError> {
        self.read(|conn| claims::feedback_of(conn, task_id))
    }

    fn feedback_list(&self, limit: usize) -> Result<Vec<crate::claims::FeedbackRow>, StoreError> {
        self.read(|conn| claims::feedback_list(conn, limit))
    }

    fn unscanned_rectification_tasks(&self, limit: usize) -> Result<Vec<String>, StoreError> {
        self.read(|conn| rectify::unscanned(conn, limit))
    }

    fn record_rectifications(
        &self,
        task_id: &str,
        rows: &[crate::rectify::Rectification],
        now: i64,
    ) -> Result<(), StoreError> {
        self.with(|conn| rectify::record(conn, task_id, rows, now))
    }

    fn finished_rechecks(&self) -> Result<Vec<(String, String, String)>, StoreError> {
        self.read(|conn| rectify::finished_rechecks(conn))
    }

    fn rectifications(
        &self,
        states: &[crate::rectify::RectState],
    ) -> Result<Vec<crate::rectify::Rectification>, StoreError> {
        self.read(|conn| rectify::list(conn, states))
    }

    fn rectification(&self, id: &str) -> Result<Option<crate::rectify::Rectification>, StoreError> {
        self.read(|conn| rectify::one(conn, id))
    }

    fn start_recheck(
        &self,
        id: &str,
        task_id: &str,
        task_code: &str,
        team: &str,
        photos: &[String],
        now: i64,
    ) -> Result<bool, StoreError> {
        self.with(|conn| rectify::start_recheck(conn, id, task_id, task_code, team, photos, now))
    }

    fn finish_recheck(
        &self,
        id: &str,
        state: crate::rectify::RectState,
        now: i64,
    ) -> Result<bool, StoreError> {
        self.with(|conn| rectify::finish_recheck(conn, id, state, now))
    }

    fn insert_lead(
        &self,
        draft: &crate::leads::LeadDraft,
        now: i64,
    ) -> Result<crate::leads::Lead, StoreError> {
        self.with(|conn| leads::insert_lead(conn, draft, now))
    }

    fn lead(&self, id: &str) -> Result<Option<crate::leads::Lead>, StoreError> {
        self.read(|conn| leads::lead(conn, id))
    }

    fn lead_events(&self, id: &str) -> Result<Vec<crate::leads::LeadEvent>, StoreError> {
        self.read(|conn| leads::lead_events(conn, id))
    }

    fn list_leads(
        &self,
        state: Option<crate::leads::LeadState>,
        departments: Option<&[String]>,
        limit: usize,
    ) -> Result<Vec<crate::leads::Lead>, StoreError> {
        self.read(|conn| leads::list_leads(conn, state, departments, limit))
    }

    fn save_lead_step(
        &self,
        before: &crate::leads::Lead,
        after: &crate::leads::Lead,
        event: &crate::leads::LeadEvent,
    ) -> Result<(), StoreError> {
        self.with(|conn| leads::save_step(conn, before, after, event))
    }

    fn add_channel_key(&self, row: &super::ChannelKeyRow) -> Result<(), StoreError> {
        self.with(|conn| leads::add_channel_key(conn, row))
    }

    fn channel_key(&self, id: &str) -> Result<Option<super::ChannelKeyRow>, StoreError> {
        self.read(|conn| leads::channel_key(conn, id))
    }

    fn channel_keys(&self) -> Result<Vec<super::ChannelKeyRow>, StoreError> {
        self.read(|conn| leads::channel_keys(conn))
    }

    fn revoke_channel_key(&self, id: &str, now: i64) -> Result<bool, StoreError> {
        self.with(|conn| leads::revoke_channel_key(conn, id, now))
    }

    fn receipts_since_task(
        &self,
        task_id: &str,
        limit: usize,
    ) -> Result<Option<Vec<Receipt>>, StoreError> {
        self.read(|conn| leads::receipts_since_task(conn, task_id, limit))
    }

    fn receipt_head(&self) -> Result<Option<(i64, String)>, StoreError> {
        self.read(|conn| audit::receipt_head(conn))
    }

    fn receipt_span(&self, from: i64, to: i64, limit: usize) -> Result<Vec<Receipt>, StoreError> {
        self.read(|conn| audit::receipt_span(conn, from, to, limit))
    }

    fn device_receipts(
        &self,
        device_id: &str,
        after: i64,
        limit: usize,
    ) -> Result<Vec<Receipt>, StoreError> {
        self.read(|conn| audit::device_receipts(conn, device_id, after, limit))
    }

    fn add_checkpoint(
        &self,
        checkpoint: &fieldloop_core::checkpoint::Checkpoint,
    ) -> Result<bool, StoreError> {
        self.with(|conn| audit::add_checkpoint(conn, checkpoint))
    }

    fn checkpoint(
        &self,
        seq: Option<i64>,
    ) -> Result<Option<fieldloop_core::checkpoint::Checkpoint>, StoreError> {
        self.read(|conn| audit::checkpoint(conn, seq))
    }

    fn receipts(&self) -> Result<Vec<Receipt>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {} FROM receipts ORDER BY seq",
                audit::RECEIPT_COLUMNS
            ))?;
            let rows = stmt.query_map([], audit::receipt_from_row)?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }
}

#[cfg(test)]
mod tests;
