//! [`Store`] on one SQLite file (WAL, `synchronous = FULL`): one writing
//! connection, and a small pool of reading connections beside it, so that
//! reads neither wait for a commit's sync to disk nor for each other.

use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex};

use automerge::ChangeHash;
use fieldloop_core::{
    Department, GeoPoint, Handbook, Industry, Inspector, Item, RiskClass, Role, Subject, TaskDoc,
    Team, TeamKind, Uscc,
};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use rusqlite_migration::{HookError, HookResult, M, Migrations};

use super::{
    Device, FeedTask, Receipt, Store, StoreError, StoredFlag, StoredTask, TaskCodes, TaskDelta,
    TaskSince, TaskWrite,
};
use crate::import::{Change, ImportCounts, ImportSet, Kind, Row};

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

/// The reference data of `fieldloop-server import`, and the codes of tasks.
/// References are checked at commit (deferred), so one import may write
/// its rows in any order.
const V2: &str = "
CREATE TABLE departments (
    code TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    name_en TEXT NOT NULL
) STRICT;

CREATE TABLE industries (
    code TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    name_en TEXT NOT NULL
) STRICT;

CREATE TABLE teams (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('township_squad', 'county_team'))
) STRICT;

CREATE TABLE team_departments (
    team TEXT NOT NULL REFERENCES teams(id) DEFERRABLE INITIALLY DEFERRED,
    department TEXT NOT NULL REFERENCES departments(code) DEFERRABLE INITIALLY DEFERRED,
    position INTEGER NOT NULL,
    PRIMARY KEY (team, department)
) STRICT;

CREATE TABLE subjects (
    uscc TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    address TEXT NOT NULL,
    industry TEXT NOT NULL REFERENCES industries(code) DEFERRABLE INITIALLY DEFERRED,
    risk_class TEXT NOT NULL CHECK (risk_class IN ('A', 'B', 'C', 'D')),
    lat REAL NOT NULL,
    lon REAL NOT NULL,
    legal_rep TEXT NOT NULL
) STRICT;
CREATE INDEX subjects_industry ON subjects (industry, risk_class);

CREATE TABLE items (
    id TEXT PRIMARY KEY NOT NULL,
    department TEXT NOT NULL REFERENCES departments(code) DEFERRABLE INITIALLY DEFERRED,
    title TEXT NOT NULL,
    legal_basis TEXT NOT NULL,
    requires_evidence INTEGER NOT NULL CHECK (requires_evidence IN (0, 1))
) STRICT;

-- an item without rows here applies to every industry
CREATE TABLE item_industries (
    item TEXT NOT NULL REFERENCES items(id) DEFERRABLE INITIALLY DEFERRED,
    industry TEXT NOT NULL REFERENCES industries(code) DEFERRABLE INITIALLY DEFERRED,
    position INTEGER NOT NULL,
    PRIMARY KEY (item, industry)
) STRICT;

CREATE TABLE handbooks (
    industry TEXT PRIMARY KEY NOT NULL REFERENCES industries(code) DEFERRABLE INITIALLY DEFERRED,
    lead_department TEXT NOT NULL REFERENCES departments(code) DEFERRABLE INITIALLY DEFERRED
) STRICT;

CREATE TABLE handbook_departments (
    handbook TEXT NOT NULL REFERENCES handbooks(industry) DEFERRABLE INITIALLY DEFERRED,
    department TEXT NOT NULL REFERENCES departments(code) DEFERRABLE INITIALLY DEFERRED,
    position INTEGER NOT NULL,
    PRIMARY KEY (handbook, department)
) STRICT;

CREATE TABLE handbook_items (
    handbook TEXT NOT NULL REFERENCES handbooks(industry) DEFERRABLE INITIALLY DEFERRED,
    item TEXT NOT NULL REFERENCES items(id) DEFERRABLE INITIALLY DEFERRED,
    position INTEGER NOT NULL,
    PRIMARY KEY (handbook, item)
) STRICT;

-- the human code and the public verify code of each task, unique on the server
CREATE TABLE task_codes (
    task_id TEXT PRIMARY KEY NOT NULL REFERENCES tasks(id) DEFERRABLE INITIALLY DEFERRED,
    code TEXT NOT NULL UNIQUE,
    verify_code TEXT NOT NULL UNIQUE
) STRICT;
";

/// V2's data step: the codes of the tasks created before V2, read from their documents.
fn index_task_codes(tx: &rusqlite::Transaction<'_>) -> HookResult {
    let tasks: Vec<(String, Vec<u8>)> = tx
        .prepare("SELECT id, doc FROM tasks")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    for (id, doc) in tasks {
        let task = TaskDoc::load(&doc)
            .and_then(|d| d.task())
            .map_err(|e| HookError::Hook(format!("task {id}: {e}")))?;
        tx.execute(
            "INSERT INTO task_codes (task_id, code, verify_code) VALUES (?1, ?2, ?3)",
            params![id, task.code, task.verify_code],
        )?;
    }
    Ok(())
}

/// The changes each feed entry added to its task, kept so that a device
/// behind the entry is answered without loading the whole document. Entries
/// written before V3, and those of `insert_task`, have none.
const V3: &str = "
-- the changes (encoded, concatenated) a feed entry added to its task
CREATE TABLE feed_changes (
    seq INTEGER PRIMARY KEY NOT NULL REFERENCES feed(seq),
    changes BLOB NOT NULL
) STRICT;
";

/// What the write policy flagged for the reviewer on accepted changes, and
/// whether an inspector is active (a deactivated inspector's devices are
/// refused).
const V4: &str = "
CREATE TABLE change_flags (
    task_id     TEXT NOT NULL REFERENCES tasks(id),
    -- the flag as JSON (fieldloop_core::policy::Flag)
    flag        TEXT NOT NULL,
    device_id   TEXT NOT NULL,
    received_at INTEGER NOT NULL
) STRICT;
CREATE INDEX change_flags_task ON change_flags (task_id);
ALTER TABLE inspectors ADD COLUMN active INTEGER NOT NULL DEFAULT 1;
-- who uploaded each blob: a blob is visible to the teams whose devices did
CREATE TABLE blob_owners (
    sha256      TEXT NOT NULL,
    team        TEXT NOT NULL,
    device_id   TEXT NOT NULL,
    uploaded_at INTEGER NOT NULL,
    PRIMARY KEY (sha256, team, device_id)
) STRICT;
";

/// V4's data step: blobs uploaded before V4 have no recorded uploader; each
/// evidence hash a task lists is given to the task's team.
fn own_listed_blobs(tx: &rusqlite::Transaction<'_>) -> HookResult {
    let tasks: Vec<(String, String, Vec<u8>)> = tx
        .prepare("SELECT id, team, doc FROM tasks")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    for (id, team, doc) in tasks {
        let task = TaskDoc::load(&doc)
            .and_then(|d| d.task())
            .map_err(|e| HookError::Hook(format!("task {id}: {e}")))?;
        for sha in task_blobs(&task) {
            tx.execute(
                "INSERT OR IGNORE INTO blob_owners (sha256, team, device_id, uploaded_at) VALUES (?1, ?2, 'before-v4', 0)",
                params![sha, team],
            )?;
        }
    }
    Ok(())
}

/// Every blob a task refers to: evidence, its display copies and thumbnails.
fn task_blobs(task: &fieldloop_core::Task) -> impl Iterator<Item = &String> {
    task.evidence.values().flat_map(|e| {
        std::iter::once(&e.sha256)
            .chain(e.thumb_sha256.as_ref())
            .chain(e.display_sha256.as_ref())
    })
}

fn migrations() -> Migrations<'static> {
    Migrations::new(vec![
        M::up(V1),
        M::up_with_hook(V2, index_task_codes),
        M::up(V3),
        M::up_with_hook(V4, own_listed_blobs),
    ])
}

/// Statements each connection keeps prepared (more than the store uses).
const STATEMENT_CACHE: usize = 96;

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

/// Idle reading connections, and how many are open in all.
#[derive(Debug, Default)]
struct Readers {
    idle: Vec<Connection>,
    open: usize,
}

/// The embedded default store.
#[derive(Debug)]
pub struct SqliteStore {
    path: PathBuf,
    /// The one connection that writes.
    conn: Mutex<Connection>,
    readers: Mutex<Readers>,
    reader_free: Condvar,
    max_readers: usize,
}

/// A reading connection on loan; goes back to the pool when dropped.
struct Reader<'a> {
    store: &'a SqliteStore,
    conn: Option<Connection>,
}

impl Drop for Reader<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            let mut readers = self.store.readers.lock().unwrap_or_else(|p| p.into_inner());
            readers.idle.push(conn);
            drop(readers);
            self.store.reader_free.notify_one();
        }
    }
}

/// A role as stored; anything else is damage, never silently an inspector.
fn role_from(name: &str) -> Result<Role, StoreError> {
    match name {
        "inspector" => Ok(Role::Inspector),
        "supervisor" => Ok(Role::Supervisor),
        "admin" => Ok(Role::Admin),
        other => Err(StoreError::Invalid(format!("unknown role “{other}”"))),
    }
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

/// Feed positions are SQLite integers; a cursor past the end is clamped.
fn seq_param(cursor: u64) -> i64 {
    i64::try_from(cursor).unwrap_or(i64::MAX)
}

/// A device, and whether its person is active (people other than
/// inspectors are not in the directory and count as active).
const DEVICE_COLUMNS: &str = "id, actor, person, role, team, revoked_at,
    coalesce((SELECT active FROM inspectors WHERE inspectors.id = devices.person), 1)";

impl SqliteStore {
    /// Opens (creating and migrating) `dir/fieldloop-server.sqlite3`.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        let path = dir.join("fieldloop-server.sqlite3");
        let mut conn = Connection::open(&path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        migrations().to_latest(&mut conn)?;
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Ok(Self {
            path,
            conn: Mutex::new(conn),
            readers: Mutex::new(Readers::default()),
            reader_free: Condvar::new(),
            max_readers: (2 * cores).clamp(4, 16),
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
        let mut reader = self.reader()?;
        let conn = reader
            .conn
            .as_mut()
            .ok_or_else(|| StoreError::Invalid("reader without a connection".into()))?;
        f(conn)
    }

    /// An idle reading connection, a new one while fewer than
    /// `max_readers` are open, or else the next one given back.
    fn reader(&self) -> Result<Reader<'_>, StoreError> {
        let mut readers = self
            .readers
            .lock()
            .map_err(|_| StoreError::Invalid("the store lock was poisoned".into()))?;
        loop {
            if let Some(conn) = readers.idle.pop() {
                return Ok(Reader {
                    store: self,
                    conn: Some(conn),
                });
            }
            if readers.open < self.max_readers {
                readers.open += 1;
                drop(readers);
                return match open_reader(&self.path) {
                    Ok(conn) => Ok(Reader {
                        store: self,
                        conn: Some(conn),
                    }),
                    Err(e) => {
                        self.readers.lock().unwrap_or_else(|p| p.into_inner()).open -= 1;
                        self.reader_free.notify_one();
                        Err(e)
                    }
                };
            }
            readers = self
                .reader_free
                .wait(readers)
                .map_err(|_| StoreError::Invalid("the store lock was poisoned".into()))?;
        }
    }
}

/// A connection that only reads (the file is already created and migrated).
fn open_reader(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.pragma_update(None, "query_only", "ON")?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(conn)
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
/// `keep_added` and known) and its receipts.
fn write_task(
    tx: &rusqlite::Transaction<'_>,
    w: &TaskWrite,
    keep_added: bool,
    device_id: &str,
    now: i64,
) -> Result<(), StoreError> {
    tx.cached_exec(
        "INSERT INTO tasks (id, team, doc) VALUES (?1, ?2, ?3) ON CONFLICT (id) DO UPDATE SET doc = ?3",
        params![w.id, w.team, w.doc],
    )?;
    tx.cached_exec(
        "INSERT INTO feed (task_id, team, heads) VALUES (?1, ?2, ?3)",
        params![w.id, w.team, fieldloop_core::sync::heads_to_bytes(&w.heads)],
    )?;
    if keep_added && let Some(added) = &w.added {
        tx.cached_exec(
            "INSERT INTO feed_changes (seq, changes) VALUES (?1, ?2)",
            params![tx.last_insert_rowid(), added],
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
    append_receipts(tx, &w.id, &w.new_changes, device_id, now)
}

fn team_kind_name(kind: TeamKind) -> &'static str {
    match kind {
        TeamKind::TownshipSquad => "township_squad",
        TeamKind::CountyTeam => "county_team",
    }
}

fn team_kind_from(name: &str) -> Result<TeamKind, StoreError> {
    match name {
        "township_squad" => Ok(TeamKind::TownshipSquad),
        "county_team" => Ok(TeamKind::CountyTeam),
        other => Err(StoreError::Invalid(format!("unknown team kind {other}"))),
    }
}

fn risk_class_from(name: &str) -> Result<RiskClass, StoreError> {
    RiskClass::ALL
        .into_iter()
        .find(|c| c.to_string() == name)
        .ok_or_else(|| StoreError::Invalid(format!("unknown risk class {name}")))
}

/// The values of a list table (`SELECT value … WHERE owner = ?1 ORDER BY position`).
fn list(conn: &Connection, sql: &str, owner: &str) -> Result<Vec<String>, StoreError> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map([owner], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Replaces the values of a list table for `owner`.
fn write_list(
    conn: &Connection,
    table: &str,
    owner_column: &str,
    value_column: &str,
    owner: &str,
    values: &[String],
) -> Result<(), StoreError> {
    conn.cached_exec(
        &format!("DELETE FROM {table} WHERE {owner_column} = ?1"),
        [owner],
    )?;
    let mut stmt = conn.prepare_cached(&format!(
        "INSERT INTO {table} ({owner_column}, {value_column}, position) VALUES (?1, ?2, ?3)"
    ))?;
    for (position, value) in (0_i64..).zip(values) {
        stmt.execute(params![owner, value, position])?;
    }
    Ok(())
}

fn read_department(conn: &Connection, code: &str) -> Result<Option<Department>, StoreError> {
    Ok(conn
        .cached_row(
            "SELECT code, name, name_en FROM departments WHERE code = ?1",
            [code],
            |r| {
                Ok(Department {
                    code: r.get(0)?,
                    name: r.get(1)?,
                    name_en: r.get(2)?,
                })
            },
        )
        .optional()?)
}

fn write_department(conn: &Connection, d: &Department) -> Result<(), StoreError> {
    conn.cached_exec(
        "INSERT INTO departments (code, name, name_en) VALUES (?1, ?2, ?3)
         ON CONFLICT (code) DO UPDATE SET name = excluded.name, name_en = excluded.name_en",
        params![d.code, d.name, d.name_en],
    )?;
    Ok(())
}

fn read_industry(conn: &Connection, code: &str) -> Result<Option<Industry>, StoreError> {
    Ok(conn
        .cached_row(
            "SELECT code, name, name_en FROM industries WHERE code = ?1",
            [code],
            |r| {
                Ok(Industry {
                    code: r.get(0)?,
                    name: r.get(1)?,
                    name_en: r.get(2)?,
                })
            },
        )
        .optional()?)
}

fn write_industry(conn: &Connection, i: &Industry) -> Result<(), StoreError> {
    conn.cached_exec(
        "INSERT INTO industries (code, name, name_en) VALUES (?1, ?2, ?3)
         ON CONFLICT (code) DO UPDATE SET name = excluded.name, name_en = excluded.name_en",
        params![i.code, i.name, i.name_en],
    )?;
    Ok(())
}

fn read_team(conn: &Connection, id: &str) -> Result<Option<Team>, StoreError> {
    let row: Option<(String, String, String)> = conn
        .cached_row(
            "SELECT id, name, kind FROM teams WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let Some((id, name, kind)) = row else {
        return Ok(None);
    };
    let departments = list(
        conn,
        "SELECT department FROM team_departments WHERE team = ?1 ORDER BY position",
        &id,
    )?;
    Ok(Some(Team {
        id,
        name,
        kind: team_kind_from(&kind)?,
        departments,
    }))
}

fn write_team(conn: &Connection, t: &Team) -> Result<(), StoreError> {
    conn.cached_exec(
        "INSERT INTO teams (id, name, kind) VALUES (?1, ?2, ?3)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, kind = excluded.kind",
        params![t.id, t.name, team_kind_name(t.kind)],
    )?;
    write_list(
        conn,
        "team_departments",
        "team",
        "department",
        &t.id,
        &t.departments,
    )
}

fn read_inspector(conn: &Connection, id: &str) -> Result<Option<Inspector>, StoreError> {
    Ok(conn
        .cached_row(
            "SELECT id, name, badge_no, department, team FROM inspectors WHERE id = ?1",
            [id],
            |r| {
                Ok(Inspector {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    badge_no: r.get(2)?,
                    department: r.get(3)?,
                    team: r.get(4)?,
                })
            },
        )
        .optional()?)
}

fn write_inspector(conn: &Connection, i: &Inspector) -> Result<(), StoreError> {
    conn.cached_exec(
        "INSERT INTO inspectors (id, name, badge_no, department, team) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, badge_no = excluded.badge_no,
             department = excluded.department, team = excluded.team",
        params![i.id, i.name, i.badge_no, i.department, i.team],
    )?;
    Ok(())
}

fn read_subject(conn: &Connection, uscc: &str) -> Result<Option<Subject>, StoreError> {
    type Columns = (String, String, String, String, String, f64, f64, String);
    let row: Option<Columns> = conn
        .cached_row(
            "SELECT uscc, name, address, industry, risk_class, lat, lon, legal_rep
             FROM subjects WHERE uscc = ?1",
            [uscc],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                ))
            },
        )
        .optional()?;
    let Some((uscc, name, address, industry, risk_class, lat, lon, legal_rep)) = row else {
        return Ok(None);
    };
    Ok(Some(Subject {
        uscc: Uscc::parse(&uscc).map_err(|e| StoreError::Invalid(format!("{uscc}: {e}")))?,
        name,
        address,
        industry,
        risk_class: risk_class_from(&risk_class)?,
        location: GeoPoint { lat, lon },
        legal_rep,
    }))
}

fn write_subject(conn: &Connection, s: &Subject) -> Result<(), StoreError> {
    conn.cached_exec(
        "INSERT INTO subjects (uscc, name, address, industry, risk_class, lat, lon, legal_rep)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (uscc) DO UPDATE SET name = excluded.name, address = excluded.address,
             industry = excluded.industry, risk_class = excluded.risk_class,
             lat = excluded.lat, lon = excluded.lon, legal_rep = excluded.legal_rep",
        params![
            s.uscc.as_str(),
            s.name,
            s.address,
            s.industry,
            s.risk_class.to_string(),
            s.location.lat,
            s.location.lon,
            s.legal_rep
        ],
    )?;
    Ok(())
}

fn read_item(conn: &Connection, id: &str) -> Result<Option<Item>, StoreError> {
    let row: Option<(String, String, String, String, bool)> = conn
        .cached_row(
            "SELECT id, department, title, legal_basis, requires_evidence FROM items WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .optional()?;
    let Some((id, department, title, legal_basis, requires_evidence)) = row else {
        return Ok(None);
    };
    let industries = list(
        conn,
        "SELECT industry FROM item_industries WHERE item = ?1 ORDER BY position",
        &id,
    )?;
    Ok(Some(Item {
        id,
        department,
        title,
        legal_basis,
        industries,
        requires_evidence,
    }))
}

fn write_item(conn: &Connection, i: &Item) -> Result<(), StoreError> {
    conn.cached_exec(
        "INSERT INTO items (id, department, title, legal_basis, requires_evidence)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (id) DO UPDATE SET department = excluded.department, title = excluded.title,
             legal_basis = excluded.legal_basis, requires_evidence = excluded.requires_evidence",
        params![
            i.id,
            i.department,
            i.title,
            i.legal_basis,
            i.requires_evidence
        ],
    )?;
    write_list(
        conn,
        "item_industries",
        "item",
        "industry",
        &i.id,
        &i.industries,
    )
}

fn read_handbook(conn: &Connection, industry: &str) -> Result<Option<Handbook>, StoreError> {
    let row: Option<(String, String)> = conn
        .cached_row(
            "SELECT industry, lead_department FROM handbooks WHERE industry = ?1",
            [industry],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((industry, lead_department)) = row else {
        return Ok(None);
    };
    let departments = list(
        conn,
        "SELECT department FROM handbook_departments WHERE handbook = ?1 ORDER BY position",
        &industry,
    )?;
    let items = list(
        conn,
        "SELECT item FROM handbook_items WHERE handbook = ?1 ORDER BY position",
        &industry,
    )?;
    Ok(Some(Handbook {
        industry,
        departments,
        lead_department,
        items,
    }))
}

fn write_handbook(conn: &Connection, h: &Handbook) -> Result<(), StoreError> {
    conn.cached_exec(
        "INSERT INTO handbooks (industry, lead_department) VALUES (?1, ?2)
         ON CONFLICT (industry) DO UPDATE SET lead_department = excluded.lead_department",
        params![h.industry, h.lead_department],
    )?;
    write_list(
        conn,
        "handbook_departments",
        "handbook",
        "department",
        &h.industry,
        &h.departments,
    )?;
    write_list(
        conn,
        "handbook_items",
        "handbook",
        "item",
        &h.industry,
        &h.items,
    )
}

/// Writes the rows of one kind that differ from what is stored, counting what changed.
fn upsert<T: PartialEq>(
    conn: &Connection,
    kind: Kind,
    rows: &[Row<T>],
    key: impl Fn(&T) -> String,
    read: impl Fn(&Connection, &str) -> Result<Option<T>, StoreError>,
    write: impl Fn(&Connection, &T) -> Result<(), StoreError>,
    counts: &mut ImportCounts,
) -> Result<(), StoreError> {
    for Row { value, .. } in rows {
        let change = match read(conn, &key(value))? {
            None => Change::Added,
            Some(stored) if stored == *value => Change::Unchanged,
            Some(_) => Change::Updated,
        };
        if change != Change::Unchanged {
            write(conn, value)?;
        }
        counts.record(kind, change);
    }
    Ok(())
}

impl Store for SqliteStore {
    fn import(&self, set: &ImportSet) -> Result<ImportCounts, StoreError> {
        self.with(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let mut counts = ImportCounts::default();
            let c = &mut counts;
            upsert(
                &tx,
                Kind::Departments,
                &set.departments,
                |d| d.code.clone(),
                read_department,
                write_department,
                c,
            )?;
            upsert(
                &tx,
                Kind::Industries,
                &set.industries,
                |i| i.code.clone(),
                read_industry,
                write_industry,
                c,
            )?;
            upsert(
                &tx,
                Kind::Teams,
                &set.teams,
                |t| t.id.clone(),
                read_team,
                write_team,
                c,
            )?;
            upsert(
                &tx,
                Kind::Inspectors,
                &set.inspectors,
                |i| i.id.clone(),
                read_inspector,
                write_inspector,
                c,
            )?;
            upsert(
                &tx,
                Kind::Subjects,
                &set.subjects,
                |s| s.uscc.to_string(),
                read_subject,
                write_subject,
                c,
            )?;
            upsert(
                &tx,
                Kind::Items,
                &set.items,
                |i| i.id.clone(),
                read_item,
                write_item,
                c,
            )?;
            upsert(
                &tx,
                Kind::Handbooks,
                &set.handbooks,
                |h| h.industry.clone(),
                read_handbook,
                write_handbook,
                c,
            )?;
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
                "INSERT INTO devices (id, token_hash, actor, person, role, team, name, created_at) VALUES (?1, ?2, ?3, ?4, 'inspector', ?5, ?6, ?7)",
                params![device_id, token_hash, actor, person, team, name, now],
            )?;
            tx.commit()?;
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
        let role = match device.role {
            Role::Inspector => "inspector",
            Role::Supervisor => "supervisor",
            Role::Admin => "admin",
        };
        self.with(|conn| {
            conn.cached_exec(
                "INSERT INTO devices (id, token_hash, actor, person, role, team, name, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![device.id, token_hash, device.actor, device.person, role, device.team, name, now],
            )?;
            Ok(())
        })
    }

    fn device_by_token(&self, token_hash: &str) -> Result<Option<Device>, StoreError> {
        self.read(|conn| {
            let sql = format!("SELECT {DEVICE_COLUMNS} FROM devices WHERE token_hash = ?1");
            Ok(conn
                .cached_row(&sql, [token_hash], device_from_row)
                .optional()?)
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
            Ok(conn
                .cached_row("SELECT id, team, doc FROM tasks WHERE id = ?1", [id], |r| {
                    Ok(StoredTask {
                        id: r.get(0)?,
                        team: r.get(1)?,
                        doc: r.get(2)?,
                    })
                })
                .optional()?)
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
                write_task(&tx, w, true, device_id, now)?;
            }
            tx.commit()?;
            Ok(())
        })
    }

    fn latest_heads(&self, task_id: &str) -> Result<Option<Vec<ChangeHash>>, StoreError> {
        self.heads_at(task_id, u64::MAX)
    }

    fn feed_end(&self) -> Result<u64, StoreError> {
        self.read(|conn| {
            let end: i64 =
                conn.cached_row("SELECT coalesce(max(seq), 0) FROM feed", [], |r| r.get(0))?;
            Ok(end.unsigned_abs())
        })
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
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let rows = stmt.query_map(params![team, seq_param(cursor), limit], |r| {
                Ok(FeedTask {
                    id: r.get(0)?,
                    first: r.get::<_, i64>(1)?.unsigned_abs(),
                    last: r.get::<_, i64>(2)?.unsigned_abs(),
                })
            })?;
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
            let mut latest: Option<Vec<u8>> = None;
            // `None` once an entry lacks its changes.
            let mut changes: Option<Vec<u8>> = Some(Vec::new());
            {
                let mut stmt = tx.prepare_cached(
                    "SELECT f.heads, c.changes FROM feed f LEFT JOIN feed_changes c ON c.seq = f.seq
                     WHERE f.task_id = ?1 AND f.seq > ?2 ORDER BY f.seq",
                )?;
                let mut rows = stmt.query(params![task_id, seq_param(cursor)])?;
                while let Some(row) = rows.next()? {
                    latest = Some(row.get(0)?);
                    let added = row
                        .get_ref(1)?
                        .as_blob_or_null()
                        .map_err(|e| StoreError::Invalid(format!("feed changes: {e}")))?;
                    match (&mut changes, added) {
                        (Some(all), Some(added)) => all.extend_from_slice(added),
                        _ => changes = None,
                    }
                }
            }
            let base = base.map(|b| fieldloop_core::sync::heads_from_bytes(&b));
            let heads = match (latest, &base) {
                (Some(latest), _) => fieldloop_core::sync::heads_from_bytes(&latest),
                (None, Some(base)) => base.clone(),
                (None, None) => return Ok(None),
            };
            let delta = match (changes, base) {
                (Some(changes), Some(_)) => TaskDelta::Changes(changes),
                (_, base) => {
                    let doc: Option<Vec<u8>> = tx
                        .cached_row("SELECT doc FROM tasks WHERE id = ?1", [task_id], |r| {
                            r.get(0)
                        })
                        .optional()?;
                    let Some(doc) = doc else {
                        return Ok(None);
                    };
                    TaskDelta::Whole { doc, base }
                }
            };
            Ok(Some(TaskSince { heads, delta }))
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
            conn.cached_exec(
                "INSERT OR IGNORE INTO blob_owners (sha256, team, device_id, uploaded_at) VALUES (?1, ?2, ?3, ?4)",
                params![sha256, team, device_id, now],
            )?;
            Ok(())
        })
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
                let flag = serde_json::from_str(&json)
                    .map_err(|e| StoreError::Invalid(format!("stored flag: {e}")))?;
                Ok(StoredFlag {
                    flag,
                    device_id,
                    received_at,
                })
            })
            .collect()
        })
    }

    fn receipts(&self) -> Result<Vec<Receipt>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
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

    fn demo_task(n: usize) -> (TaskWrite, TaskCodes) {
        let data = fieldloop_core::demo::DemoData::embedded().expect("demo");
        let spec = data
            .task_specs(n + 1, 1_780_000_000_000)
            .expect("specs")
            .remove(n);
        let codes = TaskCodes {
            code: spec.code.clone(),
            verify_code: spec.verify_code.clone(),
        };
        let author = fieldloop_core::Author::new(
            fieldloop_core::ActorId::from(b"test".as_slice()),
            "S-1",
            Role::Supervisor,
        );
        let team = spec.team.clone();
        let mut doc = TaskDoc::create(spec, &author, 1).expect("task");
        let heads = doc.heads();
        let write = TaskWrite {
            id: doc.task().expect("task").id,
            team,
            doc: doc.save(),
            heads: heads.clone(),
            new_changes: heads,
            added: None,
            flags: Vec::new(),
        };
        (write, codes)
    }

    #[test]
    fn v2_indexes_the_codes_of_tasks_stored_before_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (old, old_codes) = demo_task(0);
        {
            let mut conn =
                Connection::open(dir.path().join("fieldloop-server.sqlite3")).expect("open");
            Migrations::new(vec![M::up(V1)])
                .to_latest(&mut conn)
                .expect("v1");
            conn.execute(
                "INSERT INTO tasks (id, team, doc) VALUES (?1, ?2, ?3)",
                params![old.id, old.team, old.doc],
            )
            .expect("v1 task");
        }
        let store = SqliteStore::open(dir.path()).expect("migrate to v2");
        assert_eq!(
            store.task_codes("JX-2026-").expect("codes"),
            [old_codes.code.as_str()]
        );
        assert!(store.task_codes("JX-2027-").expect("codes").is_empty());

        // Its code is taken now: another task with it is refused, whole.
        let (new, mut codes) = demo_task(1);
        codes.code = old_codes.code.clone();
        let err = store
            .insert_task(&new, &codes, "server", 5)
            .expect_err("taken");
        assert!(matches!(err, StoreError::TaskCodeTaken(ref c) if *c == old_codes.code));
        let (new, mut codes) = demo_task(1);
        codes.verify_code = old_codes.verify_code.clone();
        store
            .insert_task(&new, &codes, "server", 5)
            .expect_err("verify code taken");
        assert_eq!(store.task(&new.id).expect("read"), None);
        assert_eq!(store.feed_end().expect("feed"), 0);
        assert!(store.receipts().expect("receipts").is_empty());

        let (new, codes) = demo_task(1);
        store
            .insert_task(&new, &codes, "server", 5)
            .expect("insert");
        assert_eq!(store.task_codes("JX-").expect("codes").len(), 2);
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
            added: None,
            flags: Vec::new(),
        };
        let codes = TaskCodes {
            code: "JX-2026-000001".into(),
            verify_code: "V1".into(),
        };
        store
            .insert_task(&write("a", 1), &codes, "server", 10)
            .expect("insert");
        store
            .commit_sync(&[write("a", 3), write("b", 5)], "dev-1", 20)
            .expect("commit");
        let receipts = store.receipts().expect("receipts");
        assert_eq!(verify_receipts(&receipts), Ok(6));

        let mut altered = receipts.clone();
        altered[2].device_id = "dev-2".into();
        assert_eq!(
            verify_receipts(&altered),
            Err(crate::store::ChainError::Altered(3))
        );
        let mut removed = receipts.clone();
        removed.remove(1);
        assert_eq!(
            verify_receipts(&removed),
            Err(crate::store::ChainError::Broken(3))
        );
        assert_eq!(store.feed_end().expect("end"), 3);
        assert_eq!(
            store.changed_since("T", 1, 10).expect("feed"),
            vec![
                FeedTask {
                    id: "a".into(),
                    first: 2,
                    last: 2
                },
                FeedTask {
                    id: "b".into(),
                    first: 3,
                    last: 3
                }
            ]
        );
        assert_eq!(
            store.heads_at("a", 1).expect("heads"),
            Some(vec![ChangeHash([1; 32])])
        );
        assert_eq!(store.heads_at("b", 2).expect("heads"), None);
    }

    #[test]
    fn task_since_answers_from_the_changes_each_entry_added() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open(dir.path()).expect("open");
        let (first, codes) = demo_task(0);
        store
            .insert_task(&first, &codes, "server", 1)
            .expect("insert");
        let mut doc = automerge::AutoCommit::load(&first.doc).expect("load");
        // Two edits, each written with what it added.
        let commit = |doc: &mut automerge::AutoCommit, n: i64, added: bool| {
            let before = doc.get_heads();
            automerge::transaction::Transactable::put(doc, automerge::ROOT, "probe", n)
                .expect("put");
            doc.commit();
            let write = TaskWrite {
                id: first.id.clone(),
                team: first.team.clone(),
                doc: doc.save(),
                heads: doc.get_heads(),
                new_changes: doc.get_heads(),
                added: added.then(|| doc.save_after(&before)),
                flags: Vec::new(),
            };
            store
                .commit_sync(std::slice::from_ref(&write), "dev-1", 10 + n)
                .expect("commit");
        };
        commit(&mut doc, 1, true);
        let at_one = doc.get_heads();
        commit(&mut doc, 2, true);

        // Behind both edits: exactly their changes, as save_after gives them.
        let since = store.task_since(&first.id, 1).expect("read").expect("task");
        assert_eq!(since.heads, doc.get_heads());
        let TaskDelta::Changes(changes) = since.delta else {
            panic!("expected changes, got {:?}", since.delta);
        };
        assert_eq!(changes, doc.save_after(&first.heads));
        let since = store.task_since(&first.id, 2).expect("read").expect("task");
        assert_eq!(
            since.delta,
            TaskDelta::Changes(doc.save_after(&at_one)),
            "behind the second edit only"
        );
        // Not there yet at the cursor: the whole document.
        let since = store.task_since(&first.id, 0).expect("read").expect("task");
        assert_eq!(
            since.delta,
            TaskDelta::Whole {
                doc: doc.save(),
                base: None
            }
        );
        // An entry without its changes: the whole document, with the base heads.
        commit(&mut doc, 3, false);
        let since = store.task_since(&first.id, 2).expect("read").expect("task");
        assert_eq!(since.heads, doc.get_heads());
        assert_eq!(
            since.delta,
            TaskDelta::Whole {
                doc: doc.save(),
                base: Some(at_one)
            }
        );
        assert_eq!(store.task_since("no such task", 0).expect("read"), None);
        assert_eq!(
            verify_receipts(&store.receipts().expect("receipts")),
            Ok(1 + 3)
        );
    }
}
