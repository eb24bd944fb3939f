//! The console's users and sessions.

use rusqlite::{Connection, OptionalExtension, params};

use super::Cached;
use crate::store::codec::{console_role_name, list_from, list_json, role_from};
use crate::store::{ConsoleAccount, ConsoleSessionRow, ConsoleUser, StoreError};

/// A user from `id, name, role, teams` at `first`.
fn user_at(r: &rusqlite::Row<'_>, first: usize) -> rusqlite::Result<ConsoleUser> {
    let conversion = |i: usize, e: StoreError| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, e.into())
    };
    let role: String = r.get(first + 2)?;
    let teams: String = r.get(first + 3)?;
    let departments: String = r.get(first + 4)?;
    Ok(ConsoleUser {
        id: r.get(first)?,
        name: r.get(first + 1)?,
        role: role_from(&role).map_err(|e| conversion(first + 2, e))?,
        teams: list_from(&teams).map_err(|e| conversion(first + 3, e))?,
        departments: list_from(&departments).map_err(|e| conversion(first + 4, e))?,
    })
}

pub(super) fn add_user(
    conn: &Connection,
    user: &ConsoleUser,
    password_hash: &str,
    now: i64,
) -> Result<(), StoreError> {
    let teams = list_json(&user.teams)?;
    let departments = list_json(&user.departments)?;
    let inserted = conn.cached_exec(
        "INSERT OR IGNORE INTO console_users (id, name, role, teams, departments, password_hash, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            user.id,
            user.name,
            console_role_name(user.role)?,
            teams,
            departments,
            password_hash,
            now
        ],
    )?;
    if inserted == 0 {
        return Err(StoreError::ConsoleUserTaken(user.id.clone()));
    }
    Ok(())
}

pub(super) fn account(conn: &Connection, id: &str) -> Result<Option<ConsoleAccount>, StoreError> {
    Ok(conn
        .cached_row(
            "SELECT id, name, role, teams, departments, password_hash, failed_logins, locked_until
             FROM console_users WHERE id = ?1",
            [id],
            |r| {
                Ok(ConsoleAccount {
                    user: user_at(r, 0)?,
                    password_hash: r.get(5)?,
                    failed_logins: r.get(6)?,
                    locked_until: r.get(7)?,
                })
            },
        )
        .optional()?)
}

pub(super) fn record_failure(
    conn: &Connection,
    id: &str,
    now: i64,
    max: u32,
    lock_ms: i64,
) -> Result<Option<i64>, StoreError> {
    // One statement: concurrent failures each count, and the one that
    // reaches `max` locks the account and starts the count again.
    let locked: Option<Option<i64>> = conn
        .cached_row(
            "UPDATE console_users SET
                 locked_until = CASE WHEN failed_logins + 1 >= ?3 THEN ?2 + ?4 ELSE locked_until END,
                 failed_logins = CASE WHEN failed_logins + 1 >= ?3 THEN 0 ELSE failed_logins + 1 END
             WHERE id = ?1
             RETURNING locked_until",
            params![id, now, max, lock_ms],
            |r| r.get(0),
        )
        .optional()?;
    Ok(locked.flatten().filter(|&until| until > now))
}

pub(super) fn clear_failures(conn: &Connection, id: &str) -> Result<(), StoreError> {
    conn.cached_exec(
        "UPDATE console_users SET failed_logins = 0, locked_until = NULL WHERE id = ?1",
        [id],
    )?;
    Ok(())
}

pub(super) fn create_session(
    conn: &Connection,
    token_hash: &str,
    user: &str,
    csrf: &str,
    now: i64,
    expires_at: i64,
) -> Result<(), StoreError> {
    // Sessions nobody signed out of go when a new one starts, so the table
    // holds at most the sessions still running.
    conn.cached_exec("DELETE FROM console_sessions WHERE expires_at < ?1", [now])?;
    conn.cached_exec(
        "INSERT INTO console_sessions (token_hash, user_id, csrf, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![token_hash, user, csrf, now, expires_at],
    )?;
    Ok(())
}

pub(super) fn session(
    conn: &Connection,
    token_hash: &str,
) -> Result<Option<ConsoleSessionRow>, StoreError> {
    Ok(conn
        .cached_row(
            "SELECT u.id, u.name, u.role, u.teams, u.departments, s.csrf, s.expires_at
             FROM console_sessions s JOIN console_users u ON u.id = s.user_id
             WHERE s.token_hash = ?1",
            [token_hash],
            |r| {
                Ok(ConsoleSessionRow {
                    user: user_at(r, 0)?,
                    csrf: r.get(5)?,
                    expires_at: r.get(6)?,
                })
            },
        )
        .optional()?)
}

pub(super) fn end_session(conn: &Connection, token_hash: &str, now: i64) -> Result<(), StoreError> {
    conn.cached_exec(
        "DELETE FROM console_sessions WHERE token_hash = ?1 OR expires_at < ?2",
        params![token_hash, now],
    )?;
    Ok(())
}
