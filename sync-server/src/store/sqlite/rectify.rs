//! Rectifications (整改复查): their records, and the re-checks that close them.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::rectify::{RectState, Rectification};
use crate::store::StoreError;
use crate::store::codec::{RectificationColumns, limit_param, rectification_from, severity_name};

const COLUMNS: &str = "id, task_id, task_code, team, departments, lead_department, uscc,
    subject_name, finding_id, item_id, item_title, description, severity, rectification_order,
    deadline, ordered_at, state, recheck_task, recheck_code, closed_at, updated_at";

/// One rectifications row, selected as [`COLUMNS`].
fn raw(r: &rusqlite::Row<'_>) -> rusqlite::Result<RectificationColumns> {
    Ok((
        [
            r.get(0)?,
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
            r.get(5)?,
            r.get(6)?,
            r.get(7)?,
            r.get(8)?,
        ],
        r.get(9)?,
        r.get(10)?,
        [r.get(11)?, r.get(12)?, r.get(13)?],
        r.get(14)?,
        r.get(15)?,
        r.get(16)?,
        r.get(17)?,
        r.get(18)?,
        r.get(19)?,
        r.get(20)?,
    ))
}

pub(super) fn unscanned(conn: &Connection, limit: usize) -> Result<Vec<String>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT i.task_id FROM task_index i
         WHERE i.rectification_due IS NOT NULL AND i.status IN ('approved', 'published')
           AND NOT EXISTS (SELECT 1 FROM rectification_scans s WHERE s.task_id = i.task_id)
         ORDER BY i.task_id LIMIT ?1",
    )?;
    let rows = stmt.query_map(params![limit_param(limit)], |r| r.get::<_, String>(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(super) fn record(
    conn: &mut Connection,
    task_id: &str,
    rows: &[Rectification],
    now: i64,
) -> Result<(), StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    for r in rows {
        tx.prepare_cached(
            "INSERT OR IGNORE INTO rectifications (id, task_id, task_code, team, departments,
                lead_department, uscc, subject_name, finding_id, item_id, item_title, description,
                severity, rectification_order, deadline, ordered_at, state, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, 'ordered', ?16)",
        )?
        .execute(params![
            r.id,
            r.task_id,
            r.task_code,
            r.team,
            format!(" {} ", r.departments.join(" ")),
            r.lead_department,
            r.uscc,
            r.subject_name,
            r.finding_id,
            r.item_id,
            r.item_title,
            r.description,
            severity_name(r.severity),
            r.order,
            r.deadline,
            r.ordered_at,
        ])?;
    }
    tx.prepare_cached(
        "INSERT OR REPLACE INTO rectification_scans (task_id, scanned_at) VALUES (?1, ?2)",
    )?
    .execute(params![task_id, now])?;
    tx.commit()?;
    Ok(())
}

pub(super) fn finished_rechecks(
    conn: &Connection,
) -> Result<Vec<(String, String, String)>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT r.id, r.recheck_task, i.status FROM rectifications r
         JOIN task_index i ON i.task_id = r.recheck_task
         WHERE r.state = 'rechecking' AND i.status IN ('approved', 'published', 'cancelled')
         ORDER BY r.id",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(super) fn list(
    conn: &Connection,
    states: &[RectState],
) -> Result<Vec<Rectification>, StoreError> {
    let raws: Vec<RectificationColumns> = if states.is_empty() {
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM rectifications ORDER BY deadline, id"
        ))?;
        stmt.query_map([], raw)?.collect::<Result<_, _>>()?
    } else {
        let mut all = Vec::new();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM rectifications WHERE state = ?1 ORDER BY deadline, id"
        ))?;
        for s in states {
            all.extend(
                stmt.query_map(params![s.as_str()], raw)?
                    .collect::<Result<Vec<_>, _>>()?,
            );
        }
        all
    };
    raws.into_iter().map(rectification_from).collect()
}

pub(super) fn one(conn: &Connection, id: &str) -> Result<Option<Rectification>, StoreError> {
    conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM rectifications WHERE id = ?1"
    ))?
    .query_row(params![id], raw)
    .optional()?
    .map(rectification_from)
    .transpose()
}

pub(super) fn start_recheck(
    conn: &mut Connection,
    id: &str,
    task_id: &str,
    task_code: &str,
    team: &str,
    photos: &[String],
    now: i64,
) -> Result<bool, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let changed = tx
        .prepare_cached(
            "UPDATE rectifications SET state = 'rechecking', recheck_task = ?2, recheck_code = ?3,
                updated_at = ?4
             WHERE id = ?1 AND state = 'ordered'",
        )?
        .execute(params![id, task_id, task_code, now])?;
    if changed == 0 {
        return Ok(false);
    }
    // The re-check team reads the original photos (the blob read rule is
    // "a blob listed for one's team").
    for sha in photos {
        tx.prepare_cached(
            "INSERT OR IGNORE INTO blob_owners (sha256, team, device_id, uploaded_at)
             VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![sha, team, format!("recheck:{id}"), now])?;
    }
    tx.commit()?;
    Ok(true)
}

pub(super) fn finish_recheck(
    conn: &mut Connection,
    id: &str,
    state: RectState,
    now: i64,
) -> Result<bool, StoreError> {
    let changed = match state {
        RectState::Rectified | RectState::NotRectified => conn
            .prepare_cached(
                "UPDATE rectifications SET state = ?2, closed_at = ?3, updated_at = ?3
                 WHERE id = ?1 AND state = 'rechecking'",
            )?
            .execute(params![id, state.as_str(), now])?,
        RectState::Ordered => conn
            .prepare_cached(
                "UPDATE rectifications SET state = 'ordered', updated_at = ?2
                 WHERE id = ?1 AND state = 'rechecking'",
            )?
            .execute(params![id, now])?,
        RectState::Due | RectState::Rechecking => {
            return Err(StoreError::Invalid(format!(
                "a re-check does not end as {}",
                state.as_str()
            )));
        }
    };
    Ok(changed > 0)
}
