//! The tablet's check of the server's receipt log: that the server still
//! holds, at the place it said, the receipt of every change this tablet
//! pushed and saw acknowledged, and that the signed checkpoints it
//! publishes never go back.
//!
//! After each sync the tablet fetches its new receipts
//! (`GET /api/v1/audit/receipts`) and the latest checkpoint
//! (`GET /api/v1/audit/checkpoint`), signed with the county's key, which
//! the tablet pins the first time (`GET /api/v1/public/claim-key`). [`check`]
//! then walks the chain (`GET /api/v1/audit/span`, the tablet's own entries
//! in full, the others only `{seq, prev, hash}`) from the last checkpoint
//! it linked to the latest one, and finds a log cut short
//! ([`AuditError::CutShort`]) or rewritten and chained again
//! ([`AuditError::Rewritten`]) — what the chain alone cannot show.

use fieldloop_core::ErrorCode;
use fieldloop_core::checkpoint::{
    ChainEntry, Checkpoint, CheckpointError, ReceiptsPage, Span, VerifyingKey, key_from_hex,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::store::{Store, StoreError};
use crate::sync::{HttpTransport, SyncError, keys};

/// The longest answer of an audit endpoint read, in bytes.
pub const MAX_ANSWER_BYTES: usize = 4 * 1024 * 1024;
/// Pages of receipts one fetch reads at most (the rest at the next one).
pub const MAX_RECEIPT_PAGES: usize = 100;
/// Entries of the log one check walks at most.
pub const MAX_CHECK_ENTRIES: i64 = 200_000;
/// Entries one span request asks for (the server's bound).
pub const SPAN_ENTRIES: i64 = 1000;

/// The server's key the tablet pinned (hex).
const KEY_SETTING: &str = "audit.key";
/// The checkpoint the chain was last linked to: `seq hash`.
const LINKED_SETTING: &str = "audit.linked";

/// What is wrong with the server's receipt log, or why it could not be checked.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error(transparent)]
    Sync(#[from] SyncError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    #[error("服务器尚未发布检查点 (the server has published no checkpoint yet)")]
    NoCheckpoint,
    #[error("服务器的答复无法读取：{0} (unreadable audit answer)")]
    Malformed(String),
    #[error(
        "服务器的最新检查点是第 {now} 条，早于本机见过的第 {had} 条：接收记录被退回 (the server's latest checkpoint is at entry {now}, before entry {had} this tablet saw: the log went back)"
    )]
    WentBack { had: i64, now: i64 },
    #[error(
        "服务器的接收记录在第 {seq} 条之前就结束了：记录被截断 (the server's receipt log ends before entry {seq}, which this tablet holds: it was cut short)"
    )]
    CutShort { seq: i64 },
    #[error(
        "服务器第 {seq} 条接收记录与本机持有的不同：记录被事后改写 (entry {seq} of the server's receipt log differs from what this tablet holds: it was rewritten)"
    )]
    Rewritten { seq: i64 },
    #[error(
        "任务 {task} 的修改 {change} 已被服务器确认，但其接收记录中没有这项修改 (the server acknowledged change {change} of task {task} but its receipt log has no receipt of it)"
    )]
    Unreceipted { task: String, change: String },
    #[error(
        "需要核对 {entries} 条接收记录，超过一次最多 {MAX_CHECK_ENTRIES} 条 ({entries} entries to walk, more than {MAX_CHECK_ENTRIES} at once)"
    )]
    TooLong { entries: i64 },
}

impl AuditError {
    /// A stable machine code; the UI branches on it.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Sync(e) => e.code(),
            Self::Store(e) => e.code(),
            Self::Checkpoint(e) => e.code(),
            Self::NoCheckpoint => ErrorCode::AuditNoCheckpoint,
            Self::Malformed(_) => ErrorCode::AuditMalformed,
            Self::WentBack { .. } => ErrorCode::AuditWentBack,
            Self::CutShort { .. } => ErrorCode::AuditCutShort,
            Self::Rewritten { .. } => ErrorCode::AuditRewritten,
            Self::Unreceipted { .. } => ErrorCode::AuditUnreceipted,
            Self::TooLong { .. } => ErrorCode::AuditTooLong,
        }
    }
}

/// What a check found in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditReport {
    /// The checkpoint the chain was linked to.
    pub checkpoint: Checkpoint,
    /// This tablet's receipts it holds.
    pub receipts: usize,
    /// Of those, the ones found in the walked part of the chain, each with
    /// its hash at its seq.
    pub linked: usize,
    /// Receipts after the checkpoint, to link at a later check.
    pub pending: usize,
    /// Changes this tablet made that the server acknowledged, each with a receipt.
    pub acknowledged: usize,
    /// Entries of the log walked.
    pub walked: i64,
}

/// A JSON answer of `path`, or `None` for a 404 with `missing`'s code.
fn get_json<T: DeserializeOwned>(
    transport: &HttpTransport,
    path: &str,
    signed: bool,
    missing: Option<ErrorCode>,
) -> Result<Option<T>, AuditError> {
    let (status, body) = transport.get(path, signed, MAX_ANSWER_BYTES)?;
    if status != 200 {
        let error = HttpTransport::answer_error(status, &body);
        if status == 404 && missing.is_some_and(|code| error.code() == code) {
            return Ok(None);
        }
        return Err(error.into());
    }
    serde_json::from_slice(&body)
        .map(Some)
        .map_err(|e| AuditError::Malformed(format!("{path}: {e}")))
}

/// The server's key: the pinned one, or (first use) the one the server
/// shows, pinned from then on.
pub fn server_key(
    store: &mut Store,
    transport: &HttpTransport,
) -> Result<VerifyingKey, AuditError> {
    if let Some(hex) = store.setting(KEY_SETTING)? {
        return Ok(key_from_hex(&hex)?);
    }
    #[derive(serde::Deserialize)]
    struct KeyView {
        public_key: String,
    }
    let view: KeyView = get_json(transport, "/api/v1/public/claim-key", false, None)?
        .ok_or_else(|| AuditError::Malformed("no claim key".into()))?;
    let key = key_from_hex(&view.public_key)?;
    store.set_setting(KEY_SETTING, &hex::encode(key.as_bytes()))?;
    Ok(key)
}

/// Fetches this tablet's receipts after the last one it holds and keeps
/// them; answers how many were new.
pub fn fetch_receipts(store: &mut Store, transport: &HttpTransport) -> Result<usize, AuditError> {
    let mut added = 0;
    for _ in 0..MAX_RECEIPT_PAGES {
        let after = store.audit_last_receipt_seq()?;
        let page: ReceiptsPage = get_json(
            transport,
            &format!("/api/v1/audit/receipts?after={after}"),
            true,
            None,
        )?
        .ok_or_else(|| AuditError::Malformed("no receipts page".into()))?;
        for r in &page.receipts {
            if r.seq <= after || r.fields.is_none() || !r.hash_matches() {
                return Err(AuditError::Malformed(format!(
                    "receipt {} is not a whole receipt after {after}",
                    r.seq
                )));
            }
        }
        added += page.receipts.len();
        store.add_audit_receipts(&page.receipts)?;
        if !page.more || page.receipts.is_empty() {
            break;
        }
    }
    Ok(added)
}

/// The server's latest checkpoint, signature checked (`None`: it has none).
fn latest_checkpoint(
    transport: &HttpTransport,
    key: &VerifyingKey,
) -> Result<Option<Checkpoint>, AuditError> {
    let found: Option<Checkpoint> = get_json(
        transport,
        "/api/v1/audit/checkpoint",
        false,
        Some(ErrorCode::AuditNoCheckpoint),
    )?;
    if let Some(cp) = &found {
        cp.verify(key)?;
    }
    Ok(found)
}

/// The entries `from..=to` the server shows.
fn span(transport: &HttpTransport, from: i64, to: i64) -> Result<Vec<ChainEntry>, AuditError> {
    let page: Span = get_json(
        transport,
        &format!("/api/v1/audit/span?from={from}&to={to}"),
        true,
        None,
    )?
    .ok_or_else(|| AuditError::Malformed("no span".into()))?;
    Ok(page.entries)
}

/// Whether the server still shows `hash` at `seq`.
fn still_there(transport: &HttpTransport, seq: i64, hash: &str) -> Result<(), AuditError> {
    match span(transport, seq, seq)?.first() {
        Some(e) if e.seq == seq && e.hash == hash => Ok(()),
        Some(e) if e.seq == seq => Err(AuditError::Rewritten { seq }),
        _ => Err(AuditError::CutShort { seq }),
    }
}

/// `new` may follow the tablet's last checkpoint `had`: not before it,
/// and at the same entry the same head (else the server shows whether
/// `had`'s entry is gone or changed).
fn follows(
    transport: &HttpTransport,
    had: Option<&Checkpoint>,
    new: Option<&Checkpoint>,
) -> Result<(), AuditError> {
    let Some(had) = had else { return Ok(()) };
    match new {
        Some(new) if new.seq > had.seq => Ok(()),
        Some(new) if new.seq == had.seq && new.head == had.head => Ok(()),
        _ => {
            still_there(transport, had.seq, &had.head)?;
            Err(AuditError::WentBack {
                had: had.seq,
                now: new.map_or(0, |c| c.seq),
            })
        }
    }
}

/// After a sync: this tablet's new receipts, and the server's latest
/// checkpoint when it follows the last one taken (signature checked). A
/// checkpoint that does not is not taken, and the error says why.
pub fn fetch(
    store: &mut Store,
    transport: &HttpTransport,
) -> Result<Option<Checkpoint>, AuditError> {
    let key = server_key(store, transport)?;
    fetch_receipts(store, transport)?;
    let latest = latest_checkpoint(transport, &key)?;
    let had = store.audit_checkpoint()?;
    follows(transport, had.as_ref(), latest.as_ref())?;
    if let Some(cp) = &latest {
        store.set_audit_checkpoint(cp)?;
    }
    Ok(latest)
}

fn linked(store: &Store) -> Result<Option<(i64, String)>, AuditError> {
    Ok(store.setting(LINKED_SETTING)?.and_then(|text| {
        let (seq, hash) = text.split_once(' ')?;
        Some((seq.parse().ok()?, hash.to_owned()))
    }))
}

/// Checks the server's receipt log as far as this tablet can: fetches its
/// new receipts and the latest checkpoint (see [`fetch`]), then checks
/// that every change it pushed and saw acknowledged has a receipt, and
/// walks the chain from the checkpoint it last linked (or its first
/// receipt) to the latest checkpoint's head: each of its own receipts
/// there at its seq with its hash, each entry linked to the one before.
pub fn check(store: &mut Store, transport: &HttpTransport) -> Result<AuditReport, AuditError> {
    let key = server_key(store, transport)?;
    fetch_receipts(store, transport)?;
    let had = store.audit_checkpoint()?;
    // The last checkpoint taken must still be in the log as signed.
    if let Some(had) = &had {
        still_there(transport, had.seq, &had.head)?;
    }
    let latest = latest_checkpoint(transport, &key)?;
    follows(transport, had.as_ref(), latest.as_ref())?;
    let cp = latest.ok_or(AuditError::NoCheckpoint)?;

    // Every acknowledged change of this tablet has a receipt.
    let actor = store.setting(keys::ACTOR)?.unwrap_or_default();
    let acknowledged = store.acknowledged_changes(&actor)?;
    for (task, change) in &acknowledged {
        if !store.has_audit_receipt(task, change)? {
            return Err(AuditError::Unreceipted {
                task: task.clone(),
                change: change.clone(),
            });
        }
    }

    // Walk the chain from the last linked checkpoint (or the first receipt) to `cp`.
    let anchor = linked(store)?;
    let own = store.audit_receipts(1, i64::MAX)?;
    let start = match (&anchor, own.first()) {
        (Some((seq, _)), _) => *seq,
        (None, Some(first)) => first.seq,
        (None, None) => cp.seq,
    }
    .min(cp.seq);
    let entries = cp.seq - start + 1;
    if entries > MAX_CHECK_ENTRIES {
        return Err(AuditError::TooLong { entries });
    }
    let mine = store.audit_receipts(start, cp.seq)?;
    let mut mine_iter = mine.iter().peekable();
    let mut prev: Option<String> = None;
    let mut last_seq = start - 1;
    let mut walked = 0;
    let mut from = start;
    while from <= cp.seq {
        let to = (from + SPAN_ENTRIES - 1).min(cp.seq);
        let page = span(transport, from, to)?;
        for e in &page {
            if e.seq <= last_seq || e.seq > to {
                return Err(AuditError::Malformed(format!(
                    "entry {} out of order in the span {from}..={to}",
                    e.seq
                )));
            }
            // The walk starts where it was asked to.
            if walked == 0 && e.seq != start {
                return Err(AuditError::Rewritten { seq: start });
            }
            // An own receipt the server no longer shows at its place.
            if let Some(gone) = mine_iter.next_if(|m| m.seq < e.seq) {
                return Err(AuditError::Rewritten { seq: gone.seq });
            }
            if prev.as_ref().is_some_and(|p| *p != e.prev) || !e.hash_matches() {
                return Err(AuditError::Rewritten { seq: e.seq });
            }
            if let Some((seq, hash)) = &anchor
                && e.seq == *seq
                && e.hash != *hash
            {
                return Err(AuditError::Rewritten { seq: e.seq });
            }
            if let Some(m) = mine_iter.next_if(|m| m.seq == e.seq)
                && (m.hash != e.hash || m.prev != e.prev || m.fields != e.fields)
            {
                return Err(AuditError::Rewritten { seq: e.seq });
            }
            prev = Some(e.hash.clone());
            last_seq = e.seq;
            walked += 1;
        }
        if page.is_empty() || last_seq < to {
            // The log ends inside the span.
            let seq = mine_iter.peek().map_or(cp.seq, |m| m.seq);
            return Err(AuditError::CutShort { seq });
        }
        from = to + 1;
    }
    if prev.as_deref() != Some(cp.head.as_str()) || last_seq != cp.seq {
        return Err(AuditError::Rewritten { seq: cp.seq });
    }
    store.set_audit_checkpoint(&cp)?;
    store.set_setting(LINKED_SETTING, &format!("{} {}", cp.seq, cp.head))?;
    Ok(AuditReport {
        receipts: own.len(),
        linked: mine.len(),
        pending: own.iter().filter(|r| r.seq > cp.seq).count(),
        acknowledged: acknowledged.len(),
        walked,
        checkpoint: cp,
    })
}

/// What a check found in order, for the app's screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct AuditView {
    /// The checkpoint the chain was linked to: its entry, head and time.
    pub seq: i64,
    pub head: String,
    pub signed_at: i64,
    /// This tablet's receipts, those linked by this check, those after
    /// the checkpoint (linked at a later check).
    pub receipts: u64,
    pub linked: u64,
    pub pending: u64,
    /// Acknowledged changes of this tablet, each with a receipt.
    pub acknowledged: u64,
    /// Entries of the log walked.
    pub walked: i64,
}

impl From<&AuditReport> for AuditView {
    fn from(r: &AuditReport) -> Self {
        let n = |k: usize| u64::try_from(k).unwrap_or(u64::MAX);
        Self {
            seq: r.checkpoint.seq,
            head: r.checkpoint.head.clone(),
            signed_at: r.checkpoint.at,
            receipts: n(r.receipts),
            linked: n(r.linked),
            pending: n(r.pending),
            acknowledged: n(r.acknowledged),
            walked: r.walked,
        }
    }
}

impl crate::inspect::Tablet {
    /// Checks the server's receipt log as far as this tablet can ([`check`]).
    pub fn audit_check(&mut self) -> Result<AuditView, crate::inspect::AppError> {
        let transport = HttpTransport::from_store(&self.store)?;
        Ok(AuditView::from(&check(&mut self.store, &transport)?))
    }
}
