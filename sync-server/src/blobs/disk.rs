//! The blob folder on disk: where complete blobs and uploads live, the
//! per-blob locks, and the file helpers that make writes durable.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path as FsPath, PathBuf};
use std::sync::{Arc, PoisonError};

use super::upload::Owner;
use super::{BlobId, Quota};

/// Folder of uploads in progress, inside the blob folder.
const PARTIAL_DIR: &str = "partial";

/// The server's blob folder: complete blobs under `ab/abcdef…`, uploads in
/// progress under `partial/`.
#[derive(Debug)]
pub struct BlobDir {
    pub(super) root: PathBuf,
    pub(super) partial: PathBuf,
    pub(super) locks: std::sync::Mutex<HashMap<BlobId, Arc<tokio::sync::Mutex<()>>>>,
    /// Bytes each device sent today, for the daily quota.
    pub(super) sent: super::quota::DailyBytes,
    pub(super) quota: Quota,
}

/// Holds the lock of one blob; releases it (and forgets the lock when no one
/// else waits for it) on drop.
pub(super) struct BlobGuard {
    pub(super) dir: Arc<BlobDir>,
    id: BlobId,
    guard: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl Drop for BlobGuard {
    fn drop(&mut self) {
        drop(self.guard.take());
        let mut locks = self
            .dir
            .locks
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if locks
            .get(&self.id)
            .is_some_and(|lock| Arc::strong_count(lock) == 1)
        {
            locks.remove(&self.id);
        }
    }
}

impl BlobDir {
    /// Opens the blob folder `root`, creating it and its `partial/` folder
    /// if needed.
    pub fn open(root: impl AsRef<FsPath>) -> io::Result<BlobDir> {
        let root = root.as_ref().to_path_buf();
        let partial = root.join(PARTIAL_DIR);
        fs::create_dir_all(&partial)?;
        Ok(BlobDir {
            root,
            partial,
            locks: std::sync::Mutex::new(HashMap::new()),
            sent: Default::default(),
            quota: Quota::default(),
        })
    }

    /// The blob folder.
    pub fn root(&self) -> &FsPath {
        &self.root
    }

    /// Where the complete blob `id` lives (whether or not it is there).
    pub fn path_of(&self, id: &BlobId) -> PathBuf {
        self.root.join(id.relative_path())
    }

    /// Whether the complete blob `id` is here.
    pub fn contains(&self, id: &BlobId) -> bool {
        self.path_of(id).is_file()
    }

    /// The folder of `owner`'s uploads in progress.
    pub(super) fn sessions(&self, owner: &Owner) -> PathBuf {
        self.partial.join(&owner.0)
    }

    pub(super) fn partial_path(&self, owner: &Owner, id: &BlobId) -> PathBuf {
        self.sessions(owner).join(id.to_hex())
    }

    pub(super) fn length_path(&self, owner: &Owner, id: &BlobId) -> PathBuf {
        self.sessions(owner).join(format!("{}.len", id.to_hex()))
    }

    /// Where an upload keeps how many of its bytes are known to be on disk
    /// (8 bytes, big-endian), written after each chunk's fsync.
    pub(super) fn offset_path(&self, owner: &Owner, id: &BlobId) -> PathBuf {
        self.sessions(owner).join(format!("{}.off", id.to_hex()))
    }

    /// Waits for the lock of blob `id`.
    pub(super) async fn lock(self: &Arc<Self>, id: BlobId) -> BlobGuard {
        let lock = {
            let mut locks = self.locks.lock().unwrap_or_else(PoisonError::into_inner);
            Arc::clone(locks.entry(id).or_default())
        };
        let guard = lock.lock_owned().await;
        BlobGuard {
            dir: Arc::clone(self),
            id,
            guard: Some(guard),
        }
    }
}

/// The length of the file at `path`, or `None` if there is none.
pub(super) fn file_len(path: &FsPath) -> io::Result<Option<u64>> {
    match fs::metadata(path) {
        Ok(meta) if meta.is_file() => Ok(Some(meta.len())),
        Ok(_) => Ok(None),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

pub(super) fn remove_if_present(path: &FsPath) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

pub(super) fn write_durably(path: &FsPath, bytes: &[u8]) -> io::Result<()> {
    let mut file = File::create(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Makes new entries and renames in `dir` durable.
#[cfg(unix)]
pub(super) fn sync_dir(dir: &FsPath) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Other systems do not let a folder be opened as a file; their renames are
/// journaled by the file system.
#[cfg(not(unix))]
pub(super) fn sync_dir(_dir: &FsPath) -> io::Result<()> {
    Ok(())
}
