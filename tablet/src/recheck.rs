//! Re-check tasks (复查): the tablet shows the original finding beside the
//! re-check, with the finding's photos. Those were taken on another task
//! (often by other tablets), so after a sync the tablet fetches the ones it
//! lacks from the server — thumbnails and display copies, and the original
//! only when the photo has no smaller copy — into its evidence folder, where
//! the task screen shows them like its own.

use fieldloop_core::{RecheckPhoto, Status};

use crate::blobs::{BlobId, BlobStore};
use crate::store::{Store, TaskQuery};
use crate::sync::{HttpTransport, SyncError};

/// The largest photo blob fetched for a re-check.
pub const MAX_RECHECK_BLOB_BYTES: u64 = 50 * 1024 * 1024;
/// Open tasks looked at per sync for re-check photos.
pub const MAX_RECHECK_TASKS: u32 = 1000;

/// The blobs of `photo` the screen shows: its thumbnail and display copy,
/// or the original when it has neither.
pub fn shown_blobs(photo: &RecheckPhoto) -> Vec<&str> {
    let copies: Vec<&str> = [&photo.thumb_sha256, &photo.display_sha256]
        .into_iter()
        .flatten()
        .map(String::as_str)
        .collect();
    if copies.is_empty() {
        vec![photo.sha256.as_str()]
    } else {
        copies
    }
}

/// The photo blobs open re-check tasks name and this tablet lacks.
pub fn missing_photos(store: &Store, blobs: &BlobStore) -> Result<Vec<BlobId>, SyncError> {
    let rows = store.list_tasks(&TaskQuery {
        statuses: vec![Status::Assigned, Status::InProgress, Status::Returned],
        limit: Some(MAX_RECHECK_TASKS),
        ..Default::default()
    })?;
    let mut missing = Vec::new();
    for row in rows {
        let Some(task) = store.open_task(&row.id).ok().and_then(|d| d.task().ok()) else {
            continue;
        };
        let Some(recheck) = task.recheck_of else {
            continue;
        };
        for photo in &recheck.photos {
            for sha in shown_blobs(photo) {
                if let Ok(id) = BlobId::parse(sha)
                    && !blobs.contains(&id)
                    && !missing.contains(&id)
                {
                    missing.push(id);
                }
            }
        }
    }
    Ok(missing)
}

/// Fetches the missing photos of open re-check tasks; answers how many were
/// stored. Bytes that do not hash to their id are dropped.
pub fn fetch_photos(
    store: &Store,
    blobs: &BlobStore,
    transport: &HttpTransport,
) -> Result<usize, SyncError> {
    let mut fetched = 0;
    for id in missing_photos(store, blobs)? {
        let Some(bytes) = transport.download_blob(&id, MAX_RECHECK_BLOB_BYTES)? else {
            continue;
        };
        if BlobId::of(&bytes) != id {
            continue;
        }
        blobs
            .put(&bytes)
            .map_err(|e| SyncError::BlobFolder(e.to_string()))?;
        fetched += 1;
    }
    Ok(fetched)
}
