//! The audit trail of a task as the server can vouch for it: each change of
//! the document's history (who, the device's time, what) beside the
//! server's receipt of it (which device delivered it, the server's time).
//! Device clocks are advisory; receipt times are not.

use fieldloop_core::TaskDoc;

use crate::store::{Store, StoreError};

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
