//! Recording the inspection: check-in, answers, trace, findings, transfers,
//! refusals to sign, conflicts, submit. Each answers the task's new view.

use fieldloop_core::{GeoPoint, Outcome, Resolution, SignerRole};
use fieldloop_tablet::background::now_ms;
use fieldloop_tablet::inspect::{Fix, NewFinding, NewTransfer, TaskView};
use tauri::State;

use crate::{AppStore, CommandError};

#[tauri::command]
pub async fn check_in(
    store: State<'_, AppStore>,
    task: String,
    location: Option<GeoPoint>,
) -> Result<TaskView, CommandError> {
    store
        .run(move |t| t.check_in(&task, now_ms(), location))
        .await
}

#[tauri::command]
pub async fn answer(
    store: State<'_, AppStore>,
    task: String,
    item: String,
    result: Option<Outcome>,
    value: Option<String>,
    note: Option<String>,
) -> Result<TaskView, CommandError> {
    store
        .run(move |t| {
            t.answer(
                &task,
                now_ms(),
                &item,
                result,
                value.as_deref(),
                note.as_deref(),
            )
        })
        .await
}

#[tauri::command]
pub async fn set_caption(
    store: State<'_, AppStore>,
    task: String,
    sha256: String,
    caption: String,
) -> Result<TaskView, CommandError> {
    store
        .run(move |t| t.set_caption(&task, now_ms(), &sha256, &caption))
        .await
}

#[tauri::command]
pub async fn withdraw_evidence(
    store: State<'_, AppStore>,
    task: String,
    sha256: String,
    reason: String,
) -> Result<TaskView, CommandError> {
    store
        .run(move |t| t.withdraw_evidence(&task, now_ms(), &sha256, &reason))
        .await
}

#[tauri::command]
pub async fn add_trace(
    store: State<'_, AppStore>,
    task: String,
    fixes: Vec<Fix>,
) -> Result<TaskView, CommandError> {
    store
        .run(move |t| t.add_trace(&task, now_ms(), &fixes))
        .await
}

#[tauri::command]
pub async fn add_finding(
    store: State<'_, AppStore>,
    task: String,
    finding: NewFinding,
) -> Result<TaskView, CommandError> {
    store
        .run(move |t| t.add_finding(&task, now_ms(), finding))
        .await
}

#[tauri::command]
pub async fn add_lead_transfer(
    store: State<'_, AppStore>,
    task: String,
    transfer: NewTransfer,
) -> Result<TaskView, CommandError> {
    store
        .run(move |t| t.add_lead_transfer(&task, now_ms(), transfer))
        .await
}

#[tauri::command]
pub async fn refuse_to_sign(
    store: State<'_, AppStore>,
    task: String,
    role: SignerRole,
    signer: String,
    reason: String,
) -> Result<TaskView, CommandError> {
    store
        .run(move |t| t.refuse_to_sign(&task, now_ms(), role, &signer, &reason))
        .await
}

#[tauri::command]
pub async fn resolve_conflict(
    store: State<'_, AppStore>,
    task: String,
    path: Vec<String>,
    resolution: Resolution,
) -> Result<TaskView, CommandError> {
    store
        .run(move |t| t.resolve_conflict(&task, now_ms(), &path, &resolution))
        .await
}

#[tauri::command]
pub async fn submit(store: State<'_, AppStore>, task: String) -> Result<TaskView, CommandError> {
    store.run(move |t| t.submit(&task, now_ms())).await
}
