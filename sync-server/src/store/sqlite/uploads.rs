//! Uploads in progress into an object store: their state, so that any
//! instance can take the next chunk.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::Cached;
use crate::store::codec::limit_param;
use crate::store::{BeginUpload, Charge, StoreError, StoredUpload};

fn signed(n: u64) -> Result<i64, StoreError> {
    i64::try_from(n).map_err(|_| StoreError::Invalid(format!("{n} bytes is out of range")))
}

pub(super) fn upload(
    conn: &Connection,
    device_id: &str,
    sha256: &str,
) -> Result<Option<StoredUpload>, StoreError> {
    let row = conn
        .cached_row(
            "SELECT length, parts, updated_at FROM uploads WHERE device_id = ?1 AND sha256 = ?2",
            params![device_id, sha256],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            },
        )
        .optional()?;
    row.map(|(length, parts, updated_at)| {
        Ok(StoredUpload {
            length: u64::try_from(length)
                .map_err(|_| StoreError::Invalid(format!("upload length {length}")))?,
            parts: StoredUpload::parse_parts(&parts)?,
            updated_at,
        })
    })
    .transpose()
}

pub(super) fn begin_upload(
    conn: &mut Connection,
    device_id: &str,
    sha256: &str,
    length: u64,
    max_open: usize,
    now: i64,
) -> Result<BeginUpload, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if let Some(existing) = upload(&tx, device_id, sha256)? {
        return Ok(BeginUpload::Exists(existing));
    }
    let open: i64 = tx.cached_row(
        "SELECT COUNT(*) FROM uploads WHERE device_id = ?1",
        [device_id],
        |r| r.get(0),
    )?;
    let open = usize::try_from(open).unwrap_or(usize::MAX);
    if open >= max_open {
        return Ok(BeginUpload::Full(open));
    }
    tx.cached_exec(
        "INSERT INTO uploads (device_id, sha256, length, updated_at) VALUES (?1, ?2, ?3, ?4)",
        params![device_id, sha256, signed(length)?, now],
    )?;
    tx.commit()?;
    Ok(BeginUpload::Begun)
}

pub(super) fn add_upload_part(
    conn: &Connection,
    device_id: &str,
    sha256: &str,
    parts_before: usize,
    part: u64,
    now: i64,
) -> Result<bool, StoreError> {
    let changed = conn.cached_exec(
        "UPDATE uploads SET parts = parts || ?1, part_count = part_count + 1, updated_at = ?2
         WHERE device_id = ?3 AND sha256 = ?4 AND part_count = ?5",
        params![
            format!("{part},"),
            now,
            device_id,
            sha256,
            limit_param(parts_before)
        ],
    )?;
    Ok(changed == 1)
}

pub(super) fn end_upload(
    conn: &Connection,
    device_id: &str,
    sha256: &str,
) -> Result<(), StoreError> {
    conn.cached_exec(
        "DELETE FROM uploads WHERE device_id = ?1 AND sha256 = ?2",
        params![device_id, sha256],
    )?;
    Ok(())
}

pub(super) fn stale_uploads(
    conn: &Connection,
    before: i64,
    limit: usize,
) -> Result<Vec<(String, String)>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT device_id, sha256 FROM uploads WHERE updated_at < ?1 ORDER BY updated_at LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![before, limit_param(limit)], |r| {
        Ok((r.get(0)?, r.get(1)?))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(super) fn charge_bytes(
    conn: &Connection,
    device_id: &str,
    day: i64,
    bytes: u64,
    per_day: u64,
) -> Result<Charge, StoreError> {
    // Counted only while the day's total stays within the quota (and a
    // charge larger than the whole quota not even as a first row).
    let added: Option<i64> = conn
        .cached_row(
            "INSERT INTO blob_bytes (device_id, day, bytes) SELECT ?1, ?2, ?3 WHERE ?3 <= ?4
             ON CONFLICT (device_id, day) DO UPDATE SET bytes = blob_bytes.bytes + excluded.bytes
             WHERE blob_bytes.bytes + excluded.bytes <= ?4
             RETURNING bytes",
            params![device_id, day, signed(bytes)?, signed(per_day)?],
            |r| r.get(0),
        )
        .optional()?;
    let before = match added {
        Some(_) => None,
        None => conn
            .cached_row(
                "SELECT bytes FROM blob_bytes WHERE device_id = ?1 AND day = ?2",
                params![device_id, day],
                |r| r.get(0),
            )
            .optional()?,
    };
    Ok(Charge::from_totals(added, before))
}

pub(super) fn forget_bytes_before(conn: &Connection, day: i64) -> Result<(), StoreError> {
    conn.cached_exec("DELETE FROM blob_bytes WHERE day < ?1", [day])?;
    Ok(())
}
