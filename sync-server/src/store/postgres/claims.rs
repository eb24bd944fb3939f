//! 亮码检查 on PostgreSQL: revoked verify codes and the businesses'
//! feedback (the form of `sqlite/claims.rs`).

use super::conn::{Plain, Sql};

use super::is_unique_violation;
use crate::claims::{FeedbackAdded, FeedbackRow, Revocation};
use crate::store::StoreError;
use crate::store::codec::{feedback_from, limit_param, list_json};

const DAY_MS: i64 = 86_400_000;

/// The class of the advisory locks (two-key form, apart from the one-key
/// migration lock) under which one address's feedback is counted and
/// written, so that concurrent submissions cannot pass the daily limit.
const FEEDBACK_LOCK_CLASS: i32 = 0x4662_6b31; // "Fbk1"

/// The task whose public verify code is `code`, if any.
pub(super) fn task_by_verify_code(
    c: &mut impl Sql,
    code: &str,
) -> Result<Option<String>, StoreError> {
    c.query_opt(
        "SELECT task_id FROM task_codes WHERE verify_code = $1",
        &[&code],
    )?
    .map(|r| -> Result<String, StoreError> { Ok(r.try_get(0)?) })
    .transpose()
}

/// Revokes the verify code of `task_id`; false when it was revoked already
/// (the first revocation stands).
pub(super) fn revoke(
    c: &mut impl Sql,
    task_id: &str,
    rev: &Revocation,
) -> Result<bool, StoreError> {
    let n = c.execute(
        "INSERT INTO verify_revocations (task_id, revoked_by, reason, revoked_at)
         VALUES ($1, $2, $3, $4) ON CONFLICT (task_id) DO NOTHING",
        &[&task_id, &rev.by, &rev.reason, &rev.at],
    )?;
    Ok(n == 1)
}

/// The revocation of `task_id`'s verify code, if it was revoked.
pub(super) fn revocation(
    c: &mut impl Sql,
    task_id: &str,
) -> Result<Option<Revocation>, StoreError> {
    c.query_opt(
        "SELECT revoked_by, reason, revoked_at FROM verify_revocations WHERE task_id = $1",
        &[&task_id],
    )?
    .map(|r| -> Result<_, StoreError> {
        Ok(Revocation {
            by: r.try_get(0)?,
            reason: r.try_get(1)?,
            at: r.try_get(2)?,
        })
    })
    .transpose()
}

/// Keeps a business's feedback: once per task, and at most
/// `per_address_per_day` from one address in the day before it.
pub(super) fn add_feedback(
    c: &mut Plain<'_>,
    row: &FeedbackRow,
    per_address_per_day: usize,
) -> Result<FeedbackAdded, StoreError> {
    let mut tx = c.transaction()?;
    // SQLite counts and writes under its one writer (IMMEDIATE); here the
    // submissions of one address take turns on an advisory lock held to
    // the end of the transaction, across all instances.
    tx.execute(
        &format!("SELECT pg_advisory_xact_lock({FEEDBACK_LOCK_CLASS}, hashtext($1))"),
        &[&row.address_hash],
    )?;
    let given = tx
        .query_opt(
            "SELECT 1 FROM task_feedback WHERE task_id = $1",
            &[&row.task_id],
        )?
        .is_some();
    if given {
        return Ok(FeedbackAdded::Duplicate);
    }
    let from_address: i64 = tx
        .query_one(
            "SELECT count(*) FROM task_feedback WHERE address_hash = $1 AND received_at > $2",
            &[&row.address_hash, &(row.received_at - DAY_MS)],
        )?
        .try_get(0)?;
    if usize::try_from(from_address).unwrap_or(usize::MAX) >= per_address_per_day {
        return Ok(FeedbackAdded::TooMany);
    }
    let departments = list_json(&row.departments)?;
    let inserted = tx.execute(
        "INSERT INTO task_feedback (task_id, team, departments, rating, badge_shown, rights_told,
            money_asked, comment, address_hash, received_at, task_code, subject_name)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        &[
            &row.task_id,
            &row.team,
            &departments,
            &i64::from(row.rating),
            &i64::from(row.badge_shown),
            &i64::from(row.rights_told),
            &i64::from(row.money_asked),
            &row.comment,
            &row.address_hash,
            &row.received_at,
            &row.task_code,
            &row.subject_name,
        ],
    );
    match inserted {
        Ok(_) => {}
        // Feedback on the same task from another address, committed since
        // the check above (the transaction rolls back when dropped).
        Err(e) if is_unique_violation(&e) => return Ok(FeedbackAdded::Duplicate),
        Err(e) => return Err(e.into()),
    }
    tx.commit()?;
    Ok(FeedbackAdded::Added)
}

/// The columns [`feedback_row`] reads, in its order.
const COLUMNS: &str = "task_id, team, departments, rating, badge_shown, rights_told, money_asked,
    comment, address_hash, received_at, task_code, subject_name";

/// One feedback row, selected as [`COLUMNS`].
fn feedback_row(r: &postgres::Row) -> Result<FeedbackRow, StoreError> {
    let task_id: String = r.try_get(0)?;
    let rating: i64 = r.try_get(3)?;
    let rating = u8::try_from(rating)
        .map_err(|_| StoreError::Invalid(format!("feedback on {task_id}: rating {rating}")))?;
    let flag = |i: usize| -> Result<bool, StoreError> { Ok(r.try_get::<_, i64>(i)? != 0) };
    feedback_from((
        (task_id, r.try_get(1)?, r.try_get(2)?),
        (rating, flag(4)?, flag(5)?, flag(6)?),
        (r.try_get(7)?, r.try_get(8)?, r.try_get(9)?),
        (r.try_get(10)?, r.try_get(11)?),
    ))
}

/// The feedback on `task_id`, if any was given.
pub(super) fn feedback_of(
    c: &mut impl Sql,
    task_id: &str,
) -> Result<Option<FeedbackRow>, StoreError> {
    c.query_opt(
        &format!("SELECT {COLUMNS} FROM task_feedback WHERE task_id = $1"),
        &[&task_id],
    )?
    .map(|r| feedback_row(&r))
    .transpose()
}

/// The latest `limit` feedback rows, newest first.
pub(super) fn feedback_list(
    c: &mut impl Sql,
    limit: usize,
) -> Result<Vec<FeedbackRow>, StoreError> {
    // Ties in time go by task id in byte order, as SQLite's BINARY collation
    // has them, whatever the database's collation.
    c.query(
        &format!(
            "SELECT {COLUMNS} FROM task_feedback
             ORDER BY received_at DESC, task_id COLLATE \"C\" LIMIT $1"
        ),
        &[&limit_param(limit)],
    )?
    .iter()
    .map(feedback_row)
    .collect()
}
