//! Plans, draws and declared conflicts (双随机、一公开).

use std::collections::HashMap;

use fieldloop_core::Subject;
use fieldloop_core::draw::PlanPools;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::catalog::{SUBJECT_COLUMNS, subject_row};
use super::{Cached, write_task};
use crate::store::codec::{json, limit_param, parsed, state_from, subject_from, unspaced};
use crate::store::{ConflictRow, DrawWrite, PlanRow, PlanState, PublishedRow, StoreError};

pub(super) fn all_subjects(conn: &Connection) -> Result<Vec<Subject>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {SUBJECT_COLUMNS} FROM subjects ORDER BY uscc"
    ))?;
    let rows = stmt.query_map([], subject_row)?;
    rows.map(|r| subject_from(r?)).collect()
}

pub(super) fn inspection_counts(
    conn: &Connection,
    start: i64,
    end: i64,
) -> Result<HashMap<String, u64>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT uscc, count(*) FROM task_index WHERE window_start >= ?1 AND window_start < ?2
         AND coalesce(status, '') <> 'cancelled' GROUP BY uscc",
    )?;
    let rows = stmt.query_map(params![start, end], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
    })?;
    let mut counts = HashMap::new();
    for row in rows {
        let (uscc, n) = row?;
        counts.insert(uscc, n.unsigned_abs());
    }
    Ok(counts)
}

const PLAN_COLUMNS: &str =
    "id, spec, state, created_by, created_at, updated_at, fixed, entropy, draw";

fn plan_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<[Option<String>; 9]> {
    let text = |i: usize| -> rusqlite::Result<Option<String>> {
        match r.get_ref(i)? {
            rusqlite::types::ValueRef::Null => Ok(None),
            rusqlite::types::ValueRef::Integer(n) => Ok(Some(n.to_string())),
            _ => r.get(i),
        }
    };
    Ok([
        text(0)?,
        text(1)?,
        text(2)?,
        text(3)?,
        text(4)?,
        text(5)?,
        text(6)?,
        text(7)?,
        text(8)?,
    ])
}

fn plan_from(row: [Option<String>; 9]) -> Result<PlanRow, StoreError> {
    let [
        id,
        spec,
        state,
        created_by,
        created_at,
        updated_at,
        fixed,
        entropy,
        draw,
    ] = row;
    let need = |v: Option<String>| v.ok_or_else(|| StoreError::Invalid("plan row".into()));
    let id = need(id)?;
    let number = |v: Option<String>| -> Result<i64, StoreError> {
        need(v)?
            .parse()
            .map_err(|_| StoreError::Invalid("plan time".into()))
    };
    Ok(PlanRow {
        spec: parsed(&format!("plan {id}"), &need(spec)?)?,
        state: state_from(&need(state)?)?,
        created_by: need(created_by)?,
        created_at: number(created_at)?,
        updated_at: number(updated_at)?,
        fixed: fixed.map(|f| parsed("fixed plan", &f)).transpose()?,
        entropy: entropy.map(|e| parsed("entropy", &e)).transpose()?,
        draw,
        id,
    })
}

pub(super) fn plans(conn: &Connection) -> Result<Vec<PlanRow>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {PLAN_COLUMNS} FROM plans ORDER BY created_at DESC, id"
    ))?;
    let rows = stmt.query_map([], plan_row)?;
    rows.map(|r| plan_from(r?)).collect()
}

pub(super) fn plan(conn: &Connection, id: &str) -> Result<Option<PlanRow>, StoreError> {
    conn.cached_row(
        &format!("SELECT {PLAN_COLUMNS} FROM plans WHERE id = ?1"),
        [id],
        plan_row,
    )
    .optional()?
    .map(plan_from)
    .transpose()
}

pub(super) fn plan_pools(conn: &Connection, id: &str) -> Result<Option<PlanPools>, StoreError> {
    let text: Option<Option<String>> = conn
        .cached_row("SELECT pools FROM plans WHERE id = ?1", [id], |r| r.get(0))
        .optional()?;
    text.flatten().map(|t| parsed("pools", &t)).transpose()
}

pub(super) fn save_plan(
    conn: &mut Connection,
    row: &PlanRow,
    pools: Option<&PlanPools>,
    expect: Option<PlanState>,
) -> Result<(), StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let current: Option<String> = tx
        .cached_row("SELECT state FROM plans WHERE id = ?1", [&row.id], |r| {
            r.get(0)
        })
        .optional()?;
    match (expect, current.as_deref()) {
        (None, None) => {}
        (Some(e), Some(c)) if e.as_str() == c => {}
        _ => return Err(StoreError::PlanChanged(row.id.clone())),
    }
    let fixed = row.fixed.as_ref().map(json).transpose()?;
    let entropy = row.entropy.as_ref().map(json).transpose()?;
    let pools = pools.map(json).transpose()?;
    tx.cached_exec(
        "INSERT INTO plans (id, spec, state, created_by, created_at, updated_at, fixed, pools, entropy, draw)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
         ON CONFLICT (id) DO UPDATE SET spec = excluded.spec, state = excluded.state,
             updated_at = excluded.updated_at, fixed = excluded.fixed,
             pools = coalesce(excluded.pools, plans.pools), entropy = excluded.entropy,
             draw = excluded.draw",
        params![
            row.id,
            json(&row.spec)?,
            row.state.as_str(),
            row.created_by,
            row.created_at,
            row.updated_at,
            fixed,
            pools,
            entropy,
            row.draw
        ],
    )?;
    tx.commit()?;
    Ok(())
}

pub(super) fn delete_plan(conn: &Connection, id: &str) -> Result<bool, StoreError> {
    Ok(conn.cached_exec("DELETE FROM plans WHERE id = ?1 AND state = 'draft'", [id])? > 0)
}

pub(super) fn conflicts(conn: &Connection) -> Result<Vec<ConflictRow>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT inspector, uscc, reason, declared_by, declared_at FROM conflicts ORDER BY inspector, uscc",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(ConflictRow {
            inspector: r.get(0)?,
            uscc: r.get(1)?,
            reason: r.get(2)?,
            declared_by: r.get(3)?,
            declared_at: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(super) fn put_conflict(conn: &Connection, c: &ConflictRow) -> Result<(), StoreError> {
    conn.cached_exec(
        "INSERT INTO conflicts (inspector, uscc, reason, declared_by, declared_at) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (inspector, uscc) DO UPDATE SET reason = excluded.reason,
             declared_by = excluded.declared_by, declared_at = excluded.declared_at",
        params![c.inspector, c.uscc, c.reason, c.declared_by, c.declared_at],
    )?;
    Ok(())
}

pub(super) fn delete_conflict(
    conn: &Connection,
    inspector: &str,
    uscc: &str,
) -> Result<bool, StoreError> {
    Ok(conn.cached_exec(
        "DELETE FROM conflicts WHERE inspector = ?1 AND uscc = ?2",
        [inspector, uscc],
    )? > 0)
}

pub(super) fn commit_draw(
    conn: &mut Connection,
    draw: &DrawWrite<'_>,
    now: i64,
) -> Result<(), StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    for plan in &draw.record.plans {
        let changed = tx.cached_exec(
            "UPDATE plans SET state = 'drawn', draw = ?2, updated_at = ?3 WHERE id = ?1 AND state = 'fixed'",
            params![plan.params.id, draw.record.id, now],
        )?;
        if changed != 1 {
            return Err(StoreError::PlanChanged(plan.params.id.clone()));
        }
    }
    tx.cached_exec(
        "INSERT INTO draws (id, at, by, record, pools, summary) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            draw.record.id,
            draw.record.at,
            draw.record.by,
            json(draw.record)?,
            json(&draw.pools)?,
            draw.summary
        ],
    )?;
    for (write, codes) in &draw.tasks {
        let taken: Option<String> = tx
            .cached_row(
                "SELECT code FROM task_codes WHERE code = ?1 OR verify_code = ?2",
                params![codes.code, codes.verify_code],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(code) = taken {
            return Err(StoreError::TaskCodeTaken(code));
        }
        write_task(&tx, write, false, crate::tasks::SERVER_DEVICE, now)?;
        tx.cached_exec(
            "INSERT INTO task_codes (task_id, code, verify_code) VALUES (?1, ?2, ?3)",
            params![write.id, codes.code, codes.verify_code],
        )?;
        tx.cached_exec(
            "INSERT INTO draw_tasks (draw, task_id) VALUES (?1, ?2)",
            params![draw.record.id, write.id],
        )?;
    }
    tx.commit()?;
    Ok(())
}

pub(super) fn draws(conn: &Connection) -> Result<Vec<(String, i64, String)>, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT id, at, summary FROM draws ORDER BY at DESC, id")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(super) fn draw_column(
    conn: &Connection,
    id: &str,
    pools: bool,
) -> Result<Option<String>, StoreError> {
    let sql = if pools {
        "SELECT pools FROM draws WHERE id = ?1"
    } else {
        "SELECT record FROM draws WHERE id = ?1"
    };
    Ok(conn.cached_row(sql, [id], |r| r.get(0)).optional()?)
}

pub(super) fn highest_code(conn: &Connection, prefix: &str) -> Result<u64, StoreError> {
    let mut stmt =
        conn.prepare_cached("SELECT code FROM task_codes WHERE substr(code, 1, length(?1)) = ?1")?;
    let rows = stmt.query_map([prefix], |r| r.get::<_, String>(0))?;
    let mut highest = 0;
    for code in rows {
        if let Ok(n) = code?[prefix.len()..].parse::<u64>() {
            highest = highest.max(n);
        }
    }
    Ok(highest)
}

pub(super) fn published(conn: &Connection, limit: usize) -> Result<Vec<PublishedRow>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT i.code, i.subject_name, i.uscc, i.departments, i.window_start, i.due, i.findings,
                i.rectification_due IS NOT NULL, i.updated_at,
                (SELECT d.draw FROM draw_tasks d WHERE d.task_id = i.task_id)
         FROM task_index i WHERE i.status = 'published'
         ORDER BY i.updated_at DESC, i.code LIMIT ?1",
    )?;
    let rows = stmt.query_map([limit_param(limit)], |r| {
        let departments: String = r.get(3)?;
        Ok(PublishedRow {
            code: r.get(0)?,
            subject_name: r.get(1)?,
            uscc: r.get(2)?,
            departments: unspaced(&departments),
            window_start: r.get(4)?,
            due: r.get(5)?,
            findings: r.get::<_, i64>(6)?.clamp(0, u32::MAX as i64) as u32,
            rectification: r.get(7)?,
            published_at: r.get(8)?,
            draw: r.get(9)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}
