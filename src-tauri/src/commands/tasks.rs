//! Tasks: the list, one task as the screen shows it, its trail and QR code.

use fieldloop_core::HistoryEntry;
use fieldloop_tablet::inspect::TaskView;
use fieldloop_tablet::store::{TaskQuery, TaskRow};
use tauri::State;

use crate::{AppStore, CommandError};

/// The rows of the local task list that match `query`.
#[tauri::command]
pub async fn list_tasks(
    store: State<'_, AppStore>,
    query: TaskQuery,
) -> Result<Vec<TaskRow>, CommandError> {
    store.run(move |t| Ok(t.store.list_tasks(&query)?)).await
}

#[tauri::command]
pub async fn task_view(store: State<'_, AppStore>, task: String) -> Result<TaskView, CommandError> {
    store.run(move |t| t.task_view(&task)).await
}

#[tauri::command]
pub async fn task_history(
    store: State<'_, AppStore>,
    task: String,
) -> Result<Vec<HistoryEntry>, CommandError> {
    store.run(move |t| t.history(&task)).await
}

/// The task's verification QR code (SVG), drawn offline.
#[tauri::command]
pub async fn task_qr(store: State<'_, AppStore>, task: String) -> Result<String, CommandError> {
    store.run(move |t| t.verify_qr(&task)).await
}
