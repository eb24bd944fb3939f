//! The audit trail of a task as the server can vouch for it: each change of
//! the document's history (who, the device's time, what) beside the
//! server's receipt of it (which device delivered it, the server's time).
//! Device clocks are advisory; receipt times are not.
//!
//! And the receipt log's signed checkpoints: made, logged and published
//! here (`GET /api/v1/audit/checkpoint`), with the device's own receipts
//! and redacted spans of the chain (`GET /api/v1/audit/receipts`,
//! `/api/v1/audit/span`) for the tablets' check, and [`verify_against`]
//! for `fieldloop-server audit verify --against`.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};

use axum::Json;
use axum::extract::{RawQuery, State};
use ed25519_dalek::VerifyingKey;
use fieldloop_core::TaskDoc;
use fieldloop_core::checkpoint::{
    ChainEntry, Checkpoint, CheckpointError, ReceiptFields, ReceiptsPage, Span,
};

use crate::AppState;
use crate::auth::DeviceAuth;
use crate::error::{ApiError, Code};
use crate::peer::ClientAddr;
use crate::store::{ChainError, Receipt, Store, StoreError, verify_receipts};

/// One change of a task, with its receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrailEntry {
    pub hash: String,
    pub person: Option<String>,
    /// The author's device clock, milliseconds since the epoch.
    pub device_time: i64,
    pub message: String,
    /// The device that delivered the change, and when the server received it.
    pub receipt: Option<(String, i64)>,
}

/// The trail of `task_id`, in causal order; `None` if there is no such task.
pub fn trail(store: &dyn Store, task_id: &str) -> Result<Option<Vec<TrailEntry>>, StoreError> {
    let Some(stored) = store.task(task_id)? else {
        return Ok(None);
    };
    let mut doc = TaskDoc::load(&stored.doc).map_err(|e| StoreError::Invalid(e.to_string()))?;
    let history = doc
        .history()
        .map_err(|e| StoreError::Invalid(e.to_string()))?;
    let receipts = store.receipts()?;
    Ok(Some(
        history
            .into_iter()
            .map(|h| {
                let receipt = receipts
                    .iter()
                    .find(|r| r.task_id == task_id && r.change_hash == h.hash)
                    .map(|r| (r.device_id.clone(), r.received_at));
                TrailEntry {
                    hash: h.hash,
                    person: h.person,
                    device_time: h.at,
                    message: h.message,
                    receipt,
                }
            })
            .collect(),
    ))
}

// ---------------------------------------------------------------------------
// Checkpoints of the receipt log.
//
// The receipt log is a hash chain ([`crate::store::verify_receipts`]). A
// chain alone shows an entry altered, removed or inserted, but not a log
// cut short, nor one rewritten from some entry on and chained again. So
// the server signs checkpoints of the chain's head with its Ed25519 key
// (the key of [`crate::claims`]): after a sync that leaves
// [`crate::limits::Limits::checkpoint_every`] receipts after the latest
// one, and every [`crate::limits::Limits::checkpoint_interval`] when
// anything is new. Each one is written to the server log and published at
// `GET /api/v1/audit/checkpoint`; whoever keeps one can later check the
// log against it (`fieldloop-server audit verify --against`, and the
// tablet's check over `GET /api/v1/audit/receipts` and `/api/v1/audit/span`).

/// Receipts one `GET /api/v1/audit/receipts` answer carries at most.
pub const RECEIPTS_PAGE: usize = 1000;
/// Entries one `GET /api/v1/audit/span` may ask for.
pub const MAX_SPAN: usize = 1000;
/// Checkpoint requests one address may make a minute.
pub const CHECKPOINT_LOOKUPS_PER_MINUTE: u32 = 60;
/// Addresses remembered before those with a full allowance are forgotten.
const REMEMBERED_ADDRESSES: usize = 10_000;
/// The tracing target of the checkpoint lines in the server log.
pub const LOG_TARGET: &str = "fieldloop::audit";

/// The per-address limit of the public checkpoint route.
#[derive(Debug)]
pub struct AuditState {
    lookups: governor::DefaultKeyedRateLimiter<IpAddr>,
}

impl Default for AuditState {
    fn default() -> Self {
        let quota = governor::Quota::per_minute(
            std::num::NonZeroU32::new(CHECKPOINT_LOOKUPS_PER_MINUTE)
                .unwrap_or(std::num::NonZeroU32::MIN),
        );
        Self {
            lookups: governor::RateLimiter::keyed(quota),
        }
    }
}

impl AuditState {
    fn allow(&self, addr: &ClientAddr) -> bool {
        if self.lookups.len() > REMEMBERED_ADDRESSES {
            self.lookups.retain_recent();
        }
        self.lookups
            .check_key(&addr.0.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)))
            .is_ok()
    }
}

/// Signs and keeps a checkpoint of the log's head at `now`, if the store
/// has a key and the head is past the latest checkpoint; writes it to the
/// server log. `None`: nothing new (or no key).
pub fn make_checkpoint(store: &dyn Store, now: i64) -> Result<Option<Checkpoint>, StoreError> {
    let Some(key) = store.claim_key() else {
        return Ok(None);
    };
    let Some((seq, head)) = store.receipt_head()? else {
        return Ok(None);
    };
    if store.checkpoint(None)?.is_some_and(|c| c.seq >= seq) {
        return Ok(None);
    }
    let checkpoint = key
        .sign_checkpoint(seq, &head, now)
        .map_err(|e| StoreError::Invalid(e.to_string()))?;
    if !store.add_checkpoint(&checkpoint)? {
        // Made meanwhile by another caller.
        return Ok(None);
    }
    tracing::info!(
        target: LOG_TARGET,
        seq = checkpoint.seq,
        head = %checkpoint.head,
        at = checkpoint.at,
        kid = %checkpoint.kid,
        sig = %checkpoint.sig,
        "receipt log checkpoint"
    );
    Ok(Some(checkpoint))
}

/// [`make_checkpoint`] when `every` receipts or more follow the latest
/// checkpoint (all of them when there is none).
pub fn checkpoint_if_due(
    store: &dyn Store,
    every: u64,
    now: i64,
) -> Result<Option<Checkpoint>, StoreError> {
    let Some(past) = store.receipts_past_checkpoint()? else {
        return Ok(None);
    };
    if past < every.max(1) {
        return Ok(None);
    }
    make_checkpoint(store, now)
}

/// Why a receipt log does not match a checkpoint.
#[derive(Debug, thiserror::Error)]
pub enum AgainstError {
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    #[error("接收记录链已损坏 (the receipt log's chain is broken): {0}")]
    Chain(#[from] ChainError),
    #[error(
        "接收记录在检查点的第 {seq} 条之前就结束了（最后一条是第 {last} 条）：记录被截断 (the receipt log ends at entry {last}, before the checkpoint's entry {seq}: it was cut short)"
    )]
    CutShort { seq: i64, last: i64 },
    #[error(
        "第 {seq} 条接收记录的哈希是 {found}，检查点签名的是 {signed}：记录被事后改写 (entry {seq} has hash {found}, the checkpoint signed {signed}: the log was rewritten)"
    )]
    Rewritten {
        seq: i64,
        found: String,
        signed: String,
    },
}

/// Checks `receipts` (the whole log, in order) against `checkpoint` signed
/// by `key`: the signature, the chain, and that the entry at the
/// checkpoint's seq carries its head. Answers how many entries the log holds.
pub fn verify_against(
    receipts: &[Receipt],
    checkpoint: &Checkpoint,
    key: &VerifyingKey,
) -> Result<usize, AgainstError> {
    checkpoint.verify(key)?;
    let n = verify_receipts(receipts)?;
    match receipts.iter().find(|r| r.seq >= checkpoint.seq) {
        Some(r) if r.seq == checkpoint.seq && r.hash == checkpoint.head => Ok(n),
        Some(r) if r.seq == checkpoint.seq => Err(AgainstError::Rewritten {
            seq: r.seq,
            found: r.hash.clone(),
            signed: checkpoint.head.clone(),
        }),
        // Entries were renumbered around the checkpoint's seq.
        Some(_) => Err(AgainstError::Rewritten {
            seq: checkpoint.seq,
            found: "-".into(),
            signed: checkpoint.head.clone(),
        }),
        None => Err(AgainstError::CutShort {
            seq: checkpoint.seq,
            last: receipts.last().map_or(0, |r| r.seq),
        }),
    }
}

/// A receipt as it travels, with its fields or without.
fn entry(r: Receipt, show: bool) -> ChainEntry {
    ChainEntry {
        seq: r.seq,
        prev: r.prev,
        hash: r.hash,
        fields: show.then_some(ReceiptFields {
            change_hash: r.change_hash,
            task_id: r.task_id,
            device_id: r.device_id,
            received_at: r.received_at,
        }),
    }
}

/// The query's whole-number parameters among `names`; anything else, or a
/// value that is not a whole number, is `audit.bad_query`.
fn numbers(query: Option<&str>, names: &[&str]) -> Result<HashMap<String, i64>, ApiError> {
    let bad = |what: String| ApiError::new(Code::AuditBadQuery, what);
    let mut out = HashMap::new();
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        if !names.contains(&name) {
            return Err(bad(format!(
                "未知参数 {name} (unknown parameter {name}; this endpoint takes {})",
                names.join(", ")
            )));
        }
        let value: i64 = value.parse().map_err(|_| {
            bad(format!(
                "参数 {name} 应为整数 ({name} must be a whole number)"
            ))
        })?;
        out.insert(name.to_owned(), value);
    }
    Ok(out)
}

/// `GET /api/v1/audit/checkpoint[?seq=N]`: the latest checkpoint, or the one at `seq`.
pub async fn checkpoint_json(
    State(state): State<AppState>,
    addr: ClientAddr,
    RawQuery(query): RawQuery,
) -> Result<Json<Checkpoint>, ApiError> {
    if !state.audit.allow(&addr) {
        return Err(ApiError::new(
            Code::AuditRateLimited,
            "查询过于频繁，请一分钟后再试 (too many requests from this address; wait a minute)",
        ));
    }
    let seq = numbers(query.as_deref(), &["seq"])?.get("seq").copied();
    let store = state.store.clone();
    let found = tokio::task::spawn_blocking(move || store.checkpoint(seq)).await??;
    found.map(Json).ok_or_else(|| {
        ApiError::new(
            Code::AuditNoCheckpoint,
            match seq {
                Some(seq) => format!("没有第 {seq} 条的检查点 (no checkpoint at entry {seq})"),
                None => "尚无检查点 (no checkpoint yet)".to_owned(),
            },
        )
    })
}

/// `GET /api/v1/audit/receipts?after=S`: the calling device's receipts after `S`.
pub async fn receipts_json(
    State(state): State<AppState>,
    DeviceAuth(device): DeviceAuth,
    RawQuery(query): RawQuery,
) -> Result<Json<ReceiptsPage>, ApiError> {
    let after = numbers(query.as_deref(), &["after"])?
        .get("after")
        .copied()
        .unwrap_or(0);
    let store = state.store.clone();
    let mut rows = tokio::task::spawn_blocking(move || {
        store.device_receipts(&device.id, after, RECEIPTS_PAGE + 1)
    })
    .await??;
    let more = rows.len() > RECEIPTS_PAGE;
    rows.truncate(RECEIPTS_PAGE);
    Ok(Json(ReceiptsPage {
        receipts: rows.into_iter().map(|r| entry(r, true)).collect(),
        more,
    }))
}

/// `GET /api/v1/audit/span?from=A&to=B`: entries `A..=B` (at most
/// [`MAX_SPAN`]), the caller's own with their fields, the others only
/// `{seq, prev, hash}`.
pub async fn span_json(
    State(state): State<AppState>,
    DeviceAuth(device): DeviceAuth,
    RawQuery(query): RawQuery,
) -> Result<Json<Span>, ApiError> {
    let q = numbers(query.as_deref(), &["from", "to"])?;
    let (Some(&from), Some(&to)) = (q.get("from"), q.get("to")) else {
        return Err(ApiError::new(
            Code::AuditBadQuery,
            "需要 from 和 to 两个参数 (from and to are both needed)",
        ));
    };
    let span_ok = from >= 1 && to >= from && usize::try_from(to - from).is_ok_and(|n| n < MAX_SPAN);
    if !span_ok {
        return Err(ApiError::new(
            Code::AuditBadQuery,
            format!(
                "范围应满足 1 ≤ from ≤ to 且不超过 {MAX_SPAN} 条 (the span must have 1 ≤ from ≤ to and at most {MAX_SPAN} entries)"
            ),
        ));
    }
    let store = state.store.clone();
    let rows =
        tokio::task::spawn_blocking(move || store.receipt_span(from, to, MAX_SPAN)).await??;
    Ok(Json(Span {
        entries: rows
            .into_iter()
            .map(|r| {
                let own = r.device_id == device.id;
                entry(r, own)
            })
            .collect(),
    }))
}

/// The audit routes: the public checkpoint, and the device's receipts and spans.
pub fn router() -> axum::Router<AppState> {
    use axum::routing::get;
    axum::Router::new()
        .route("/api/v1/audit/checkpoint", get(checkpoint_json))
        .route("/api/v1/audit/receipts", get(receipts_json))
        .route("/api/v1/audit/span", get(span_json))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claims::ClaimKey;
    use crate::store::sqlite::SqliteStore;

    /// A chain of `n` entries, as the store writes them.
    fn chain(n: i64) -> Vec<Receipt> {
        let mut prev = fieldloop_core::checkpoint::GENESIS.to_owned();
        (1..=n)
            .map(|seq| {
                let mut r = Receipt {
                    seq,
                    change_hash: format!("c{seq}"),
                    task_id: "t".into(),
                    device_id: "d".into(),
                    received_at: 1_000 + seq,
                    prev: prev.clone(),
                    hash: String::new(),
                };
                r.hash = r.expected_hash();
                prev = r.hash.clone();
                r
            })
            .collect()
    }

    #[test]
    fn a_log_is_held_to_its_checkpoint() {
        let key = ClaimKey::generate();
        let log = chain(5);
        let cp = key.sign_checkpoint(3, &log[2].hash, 9).expect("signed");
        assert_eq!(
            verify_against(&log, &cp, &key.verifying_key()).expect("intact"),
            5
        );

        // Cut short before the checkpoint's entry: the chain is fine, the checkpoint is not.
        let cut = &log[..2];
        assert!(verify_receipts(cut).is_ok());
        match verify_against(cut, &cp, &key.verifying_key()) {
            Err(AgainstError::CutShort { seq: 3, last: 2 }) => {}
            other => panic!("{other:?}"),
        }

        // Rewritten from entry 2 on and chained again: a valid chain, another head.
        let mut rewritten = log.clone();
        rewritten[1].device_id = "forged".into();
        for i in 1..rewritten.len() {
            rewritten[i].prev = rewritten[i - 1].hash.clone();
            rewritten[i].hash = rewritten[i].expected_hash();
        }
        assert!(verify_receipts(&rewritten).is_ok());
        match verify_against(&rewritten, &cp, &key.verifying_key()) {
            Err(AgainstError::Rewritten { seq: 3, .. }) => {}
            other => panic!("{other:?}"),
        }

        // Another key, or a broken chain, are refused before the entry is looked at.
        let stranger = ClaimKey::generate();
        assert!(matches!(
            verify_against(&log, &cp, &stranger.verifying_key()),
            Err(AgainstError::Checkpoint(_))
        ));
        let mut altered = log.clone();
        altered[3].received_at += 1;
        assert!(matches!(
            verify_against(&altered, &cp, &key.verifying_key()),
            Err(AgainstError::Chain(ChainError::Altered(4)))
        ));
    }

    #[test]
    fn checkpoints_are_made_when_due_and_never_twice_for_one_head() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open(dir.path()).expect("store");
        assert_eq!(make_checkpoint(&store, 1).expect("empty log"), None);
        crate::demo::seed_tasks(&store, 2, 1_780_000_000_000).expect("demo");
        let (seq, head) = store.receipt_head().expect("head").expect("receipts");
        // Fewer than `every` receipts: not due.
        let every = u64::try_from(seq).expect("seq") + 1;
        assert_eq!(checkpoint_if_due(&store, every, 5).expect("not due"), None);
        let cp = checkpoint_if_due(&store, every - 1, 5)
            .expect("due")
            .expect("made");
        assert_eq!((cp.seq, cp.head.clone(), cp.at), (seq, head, 5));
        let key = store.claim_key().expect("key");
        cp.verify(&key.verifying_key()).expect("signed");
        assert_eq!(store.checkpoint(None).expect("read"), Some(cp.clone()));
        assert_eq!(store.checkpoint(Some(seq)).expect("read"), Some(cp));
        // Nothing new since: none made, on the tick or otherwise.
        assert_eq!(make_checkpoint(&store, 6).expect("nothing new"), None);
        assert_eq!(checkpoint_if_due(&store, 1, 6).expect("nothing new"), None);
        // A checkpoint whose head is not the log's is not kept.
        let forged = key.sign_checkpoint(1, &"ab".repeat(32), 7).expect("signed");
        assert!(!store.add_checkpoint(&forged).expect("refused"));
    }
}
