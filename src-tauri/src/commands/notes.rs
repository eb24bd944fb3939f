//! The 笔录 fields and the printed record (现场检查笔录), offline.

use fieldloop_core::RecordNoteEdit;
use fieldloop_tablet::background::now_ms;
use fieldloop_tablet::inspect::{PrintedFile, TaskView};
use tauri::State;

use crate::{AppStore, CommandError};

/// Writes the 笔录 fields the edits name; answers the task's new view.
#[tauri::command]
pub async fn edit_record_notes(
    store: State<'_, AppStore>,
    task: String,
    edits: Vec<RecordNoteEdit>,
) -> Result<TaskView, CommandError> {
    store
        .run(move |t| t.edit_record_notes(&task, now_ms(), &edits))
        .await
}

/// Prints the 现场检查笔录 into the tablet's data folder; answers where.
#[tauri::command]
pub async fn print_record(
    store: State<'_, AppStore>,
    task: String,
) -> Result<PrintedFile, CommandError> {
    store.run(move |t| t.print_record(&task, now_ms())).await
}
