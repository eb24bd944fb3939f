//! 亮码检查: revoked verify codes and the businesses' feedback.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::claims::{FeedbackAdded, FeedbackRow, Revocation};
use crate::store::StoreError;
use crate::store::codec::{FeedbackColumns, feedback_from, limit_param, list_json};

const DAY_MS: i64 = 86_400_000;

pub(super) fn task_by_verify_code(
    conn: &Connection,
    code: &str,
) -> Result<Option<String>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT task_id FROM task_codes WHERE verify_code = ?1")?
        .query_row(params![code], |r| r.get(0))
        .optional()?)
}

pub(super) fn revoke(
    conn: &mut Connection,
    task_id: &str,
    rev: &Revocation,
) -> Result<bool, StoreError> {
    let n = conn.execute(
        "INSERT INTO verify_revocations (task_id, revoked_by, reason, revoked_at)
         VALUES (?1, ?2, ?3, ?4) ON CONFLICT (task_id) DO NOTHING",
        params![task_id, rev.by, rev.reason, rev.at],
    )?;
    Ok(n == 1)
}

pub(super) fn revocation(
    conn: &Connection,
    task_id: &str,
) -> Result<Option<Revocation>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT revoked_by, reason, revoked_at FROM verify_revocations WHERE task_id = ?1",
        )?
        .query_row(params![task_id], |r| {
            Ok(Revocation {
                by: r.get(0)?,
                reason: r.get(1)?,
                at: r.get(2)?,
            })
        })
        .optional()?)
}

pub(super) fn add_feedback(
    conn: &mut Connection,
    row: &FeedbackRow,
    per_address_per_day: usize,
) -> Result<FeedbackAdded, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let given: bool = tx
        .prepare_cached("SELECT 1 FROM task_feedback WHERE task_id = ?1")?
        .exists(params![row.task_id])?;
    if given {
        return Ok(FeedbackAdded::Duplicate);
    }
    let from_address: i64 = tx
        .prepare_cached(
            "SELECT count(*) FROM task_feedback WHERE address_hash = ?1 AND received_at > ?2",
        )?
        .query_row(params![row.address_hash, row.received_at - DAY_MS], |r| {
            r.get(0)
        })?;
    if usize::try_from(from_address).unwrap_or(usize::MAX) >= per_address_per_day {
        return Ok(FeedbackAdded::TooMany);
    }
    let departments = list_json(&row.departments)?;
    tx.execute(
        "INSERT INTO task_feedback (task_id, team, departments, rating, badge_shown, rights_told,
            money_asked, comment, address_hash, received_at, task_code, subject_name)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        params![
            row.task_id,
            row.team,
            departments,
            row.rating,
            row.badge_shown,
            row.rights_told,
            row.money_asked,
            row.comment,
            row.address_hash,
            row.received_at,
            row.task_code,
            row.subject_name
        ],
    )?;
    tx.commit()?;
    Ok(FeedbackAdded::Added)
}

const COLUMNS: &str = "task_id, team, departments, rating, badge_shown, rights_told, money_asked,
    comment, address_hash, received_at, task_code, subject_name";

fn raw(r: &rusqlite::Row<'_>) -> rusqlite::Result<FeedbackColumns> {
    Ok((
        (r.get(0)?, r.get(1)?, r.get(2)?),
        (r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?),
        (r.get(7)?, r.get(8)?, r.get(9)?),
        (r.get(10)?, r.get(11)?),
    ))
}

pub(super) fn feedback_of(
    conn: &Connection,
    task_id: &str,
) -> Result<Option<FeedbackRow>, StoreError> {
    conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM task_feedback WHERE task_id = ?1"
    ))?
    .query_row(params![task_id], raw)
    .optional()?
    .map(feedback_from)
    .transpose()
}

pub(super) fn feedback_list(
    conn: &Connection,
    limit: usize,
) -> Result<Vec<FeedbackRow>, StoreError> {
    let raws: Vec<FeedbackColumns> = conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM task_feedback ORDER BY received_at DESC, task_id LIMIT ?1"
        ))?
        .query_map(params![limit_param(limit)], raw)?
        .collect::<Result<_, _>>()?;
    raws.into_iter().map(feedback_from).collect()
}
