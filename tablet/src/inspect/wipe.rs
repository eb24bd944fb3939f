//! Remote wipe: a tablet its administrator revoked erases what it holds
//! (tasks, evidence, enrollment) once the server tells it so
//! (`auth.revoked`), first listing the work that had not reached the
//! server and goes with it.

use super::*;

/// A task whose latest edits had not reached the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct UnsyncedTask {
    pub code: String,
    pub subject_name: String,
}

/// The work on the tablet the server does not have yet.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct UnsyncedWork {
    pub tasks: Vec<UnsyncedTask>,
    /// Evidence files not uploaded yet.
    pub uploads: u32,
}

impl Tablet {
    /// What would be lost if the tablet's data went now.
    pub fn unsynced_work(&self) -> Result<UnsyncedWork, AppError> {
        let tasks = self
            .store
            .dirty_task_names()?
            .into_iter()
            .map(|(code, subject_name)| UnsyncedTask { code, subject_name })
            .collect();
        let uploads = u32::try_from(self.store.pending_uploads()?.len()).unwrap_or(u32::MAX);
        Ok(UnsyncedWork { tasks, uploads })
    }

    /// Erases the folder's key (which alone makes a copy of the encrypted
    /// store and evidence unreadable), then the store's files and the
    /// evidence folder, and starts again empty and unenrolled with a new key.
    /// Only Fieldloop's own files go: on Linux the web view keeps its data
    /// in the same app folder, and must not lose it under the running app.
    /// Answers the work that went with it. Other connections to the store
    /// (the background sync's) must be closed first where the platform
    /// cannot remove open files.
    pub fn wipe(&mut self) -> Result<UnsyncedWork, AppError> {
        let work = self.unsynced_work()?;
        // Our connection closes before its files go.
        drop(std::mem::replace(&mut self.store, Store::open_in_memory()?));
        crate::keystore::forget(&self.dir).map_err(|e| AppError::WipeFailed(e.to_string()))?;
        let failed = |e: std::io::Error| AppError::WipeFailed(e.to_string());
        let gone = |r: std::io::Result<()>| match r {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(failed(e)),
            _ => Ok(()),
        };
        for file in Store::files(&self.dir) {
            gone(std::fs::remove_file(file))?;
        }
        gone(std::fs::remove_dir_all(
            self.dir.join(crate::blobs::BLOB_DIR),
        ))?;
        self.store = Store::open(&self.dir)?;
        self.blobs = BlobStore::open_for(&self.dir)?;
        Ok(work)
    }
}
