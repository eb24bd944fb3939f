//! Leads, their events and the channel keys (see [`crate::leads`]).

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};

use super::Cached;
use crate::console::TaskIndex;
use crate::leads::{Lead, LeadDraft, LeadEvent, LeadState};
use crate::store::codec::{json, lead_from, limit_param, link_duplicate, parsed, received_lead};
use crate::store::{ChannelKeyRow, Receipt, StoreError};

fn write_departments(tx: &Transaction<'_>, lead: &Lead) -> Result<(), StoreError> {
    tx.cached_exec(
        "DELETE FROM lead_departments WHERE lead_id = ?1",
        [&lead.id],
    )?;
    for d in &lead.departments {
        tx.cached_exec(
            "INSERT OR IGNORE INTO lead_departments (lead_id, department) VALUES (?1, ?2)",
            params![lead.id, d],
        )?;
    }
    Ok(())
}

fn append_event(tx: &Transaction<'_>, lead: &str, event: &LeadEvent) -> Result<(), StoreError> {
    tx.cached_exec(
        "INSERT INTO lead_events (lead_id, kind, by, at, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            lead,
            json(&event.kind)?.trim_matches('"'),
            event.by,
            event.at,
            json(event)?
        ],
    )?;
    Ok(())
}

/// The oldest open lead of `uscc` that shares a department with `departments`.
fn open_duplicate(
    tx: &Transaction<'_>,
    uscc: &str,
    departments: &[String],
) -> Result<Option<String>, StoreError> {
    let mut stmt = tx.prepare_cached(
        "SELECT body FROM leads WHERE uscc = ?1 AND state NOT IN ('answered', 'duplicate') ORDER BY seq",
    )?;
    let bodies = stmt
        .query_map([uscc], |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    for body in bodies {
        let lead = lead_from(&body)?;
        if lead.departments.iter().any(|d| departments.contains(d)) {
            return Ok(Some(lead.id));
        }
    }
    Ok(None)
}

/// Inserts a lead in an open transaction.
pub(super) fn insert(
    tx: &Transaction<'_>,
    draft: &LeadDraft,
    now: i64,
) -> Result<Lead, StoreError> {
    let seq: i64 = tx.cached_row("SELECT coalesce(max(seq), 0) + 1 FROM leads", [], |r| {
        r.get(0)
    })?;
    let (mut lead, mut events) = received_lead(draft, seq, now);
    if draft.detect_duplicates
        && let Some(uscc) = &lead.uscc
        && !lead.departments.is_empty()
        && let Some(of) = open_duplicate(tx, uscc, &lead.departments)?
    {
        link_duplicate(&mut lead, &mut events, of, now);
    }
    tx.cached_exec(
        "INSERT INTO leads (seq, id, source, state, uscc, received_at, updated_at, source_task, source_transfer, body)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            seq,
            lead.id,
            lead.source.as_str(),
            lead.state.as_str(),
            lead.uscc,
            lead.received_at,
            lead.updated_at,
            lead.source_task,
            lead.source_transfer,
            json(&lead)?
        ],
    )?;
    write_departments(tx, &lead)?;
    for event in &events {
        append_event(tx, &lead.id, event)?;
    }
    Ok(lead)
}

pub(super) fn insert_lead(
    conn: &mut Connection,
    draft: &LeadDraft,
    now: i64,
) -> Result<Lead, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let lead = insert(&tx, draft, now)?;
    tx.commit()?;
    Ok(lead)
}

/// With a task's write: a lead for each of its lead transfers that has none
/// yet (keyed by task and transfer id, so re-pushes and merges add nothing).
pub(super) fn record_transfers(
    tx: &Transaction<'_>,
    index: &TaskIndex,
    now: i64,
) -> Result<(), StoreError> {
    if index.lead_transfers.is_empty() {
        return Ok(());
    }
    for draft in crate::leads::transfer_leads(
        &index.id,
        &index.uscc,
        &index.subject_name,
        &index.lead_transfers,
        now,
    ) {
        let known = tx
            .cached_row(
                "SELECT 1 FROM leads WHERE source_task = ?1 AND source_transfer = ?2",
                params![draft.source_task, draft.source_transfer],
                |_| Ok(()),
            )
            .optional()?
            .is_some();
        if !known {
            insert(tx, &draft, now)?;
        }
    }
    Ok(())
}

pub(super) fn lead(conn: &Connection, id: &str) -> Result<Option<Lead>, StoreError> {
    conn.cached_row("SELECT body FROM leads WHERE id = ?1", [id], |r| {
        r.get::<_, String>(0)
    })
    .optional()?
    .map(|b| lead_from(&b))
    .transpose()
}

pub(super) fn lead_events(conn: &Connection, id: &str) -> Result<Vec<LeadEvent>, StoreError> {
    let mut stmt =
        conn.prepare_cached("SELECT detail FROM lead_events WHERE lead_id = ?1 ORDER BY seq")?;
    let rows = stmt.query_map([id], |r| r.get::<_, String>(0))?;
    rows.map(|r| parsed("lead event", &r?)).collect()
}

pub(super) fn list_leads(
    conn: &Connection,
    state: Option<LeadState>,
    departments: Option<&[String]>,
    limit: usize,
) -> Result<Vec<Lead>, StoreError> {
    let limit = limit_param(limit);
    let state = state.map(|s| s.as_str());
    let departments = departments.map(json).transpose()?;
    let mut stmt = conn.prepare_cached(
        "SELECT body FROM leads
         WHERE (?1 IS NULL OR state = ?1)
           AND (?2 IS NULL OR id IN (SELECT lead_id FROM lead_departments
                                     WHERE department IN (SELECT value FROM json_each(?2))))
         ORDER BY seq DESC LIMIT ?3",
    )?;
    let rows = stmt.query_map(params![state, departments, limit], |r| {
        r.get::<_, String>(0)
    })?;
    rows.map(|r| lead_from(&r?)).collect()
}

pub(super) fn save_step(
    conn: &mut Connection,
    before: &Lead,
    after: &Lead,
    event: &LeadEvent,
) -> Result<(), StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let changed = tx.cached_exec(
        "UPDATE leads SET state = ?2, updated_at = ?3, body = ?4 WHERE id = ?1 AND body = ?5",
        params![
            after.id,
            after.state.as_str(),
            after.updated_at,
            json(after)?,
            json(before)?
        ],
    )?;
    if changed != 1 {
        return Err(StoreError::LeadChanged(before.id.clone()));
    }
    write_departments(&tx, after)?;
    append_event(&tx, &after.id, event)?;
    tx.commit()?;
    Ok(())
}

pub(super) fn add_channel_key(conn: &Connection, row: &ChannelKeyRow) -> Result<(), StoreError> {
    conn.cached_exec(
        "INSERT INTO channel_keys (id, channel, key_hash, created_by, created_at, revoked_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![row.id, row.channel, row.key_hash, row.created_by, row.created_at, row.revoked_at],
    )?;
    Ok(())
}

const KEY_COLUMNS: &str = "id, channel, key_hash, created_by, created_at, revoked_at";

fn key_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ChannelKeyRow> {
    Ok(ChannelKeyRow {
        id: r.get(0)?,
        channel: r.get(1)?,
        key_hash: r.get(2)?,
        created_by: r.get(3)?,
        created_at: r.get(4)?,
        revoked_at: r.get(5)?,
    })
}

pub(super) fn channel_key(
    conn: &Connection,
    id: &str,
) -> Result<Option<ChannelKeyRow>, StoreError> {
    Ok(conn
        .cached_row(
            &format!("SELECT {KEY_COLUMNS} FROM channel_keys WHERE id = ?1"),
            [id],
            key_row,
        )
        .optional()?)
}

pub(super) fn channel_keys(conn: &Connection) -> Result<Vec<ChannelKeyRow>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {KEY_COLUMNS} FROM channel_keys ORDER BY created_at, id"
    ))?;
    let rows = stmt.query_map([], key_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(super) fn revoke_channel_key(
    conn: &Connection,
    id: &str,
    now: i64,
) -> Result<bool, StoreError> {
    Ok(conn.cached_exec(
        "UPDATE channel_keys SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
        params![id, now],
    )? == 1)
}

pub(super) fn receipts_since_task(
    conn: &mut Connection,
    task_id: &str,
    limit: usize,
) -> Result<Option<Vec<Receipt>>, StoreError> {
    // One read transaction: the span and its end are of the same instant.
    let tx = conn.transaction()?;
    let first: Option<i64> = tx.cached_row(
        "SELECT min(seq) FROM receipts WHERE task_id = ?1",
        [task_id],
        |r| r.get(0),
    )?;
    let Some(first) = first else {
        return Ok(Some(Vec::new()));
    };
    let last: i64 = tx.cached_row("SELECT max(seq) FROM receipts", [], |r| r.get(0))?;
    if usize::try_from(last - first + 1).unwrap_or(usize::MAX) > limit {
        return Ok(None);
    }
    let mut stmt = tx.prepare_cached(&format!(
        "SELECT {} FROM receipts WHERE seq >= ?1 ORDER BY seq",
        super::audit::RECEIPT_COLUMNS
    ))?;
    let rows = stmt.query_map([first], super::audit::receipt_from_row)?;
    let receipts = rows.collect::<Result<Vec<_>, _>>()?;
    drop(stmt);
    tx.commit()?;
    Ok(Some(receipts))
}
