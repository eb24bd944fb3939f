//! The console's plans, draws and declared conflicts (双随机、一公开):
//!
//! - `GET/POST /api/v1/console/plans`, `GET/PUT/DELETE /api/v1/console/plans/{id}`:
//!   draft plans, written by a supervisor of their departments or teams;
//! - `POST /api/v1/console/plans/import`: a JSON array of plans, all or none;
//! - `POST /api/v1/console/plans/{id}/fix`: pools snapshotted, commitment made;
//! - `POST /api/v1/console/plans/{id}/entropy`: the values, by a second person;
//! - `GET /api/v1/console/plans/{id}/pools`: the pools (restricted);
//! - `POST /api/v1/console/draws/preview`, `POST /api/v1/console/draws`: a draw
//!   over fixed plans, previewed, then committed;
//! - `GET /api/v1/console/draws`, `GET /api/v1/console/draws/{id}/record`,
//!   `GET /api/v1/console/draws/{id}/pools`;
//! - `GET/POST /api/v1/console/conflicts`, `POST /api/v1/console/conflicts/delete`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use fieldloop_core::Uscc;
use fieldloop_core::draw::{DrawRecord, PlanPools, PlanSpec};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::ConsoleSession;
use crate::draws::{self, DrawPreview, DrawRequest, DrawSummary, PlanError, PlanView};
use crate::error::{ApiError, Code, ErrorAnswer};
use crate::store::ConflictRow;
use crate::{AppState, now_ms};

/// Plans one import may hold.
pub const MAX_IMPORT_PLANS: usize = 100;
/// The longest reason of a declared conflict, in characters.
pub const MAX_CONFLICT_REASON: usize = 500;

impl From<PlanError> for ApiError {
    fn from(e: PlanError) -> Self {
        match e {
            PlanError::Invalid(m) => ApiError::new(Code::ConsoleBadInput, m),
            e @ PlanError::NotFound(_) => ApiError::new(Code::ConsoleNotFound, e.to_string()),
            PlanError::State(m) => ApiError::new(Code::ConsoleState, m),
            PlanError::Forbidden(m) => ApiError::new(Code::ConsoleForbidden, m),
            PlanError::Store(e) => e.into(),
            PlanError::Task(e) => ApiError::internal(e),
        }
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, PlanError> + Send + 'static,
) -> Result<T, ApiError> {
    Ok(tokio::task::spawn_blocking(f).await??)
}

/// The plans the user may see.
#[derive(Debug, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct PlanList {
    pub plans: Vec<PlanView>,
}

#[utoipa::path(get, path = "/api/v1/console/plans", tag = "plans",
    responses((status = 200, body = PlanList), (status = 401, description = "no session", body = ErrorAnswer)),
    security(("session" = [])))]
pub(super) async fn list(
    State(state): State<AppState>,
    session: ConsoleSession,
) -> Result<Json<PlanList>, ApiError> {
    let store = state.store.clone();
    let plans = blocking(move || draws::list(store.as_ref(), &session.user)).await?;
    Ok(Json(PlanList { plans }))
}

#[utoipa::path(post, path = "/api/v1/console/plans", tag = "plans", request_body = PlanSpec,
    responses((status = 201, body = PlanView), (status = 422, description = "the plan names something unknown or out of bounds", body = ErrorAnswer), (status = 403, description = "not the user's departments or teams", body = ErrorAnswer)),
    security(("session" = [])))]
pub(super) async fn create(
    State(state): State<AppState>,
    session: ConsoleSession,
    Json(spec): Json<PlanSpec>,
) -> Result<(StatusCode, Json<PlanView>), ApiError> {
    let store = state.store.clone();
    let plan =
        blocking(move || draws::create(store.as_ref(), &session.user, spec, now_ms())).await?;
    Ok((StatusCode::CREATED, Json(plan)))
}

/// What an import created.
#[derive(Debug, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct PlanImportAnswer {
    pub created: Vec<PlanView>,
}

#[utoipa::path(post, path = "/api/v1/console/plans/import", tag = "plans", request_body = Vec<PlanSpec>,
    responses((status = 201, body = PlanImportAnswer), (status = 422, description = "a plan is invalid (its number and field named); none was stored", body = ErrorAnswer)),
    security(("session" = [])))]
pub(super) async fn import(
    State(state): State<AppState>,
    session: ConsoleSession,
    Json(specs): Json<Vec<PlanSpec>>,
) -> Result<(StatusCode, Json<PlanImportAnswer>), ApiError> {
    if specs.is_empty() || specs.len() > MAX_IMPORT_PLANS {
        return Err(ApiError::new(
            Code::ConsoleBadInput,
            format!(
                "一次导入 1–{MAX_IMPORT_PLANS} 个计划 (import 1 to {MAX_IMPORT_PLANS} plans at once)"
            ),
        ));
    }
    let store = state.store.clone();
    let created = blocking(move || {
        let store = store.as_ref();
        // Every plan is checked before any is stored.
        for (n, spec) in specs.iter().enumerate() {
            let at = |e: PlanError| match e {
                PlanError::Invalid(m) => PlanError::Invalid(format!("第 {} 个计划 (plan {}): {m}", n + 1, n + 1)),
                other => other,
            };
            draws::check_spec(store, spec).map_err(at)?;
            if !draws::may_plan(store, &session.user, spec)? {
                return Err(PlanError::Forbidden(format!(
                    "第 {} 个计划不在您负责的部门或队伍内 (plan {} is outside your departments and teams)",
                    n + 1,
                    n + 1
                )));
            }
        }
        let now = now_ms();
        specs
            .into_iter()
            .map(|spec| draws::create(store, &session.user, spec, now))
            .collect::<Result<Vec<_>, _>>()
    })
    .await?;
    Ok((StatusCode::CREATED, Json(PlanImportAnswer { created })))
}

#[utoipa::path(get, path = "/api/v1/console/plans/{id}", tag = "plans",
    params(("id" = String, Path, description = "the plan")),
    responses((status = 200, body = PlanView), (status = 404, description = "no such plan among the user's", body = ErrorAnswer)),
    security(("session" = [])))]
pub(super) async fn get_plan(
    State(state): State<AppState>,
    session: ConsoleSession,
    Path(id): Path<String>,
) -> Result<Json<PlanView>, ApiError> {
    let store = state.store.clone();
    Ok(Json(
        blocking(move || draws::get(store.as_ref(), &session.user, &id)).await?,
    ))
}

#[utoipa::path(put, path = "/api/v1/console/plans/{id}", tag = "plans", request_body = PlanSpec,
    params(("id" = String, Path, description = "the plan")),
    responses((status = 200, body = PlanView), (status = 409, description = "the plan is fixed", body = ErrorAnswer), (status = 422, description = "invalid", body = ErrorAnswer)),
    security(("session" = [])))]
pub(super) async fn update(
    State(state): State<AppState>,
    session: ConsoleSession,
    Path(id): Path<String>,
    Json(spec): Json<PlanSpec>,
) -> Result<Json<PlanView>, ApiError> {
    let store = state.store.clone();
    Ok(Json(
        blocking(move || draws::update(store.as_ref(), &session.user, &id, spec, now_ms())).await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/console/plans/{id}", tag = "plans",
    params(("id" = String, Path, description = "the plan")),
    responses((status = 204, description = "deleted"), (status = 409, description = "the plan is fixed", body = ErrorAnswer)),
    security(("session" = [])))]
pub(super) async fn delete(
    State(state): State<AppState>,
    session: ConsoleSession,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let store = state.store.clone();
    blocking(move || draws::delete(store.as_ref(), &session.user, &id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/console/plans/{id}/fix", tag = "plans",
    params(("id" = String, Path, description = "the plan")),
    responses((status = 200, body = PlanView), (status = 409, description = "not a draft", body = ErrorAnswer)),
    security(("session" = [])))]
pub(super) async fn fix(
    State(state): State<AppState>,
    session: ConsoleSession,
    Path(id): Path<String>,
) -> Result<Json<PlanView>, ApiError> {
    let store = state.store.clone();
    let limits = state.limits.yearly_limits;
    Ok(Json(
        blocking(move || draws::fix(store.as_ref(), &session.user, &id, limits, now_ms())).await?,
    ))
}

/// The entropy values of a fixed plan, one per named source.
#[derive(Debug, Deserialize, TS, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[ts(export)]
pub struct EntropyRequest {
    pub values: Vec<String>,
}

#[utoipa::path(post, path = "/api/v1/console/plans/{id}/entropy", tag = "plans", request_body = EntropyRequest,
    params(("id" = String, Path, description = "the plan")),
    responses((status = 200, body = PlanView), (status = 409, description = "not fixed, already entered, or entered by who fixed the plan", body = ErrorAnswer)),
    security(("session" = [])))]
pub(super) async fn entropy(
    State(state): State<AppState>,
    session: ConsoleSession,
    Path(id): Path<String>,
    Json(request): Json<EntropyRequest>,
) -> Result<Json<PlanView>, ApiError> {
    if request.values.len() > fieldloop_core::draw::MAX_ENTROPY_SOURCES {
        return Err(ApiError::new(
            Code::ConsoleBadInput,
            "too many entropy values",
        ));
    }
    let store = state.store.clone();
    Ok(Json(
        blocking(move || {
            draws::enter_entropy(store.as_ref(), &session.user, &id, request.values, now_ms())
        })
        .await?,
    ))
}

fn download(name: String, json: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/json".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        json,
    )
        .into_response()
}

#[utoipa::path(get, path = "/api/v1/console/plans/{id}/pools", tag = "plans",
    params(("id" = String, Path, description = "the plan")),
    responses((status = 200, body = PlanPools), (status = 404, description = "no such fixed plan", body = ErrorAnswer)),
    security(("session" = [])))]
pub(super) async fn pools(
    State(state): State<AppState>,
    session: ConsoleSession,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let store = state.store.clone();
    let (id, json) = blocking(move || {
        draws::get(store.as_ref(), &session.user, &id)?;
        let pools = store
            .plan_pools(&id)?
            .ok_or_else(|| PlanError::NotFound(id.clone()))?;
        let json = serde_json::to_string(&pools).map_err(|e| PlanError::Invalid(e.to_string()))?;
        Ok((id, json))
    })
    .await?;
    Ok(download(format!("pools-{id}.json"), json))
}

#[utoipa::path(post, path = "/api/v1/console/draws/preview", tag = "plans", request_body = DrawRequest,
    responses((status = 200, body = DrawPreview), (status = 409, description = "a plan is not fixed, has no entropy, or was drawn", body = ErrorAnswer)),
    security(("session" = [])))]
pub(super) async fn preview(
    State(state): State<AppState>,
    session: ConsoleSession,
    Json(request): Json<DrawRequest>,
) -> Result<Json<DrawPreview>, ApiError> {
    let store = state.store.clone();
    Ok(Json(
        blocking(move || draws::preview(store.as_ref(), &session.user, &request)).await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/console/draws", tag = "plans", request_body = DrawRequest,
    responses((status = 201, body = DrawSummary), (status = 409, description = "a plan is not fixed, has no entropy, or was drawn meanwhile", body = ErrorAnswer)),
    security(("session" = [])))]
pub(super) async fn commit(
    State(state): State<AppState>,
    session: ConsoleSession,
    Json(request): Json<DrawRequest>,
) -> Result<(StatusCode, Json<DrawSummary>), ApiError> {
    let store = state.store.clone();
    let record =
        blocking(move || draws::commit(store.as_ref(), &session.user, &request, now_ms())).await?;
    tracing::info!(target: "fieldloop::draw", draw = %record.id, tasks = record.tasks.len(), "draw committed");
    Ok((StatusCode::CREATED, Json(draws::summary_of(&record))))
}

/// The committed draws the user may see.
#[derive(Debug, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct DrawList {
    pub draws: Vec<DrawSummary>,
}

fn summaries(store: &dyn crate::store::Store) -> Result<Vec<DrawSummary>, PlanError> {
    store
        .draws()?
        .into_iter()
        .map(|(_, _, summary)| {
            serde_json::from_str(&summary)
                .map_err(|e| PlanError::Store(crate::store::StoreError::Invalid(e.to_string())))
        })
        .collect()
}

#[utoipa::path(get, path = "/api/v1/console/draws", tag = "plans",
    responses((status = 200, body = DrawList)),
    security(("session" = [])))]
pub(super) async fn draws_list(
    State(state): State<AppState>,
    _session: ConsoleSession,
) -> Result<Json<DrawList>, ApiError> {
    let store = state.store.clone();
    let draws = blocking(move || summaries(store.as_ref())).await?;
    Ok(Json(DrawList { draws }))
}

#[utoipa::path(get, path = "/api/v1/console/draws/{id}/pools", tag = "plans",
    params(("id" = String, Path, description = "the draw")),
    responses((status = 200, body = Vec<PlanPools>), (status = 404, description = "no such draw", body = ErrorAnswer)),
    security(("session" = [])))]
pub(super) async fn draw_pools(
    State(state): State<AppState>,
    session: ConsoleSession,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let store = state.store.clone();
    let (id, json) = blocking(move || {
        let text = store
            .draw_record(&id)?
            .ok_or_else(|| PlanError::NotFound(id.clone()))?;
        let record: DrawRecord =
            serde_json::from_str(&text).map_err(|e| PlanError::Invalid(e.to_string()))?;
        // The pools say each subject's class: only for who may draw every plan of it.
        for p in &record.plans {
            if !draws::may_plan(store.as_ref(), &session.user, &p.params.spec)? {
                return Err(PlanError::NotFound(id.clone()));
            }
        }
        let pools = store
            .draw_pools(&id)?
            .ok_or_else(|| PlanError::NotFound(id.clone()))?;
        Ok((id, pools))
    })
    .await?;
    Ok(download(format!("pools-{id}.json"), json))
}

/// A conflict of interest to declare.
#[derive(Debug, Deserialize, TS, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[ts(export)]
pub struct ConflictRequest {
    pub inspector: String,
    pub uscc: String,
    #[serde(default)]
    pub reason: String,
}

/// The declared conflicts.
#[derive(Debug, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct ConflictList {
    pub conflicts: Vec<ConflictRow>,
}

#[utoipa::path(get, path = "/api/v1/console/conflicts", tag = "plans",
    responses((status = 200, body = ConflictList)),
    security(("session" = [])))]
pub(super) async fn conflicts(
    State(state): State<AppState>,
    session: ConsoleSession,
) -> Result<Json<ConflictList>, ApiError> {
    let store = state.store.clone();
    let conflicts = blocking(move || {
        let mut rows = store.conflicts()?;
        if session.user.role != fieldloop_core::Role::Admin {
            let directory = store.directory()?;
            rows.retain(|c| {
                directory.inspectors.iter().any(|(i, _)| {
                    i.id == c.inspector
                        && (session.user.teams.contains(&i.team)
                            || session.user.departments.contains(&i.department))
                })
            });
        }
        Ok(rows)
    })
    .await?;
    Ok(Json(ConflictList { conflicts }))
}

fn conflict_scope(
    store: &dyn crate::store::Store,
    user: &crate::store::ConsoleUser,
    inspector: &str,
) -> Result<(), PlanError> {
    let person = store.inspector(inspector)?.ok_or_else(|| {
        PlanError::Invalid(format!(
            "没有执法人员 {inspector} (no inspector {inspector})"
        ))
    })?;
    if user.role == fieldloop_core::Role::Admin
        || user.teams.contains(&person.team)
        || user.departments.contains(&person.department)
    {
        Ok(())
    } else {
        Err(PlanError::Forbidden(format!(
            "您不负责执法人员 {inspector} 的队伍或部门 (you act neither for {inspector}'s team nor department)"
        )))
    }
}

#[utoipa::path(post, path = "/api/v1/console/conflicts", tag = "plans", request_body = ConflictRequest,
    responses((status = 200, body = ConflictRow), (status = 422, description = "unknown inspector or subject", body = ErrorAnswer)),
    security(("session" = [])))]
pub(super) async fn declare(
    State(state): State<AppState>,
    session: ConsoleSession,
    Json(request): Json<ConflictRequest>,
) -> Result<Json<ConflictRow>, ApiError> {
    let store = state.store.clone();
    let row = blocking(move || {
        let inspector = request.inspector.trim();
        conflict_scope(store.as_ref(), &session.user, inspector)?;
        let uscc = Uscc::parse(&request.uscc)
            .map_err(|e| PlanError::Invalid(format!("uscc: {e}")))?;
        if store.subject(&uscc)?.is_none() {
            return Err(PlanError::Invalid(format!("没有监管对象 {uscc} (no subject {uscc})")));
        }
        let reason = request.reason.trim();
        if reason.chars().count() > MAX_CONFLICT_REASON || reason.chars().any(char::is_control) {
            return Err(PlanError::Invalid(format!(
                "回避理由最多 {MAX_CONFLICT_REASON} 字 (reason: at most {MAX_CONFLICT_REASON} characters)"
            )));
        }
        let row = ConflictRow {
            inspector: inspector.to_owned(),
            uscc: uscc.to_string(),
            reason: reason.to_owned(),
            declared_by: session.user.id.clone(),
            declared_at: now_ms(),
        };
        store.put_conflict(&row)?;
        Ok(row)
    })
    .await?;
    Ok(Json(row))
}

/// A declared conflict to withdraw.
#[derive(Debug, Deserialize, TS, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[ts(export)]
pub struct ConflictKey {
    pub inspector: String,
    pub uscc: String,
}

#[utoipa::path(post, path = "/api/v1/console/conflicts/delete", tag = "plans", request_body = ConflictKey,
    responses((status = 204, description = "withdrawn"), (status = 404, description = "no such declaration", body = ErrorAnswer)),
    security(("session" = [])))]
pub(super) async fn withdraw(
    State(state): State<AppState>,
    session: ConsoleSession,
    Json(key): Json<ConflictKey>,
) -> Result<StatusCode, ApiError> {
    let store = state.store.clone();
    blocking(move || {
        conflict_scope(store.as_ref(), &session.user, key.inspector.trim())?;
        if store.delete_conflict(key.inspector.trim(), key.uscc.trim())? {
            Ok(())
        } else {
            Err(PlanError::NotFound(format!(
                "{} / {}",
                key.inspector, key.uscc
            )))
        }
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The routes.
pub fn router() -> axum::Router<AppState> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/api/v1/console/plans", get(list).post(create))
        .route("/api/v1/console/plans/import", post(import))
        .route(
            "/api/v1/console/plans/{id}",
            get(get_plan).put(update).delete(delete),
        )
        .route("/api/v1/console/plans/{id}/fix", post(fix))
        .route("/api/v1/console/plans/{id}/entropy", post(entropy))
        .route("/api/v1/console/plans/{id}/pools", get(pools))
        .route("/api/v1/console/draws", get(draws_list).post(commit))
        .route("/api/v1/console/draws/preview", post(preview))
        .route("/api/v1/console/draws/{id}/pools", get(draw_pools))
        .route("/api/v1/console/conflicts", get(conflicts).post(declare))
        .route("/api/v1/console/conflicts/delete", post(withdraw))
}
