//! Plans, draws and declared conflicts (双随机、一公开) in PostgreSQL (see
//! `sqlite/plans.rs`).
//!
//! SQLite serialises these writes with its one writer; here a plan's row is
//! locked (`FOR UPDATE`) before its state is compared, a plan inserted
//! meanwhile by another instance counts as changed, and a task code taken
//! meanwhile shows as the unique violation of `task_codes`. Text sorts use
//! `COLLATE "C"`, SQLite's byte order.

use std::collections::HashMap;

use super::conn::{Plain, Sql};
use fieldloop_core::Subject;
use fieldloop_core::draw::PlanPools;

use super::catalog::{SUBJECT_COLUMNS, subject_row};
use crate::store::codec::{json, limit_param, parsed, state_from, subject_from, unspaced};
use crate::store::{ConflictRow, DrawWrite, PlanRow, PlanState, PublishedRow, StoreError};

/// Every subject, by USCC (byte order, as the SQLite store gives them).
pub(super) fn all_subjects(c: &mut impl Sql) -> Result<Vec<Subject>, StoreError> {
    c.query(
        &format!(r#"SELECT {SUBJECT_COLUMNS} FROM subjects ORDER BY uscc COLLATE "C""#),
        &[],
    )?
    .iter()
    .map(|r| subject_from(subject_row(r)?))
    .collect()
}

/// How many tasks not cancelled each USCC has with windows starting in
/// `[start, end)`.
pub(super) fn inspection_counts(
    c: &mut impl Sql,
    start: i64,
    end: i64,
) -> Result<HashMap<String, u64>, StoreError> {
    let rows = c.query(
        "SELECT uscc, count(*) FROM task_index WHERE window_start >= $1 AND window_start < $2
         AND coalesce(status, '') <> 'cancelled' GROUP BY uscc",
        &[&start, &end],
    )?;
    let mut counts = HashMap::new();
    for r in &rows {
        let n: i64 = r.try_get(1)?;
        counts.insert(r.try_get(0)?, n.unsigned_abs());
    }
    Ok(counts)
}

/// The columns [`plan_from`] reads, in its order.
const PLAN_COLUMNS: &str =
    "id, spec, state, created_by, created_at, updated_at, fixed, entropy, draw";

/// A plan from its row, selected as [`PLAN_COLUMNS`]; its JSON checked.
fn plan_from(r: &postgres::Row) -> Result<PlanRow, StoreError> {
    let id: String = r.try_get(0)?;
    let fixed: Option<&str> = r.try_get(6)?;
    let entropy: Option<&str> = r.try_get(7)?;
    Ok(PlanRow {
        spec: parsed(&format!("plan {id}"), r.try_get(1)?)?,
        state: state_from(r.try_get(2)?)?,
        created_by: r.try_get(3)?,
        created_at: r.try_get(4)?,
        updated_at: r.try_get(5)?,
        fixed: fixed.map(|f| parsed("fixed plan", f)).transpose()?,
        entropy: entropy.map(|e| parsed("entropy", e)).transpose()?,
        draw: r.try_get(8)?,
        id,
    })
}

/// Every plan, newest first.
pub(super) fn plans(c: &mut impl Sql) -> Result<Vec<PlanRow>, StoreError> {
    c.query(
        &format!(r#"SELECT {PLAN_COLUMNS} FROM plans ORDER BY created_at DESC, id COLLATE "C""#),
        &[],
    )?
    .iter()
    .map(plan_from)
    .collect()
}

/// The plan `id`, if any.
pub(super) fn plan(c: &mut impl Sql, id: &str) -> Result<Option<PlanRow>, StoreError> {
    c.query_opt(
        &format!("SELECT {PLAN_COLUMNS} FROM plans WHERE id = $1"),
        &[&id],
    )?
    .as_ref()
    .map(plan_from)
    .transpose()
}

/// The pools snapshotted when plan `id` was fixed, if it exists and has them.
pub(super) fn plan_pools(c: &mut impl Sql, id: &str) -> Result<Option<PlanPools>, StoreError> {
    let Some(r) = c.query_opt("SELECT pools FROM plans WHERE id = $1", &[&id])? else {
        return Ok(None);
    };
    let text: Option<&str> = r.try_get(0)?;
    text.map(|t| parsed("pools", t)).transpose()
}

/// Inserts or updates a plan (keeping its stored pools when `pools` is
/// `None`), if its state is still `expect` (`None`: no such plan yet);
/// [`StoreError::PlanChanged`] otherwise.
pub(super) fn save_plan(
    c: &mut Plain<'_>,
    row: &PlanRow,
    pools: Option<&PlanPools>,
    expect: Option<PlanState>,
) -> Result<(), StoreError> {
    let mut tx = c.transaction()?;
    let current: Option<String> = tx
        .query_opt(
            "SELECT state FROM plans WHERE id = $1 FOR UPDATE",
            &[&row.id],
        )?
        .map(|r| r.try_get(0))
        .transpose()?;
    match (expect, current.as_deref()) {
        (None, None) => {}
        (Some(e), Some(s)) if e.as_str() == s => {}
        _ => return Err(StoreError::PlanChanged(row.id.clone())),
    }
    let spec = json(&row.spec)?;
    let fixed = row.fixed.as_ref().map(json).transpose()?;
    let entropy = row.entropy.as_ref().map(json).transpose()?;
    let pools = pools.map(json).transpose()?;
    let written = if current.is_none() {
        // Another instance may have inserted it since: then nothing is written.
        tx.execute(
            "INSERT INTO plans (id, spec, state, created_by, created_at, updated_at, fixed, pools,
                 entropy, draw)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             ON CONFLICT (id) DO NOTHING",
            &[
                &row.id,
                &spec,
                &row.state.as_str(),
                &row.created_by,
                &row.created_at,
                &row.updated_at,
                &fixed,
                &pools,
                &entropy,
                &row.draw,
            ],
        )?
    } else {
        tx.execute(
            "UPDATE plans SET spec = $2, state = $3, updated_at = $4, fixed = $5,
                 pools = coalesce($6::TEXT, pools), entropy = $7, draw = $8
             WHERE id = $1",
            &[
                &row.id,
                &spec,
                &row.state.as_str(),
                &row.updated_at,
                &fixed,
                &pools,
                &entropy,
                &row.draw,
            ],
        )?
    };
    if written != 1 {
        return Err(StoreError::PlanChanged(row.id.clone()));
    }
    tx.commit()?;
    Ok(())
}

/// Deletes plan `id` if it is a draft; whether it did.
pub(super) fn delete_plan(c: &mut impl Sql, id: &str) -> Result<bool, StoreError> {
    Ok(c.execute(
        "DELETE FROM plans WHERE id = $1 AND state = 'draft'",
        &[&id],
    )? > 0)
}

/// Every declared conflict, by inspector and USCC.
pub(super) fn conflicts(c: &mut impl Sql) -> Result<Vec<ConflictRow>, StoreError> {
    c.query(
        r#"SELECT inspector, uscc, reason, declared_by, declared_at FROM conflicts
           ORDER BY inspector COLLATE "C", uscc COLLATE "C""#,
        &[],
    )?
    .iter()
    .map(|r| {
        Ok(ConflictRow {
            inspector: r.try_get(0)?,
            uscc: r.try_get(1)?,
            reason: r.try_get(2)?,
            declared_by: r.try_get(3)?,
            declared_at: r.try_get(4)?,
        })
    })
    .collect()
}

/// Declares a conflict, or replaces the declaration of the same pair.
pub(super) fn put_conflict(c: &mut impl Sql, row: &ConflictRow) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO conflicts (inspector, uscc, reason, declared_by, declared_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (inspector, uscc) DO UPDATE SET reason = excluded.reason,
             declared_by = excluded.declared_by, declared_at = excluded.declared_at",
        &[
            &row.inspector,
            &row.uscc,
            &row.reason,
            &row.declared_by,
            &row.declared_at,
        ],
    )?;
    Ok(())
}

/// Withdraws the conflict of `inspector` with `uscc`; whether there was one.
pub(super) fn delete_conflict(
    c: &mut impl Sql,
    inspector: &str,
    uscc: &str,
) -> Result<bool, StoreError> {
    Ok(c.execute(
        "DELETE FROM conflicts WHERE inspector = $1 AND uscc = $2",
        &[&inspector, &uscc],
    )? > 0)
}

/// In one transaction: every plan of the record from `fixed` to `drawn`
/// ([`StoreError::PlanChanged`] if one is not fixed any more), the draw,
/// and its tasks with their codes ([`StoreError::TaskCodeTaken`] if a code
/// or verify code is in use).
pub(super) fn commit_draw(
    c: &mut Plain<'_>,
    draw: &DrawWrite<'_>,
    now: i64,
) -> Result<(), StoreError> {
    let mut tx = c.transaction()?;
    // The feed's lock first, as every writer of the feed takes it: the
    // draw's tasks get feed positions in commit order.
    let mut lock = super::FeedLock::take(&mut tx)?;
    // The record's plans are in id order, so two draws lock them alike.
    for plan in &draw.record.plans {
        let changed = tx.execute(
            "UPDATE plans SET state = 'drawn', draw = $2, updated_at = $3
             WHERE id = $1 AND state = 'fixed'",
            &[&plan.params.id, &draw.record.id, &now],
        )?;
        if changed != 1 {
            return Err(StoreError::PlanChanged(plan.params.id.clone()));
        }
    }
    tx.execute(
        "INSERT INTO draws (id, at, by, record, pools, summary) VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            &draw.record.id,
            &draw.record.at,
            &draw.record.by,
            &json(draw.record)?,
            &json(&draw.pools)?,
            &draw.summary,
        ],
    )?;
    for (write, codes) in &draw.tasks {
        let taken = tx.query_opt(
            "SELECT code FROM task_codes WHERE code = $1 OR verify_code = $2",
            &[&codes.code, &codes.verify_code],
        )?;
        if let Some(r) = taken {
            return Err(StoreError::TaskCodeTaken(r.try_get(0)?));
        }
        super::write_task(
            &mut tx,
            &mut lock,
            write,
            false,
            crate::tasks::SERVER_DEVICE,
            now,
        )?;
        tx.execute(
            "INSERT INTO task_codes (task_id, code, verify_code) VALUES ($1, $2, $3)",
            &[&write.id, &codes.code, &codes.verify_code],
        )
        .map_err(|e| {
            // Taken by a commit since the check above.
            if super::is_unique_violation(&e) {
                StoreError::TaskCodeTaken(codes.code.clone())
            } else {
                e.into()
            }
        })?;
        tx.execute(
            "INSERT INTO draw_tasks (draw, task_id) VALUES ($1, $2)",
            &[&draw.record.id, &write.id],
        )?;
    }
    lock.release(&mut tx)?;
    tx.commit()?;
    Ok(())
}

/// Every draw's id, time and public summary (JSON), newest first.
pub(super) fn draws(c: &mut impl Sql) -> Result<Vec<(String, i64, String)>, StoreError> {
    c.query(
        r#"SELECT id, at, summary FROM draws ORDER BY at DESC, id COLLATE "C""#,
        &[],
    )?
    .iter()
    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
    .collect()
}

/// The record (or, with `pools`, the pools) of draw `id`, as JSON.
pub(super) fn draw_column(
    c: &mut impl Sql,
    id: &str,
    pools: bool,
) -> Result<Option<String>, StoreError> {
    let sql = if pools {
        "SELECT pools FROM draws WHERE id = $1"
    } else {
        "SELECT record FROM draws WHERE id = $1"
    };
    Ok(c.query_opt(sql, &[&id])?
        .map(|r| r.try_get(0))
        .transpose()?)
}

/// The highest number that follows `prefix` in a task code (0: none).
pub(super) fn highest_code(c: &mut impl Sql, prefix: &str) -> Result<u64, StoreError> {
    let rows = c.query(
        "SELECT code FROM task_codes WHERE substr(code, 1, length($1::TEXT)) = $1::TEXT",
        &[&prefix],
    )?;
    let mut highest = 0;
    for r in &rows {
        let code: &str = r.try_get(0)?;
        if let Some(n) = code
            .get(prefix.len()..)
            .and_then(|rest| rest.parse::<u64>().ok())
        {
            highest = highest.max(n);
        }
    }
    Ok(highest)
}

/// Published tasks, newest publication first, at most `limit`, each with
/// the draw that made it (if one did).
pub(super) fn published(c: &mut impl Sql, limit: usize) -> Result<Vec<PublishedRow>, StoreError> {
    c.query(
        r#"SELECT i.code, i.subject_name, i.uscc, i.departments, i.window_start, i.due, i.findings,
                i.rectification_due IS NOT NULL, i.updated_at,
                (SELECT d.draw FROM draw_tasks d WHERE d.task_id = i.task_id
                 ORDER BY d.draw COLLATE "C" LIMIT 1)
         FROM task_index i WHERE i.status = 'published'
         ORDER BY i.updated_at DESC, i.code COLLATE "C" LIMIT $1"#,
        &[&limit_param(limit)],
    )?
    .iter()
    .map(|r| {
        let departments: &str = r.try_get(3)?;
        Ok(PublishedRow {
            code: r.try_get(0)?,
            subject_name: r.try_get(1)?,
            uscc: r.try_get(2)?,
            departments: unspaced(departments),
            window_start: r.try_get(4)?,
            due: r.try_get(5)?,
            findings: u32::try_from(r.try_get::<_, i64>(6)?.clamp(0, i64::from(u32::MAX)))
                .unwrap_or(u32::MAX),
            rectification: r.try_get(7)?,
            published_at: r.try_get(8)?,
            draw: r.try_get(9)?,
        })
    })
    .collect()
}
