//! The tablet's local store: task documents and the task index in SQLite.
//!
//! Each task is one Automerge document kept as a snapshot plus the
//! incremental chunks appended after it, one chunk per edit, so an edit
//! writes a few hundred bytes instead of the whole document. Every write
//! commits the chunk and the task's index row in one transaction, in WAL
//! mode with `synchronous = FULL`: once a call returns, the edit survives a
//! crash or a power cut. Compaction folds the chunks into a new snapshot
//! and drops them in the same transaction, so a crash at any point leaves
//! either the old snapshot with its chunks or the new one: never less.
//!
//! The task index (code, subject, USCC, status, due date, departments,
//! dirty flag) serves the task list and search without loading documents.

mod audit;
mod cache;
mod cipher;
mod migrations;
mod sync;

pub use sync::RefusedEdit;

use std::path::{Path, PathBuf};

use fieldloop_core::ErrorCode;
use fieldloop_core::faults;
use fieldloop_core::{Status, TaskDoc, TaskError, TaskSummary};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Chunks a document may collect before an edit compacts it.
pub const COMPACT_AFTER_CHUNKS: u32 = 64;
/// File name of the database inside the data directory.
pub const DB_FILE: &str = "fieldloop.sqlite3";

/// What can go wrong in the local store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "无法打开或写入本机数据库 {path}：{source}（请检查存储空间）(cannot use the local database)"
    )]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("本机数据库出错：{0}（请重启应用；如仍出错请联系管理员）(local database error)")]
    Sqlite(#[from] rusqlite::Error),
    #[error("本机数据库版本升级失败：{0} (the local database could not be migrated)")]
    Migration(#[from] rusqlite_migration::Error),
    #[error("本机没有任务 {0}，请先同步 (task {0} is not on this tablet; sync first)")]
    NotFound(String),
    #[error("任务 {0} 已在本机 (task {0} is already on this tablet)")]
    Exists(String),
    #[error("本机保存的任务 {id} 已损坏：{source} (the stored task is damaged)")]
    Damaged { id: String, source: Box<TaskError> },
    #[error(transparent)]
    Task(Box<TaskError>),
    #[error(
        "服务器拒绝的修改 {0} 不是本机尚未同步的修改，无法移出 (the refused change {0} is not one of this tablet's unsent changes)"
    )]
    NotSetAside(String),
    /// The server's answer named a change hash that is not one.
    #[error("服务器的答复无法读取：{0}（请更新应用）(unreadable answer from the server)")]
    Wire(#[from] fieldloop_core::sync::WireError),
    #[error(transparent)]
    Key(#[from] crate::keystore::KeyError),
    /// The database is not readable with this tablet's key (copied from
    /// another tablet, or its key was erased).
    #[error(
        "本机数据库 {0} 无法用本设备的密钥打开（数据来自其他设备，或密钥已被清除）(the local database cannot be opened with this tablet's key)"
    )]
    WrongKey(PathBuf),
}

impl From<TaskError> for StoreError {
    fn from(e: TaskError) -> Self {
        Self::Task(Box::new(e))
    }
}

impl StoreError {
    /// A stable machine code; the UI branches on it.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Open { .. } => ErrorCode::StoreOpen,
            Self::Sqlite(_) => ErrorCode::StoreSqlite,
            Self::Migration(_) => ErrorCode::StoreMigration,
            Self::NotFound(_) => ErrorCode::StoreNotFound,
            Self::Exists(_) => ErrorCode::StoreExists,
            Self::Damaged { .. } => ErrorCode::StoreDamaged,
            Self::Task(e) => e.code(),
            Self::NotSetAside(_) => ErrorCode::StoreNotSetAside,
            Self::Wire(e) => e.code(),
            Self::Key(_) => ErrorCode::StoreKey,
            Self::WrongKey(_) => ErrorCode::StoreWrongKey,
        }
    }
}

/// A filter over the task index. Empty fields do not filter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
#[serde(default, deny_unknown_fields)]
pub struct TaskQuery {
    /// Tasks in any of these statuses; empty means all.
    pub statuses: Vec<Status>,
    /// Tasks that include this department's items.
    pub department: Option<String>,
    /// Part of the subject's name, its USCC or the task code.
    pub text: Option<String>,
    /// Tasks due at or before this time (ms since the epoch).
    #[ts(type = "number | null")]
    pub due_before: Option<i64>,
    /// At most this many rows (default 500).
    pub limit: Option<u32>,
}

/// One row of the task list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct TaskRow {
    pub id: String,
    pub code: String,
    pub subject_name: String,
    pub uscc: String,
    pub status: Status,
    /// Due date, milliseconds since the epoch (UTC).
    #[ts(type = "number")]
    pub due: i64,
    pub departments: Vec<String>,
    /// The tablet holds changes the server has not acknowledged yet.
    pub dirty: bool,
}

/// Prepared statements kept per connection: every statement of an edit
/// and of applying a sync answer stays prepared (rusqlite keeps 16).
const STATEMENT_CACHE: usize = 64;

/// What every connection of the store is set to before its first query:
/// statements kept prepared, and plans that do not depend on bound values
/// (SQLite's query planner stability guarantee), so that a kept statement
/// is not compiled again when SQLite would read a bound value while
/// planning (a `LIMIT`, a `LIKE` pattern).
fn tune(conn: &Connection) -> rusqlite::Result<()> {
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    Ok(())
}

/// The local store of one tablet.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    path: PathBuf,
    /// Documents last read or written through `conn`, as committed.
    cache: std::cell::RefCell<cache::DocCache>,
}

fn departments_column(departments: &[String]) -> String {
    format!(" {} ", departments.join(" "))
}

fn like_pattern(text: &str) -> String {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

impl Store {
    /// Opens (creating and migrating if needed) the store in `data_dir`,
    /// encrypted with the folder's key (see [`crate::keystore`]).
    pub fn open(data_dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(data_dir).map_err(|e| StoreError::Open {
            path: data_dir.to_owned(),
            source: rusqlite::Error::ToSqlConversionFailure(Box::new(e)),
        })?;
        let key = crate::keystore::key_for(data_dir)?;
        Self::open_with_key(data_dir, &key)
    }

    /// Opens the store in `data_dir` with `key`. A store written before
    /// stores were encrypted is encrypted first, in place.
    pub fn open_with_key(
        data_dir: &Path,
        key: &crate::keystore::DataKey,
    ) -> Result<Self, StoreError> {
        Self::open_inner(data_dir, Some(key))
    }

    /// The store in `data_dir` without encryption: only for benchmarks that
    /// measure what encryption costs. The app never opens one.
    pub fn open_unencrypted_for_benchmarks(data_dir: &Path) -> Result<Self, StoreError> {
        Self::open_inner(data_dir, None)
    }

    fn open_inner(
        data_dir: &Path,
        key: Option<&crate::keystore::DataKey>,
    ) -> Result<Self, StoreError> {
        let path = data_dir.join(DB_FILE);
        let open_err = |source| StoreError::Open {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(data_dir)
            .map_err(|e| open_err(rusqlite::Error::ToSqlConversionFailure(Box::new(e))))?;
        let key_sql = key.map(cipher::key_literal);
        if let Some(key_sql) = &key_sql
            && cipher::is_plaintext(&path)
        {
            cipher::encrypt_in_place(&path, key_sql).map_err(open_err)?;
        }
        let mut conn = open_connection(&path).map_err(open_err)?;
        if let Some(key_sql) = &key_sql {
            cipher::unlock(&conn, key_sql, &path)?;
        }
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(open_err)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(open_err)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(open_err)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(open_err)?;
        tune(&conn).map_err(open_err)?;
        migrations::migrations().to_latest(&mut conn)?;
        Ok(Self {
            conn,
            path,
            cache: Default::default(),
        })
    }

    /// Every file the store in `data_dir` may have: the database, its
    /// journals, and the copy written while a plain store is encrypted.
    pub fn files(data_dir: &Path) -> Vec<PathBuf> {
        ["", "-wal", "-shm", "-journal", ".encrypting"]
            .iter()
            .map(|suffix| data_dir.join(format!("{DB_FILE}{suffix}")))
            .collect()
    }

    /// An empty store in memory (in place of one being erased); not encrypted.
    pub fn open_in_memory() -> Result<Self, StoreError> {
        let path = PathBuf::from(":memory:");
        let open_err = |source| StoreError::Open {
            path: path.clone(),
            source,
        };
        let mut conn = Connection::open_in_memory().map_err(open_err)?;
        tune(&conn).map_err(open_err)?;
        migrations::migrations().to_latest(&mut conn)?;
        Ok(Self {
            conn,
            path,
            cache: Default::default(),
        })
    }

    /// The store in the named in-memory database `name` (SQLite's `memdb`
    /// VFS, `file:/<name>?vfs=memdb`), for the deterministic simulation:
    /// every connection of this process opened on the same name shares it,
    /// so dropping the store and opening it again is a restart that keeps
    /// what was committed, as long as another connection (the test's
    /// keeper) holds the database open. Not encrypted; test builds only.
    #[cfg(feature = "faults")]
    pub fn open_memdb(name: &str) -> Result<Self, StoreError> {
        let path = PathBuf::from(format!("file:/{name}?vfs=memdb"));
        let open_err = |source| StoreError::Open {
            path: path.clone(),
            source,
        };
        let mut conn = Connection::open(&path).map_err(open_err)?;
        // The rollback journal in memory too; nothing to sync.
        conn.execute_batch(
            "PRAGMA journal_mode = MEMORY; PRAGMA synchronous = OFF; PRAGMA foreign_keys = ON;",
        )
        .map_err(open_err)?;
        tune(&conn).map_err(open_err)?;
        migrations::migrations().to_latest(&mut conn)?;
        Ok(Self {
            conn,
            path,
            cache: Default::default(),
        })
    }

    /// The documents this store keeps in memory (as committed), least
    /// recently used first. Test builds only: the simulation restores a
    /// tablet to a state it saved, its memory with its database.
    #[cfg(feature = "faults")]
    pub fn kept_documents(&self) -> Vec<(String, TaskDoc, u32)> {
        self.cache.borrow().entries()
    }

    /// Keeps `docs` in memory in place of what the store kept, as what its
    /// database holds now: they must be [`Store::kept_documents`] of a store
    /// whose database this one's was just made a copy of (anything else
    /// would hand out documents the database does not hold). Test builds
    /// only, for the simulation.
    #[cfg(feature = "faults")]
    pub fn restore_kept_documents(
        &mut self,
        docs: Vec<(String, TaskDoc, u32)>,
    ) -> Result<(), StoreError> {
        self.cache.get_mut().replace(&self.conn, docs)
    }

    /// SQLite's check of the whole database file: `["ok"]` when intact,
    /// else what is damaged, one finding per line.
    pub fn integrity_check(&self) -> Result<Vec<String>, StoreError> {
        let mut stmt = self.conn.prepare("PRAGMA integrity_check")?;
        let lines = stmt.query_map([], |r| r.get(0))?;
        Ok(lines.collect::<Result<_, _>>()?)
    }

    /// Where the database file is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Number of tasks on the tablet.
    pub fn task_count(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT count(*) FROM task_index", [], |r| r.get(0))?)
    }

    /// Adds a task that is not on the tablet yet (from the server, or a demo).
    /// `dirty` says whether the server still lacks it.
    pub fn insert_task(
        &mut self,
        doc: &mut TaskDoc,
        dirty: bool,
        now: i64,
    ) -> Result<TaskSummary, StoreError> {
        let summary = doc.summary()?;
        let snapshot = doc.save();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let inserted = tx.execute(
            "INSERT INTO documents (task_id, snapshot, snapshot_seq) VALUES (?1, ?2, 0) ON CONFLICT DO NOTHING",
            params![summary.id, snapshot],
        )?;
        if inserted == 0 {
            return Err(StoreError::Exists(summary.id));
        }
        write_index(&tx, &summary, dirty, now)?;
        faults::point("tablet.insert.before_commit");
        tx.commit()?;
        faults::point("tablet.insert.after_commit");
        Ok(summary)
    }

    /// Loads a task: its snapshot and the chunks after it.
    pub fn open_task(&self, task_id: &str) -> Result<TaskDoc, StoreError> {
        let (doc, _) = self.cache.borrow_mut().copy(&self.conn, task_id)?;
        Ok(doc)
    }

    /// Runs `edit` on a task and keeps what it changed: the new chunk and the
    /// index row are committed together before this returns. If `edit`
    /// fails, nothing is written.
    pub fn edit<T>(
        &mut self,
        task_id: &str,
        now: i64,
        edit: impl FnOnce(&mut TaskDoc) -> Result<T, TaskError>,
    ) -> Result<T, StoreError> {
        self.edit_queueing(task_id, now, &[], edit)
    }

    /// [`Store::edit`] that also queues `uploads` (the files the edit
    /// records) for upload, in the same transaction: a crash leaves the
    /// edit and its files' place in the queue, or neither.
    pub fn edit_queueing<T>(
        &mut self,
        task_id: &str,
        now: i64,
        uploads: &[crate::blobs::BlobId],
        edit: impl FnOnce(&mut TaskDoc) -> Result<T, TaskError>,
    ) -> Result<T, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let cache = self.cache.get_mut();
        let (mut doc, mut last_seq) = cache.take(&tx, task_id)?;
        let before = doc.heads();
        let value = edit(&mut doc)?;
        // Not `save_incremental`: after a load Automerge's save cursor is
        // empty and it would write the whole history again.
        let chunk = doc.save_after(&before);
        if !chunk.is_empty() {
            let seq = last_seq + 1;
            tx.prepare_cached("INSERT INTO doc_chunks (task_id, seq, bytes) VALUES (?1, ?2, ?3)")?
                .execute(params![task_id, seq, chunk])?;
            let summary = doc.summary()?;
            write_index(&tx, &summary, true, now)?;
            let snapshot_seq: u32 = tx
                .prepare_cached("SELECT snapshot_seq FROM documents WHERE task_id = ?1")?
                .query_row([task_id], |r| r.get(0))?;
            if seq - snapshot_seq >= COMPACT_AFTER_CHUNKS {
                compact_in(&tx, task_id, &mut doc, seq)?;
            }
            last_seq = seq;
        }
        sync::queue_in(&tx, task_id, uploads, now)?;
        faults::point("tablet.edit.before_commit");
        tx.commit()?;
        cache.keep(task_id, doc, last_seq);
        faults::point("tablet.edit.after_commit");
        Ok(value)
    }

    /// Folds a task's chunks into a new snapshot.
    pub fn compact(&mut self, task_id: &str) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let cache = self.cache.get_mut();
        let (mut doc, last_seq) = cache.take(&tx, task_id)?;
        compact_in(&tx, task_id, &mut doc, last_seq)?;
        faults::point("tablet.compact.before_commit");
        tx.commit()?;
        cache.keep(task_id, doc, last_seq);
        faults::point("tablet.compact.after_commit");
        Ok(())
    }

    /// Size in bytes of a task's snapshot as stored (for tests and
    /// diagnostics).
    pub fn snapshot_size(&self, task_id: &str) -> Result<i64, StoreError> {
        self.conn
            .prepare_cached("SELECT length(snapshot) FROM documents WHERE task_id = ?1")?
            .query_row([task_id], |r| r.get(0))
            .optional()?
            .ok_or_else(|| StoreError::NotFound(task_id.to_owned()))
    }

    /// Sizes in bytes of the chunks kept beside a task's snapshot, oldest
    /// first (for tests and diagnostics).
    pub fn chunk_sizes(&self, task_id: &str) -> Result<Vec<i64>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT length(bytes) FROM doc_chunks WHERE task_id = ?1 ORDER BY seq",
        )?;
        let sizes = stmt.query_map([task_id], |r| r.get(0))?;
        Ok(sizes.collect::<Result<_, _>>()?)
    }

    /// The task list: index rows matching `query`, soonest due first.
    pub fn list_tasks(&self, query: &TaskQuery) -> Result<Vec<TaskRow>, StoreError> {
        let mut sql = String::from(
            "SELECT task_id, code, subject_name, uscc, status, due, departments, dirty FROM task_index WHERE 1 = 1",
        );
        let mut args = SqlArgs::default();
        if !query.statuses.is_empty() {
            let marks: Vec<String> = query
                .statuses
                .iter()
                .map(|s| args.push(s.as_str().to_owned()))
                .collect();
            sql.push_str(&format!(" AND status IN ({})", marks.join(", ")));
        }
        if let Some(dept) = query
            .department
            .as_deref()
            .map(str::trim)
            .filter(|d| !d.is_empty())
        {
            let p = args.push(like_pattern(&format!(" {dept} ")));
            sql.push_str(&format!(" AND departments LIKE {p} ESCAPE '\\'"));
        }
        if let Some(text) = query
            .text
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
        {
            // USCCs and task codes are stored upper-case; LIKE ignores ASCII case anyway.
            let p = args.push(like_pattern(text));
            sql.push_str(&format!(
                " AND (subject_name LIKE {p} ESCAPE '\\' OR uscc LIKE {p} ESCAPE '\\' OR code LIKE {p} ESCAPE '\\')"
            ));
        }
        if let Some(due) = query.due_before {
            let p = args.push(due);
            sql.push_str(&format!(" AND due <= {p}"));
        }
        let limit = args.push(i64::from(query.limit.unwrap_or(500).min(10_000)));
        sql.push_str(&format!(" ORDER BY due, code LIMIT {limit}"));
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(
            rusqlite::params_from_iter(args.0.iter().map(|b| b.as_ref())),
            |r| {
                let status: String = r.get(4)?;
                let departments: String = r.get(6)?;
                Ok(TaskRow {
                    id: r.get(0)?,
                    code: r.get(1)?,
                    subject_name: r.get(2)?,
                    uscc: r.get(3)?,
                    status: Status::parse(&status).unwrap_or(Status::Assigned),
                    due: r.get(5)?,
                    departments: departments.split_whitespace().map(str::to_owned).collect(),
                    dirty: r.get(7)?,
                })
            },
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Whether the tablet holds changes to `task_id` the server has not acknowledged.
    pub fn is_dirty(&self, task_id: &str) -> Result<bool, StoreError> {
        Ok(self
            .conn
            .prepare_cached("SELECT dirty FROM task_index WHERE task_id = ?1")?
            .query_row([task_id], |r| r.get::<_, bool>(0))
            .optional()?
            .unwrap_or(false))
    }

    /// Every task with changes the server has not acknowledged.
    /// The code and subject of each task with unsynced changes, by code.
    pub fn dirty_task_names(&self) -> Result<Vec<(String, String)>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT code, subject_name FROM task_index WHERE dirty = 1 ORDER BY code",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn dirty_tasks(&self) -> Result<Vec<String>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT task_id FROM task_index WHERE dirty = 1 ORDER BY task_id")?;
        let ids = stmt.query_map([], |r| r.get(0))?;
        Ok(ids.collect::<Result<_, _>>()?)
    }
}

#[cfg(feature = "faults")]
thread_local! {
    static TEST_VFS: std::cell::Cell<Option<&'static str>> = const { std::cell::Cell::new(None) };
}

/// Test builds only (`faults`): the stores this thread opens from now on
/// (`Store::open*` on a folder) use the SQLite VFS registered as `vfs`, such
/// as the power-cut VFS of the crash tests; `None` goes back to the default.
#[cfg(feature = "faults")]
pub fn set_test_vfs(vfs: Option<&'static str>) {
    TEST_VFS.with(|v| v.set(vfs));
}

/// The store's connection to `path`, on the test VFS if one is set.
fn open_connection(path: &Path) -> rusqlite::Result<Connection> {
    #[cfg(feature = "faults")]
    if let Some(vfs) = TEST_VFS.with(std::cell::Cell::get) {
        return Connection::open_with_flags_and_vfs(path, rusqlite::OpenFlags::default(), vfs);
    }
    Connection::open(path)
}

/// Bound parameters of a query being built, named `?1`, `?2`, … in order.
#[derive(Default)]
struct SqlArgs(Vec<Box<dyn rusqlite::ToSql>>);

impl SqlArgs {
    fn push(&mut self, value: impl rusqlite::ToSql + 'static) -> String {
        self.0.push(Box::new(value));
        format!("?{}", self.0.len())
    }
}

pub(crate) fn load(conn: &Connection, task_id: &str) -> Result<(TaskDoc, u32), StoreError> {
    let row: Option<(Vec<u8>, u32)> = conn
        .prepare_cached("SELECT snapshot, snapshot_seq FROM documents WHERE task_id = ?1")?
        .query_row([task_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let (snapshot, snapshot_seq) = row.ok_or_else(|| StoreError::NotFound(task_id.to_owned()))?;
    let damaged = |source| StoreError::Damaged {
        id: task_id.to_owned(),
        source: Box::new(source),
    };
    // Checked as a task when it arrived (`insert_task`, a sync answer).
    let mut doc = TaskDoc::load_checked_before(&snapshot).map_err(damaged)?;
    let mut stmt =
        conn.prepare_cached("SELECT seq, bytes FROM doc_chunks WHERE task_id = ?1 ORDER BY seq")?;
    let mut rows = stmt.query([task_id])?;
    let mut last = snapshot_seq;
    // Chunks are concatenated and applied in one call: Automerge indexes
    // the document once instead of once per chunk.
    let mut pending = Vec::new();
    while let Some(row) = rows.next()? {
        let seq: u32 = row.get(0)?;
        if seq > snapshot_seq {
            pending.extend_from_slice(row.get_ref(1)?.as_blob().map_err(rusqlite::Error::from)?);
        }
        last = last.max(seq);
    }
    if !pending.is_empty() {
        doc.load_incremental(&pending).map_err(damaged)?;
    }
    Ok((doc, last))
}

fn compact_in(
    conn: &Connection,
    task_id: &str,
    doc: &mut TaskDoc,
    up_to: u32,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "UPDATE documents SET snapshot = ?2, snapshot_seq = ?3 WHERE task_id = ?1",
    )?
    .execute(params![task_id, doc.save(), up_to])?;
    // Inside the caller's transaction: the new snapshot is written, the
    // chunks it folds in are not yet dropped.
    faults::point("tablet.compact.snapshot_written");
    conn.prepare_cached("DELETE FROM doc_chunks WHERE task_id = ?1 AND seq <= ?2")?
        .execute(params![task_id, up_to])?;
    Ok(())
}

fn write_index(
    conn: &Connection,
    s: &TaskSummary,
    dirty: bool,
    now: i64,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO task_index (task_id, code, subject_name, uscc, status, due, departments, dirty, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT (task_id) DO UPDATE SET code = ?2, subject_name = ?3, uscc = ?4, status = ?5, due = ?6,
             departments = ?7, dirty = max(dirty, ?8), updated_at = ?9",
    )?
    .execute(params![s.id, s.code, s.subject_name, s.uscc, s.status.as_str(), s.due, departments_column(&s.departments), dirty, now])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A kept statement whose plan SQLite would make from a bound value (a
    /// `LIMIT`, a `LIKE` pattern) runs again without being compiled again.
    #[test]
    fn kept_statements_with_bound_values_are_not_compiled_again() {
        let dir = tempfile::tempdir().expect("tempdir");
        for store in [
            Store::open_in_memory().expect("in memory"),
            Store::open(dir.path()).expect("on disk"),
        ] {
            let sql = "SELECT task_id FROM task_index WHERE code LIKE ?1 ORDER BY due LIMIT ?2";
            for (pattern, limit) in [("JX%", 1_i64), ("A%", 2), ("%", 3)] {
                let mut stmt = store.conn.prepare_cached(sql).expect("prepare");
                let rows = stmt
                    .query_map(params![pattern, limit], |r| r.get::<_, String>(0))
                    .expect("query");
                assert_eq!(rows.count(), 0);
            }
            let stmt = store.conn.prepare_cached(sql).expect("prepare");
            assert_eq!(
                stmt.get_status(rusqlite::StatementStatus::RePrepare),
                0,
                "{}: compiled again",
                store.path().display()
            );
        }
    }
}
