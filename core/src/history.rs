//! The audit trail (全程留痕): a task's history read from its changes.
//!
//! Every change carries the actor of the device that made it, the time the
//! device gave it (advisory: device clocks can be wrong; the server keeps
//! its own receipt time) and a human message.

use std::collections::BTreeMap;

use automerge::AutoCommit;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::status::Role;
use crate::task::ActorInfo;

/// One change in a task's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct HistoryEntry {
    /// Change hash (hex).
    pub hash: String,
    /// Actor id (hex) of the device.
    pub actor: String,
    /// Who acted through that device, if the document records it.
    pub person: Option<String>,
    pub role: Option<Role>,
    /// The device's time, milliseconds since the epoch (second precision).
    pub at: i64,
    pub message: String,
    /// The change's sequence number for its actor.
    pub seq: u64,
}

/// The changes in causal order (every change after those it depends on).
pub(crate) fn entries(
    doc: &mut AutoCommit,
    actors: &BTreeMap<String, ActorInfo>,
) -> Vec<HistoryEntry> {
    doc.get_changes_meta(&[])
        .into_iter()
        .map(|c| {
            let actor = c.actor.to_hex_string();
            let info = actors.get(&actor);
            HistoryEntry {
                hash: c.hash.to_string(),
                person: info.map(|a| a.person.clone()),
                role: info.map(|a| a.role),
                actor,
                at: c.timestamp.saturating_mul(1000),
                message: c.message.map(|m| m.to_string()).unwrap_or_default(),
                seq: c.seq,
            }
        })
        .collect()
}
