//! The store's side of the receipt log audit (see [`crate::audit`]): this
//! tablet's own receipts, the last checkpoint it took, and the changes the
//! server acknowledged to it.

use fieldloop_core::checkpoint::{ChainEntry, Checkpoint, ReceiptFields};
use rusqlite::{OptionalExtension, params};

use super::{Store, StoreError, load};

impl Store {
    /// The highest seq among the tablet's own receipts (0: none).
    pub fn audit_last_receipt_seq(&self) -> Result<i64, StoreError> {
        Ok(self.conn.query_row(
            "SELECT coalesce(max(seq), 0) FROM audit_receipts",
            [],
            |r| r.get(0),
        )?)
    }

    /// Keeps receipts the server gave as this tablet's own, in one
    /// transaction. A seq already held keeps what was stored first: what
    /// the server said then is what the check holds it to.
    pub fn add_audit_receipts(&mut self, receipts: &[ChainEntry]) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        for r in receipts {
            let Some(f) = &r.fields else { continue };
            tx.execute(
                "INSERT INTO audit_receipts (seq, change_hash, task_id, device_id, received_at, prev, hash)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (seq) DO NOTHING",
                params![r.seq, f.change_hash, f.task_id, f.device_id, f.received_at, r.prev, r.hash],
            )?;
        }
        fieldloop_core::faults::point("tablet.audit_receipts.before_commit");
        tx.commit()?;
        fieldloop_core::faults::point("tablet.audit_receipts.after_commit");
        Ok(())
    }

    /// The tablet's own receipts with seq in `from..=to`, in order.
    pub fn audit_receipts(&self, from: i64, to: i64) -> Result<Vec<ChainEntry>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, change_hash, task_id, device_id, received_at, prev, hash FROM audit_receipts
             WHERE seq >= ?1 AND seq <= ?2 ORDER BY seq",
        )?;
        let rows = stmt.query_map(params![from, to], |r| {
            Ok(ChainEntry {
                seq: r.get(0)?,
                fields: Some(ReceiptFields {
                    change_hash: r.get(1)?,
                    task_id: r.get(2)?,
                    device_id: r.get(3)?,
                    received_at: r.get(4)?,
                }),
                prev: r.get(5)?,
                hash: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Whether the tablet holds a receipt of `change` on `task_id`.
    pub fn has_audit_receipt(&self, task_id: &str, change: &str) -> Result<bool, StoreError> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT 1 FROM audit_receipts WHERE task_id = ?1 AND change_hash = ?2 LIMIT 1",
            )?
            .query_row(params![task_id, change], |_| Ok(()))
            .optional()?
            .is_some())
    }

    /// The last checkpoint the tablet took.
    pub fn audit_checkpoint(&self) -> Result<Option<Checkpoint>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT seq, head, at, kid, sig FROM audit_checkpoint WHERE id = 1",
                [],
                |r| {
                    Ok(Checkpoint {
                        v: fieldloop_core::checkpoint::CHECKPOINT_VERSION,
                        seq: r.get(0)?,
                        head: r.get(1)?,
                        at: r.get(2)?,
                        kid: r.get(3)?,
                        sig: r.get(4)?,
                    })
                },
            )
            .optional()?)
    }

    /// Replaces the last checkpoint (the caller checked it).
    pub fn set_audit_checkpoint(&mut self, cp: &Checkpoint) -> Result<(), StoreError> {
        // One statement: its own transaction.
        fieldloop_core::faults::point("tablet.audit_checkpoint.before_commit");
        self.conn.execute(
            "INSERT INTO audit_checkpoint (id, seq, head, at, kid, sig) VALUES (1, ?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (id) DO UPDATE SET seq = ?1, head = ?2, at = ?3, kid = ?4, sig = ?5",
            params![cp.seq, cp.head, cp.at, cp.kid, cp.sig],
        )?;
        fieldloop_core::faults::point("tablet.audit_checkpoint.after_commit");
        Ok(())
    }

    /// Every change made by `actor` (hex) that the server holds as far as
    /// the tablet knows (in the history of the heads it last acknowledged
    /// or sent), as (task, change hash hex), by task.
    pub fn acknowledged_changes(&self, actor: &str) -> Result<Vec<(String, String)>, StoreError> {
        let ids: Vec<(String, Vec<u8>)> = {
            let mut stmt = self
                .conn
                .prepare_cached("SELECT task_id, server_heads FROM documents ORDER BY task_id")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect::<Result<_, _>>()?
        };
        let mut out = Vec::new();
        for (id, heads) in ids {
            let server_heads = fieldloop_core::sync::heads_from_bytes(&heads);
            if server_heads.is_empty() {
                continue;
            }
            let (mut doc, _) = load(&self.conn, &id)?;
            let am = doc.automerge();
            let unsent: std::collections::HashSet<_> = am
                .get_changes(&server_heads)
                .into_iter()
                .map(|c| c.hash())
                .collect();
            for change in am.get_changes(&[]) {
                if change.actor_id().to_hex_string() == actor && !unsent.contains(&change.hash()) {
                    out.push((id.clone(), change.hash().to_string()));
                }
            }
        }
        Ok(out)
    }
}
