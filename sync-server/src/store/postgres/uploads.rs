//! Uploads in progress into an object store: their state, so that any
//! instance can take the next chunk.

use super::conn::{Plain, Sql};
use crate::store::codec::limit_param;
use crate::store::{BeginUpload, Charge, StoreError, StoredUpload};

fn signed(n: u64) -> Result<i64, StoreError> {
    i64::try_from(n).map_err(|_| StoreError::Invalid(format!("{n} bytes is out of range")))
}

pub(super) fn upload(
    c: &mut impl Sql,
    device_id: &str,
    sha256: &str,
) -> Result<Option<StoredUpload>, StoreError> {
    let row = c.query_opt(
        "SELECT length, parts, updated_at FROM uploads WHERE device_id = $1 AND sha256 = $2",
        &[&device_id, &sha256],
    )?;
    row.map(|r| {
        let length: i64 = r.try_get(0)?;
        let parts: String = r.try_get(1)?;
        Ok(StoredUpload {
            length: u64::try_from(length)
                .map_err(|_| StoreError::Invalid(format!("upload length {length}")))?,
            parts: StoredUpload::parse_parts(&parts)?,
            updated_at: r.try_get(2)?,
        })
    })
    .transpose()
}

/// Two instances beginning the same upload at once: the insert of one
/// does nothing and it answers with the other's row. The count of open
/// uploads is read without a lock, so two instances may each let one more
/// begin than `max_open`.
pub(super) fn begin_upload(
    c: &mut Plain<'_>,
    device_id: &str,
    sha256: &str,
    length: u64,
    max_open: usize,
    now: i64,
) -> Result<BeginUpload, StoreError> {
    if let Some(existing) = upload(c, device_id, sha256)? {
        return Ok(BeginUpload::Exists(existing));
    }
    let open: i64 = c
        .query_one(
            "SELECT COUNT(*) FROM uploads WHERE device_id = $1",
            &[&device_id],
        )?
        .try_get(0)?;
    let open = usize::try_from(open).unwrap_or(usize::MAX);
    if open >= max_open {
        return Ok(BeginUpload::Full(open));
    }
    let inserted = c.execute(
        "INSERT INTO uploads (device_id, sha256, length, updated_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT DO NOTHING",
        &[&device_id, &sha256, &signed(length)?, &now],
    )?;
    if inserted == 1 {
        return Ok(BeginUpload::Begun);
    }
    match upload(c, device_id, sha256)? {
        Some(existing) => Ok(BeginUpload::Exists(existing)),
        // Begun and ended by another instance in between: begin again.
        None => begin_upload(c, device_id, sha256, length, max_open, now),
    }
}

pub(super) fn add_upload_part(
    c: &mut impl Sql,
    device_id: &str,
    sha256: &str,
    parts_before: usize,
    part: u64,
    now: i64,
) -> Result<bool, StoreError> {
    let before = i32::try_from(parts_before).unwrap_or(i32::MAX);
    let changed = c.execute(
        "UPDATE uploads SET parts = parts || $1, part_count = part_count + 1, updated_at = $2
         WHERE device_id = $3 AND sha256 = $4 AND part_count = $5",
        &[&format!("{part},"), &now, &device_id, &sha256, &before],
    )?;
    Ok(changed == 1)
}

pub(super) fn end_upload(
    c: &mut impl Sql,
    device_id: &str,
    sha256: &str,
) -> Result<(), StoreError> {
    c.execute(
        "DELETE FROM uploads WHERE device_id = $1 AND sha256 = $2",
        &[&device_id, &sha256],
    )?;
    Ok(())
}

pub(super) fn stale_uploads(
    c: &mut impl Sql,
    before: i64,
    limit: usize,
) -> Result<Vec<(String, String)>, StoreError> {
    c.query(
        "SELECT device_id, sha256 FROM uploads WHERE updated_at < $1 ORDER BY updated_at LIMIT $2",
        &[&before, &limit_param(limit)],
    )?
    .iter()
    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
    .collect()
}

pub(super) fn charge_bytes(
    c: &mut impl Sql,
    device_id: &str,
    day: i64,
    bytes: u64,
    per_day: u64,
) -> Result<Charge, StoreError> {
    // One statement: counted only while the day's total stays within the
    // quota; the outer SELECT sees the table as it was before the insert,
    // so its second column is what was sent before this charge.
    let row = c.query_one(
        "WITH added AS (
             INSERT INTO blob_bytes (device_id, day, bytes)
             SELECT $1::TEXT, $2::BIGINT, $3::BIGINT WHERE $3::BIGINT <= $4::BIGINT
             ON CONFLICT (device_id, day) DO UPDATE SET bytes = blob_bytes.bytes + excluded.bytes
             WHERE blob_bytes.bytes + excluded.bytes <= $4
             RETURNING bytes)
         SELECT (SELECT bytes FROM added),
                (SELECT bytes FROM blob_bytes WHERE device_id = $1 AND day = $2)",
        &[&device_id, &day, &signed(bytes)?, &signed(per_day)?],
    )?;
    Ok(Charge::from_totals(row.try_get(0)?, row.try_get(1)?))
}

pub(super) fn forget_bytes_before(c: &mut impl Sql, day: i64) -> Result<(), StoreError> {
    c.execute("DELETE FROM blob_bytes WHERE day < $1", &[&day])?;
    Ok(())
}
