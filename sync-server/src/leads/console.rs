//! The console's leads, under `/api/v1/console/leads`: the inbox (by state
//! and department), one lead with its events and the steps it allows, the
//! steps themselves, a task started from a lead, and the evidence package of
//! a criminal lead with its receipt and acceptance. A supervisor sees and
//! acts for the leads of their departments; an administrator for all. A
//! lead out of sight is `404 console.not_found`, like one that does not
//! exist; a step its state does not allow is `409 console.state` and
//! changes nothing.
//!
//! An administrator also makes and revokes the outside channels' keys under
//! `/api/v1/console/channel-keys`.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use fieldloop_core::{Millis, Role};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::{
    Action, Channel, Lead, LeadDraft, LeadError, LeadEvent, LeadInput, LeadState, MAX_LEAD_LIST,
    check_input, step,
};
use crate::AppState;
use crate::console::{ConsoleSession, NewTaskAnswer, Scope};
use crate::error::{ApiError, Code, ErrorAnswer};
use crate::store::{ConsoleUser, Store};
use crate::tasks::{CreateError, Day, NewTask};

/// The inbox.
#[derive(Debug, Clone, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct LeadList {
    /// Newest first, at most 1,000.
    pub rows: Vec<Lead>,
}

/// One lead, its events (oldest first) and the steps its state allows.
#[derive(Debug, Clone, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct LeadView {
    pub lead: Lead,
    pub events: Vec<LeadEvent>,
    /// Of `dispatch`, `transfer`, `verify`, `handle`, `answer`,
    /// `duplicate`, `task`, `package`, `package_received`, `package_accepted`.
    pub actions: Vec<String>,
}

/// A lead typed in on the console.
#[derive(Debug, Clone, Deserialize, TS, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[ts(export)]
pub struct NewLeadRequest {
    /// Where it came from (a call taken on the console's phone may be
    /// `hotline_12345`); `console` if left out.
    #[serde(default)]
    #[ts(optional)]
    pub source: Option<Channel>,
    #[serde(default)]
    #[ts(optional)]
    pub reference: Option<String>,
    #[serde(default)]
    #[ts(optional)]
    pub uscc: Option<String>,
    #[serde(default)]
    pub subject_name: String,
    pub summary: String,
    #[serde(default)]
    #[ts(optional)]
    pub attachments: Option<Vec<String>>,
    /// Department codes; a supervisor's own if left out.
    #[serde(default)]
    #[ts(optional)]
    pub departments: Option<Vec<String>>,
    #[serde(default)]
    #[ts(optional)]
    pub criminal: Option<bool>,
}

/// What a step needs: `departments` (dispatch), `department` (transfer),
/// `reply` (answer), `of` (duplicate), `sha256` (package receipt and
/// acceptance), a `note` for any.
#[derive(Debug, Clone, Default, Deserialize, TS, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[ts(export)]
pub struct LeadStepRequest {
    #[serde(default)]
    #[ts(optional)]
    pub departments: Option<Vec<String>>,
    #[serde(default)]
    #[ts(optional)]
    pub department: Option<String>,
    #[serde(default)]
    #[ts(optional)]
    pub reply: Option<String>,
    #[serde(default)]
    #[ts(optional)]
    pub of: Option<String>,
    #[serde(default)]
    #[ts(optional)]
    pub sha256: Option<String>,
    #[serde(default)]
    #[ts(optional)]
    pub note: Option<String>,
}

/// A task started from a lead: its subject is the lead's.
#[derive(Debug, Clone, Deserialize, TS, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[ts(export)]
pub struct LeadTaskRequest {
    /// The handbook's items to check (ids); empty: all.
    #[serde(default)]
    pub items: Vec<String>,
    pub team: String,
    /// At least two.
    pub inspectors: Vec<String>,
    /// `YYYY-MM-DD`, Beijing time.
    pub start: String,
    pub end: String,
}

/// The task that was made, and the lead that records it.
#[derive(Debug, Clone, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct LeadTaskAnswer {
    pub task: NewTaskAnswer,
    pub lead: LeadView,
}

/// A channel key to make.
#[derive(Debug, Clone, Deserialize, TS, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[ts(export)]
pub struct ChannelKeyRequest {
    pub channel: Channel,
}

/// A channel key as listed (never the key itself, which is shown once).
#[derive(Debug, Clone, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct ChannelKeyView {
    pub id: String,
    pub channel: String,
    pub created_by: String,
    #[ts(type = "number")]
    pub created_at: Millis,
    #[ts(type = "number | null")]
    pub revoked_at: Option<Millis>,
    /// Only in the answer that made it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub key: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct ChannelKeyList {
    pub keys: Vec<ChannelKeyView>,
}

fn not_found(id: &str) -> ApiError {
    ApiError::new(
        Code::ConsoleNotFound,
        format!(
            "没有线索 {0}，或它不属于您的部门 (no lead {0} among your departments')",
            id.chars().take(64).collect::<String>()
        ),
    )
}

fn bad_input(message: impl Into<String>) -> ApiError {
    ApiError::new(Code::ConsoleBadInput, message)
}

fn lead_error(e: LeadError) -> ApiError {
    if e.is_conflict() {
        ApiError::new(Code::ConsoleState, e.to_string())
    } else {
        bad_input(e.to_string())
    }
}

/// Whether `user` sees and acts for `lead`.
pub(crate) fn may_see(user: &ConsoleUser, lead: &Lead) -> bool {
    user.role == Role::Admin
        || lead
            .departments
            .iter()
            .any(|d| user.departments.contains(d))
}

fn visible(store: &dyn Store, user: &ConsoleUser, id: &str) -> Result<Lead, ApiError> {
    if id.len() > 64 {
        return Err(not_found(id));
    }
    store
        .lead(id)?
        .filter(|l| may_see(user, l))
        .ok_or_else(|| not_found(id))
}

/// The steps `lead`'s state allows, as the machine answers them.
pub fn available(lead: &Lead) -> Vec<String> {
    let other = format!("{}-other", lead.id);
    let sha = lead
        .package
        .as_ref()
        .map(|p| p.sha256.clone())
        .unwrap_or_default();
    let probes = [
        ("dispatch", Action::Dispatch(vec![other.clone()])),
        ("transfer", Action::Transfer(other.clone())),
        ("verify", Action::Verify),
        ("handle", Action::Handle),
        ("answer", Action::Answer("-".into())),
        ("duplicate", Action::LinkDuplicate(other.clone())),
        ("task", Action::StartTask(other.clone())),
        ("package", Action::PackageSent(other)),
        ("package_received", Action::PackageReceived(sha.clone())),
        ("package_accepted", Action::PackageAccepted(sha)),
    ];
    probes
        .into_iter()
        .filter(|(_, a)| step(lead, a, "-", lead.updated_at).is_ok())
        .map(|(n, _)| n.to_owned())
        .collect()
}

fn view(store: &dyn Store, lead: Lead) -> Result<LeadView, ApiError> {
    let events = store.lead_events(&lead.id)?;
    Ok(LeadView {
        actions: available(&lead),
        lead,
        events,
    })
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f).await?
}

/// Takes `action` on the lead `id` as `user` and stores it with its event.
pub(crate) fn take_step(
    store: &dyn Store,
    user: &ConsoleUser,
    id: &str,
    action: &Action,
    note: Option<String>,
    now: Millis,
) -> Result<LeadView, ApiError> {
    let lead = visible(store, user, id)?;
    let (after, mut event) = step(&lead, action, &user.id, now).map_err(lead_error)?;
    if event.note.is_none() {
        event.note = note;
    }
    store.save_lead_step(&lead, &after, &event)?;
    view(store, after)
}

fn note_of(note: Option<&str>) -> Result<Option<String>, ApiError> {
    let note = note.map(str::trim).filter(|n| !n.is_empty());
    if note.is_some_and(|n| n.chars().count() > super::MAX_NOTE_CHARS) {
        return Err(bad_input(format!(
            "备注最多 {} 字 (a note holds at most {} characters)",
            super::MAX_NOTE_CHARS,
            super::MAX_NOTE_CHARS
        )));
    }
    Ok(note.map(str::to_owned))
}

/// The filter of the inbox, for the OpenAPI document.
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // only described, never built
pub(crate) struct LeadFilterParams {
    /// A state: received, dispatched, transferred, verified, handled, answered, duplicate.
    state: Option<String>,
    /// A department code (one of the user's).
    department: Option<String>,
}

/// `GET /api/v1/console/leads`.
#[utoipa::path(get, path = "/api/v1/console/leads", tag = "leads",
    params(LeadFilterParams),
    responses((status = 200, body = LeadList), (status = 400, description = "a bad query", body = ErrorAnswer), (status = 401, description = "no session, or it expired", body = ErrorAnswer)),
    security(("session" = [])))]
pub(crate) async fn list(
    State(state): State<AppState>,
    session: ConsoleSession,
    RawQuery(raw): RawQuery,
) -> Result<Json<LeadList>, ApiError> {
    let bad = |m: String| ApiError::new(Code::ConsoleBadQuery, m);
    let mut wanted_state = None;
    let mut department: Option<String> = None;
    let raw = raw.unwrap_or_default();
    for (n, (key, value)) in url::form_urlencoded::parse(raw.as_bytes()).enumerate() {
        if n >= 8 || value.len() > 200 {
            return Err(bad(
                "查询参数过多或过长 (too many or too long parameters)".into()
            ));
        }
        let value = value.trim();
        match key.as_ref() {
            "state" if value.is_empty() => {}
            "state" => {
                wanted_state = Some(
                    LeadState::parse(value)
                        .ok_or_else(|| bad(format!("没有状态 “{value}” (no state '{value}')")))?,
                );
            }
            "department" => department = (!value.is_empty()).then(|| value.to_owned()),
            other => {
                return Err(bad(format!("未知参数 {other} (unknown parameter {other})")));
            }
        }
    }
    let user = session.user;
    let departments: Option<Vec<String>> = match (user.role == Role::Admin, department) {
        (true, d) => d.map(|d| vec![d]),
        (false, Some(d)) => {
            if !user.departments.contains(&d) {
                return Err(ApiError::new(
                    Code::ConsoleForbidden,
                    format!("您不负责部门 {d} (you do not act for department {d})"),
                ));
            }
            Some(vec![d])
        }
        (false, None) => Some(user.departments.clone()),
    };
    let store = state.store.clone();
    let rows = blocking(move || {
        Ok(store.list_leads(wanted_state, departments.as_deref(), MAX_LEAD_LIST)?)
    })
    .await?;
    Ok(Json(LeadList { rows }))
}

/// `POST /api/v1/console/leads`.
#[utoipa::path(post, path = "/api/v1/console/leads", tag = "leads",
    request_body = NewLeadRequest,
    responses((status = 201, body = LeadView), (status = 422, description = "the lead cannot be taken as typed", body = ErrorAnswer), (status = 401, description = "no session, or it expired", body = ErrorAnswer), (status = 403, description = "without the session's X-CSRF-Token", body = ErrorAnswer)),
    security(("session" = [])))]
pub(crate) async fn create(
    State(state): State<AppState>,
    session: ConsoleSession,
    Json(request): Json<NewLeadRequest>,
) -> Result<(StatusCode, Json<LeadView>), ApiError> {
    let source = request.source.unwrap_or(Channel::Console);
    if source == Channel::TabletTransfer {
        return Err(bad_input(
            "平板移送的线索由任务同步产生，不能手工录入 (tablet transfers come from tasks, not typed in)",
        ));
    }
    let user = session.user;
    let departments = match request.departments {
        Some(d) if !d.is_empty() => d,
        _ => user.departments.clone(),
    };
    let now = state.now();
    let input = check_input(
        &LeadInput {
            reference: request.reference,
            received_at: None,
            uscc: request.uscc,
            subject_name: request.subject_name,
            summary: request.summary,
            attachments: request.attachments.unwrap_or_default(),
            departments,
            criminal: request.criminal.unwrap_or(false),
        },
        now,
    )
    .map_err(lead_error)?;
    let store = state.store.clone();
    let made = blocking(move || {
        for d in &input.departments {
            if store.department(d)?.is_none() {
                return Err(bad_input(format!("没有部门 {d} (no department {d})")));
            }
        }
        let draft = LeadDraft {
            source,
            reference: input.reference,
            received_at: now,
            uscc: input.uscc,
            subject_name: input.subject_name,
            summary: input.summary,
            attachments: input.attachments,
            departments: input.departments,
            criminal: input.criminal,
            by: user.id.clone(),
            source_task: None,
            source_transfer: None,
            detect_duplicates: true,
        };
        let lead = store.insert_lead(&draft, now)?;
        view(store.as_ref(), lead)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(made)))
}

/// `GET /api/v1/console/leads/{id}`.
#[utoipa::path(get, path = "/api/v1/console/leads/{id}", tag = "leads",
    params(("id" = String, Path, description = "the lead's id")),
    responses((status = 200, body = LeadView), (status = 404, description = "no such lead among the user's departments", body = ErrorAnswer), (status = 401, description = "no session, or it expired", body = ErrorAnswer)),
    security(("session" = [])))]
pub(crate) async fn get_lead(
    State(state): State<AppState>,
    session: ConsoleSession,
    Path(id): Path<String>,
) -> Result<Json<LeadView>, ApiError> {
    let store = state.store.clone();
    let got = blocking(move || {
        let lead = visible(store.as_ref(), &session.user, &id)?;
        view(store.as_ref(), lead)
    })
    .await?;
    Ok(Json(got))
}

/// `POST /api/v1/console/leads/{id}/{action}`: `dispatch` (分办,
/// `departments`), `transfer` (转办, `department`), `verify`, `handle`,
/// `answer` (`reply`, sent back to the source), `duplicate` (`of`: an open
/// lead), `package/received` and `package/accepted` (`sha256` of the
/// package sent).
#[utoipa::path(post, path = "/api/v1/console/leads/{id}/{action}", tag = "leads",
    params(("id" = String, Path, description = "the lead's id"),
        ("action" = String, Path, description = "dispatch, transfer, verify, handle, answer or duplicate")),
    request_body = LeadStepRequest,
    responses((status = 200, description = "the lead as it now is", body = LeadView),
        (status = 404, description = "no such lead (or duplicate target) among the user's departments", body = ErrorAnswer),
        (status = 409, description = "the lead's state does not allow the step (console.state); nothing changed", body = ErrorAnswer),
        (status = 422, description = "a department, reply or note is missing, unknown or too long", body = ErrorAnswer),
        (status = 401, description = "no session, or it expired", body = ErrorAnswer), (status = 403, description = "without the session's X-CSRF-Token", body = ErrorAnswer)),
    security(("session" = [])))]
pub(crate) async fn post_step(
    State(state): State<AppState>,
    session: ConsoleSession,
    Path((id, action)): Path<(String, String)>,
    Json(request): Json<LeadStepRequest>,
) -> Result<Json<LeadView>, ApiError> {
    let note = note_of(request.note.as_deref())?;
    let store = state.store.clone();
    let now = state.now();
    let done = blocking(move || {
        let action = match action.as_str() {
            "dispatch" => {
                let departments = request.departments.unwrap_or_default();
                for d in &departments {
                    if d.len() > 64 || store.department(d.trim())?.is_none() {
                        return Err(bad_input(format!(
                            "没有部门 {0} (no department {0})",
                            d.chars().take(64).collect::<String>()
                        )));
                    }
                }
                Action::Dispatch(departments)
            }
            "transfer" => {
                let d = request.department.unwrap_or_default();
                if d.len() > 64 || store.department(d.trim())?.is_none() {
                    return Err(bad_input(format!(
                        "没有部门 “{0}” (no department '{0}')",
                        d.chars().take(64).collect::<String>()
                    )));
                }
                Action::Transfer(d.trim().to_owned())
            }
            "verify" => Action::Verify,
            "handle" => Action::Handle,
            "answer" => Action::Answer(request.reply.unwrap_or_default()),
            "duplicate" => {
                let of = request.of.unwrap_or_default().trim().to_owned();
                let target = visible(store.as_ref(), &session.user, &of)?;
                if !target.state.is_open() {
                    return Err(ApiError::new(
                        Code::ConsoleState,
                        format!(
                            "线索 {of} 已关闭，只能关联到未关闭的线索 (lead {of} is closed: link to an open lead)"
                        ),
                    ));
                }
                Action::LinkDuplicate(of)
            }
            other => {
                return Err(ApiError::new(
                    Code::HttpNotFound,
                    format!(
                        "没有这个操作 {0} (no step '{0}')",
                        other.chars().take(32).collect::<String>()
                    ),
                ));
            }
        };
        take_step(store.as_ref(), &session.user, &id, &action, note, now)
    })
    .await?;
    Ok(Json(done))
}

/// `POST /api/v1/console/leads/{id}/package/received` and `…/accepted`.
async fn package_stage(
    state: AppState,
    session: ConsoleSession,
    id: String,
    request: LeadStepRequest,
    accepted: bool,
) -> Result<Json<LeadView>, ApiError> {
    let note = note_of(request.note.as_deref())?;
    let sha = request
        .sha256
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let action = if accepted {
        Action::PackageAccepted(sha)
    } else {
        Action::PackageReceived(sha)
    };
    let store = state.store.clone();
    let now = state.now();
    let done =
        blocking(move || take_step(store.as_ref(), &session.user, &id, &action, note, now)).await?;
    Ok(Json(done))
}

/// `POST /api/v1/console/leads/{id}/package/received`: the judicial side
/// confirmed receipt of the package (its SHA-256).
#[utoipa::path(post, path = "/api/v1/console/leads/{id}/package/received", tag = "leads",
    params(("id" = String, Path, description = "the lead's id")),
    request_body = LeadStepRequest,
    responses((status = 200, body = LeadView), (status = 409, description = "no package with that SHA-256 was sent, or it is past that stage", body = ErrorAnswer), (status = 404, description = "no such lead", body = ErrorAnswer)),
    security(("session" = [])))]
pub(crate) async fn package_received(
    State(state): State<AppState>,
    session: ConsoleSession,
    Path(id): Path<String>,
    Json(request): Json<LeadStepRequest>,
) -> Result<Json<LeadView>, ApiError> {
    package_stage(state, session, id, request, false).await
}

/// `POST /api/v1/console/leads/{id}/package/accepted`: the judicial side
/// accepted the case (立案) on the package received.
#[utoipa::path(post, path = "/api/v1/console/leads/{id}/package/accepted", tag = "leads",
    params(("id" = String, Path, description = "the lead's id")),
    request_body = LeadStepRequest,
    responses((status = 200, body = LeadView), (status = 409, description = "the package was not recorded as received, or another SHA-256", body = ErrorAnswer), (status = 404, description = "no such lead", body = ErrorAnswer)),
    security(("session" = [])))]
pub(crate) async fn package_accepted(
    State(state): State<AppState>,
    session: ConsoleSession,
    Path(id): Path<String>,
    Json(request): Json<LeadStepRequest>,
) -> Result<Json<LeadView>, ApiError> {
    package_stage(state, session, id, request, true).await
}

/// `POST /api/v1/console/leads/{id}/task`: a task for the lead's subject
/// with the chosen items, made like the console's new task; it reaches the
/// team's tablets at their next sync, and the lead records it.
#[utoipa::path(post, path = "/api/v1/console/leads/{id}/task", tag = "leads",
    params(("id" = String, Path, description = "the lead's id")),
    request_body = LeadTaskRequest,
    responses((status = 200, body = LeadTaskAnswer),
        (status = 404, description = "no such lead among the user's departments", body = ErrorAnswer),
        (status = 409, description = "the lead's state does not allow a task (dispatch it first)", body = ErrorAnswer),
        (status = 422, description = "the lead has no USCC, or the task cannot be made as asked", body = ErrorAnswer),
        (status = 401, description = "no session, or it expired", body = ErrorAnswer), (status = 403, description = "without the session's X-CSRF-Token, or another team", body = ErrorAnswer)),
    security(("session" = [])))]
pub(crate) async fn start_task(
    State(state): State<AppState>,
    session: ConsoleSession,
    Path(id): Path<String>,
    Json(request): Json<LeadTaskRequest>,
) -> Result<Json<LeadTaskAnswer>, ApiError> {
    const MAX_LIST: usize = 500;
    if request.items.len() > MAX_LIST || request.inspectors.len() > MAX_LIST {
        return Err(bad_input(format!(
            "检查事项或执法人员超过 {MAX_LIST} 个 (more than {MAX_LIST} items or inspectors)"
        )));
    }
    let start: Day = request.start.parse().map_err(bad_input)?;
    let due: Day = request.end.parse().map_err(bad_input)?;
    let store = state.store.clone();
    let now = state.now();
    let user = session.user;
    let answer = blocking(move || {
        let lead = visible(store.as_ref(), &user, &id)?;
        // The state first: no task is made for a lead that cannot take one.
        step(&lead, &Action::StartTask(String::new()), &user.id, now).map_err(lead_error)?;
        let Some(uscc) = lead.uscc.clone() else {
            return Err(bad_input(format!(
                "线索 {} 没有统一社会信用代码，无法发起任务 (the lead names no USCC: a task needs the subject)",
                lead.id
            )));
        };
        let new = NewTask {
            subject: uscc,
            team: request.team.trim().to_owned(),
            inspectors: request.inspectors,
            start,
            due,
            code: None,
            by: user.id.clone(),
            items: (!request.items.is_empty()).then_some(request.items),
        };
        let scope = (user.role != Role::Admin).then(|| Scope {
            teams: user.teams.clone(),
            departments: user.departments.clone(),
        });
        let created = crate::tasks::create_within(store.as_ref(), &new, scope.as_ref(), now)
            .map_err(|e| match e {
                CreateError::Store(e) => ApiError::from(e),
                CreateError::Task(e) => ApiError::internal(e),
                e @ CreateError::OutOfScope(_) => {
                    ApiError::new(Code::ConsoleForbidden, e.to_string())
                }
                other => bad_input(other.to_string()),
            })?;
        // The lead may have moved meanwhile (another step): read it again once.
        let action = Action::StartTask(created.id.clone());
        let lead_view =
            match take_step(store.as_ref(), &user, &lead.id, &action, None, now) {
                Err(e) if e.code == Code::ConsoleState => {
                    take_step(store.as_ref(), &user, &lead.id, &action, None, now)?
                }
                other => other?,
            };
        Ok(LeadTaskAnswer {
            task: NewTaskAnswer {
                id: created.id,
                code: created.code,
            },
            lead: lead_view,
        })
    })
    .await?;
    Ok(Json(answer))
}

/// `POST /api/v1/console/leads/{id}/package`: the evidence package of a
/// criminal lead (行刑衔接), a ZIP; its SHA-256 is in the
/// `X-Package-Sha256` header and in the lead's `package_sent` event.
#[utoipa::path(post, path = "/api/v1/console/leads/{id}/package", tag = "leads",
    params(("id" = String, Path, description = "the lead's id")),
    responses((status = 200, description = "the package (application/zip)", content_type = "application/zip", body = Vec<u8>),
        (status = 404, description = "no such lead among the user's departments", body = ErrorAnswer),
        (status = 409, description = "the lead is not flagged criminal, or the package would be too large", body = ErrorAnswer),
        (status = 401, description = "no session, or it expired", body = ErrorAnswer), (status = 403, description = "without the session's X-CSRF-Token", body = ErrorAnswer)),
    security(("session" = [])))]
pub(crate) async fn package(
    State(state): State<AppState>,
    session: ConsoleSession,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let store = state.store.clone();
    let blobs = state.blobs.clone();
    let printer = state.leads.printer.clone();
    let now = state.now();
    let (bytes, sha, lead_id) = blocking(move || {
        let lead = visible(store.as_ref(), &session.user, &id)?;
        // Only a criminal lead is packaged: asked before the work.
        step(&lead, &Action::PackageSent(String::new()), "-", now).map_err(lead_error)?;
        let built = super::package::build(
            store.as_ref(),
            &blobs,
            printer.as_deref(),
            &lead,
            &session.user.id,
            now,
        )
        .map_err(|e| match e {
            super::package::BuildError::Store(e) => ApiError::from(e),
            other @ super::package::BuildError::TooLarge(..) => {
                ApiError::new(Code::ConsoleState, other.to_string())
            }
            other => ApiError::internal(other),
        })?;
        let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&built));
        take_step(
            store.as_ref(),
            &session.user,
            &lead.id,
            &Action::PackageSent(sha.clone()),
            None,
            now,
        )?;
        Ok((built, sha, lead.id))
    })
    .await?;
    let mut response = Response::new(Body::from(bytes));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/zip"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"package-{lead_id}.zip\""))
    {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    if let Ok(v) = HeaderValue::from_str(&sha) {
        headers.insert("x-package-sha256", v);
    }
    Ok(response.into_response())
}

fn admin_only(user: &ConsoleUser) -> Result<(), ApiError> {
    if user.role == Role::Admin {
        Ok(())
    } else {
        Err(ApiError::new(
            Code::ConsoleForbidden,
            "只有管理员可以管理渠道密钥 (only an administrator manages channel keys)",
        ))
    }
}

fn key_view(row: crate::store::ChannelKeyRow, key: Option<String>) -> ChannelKeyView {
    ChannelKeyView {
        id: row.id,
        channel: row.channel,
        created_by: row.created_by,
        created_at: row.created_at,
        revoked_at: row.revoked_at,
        key,
    }
}

/// `GET /api/v1/console/channel-keys` (administrators).
#[utoipa::path(get, path = "/api/v1/console/channel-keys", tag = "leads",
    responses((status = 200, body = ChannelKeyList), (status = 403, description = "not an administrator", body = ErrorAnswer)),
    security(("session" = [])))]
pub(crate) async fn keys(
    State(state): State<AppState>,
    session: ConsoleSession,
) -> Result<Json<ChannelKeyList>, ApiError> {
    admin_only(&session.user)?;
    let store = state.store.clone();
    let keys = blocking(move || {
        Ok(store
            .channel_keys()?
            .into_iter()
            .map(|r| key_view(r, None))
            .collect())
    })
    .await?;
    Ok(Json(ChannelKeyList { keys }))
}

/// `POST /api/v1/console/channel-keys` (administrators): a key for an
/// outside channel, shown once in this answer.
#[utoipa::path(post, path = "/api/v1/console/channel-keys", tag = "leads",
    request_body = ChannelKeyRequest,
    responses((status = 201, body = ChannelKeyView), (status = 403, description = "not an administrator", body = ErrorAnswer), (status = 422, description = "not an outside channel", body = ErrorAnswer)),
    security(("session" = [])))]
pub(crate) async fn create_key(
    State(state): State<AppState>,
    session: ConsoleSession,
    Json(request): Json<ChannelKeyRequest>,
) -> Result<(StatusCode, Json<ChannelKeyView>), ApiError> {
    admin_only(&session.user)?;
    if !request.channel.is_outside() {
        return Err(bad_input(
            "只有外部渠道使用密钥 (keys are for outside channels: hotline_12345, internet_plus, grid, association, media)",
        ));
    }
    let store = state.store.clone();
    let now = state.now();
    let made = blocking(move || {
        let (row, key) =
            super::create_channel_key(store.as_ref(), request.channel, &session.user.id, now)?;
        Ok(key_view(row, Some(key)))
    })
    .await?;
    Ok((StatusCode::CREATED, Json(made)))
}

/// `POST /api/v1/console/channel-keys/{id}/revoke` (administrators).
#[utoipa::path(post, path = "/api/v1/console/channel-keys/{id}/revoke", tag = "leads",
    params(("id" = String, Path, description = "the key's id (`ck_…`)")),
    responses((status = 204, description = "revoked: the key is refused from now on"), (status = 404, description = "no such key not yet revoked", body = ErrorAnswer), (status = 403, description = "not an administrator", body = ErrorAnswer)),
    security(("session" = [])))]
pub(crate) async fn revoke_key(
    State(state): State<AppState>,
    session: ConsoleSession,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    admin_only(&session.user)?;
    let store = state.store.clone();
    let now = state.now();
    let revoked = blocking(move || Ok(store.revoke_channel_key(&id, now)?)).await?;
    if revoked {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::new(
            Code::ConsoleNotFound,
            "没有这个未吊销的渠道密钥 (no such key, or it is revoked already)",
        ))
    }
}

pub(super) fn router() -> axum::Router<AppState> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/api/v1/console/leads", get(list).post(create))
        .route("/api/v1/console/leads/{id}", get(get_lead))
        .route("/api/v1/console/leads/{id}/task", post(start_task))
        .route("/api/v1/console/leads/{id}/package", post(package))
        .route(
            "/api/v1/console/leads/{id}/package/received",
            post(package_received),
        )
        .route(
            "/api/v1/console/leads/{id}/package/accepted",
            post(package_accepted),
        )
        .route("/api/v1/console/leads/{id}/{action}", post(post_step))
        .route("/api/v1/console/channel-keys", get(keys).post(create_key))
        .route("/api/v1/console/channel-keys/{id}/revoke", post(revoke_key))
}
