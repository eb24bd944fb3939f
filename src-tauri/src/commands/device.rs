//! The device: who it is, enrollment, and the sync status line.

use fieldloop_tablet::background::SyncView;
use fieldloop_tablet::inspect::{Identity, UnsyncedWork};
use fieldloop_tablet::qr::scan_image;
use fieldloop_tablet::sync::EnrollTarget;
use tauri::State;
use tauri::ipc::Request;

use super::raw_body;
use crate::{AppStore, CommandError};

/// Who the tablet acts for; `None` until it is enrolled.
#[tauri::command]
pub async fn identity(store: State<'_, AppStore>) -> Result<Option<Identity>, CommandError> {
    store.run(move |t| t.identity()).await
}

/// The enrollment link the app was started with (the demo), if any.
#[tauri::command]
pub async fn enroll_hint(store: State<'_, AppStore>) -> Result<Option<String>, CommandError> {
    Ok(store.enroll_hint.clone())
}

/// Reads the enrollment QR code in a picture (the body).
#[tauri::command]
pub async fn scan_enroll_image(request: Request<'_>) -> Result<EnrollTarget, CommandError> {
    let text =
        scan_image(raw_body(&request)?).map_err(fieldloop_tablet::inspect::AppError::from)?;
    fieldloop_tablet::sync::parse_enroll_text(&text)
        .map_err(|e| fieldloop_tablet::inspect::AppError::from(e).into())
}

/// Enrolls with the QR text or a typed code (and the server address when
/// the code does not carry it), then starts syncing.
#[tauri::command]
pub async fn enroll(
    store: State<'_, AppStore>,
    text: String,
    server: Option<String>,
    device_name: String,
) -> Result<Identity, CommandError> {
    let identity = store
        .run(move |t| t.enroll(&text, server.as_deref(), &device_name))
        .await?;
    store.start_sync_if_enrolled();
    Ok(identity)
}

/// The sync status line.
#[tauri::command]
pub async fn sync_status(store: State<'_, AppStore>) -> Result<SyncView, CommandError> {
    let view = store.with_sync(|sync| sync.map(|s| s.view_state()));
    store
        .run(move |t| {
            let base = view.unwrap_or_default();
            Ok(base.with_waiting(&t.store)?)
        })
        .await
}

/// Syncs now.
#[tauri::command]
pub async fn sync_now(store: State<'_, AppStore>) -> Result<(), CommandError> {
    store.start_sync_if_enrolled();
    Ok(())
}

/// Checks the server's receipt log against this tablet's receipts and the
/// checkpoints it took (see `fieldloop_tablet::audit`).
#[tauri::command]
pub async fn audit_check(
    store: State<'_, AppStore>,
) -> Result<fieldloop_tablet::audit::AuditView, CommandError> {
    store.run(|t| t.audit_check()).await
}

/// The work the server does not have yet (what a wipe would take with it).
#[tauri::command]
pub async fn unsynced_work(store: State<'_, AppStore>) -> Result<UnsyncedWork, CommandError> {
    store.run(|t| t.unsynced_work()).await
}

/// Erases the tablet's data once the server has revoked it; answers the
/// work that went with it.
#[tauri::command]
pub async fn wipe_if_revoked(store: State<'_, AppStore>) -> Result<UnsyncedWork, CommandError> {
    let store = store.inner().clone();
    tauri::async_runtime::spawn_blocking(move || store.wipe_if_revoked())
        .await
        .map_err(|e| {
            CommandError::new(
                fieldloop_core::ErrorCode::AppStoreUnavailable,
                e.to_string(),
            )
        })?
}
