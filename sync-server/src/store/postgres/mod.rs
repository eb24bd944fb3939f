//! [`Store`] on PostgreSQL, for several server instances behind a load
//! balancer: a pool of connections (r2d2), versioned SQL migrations
//! (refinery, `migrations/V*.sql`), and the same tables and columns as the
//! SQLite store's (see `migrations/V1__schema.sql` for how types map).
//!
//! Every commit that extends the feed or the receipt chain first takes the
//! row lock of `feed_state`: commits that write the feed are serialised
//! across all instances, so feed positions and receipt numbers are handed
//! out in commit order and a reader's snapshot always holds a prefix of the
//! feed (docs/design.md, "Commits on the server").

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use automerge::ChangeHash;
use fieldloop_core::{Department, Handbook, Industry, Inspector, Item, Role, Subject, Team, Uscc};
use postgres::IsolationLevel;

use super::codec::{
    EntriesSince, feed_task, limit_param, parsed, role_from, role_name, seq_param, upsert,
};
use super::{
    BeginUpload, CatalogCounts, CatalogRows, ConsoleAccount, ConsoleSessionRow, ConsoleUser,
    Device, DirectoryRows, FeedTask, Receipt, Store, StoreError, StoredFlag, StoredTask,
    StoredUpload, SyncCommit, TaskBase, TaskCodes, TaskSince, TaskWrite, TokenUse,
};
use crate::console::{ConsoleTaskRow, Dashboard, TaskFilter, TaskPage, TaskSort};

mod audit;
mod catalog;
mod claims;
pub mod cluster;
mod conn;
mod console;
mod index;
mod leads;
mod plans;
mod rectify;
mod uploads;

refinery::embed_migrations!("src/store/postgres/migrations");

/// How long a request waits for a pooled connection when all are lent out.
const POOL_WAIT: Duration = Duration::from_secs(30);

/// Connections per instance (named default; `serve --database-pool`).
pub const DEFAULT_POOL_SIZE: u32 = 16;

/// How long one statement may run before PostgreSQL cancels it (named
/// default): a stuck query ends as an error rather than holding a
/// connection and its locks for good.
pub const STATEMENT_TIMEOUT: Duration = Duration::from_secs(30);

type Pool = r2d2::Pool<conn::Manager>;

use conn::{Db, Sql};

/// The store on a PostgreSQL database.
pub struct PgStore {
    /// `None` only while the store is being dropped ([`Drop`]).
    pool: Option<Pool>,
    claim_key: Arc<crate::claims::ClaimKey>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field(
                "connections",
                &self.pool.as_ref().map(|p| p.state().connections),
            )
            .finish_non_exhaustive()
    }
}

impl PgStore {
    /// Connects to `url` (`postgres://user@host:port/db`), with at most
    /// `pool_size` connections, and brings the schema up to date. The claim
    /// key of 亮码检查 is given: every instance must sign with the same one.
    pub fn open(
        url: &str,
        pool_size: u32,
        claim_key: crate::claims::ClaimKey,
    ) -> Result<Self, StoreError> {
        let mut config: postgres::Config = url
            .parse()
            .map_err(|e: postgres::Error| StoreError::Invalid(format!("database URL: {e}")))?;
        config.options(&format!(
            "-c statement_timeout={}",
            STATEMENT_TIMEOUT.as_millis()
        ));
        let manager = conn::Manager::new(config);
        let pool = r2d2::Pool::builder()
            .max_size(pool_size.max(1))
            .min_idle(Some(1))
            .connection_timeout(POOL_WAIT)
            .build(manager)?;
        let store = Self {
            pool: Some(pool),
            claim_key: Arc::new(claim_key),
        };
        store.migrate()?;
        Ok(store)
    }

    /// Applies the migrations not yet applied (`fieldloop-server migrate`).
    /// Two instances starting at once: refinery takes no lock, so the
    /// migration runs under an advisory lock of its own.
    pub fn migrate(&self) -> Result<(), StoreError> {
        let mut conn = self.connection()?;
        let (client, _) = conn.parts();
        client.execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])?;
        let result = migrations::runner().run(client);
        client.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])?;
        result?;
        Ok(())
    }

    /// A connection from the pool, waiting at most [`POOL_WAIT`].
    fn connection(&self) -> Result<r2d2::PooledConnection<conn::Manager>, StoreError> {
        let pool = self
            .pool
            .as_ref()
            .ok_or_else(|| StoreError::Invalid("the store is closed".into()))?;
        Ok(pool.get()?)
    }

    /// Runs `f` on a pooled connection, outside any transaction.
    fn with<T>(
        &self,
        f: impl FnOnce(&mut conn::Plain<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = self.connection()?;
        let (client, statements) = conn.parts();
        f(&mut Db::new(client, statements))
    }

    /// Runs `f` in a transaction (read committed), committed when `f`
    /// returns `Ok` and rolled back otherwise.
    fn tx<T>(
        &self,
        f: impl FnOnce(&mut Db<'_, postgres::Transaction<'_>>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = self.connection()?;
        let (client, statements) = conn.parts();
        let mut plain = Db::new(client, statements);
        let mut tx = plain.transaction()?;
        let value = f(&mut tx)?;
        tx.commit()?;
        Ok(value)
    }

    /// Runs `f` in a read-only snapshot (repeatable read): every statement
    /// sees the same committed state.
    fn snapshot<T>(
        &self,
        f: impl FnOnce(&mut Db<'_, postgres::Transaction<'_>>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = self.connection()?;
        let (client, statements) = conn.parts();
        let tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()?;
        let mut tx = Db::new(tx, statements);
        let value = f(&mut tx)?;
        tx.commit()?;
        Ok(value)
    }
}

impl From<conn::ExactlyOne> for StoreError {
    fn from(e: conn::ExactlyOne) -> Self {
        match e {
            conn::ExactlyOne::Database(e) => StoreError::Postgres(e),
            conn::ExactlyOne::Rows(n) => {
                StoreError::Invalid(format!("a query for one row returned {n}"))
            }
        }
    }
}

/// The feed's and the receipt chain's ends, read under `feed_state`'s row
/// lock: the transaction that holds it is the only one extending either
/// until it commits or rolls back.
struct FeedLock {
    feed_end: i64,
    receipts_end: i64,
    /// The last receipt's hash (the chain's head).
    head: String,
}

impl FeedLock {
    /// Takes the lock (waiting for the transaction that holds it).
    fn take(tx: &mut impl Sql) -> Result<Self, StoreError> {
        let row = tx.query_one(
            "SELECT feed_end, receipts_end FROM feed_state FOR UPDATE",
            &[],
        )?;
        let receipts_end: i64 = row.try_get(1)?;
        let head =
            match tx.query_opt("SELECT hash FROM receipts WHERE seq = $1", &[&receipts_end])? {
                Some(row) => row.try_get(0)?,
                None => "0".repeat(64),
            };
        Ok(Self {
            feed_end: row.try_get(0)?,
            receipts_end,
            head,
        })
    }

    /// Writes the new ends; the lock goes with the transaction.
    fn release(self, tx: &mut impl Sql) -> Result<u64, StoreError> {
        tx.execute(
            "UPDATE feed_state SET feed_end = $1, receipts_end = $2",
            &[&self.feed_end, &self.receipts_end],
        )?;
        Ok(self.feed_end.unsigned_abs())
    }
}

/// A device, and whether its person is active (people other than
/// inspectors are not in the directory and count as active).
const DEVICE_COLUMNS: &str = "id, actor, person, role, team, revoked_at,
    coalesce((SELECT active FROM inspectors WHERE inspectors.id = devices.person), 1)";

fn device_from_row(r: &postgres::Row) -> Result<Device, StoreError> {
    let role: String = r.try_get(3)?;
    let revoked: Option<i64> = r.try_get(5)?;
    let active: i64 = r.try_get(6)?;
    Ok(Device {
        id: r.try_get(0)?,
        actor: r.try_get(1)?,
        person: r.try_get(2)?,
        role: role_from(&role)?,
        team: r.try_get(4)?,
        revoked: revoked.is_some(),
        active: active != 0,
    })
}

/// Whether every task in `bases` still has its base heads, the feed's end
/// and the directory's version, read in one statement (so from one
/// snapshot).
fn bases_hold(
    c: &mut impl Sql,
    bases: &[TaskBase<'_>],
) -> Result<(bool, i64, Option<u64>), StoreError> {
    let ids: Vec<&str> = bases.iter().map(|b| b.id).collect();
    let mut latest: HashMap<String, Vec<u8>> = HashMap::with_capacity(ids.len());
    let mut end = None;
    let mut directory = None;
    for row in c.query(
        "SELECT NULL::TEXT, NULL::BYTEA, feed_end,
                (SELECT version FROM directory_version WHERE id = 1) FROM feed_state
         UNION ALL
         SELECT t.id, f.heads, NULL, NULL FROM unnest($1::TEXT[]) AS t(id)
         CROSS JOIN LATERAL (SELECT heads FROM feed WHERE task_id = t.id
                             ORDER BY seq DESC LIMIT 1) f",
        &[&ids],
    )? {
        match row.try_get::<_, Option<String>>(0)? {
            Some(id) => {
                latest.insert(id, row.try_get(1)?);
            }
            None => {
                end = row.try_get(2)?;
                directory = row.try_get::<_, Option<i64>>(3)?;
            }
        }
    }
    let end = end.ok_or_else(|| StoreError::Invalid("feed_state has no row".into()))?;
    let hold = bases.iter().all(|base| {
        let heads = latest
            .get(base.id)
            .map(|b| fieldloop_core::sync::heads_from_bytes(b))
            .unwrap_or_default();
        super::same_heads(&heads, base.heads)
    });
    Ok((hold, end, directory.map(i64::unsigned_abs)))
}

/// Appends receipts for `changes` to the hash chain, under the feed lock.
fn append_receipts(
    tx: &mut impl Sql,
    lock: &mut FeedLock,
    task_id: &str,
    changes: &[ChangeHash],
    device_id: &str,
    now: i64,
) -> Result<(), StoreError> {
    for change in changes {
        lock.receipts_end += 1;
        let mut receipt = Receipt {
            seq: lock.receipts_end,
            change_hash: change.to_string(),
            task_id: task_id.to_owned(),
            device_id: device_id.to_owned(),
            received_at: now,
            prev: std::mem::take(&mut lock.head),
            hash: String::new(),
        };
        receipt.hash = receipt.expected_hash();
        tx.execute(
            "INSERT INTO receipts (seq, change_hash, task_id, device_id, received_at, prev, hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &receipt.seq,
                &receipt.change_hash,
                &receipt.task_id,
                &receipt.device_id,
                &receipt.received_at,
                &receipt.prev,
                &receipt.hash,
            ],
        )?;
        lock.head = receipt.hash;
    }
    Ok(())
}

/// For a task `t` in the `FROM` list: its feed entries' changes after its
/// snapshot, concatenated in order, as `after.bytes` (NULL if an entry
/// lacks them), and how many entries those are, as `after.chunks`. The
/// task's whole document is `t.doc || after.bytes`.
pub const AFTER_SNAPSHOT: &str = "LATERAL (
    SELECT CASE WHEN count(*) = count(fc.changes)
                THEN coalesce(string_agg(fc.changes, ''::BYTEA ORDER BY f.seq), ''::BYTEA) END AS bytes,
           count(*) AS chunks
    FROM feed f LEFT JOIN feed_changes fc ON fc.seq = f.seq
    WHERE f.task_id = t.id AND f.seq > t.snapshot_seq
) after";

/// The error for a task whose stored document cannot be put together.
fn incomplete(id: &str) -> StoreError {
    StoreError::Invalid(format!(
        "task {id}: a feed entry after the task's snapshot has no changes kept"
    ))
}

/// `AFTER_SNAPSHOT`'s count of the runs of changes after a task's snapshot.
fn chunk_count(id: &str, chunks: i64) -> Result<u32, StoreError> {
    u32::try_from(chunks).map_err(|_| StoreError::Invalid(format!("task {id}: {chunks} chunks")))
}

/// Writes a task, its feed entry (with the changes it added when
/// `keep_added` and known) and its receipts, under the feed lock. An
/// appending write keeps only its changes; any other stores its document
/// as the task's new snapshot.
fn write_task(
    tx: &mut impl Sql,
    lock: &mut FeedLock,
    w: &TaskWrite,
    keep_added: bool,
    device_id: &str,
    now: i64,
) -> Result<(), StoreError> {
    let added = w.kept_changes(keep_added)?;
    let seq = lock.feed_end + 1;
    if !w.append {
        tx.execute(
            "INSERT INTO tasks (id, team, doc, snapshot_seq) VALUES ($1, $2, $3, $4)
             ON CONFLICT (id) DO UPDATE SET doc = excluded.doc, snapshot_seq = excluded.snapshot_seq",
            &[&w.id, &w.team, &w.doc, &seq],
        )?;
    }
    // The task must exist for an appending write: the feed's reference to
    // it is checked here.
    tx.execute(
        "INSERT INTO feed (seq, task_id, team, heads) VALUES ($1, $2, $3, $4)",
        &[
            &seq,
            &w.id,
            &w.team,
            &fieldloop_core::sync::heads_to_bytes(&w.heads),
        ],
    )?;
    lock.feed_end = seq;
    if let Some(added) = added {
        tx.execute(
            "INSERT INTO feed_changes (seq, changes) VALUES ($1, $2)",
            &[&seq, &added],
        )?;
    }
    for flag in &w.flags {
        let json =
            serde_json::to_string(flag).map_err(|e| StoreError::Invalid(format!("flag: {e}")))?;
        tx.execute(
            "INSERT INTO change_flags (task_id, flag, device_id, received_at) VALUES ($1, $2, $3, $4)",
            &[&w.id, &json, &device_id, &now],
        )?;
    }
    if let Some(index) = &w.index {
        index::write_index(tx, index, now)?;
        // A lead transfer recorded in the task becomes a lead, in the same transaction.
        leads::record_transfers(tx, index, now)?;
    }
    append_receipts(tx, lock, &w.id, &w.new_changes, device_id, now)
}

impl Store for PgStore {
    fn write_catalog(&self, rows: &CatalogRows<'_>) -> Result<CatalogCounts, StoreError> {
        use catalog::*;
        self.tx(|tx| {
            Ok(CatalogCounts {
                departments: upsert(
                    tx,
                    &rows.departments,
                    |d| d.code.clone(),
                    read_department,
                    write_department,
                )?,
                industries: upsert(
                    tx,
                    &rows.industries,
                    |i| i.code.clone(),
                    read_industry,
                    write_industry,
                )?,
                teams: upsert(tx, &rows.teams, |t| t.id.clone(), read_team, write_team)?,
                inspectors: upsert(
                    tx,
                    &rows.inspectors,
                    |i| i.id.clone(),
                    read_inspector,
                    write_inspector,
                )?,
                subjects: upsert(
                    tx,
                    &rows.subjects,
                    |s| s.uscc.to_string(),
                    read_subject,
                    write_subject,
                )?,
                items: upsert(tx, &rows.items, |i| i.id.clone(), read_item, write_item)?,
                handbooks: upsert(
                    tx,
                    &rows.handbooks,
                    |h| h.industry.clone(),
                    read_handbook,
                    write_handbook,
                )?,
            })
        })
    }

    fn department(&self, code: &str) -> Result<Option<Department>, StoreError> {
        self.with(|c| catalog::read_department(c, code))
    }

    fn industry(&self, code: &str) -> Result<Option<Industry>, StoreError> {
        self.with(|c| catalog::read_industry(c, code))
    }

    fn team(&self, id: &str) -> Result<Option<Team>, StoreError> {
        self.with(|c| catalog::read_team(c, id))
    }

    fn inspector(&self, id: &str) -> Result<Option<Inspector>, StoreError> {
        self.with(|c| catalog::read_inspector(c, id))
    }

    fn subject(&self, uscc: &Uscc) -> Result<Option<Subject>, StoreError> {
        self.with(|c| catalog::read_subject(c, uscc.as_str()))
    }

    fn item(&self, id: &str) -> Result<Option<Item>, StoreError> {
        self.with(|c| catalog::read_item(c, id))
    }

    fn handbook(&self, industry: &str) -> Result<Option<Handbook>, StoreError> {
        self.with(|c| catalog::read_handbook(c, industry))
    }

    fn inspector_team(&self, inspector: &str) -> Result<Option<String>, StoreError> {
        self.with(|c| {
            c.query_opt("SELECT team FROM inspectors WHERE id = $1", &[&inspector])?
                .map(|r| r.try_get(0))
                .transpose()
                .map_err(StoreError::from)
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
        self.with(|c| {
            c.execute(
                "INSERT INTO enrollments (code_hash, inspector, expires_at) VALUES ($1, $2, $3)",
                &[&code_hash, &inspector, &expires_at],
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
        self.tx(|tx| {
            // Conditional: of two instances redeeming one code at once, the
            // second finds it used once the first commits.
            let used = tx.execute(
                "UPDATE enrollments SET used_at = $2
                 WHERE code_hash = $1 AND used_at IS NULL AND expires_at > $2",
                &[&code_hash, &now],
            )?;
            if used != 1 {
                return Err(StoreError::BadEnrollmentCode);
            }
            let row = tx.query_one(
                "SELECT i.id, i.team FROM enrollments e JOIN inspectors i ON i.id = e.inspector
                 WHERE e.code_hash = $1",
                &[&code_hash],
            )?;
            let (person, team): (String, String) = (row.try_get(0)?, row.try_get(1)?);
            tx.execute(
                "INSERT INTO devices (id, token_hash, actor, person, role, team, name, created_at, token_issued_at)
                 VALUES ($1, $2, $3, $4, 'inspector', $5, $6, $7, $7)",
                &[&device_id, &token_hash, &actor, &person, &team, &name, &now],
            )?;
            fieldloop_core::faults::point("server.enroll.before_commit");
            Ok(Device {
                id: device_id.to_owned(),
                actor: actor.to_owned(),
                person,
                role: Role::Inspector,
                team,
                revoked: false,
                active: true,
            })
        })
        .inspect(|_| fieldloop_core::faults::point("server.enroll.after_commit"))
    }

    fn add_device(
        &self,
        device: &Device,
        token_hash: &str,
        name: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        self.with(|c| {
            c.execute(
                "INSERT INTO devices (id, token_hash, actor, person, role, team, name, created_at, token_issued_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
                &[
                    &device.id,
                    &token_hash,
                    &device.actor,
                    &device.person,
                    &role_name(device.role),
                    &device.team,
                    &name,
                    &now,
                ],
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
        self.with(|c| console::add_user(c, user, password_hash, now))
    }

    fn console_account(&self, id: &str) -> Result<Option<ConsoleAccount>, StoreError> {
        self.with(|c| console::account(c, id))
    }

    fn record_login_failure(
        &self,
        id: &str,
        now: i64,
        max: u32,
        lock_ms: i64,
    ) -> Result<Option<i64>, StoreError> {
        self.with(|c| console::record_failure(c, id, now, max, lock_ms))
    }

    fn clear_login_failures(&self, id: &str) -> Result<(), StoreError> {
        self.with(|c| console::clear_failures(c, id))
    }

    fn create_console_session(
        &self,
        token_hash: &str,
        user: &str,
        csrf: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        self.with(|c| console::create_session(c, token_hash, user, csrf, now, expires_at))
    }

    fn console_session(&self, token_hash: &str) -> Result<Option<ConsoleSessionRow>, StoreError> {
        self.with(|c| console::session(c, token_hash))
    }

    fn end_console_session(&self, token_hash: &str, now: i64) -> Result<(), StoreError> {
        self.with(|c| console::end_session(c, token_hash, now))
    }

    fn device_by_token(&self, token_hash: &str) -> Result<Option<(Device, TokenUse)>, StoreError> {
        self.with(|c| {
            // Two lookups, each on its own unique index.
            let sql = format!(
                "SELECT {DEVICE_COLUMNS}, coalesce(token_issued_at, created_at), NULL::BIGINT FROM devices WHERE token_hash = $1
                 UNION ALL
                 SELECT {DEVICE_COLUMNS}, coalesce(token_issued_at, created_at), prev_token_until FROM devices WHERE prev_token_hash = $1
                 LIMIT 1"
            );
            c.query_opt(&sql, &[&token_hash])?
                .map(|r| {
                    Ok((
                        device_from_row(&r)?,
                        TokenUse {
                            issued_at: r.try_get(7)?,
                            previous_until: r.try_get(8)?,
                        },
                    ))
                })
                .transpose()
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
        self.with(|c| {
            // One statement: its own transaction; a concurrent rotation
            // waits for the row and then finds the presented token gone.
            fieldloop_core::faults::point("server.token.before_commit");
            let changed = c.execute(
                "UPDATE devices SET
                    prev_token_until = CASE WHEN token_hash = $2 THEN $5 ELSE prev_token_until END,
                    prev_token_hash = CASE WHEN token_hash = $2 THEN token_hash ELSE prev_token_hash END,
                    token_hash = $3,
                    token_issued_at = $4
                 WHERE id = $1 AND (token_hash = $2 OR prev_token_hash = $2)",
                &[&device_id, &presented_hash, &new_hash, &now, &grace_until],
            )?;
            // The new token is stored; the answer carrying it is not sent yet.
            fieldloop_core::faults::point("server.token.after_commit");
            Ok(changed == 1)
        })
    }

    fn set_inspector_active(&self, inspector: &str, active: bool) -> Result<(), StoreError> {
        self.with(|c| {
            let changed = c.execute(
                "UPDATE inspectors SET active = $2 WHERE id = $1",
                &[&inspector, &i64::from(active)],
            )?;
            if changed == 0 {
                return Err(StoreError::UnknownInspector(inspector.to_owned()));
            }
            Ok(())
        })
    }

    fn revoke_device(&self, device_id: &str, now: i64) -> Result<(), StoreError> {
        self.with(|c| {
            let n = c.execute(
                "UPDATE devices SET revoked_at = coalesce(revoked_at, $2) WHERE id = $1",
                &[&device_id, &now],
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
        self.tx(|tx| {
            // The feed lock first: it also serialises the codes' check.
            let mut lock = FeedLock::take(tx)?;
            let taken = tx.query_opt(
                "SELECT code, verify_code FROM task_codes
                 WHERE (code = $1 OR verify_code = $2) AND task_id <> $3",
                &[&codes.code, &codes.verify_code, &write.id],
            )?;
            if let Some(row) = taken {
                let code: String = row.try_get(0)?;
                if code == codes.code {
                    return Err(StoreError::TaskCodeTaken(code));
                }
                return Err(StoreError::Invalid(
                    "another task has the same verify code".into(),
                ));
            }
            write_task(tx, &mut lock, write, false, device_id, now)?;
            tx.execute(
                "INSERT INTO task_codes (task_id, code, verify_code) VALUES ($1, $2, $3)
                 ON CONFLICT (task_id) DO UPDATE SET code = excluded.code, verify_code = excluded.verify_code",
                &[&write.id, &codes.code, &codes.verify_code],
            )?;
            lock.release(tx)?;
            Ok(())
        })
    }

    fn task(&self, id: &str) -> Result<Option<StoredTask>, StoreError> {
        self.with(|c| {
            let sql = format!(
                "SELECT t.id, t.team, t.doc || after.bytes, after.chunks FROM tasks t, {AFTER_SNAPSHOT}
                 WHERE t.id = $1"
            );
            c.query_opt(&sql, &[&id])?
                .map(|r| {
                    let id: String = r.try_get(0)?;
                    let doc: Option<Vec<u8>> = r.try_get(2)?;
                    Ok(StoredTask {
                        doc: doc.ok_or_else(|| incomplete(&id))?,
                        chunks: chunk_count(&id, r.try_get(3)?)?,
                        team: r.try_get(1)?,
                        id,
                    })
                })
                .transpose()
        })
    }

    fn task_codes(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        self.with(|c| {
            c.query(
                "SELECT code FROM task_codes WHERE starts_with(code, $1) ORDER BY code COLLATE \"C\"",
                &[&prefix],
            )?
            .iter()
            .map(|r| r.try_get(0).map_err(StoreError::from))
            .collect()
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
            // Nothing to write: one statement (so one snapshot) checks the
            // bases and reads the feed's end.
            return self.with(|c| {
                let (hold, feed_end, directory_version) = bases_hold(c, bases)?;
                if !hold {
                    return Ok(SyncCommit::Moved);
                }
                Ok(SyncCommit::Done {
                    feed_end: feed_end.unsigned_abs(),
                    directory_version,
                })
            });
        }
        let done = self.tx(|tx| {
            // The lock before the bases are read: whoever held it has
            // committed, and nobody commits to the feed until this does.
            let mut lock = FeedLock::take(tx)?;
            let (hold, _, directory_version) = bases_hold(tx, bases)?;
            if !hold {
                return Ok(SyncCommit::Moved);
            }
            for w in writes {
                write_task(tx, &mut lock, w, true, device_id, now)?;
            }
            let feed_end = lock.release(tx)?;
            fieldloop_core::faults::point("server.sync.before_commit");
            Ok(SyncCommit::Done {
                feed_end,
                directory_version,
            })
        })?;
        if matches!(done, SyncCommit::Done { .. }) {
            // Durable; the answer that acknowledges it is not sent yet.
            fieldloop_core::faults::point("server.sync.after_commit");
        }
        Ok(done)
    }

    fn latest_heads(&self, task_id: &str) -> Result<Option<Vec<ChangeHash>>, StoreError> {
        self.heads_at(task_id, u64::MAX)
    }

    fn feed_end(&self) -> Result<u64, StoreError> {
        self.with(|c| {
            let end: i64 = c
                .query_one("SELECT feed_end FROM feed_state", &[])?
                .try_get(0)?;
            Ok(end.unsigned_abs())
        })
    }

    fn changed_since(
        &self,
        team: &str,
        cursor: u64,
        limit: usize,
    ) -> Result<Vec<FeedTask>, StoreError> {
        self.with(|c| {
            c.query(
                "SELECT task_id, min(seq) AS first, max(seq) FROM feed WHERE team = $1 AND seq > $2
                 GROUP BY task_id ORDER BY first LIMIT $3",
                &[&team, &seq_param(cursor), &limit_param(limit)],
            )?
            .iter()
            .map(feed_task_row)
            .collect()
        })
    }

    fn unsent_since(
        &self,
        team: &str,
        cursor: u64,
        done: u64,
        limit: usize,
    ) -> Result<Vec<FeedTask>, StoreError> {
        self.with(|c| {
            c.query(
                "SELECT task_id, min(seq), max(seq) AS last FROM feed WHERE team = $1 AND seq > $2
                 GROUP BY task_id HAVING max(seq) > $3 ORDER BY last LIMIT $4",
                &[
                    &team,
                    &seq_param(cursor),
                    &seq_param(done),
                    &limit_param(limit),
                ],
            )?
            .iter()
            .map(feed_task_row)
            .collect()
        })
    }

    fn heads_at(&self, task_id: &str, cursor: u64) -> Result<Option<Vec<ChangeHash>>, StoreError> {
        self.with(|c| heads_at(c, task_id, cursor))
    }

    fn task_since(&self, task_id: &str, cursor: u64) -> Result<Option<TaskSince>, StoreError> {
        // One statement, so one snapshot: the heads at the cursor (part 0),
        // the entries after it (1) and, only when they cannot answer, the
        // document (2) agree, in one round trip.
        self.with(|c| {
            let mut base = None;
            let mut entries = EntriesSince::new();
            let mut doc = None;
            for row in c.query(
                &format!(
                    "WITH base AS (
                     SELECT heads FROM feed WHERE task_id = $1 AND seq <= $2
                     ORDER BY seq DESC LIMIT 1
                 ), entries AS (
                     SELECT f.seq, f.heads, c.changes FROM feed f
                     LEFT JOIN feed_changes c ON c.seq = f.seq
                     WHERE f.task_id = $1 AND f.seq > $2
                 )
                 SELECT 0 AS part, NULL::BIGINT AS seq, heads, NULL::BYTEA AS bytes,
                        NULL::BIGINT AS chunks FROM base
                 UNION ALL
                 SELECT 1, seq, heads, changes, NULL FROM entries
                 UNION ALL
                 SELECT 2, NULL, NULL, t.doc || after.bytes, after.chunks
                 FROM tasks t, {AFTER_SNAPSHOT}
                 WHERE t.id = $1 AND (NOT EXISTS (SELECT 1 FROM base)
                                      OR EXISTS (SELECT 1 FROM entries WHERE changes IS NULL))
                 ORDER BY part, seq"
                ),
                &[&task_id, &seq_param(cursor)],
            )? {
                let part: i32 = row.try_get(0)?;
                match part {
                    0 => {
                        let heads: Vec<u8> = row.try_get(2)?;
                        base = Some(fieldloop_core::sync::heads_from_bytes(&heads));
                    }
                    1 => {
                        let changes: Option<Vec<u8>> = row.try_get(3)?;
                        entries.push(row.try_get(2)?, changes.as_deref());
                    }
                    _ => {
                        let whole: Option<Vec<u8>> = row.try_get(3)?;
                        let whole = whole.ok_or_else(|| incomplete(task_id))?;
                        doc = Some((whole, chunk_count(task_id, row.try_get(4)?)?));
                    }
                }
            }
            entries.since(base, || Ok(doc))
        })
    }

    fn tasks_since(
        &self,
        task_ids: &[String],
        cursor: u64,
    ) -> Result<Vec<Option<TaskSince>>, StoreError> {
        if task_ids.len() <= 1 {
            return task_ids
                .iter()
                .map(|id| self.task_since(id, cursor))
                .collect();
        }
        // `task_since`'s statement for every task of the list at once: one
        // snapshot, one round trip. `n` numbers the tasks as listed.
        self.with(|c| {
            // Per task: its heads at the cursor, its entries, its document.
            type Parts = (
                Option<Vec<ChangeHash>>,
                EntriesSince,
                Option<(Vec<u8>, u32)>,
            );
            let mut parts: Vec<Parts> = task_ids
                .iter()
                .map(|_| (None, EntriesSince::new(), None))
                .collect();
            for row in c.query(
                &format!(
                    "WITH ids AS (
                     SELECT id, n FROM unnest($1::TEXT[]) WITH ORDINALITY AS t(id, n)
                 ), base AS (
                     SELECT ids.n, b.heads FROM ids, LATERAL (
                         SELECT heads FROM feed WHERE task_id = ids.id AND seq <= $2
                         ORDER BY seq DESC LIMIT 1
                     ) b
                 ), entries AS (
                     SELECT ids.n, f.seq, f.heads, c.changes FROM ids
                     JOIN feed f ON f.task_id = ids.id AND f.seq > $2
                     LEFT JOIN feed_changes c ON c.seq = f.seq
                 )
                 SELECT 0 AS part, n, NULL::BIGINT AS seq, heads, NULL::BYTEA AS bytes,
                        NULL::BIGINT AS chunks FROM base
                 UNION ALL
                 SELECT 1, n, seq, heads, changes, NULL FROM entries
                 UNION ALL
                 SELECT 2, ids.n, NULL, NULL, t.doc || after.bytes, after.chunks
                 FROM ids JOIN tasks t ON t.id = ids.id, {AFTER_SNAPSHOT}
                 WHERE NOT EXISTS (SELECT 1 FROM base WHERE base.n = ids.n)
                    OR EXISTS (SELECT 1 FROM entries e WHERE e.n = ids.n AND e.changes IS NULL)
                 ORDER BY part, n, seq"
                ),
                &[&task_ids, &seq_param(cursor)],
            )? {
                let part: i32 = row.try_get(0)?;
                let n: i64 = row.try_get(1)?;
                let Some(i) = usize::try_from(n - 1).ok().filter(|&i| i < parts.len()) else {
                    return Err(StoreError::Invalid(format!("task number {n} of a batch")));
                };
                let slot = &mut parts[i];
                match part {
                    0 => {
                        let heads: Vec<u8> = row.try_get(3)?;
                        slot.0 = Some(fieldloop_core::sync::heads_from_bytes(&heads));
                    }
                    1 => {
                        let changes: Option<Vec<u8>> = row.try_get(4)?;
                        slot.1.push(row.try_get(3)?, changes.as_deref());
                    }
                    _ => {
                        let whole: Option<Vec<u8>> = row.try_get(4)?;
                        let whole = whole.ok_or_else(|| incomplete(&task_ids[i]))?;
                        slot.2 = Some((whole, chunk_count(&task_ids[i], row.try_get(5)?)?));
                    }
                }
            }
            parts
                .into_iter()
                .map(|(base, entries, doc)| entries.since(base, || Ok(doc)))
                .collect()
        })
    }

    fn blob_visible(&self, team: &str, sha256: &str) -> Result<bool, StoreError> {
        self.with(|c| {
            Ok(c.query_opt(
                "SELECT 1 FROM blob_owners WHERE sha256 = $1 AND team = $2 LIMIT 1",
                &[&sha256, &team],
            )?
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
        self.with(|c| {
            fieldloop_core::faults::point("server.upload.owner_before_commit");
            c.execute(
                "INSERT INTO blob_owners (sha256, team, device_id, uploaded_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT DO NOTHING",
                &[&sha256, &team, &device_id, &now],
            )?;
            fieldloop_core::faults::point("server.upload.owner_after_commit");
            Ok(())
        })
    }

    fn upload(&self, device_id: &str, sha256: &str) -> Result<Option<StoredUpload>, StoreError> {
        self.with(|c| uploads::upload(c, device_id, sha256))
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
        self.with(|c| uploads::stale_uploads(c, before, limit))
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
        self.with(|c| {
            c.query(
                "SELECT flag, device_id, received_at FROM change_flags WHERE task_id = $1 ORDER BY seq",
                &[&task_id],
            )?
            .iter()
            .map(|r| {
                let json: String = r.try_get(0)?;
                let flag = parsed("stored flag", &json)?;
                Ok(StoredFlag {
                    flag,
                    device_id: r.try_get(1)?,
                    received_at: r.try_get(2)?,
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
        self.with(|c| index::list(c, filter, sort, page, per_page, now))
    }

    fn export_tasks(
        &self,
        filter: &TaskFilter,
        sort: TaskSort,
        limit: usize,
        now: i64,
        each: &mut dyn FnMut(ConsoleTaskRow) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        self.with(|c| index::export(c, filter, sort, limit, now, each))
    }

    fn refresh_statistics(&self) -> Result<(), StoreError> {
        // autovacuum keeps statistics too; this is the hourly nudge the
        // trait asks for, on the tables the console's list reads.
        self.with(|c| Ok(c.batch_execute("ANALYZE task_index; ANALYZE feed;")?))
    }

    fn dashboard(
        &self,
        scope: Option<&crate::console::Scope>,
        now: i64,
        year: i32,
        (start, end): (i64, i64),
    ) -> Result<Dashboard, StoreError> {
        self.with(|c| index::dashboard(c, scope, now, year, start, end))
    }

    fn receipt_times(&self, task_id: &str) -> Result<HashMap<String, (String, i64)>, StoreError> {
        self.with(|c| {
            c.query(
                "SELECT change_hash, device_id, received_at FROM receipts WHERE task_id = $1",
                &[&task_id],
            )?
            .iter()
            .map(|r| Ok((r.try_get(0)?, (r.try_get(1)?, r.try_get(2)?))))
            .collect()
        })
    }

    fn directory_version(&self) -> Result<u64, StoreError> {
        self.with(|c| {
            let version: i64 = c
                .query_one("SELECT version FROM directory_version WHERE id = 1", &[])?
                .try_get(0)?;
            Ok(u64::try_from(version).unwrap_or(0))
        })
    }

    fn directory(&self) -> Result<DirectoryRows, StoreError> {
        fn ids(tx: &mut impl Sql, sql: &str) -> Result<Vec<String>, StoreError> {
            tx.query(sql, &[])?
                .iter()
                .map(|r| r.try_get(0).map_err(StoreError::from))
                .collect()
        }
        self.snapshot(|tx| {
            let mut rows = DirectoryRows::default();
            for code in ids(
                tx,
                "SELECT code FROM departments ORDER BY code COLLATE \"C\"",
            )? {
                rows.departments
                    .extend(catalog::read_department(tx, &code)?);
            }
            for id in ids(tx, "SELECT id FROM teams ORDER BY id COLLATE \"C\"")? {
                rows.teams.extend(catalog::read_team(tx, &id)?);
            }
            for id in ids(tx, "SELECT id FROM inspectors ORDER BY id COLLATE \"C\"")? {
                let active: i64 = tx
                    .query_one("SELECT active FROM inspectors WHERE id = $1", &[&id])?
                    .try_get(0)?;
                if let Some(inspector) = catalog::read_inspector(tx, &id)? {
                    rows.inspectors.push((inspector, active != 0));
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
                "strpos(code, $1) > 0 OR strpos(name, $1) > 0 OR strpos(lower(name_en), lower($1)) > 0",
            ),
            Kind::Industries => (
                "industries",
                "code",
                "strpos(code, $1) > 0 OR strpos(name, $1) > 0 OR strpos(lower(name_en), lower($1)) > 0",
            ),
            Kind::Teams => ("teams", "id", "strpos(id, $1) > 0 OR strpos(name, $1) > 0"),
            Kind::Inspectors => (
                "inspectors",
                "id",
                "strpos(id, $1) > 0 OR strpos(name, $1) > 0 OR strpos(badge_no, $1) > 0",
            ),
            Kind::Subjects => (
                "subjects",
                "uscc",
                "strpos(uscc, upper($1)) > 0 OR strpos(name, $1) > 0 OR strpos(address, $1) > 0",
            ),
            Kind::Items => ("items", "id", "strpos(id, $1) > 0 OR strpos(title, $1) > 0"),
            Kind::Handbooks => (
                "handbooks",
                "industry",
                "strpos(industry, $1) > 0 OR industry IN (SELECT code FROM industries WHERE strpos(name, $1) > 0)",
            ),
        };
        let text = text.trim();
        self.snapshot(|tx| {
            let filter = format!("($1::TEXT = '' OR {searched})");
            let total: i64 = tx
                .query_one(&format!("SELECT count(*) FROM {table} WHERE {filter}"), &[&text])?
                .try_get(0)?;
            let keys = tx
                .query(
                    &format!(
                        "SELECT {key} FROM {table} WHERE {filter} ORDER BY {key} COLLATE \"C\" LIMIT $2"
                    ),
                    &[&text, &limit_param(limit)],
                )?
                .iter()
                .map(|r| r.try_get(0).map_err(StoreError::from))
                .collect::<Result<Vec<String>, _>>()?;
            Ok((u64::try_from(total).unwrap_or(0), keys))
        })
    }

    fn search_subjects(&self, text: &str, limit: usize) -> Result<Vec<Subject>, StoreError> {
        self.snapshot(|tx| {
            let usccs: Vec<String> = tx
                .query(
                    "SELECT uscc FROM subjects
                     WHERE strpos(name, $1) > 0 OR strpos(uscc, upper($1)) > 0 OR strpos(address, $1) > 0
                     ORDER BY name COLLATE \"C\" LIMIT $2",
                    &[&text.trim(), &limit_param(limit)],
                )?
                .iter()
                .map(|r| r.try_get(0))
                .collect::<Result<_, _>>()?;
            let mut subjects = Vec::with_capacity(usccs.len());
            for uscc in usccs {
                subjects.extend(catalog::read_subject(tx, &uscc)?);
            }
            Ok(subjects)
        })
    }

    fn inspections_in(
        &self,
        usccs: &[String],
        (start, end): (i64, i64),
    ) -> Result<Vec<u64>, StoreError> {
        self.with(|c| index::inspections_in(c, usccs, start, end))
    }

    fn all_subjects(&self) -> Result<Vec<Subject>, StoreError> {
        self.snapshot(|tx| plans::all_subjects(tx))
    }

    fn inspection_counts(
        &self,
        (start, end): (i64, i64),
    ) -> Result<HashMap<String, u64>, StoreError> {
        self.with(|c| plans::inspection_counts(c, start, end))
    }

    fn plans(&self) -> Result<Vec<super::PlanRow>, StoreError> {
        self.with(|c| plans::plans(c))
    }

    fn plan(&self, id: &str) -> Result<Option<super::PlanRow>, StoreError> {
        self.with(|c| plans::plan(c, id))
    }

    fn plan_pools(&self, id: &str) -> Result<Option<fieldloop_core::draw::PlanPools>, StoreError> {
        self.with(|c| plans::plan_pools(c, id))
    }

    fn save_plan(
        &self,
        row: &super::PlanRow,
        pools: Option<&fieldloop_core::draw::PlanPools>,
        expect: Option<super::PlanState>,
    ) -> Result<(), StoreError> {
        self.with(|c| plans::save_plan(c, row, pools, expect))
    }

    fn delete_plan(&self, id: &str) -> Result<bool, StoreError> {
        self.with(|c| plans::delete_plan(c, id))
    }

    fn conflicts(&self) -> Result<Vec<super::ConflictRow>, StoreError> {
        self.with(|c| plans::conflicts(c))
    }

    fn put_conflict(&self, row: &super::ConflictRow) -> Result<(), StoreError> {
        self.with(|c| plans::put_conflict(c, row))
    }

    fn delete_conflict(&self, inspector: &str, uscc: &str) -> Result<bool, StoreError> {
        self.with(|c| plans::delete_conflict(c, inspector, uscc))
    }

    fn commit_draw(&self, draw: &super::DrawWrite<'_>, now: i64) -> Result<(), StoreError> {
        self.with(|c| plans::commit_draw(c, draw, now))
    }

    fn draws(&self) -> Result<Vec<(String, i64, String)>, StoreError> {
        self.with(|c| plans::draws(c))
    }

    fn draw_record(&self, id: &str) -> Result<Option<String>, StoreError> {
        self.with(|c| plans::draw_column(c, id, false))
    }

    fn draw_pools(&self, id: &str) -> Result<Option<String>, StoreError> {
        self.with(|c| plans::draw_column(c, id, true))
    }

    fn highest_code(&self, prefix: &str) -> Result<u64, StoreError> {
        self.with(|c| plans::highest_code(c, prefix))
    }

    fn published(&self, limit: usize) -> Result<Vec<super::PublishedRow>, StoreError> {
        self.with(|c| plans::published(c, limit))
    }

    fn claim_key(&self) -> Option<Arc<crate::claims::ClaimKey>> {
        Some(self.claim_key.clone())
    }

    fn task_by_verify_code(&self, code: &str) -> Result<Option<String>, StoreError> {
        self.with(|c| claims::task_by_verify_code(c, code))
    }

    fn revoke_verify_code(
        &self,
        task_id: &str,
        revocation: &crate::claims::Revocation,
    ) -> Result<bool, StoreError> {
        self.with(|c| claims::revoke(c, task_id, revocation))
    }

    fn verify_revocation(
        &self,
        task_id: &str,
    ) -> Result<Option<crate::claims::Revocation>, StoreError> {
        self.with(|c| claims::revocation(c, task_id))
    }

    fn add_feedback(
        &self,
        row: &crate::claims::FeedbackRow,
        per_address_per_day: usize,
    ) -> Result<crate::claims::FeedbackAdded, StoreError> {
        self.with(|c| claims::add_feedback(c, row, per_address_per_day))
    }

    fn feedback_for_task(
        &self,
        task_id: &str,
    ) -> Result<Option<crate::claims::FeedbackRow>, StoreError> {
        self.with(|c| claims::feedback_of(c, task_id))
    }

    fn feedback_list(&self, limit: usize) -> Result<Vec<crate::claims::FeedbackRow>, StoreError> {
        self.with(|c| claims::feedback_list(c, limit))
    }

    fn unscanned_rectification_tasks(&self, limit: usize) -> Result<Vec<String>, StoreError> {
        self.with(|c| rectify::unscanned(c, limit))
    }

    fn record_rectifications(
        &self,
        task_id: &str,
        rows: &[crate::rectify::Rectification],
        now: i64,
    ) -> Result<(), StoreError> {
        self.with(|c| rectify::record(c, task_id, rows, now))
    }

    fn finished_rechecks(&self) -> Result<Vec<(String, String, String)>, StoreError> {
        self.with(|c| rectify::finished_rechecks(c))
    }

    fn rectifications(
        &self,
        states: &[crate::rectify::RectState],
    ) -> Result<Vec<crate::rectify::Rectification>, StoreError> {
        self.with(|c| rectify::list(c, states))
    }

    fn rectification(&self, id: &str) -> Result<Option<crate::rectify::Rectification>, StoreError> {
        self.with(|c| rectify::one(c, id))
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
        self.with(|c| rectify::start_recheck(c, id, task_id, task_code, team, photos, now))
    }

    fn finish_recheck(
        &self,
        id: &str,
        state: crate::rectify::RectState,
        now: i64,
    ) -> Result<bool, StoreError> {
        self.with(|c| rectify::finish_recheck(c, id, state, now))
    }

    fn insert_lead(
        &self,
        draft: &crate::leads::LeadDraft,
        now: i64,
    ) -> Result<crate::leads::Lead, StoreError> {
        self.with(|c| leads::insert_lead(c, draft, now))
    }

    fn lead(&self, id: &str) -> Result<Option<crate::leads::Lead>, StoreError> {
        self.with(|c| leads::lead(c, id))
    }

    fn lead_events(&self, id: &str) -> Result<Vec<crate::leads::LeadEvent>, StoreError> {
        self.with(|c| leads::lead_events(c, id))
    }

    fn list_leads(
        &self,
        state: Option<crate::leads::LeadState>,
        departments: Option<&[String]>,
        limit: usize,
    ) -> Result<Vec<crate::leads::Lead>, StoreError> {
        self.with(|c| leads::list_leads(c, state, departments, limit))
    }

    fn save_lead_step(
        &self,
        before: &crate::leads::Lead,
        after: &crate::leads::Lead,
        event: &crate::leads::LeadEvent,
    ) -> Result<(), StoreError> {
        self.with(|c| leads::save_step(c, before, after, event))
    }

    fn add_channel_key(&self, row: &super::ChannelKeyRow) -> Result<(), StoreError> {
        self.with(|c| leads::add_channel_key(c, row))
    }

    fn channel_key(&self, id: &str) -> Result<Option<super::ChannelKeyRow>, StoreError> {
        self.with(|c| leads::channel_key(c, id))
    }

    fn channel_keys(&self) -> Result<Vec<super::ChannelKeyRow>, StoreError> {
        self.with(|c| leads::channel_keys(c))
    }

    fn revoke_channel_key(&self, id: &str, now: i64) -> Result<bool, StoreError> {
        self.with(|c| leads::revoke_channel_key(c, id, now))
    }

    fn receipts_since_task(
        &self,
        task_id: &str,
        limit: usize,
    ) -> Result<Option<Vec<Receipt>>, StoreError> {
        self.snapshot(|tx| leads::receipts_since_task(tx, task_id, limit))
    }

    fn receipt_head(&self) -> Result<Option<(i64, String)>, StoreError> {
        self.with(|c| audit::receipt_head(c))
    }

    fn receipt_span(&self, from: i64, to: i64, limit: usize) -> Result<Vec<Receipt>, StoreError> {
        self.with(|c| audit::receipt_span(c, from, to, limit))
    }

    fn device_receipts(
        &self,
        device_id: &str,
        after: i64,
        limit: usize,
    ) -> Result<Vec<Receipt>, StoreError> {
        self.with(|c| audit::device_receipts(c, device_id, after, limit))
    }

    fn add_checkpoint(
        &self,
        checkpoint: &fieldloop_core::checkpoint::Checkpoint,
    ) -> Result<bool, StoreError> {
        self.with(|c| audit::add_checkpoint(c, checkpoint))
    }

    fn checkpoint(
        &self,
        seq: Option<i64>,
    ) -> Result<Option<fieldloop_core::checkpoint::Checkpoint>, StoreError> {
        self.with(|c| audit::checkpoint(c, seq))
    }

    fn receipts_past_checkpoint(&self) -> Result<Option<u64>, StoreError> {
        self.with(|c| {
            let row = c.query_one(
                "SELECT (SELECT max(seq) FROM receipts), (SELECT max(seq) FROM checkpoints)",
                &[],
            )?;
            let head: Option<i64> = row.try_get(0)?;
            let covered: Option<i64> = row.try_get(1)?;
            Ok(head
                .map(|head| u64::try_from(head.saturating_sub(covered.unwrap_or(0))).unwrap_or(0)))
        })
    }

    fn receipts(&self) -> Result<Vec<Receipt>, StoreError> {
        self.with(|c| {
            c.query(
                &format!(
                    "SELECT {} FROM receipts ORDER BY seq",
                    audit::RECEIPT_COLUMNS
                ),
                &[],
            )?
            .iter()
            .map(audit::receipt_from_row)
            .collect()
        })
    }
}

/// A feed row of `changed_since` / `unsent_since`.
fn feed_task_row(r: &postgres::Row) -> Result<FeedTask, StoreError> {
    Ok(feed_task(r.try_get(0)?, r.try_get(1)?, r.try_get(2)?))
}

/// A task's heads as of its latest entry at or before `cursor`.
fn heads_at(
    c: &mut impl Sql,
    task_id: &str,
    cursor: u64,
) -> Result<Option<Vec<ChangeHash>>, StoreError> {
    let blob: Option<Vec<u8>> = c
        .query_opt(
            "SELECT heads FROM feed WHERE task_id = $1 AND seq <= $2 ORDER BY seq DESC LIMIT 1",
            &[&task_id, &seq_param(cursor)],
        )?
        .map(|r| r.try_get(0))
        .transpose()?;
    Ok(blob.map(|b| fieldloop_core::sync::heads_from_bytes(&b)))
}

impl Drop for PgStore {
    /// Closing a blocking client runs a runtime of its own, which cannot
    /// start on a thread that drives async tasks (where the server's last
    /// handle to the store goes at shutdown): the pool is closed on a
    /// thread of its own.
    fn drop(&mut self) {
        if let Some(pool) = self.pool.take() {
            match tokio::runtime::Handle::try_current() {
                Ok(_) => {
                    let _ = std::thread::spawn(move || drop(pool)).join();
                }
                Err(_) => drop(pool),
            }
        }
    }
}

/// The advisory lock key that serialises migrations between instances.
const MIGRATION_LOCK: i64 = 0x4669_656c_646c_6f6f; // "Fieldloo"

/// Whether `e` is PostgreSQL's unique violation (23505).
pub(super) fn is_unique_violation(e: &postgres::Error) -> bool {
    e.code() == Some(&postgres::error::SqlState::UNIQUE_VIOLATION)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A store with one connection on a fresh database of the shared cluster.
    fn one_connection() -> PgStore {
        let cluster = cluster::TestCluster::shared().expect("PostgreSQL cluster");
        let url = cluster.create_database().expect("database");
        let keys = tempfile::tempdir().expect("tempdir");
        let key = crate::claims::ClaimKey::load_or_create(keys.path()).expect("key");
        PgStore::open(&url, 1, key).expect("open")
    }

    #[test]
    fn a_connection_prepares_each_statement_once_under_a_statement_timeout() {
        let store = one_connection();
        let timeout: String = store
            .with(|c| Ok(c.query_one("SHOW statement_timeout", &[])?.try_get(0)?))
            .expect("show");
        assert_eq!(timeout, "30s");

        // The same call twice: the second finds its statements prepared.
        store.feed_end().expect("feed end");
        let before = store.with(|c| Ok(c.cached())).expect("cache");
        store.feed_end().expect("feed end");
        let (after, prepared) = store
            .with(|c| {
                let n: i64 = c
                    .query_one("SELECT count(*) FROM pg_prepared_statements", &[])?
                    .try_get(0)?;
                Ok((c.cached(), n))
            })
            .expect("cache");
        assert!(before >= 1, "feed_end prepared nothing");
        assert_eq!(after, before + 1, "only the count query is new");
        assert_eq!(usize::try_from(prepared).expect("count"), after);

        // A statement prepared in a transaction that rolled back still runs.
        let sql = "SELECT $1::int8 + 1";
        let rolled_back = store.tx(|tx| {
            tx.query(sql, &[&1_i64])?;
            Err::<(), _>(StoreError::Invalid("roll back".into()))
        });
        assert!(rolled_back.is_err());
        let two: i64 = store
            .with(|c| Ok(c.query_one(sql, &[&1_i64])?.try_get(0)?))
            .expect("after the rollback");
        assert_eq!(two, 2);
    }

    #[test]
    fn the_statement_cache_is_bounded_and_a_new_connection_starts_empty() {
        let store = one_connection();
        let cached = store
            .with(|c| {
                for n in 0..conn::STATEMENT_CACHE + 20 {
                    let sql = format!("SELECT {n}::int8 + $1::int8");
                    let got: i64 = c.query_one(&sql, &[&1_i64])?.try_get(0)?;
                    assert_eq!(got, i64::try_from(n).expect("n") + 1);
                }
                Ok(c.cached())
            })
            .expect("queries");
        assert_eq!(cached, conn::STATEMENT_CACHE);

        // The server ends the connection: the pool replaces it, and the
        // statements of the old one are not used on the new one.
        let pid: i32 = store
            .with(|c| Ok(c.query_one("SELECT pg_backend_pid()", &[])?.try_get(0)?))
            .expect("pid");
        let cluster = cluster::TestCluster::shared().expect("PostgreSQL cluster");
        let mut admin =
            postgres::Client::connect(&cluster.url("postgres"), postgres::NoTls).expect("admin");
        admin
            .execute("SELECT pg_terminate_backend($1, 5000)", &[&pid])
            .expect("terminate");
        let (new_pid, cached): (i32, usize) = store
            .with(|c| {
                let pid = c.query_one("SELECT pg_backend_pid()", &[])?.try_get(0)?;
                Ok((pid, c.cached()))
            })
            .expect("a fresh connection");
        assert_ne!(new_pid, pid);
        assert_eq!(cached, 1);
    }
}
