//! The receipt log's checkpoints and the reads behind the audit endpoints,
//! on PostgreSQL (the form of `sqlite/audit.rs`).

use super::conn::{Plain, Sql};
use fieldloop_core::checkpoint::Checkpoint;

use crate::store::codec::limit_param;
use crate::store::{Receipt, StoreError};

/// The columns [`receipt_from_row`] reads, in its order.
pub(super) const RECEIPT_COLUMNS: &str =
    "seq, change_hash, task_id, device_id, received_at, prev, hash";

/// One receipt-log row, selected as [`RECEIPT_COLUMNS`].
pub(super) fn receipt_from_row(r: &postgres::Row) -> Result<Receipt, StoreError> {
    Ok(Receipt {
        seq: r.try_get(0)?,
        change_hash: r.try_get(1)?,
        task_id: r.try_get(2)?,
        device_id: r.try_get(3)?,
        received_at: r.try_get(4)?,
        prev: r.try_get(5)?,
        hash: r.try_get(6)?,
    })
}

/// The last receipt's number and hash, if the log has any.
pub(super) fn receipt_head(c: &mut impl Sql) -> Result<Option<(i64, String)>, StoreError> {
    c.query_opt(
        "SELECT seq, hash FROM receipts ORDER BY seq DESC LIMIT 1",
        &[],
    )?
    .map(|r| -> Result<_, StoreError> { Ok((r.try_get(0)?, r.try_get(1)?)) })
    .transpose()
}

/// The receipts numbered `from` to `to` (both included), at most `limit`,
/// in order.
pub(super) fn receipt_span(
    c: &mut impl Sql,
    from: i64,
    to: i64,
    limit: usize,
) -> Result<Vec<Receipt>, StoreError> {
    c.query(
        &format!(
            "SELECT {RECEIPT_COLUMNS} FROM receipts WHERE seq >= $1 AND seq <= $2 ORDER BY seq LIMIT $3"
        ),
        &[&from, &to, &limit_param(limit)],
    )?
    .iter()
    .map(receipt_from_row)
    .collect()
}

/// A device's receipts numbered after `after`, at most `limit`, in order.
pub(super) fn device_receipts(
    c: &mut impl Sql,
    device_id: &str,
    after: i64,
    limit: usize,
) -> Result<Vec<Receipt>, StoreError> {
    c.query(
        &format!(
            "SELECT {RECEIPT_COLUMNS} FROM receipts WHERE device_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"
        ),
        &[&device_id, &after, &limit_param(limit)],
    )?
    .iter()
    .map(receipt_from_row)
    .collect()
}

/// Keeps a signed checkpoint if it names a receipt by its true hash; false
/// when it does not, or when that receipt has a checkpoint already.
pub(super) fn add_checkpoint(c: &mut Plain<'_>, cp: &Checkpoint) -> Result<bool, StoreError> {
    // Receipts are never changed once written, so reading the hash needs no
    // lock; two checkpoints of one entry meet at the primary key.
    let mut tx = c.transaction()?;
    let hash: Option<String> = tx
        .query_opt("SELECT hash FROM receipts WHERE seq = $1", &[&cp.seq])?
        .map(|r| r.try_get(0))
        .transpose()?;
    if hash.as_deref() != Some(cp.head.as_str()) {
        return Ok(false);
    }
    let added = tx.execute(
        "INSERT INTO checkpoints (seq, head, at, kid, sig) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT DO NOTHING",
        &[&cp.seq, &cp.head, &cp.at, &cp.kid, &cp.sig],
    )?;
    fieldloop_core::faults::point("server.checkpoint.before_commit");
    tx.commit()?;
    fieldloop_core::faults::point("server.checkpoint.after_commit");
    Ok(added == 1)
}

/// The checkpoint of receipt `seq`, or the latest when `seq` is none.
pub(super) fn checkpoint(
    c: &mut impl Sql,
    seq: Option<i64>,
) -> Result<Option<Checkpoint>, StoreError> {
    let found = match seq {
        Some(seq) => c.query_opt(
            "SELECT seq, head, at, kid, sig FROM checkpoints WHERE seq = $1",
            &[&seq],
        )?,
        None => c.query_opt(
            "SELECT seq, head, at, kid, sig FROM checkpoints ORDER BY seq DESC LIMIT 1",
            &[],
        )?,
    };
    found
        .map(|r| -> Result<_, StoreError> {
            Ok(Checkpoint {
                v: fieldloop_core::checkpoint::CHECKPOINT_VERSION,
                seq: r.try_get(0)?,
                head: r.try_get(1)?,
                at: r.try_get(2)?,
                kid: r.try_get(3)?,
                sig: r.try_get(4)?,
            })
        })
        .transpose()
}
