//! Sync in the background, for the app: a thread that syncs task documents
//! and uploads evidence at start, on a schedule, when asked and, with
//! back-off, until the network is back; and the status line it feeds.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use fieldloop_core::{ErrorCode, Millis};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::blobs::BlobStore;
use crate::store::{Store, StoreError};
use crate::sync::{
    HttpTransport, Schedule, SyncError, SyncReport, SyncStatus, Wake, run_background, sync_now,
};

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> Millis {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    Millis::try_from(since.as_millis()).unwrap_or(Millis::MAX)
}

/// Where sync stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum SyncPhase {
    /// Not started yet.
    Idle,
    Syncing,
    Synced,
    /// The server cannot be reached; retrying by itself.
    Offline,
    /// Needs a person: not enrolled, device revoked, a change refused.
    Attention,
}

/// The sync status line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct SyncView {
    pub phase: SyncPhase,
    pub last_synced_at: Option<Millis>,
    /// Tasks with changes the server has not acknowledged.
    pub waiting_tasks: u32,
    /// Evidence files not uploaded yet.
    pub waiting_uploads: u32,
    /// Progress of the sync under way.
    pub rounds: u32,
    pub uploaded: u32,
    pub uploads_left: u32,
    pub code: Option<ErrorCode>,
    pub message: Option<String>,
    pub retry_in_ms: Option<u64>,
    /// When the next attempt is due (ms since the epoch), while offline.
    pub retry_at: Option<Millis>,
    /// Tasks with edits the server refused during the last sync (set aside
    /// and shown on the task's screen).
    pub refused_tasks: Vec<String>,
}

impl Default for SyncView {
    fn default() -> Self {
        Self {
            phase: SyncPhase::Idle,
            last_synced_at: None,
            waiting_tasks: 0,
            waiting_uploads: 0,
            rounds: 0,
            uploaded: 0,
            uploads_left: 0,
            code: None,
            message: None,
            retry_in_ms: None,
            retry_at: None,
            refused_tasks: Vec::new(),
        }
    }
}

impl SyncView {
    /// Takes in one status from the background loop.
    pub fn apply(&mut self, status: SyncStatus) {
        let progress = |view: &mut Self, r: &SyncReport| {
            view.rounds = r.rounds;
            view.uploaded = r.uploaded as u32;
            view.uploads_left = r.uploads_left as u32;
        };
        match status {
            SyncStatus::Syncing(report) => {
                self.phase = SyncPhase::Syncing;
                progress(self, &report);
            }
            SyncStatus::Synced { report, at } => {
                self.phase = SyncPhase::Synced;
                self.last_synced_at = Some(at);
                progress(self, &report);
                self.refused_tasks = report.refused.iter().map(|r| r.task.clone()).collect();
                self.refused_tasks.dedup();
                (self.code, self.message, self.retry_in_ms) = (None, None, None);
                self.retry_at = None;
            }
            SyncStatus::Offline {
                code,
                message,
                retry_in_ms,
            } => {
                self.phase = SyncPhase::Offline;
                (self.code, self.message) = (Some(code), Some(message));
                self.retry_in_ms = Some(retry_in_ms);
                self.retry_at = Some(now_ms().saturating_add(retry_in_ms as Millis));
            }
            SyncStatus::NeedsAttention { code, message } => {
                self.phase = SyncPhase::Attention;
                (self.code, self.message, self.retry_in_ms) = (Some(code), Some(message), None);
                self.retry_at = None;
            }
        }
    }

    /// Fills in what waits in `store`.
    pub fn with_waiting(mut self, store: &Store) -> Result<Self, StoreError> {
        self.waiting_tasks = store.dirty_tasks()?.len() as u32;
        self.waiting_uploads = store.pending_uploads()?.len() as u32;
        Ok(self)
    }
}

/// One full sync of the tablet in `dir`: task documents until quiet, then
/// the evidence blobs waiting for upload.
pub fn sync_tablet(
    store: &mut Store,
    blobs: &BlobStore,
    progress: &mut dyn FnMut(&SyncReport),
) -> Result<SyncReport, SyncError> {
    let transport = HttpTransport::from_store(store)?;
    let mut report = sync_now(store, &transport, now_ms(), &mut *progress)?;
    report.uploads_left = store.pending_uploads()?.len();
    progress(&report);
    let base = report.clone();
    let sent = transport.upload_pending(store, blobs, |done, left, bytes| {
        let mut r = base.clone();
        (r.uploaded, r.uploads_left, r.upload_bytes) = (done, left, bytes);
        progress(&r);
    })?;
    report.uploaded = report.uploads_left;
    report.uploads_left = 0;
    report.upload_bytes = sent;
    // The original photos of re-check tasks; one that cannot be fetched now
    // is asked for again at the next sync (the screen marks it missing).
    report.downloaded = crate::recheck::fetch_photos(store, blobs, &transport).unwrap_or(0);
    // The tablet's new receipts and the latest checkpoint of the server's
    // receipt log, for `crate::audit::check`; a failure here (the server
    // busy, or a checkpoint that went back) is found again by the check.
    let _ = crate::audit::fetch(store, &transport);
    Ok(report)
}

/// The background sync of the app.
#[derive(Debug)]
pub struct Background {
    wake: Sender<Wake>,
    view: Arc<Mutex<SyncView>>,
}

impl Background {
    /// Starts the sync thread for the tablet data in `dir`. It opens its own
    /// connection to the store, so the screens never wait for the network.
    pub fn start(dir: &Path, schedule: Schedule) -> Self {
        let (wake, rx) = mpsc::channel();
        let view = Arc::new(Mutex::new(SyncView::default()));
        let dir: PathBuf = dir.to_owned();
        let shared = Arc::clone(&view);
        std::thread::Builder::new()
            .name("fieldloop-sync".into())
            .spawn(move || {
                let opened = Store::open(&dir).map_err(SyncError::from).and_then(|s| {
                    let blobs = BlobStore::open_for(&dir)
                        .map_err(|e| SyncError::BlobFolder(e.to_string()))?;
                    Ok((s, blobs))
                });
                let (mut store, blobs) = match opened {
                    Ok(opened) => opened,
                    Err(e) => {
                        shared.lock().unwrap_or_else(PoisonError::into_inner).apply(
                            SyncStatus::NeedsAttention {
                                code: e.code().to_owned(),
                                message: e.to_string(),
                            },
                        );
                        return;
                    }
                };
                let status_view = Arc::clone(&shared);
                run_background(
                    schedule,
                    &rx,
                    |progress| sync_tablet(&mut store, &blobs, progress),
                    now_ms,
                    rand_unit,
                    move |status| {
                        status_view
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .apply(status);
                    },
                );
            })
            .expect("the sync thread could not be started");
        Self { wake, view }
    }

    /// Syncs now (the user asked, or the tablet was just enrolled).
    pub fn wake(&self) {
        let _ = self.wake.send(Wake::Now);
    }

    /// The status line (without what waits: see [`SyncView::with_waiting`]).
    pub fn view_state(&self) -> SyncView {
        self.view
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.wake.send(Wake::Stop);
    }
}

/// A number in [0, 1) for the retry jitter.
fn rand_unit() -> f64 {
    rand::random::<f64>()
}
