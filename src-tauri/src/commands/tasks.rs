//! Tasks: the task list.

use fieldloop_tablet::store::{TaskQuery, TaskRow};
use tauri::State;

use crate::{AppStore, CommandError};

/// The rows of the local task list that match `query`.
#[tauri::command]
pub async fn list_tasks(
    store: State<'_, AppStore>,
    query: TaskQuery,
) -> Result<Vec<TaskRow>, CommandError> {
    store.with(|store| store.list_tasks(&query))
}
