//! The server's storage, behind the [`Store`] trait: one SQLite file by
//! default ([`sqlite::SqliteStore`]), PostgreSQL for several instances
//! ([`postgres::PgStore`]); the trait speaks of what the server needs, not of SQL.
//!
//! Every write that precedes an acknowledgement is committed durably before
//! the method returns.

mod codec;
pub mod postgres;
pub mod sqlite;
#[cfg(test)]
mod suite;

use crate::console::{ConsoleTaskRow, Dashboard, TaskFilter, TaskPage, TaskSort};
use automerge::ChangeHash;
use fieldloop_core::{Department, Handbook, Industry, Inspector, Item, Role, Subject, Team, Uscc};

/// An enrolled tablet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub id: String,
    /// Automerge actor id (hex) the device must use for every change.
    pub actor: String,
    /// The person the device acts for.
    pub person: String,
    pub role: Role,
    pub team: String,
    pub revoked: bool,
    /// The person is active (a deactivated inspector's devices are refused).
    pub active: bool,
}

/// How a presented device token stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenUse {
    /// When the device's current token was issued.
    pub issued_at: i64,
    /// The token presented is the one the current one replaced, accepted
    /// until then.
    pub previous_until: Option<i64>,
}

/// A person of the console: a supervisor or an administrator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleUser {
    pub id: String,
    pub name: String,
    pub role: Role,
    /// The teams a supervisor acts for (an administrator's is empty: all).
    pub teams: Vec<String>,
    /// The departments a supervisor acts for: every task that includes one
    /// of them, whichever team does it.
    pub departments: Vec<String>,
}

/// A console user's sign-in state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleAccount {
    pub user: ConsoleUser,
    /// argon2id, PHC string.
    pub password_hash: String,
    /// Failed sign-ins since the last success or lock.
    pub failed_logins: u32,
    /// Refused until then (ms), after too many failures.
    pub locked_until: Option<i64>,
}

/// A console session as stored (found by the hash of its cookie).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleSessionRow {
    pub user: ConsoleUser,
    /// The token every state-changing request must echo.
    pub csrf: String,
    pub expires_at: i64,
}

/// The directory as stored.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DirectoryRows {
    pub departments: Vec<Department>,
    pub teams: Vec<Team>,
    /// Each inspector and whether they are active.
    pub inspectors: Vec<(Inspector, bool)>,
}

/// A task's document as stored: its last snapshot, then the changes each
/// later feed entry added, in order. Loading the bytes as they are gives
/// the whole document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredTask {
    pub id: String,
    pub team: String,
    pub doc: Vec<u8>,
    /// How many feed entries' changes follow the snapshot in `doc`.
    pub chunks: u32,
}

/// A writer stores a task whole again (a new snapshot) instead of appending
/// its changes once this many feed entries' changes follow the snapshot:
/// loading a snapshot with many short runs of changes after it costs more
/// than loading one saved whole, and a push saving the whole document costs
/// more than one appending to it.
pub const SNAPSHOT_AFTER_CHUNKS: u32 = 32;

/// A task document to write after a sync, with the changes that are new to the server.
#[derive(Debug, Clone)]
pub struct TaskWrite {
    pub id: String,
    pub team: String,
    pub doc: Vec<u8>,
    pub heads: Vec<ChangeHash>,
    pub new_changes: Vec<ChangeHash>,
    /// The changes `doc` holds that the stored document lacks, encoded and
    /// concatenated (`save_after` of the stored heads), when the writer has
    /// them. The store keeps them with the write's feed entry, so that a
    /// device behind that entry is answered from them without the whole
    /// document. `None`: not known (that device is answered from `doc`).
    pub added: Option<Vec<u8>>,
    /// `false`: `doc` is the whole document saved afresh, and becomes the
    /// task's snapshot. `true`: `doc` is the task's stored bytes followed
    /// by `added`, and the store keeps only `added` (as the write's feed
    /// entry's changes) after what it holds; the task must exist, `added`
    /// must be known, and the write must go through
    /// [`Store::commit_sync`], whose bases make sure that what the store
    /// holds is what `added` was taken against.
    pub append: bool,
    /// What the write policy flagged for the reviewer (changes made
    /// concurrently with a submission, answers outside certification).
    pub flags: Vec<fieldloop_core::policy::Flag>,
    /// The task's row in the console's index, read from `doc`; `None`
    /// leaves the row as it is.
    pub index: Option<crate::console::TaskIndex>,
}

impl TaskWrite {
    /// The changes to keep with the write's feed entry: `added`, when the
    /// caller keeps them and they are known. An appending write must keep
    /// them (they are all the store writes of its document).
    pub(crate) fn kept_changes(&self, keep: bool) -> Result<Option<&[u8]>, StoreError> {
        let kept = self.added.as_deref().filter(|_| keep);
        if self.append && kept.is_none() {
            return Err(StoreError::Invalid(format!(
                "task {}: an appending write without the changes it adds",
                self.id
            )));
        }
        Ok(kept)
    }
}

/// A task's heads as a writer read them before merging into it.
#[derive(Debug, Clone, Copy)]
pub struct TaskBase<'a> {
    pub id: &'a str,
    pub heads: &'a [ChangeHash],
}

/// What [`Store::commit_sync`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncCommit {
    /// Committed durably (or nothing to write and every base held). The
    /// feed ended at `feed_end` just after the commit, and every entry
    /// after the feed's end just before it is this commit's own.
    /// `directory_version`: the directory's version, read in the same
    /// snapshot where the backend does so at no extra cost (PostgreSQL, in
    /// the bases' statement), so that the answer need not ask again;
    /// `None`: not read.
    Done {
        feed_end: u64,
        directory_version: Option<u64>,
    },
    /// A task moved on since its base was read: nothing was stored.
    Moved,
}

/// Whether two sets of heads are the same set.
pub fn same_heads(a: &[ChangeHash], b: &[ChangeHash]) -> bool {
    let mut a = a.to_vec();
    let mut b = b.to_vec();
    a.sort_unstable();
    a.dedup();
    b.sort_unstable();
    b.dedup();
    a == b
}

/// A task with feed entries after a cursor: its first and latest entry after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedTask {
    pub id: String,
    pub first: u64,
    pub last: u64,
}

/// What a task gained after a feed position, read at one instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskSince {
    /// The task's heads now (those of its latest feed entry).
    pub heads: Vec<ChangeHash>,
    pub delta: TaskDelta,
}

/// How [`TaskSince`] carries the changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskDelta {
    /// Exactly the changes the task gained after the position, encoded and
    /// concatenated in feed order: the same changes as `save_after` of its
    /// heads at the position.
    Changes(Vec<u8>),
    /// The whole stored document, with the task's heads at the position
    /// (`None`: it did not exist then). Given when the task did not exist
    /// at the position, or when a feed entry after it has no recorded
    /// changes (written before the store kept them, or by `insert_task`).
    Whole {
        /// As stored: the snapshot and the changes appended after it.
        doc: Vec<u8>,
        base: Option<Vec<ChangeHash>>,
        /// How many feed entries' changes follow the snapshot in `doc`
        /// ([`StoredTask::chunks`]): 0 when it is one compact save.
        chunks: u32,
    },
}

/// The two codes of a task besides its id, each unique on the server: the
/// human task number (e.g. `JX-2026-000123`) and the random verify code the
/// public QR code points to (`/v/{verify_code}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskCodes {
    pub code: String,
    pub verify_code: String,
}

/// A policy flag as stored, with when the server received the change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFlag {
    pub flag: fieldloop_core::policy::Flag,
    pub device_id: String,
    pub received_at: i64,
}

/// One entry of the append-only receipt log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub seq: i64,
    pub change_hash: String,
    pub task_id: String,
    pub device_id: String,
    /// Server time of receipt, milliseconds since the epoch.
    pub received_at: i64,
    /// Hash of the previous entry (hex; 64 zeros for the first).
    pub prev: String,
    /// SHA-256 over `prev` and this entry's fields (hex).
    pub hash: String,
}

impl Receipt {
    /// The hash this entry must carry given its fields and `prev`.
    pub fn expected_hash(&self) -> String {
        fieldloop_core::checkpoint::receipt_hash(
            &self.prev,
            self.seq,
            &self.change_hash,
            &self.task_id,
            &self.device_id,
            self.received_at,
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("数据库错误 (database error): {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("数据库升级失败 (database migration failed): {0}")]
    Migration(#[from] rusqlite_migration::Error),
    #[error("数据库连接不可用 (no database connection available): {0}")]
    Pool(#[from] r2d2::Error),
    #[error("PostgreSQL 错误 (PostgreSQL error): {0}")]
    Postgres(#[from] ::postgres::Error),
    #[error("PostgreSQL 数据库升级失败 (PostgreSQL migration failed): {0}")]
    PgMigration(#[from] refinery::Error),
    #[error("注册码无效、已使用或已过期 (the enrollment code is wrong, used or expired)")]
    BadEnrollmentCode,
    #[error("没有执法人员 {0} (no inspector {0})")]
    UnknownInspector(String),
    #[error("没有设备 {0} (no device {0})")]
    UnknownDevice(String),
    #[error("任务编号 {0} 已被占用 (task code {0} is already taken)")]
    TaskCodeTaken(String),
    #[error("控制台用户 {0} 已存在 (console user {0} already exists)")]
    ConsoleUserTaken(String),
    #[error("数据不一致 (inconsistent data): {0}")]
    Invalid(String),
    #[error("计划 {0} 的状态已被他人改变，请刷新 (plan {0} was changed meanwhile; reload)")]
    PlanChanged(String),
    #[error("线索 {0} 已被他人改变，请刷新 (lead {0} was changed meanwhile; reload)")]
    LeadChanged(String),
}

/// An upload in progress whose parts live in an object store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredUpload {
    /// The declared length of the whole blob.
    pub length: u64,
    /// The lengths of the parts received, in order.
    pub parts: Vec<u64>,
    /// When a part last arrived (or the upload began), ms.
    pub updated_at: i64,
}

impl StoredUpload {
    /// Bytes received so far.
    pub fn offset(&self) -> u64 {
        self.parts.iter().sum()
    }

    /// The stored form of the parts: each length followed by `,`.
    pub(crate) fn parse_parts(text: &str) -> Result<Vec<u64>, StoreError> {
        text.split_terminator(',')
            .map(|p| {
                p.parse()
                    .map_err(|_| StoreError::Invalid(format!("upload part length `{p}`")))
            })
            .collect()
    }
}

/// What [`Store::begin_upload`] came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BeginUpload {
    Begun,
    /// The device has an upload of this blob already.
    Exists(StoredUpload),
    /// The device has this many uploads in progress, the most it may.
    Full(usize),
}

/// What [`Store::charge_bytes`] came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charge {
    /// Counted: the device's total for the day is now this.
    Taken(u64),
    /// Refused, nothing counted: the day's total would pass the quota. The
    /// device sent this much that day.
    Over(u64),
}

impl Charge {
    /// From a backend's answer: the new total if the charge was counted,
    /// else the day's total before it (`None`: nothing sent that day).
    pub(crate) fn from_totals(added: Option<i64>, before: Option<i64>) -> Self {
        match added {
            Some(total) => Self::Taken(total.unsigned_abs()),
            None => Self::Over(before.unwrap_or(0).unsigned_abs()),
        }
    }
}

/// Where a plan stands.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    ts_rs::TS,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum PlanState {
    /// Being written; may change or be deleted.
    Draft,
    /// Parameters, pools and commitment frozen; waiting for its entropy and the draw.
    Fixed,
    /// Drawn: its tasks exist.
    Drawn,
}

impl PlanState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Fixed => "fixed",
            Self::Drawn => "drawn",
        }
    }
}

/// What fixing a plan froze.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS, utoipa::ToSchema,
)]
pub struct FixedPlan {
    pub params: fieldloop_core::draw::PlanParams,
    pub pool_hashes: fieldloop_core::draw::PoolHashes,
    pub pool_sizes: fieldloop_core::draw::PoolSizes,
    pub commitment: String,
    pub fixed_by: String,
    pub fixed_at: i64,
}

/// A plan as stored (without its pools, which are read on their own).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanRow {
    pub id: String,
    pub spec: fieldloop_core::draw::PlanSpec,
    pub state: PlanState,
    pub created_by: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub fixed: Option<FixedPlan>,
    pub entropy: Option<fieldloop_core::draw::EntropyValues>,
    pub draw: Option<String>,
}

/// A declared conflict of interest (回避).
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS, utoipa::ToSchema,
)]
#[ts(export)]
pub struct ConflictRow {
    pub inspector: String,
    pub uscc: String,
    pub reason: String,
    pub declared_by: String,
    pub declared_at: i64,
}

/// A committed draw: its public record, its pools and the tasks it made.
#[derive(Debug, Clone)]
pub struct DrawWrite<'a> {
    pub record: &'a fieldloop_core::draw::DrawRecord,
    pub pools: &'a [fieldloop_core::draw::PlanPools],
    /// JSON of the public summary.
    pub summary: String,
    pub tasks: Vec<(TaskWrite, TaskCodes)>,
}

/// A published task's result, for the public page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedRow {
    pub code: String,
    pub subject_name: String,
    pub uscc: String,
    pub departments: Vec<String>,
    pub window_start: i64,
    pub due: i64,
    pub findings: u32,
    pub rectification: bool,
    pub published_at: i64,
    pub draw: Option<String>,
}

/// Reference data to write in one transaction: plain rows, checked by the
/// caller, in the order others refer to them.
#[derive(Debug, Clone, Default)]
pub struct CatalogRows<'a> {
    pub departments: Vec<&'a Department>,
    pub industries: Vec<&'a Industry>,
    pub teams: Vec<&'a Team>,
    pub inspectors: Vec<&'a Inspector>,
    pub subjects: Vec<&'a Subject>,
    pub items: Vec<&'a Item>,
    pub handbooks: Vec<&'a Handbook>,
}

/// What writing reference data did to the rows of one table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub added: usize,
    pub updated: usize,
    pub unchanged: usize,
}

impl Counts {
    pub fn total(&self) -> usize {
        self.added + self.updated + self.unchanged
    }
}

/// What [`Store::write_catalog`] did, table by table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CatalogCounts {
    pub departments: Counts,
    pub industries: Counts,
    pub teams: Counts,
    pub inspectors: Counts,
    pub subjects: Counts,
    pub items: Counts,
    pub handbooks: Counts,
}

/// A key of an outside channel as stored: only a hash of the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelKeyRow {
    /// The key's public part (`ck_…`, before the dot).
    pub id: String,
    /// The channel's wire name (`hotline_12345`, …).
    pub channel: String,
    /// SHA-256 (hex) of the whole key.
    pub key_hash: String,
    pub created_by: String,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

/// What the server stores.
pub trait Store: Send + Sync + std::fmt::Debug + 'static {
    /// Writes checked reference data (see [`crate::import`]) in one
    /// transaction: all of it or, on any error, nothing. Each row is
    /// inserted or replaces the row with the same key (department and
    /// industry code, team, inspector and item id, USCC, handbook industry),
    /// so writing the same rows twice changes nothing.
    fn write_catalog(&self, rows: &CatalogRows<'_>) -> Result<CatalogCounts, StoreError>;
    fn department(&self, code: &str) -> Result<Option<Department>, StoreError>;
    fn industry(&self, code: &str) -> Result<Option<Industry>, StoreError>;
    fn team(&self, id: &str) -> Result<Option<Team>, StoreError>;
    fn inspector(&self, id: &str) -> Result<Option<Inspector>, StoreError>;
    /// The team of an inspector, if the inspector exists.
    fn inspector_team(&self, inspector: &str) -> Result<Option<String>, StoreError>;
    fn subject(&self, uscc: &Uscc) -> Result<Option<Subject>, StoreError>;
    fn item(&self, id: &str) -> Result<Option<Item>, StoreError>;
    /// The handbook (一业一册) of an industry.
    fn handbook(&self, industry: &str) -> Result<Option<Handbook>, StoreError>;

    /// Records a one-time enrollment code (stored as its hash).
    fn create_enrollment(
        &self,
        code_hash: &str,
        inspector: &str,
        expires_at: i64,
    ) -> Result<(), StoreError>;
    /// Uses a code: marks it used and creates the device, atomically.
    fn redeem_enrollment(
        &self,
        code_hash: &str,
        now: i64,
        device_id: &str,
        token_hash: &str,
        actor: &str,
        name: &str,
    ) -> Result<Device, StoreError>;
    /// Adds a credential directly (supervisors and administrators, who do not enroll).
    fn add_device(
        &self,
        device: &Device,
        token_hash: &str,
        name: &str,
        now: i64,
    ) -> Result<(), StoreError>;
    /// The device a token belongs to, and how the token stands.
    fn device_by_token(&self, token_hash: &str) -> Result<Option<(Device, TokenUse)>, StoreError>;
    /// Replaces the device's token presented as `presented_hash` (its
    /// current or its previous one) by `new_hash`, issued `now`. A current
    /// token presented becomes the previous one, accepted until
    /// `grace_until`; a previous one presented keeps its own deadline (the
    /// token it was replaced by never reached the tablet). False when
    /// `presented_hash` is neither any more (another request replaced it).
    fn rotate_device_token(
        &self,
        device_id: &str,
        presented_hash: &str,
        new_hash: &str,
        now: i64,
        grace_until: i64,
    ) -> Result<bool, StoreError>;
    fn revoke_device(&self, device_id: &str, now: i64) -> Result<(), StoreError>;
    /// Deactivates or reactivates an inspector: the devices of a
    /// deactivated one are refused at once.
    fn set_inspector_active(&self, inspector: &str, active: bool) -> Result<(), StoreError>;

    /// Adds a console user with an argon2id password hash.
    fn add_console_user(
        &self,
        user: &ConsoleUser,
        password_hash: &str,
        now: i64,
    ) -> Result<(), StoreError>;
    fn console_account(&self, id: &str) -> Result<Option<ConsoleAccount>, StoreError>;
    /// Counts a failed sign-in of `id` in one statement (so concurrent
    /// failures all count); the `max`-th locks the account until
    /// `now + lock_ms` and starts the count again. Answers the lock, if any.
    fn record_login_failure(
        &self,
        id: &str,
        now: i64,
        max: u32,
        lock_ms: i64,
    ) -> Result<Option<i64>, StoreError>;
    /// A successful sign-in: the failure count starts again.
    fn clear_login_failures(&self, id: &str) -> Result<(), StoreError>;
    fn create_console_session(
        &self,
        token_hash: &str,
        user: &str,
        csrf: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<(), StoreError>;
    /// The session of a cookie hash, expired or not (the caller tells).
    fn console_session(&self, token_hash: &str) -> Result<Option<ConsoleSessionRow>, StoreError>;
    /// Ends a session (sign-out); sessions expired before `now` go too.
    fn end_console_session(&self, token_hash: &str, now: i64) -> Result<(), StoreError>;

    /// Adds a task created on the server (demo, CLI, console), with its
    /// feed entry and receipts (its `added` is not kept: a device that did
    /// not see the task before gets it whole). Fails with [`StoreError::TaskCodeTaken`],
    /// storing nothing, if another task has the same code or verify code.
    fn insert_task(
        &self,
        write: &TaskWrite,
        codes: &TaskCodes,
        device_id: &str,
        now: i64,
    ) -> Result<(), StoreError>;
    fn task(&self, id: &str) -> Result<Option<StoredTask>, StoreError>;
    /// The codes of all tasks whose code starts with `prefix`.
    fn task_codes(&self, prefix: &str) -> Result<Vec<String>, StoreError>;
    /// Commits a sync's documents, feed entries and receipts in one
    /// transaction, if and only if every task in `bases` still has the
    /// heads given there (the heads its merge started from; empty: no such
    /// task yet). This compare-and-set is what keeps two writers, in this
    /// process or in another instance, from overwriting each other's merge:
    /// on [`SyncCommit::Moved`] nothing is stored and the caller merges
    /// again from what is stored now.
    fn commit_sync(
        &self,
        bases: &[TaskBase<'_>],
        writes: &[TaskWrite],
        device_id: &str,
        now: i64,
    ) -> Result<SyncCommit, StoreError>;
    /// A task's heads as of its latest feed entry (`None`: no such task).
    fn latest_heads(&self, task_id: &str) -> Result<Option<Vec<ChangeHash>>, StoreError>;
    /// The current end of the feed.
    fn feed_end(&self) -> Result<u64, StoreError>;
    /// Tasks of `team` with feed entries after `cursor`, ordered by their
    /// first entry after it, at most `limit`. Ordering by the first entry is
    /// what lets a page end at a cursor that passes no entry of a task it
    /// did not send (see `sync::feed_page`).
    fn changed_since(
        &self,
        team: &str,
        cursor: u64,
        limit: usize,
    ) -> Result<Vec<FeedTask>, StoreError>;
    /// Tasks of `team` with feed entries after `cursor` whose latest entry
    /// is after `done` (`done` ≥ `cursor`), ordered by that latest entry, at
    /// most `limit`. Ordering by the latest entry is what lets a page say
    /// "every task whose latest entry is at or before here is held" and
    /// never send a task twice while paging (see `sync::feed_page_done`).
    fn unsent_since(
        &self,
        team: &str,
        cursor: u64,
        done: u64,
        limit: usize,
    ) -> Result<Vec<FeedTask>, StoreError>;
    /// A task's heads as of feed position `cursor` (`None`: it did not exist then).
    fn heads_at(&self, task_id: &str, cursor: u64) -> Result<Option<Vec<ChangeHash>>, StoreError>;
    /// What a task gained after feed position `cursor`, its heads and the
    /// changes (or document) read consistently, at one instant. `None`: no
    /// such task.
    fn task_since(&self, task_id: &str, cursor: u64) -> Result<Option<TaskSince>, StoreError>;
    /// [`Store::task_since`] of several tasks at once, in the order of
    /// `task_ids` (`None` for a task that does not exist). Each task's
    /// answer is consistent in itself; a backend may read them all in one
    /// statement (PostgreSQL does: one round trip for a feed page).
    fn tasks_since(
        &self,
        task_ids: &[String],
        cursor: u64,
    ) -> Result<Vec<Option<TaskSince>>, StoreError> {
        task_ids
            .iter()
            .map(|id| self.task_since(id, cursor))
            .collect()
    }

    /// The whole receipt log, in order.
    fn receipts(&self) -> Result<Vec<Receipt>, StoreError>;

    // Checkpoints of the receipt log, see `crate::audit`.
    /// The log's last entry: its seq and hash (`None`: the log is empty).
    fn receipt_head(&self) -> Result<Option<(i64, String)>, StoreError>;
    /// The entries `from..=to`, in order, at most `limit`.
    fn receipt_span(&self, from: i64, to: i64, limit: usize) -> Result<Vec<Receipt>, StoreError>;
    /// `device_id`'s receipts after `after`, in order, at most `limit`.
    fn device_receipts(
        &self,
        device_id: &str,
        after: i64,
        limit: usize,
    ) -> Result<Vec<Receipt>, StoreError>;
    /// Keeps a signed checkpoint, in one transaction, if the log's entry
    /// at its seq still has its head; `false` (nothing stored) when there
    /// is one at that seq already or the entry differs.
    fn add_checkpoint(
        &self,
        checkpoint: &fieldloop_core::checkpoint::Checkpoint,
    ) -> Result<bool, StoreError>;
    /// The checkpoint at `seq`, or the latest one (`None`).
    fn checkpoint(
        &self,
        seq: Option<i64>,
    ) -> Result<Option<fieldloop_core::checkpoint::Checkpoint>, StoreError>;
    /// How many receipts follow the latest checkpoint (every one when there
    /// is none); `None` when the log is empty. Asked after every sync.
    fn receipts_past_checkpoint(&self) -> Result<Option<u64>, StoreError> {
        let Some((seq, _)) = self.receipt_head()? else {
            return Ok(None);
        };
        let covered = self.checkpoint(None)?.map_or(0, |c| c.seq);
        Ok(Some(
            u64::try_from(seq.saturating_sub(covered)).unwrap_or(0),
        ))
    }

    /// Whether a device of `team` uploaded the blob.
    fn blob_visible(&self, team: &str, sha256: &str) -> Result<bool, StoreError>;
    /// `device_id` of `team` uploaded all of the blob (verified).
    fn record_blob_owner(
        &self,
        sha256: &str,
        team: &str,
        device_id: &str,
        now: i64,
    ) -> Result<(), StoreError>;

    /// `device_id`'s upload of blob `sha256` into an object store, if one is
    /// in progress ([`crate::blobs::ObjectBlobs`] keeps its state here, so that
    /// any instance can take the next chunk).
    fn upload(&self, device_id: &str, sha256: &str) -> Result<Option<StoredUpload>, StoreError>;
    /// Starts `device_id`'s upload of `length` bytes of `sha256`, unless it
    /// has one of that blob already (returned) or `max_open` uploads in
    /// progress.
    fn begin_upload(
        &self,
        device_id: &str,
        sha256: &str,
        length: u64,
        max_open: usize,
        now: i64,
    ) -> Result<BeginUpload, StoreError>;
    /// Records the next part (`part` bytes) of an upload: a compare-and-set
    /// that succeeds only while the upload holds exactly `parts_before`
    /// parts, so two instances taking the same chunk cannot both count it.
    fn add_upload_part(
        &self,
        device_id: &str,
        sha256: &str,
        parts_before: usize,
        part: u64,
        now: i64,
    ) -> Result<bool, StoreError>;
    /// Forgets an upload (finished, discarded or reclaimed).
    fn end_upload(&self, device_id: &str, sha256: &str) -> Result<(), StoreError>;
    /// Uploads nobody touched since `before` (ms), at most `limit`, as
    /// (device, sha256).
    fn stale_uploads(&self, before: i64, limit: usize)
    -> Result<Vec<(String, String)>, StoreError>;

    /// Counts `bytes` more that `device_id` sent on UTC day `day` into an
    /// object store, unless the day's total would pass `per_day`: one
    /// atomic statement, so that instances counting at once never let a
    /// device past its quota.
    fn charge_bytes(
        &self,
        device_id: &str,
        day: i64,
        bytes: u64,
        per_day: u64,
    ) -> Result<Charge, StoreError>;
    /// Forgets the daily counts of days before `day`.
    fn forget_bytes_before(&self, day: i64) -> Result<(), StoreError>;

    /// What the write policy flagged on a task's accepted changes, oldest first.
    fn flags(&self, task_id: &str) -> Result<Vec<StoredFlag>, StoreError>;

    // The console's reads.

    /// One page of the task index.
    fn list_tasks(
        &self,
        filter: &TaskFilter,
        sort: TaskSort,
        page: u32,
        per_page: u32,
        now: i64,
    ) -> Result<TaskPage, StoreError>;
    /// Every row `filter` takes (at most `limit`), one at a time, in `sort` order.
    fn export_tasks(
        &self,
        filter: &TaskFilter,
        sort: TaskSort,
        limit: usize,
        now: i64,
        each: &mut dyn FnMut(ConsoleTaskRow) -> Result<(), StoreError>,
    ) -> Result<(), StoreError>;
    /// Brings the query planner's statistics up to date after many writes
    /// (the server does it at start and every hour).
    fn refresh_statistics(&self) -> Result<(), StoreError>;
    /// The dashboard over the teams of `scope` (`None`: all).
    fn dashboard(
        &self,
        scope: Option<&crate::console::Scope>,
        now: i64,
        year: i32,
        year_range: (i64, i64),
    ) -> Result<Dashboard, StoreError>;
    /// When the server received each change of a task: change hash (hex) →
    /// (device id, receipt time).
    fn receipt_times(
        &self,
        task_id: &str,
    ) -> Result<std::collections::HashMap<String, (String, i64)>, StoreError>;
    /// Moves on whenever a department, team or inspector is added, changed
    /// or removed: the tablets fetch the directory when it differs from theirs.
    fn directory_version(&self) -> Result<u64, StoreError>;
    /// Departments, teams and inspectors (with whether they are active).
    fn directory(&self) -> Result<DirectoryRows, StoreError>;
    /// The keys of one kind of reference data whose key or name (a
    /// subject's name, USCC or address; an item's title) contains `text`,
    /// in key order, at most `limit`; and how many there are in all.
    fn catalog_keys(
        &self,
        kind: crate::import::Kind,
        text: &str,
        limit: usize,
    ) -> Result<(u64, Vec<String>), StoreError>;
    /// Subjects whose name, USCC or address contains `text`, at most `limit`.
    fn search_subjects(&self, text: &str, limit: usize) -> Result<Vec<Subject>, StoreError>;
    /// How many tasks (not cancelled) each subject had with a window
    /// starting in `year_range`.
    fn inspections_in(
        &self,
        usccs: &[String],
        year_range: (i64, i64),
    ) -> Result<Vec<u64>, StoreError>;

    // Plans and draws.
    /// Every subject, in USCC order.
    fn all_subjects(&self) -> Result<Vec<Subject>, StoreError>;
    /// Inspections (tasks not cancelled) per subject with a window starting
    /// in `year_range`, for subjects that have any.
    fn inspection_counts(
        &self,
        year_range: (i64, i64),
    ) -> Result<std::collections::HashMap<String, u64>, StoreError>;
    fn plans(&self) -> Result<Vec<PlanRow>, StoreError>;
    fn plan(&self, id: &str) -> Result<Option<PlanRow>, StoreError>;
    fn plan_pools(&self, id: &str) -> Result<Option<fieldloop_core::draw::PlanPools>, StoreError>;
    /// Writes `row` (and its pools, when given): a new plan if `expect` is
    /// `None`, else only if the stored plan is still in state `expect`
    /// ([`StoreError::PlanChanged`] otherwise).
    fn save_plan(
        &self,
        row: &PlanRow,
        pools: Option<&fieldloop_core::draw::PlanPools>,
        expect: Option<PlanState>,
    ) -> Result<(), StoreError>;
    /// Deletes a draft plan; `false` if there is no such draft.
    fn delete_plan(&self, id: &str) -> Result<bool, StoreError>;
    fn conflicts(&self) -> Result<Vec<ConflictRow>, StoreError>;
    fn put_conflict(&self, row: &ConflictRow) -> Result<(), StoreError>;
    fn delete_conflict(&self, inspector: &str, uscc: &str) -> Result<bool, StoreError>;
    /// In one transaction: every plan of the record from `fixed` to
    /// `drawn` ([`StoreError::PlanChanged`] if one is not fixed any more),
    /// the tasks with their codes, and the draw.
    fn commit_draw(&self, draw: &DrawWrite<'_>, now: i64) -> Result<(), StoreError>;
    /// Every draw's id, time and public summary (JSON), newest first.
    fn draws(&self) -> Result<Vec<(String, i64, String)>, StoreError>;
    fn draw_record(&self, id: &str) -> Result<Option<String>, StoreError>;
    fn draw_pools(&self, id: &str) -> Result<Option<String>, StoreError>;
    /// The highest number in use among codes starting with `prefix`.
    fn highest_code(&self, prefix: &str) -> Result<u64, StoreError>;
    /// Published tasks, newest publication first, at most `limit`.
    fn published(&self, limit: usize) -> Result<Vec<PublishedRow>, StoreError>;

    // Leads (see `crate::leads`).
    /// Records a new lead with its `received` event and gives it the next
    /// id; when the draft asks, links it as a duplicate of the oldest open
    /// lead with the same USCC and a department in common (state
    /// `duplicate`, with a `duplicate_linked` event by `system`).
    fn insert_lead(
        &self,
        draft: &crate::leads::LeadDraft,
        now: i64,
    ) -> Result<crate::leads::Lead, StoreError>;
    fn lead(&self, id: &str) -> Result<Option<crate::leads::Lead>, StoreError>;
    /// A lead's events, oldest first.
    fn lead_events(&self, id: &str) -> Result<Vec<crate::leads::LeadEvent>, StoreError>;
    /// Leads, newest first, at most `limit`: in `state` if given, and with
    /// one of `departments` if given.
    fn list_leads(
        &self,
        state: Option<crate::leads::LeadState>,
        departments: Option<&[String]>,
        limit: usize,
    ) -> Result<Vec<crate::leads::Lead>, StoreError>;
    /// Stores a step, the lead as `after` and its event, if the stored lead
    /// is still `before` ([`StoreError::LeadChanged`], nothing written, otherwise).
    fn save_lead_step(
        &self,
        before: &crate::leads::Lead,
        after: &crate::leads::Lead,
        event: &crate::leads::LeadEvent,
    ) -> Result<(), StoreError>;
    fn add_channel_key(&self, row: &ChannelKeyRow) -> Result<(), StoreError>;
    fn channel_key(&self, id: &str) -> Result<Option<ChannelKeyRow>, StoreError>;
    fn channel_keys(&self) -> Result<Vec<ChannelKeyRow>, StoreError>;
    /// `false` if there is no such key not yet revoked.
    fn revoke_channel_key(&self, id: &str, now: i64) -> Result<bool, StoreError>;
    /// The receipt log from the first entry of `task_id` to its end, read
    /// at one instant; empty if the task has none, `None` if that is more
    /// than `limit` entries.
    fn receipts_since_task(
        &self,
        task_id: &str,
        limit: usize,
    ) -> Result<Option<Vec<Receipt>>, StoreError>;

    // 亮码检查, see `crate::claims`.
    /// The county's claim-signing key, kept with the store's data (none:
    /// tasks are made without a signed claim).
    fn claim_key(&self) -> Option<std::sync::Arc<crate::claims::ClaimKey>> {
        None
    }
    /// The task whose verify code is `code`.
    fn task_by_verify_code(&self, code: &str) -> Result<Option<String>, StoreError>;
    /// Revokes a task's verify code; `false` (nothing changed) if it was already.
    fn revoke_verify_code(
        &self,
        task_id: &str,
        revocation: &crate::claims::Revocation,
    ) -> Result<bool, StoreError>;
    fn verify_revocation(
        &self,
        task_id: &str,
    ) -> Result<Option<crate::claims::Revocation>, StoreError>;
    /// Stores a business's feedback, in one transaction: refused (nothing
    /// changed) when the task has one, or when the address gave
    /// `per_address_per_day` in the last 24 hours.
    fn add_feedback(
        &self,
        row: &crate::claims::FeedbackRow,
        per_address_per_day: usize,
    ) -> Result<crate::claims::FeedbackAdded, StoreError>;
    fn feedback_for_task(
        &self,
        task_id: &str,
    ) -> Result<Option<crate::claims::FeedbackRow>, StoreError>;
    /// Feedback, newest first, at most `limit`.
    fn feedback_list(&self, limit: usize) -> Result<Vec<crate::claims::FeedbackRow>, StoreError>;

    // Rectification follow-up (整改复查), see `crate::rectify`.
    /// Approved or published tasks with a rectification deadline whose
    /// findings were not looked at yet, at most `limit`.
    fn unscanned_rectification_tasks(&self, limit: usize) -> Result<Vec<String>, StoreError>;
    /// In one transaction: the rectifications of an approved task (those
    /// already recorded are kept as they are) and the mark that it was looked at.
    fn record_rectifications(
        &self,
        task_id: &str,
        rows: &[crate::rectify::Rectification],
        now: i64,
    ) -> Result<(), StoreError>;
    /// Rectifications being re-checked whose re-check task is approved,
    /// published or cancelled: (rectification, re-check task, its status).
    fn finished_rechecks(&self) -> Result<Vec<(String, String, String)>, StoreError>;
    /// Rectifications stored in one of `states` (empty: all), as stored.
    fn rectifications(
        &self,
        states: &[crate::rectify::RectState],
    ) -> Result<Vec<crate::rectify::Rectification>, StoreError>;
    fn rectification(&self, id: &str) -> Result<Option<crate::rectify::Rectification>, StoreError>;
    /// In one transaction: links re-check task `task_id` to the `ordered`
    /// rectification `id` and lets `team` read the blobs `photos`; `false`
    /// (nothing changed) when it is not `ordered`.
    fn start_recheck(
        &self,
        id: &str,
        task_id: &str,
        task_code: &str,
        team: &str,
        photos: &[String],
        now: i64,
    ) -> Result<bool, StoreError>;
    /// Closes a rectification being re-checked as `state` (rectified or
    /// not), or with `Ordered` frees it for another re-check; `false` when
    /// it was not being re-checked.
    fn finish_recheck(
        &self,
        id: &str,
        state: crate::rectify::RectState,
        now: i64,
    ) -> Result<bool, StoreError>;
}

/// Where the receipt log's hash chain breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    #[error("receipt {0} does not follow the one before it (removed or reordered)")]
    Broken(i64),
    #[error("receipt {0} was altered")]
    Altered(i64),
    #[error("receipt {0} is out of order")]
    OutOfOrder(i64),
}

/// Checks the receipt log's hash chain; returns how many entries it holds,
/// or the first entry that was altered, removed or inserted.
pub fn verify_receipts(receipts: &[Receipt]) -> Result<usize, ChainError> {
    let mut prev = "0".repeat(64);
    let mut last_seq = 0;
    for r in receipts {
        if r.prev != prev {
            return Err(ChainError::Broken(r.seq));
        }
        if r.hash != r.expected_hash() {
            return Err(ChainError::Altered(r.seq));
        }
        if r.seq <= last_seq {
            return Err(ChainError::OutOfOrder(r.seq));
        }
        last_seq = r.seq;
        prev = r.hash.clone();
    }
    Ok(receipts.len())
}
