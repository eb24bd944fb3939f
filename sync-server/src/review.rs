//! The supervisor's review, before the console exists:
//! `POST /api/v1/tasks/{id}/review` with `{"action": "return" | "approve" |
//! "publish", "comment": …}` and a supervisor's token. The server records
//! the decision as a change by the supervisor's actor, so it syncs to the
//! tablets and appears in the task's history and in the receipt log.

use automerge::ChangeHash;
use axum::Json;
use axum::extract::{Path, State};
use fieldloop_core::{ActorId, Author, EventKind, Role, Status, TaskDoc, TaskError};
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::auth::DeviceAuth;
use crate::console::TaskIndex;
use crate::error::{ApiError, Code};
use crate::store::TaskWrite;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Return,
    Approve,
    Publish,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewRequest {
    pub action: Action,
    pub comment: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ReviewResponse {
    pub status: Status,
}

/// Creates a supervisor credential for `person` over `team`; returns the token (shown once).
pub fn add_supervisor(
    store: &dyn crate::store::Store,
    person: &str,
    team: &str,
    now: i64,
) -> Result<(crate::store::Device, String), crate::store::StoreError> {
    let token = crate::auth::random_hex(32);
    let device = crate::store::Device {
        id: format!("S-{}", crate::auth::random_hex(6)),
        actor: crate::auth::random_hex(16),
        person: person.to_owned(),
        role: Role::Supervisor,
        team: team.to_owned(),
        revoked: false,
        active: true,
    };
    store.add_device(
        &device,
        &crate::auth::secret_hash(&token),
        &format!("supervisor {person}"),
        now,
    )?;
    Ok((device, token))
}

fn actor_of(hex: &str) -> Result<ActorId, ApiError> {
    hex.parse::<ActorId>().map_err(ApiError::internal)
}

/// Why a decision was not recorded, as an answer.
pub(crate) fn decision_refused(id: &str, e: TaskError) -> ApiError {
    match e {
        TaskError::Transition(_) => ApiError::new(Code::StatusTransition, e.to_string()),
        TaskError::Refused(refusal) => crate::sync::refused(id, *refusal),
        other => ApiError::internal(other),
    }
}

/// How many times a decision is merged again when the task moved on
/// between reading it and committing (another instance's or request's write).
const DECISION_ATTEMPTS: usize = 4;

/// Records a supervisor's decision on a stored task as one change by
/// `author`, received from `device_id`, and commits it with its feed entry,
/// receipt and index row, by compare-and-set on the heads `load` read (read
/// again, and decided again, when another writer committed meanwhile).
/// Answers the task as it now is.
pub(crate) fn record_decision(
    store: &dyn crate::store::Store,
    load: &dyn Fn() -> Result<crate::store::StoredTask, ApiError>,
    author: &Author,
    kind: EventKind,
    comment: Option<&str>,
    device_id: &str,
    now: i64,
) -> Result<TaskDoc, ApiError> {
    for _ in 0..DECISION_ATTEMPTS {
        let stored = load()?;
        let mut doc = TaskDoc::load(&stored.doc).map_err(ApiError::internal)?;
        let before = doc.heads();
        doc.decide(author, now, kind, comment)
            .map_err(|e| decision_refused(&stored.id, e))?;
        let new_changes: Vec<ChangeHash> = doc
            .automerge()
            .get_changes(&before)
            .iter()
            .map(|c| c.hash())
            .collect();
        let write = TaskWrite {
            id: stored.id,
            team: stored.team,
            doc: doc.save(),
            heads: doc.heads(),
            new_changes,
            added: Some(doc.automerge().save_after(&before)),
            append: false,
            flags: Vec::new(),
            index: Some(TaskIndex::of(doc.automerge()).map_err(ApiError::internal)?),
        };
        let base = crate::store::TaskBase {
            id: &write.id,
            heads: &before,
        };
        match store.commit_sync(&[base], std::slice::from_ref(&write), device_id, now)? {
            crate::store::SyncCommit::Done { .. } => {
                // An approval records the task's rectification orders; a
                // re-check task's approval or cancellation settles its
                // rectification.
                crate::rectify::after_decision(store, now);
                return Ok(doc);
            }
            crate::store::SyncCommit::Moved => continue,
        }
    }
    Err(ApiError::new(
        Code::ServerBusy,
        "任务正被同时修改，请稍后重试 (this task is being changed by others right now; try again shortly)",
    ))
}

/// `POST /api/v1/tasks/{id}/review`.
pub fn router() -> axum::Router<AppState> {
    axum::Router::new().route("/api/v1/tasks/{id}/review", axum::routing::post(review))
}

pub async fn review(
    State(state): State<AppState>,
    DeviceAuth(device): DeviceAuth,
    Path(id): Path<String>,
    Json(request): Json<ReviewRequest>,
) -> Result<Json<ReviewResponse>, ApiError> {
    if device.role != Role::Supervisor {
        return Err(ApiError::new(
            Code::AuthWrongRole,
            "只有监管人员可以审核任务 (only a supervisor may review tasks)",
        ));
    }
    let kind = match request.action {
        Action::Return => EventKind::Returned,
        Action::Approve => EventKind::Approved,
        Action::Publish => EventKind::Published,
    };
    let author = Author::new(actor_of(&device.actor)?, device.person.clone(), device.role);
    let store = state.store.clone();
    let now = state.now();
    let status = tokio::task::spawn_blocking(move || {
        let load = || {
            store
                .task(&id)?
                .filter(|t| t.team == device.team)
                .ok_or_else(|| {
                    ApiError::new(
                        Code::ReviewNotFound,
                        format!("没有任务 {id} (no task {id})"),
                    )
                })
        };
        let doc = record_decision(
            store.as_ref(),
            &load,
            &author,
            kind,
            request.comment.as_deref(),
            &device.id,
            now,
        )?;
        doc.status().map_err(ApiError::internal)
    })
    .await??;
    Ok(Json(ReviewResponse { status }))
}
