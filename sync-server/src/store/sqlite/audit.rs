//! The receipt log's checkpoints and the reads behind the audit endpoints.

use fieldloop_core::checkpoint::Checkpoint;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::Cached;
use crate::store::codec::limit_param;
use crate::store::{Receipt, StoreError};

/// The columns [`receipt_from_row`] reads, in its order.
pub(super) const RECEIPT_COLUMNS: &str =
    "seq, change_hash, task_id, device_id, received_at, prev, hash";

/// One receipt-log row, selected as [`RECEIPT_COLUMNS`].
pub(super) fn receipt_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Receipt> {
    Ok(Receipt {
        seq: r.get(0)?,
        change_hash: r.get(1)?,
        task_id: r.get(2)?,
        device_id: r.get(3)?,
        received_at: r.get(4)?,
        prev: r.get(5)?,
        hash: r.get(6)?,
    })
}

pub(super) fn receipt_head(conn: &Connection) -> Result<Option<(i64, String)>, StoreError> {
    Ok(conn
        .cached_row(
            "SELECT seq, hash FROM receipts ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?)
}

pub(super) fn receipt_span(
    conn: &Connection,
    from: i64,
    to: i64,
    limit: usize,
) -> Result<Vec<Receipt>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {RECEIPT_COLUMNS} FROM receipts WHERE seq >= ?1 AND seq <= ?2 ORDER BY seq LIMIT ?3"
    ))?;
    let rows = stmt.query_map(params![from, to, limit_param(limit)], receipt_from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(super) fn device_receipts(
    conn: &Connection,
    device_id: &str,
    after: i64,
    limit: usize,
) -> Result<Vec<Receipt>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {RECEIPT_COLUMNS} FROM receipts WHERE device_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3"
    ))?;
    let rows = stmt.query_map(
        params![device_id, after, limit_param(limit)],
        receipt_from_row,
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(super) fn add_checkpoint(conn: &mut Connection, cp: &Checkpoint) -> Result<bool, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let hash: Option<String> = tx
        .cached_row("SELECT hash FROM receipts WHERE seq = ?1", [cp.seq], |r| {
            r.get(0)
        })
        .optional()?;
    if hash.as_deref() != Some(cp.head.as_str()) {
        return Ok(false);
    }
    let added = tx.cached_exec(
        "INSERT INTO checkpoints (seq, head, at, kid, sig) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
        params![cp.seq, cp.head, cp.at, cp.kid, cp.sig],
    )?;
    fieldloop_core::faults::point("server.checkpoint.before_commit");
    tx.commit()?;
    fieldloop_core::faults::point("server.checkpoint.after_commit");
    Ok(added == 1)
}

pub(super) fn checkpoint(
    conn: &Connection,
    seq: Option<i64>,
) -> Result<Option<Checkpoint>, StoreError> {
    let from_row = |r: &rusqlite::Row<'_>| {
        Ok(Checkpoint {
            v: fieldloop_core::checkpoint::CHECKPOINT_VERSION,
            seq: r.get(0)?,
            head: r.get(1)?,
            at: r.get(2)?,
            kid: r.get(3)?,
            sig: r.get(4)?,
        })
    };
    let found = match seq {
        Some(seq) => conn.cached_row(
            "SELECT seq, head, at, kid, sig FROM checkpoints WHERE seq = ?1",
            [seq],
            from_row,
        ),
        None => conn.cached_row(
            "SELECT seq, head, at, kid, sig FROM checkpoints ORDER BY seq DESC LIMIT 1",
            [],
            from_row,
        ),
    };
    Ok(found.optional()?)
}
