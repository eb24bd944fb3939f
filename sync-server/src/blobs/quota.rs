//! What one device may hold open and send, and the daily count of bytes.

use std::collections::HashMap;
use std::sync::PoisonError;

use super::upload::Owner;
use super::{BlobApiError, BlobDir};

/// What one device may hold open and send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    /// Uploads in progress at once.
    pub sessions: usize,
    /// Bytes received per UTC day.
    pub bytes_per_day: u64,
    /// Chunks (`PATCH` bodies) one upload may take, in an object store,
    /// where each is an object of its own (the folder appends to one file).
    pub chunks_per_upload: usize,
}

/// [`Quota::sessions`] by default: a tablet uploads one file at a time and
/// queues the rest.
pub const SESSIONS_PER_DEVICE: usize = 64;
/// [`Quota::bytes_per_day`] by default: a thousand 4 MB photos with their
/// copies.
pub const BYTES_PER_DEVICE_DAY: u64 = 8 * 1024 * 1024 * 1024;
/// [`Quota::chunks_per_upload`] by default: a blob of the largest size sent
/// in the tablets' 256 KiB chunks takes 800.
pub const CHUNKS_PER_UPLOAD: usize = 4_096;
/// An upload untouched this long is reclaimed.
pub const STALE_UPLOAD: std::time::Duration = std::time::Duration::from_secs(48 * 3600);

impl Default for Quota {
    fn default() -> Self {
        Self {
            sessions: SESSIONS_PER_DEVICE,
            bytes_per_day: BYTES_PER_DEVICE_DAY,
            chunks_per_upload: CHUNKS_PER_UPLOAD,
        }
    }
}

impl BlobDir {
    /// The same folder with another quota.
    pub fn with_quota(mut self, quota: Quota) -> Self {
        self.quota = quota;
        self
    }

    /// Counts `bytes` against `owner`'s daily quota; refused past it.
    pub(super) fn charge(&self, owner: &Owner, bytes: u64) -> Result<(), BlobApiError> {
        self.sent.charge(&owner.0, bytes, self.quota.bytes_per_day)
    }
}

/// Today's UTC day number.
pub(super) fn utc_day() -> i64 {
    let days = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 86_400);
    i64::try_from(days).unwrap_or(i64::MAX)
}

/// The refusal of a chunk past the daily quota.
pub(super) fn over_quota(sent: u64, per_day: u64) -> BlobApiError {
    BlobApiError::Quota(format!(
        "this device sent {sent} bytes today, at most {per_day} a day"
    ))
}

/// Bytes each device sent today (UTC day number, bytes), for the daily
/// quota of the folder store, which one instance owns. (An object store's
/// instances count in the database: [`crate::store::Store::charge_bytes`].)
#[derive(Debug, Default)]
pub(super) struct DailyBytes(std::sync::Mutex<HashMap<String, (i64, u64)>>);

impl DailyBytes {
    /// Counts `bytes` against `device`'s `per_day`; refused past it.
    pub(super) fn charge(
        &self,
        device: &str,
        bytes: u64,
        per_day: u64,
    ) -> Result<(), BlobApiError> {
        let day = utc_day();
        let mut sent = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = sent.entry(device.to_owned()).or_insert((day, 0));
        if entry.0 != day {
            *entry = (day, 0);
        }
        if entry.1.saturating_add(bytes) > per_day {
            return Err(over_quota(entry.1, per_day));
        }
        entry.1 += bytes;
        Ok(())
    }
}
