//! The supervisors' console API under `/api/v1/console/…`. This part holds
//! signing in and out; the console's screens and their endpoints build on
//! [`ConsoleSession`].
//!
//! - `POST /api/v1/console/login` `{"user": "S-001", "password": "…"}`:
//!   `200 {"user": {…}, "csrf": "…"}` with the session cookie, or
//!   `401 console.bad_login` (unknown name and wrong password are not told
//!   apart), `429 console.locked` with `Retry-After` after
//!   [`MAX_FAILED_LOGINS`] failures in a row.
//! - `GET /api/v1/console/session`: who is signed in, and the CSRF token
//!   (for a page that was reloaded).
//! - `POST /api/v1/console/logout` (with `X-CSRF-Token`): ends the session.

mod directory;
mod feedback;
mod import;
mod index;
mod openapi;
mod pages;
mod plans;
mod print;
mod session;
mod tasks;

pub use feedback::{FeedbackList, FeedbackView, RevokeRequest, TaskVerify};
pub use openapi::{ConsoleApi, openapi_json};
pub use pages::{router as pages, verify_script};
pub use print::{CONTENT_SHA256_HEADER, MAX_FINDING_ID_BYTES, PackagePrinter, PrinterSlot};

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use serde::{Deserialize, Serialize};

pub use plans::{
    ConflictKey, ConflictList, ConflictRequest, DrawList, EntropyRequest, MAX_CONFLICT_REASON,
    MAX_IMPORT_PLANS, PlanImportAnswer, PlanList,
};
pub use session::{
    AddUserError, COOKIE, CSRF_HEADER, ConsoleSession, LOCK_MS, Login, MAX_FAILED_LOGINS,
    MAX_PASSWORD_BYTES, MIN_PASSWORD_CHARS, PasswordError, SESSION_LIFETIME_MS, add_user,
    hash_password, login, verify_password,
};

pub use directory::{
    CatalogList, CatalogPage, ConsoleDirectory, DEFAULT_CATALOG_ROWS, DepartmentEntry,
    HandbookItem, HandbookView, InspectorEntry, MAX_CATALOG_ROWS, MapConfig, SubjectHit, TeamEntry,
};
pub use import::{
    ImportAnswer, ImportProblem, ImportRefusal, ImportedKind, MAX_IMPORT_BYTES, MAX_PROBLEMS_SHOWN,
};
pub use index::{
    ConsoleTaskRow, Dashboard, DepartmentCount, InspectionCount, RECTIFICATION_SOON_MS, Scope,
    StatusCounts, TaskFilter, TaskIndex, TaskPage, TaskSort, is_overdue,
};
pub use tasks::{
    ConsoleRecord, DEFAULT_PER_PAGE, Decision, DecisionRequest, FlagView, MAX_COMMENT_CHARS,
    MAX_EXPORT_ROWS, MAX_PER_PAGE, NewTaskAnswer, NewTaskRequest, TimelineEntry, console_actor,
    parse_query, scope, year_of, year_range,
};

use crate::error::{ApiError, Code, ErrorAnswer};
use crate::store::ConsoleUser;
use crate::{AppState, now_ms};

/// A console user as the console shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS, utoipa::ToSchema)]
#[ts(export)]
pub struct UserView {
    pub id: String,
    pub name: String,
    /// `supervisor` or `admin`.
    pub role: fieldloop_core::Role,
    pub teams: Vec<String>,
    /// Departments whose tasks the supervisor sees whichever team does them.
    pub departments: Vec<String>,
}

impl From<ConsoleUser> for UserView {
    fn from(u: ConsoleUser) -> Self {
        Self {
            id: u.id,
            name: u.name,
            role: u.role,
            teams: u.teams,
            departments: u.departments,
        }
    }
}

#[derive(Debug, Deserialize, ts_rs::TS, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[ts(export)]
pub struct LoginRequest {
    pub user: String,
    pub password: String,
}

/// Who is signed in, and the token state-changing requests echo.
#[derive(Debug, Serialize, Deserialize, ts_rs::TS, utoipa::ToSchema)]
#[ts(export)]
pub struct SessionView {
    pub user: UserView,
    pub csrf: String,
}

/// The largest JSON body a console endpoint reads (a new task with its
/// items, a decision with its comment); larger ones are `413 http.too_large`.
pub const MAX_CONSOLE_BODY: usize = 256 * 1024;

/// Sign-ins checked at once (each hashes with argon2id: about 19 MiB and
/// tens of milliseconds); more are answered `503 server.busy`.
pub const CONCURRENT_LOGINS: usize = 4;

/// The sign-in routes.
pub fn router() -> axum::Router<AppState> {
    use axum::routing::{get, post};
    let login_gate = tower::ServiceBuilder::new()
        .layer(axum::error_handling::HandleErrorLayer::new(crate::shed))
        .load_shed()
        .concurrency_limit(CONCURRENT_LOGINS);
    axum::Router::new()
        .route("/api/v1/console/login", post(post_login).layer(login_gate))
        .route("/api/v1/console/session", get(get_session))
        .route("/api/v1/console/logout", post(post_logout))
        .route("/api/v1/openapi.json", get(openapi_json))
        .merge(tasks::router())
        .merge(feedback::router())
        .merge(directory::router())
        .merge(plans::router())
        .merge(print::router())
        .merge(crate::rectify::router())
        .layer(axum::extract::DefaultBodyLimit::max(MAX_CONSOLE_BODY))
        .merge(import::router())
}

#[utoipa::path(post, path = "/api/v1/console/login", tag = "session",
    request_body = LoginRequest,
    responses((status = 200, description = "signed in: the session cookie is set", body = SessionView),
        (status = 401, description = "wrong user name or password", body = ErrorAnswer),
        (status = 429, description = "locked after 5 failures in a row", body = ErrorAnswer)))]
pub(super) async fn post_login(
    State(state): State<AppState>,
    addr: crate::peer::ClientAddr,
    jar: CookieJar,
    Json(request): Json<LoginRequest>,
) -> Result<Response, ApiError> {
    if request.password.len() > MAX_PASSWORD_BYTES || request.user.len() > 64 {
        tracing::warn!(target: "fieldloop::auth", %addr, "console sign-in refused: oversized name or password");
        return Err(bad_login());
    }
    let store = state.store.clone();
    let now = now_ms();
    // The name as typed, cut and without control characters, for the log.
    let user: String = request
        .user
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(64)
        .collect();
    let outcome = tokio::task::spawn_blocking(move || {
        login(store.as_ref(), request.user.trim(), &request.password, now)
    })
    .await??;
    match &outcome {
        Login::Ok { .. } => {
            tracing::info!(target: "fieldloop::auth", %user, %addr, "console sign-in");
        }
        Login::Refused => {
            tracing::warn!(target: "fieldloop::auth", %user, %addr, "console sign-in refused: wrong name or password");
        }
        Login::Locked(_) => {
            tracing::warn!(target: "fieldloop::auth", %user, %addr, "console sign-in refused: account locked");
        }
    }
    match outcome {
        Login::Ok { user, token, csrf } => {
            let body = SessionView {
                user: user.into(),
                csrf,
            };
            Ok((jar.add(session::cookie(Some(token))), Json(body)).into_response())
        }
        Login::Refused => Err(bad_login()),
        Login::Locked(until) => {
            let seconds = u64::try_from(until - now).unwrap_or(0).div_ceil(1000);
            let mut response = ApiError::new(
                Code::ConsoleLocked,
                format!(
                    "登录失败次数过多，账户已锁定，请 {} 分钟后再试 (too many failed sign-ins: locked for {seconds} s)",
                    seconds.div_ceil(60)
                ),
            )
            .into_response();
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            Ok(response)
        }
    }
}

fn bad_login() -> ApiError {
    ApiError::new(
        Code::ConsoleBadLogin,
        "用户名或密码不正确 (wrong user name or password)",
    )
}

#[utoipa::path(get, path = "/api/v1/console/session", tag = "session",
    responses((status = 200, body = SessionView), (status = 401, description = "no session, or it expired", body = ErrorAnswer)), security(("session" = [])))]
pub(super) async fn get_session(session: ConsoleSession) -> Json<SessionView> {
    Json(SessionView {
        user: session.user.into(),
        csrf: session.csrf,
    })
}

#[utoipa::path(post, path = "/api/v1/console/logout", tag = "session",
    responses((status = 204, description = "signed out: the cookie is removed"), (status = 401, description = "no session, or it expired", body = ErrorAnswer), (status = 403, description = "a state-changing request without the session's X-CSRF-Token, or another team", body = ErrorAnswer)),
    security(("session" = [])))]
pub(super) async fn post_logout(
    State(state): State<AppState>,
    session: ConsoleSession,
    jar: CookieJar,
) -> Result<Response, ApiError> {
    let store = state.store.clone();
    let now = now_ms();
    tokio::task::spawn_blocking(move || store.end_console_session(&session.token_hash, now))
        .await??;
    Ok((StatusCode::NO_CONTENT, jar.add(session::cookie(None))).into_response())
}
