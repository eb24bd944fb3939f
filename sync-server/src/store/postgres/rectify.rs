//! Rectifications (整改复查): their records, and the re-checks that close
//! them, on PostgreSQL: the form of `sqlite/rectify.rs`.
//!
//! Every state change is a conditional update (`WHERE state = …`): with
//! several instances, the second of two concurrent changes waits for the
//! first to commit, then finds the state gone and changes nothing.

use super::conn::{Plain, Sql};

use crate::rectify::{RectState, Rectification};
use crate::store::StoreError;
use crate::store::codec::{limit_param, rectification_from, severity_name};

/// The columns of a rectification, in [`from_row`]'s order.
const COLUMNS: &str = "id, task_id, task_code, team, departments, lead_department, uscc,
    subject_name, finding_id, item_id, item_title, description, severity, rectification_order,
    deadline, ordered_at, state, recheck_task, recheck_code, closed_at, updated_at";

/// A rectification from a row selected as [`COLUMNS`], as stored (never
/// `due`, not marked overdue).
fn from_row(r: &postgres::Row) -> Result<Rectification, StoreError> {
    rectification_from((
        [
            r.try_get(0)?,
            r.try_get(1)?,
            r.try_get(2)?,
            r.try_get(3)?,
            r.try_get(4)?,
            r.try_get(5)?,
            r.try_get(6)?,
            r.try_get(7)?,
            r.try_get(8)?,
        ],
        r.try_get(9)?,
        r.try_get(10)?,
        [r.try_get(11)?, r.try_get(12)?, r.try_get(13)?],
        r.try_get(14)?,
        r.try_get(15)?,
        r.try_get(16)?,
        r.try_get(17)?,
        r.try_get(18)?,
        r.try_get(19)?,
        r.try_get(20)?,
    ))
}

/// Approved or published tasks with a rectification deadline whose findings
/// were not looked at yet, at most `limit`, by id (in byte order, as SQLite).
pub(super) fn unscanned(c: &mut impl Sql, limit: usize) -> Result<Vec<String>, StoreError> {
    let rows = c.query(
        r#"SELECT i.task_id FROM task_index i
         WHERE i.rectification_due IS NOT NULL AND i.status IN ('approved', 'published')
           AND NOT EXISTS (SELECT 1 FROM rectification_scans s WHERE s.task_id = i.task_id)
         ORDER BY i.task_id COLLATE "C" LIMIT $1"#,
        &[&limit_param(limit)],
    )?;
    rows.iter()
        .map(|r| -> Result<String, StoreError> { Ok(r.try_get(0)?) })
        .collect()
}

/// In one transaction: the rectifications of an approved task (those
/// already recorded are kept as they are) and the mark that it was looked at.
///
/// Two instances may record the same task at once: the second insert of a
/// finding waits for the first and then does nothing. Rows go in by finding
/// id, so both take their row locks in the same order.
pub(super) fn record(
    c: &mut Plain<'_>,
    task_id: &str,
    rows: &[Rectification],
    now: i64,
) -> Result<(), StoreError> {
    let mut ordered: Vec<&Rectification> = rows.iter().collect();
    ordered.sort_by(|a, b| (&a.task_id, &a.finding_id).cmp(&(&b.task_id, &b.finding_id)));
    let mut tx = c.transaction()?;
    for r in ordered {
        tx.execute(
            "INSERT INTO rectifications (id, task_id, task_code, team, departments,
                lead_department, uscc, subject_name, finding_id, item_id, item_title, description,
                severity, rectification_order, deadline, ordered_at, state, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, 'ordered', $16)
             ON CONFLICT DO NOTHING",
            &[
                &r.id,
                &r.task_id,
                &r.task_code,
                &r.team,
                &format!(" {} ", r.departments.join(" ")),
                &r.lead_department,
                &r.uscc,
                &r.subject_name,
                &r.finding_id,
                &r.item_id,
                &r.item_title,
                &r.description,
                &severity_name(r.severity),
                &r.order,
                &r.deadline,
                &r.ordered_at,
            ],
        )?;
    }
    tx.execute(
        "INSERT INTO rectification_scans (task_id, scanned_at) VALUES ($1, $2)
         ON CONFLICT (task_id) DO UPDATE SET scanned_at = excluded.scanned_at",
        &[&task_id, &now],
    )?;
    tx.commit()?;
    Ok(())
}

/// Rectifications being re-checked whose re-check task is approved,
/// published or cancelled: (rectification, re-check task, its status).
pub(super) fn finished_rechecks(
    c: &mut impl Sql,
) -> Result<Vec<(String, String, String)>, StoreError> {
    let rows = c.query(
        r#"SELECT r.id, r.recheck_task, i.status FROM rectifications r
         JOIN task_index i ON i.task_id = r.recheck_task
         WHERE r.state = 'rechecking' AND i.status IN ('approved', 'published', 'cancelled')
         ORDER BY r.id COLLATE "C""#,
        &[],
    )?;
    rows.iter()
        .map(|r| -> Result<(String, String, String), StoreError> {
            Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?))
        })
        .collect()
}

/// Rectifications stored in one of `states` (empty: all), as stored: state
/// by state, each by deadline and id.
pub(super) fn list(
    c: &mut impl Sql,
    states: &[RectState],
) -> Result<Vec<Rectification>, StoreError> {
    let rows = if states.is_empty() {
        c.query(
            &format!(r#"SELECT {COLUMNS} FROM rectifications ORDER BY deadline, id COLLATE "C""#),
            &[],
        )?
    } else {
        let sql = format!(
            r#"SELECT {COLUMNS} FROM rectifications WHERE state = $1 ORDER BY deadline, id COLLATE "C""#
        );
        let mut all = Vec::new();
        for s in states {
            all.extend(c.query(&sql, &[&s.as_str()])?);
        }
        all
    };
    rows.iter().map(from_row).collect()
}

/// The rectification `id`, as stored.
pub(super) fn one(c: &mut impl Sql, id: &str) -> Result<Option<Rectification>, StoreError> {
    c.query_opt(
        &format!("SELECT {COLUMNS} FROM rectifications WHERE id = $1"),
        &[&id],
    )?
    .map(|r| from_row(&r))
    .transpose()
}

/// In one transaction: links re-check task `task_id` to the `ordered`
/// rectification `id` and lets `team` read the blobs `photos`; `false`
/// (nothing changed) when it is not `ordered`. The update is conditional on
/// the state, so of two concurrent re-checks only one links.
pub(super) fn start_recheck(
    c: &mut Plain<'_>,
    id: &str,
    task_id: &str,
    task_code: &str,
    team: &str,
    photos: &[String],
    now: i64,
) -> Result<bool, StoreError> {
    let mut tx = c.transaction()?;
    let changed = tx.execute(
        "UPDATE rectifications SET state = 'rechecking', recheck_task = $2, recheck_code = $3,
            updated_at = $4
         WHERE id = $1 AND state = 'ordered'",
        &[&id, &task_id, &task_code, &now],
    )?;
    if changed == 0 {
        return Ok(false);
    }
    // The re-check team reads the original photos (the blob read rule is
    // "a blob listed for one's team").
    let device = format!("recheck:{id}");
    for sha in photos {
        tx.execute(
            "INSERT INTO blob_owners (sha256, team, device_id, uploaded_at)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT DO NOTHING",
            &[sha, &team, &device, &now],
        )?;
    }
    tx.commit()?;
    Ok(true)
}

/// Closes a rectification being re-checked as `state` (rectified or not),
/// or with `Ordered` frees it for another re-check; `false` when it was not
/// being re-checked. Conditional on the state, like [`start_recheck`].
pub(super) fn finish_recheck(
    c: &mut impl Sql,
    id: &str,
    state: RectState,
    now: i64,
) -> Result<bool, StoreError> {
    let changed = match state {
        RectState::Rectified | RectState::NotRectified => c.execute(
            "UPDATE rectifications SET state = $2, closed_at = $3, updated_at = $3
             WHERE id = $1 AND state = 'rechecking'",
            &[&id, &state.as_str(), &now],
        )?,
        RectState::Ordered => c.execute(
            "UPDATE rectifications SET state = 'ordered', updated_at = $2
             WHERE id = $1 AND state = 'rechecking'",
            &[&id, &now],
        )?,
        RectState::Due | RectState::Rechecking => {
            return Err(StoreError::Invalid(format!(
                "a re-check does not end as {}",
                state.as_str()
            )));
        }
    };
    Ok(changed > 0)
}
