//! The console's users and sessions on PostgreSQL (the form of
//! `sqlite/console.rs`).

use super::conn::Sql;

use crate::store::codec::{console_role_name, list_from, list_json, role_from};
use crate::store::{ConsoleAccount, ConsoleSessionRow, ConsoleUser, StoreError};

/// A user from `id, name, role, teams, departments` at `first`.
fn user_at(r: &postgres::Row, first: usize) -> Result<ConsoleUser, StoreError> {
    let role: String = r.try_get(first + 2)?;
    let teams: String = r.try_get(first + 3)?;
    let departments: String = r.try_get(first + 4)?;
    Ok(ConsoleUser {
        id: r.try_get(first)?,
        name: r.try_get(first + 1)?,
        role: role_from(&role)?,
        teams: list_from(&teams)?,
        departments: list_from(&departments)?,
    })
}

/// Adds a console user; an id already taken is
/// [`StoreError::ConsoleUserTaken`].
pub(super) fn add_user(
    c: &mut impl Sql,
    user: &ConsoleUser,
    password_hash: &str,
    now: i64,
) -> Result<(), StoreError> {
    let teams = list_json(&user.teams)?;
    let departments = list_json(&user.departments)?;
    let inserted = c.execute(
        "INSERT INTO console_users (id, name, role, teams, departments, password_hash, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT DO NOTHING",
        &[
            &user.id,
            &user.name,
            &console_role_name(user.role)?,
            &teams,
            &departments,
            &password_hash,
            &now,
        ],
    )?;
    if inserted == 0 {
        return Err(StoreError::ConsoleUserTaken(user.id.clone()));
    }
    Ok(())
}

/// A console user's sign-in state, if the user exists.
pub(super) fn account(c: &mut impl Sql, id: &str) -> Result<Option<ConsoleAccount>, StoreError> {
    let Some(r) = c.query_opt(
        "SELECT id, name, role, teams, departments, password_hash, failed_logins, locked_until
         FROM console_users WHERE id = $1",
        &[&id],
    )?
    else {
        return Ok(None);
    };
    let failed_logins: i64 = r.try_get(6)?;
    Ok(Some(ConsoleAccount {
        user: user_at(&r, 0)?,
        password_hash: r.try_get(5)?,
        failed_logins: u32::try_from(failed_logins).map_err(|_| {
            StoreError::Invalid(format!("console user {id}: failed_logins {failed_logins}"))
        })?,
        locked_until: r.try_get(7)?,
    }))
}

/// Counts a failed sign-in; the one that reaches `max` locks the account
/// for `lock_ms` and starts the count again. Returns until when the account
/// is locked, if it is.
pub(super) fn record_failure(
    c: &mut impl Sql,
    id: &str,
    now: i64,
    max: u32,
    lock_ms: i64,
) -> Result<Option<i64>, StoreError> {
    // One statement: concurrent failures each count (an UPDATE waits for
    // the row and sees the other's count), and the one that reaches `max`
    // locks the account and starts the count again.
    let locked = c.query_opt(
        "UPDATE console_users SET
             locked_until = CASE WHEN failed_logins + 1 >= $3 THEN $2::BIGINT + $4::BIGINT
                                 ELSE locked_until END,
             failed_logins = CASE WHEN failed_logins + 1 >= $3 THEN 0 ELSE failed_logins + 1 END
         WHERE id = $1
         RETURNING locked_until",
        &[&id, &now, &i64::from(max), &lock_ms],
    )?;
    let until = match locked {
        Some(r) => r.try_get::<_, Option<i64>>(0)?,
        None => None,
    };
    Ok(until.filter(|&until| until > now))
}

/// Forgets a user's failed sign-ins and lifts any lock.
pub(super) fn clear_failures(c: &mut impl Sql, id: &str) -> Result<(), StoreError> {
    c.execute(
        "UPDATE console_users SET failed_logins = 0, locked_until = NULL WHERE id = $1",
        &[&id],
    )?;
    Ok(())
}

/// Starts a session, first dropping the sessions that have expired.
pub(super) fn create_session(
    c: &mut impl Sql,
    token_hash: &str,
    user: &str,
    csrf: &str,
    now: i64,
    expires_at: i64,
) -> Result<(), StoreError> {
    // Sessions nobody signed out of go when a new one starts, so the table
    // holds at most the sessions still running.
    c.execute(
        "DELETE FROM console_sessions WHERE expires_at < $1",
        &[&now],
    )?;
    c.execute(
        "INSERT INTO console_sessions (token_hash, user_id, csrf, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5)",
        &[&token_hash, &user, &csrf, &now, &expires_at],
    )?;
    Ok(())
}

/// The session whose cookie hashes to `token_hash`, with its user, if any
/// (expired or not: the caller checks `expires_at`).
pub(super) fn session(
    c: &mut impl Sql,
    token_hash: &str,
) -> Result<Option<ConsoleSessionRow>, StoreError> {
    c.query_opt(
        "SELECT u.id, u.name, u.role, u.teams, u.departments, s.csrf, s.expires_at
         FROM console_sessions s JOIN console_users u ON u.id = s.user_id
         WHERE s.token_hash = $1",
        &[&token_hash],
    )?
    .map(|r| -> Result<_, StoreError> {
        Ok(ConsoleSessionRow {
            user: user_at(&r, 0)?,
            csrf: r.try_get(5)?,
            expires_at: r.try_get(6)?,
        })
    })
    .transpose()
}

/// Ends the session of `token_hash`, and any that have expired.
pub(super) fn end_session(c: &mut impl Sql, token_hash: &str, now: i64) -> Result<(), StoreError> {
    c.execute(
        "DELETE FROM console_sessions WHERE token_hash = $1 OR expires_at < $2",
        &[&token_hash, &now],
    )?;
    Ok(())
}
