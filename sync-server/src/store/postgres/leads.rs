//! Leads, their events and the channel keys (see [`crate::leads`]), on
//! PostgreSQL: the form of `sqlite/leads.rs`.
//!
//! Several instances may add leads at once, so a lead's number and its
//! duplicate check are taken under a lock of their own ([`lock_numbering`])
//! instead of SQLite's single writer.

use super::conn::{Plain, Sql};

use crate::console::TaskIndex;
use crate::leads::{Lead, LeadDraft, LeadEvent, LeadState};
use crate::store::codec::{json, lead_from, limit_param, link_duplicate, parsed, received_lead};
use crate::store::{ChannelKeyRow, Receipt, StoreError};

/// The transaction-scoped advisory lock under which leads are numbered
/// ("XS-leads"; distinct from the migration lock).
const LEAD_NUMBER_LOCK: i64 = 0x5853_2d6c_6561_6473;

/// Waits until no other transaction numbers leads, and keeps others waiting
/// until this one ends. Taken again by the same transaction, it just stacks.
///
/// At READ COMMITTED every later statement sees the leads committed by the
/// lock's previous holder, so `max(seq) + 1` and the duplicate and transfer
/// checks read what a single writer would.
fn lock_numbering(c: &mut impl Sql) -> Result<(), StoreError> {
    c.execute("SELECT pg_advisory_xact_lock($1)", &[&LEAD_NUMBER_LOCK])?;
    Ok(())
}

/// Replaces the departments a lead is with by those of `lead`.
fn write_departments(c: &mut impl Sql, lead: &Lead) -> Result<(), StoreError> {
    c.execute(
        "DELETE FROM lead_departments WHERE lead_id = $1",
        &[&lead.id],
    )?;
    if !lead.departments.is_empty() {
        c.execute(
            "INSERT INTO lead_departments (lead_id, department)
             SELECT $1, d FROM unnest($2::TEXT[]) AS d
             ON CONFLICT DO NOTHING",
            &[&lead.id, &lead.departments],
        )?;
    }
    Ok(())
}

/// Appends one step to a lead's events.
fn append_event(c: &mut impl Sql, lead: &str, event: &LeadEvent) -> Result<(), StoreError> {
    let kind = json(&event.kind)?;
    c.execute(
        r#"INSERT INTO lead_events (lead_id, kind, "by", "at", detail) VALUES ($1, $2, $3, $4, $5)"#,
        &[
            &lead,
            &kind.trim_matches('"'),
            &event.by,
            &event.at,
            &json(event)?,
        ],
    )?;
    Ok(())
}

/// The oldest open lead of `uscc` that shares a department with `departments`.
///
/// The open leads read are share-locked, so a step being saved on one of
/// them is waited for and its outcome (answered, other departments) is seen.
fn open_duplicate(
    c: &mut impl Sql,
    uscc: &str,
    departments: &[String],
) -> Result<Option<String>, StoreError> {
    let rows = c.query(
        "SELECT body FROM leads
         WHERE uscc = $1 AND state NOT IN ('answered', 'duplicate')
         ORDER BY seq FOR SHARE",
        &[&uscc],
    )?;
    for row in rows {
        let lead = lead_from(&row.try_get::<_, String>(0)?)?;
        if lead.departments.iter().any(|d| departments.contains(d)) {
            return Ok(Some(lead.id));
        }
    }
    Ok(None)
}

/// Inserts a lead in an open transaction (READ COMMITTED): gives it the
/// next number, links it to an open duplicate when the draft asks, and
/// writes its departments and events.
pub(super) fn insert(c: &mut impl Sql, draft: &LeadDraft, now: i64) -> Result<Lead, StoreError> {
    lock_numbering(c)?;
    let seq: i64 = c
        .query_one("SELECT coalesce(max(seq), 0) + 1 FROM leads", &[])?
        .try_get(0)?;
    let (mut lead, mut events) = received_lead(draft, seq, now);
    if draft.detect_duplicates
        && let Some(uscc) = &lead.uscc
        && !lead.departments.is_empty()
        && let Some(of) = open_duplicate(c, uscc, &lead.departments)?
    {
        link_duplicate(&mut lead, &mut events, of, now);
    }
    c.execute(
        "INSERT INTO leads (seq, id, source, state, uscc, received_at, updated_at, source_task, source_transfer, body)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        &[
            &seq,
            &lead.id,
            &lead.source.as_str(),
            &lead.state.as_str(),
            &lead.uscc,
            &lead.received_at,
            &lead.updated_at,
            &lead.source_task,
            &lead.source_transfer,
            &json(&lead)?,
        ],
    )?;
    write_departments(c, &lead)?;
    for event in &events {
        append_event(c, &lead.id, event)?;
    }
    Ok(lead)
}

/// Records a new lead in a transaction of its own (see [`insert`]).
pub(super) fn insert_lead(
    c: &mut Plain<'_>,
    draft: &LeadDraft,
    now: i64,
) -> Result<Lead, StoreError> {
    let mut tx = c.transaction()?;
    let lead = insert(&mut tx, draft, now)?;
    tx.commit()?;
    Ok(lead)
}

/// With a task's write: a lead for each of its lead transfers that has none
/// yet (keyed by task and transfer id, so re-pushes and merges add nothing).
/// The check runs under the numbering lock, so two instances writing the
/// same task cannot both add the lead.
pub(super) fn record_transfers(
    c: &mut impl Sql,
    index: &TaskIndex,
    now: i64,
) -> Result<(), StoreError> {
    if index.lead_transfers.is_empty() {
        return Ok(());
    }
    lock_numbering(c)?;
    for draft in crate::leads::transfer_leads(
        &index.id,
        &index.uscc,
        &index.subject_name,
        &index.lead_transfers,
        now,
    ) {
        let known = c
            .query_opt(
                "SELECT 1 FROM leads WHERE source_task = $1 AND source_transfer = $2",
                &[&draft.source_task, &draft.source_transfer],
            )?
            .is_some();
        if !known {
            insert(c, &draft, now)?;
        }
    }
    Ok(())
}

/// The lead `id`, if there is one.
pub(super) fn lead(c: &mut impl Sql, id: &str) -> Result<Option<Lead>, StoreError> {
    c.query_opt("SELECT body FROM leads WHERE id = $1", &[&id])?
        .map(|row| -> Result<Lead, StoreError> { lead_from(&row.try_get::<_, String>(0)?) })
        .transpose()
}

/// A lead's events, oldest first.
pub(super) fn lead_events(c: &mut impl Sql, id: &str) -> Result<Vec<LeadEvent>, StoreError> {
    let rows = c.query(
        "SELECT detail FROM lead_events WHERE lead_id = $1 ORDER BY seq",
        &[&id],
    )?;
    rows.iter()
        .map(|row| -> Result<LeadEvent, StoreError> {
            parsed("lead event", &row.try_get::<_, String>(0)?)
        })
        .collect()
}

/// Leads, newest first, at most `limit`: in `state` if given, and with one
/// of `departments` if given.
pub(super) fn list_leads(
    c: &mut impl Sql,
    state: Option<LeadState>,
    departments: Option<&[String]>,
    limit: usize,
) -> Result<Vec<Lead>, StoreError> {
    let state = state.map(|s| s.as_str());
    let rows = c.query(
        "SELECT body FROM leads
         WHERE ($1::TEXT IS NULL OR state = $1)
           AND ($2::TEXT[] IS NULL OR id IN (SELECT lead_id FROM lead_departments
                                             WHERE department = ANY($2::TEXT[])))
         ORDER BY seq DESC LIMIT $3",
        &[&state, &departments, &limit_param(limit)],
    )?;
    rows.iter()
        .map(|row| -> Result<Lead, StoreError> { lead_from(&row.try_get::<_, String>(0)?) })
        .collect()
}

/// Stores a step, the lead as `after` and its event, if the stored lead is
/// still `before`; [`StoreError::LeadChanged`], nothing written, otherwise.
///
/// The update is conditional on the stored body: a concurrent step on the
/// same lead holds the row until it commits, after which the body no
/// longer matches and this one changes nothing.
pub(super) fn save_step(
    c: &mut Plain<'_>,
    before: &Lead,
    after: &Lead,
    event: &LeadEvent,
) -> Result<(), StoreError> {
    let mut tx = c.transaction()?;
    let changed = tx.execute(
        "UPDATE leads SET state = $2, updated_at = $3, body = $4 WHERE id = $1 AND body = $5",
        &[
            &after.id,
            &after.state.as_str(),
            &after.updated_at,
            &json(after)?,
            &json(before)?,
        ],
    )?;
    if changed != 1 {
        return Err(StoreError::LeadChanged(before.id.clone()));
    }
    write_departments(&mut tx, after)?;
    append_event(&mut tx, &after.id, event)?;
    tx.commit()?;
    Ok(())
}

/// Stores a new channel key (its hash).
pub(super) fn add_channel_key(c: &mut impl Sql, row: &ChannelKeyRow) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO channel_keys (id, channel, key_hash, created_by, created_at, revoked_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            &row.id,
            &row.channel,
            &row.key_hash,
            &row.created_by,
            &row.created_at,
            &row.revoked_at,
        ],
    )?;
    Ok(())
}

/// The channel key columns, in [`key_row`]'s order.
const KEY_COLUMNS: &str = "id, channel, key_hash, created_by, created_at, revoked_at";

/// A channel key from a row selected as [`KEY_COLUMNS`].
fn key_row(r: &postgres::Row) -> Result<ChannelKeyRow, StoreError> {
    Ok(ChannelKeyRow {
        id: r.try_get(0)?,
        channel: r.try_get(1)?,
        key_hash: r.try_get(2)?,
        created_by: r.try_get(3)?,
        created_at: r.try_get(4)?,
        revoked_at: r.try_get(5)?,
    })
}

/// The channel key `id`, revoked or not.
pub(super) fn channel_key(c: &mut impl Sql, id: &str) -> Result<Option<ChannelKeyRow>, StoreError> {
    c.query_opt(
        &format!("SELECT {KEY_COLUMNS} FROM channel_keys WHERE id = $1"),
        &[&id],
    )?
    .map(|row| key_row(&row))
    .transpose()
}

/// All channel keys, oldest first (ids in byte order, as SQLite sorts them).
pub(super) fn channel_keys(c: &mut impl Sql) -> Result<Vec<ChannelKeyRow>, StoreError> {
    let rows = c.query(
        &format!(r#"SELECT {KEY_COLUMNS} FROM channel_keys ORDER BY created_at, id COLLATE "C""#),
        &[],
    )?;
    rows.iter().map(key_row).collect()
}

/// Revokes a key; `false` if there is no such key not yet revoked.
pub(super) fn revoke_channel_key(c: &mut impl Sql, id: &str, now: i64) -> Result<bool, StoreError> {
    Ok(c.execute(
        "UPDATE channel_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
        &[&id, &now],
    )? == 1)
}

/// The receipt log from the first entry of `task_id` to its end, read at one
/// instant; empty if the task has none, `None` if that is more than `limit`
/// entries.
///
/// One statement, so one snapshot (a READ COMMITTED transaction would give
/// each statement its own): it reads at most `limit + 1` entries and the
/// extra one tells that the span is too long.
pub(super) fn receipts_since_task(
    c: &mut impl Sql,
    task_id: &str,
    limit: usize,
) -> Result<Option<Vec<Receipt>>, StoreError> {
    let rows = c.query(
        "SELECT seq, change_hash, task_id, device_id, received_at, prev, hash FROM receipts
         WHERE seq >= (SELECT min(seq) FROM receipts WHERE task_id = $1)
         ORDER BY seq LIMIT $2",
        &[&task_id, &limit_param(limit.saturating_add(1))],
    )?;
    if rows.len() > limit {
        return Ok(None);
    }
    let receipts = rows
        .iter()
        .map(|r| -> Result<Receipt, StoreError> {
            Ok(Receipt {
                seq: r.try_get(0)?,
                change_hash: r.try_get(1)?,
                task_id: r.try_get(2)?,
                device_id: r.try_get(3)?,
                received_at: r.try_get(4)?,
                prev: r.try_get(5)?,
                hash: r.try_get(6)?,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(receipts))
}
