//! 亮码检查 in the console: the businesses' feedback (anonymous; seen by
//! supervisors, never by inspectors: no tablet route returns it), a task's
//! verify code and its revocation.
//!
//! - `GET /api/v1/console/feedback`: feedback on the tasks the user sees,
//!   newest first, with counts for the dashboard;
//! - `GET /api/v1/console/tasks/{id}/verify`: the task's verify code, its
//!   expiry, revocation and feedback;
//! - `POST /api/v1/console/tasks/{id}/verify-code/revoke` `{"reason": "…"}`:
//!   revokes the code (who, when and why are kept and shown); the public
//!   page then answers `410 verify.revoked`.

use axum::Json;
use axum::extract::{Path, State};
use fieldloop_core::TaskDoc;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::ConsoleSession;
use super::tasks::{scope, visible_task};
use crate::AppState;
use crate::claims::{self, FeedbackRow, MAX_FEEDBACK_ROWS, MAX_REVOKE_REASON_CHARS, Revocation};
use crate::error::{ApiError, Code, ErrorAnswer};

/// One feedback as supervisors see it (no address, not even hashed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct FeedbackView {
    pub task_id: String,
    pub task_code: String,
    pub subject_name: String,
    pub team: String,
    pub departments: Vec<String>,
    pub rating: u8,
    pub badge_shown: bool,
    pub rights_told: bool,
    pub money_asked: bool,
    pub comment: String,
    pub received_at: i64,
}

impl From<FeedbackRow> for FeedbackView {
    fn from(r: FeedbackRow) -> Self {
        Self {
            task_id: r.task_id,
            task_code: r.task_code,
            subject_name: r.subject_name,
            team: r.team,
            departments: r.departments,
            rating: r.rating,
            badge_shown: r.badge_shown,
            rights_told: r.rights_told,
            money_asked: r.money_asked,
            comment: r.comment,
            received_at: r.received_at,
        }
    }
}

/// The feedback list and its counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct FeedbackList {
    pub total: u32,
    /// Mean rating, `None` when there is none.
    pub average: Option<f64>,
    /// Feedback saying no badge was shown.
    pub badge_not_shown: u32,
    /// Feedback saying the rights were not told.
    pub rights_not_told: u32,
    /// Feedback saying money or gifts were asked for.
    pub money_asked: u32,
    pub rows: Vec<FeedbackView>,
}

/// A task's verify code as the console shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct TaskVerify {
    pub verify_code: String,
    /// `/v/{code}`.
    pub path: String,
    /// Until when the code answers (ms): the window's end plus the feedback period.
    pub valid_until: i64,
    pub revoked: Option<Revocation>,
    pub feedback: Option<FeedbackView>,
    /// Whether the task carries a signed claim.
    pub signed: bool,
}

#[derive(Debug, Clone, Deserialize, TS, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[ts(export)]
pub struct RevokeRequest {
    /// Why (required), at most 500 characters.
    pub reason: String,
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f).await?
}

/// `GET /api/v1/console/feedback`.
#[utoipa::path(get, path = "/api/v1/console/feedback", tag = "feedback",
    responses((status = 200, body = FeedbackList), (status = 401, description = "no session, or it expired", body = ErrorAnswer)),
    security(("session" = [])))]
pub(super) async fn list(
    State(state): State<AppState>,
    session: ConsoleSession,
) -> Result<Json<FeedbackList>, ApiError> {
    let store = state.store.clone();
    let scope = scope(&session.user);
    let rows = blocking(move || Ok(store.feedback_list(MAX_FEEDBACK_ROWS)?)).await?;
    let rows: Vec<FeedbackView> = rows
        .into_iter()
        .filter(|r| {
            scope
                .as_ref()
                .is_none_or(|s| s.covers(&r.team, &r.departments))
        })
        .map(FeedbackView::from)
        .collect();
    let count = |f: &dyn Fn(&FeedbackView) -> bool| rows.iter().filter(|r| f(r)).count() as u32;
    let total = rows.len() as u32;
    Ok(Json(FeedbackList {
        total,
        average: (total > 0)
            .then(|| rows.iter().map(|r| f64::from(r.rating)).sum::<f64>() / f64::from(total)),
        badge_not_shown: count(&|r| !r.badge_shown),
        rights_not_told: count(&|r| !r.rights_told),
        money_asked: count(&|r| r.money_asked),
        rows,
    }))
}

fn task_verify(
    state: &AppState,
    session: &ConsoleSession,
    id: &str,
) -> Result<TaskVerify, ApiError> {
    let store = state.store.as_ref();
    let stored = visible_task(store, &session.user, id)?;
    let task = TaskDoc::load(&stored.doc)
        .and_then(|d| d.task())
        .map_err(ApiError::internal)?;
    Ok(TaskVerify {
        path: format!("/v/{}", task.verify_code),
        valid_until: claims::code_expires_at(task.window.due, state.verify.feedback_days),
        revoked: store.verify_revocation(id)?,
        feedback: store.feedback_for_task(id)?.map(FeedbackView::from),
        signed: task.claim.is_some(),
        verify_code: task.verify_code,
    })
}

/// `GET /api/v1/console/tasks/{id}/verify`.
#[utoipa::path(get, path = "/api/v1/console/tasks/{id}/verify", tag = "feedback",
    params(("id" = String, Path, description = "the task's id")),
    responses((status = 200, body = TaskVerify), (status = 404, description = "no such task among the user's", body = ErrorAnswer), (status = 401, description = "no session, or it expired", body = ErrorAnswer)),
    security(("session" = [])))]
pub(super) async fn verify(
    State(state): State<AppState>,
    session: ConsoleSession,
    Path(id): Path<String>,
) -> Result<Json<TaskVerify>, ApiError> {
    let held = state.clone();
    Ok(Json(
        blocking(move || task_verify(&held, &session, &id)).await?,
    ))
}

/// `POST /api/v1/console/tasks/{id}/verify-code/revoke`.
#[utoipa::path(post, path = "/api/v1/console/tasks/{id}/verify-code/revoke", tag = "feedback",
    params(("id" = String, Path, description = "the task's id")),
    request_body = RevokeRequest,
    responses((status = 200, description = "the code as it now is", body = TaskVerify),
        (status = 404, description = "no such task among the user's", body = ErrorAnswer),
        (status = 409, description = "already revoked (console.state)", body = ErrorAnswer),
        (status = 422, description = "no reason, or one too long", body = ErrorAnswer),
        (status = 401, description = "no session, or it expired", body = ErrorAnswer), (status = 403, description = "without the session's X-CSRF-Token", body = ErrorAnswer)),
    security(("session" = [])))]
pub(super) async fn revoke(
    State(state): State<AppState>,
    session: ConsoleSession,
    Path(id): Path<String>,
    Json(request): Json<RevokeRequest>,
) -> Result<Json<TaskVerify>, ApiError> {
    let reason = request.reason.trim().to_owned();
    if reason.is_empty() || reason.chars().count() > MAX_REVOKE_REASON_CHARS {
        return Err(ApiError::new(
            Code::ConsoleBadInput,
            format!(
                "请写明撤销理由，最多 {MAX_REVOKE_REASON_CHARS} 字 (give a reason, at most {MAX_REVOKE_REASON_CHARS} characters)"
            ),
        ));
    }
    let now = state.now();
    let held = state.clone();
    let answer = blocking(move || {
        let store = held.store.as_ref();
        visible_task(store, &session.user, &id)?;
        let revocation = Revocation {
            by: session.user.id.clone(),
            reason,
            at: now,
        };
        if !store.revoke_verify_code(&id, &revocation)? {
            return Err(ApiError::new(
                Code::ConsoleState,
                "该核验码已被撤销 (the code is already revoked)",
            ));
        }
        tracing::info!(
            task = %id,
            by = %revocation.by,
            "verify code revoked: {}",
            revocation.reason
        );
        task_verify(&held, &session, &id)
    })
    .await?;
    Ok(Json(answer))
}

/// The routes of this part.
pub fn router() -> axum::Router<AppState> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/api/v1/console/feedback", get(list))
        .route("/api/v1/console/tasks/{id}/verify", get(verify))
        .route(
            "/api/v1/console/tasks/{id}/verify-code/revoke",
            post(revoke),
        )
}
