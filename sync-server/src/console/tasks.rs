//! The console's tasks: the list (filters, search, sorting, pages), the
//! export of what a filter selects (CSV or JSON, streamed), the dashboard,
//! the whole record of one task with its timeline, the supervisor's
//! decisions on it, and tasks made by hand.
//!
//! A supervisor sees and acts for the tasks of their own teams only; an
//! administrator for all. A task of another team is answered
//! `404 console.not_found`, exactly like a task that does not exist.

use std::collections::HashMap;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use fieldloop_core::policy::Flag;
use fieldloop_core::record::{Directory, RecordView, build_record};
use fieldloop_core::{ActorId, Author, EventKind, HistoryEntry, Millis, Role, Status, TaskDoc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use ts_rs::TS;

use super::{ConsoleSession, ConsoleTaskRow, Dashboard, Scope, TaskFilter, TaskPage, TaskSort};
use crate::error::{ApiError, Code, ErrorAnswer};
use crate::store::{ConsoleUser, Store, StoreError};
use crate::tasks::{CreateError, Day, NewTask};
use crate::{AppState, now_ms};

/// Rows a list page holds when the query does not say.
pub const DEFAULT_PER_PAGE: u32 = 50;
/// The most rows a list page holds.
pub const MAX_PER_PAGE: u32 = 200;
/// The most rows one export holds; narrow the filter for more.
pub const MAX_EXPORT_ROWS: usize = 100_000;
/// The longest value of a query parameter, in bytes.
pub const MAX_QUERY_VALUE: usize = 200;
/// The most parameters in one list query.
pub const MAX_QUERY_PARAMS: usize = 32;
/// Subjects a search answers at most.
pub const MAX_SUBJECT_RESULTS: usize = 20;
/// The longest comment or reason on a decision, in characters.
pub const MAX_COMMENT_CHARS: usize = 2_000;
/// Export rows handed from the database thread to the connection at once.
const EXPORT_CHUNK_ROWS: usize = 256;
/// Beijing time, for "this year".
const CHINA_OFFSET_MS: Millis = 8 * 3_600_000;

/// What a user acts for; `None`: everything (an administrator).
pub fn scope(user: &ConsoleUser) -> Option<Scope> {
    (user.role != Role::Admin).then(|| Scope {
        teams: user.teams.clone(),
        departments: user.departments.clone(),
    })
}

/// Whether `user` sees and acts for a task of `team` that includes `departments`.
pub(super) fn may_see(user: &ConsoleUser, team: &str, departments: &[String]) -> bool {
    scope(user).is_none_or(|s| s.covers(team, departments))
}

/// Whether `user` acts for `team` as a whole (its people, all its tasks).
pub(super) fn acts_for_team(user: &ConsoleUser, team: &str) -> bool {
    user.role == Role::Admin || user.teams.iter().any(|t| t == team)
}

fn bad_query(message: String) -> ApiError {
    ApiError::new(Code::ConsoleBadQuery, message)
}

fn not_found(what: &str) -> ApiError {
    ApiError::new(
        Code::ConsoleNotFound,
        format!("没有 {what}，或它不属于您的队伍 (no {what} among your teams' records)"),
    )
}

/// What a list or export query asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListQuery {
    pub filter: TaskFilter,
    pub sort: TaskSort,
    pub page: u32,
    pub per_page: u32,
    pub format: Option<ExportFormat>,
}

/// The file an export writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Csv,
    Json,
}

fn parse_bool(key: &str, value: &str) -> Result<bool, ApiError> {
    match value {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(bad_query(format!(
            "参数 {key} 只能是 true 或 false (parameter {key} must be true or false)"
        ))),
    }
}

fn parse_number<T: std::str::FromStr>(key: &str, value: &str) -> Result<T, ApiError> {
    value.parse().map_err(|_| {
        bad_query(format!(
            "参数 {key} 不是有效的数字 (parameter {key} is not a valid number)"
        ))
    })
}

/// Reads a list query (`status` may repeat or hold several statuses
/// separated by commas). Unknown parameters are refused, so that a typo
/// never silently widens what is shown or exported.
pub fn parse_query(raw: Option<&str>, export: bool) -> Result<ListQuery, ApiError> {
    let mut q = ListQuery {
        page: 1,
        per_page: DEFAULT_PER_PAGE,
        ..ListQuery::default()
    };
    let raw = raw.unwrap_or("");
    for (n, (key, value)) in url::form_urlencoded::parse(raw.as_bytes()).enumerate() {
        if n >= MAX_QUERY_PARAMS {
            return Err(bad_query(format!(
                "查询参数超过 {MAX_QUERY_PARAMS} 个 (more than {MAX_QUERY_PARAMS} query parameters)"
            )));
        }
        if value.len() > MAX_QUERY_VALUE {
            return Err(bad_query(format!(
                "参数 {key} 超过 {MAX_QUERY_VALUE} 字节 (parameter {key} is longer than {MAX_QUERY_VALUE} bytes)"
            )));
        }
        let value = value.trim();
        let text = || (!value.is_empty()).then(|| value.to_owned());
        match key.as_ref() {
            "status" => {
                for s in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                    let status = Status::parse(s)
                        .ok_or_else(|| bad_query(format!("没有状态 “{s}” (no status '{s}')")))?;
                    if !q.filter.statuses.contains(&status) {
                        q.filter.statuses.push(status);
                    }
                }
            }
            "department" => q.filter.department = text(),
            "team" => q.filter.team = text(),
            "inspector" => q.filter.inspector = text(),
            "q" => q.filter.text = text(),
            "due_from" if !value.is_empty() => {
                q.filter.due_from = Some(parse_number(&key, value)?);
            }
            "due_to" if !value.is_empty() => q.filter.due_to = Some(parse_number(&key, value)?),
            "due_from" | "due_to" => {}
            "overdue" => q.filter.overdue = parse_bool(&key, value)?,
            "returned" => q.filter.returned = parse_bool(&key, value)?,
            "rectification_due" => q.filter.rectification_due = parse_bool(&key, value)?,
            "joint" if !value.is_empty() => q.filter.joint = Some(parse_bool(&key, value)?),
            "joint" => {}
            "year" if !value.is_empty() => {
                let year: i32 = parse_number(&key, value)?;
                if !(2000..=2100).contains(&year) {
                    return Err(bad_query(format!(
                        "年份 {year} 超出 2000–2100 (the year {year} is outside 2000–2100)"
                    )));
                }
                q.filter.year = Some(year_range(year));
            }
            "year" => {}
            "sort" if !value.is_empty() => {
                q.sort = serde_json::from_value(serde_json::Value::String(value.to_owned()))
                    .map_err(|_| {
                        bad_query(format!(
                            "不能按 “{value}” 排序 (cannot sort by '{value}'): due, code, subject, status, updated, each optionally with a leading -"
                        ))
                    })?;
            }
            "sort" => {}
            "page" if !export => {
                q.page = parse_number(&key, value)?;
                if q.page == 0 {
                    return Err(bad_query("页码从 1 开始 (pages start at 1)".into()));
                }
            }
            "per_page" if !export => {
                q.per_page = parse_number(&key, value)?;
                if !(1..=MAX_PER_PAGE).contains(&q.per_page) {
                    return Err(bad_query(format!(
                        "每页 1 到 {MAX_PER_PAGE} 行 (1 to {MAX_PER_PAGE} rows a page)"
                    )));
                }
            }
            "format" if export => {
                q.format = Some(match value {
                    "csv" => ExportFormat::Csv,
                    "json" => ExportFormat::Json,
                    _ => {
                        return Err(bad_query(
                            "导出格式只能是 csv 或 json (format must be csv or json)".into(),
                        ));
                    }
                });
            }
            other => {
                return Err(bad_query(format!(
                    "未知的查询参数 “{other}” (unknown query parameter '{other}')"
                )));
            }
        }
    }
    Ok(q)
}

/// The filter of `query` within what `user` may see.
fn scoped(user: &ConsoleUser, mut filter: TaskFilter) -> Result<TaskFilter, ApiError> {
    // A supervisor of departments may narrow to any team: the scope still holds.
    if let Some(team) = &filter.team
        && user.departments.is_empty()
        && !acts_for_team(user, team)
    {
        return Err(ApiError::new(
            Code::ConsoleForbidden,
            format!("您不负责队伍 {team} (you do not act for team {team})"),
        ));
    }
    filter.scope = scope(user);
    Ok(filter)
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f).await?
}

/// The filter of the list and the export, for the OpenAPI document (the
/// handlers read the query with [`parse_query`], which refuses what this
/// does not name).
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // only described, never built
pub(super) struct FilterParams {
    /// Statuses, repeated or comma-separated.
    status: Option<String>,
    /// A department code.
    department: Option<String>,
    /// A team id (one of the user's).
    team: Option<String>,
    /// An inspector id.
    inspector: Option<String>,
    /// A piece of the subject's name, its USCC or the task code.
    q: Option<String>,
    /// Due on or after (ms since the epoch).
    due_from: Option<i64>,
    /// Due on or before (ms since the epoch).
    due_to: Option<i64>,
    overdue: Option<bool>,
    returned: Option<bool>,
    /// A rectification deadline within 14 days or past.
    rectification_due: Option<bool>,
    joint: Option<bool>,
    /// Tasks whose window starts in this year (Beijing time), cancelled ones
    /// aside: the dashboard's "this year". 2000 to 2100.
    year: Option<i32>,
    sort: Option<TaskSort>,
}

/// `GET /api/v1/console/tasks`.
#[utoipa::path(get, path = "/api/v1/console/tasks", tag = "tasks",
    params(
        FilterParams,
        ("page" = Option<u32>, Query, description = "from 1"),
        ("per_page" = Option<u32>, Query, description = "1 to 200, default 50"),
    ),
    responses((status = 200, body = TaskPage), (status = 400, description = "a bad query", body = ErrorAnswer), (status = 401, description = "no session, or it expired", body = ErrorAnswer), (status = 403, description = "a state-changing request without the session's X-CSRF-Token, or another team", body = ErrorAnswer)),
    security(("session" = [])))]
pub(super) async fn list(
    State(state): State<AppState>,
    session: ConsoleSession,
    RawQuery(raw): RawQuery,
) -> Result<Json<TaskPage>, ApiError> {
    let query = parse_query(raw.as_deref(), false)?;
    let filter = scoped(&session.user, query.filter)?;
    let store = state.store.clone();
    let page = blocking(move || {
        Ok(store.list_tasks(&filter, query.sort, query.page, query.per_page, now_ms())?)
    })
    .await?;
    Ok(Json(page))
}

const CSV_HEADER: &str = "code,subject_name,uscc,status,team,lead_department,departments,inspectors,window_start,due,overdue,joint,open_conflicts,evidence,findings,rectification_due,updated_at,id\r\n";

/// A CSV field: quoted when it holds a separator, a quote or a line break;
/// a leading `=`, `+`, `-` or `@` is escaped with `'` so that a spreadsheet
/// never runs a subject's name as a formula.
fn csv_field(out: &mut String, value: &str) {
    let guarded = value.starts_with(['=', '+', '-', '@']);
    let quote = guarded || value.contains([',', '"', '\r', '\n']);
    if quote {
        out.push('"');
        if guarded {
            out.push('\'');
        }
        out.push_str(&value.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(value);
    }
}

/// An ISO 8601 time in Beijing time, as spreadsheets read it.
fn iso(ms: Millis) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| {
            t.with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8"))
                .format("%Y-%m-%dT%H:%M:%S%:z")
                .to_string()
        })
        .unwrap_or_default()
}

fn csv_row(out: &mut String, r: &ConsoleTaskRow) {
    let fields = [
        r.code.clone(),
        r.subject_name.clone(),
        r.uscc.clone(),
        r.status.map(|s| s.as_str().to_owned()).unwrap_or_default(),
        r.team.clone(),
        r.lead_department.clone(),
        r.departments.join(" "),
        r.inspectors.join(" "),
        iso(r.window_start),
        iso(r.due),
        r.overdue.to_string(),
        r.joint.to_string(),
        r.open_conflicts.to_string(),
        r.evidence.to_string(),
        r.findings.to_string(),
        r.rectification_due.map(iso).unwrap_or_default(),
        iso(r.updated_at),
        r.id.clone(),
    ];
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        csv_field(out, f);
    }
    out.push_str("\r\n");
}

/// `GET /api/v1/console/tasks/export?format=csv|json&…`: every task the
/// filter selects (at most [`MAX_EXPORT_ROWS`]), streamed as it is read,
/// so memory stays flat however many rows go out.
#[utoipa::path(get, path = "/api/v1/console/tasks/export", tag = "tasks",
    params(
        FilterParams,
        ("format" = Option<String>, Query, description = "csv (default) or json"),
    ),
    responses((status = 200, description = "a CSV file or a JSON array of ConsoleTaskRow, streamed", content_type = "text/csv"),
        (status = 400, description = "a bad query, or more than 100,000 rows", body = ErrorAnswer), (status = 401, description = "no session, or it expired", body = ErrorAnswer), (status = 403, description = "a state-changing request without the session's X-CSRF-Token, or another team", body = ErrorAnswer)),
    security(("session" = [])))]
pub(super) async fn export(
    State(state): State<AppState>,
    session: ConsoleSession,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let query = parse_query(raw.as_deref(), true)?;
    let format = query.format.unwrap_or(ExportFormat::Csv);
    let filter = scoped(&session.user, query.filter)?;
    let store = state.store.clone();
    let counted = filter.clone();
    let total = blocking(move || {
        Ok(store
            .list_tasks(&counted, query.sort, 1, 1, now_ms())?
            .total)
    })
    .await?;
    if total > MAX_EXPORT_ROWS as u64 {
        return Err(bad_query(format!(
            "筛选出 {total} 个任务，一次最多导出 {MAX_EXPORT_ROWS} 个，请缩小筛选范围 ({total} tasks selected; one export holds at most {MAX_EXPORT_ROWS}: narrow the filter)"
        )));
    }
    let store = state.store.clone();
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(4);
    let sort = query.sort;
    tokio::task::spawn_blocking(move || {
        let mut chunk = String::new();
        let mut rows = 0usize;
        match format {
            ExportFormat::Csv => chunk.push_str(CSV_HEADER),
            ExportFormat::Json => chunk.push('['),
        }
        let sent = store.export_tasks(&filter, sort, MAX_EXPORT_ROWS, now_ms(), &mut |row| {
            match format {
                ExportFormat::Csv => csv_row(&mut chunk, &row),
                ExportFormat::Json => {
                    if rows > 0 {
                        chunk.push(',');
                    }
                    chunk.push_str(
                        &serde_json::to_string(&row)
                            .map_err(|e| StoreError::Invalid(e.to_string()))?,
                    );
                }
            }
            rows += 1;
            if rows.is_multiple_of(EXPORT_CHUNK_ROWS) {
                tx.blocking_send(Ok(std::mem::take(&mut chunk).into_bytes()))
                    .map_err(|_| StoreError::Invalid("the client went away".into()))?;
            }
            Ok(())
        });
        let end = match sent {
            Ok(()) => {
                if format == ExportFormat::Json {
                    chunk.push(']');
                }
                Ok(chunk.into_bytes())
            }
            Err(e) => {
                tracing::warn!(error = %e, "export cut short");
                Err(std::io::Error::other(e.to_string()))
            }
        };
        let _ = tx.blocking_send(end);
    });
    let (mime, name) = match format {
        ExportFormat::Csv => ("text/csv; charset=utf-8", "tasks.csv"),
        ExportFormat::Json => ("application/json", "tasks.json"),
    };
    let mut rx = rx;
    let stream = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(mime)),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::try_from(format!("attachment; filename=\"{name}\""))
                    .map_err(ApiError::internal)?,
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

/// The year `now` falls in (Beijing time), and its first and last millisecond + 1.
pub fn year_of(now: Millis) -> (i32, (Millis, Millis)) {
    use chrono::Datelike;
    let local = chrono::DateTime::from_timestamp_millis(now + CHINA_OFFSET_MS)
        .unwrap_or_default()
        .year();
    (local, year_range(local))
}

/// The start of `year` and of the next, Beijing time.
pub fn year_range(year: i32) -> (Millis, Millis) {
    let start = |year: i32| {
        Day::new(year, 1, 1)
            .map(Day::start_ms)
            .unwrap_or(Millis::MAX)
    };
    (start(year), start(year + 1))
}

/// `GET /api/v1/console/dashboard`.
#[utoipa::path(get, path = "/api/v1/console/dashboard", tag = "tasks",
    responses((status = 200, body = Dashboard), (status = 401, description = "no session, or it expired", body = ErrorAnswer)),
    security(("session" = [])))]
pub(super) async fn dashboard(
    State(state): State<AppState>,
    session: ConsoleSession,
) -> Result<Json<Dashboard>, ApiError> {
    let store = state.store.clone();
    let board = blocking(move || {
        let now = now_ms();
        let (year, range) = year_of(now);
        let scope = scope(&session.user);
        Ok(store.dashboard(scope.as_ref(), now, year, range)?)
    })
    .await?;
    Ok(Json(board))
}

/// One change of the task's history with when the server received it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct TimelineEntry {
    #[serde(flatten)]
    pub entry: HistoryEntry,
    /// Server time of the receipt; `None` for a change the server has no
    /// receipt of (none so far: every stored change is receipted).
    #[ts(type = "number | null")]
    pub received_at: Option<Millis>,
    /// The device (or `server`, or `console:{user}`) the change came from.
    pub device_id: Option<String>,
}

/// What the write policy flagged, with when and from which device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct FlagView {
    pub flag: Flag,
    pub device_id: String,
    #[ts(type = "number")]
    pub received_at: Millis,
}

/// A task's whole record as the review page shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct ConsoleRecord {
    pub record: RecordView,
    /// Every change, oldest first: device time and server receipt time.
    pub timeline: Vec<TimelineEntry>,
    pub flags: Vec<FlagView>,
}

/// Reads a task the user may see, or says it is not there.
pub(super) fn visible_task(
    store: &dyn Store,
    user: &ConsoleUser,
    id: &str,
) -> Result<crate::store::StoredTask, ApiError> {
    store
        .task(id)?
        .filter(|t| {
            acts_for_team(user, &t.team)
                || TaskDoc::load(&t.doc)
                    .and_then(|d| d.task())
                    .is_ok_and(|task| may_see(user, &t.team, &task.departments))
        })
        .ok_or_else(|| not_found(&format!("任务 {id} (task {id})")))
}

fn console_record(
    store: &dyn Store,
    id: &str,
    mut doc: TaskDoc,
) -> Result<ConsoleRecord, ApiError> {
    let record =
        build_record(&mut doc, &Directory::default(), None, "").map_err(ApiError::internal)?;
    let mut times: HashMap<String, (String, Millis)> = store.receipt_times(id)?;
    let timeline = doc
        .history()
        .map_err(ApiError::internal)?
        .into_iter()
        .map(|entry| {
            let receipt = times.remove(&entry.hash);
            TimelineEntry {
                received_at: receipt.as_ref().map(|r| r.1),
                device_id: receipt.map(|r| r.0),
                entry,
            }
        })
        .collect();
    let flags = store
        .flags(id)?
        .into_iter()
        .map(|f| FlagView {
            flag: f.flag,
            device_id: f.device_id,
            received_at: f.received_at,
        })
        .collect();
    Ok(ConsoleRecord {
        record,
        timeline,
        flags,
    })
}

/// `GET /api/v1/console/tasks/{id}`.
#[utoipa::path(get, path = "/api/v1/console/tasks/{id}", tag = "tasks",
    params(("id" = String, Path, description = "the task's id")),
    responses((status = 200, body = ConsoleRecord), (status = 404, description = "no such task among the user's teams", body = ErrorAnswer), (status = 401, description = "no session, or it expired", body = ErrorAnswer)),
    security(("session" = [])))]
pub(super) async fn record(
    State(state): State<AppState>,
    session: ConsoleSession,
    Path(id): Path<String>,
) -> Result<Json<ConsoleRecord>, ApiError> {
    let store = state.store.clone();
    let record = blocking(move || {
        let stored = visible_task(store.as_ref(), &session.user, &id)?;
        let doc = TaskDoc::load(&stored.doc).map_err(ApiError::internal)?;
        console_record(store.as_ref(), &id, doc)
    })
    .await?;
    Ok(Json(record))
}

/// A supervisor's decision on a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum Decision {
    Return,
    Approve,
    Publish,
    Cancel,
    Reopen,
}

impl Decision {
    fn kind(self) -> EventKind {
        match self {
            Self::Return => EventKind::Returned,
            Self::Approve => EventKind::Approved,
            Self::Publish => EventKind::Published,
            Self::Cancel => EventKind::Cancelled,
            Self::Reopen => EventKind::Reopened,
        }
    }

    /// Returning, cancelling and reopening say why.
    fn needs_comment(self) -> bool {
        matches!(self, Self::Return | Self::Cancel | Self::Reopen)
    }
}

#[derive(Debug, Clone, Deserialize, TS, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[ts(export)]
pub struct DecisionRequest {
    pub action: Decision,
    #[serde(default)]
    pub comment: Option<String>,
}

/// The Automerge actor of a console user: the same for every session of
/// theirs, and never one a tablet has (tablets' actors are random).
pub fn console_actor(user_id: &str) -> ActorId {
    let digest = Sha256::digest(format!("fieldloop-console-user:{user_id}").as_bytes());
    ActorId::from(&digest[..16])
}

/// `POST /api/v1/console/tasks/{id}/review`: records the decision as a
/// change by the user's own actor, so it syncs to the tablets and enters
/// the receipt log like any tablet's change.
#[utoipa::path(post, path = "/api/v1/console/tasks/{id}/review", tag = "tasks",
    params(("id" = String, Path, description = "the task's id")),
    request_body = DecisionRequest,
    responses((status = 200, description = "the task as it now is", body = ConsoleRecord),
        (status = 404, description = "no such task among the user's teams", body = ErrorAnswer),
        (status = 409, description = "the status does not allow the decision (status.transition)", body = ErrorAnswer),
        (status = 422, description = "a comment is missing or too long", body = ErrorAnswer), (status = 401, description = "no session, or it expired", body = ErrorAnswer), (status = 403, description = "a state-changing request without the session's X-CSRF-Token, or another team", body = ErrorAnswer)),
    security(("session" = [])))]
pub(super) async fn review(
    State(state): State<AppState>,
    session: ConsoleSession,
    Path(id): Path<String>,
    Json(request): Json<DecisionRequest>,
) -> Result<Json<ConsoleRecord>, ApiError> {
    let comment = request
        .comment
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_owned);
    if comment
        .as_ref()
        .is_some_and(|c| c.chars().count() > MAX_COMMENT_CHARS)
    {
        return Err(ApiError::new(
            Code::ConsoleBadInput,
            format!(
                "意见最多 {MAX_COMMENT_CHARS} 字 (a comment holds at most {MAX_COMMENT_CHARS} characters)"
            ),
        ));
    }
    if request.action.needs_comment() && comment.is_none() {
        return Err(ApiError::new(
            Code::ConsoleBadInput,
            "退回、撤销和重新打开须写明理由 (returning, cancelling and reopening need a reason)",
        ));
    }
    let role = match session.user.role {
        Role::Admin => Role::Admin,
        _ => Role::Supervisor,
    };
    let author = Author::new(
        console_actor(&session.user.id),
        session.user.id.clone(),
        role,
    );
    let device = format!("console:{}", session.user.id);
    let store = state.store.clone();
    let now = state.now();
    let record = blocking(move || {
        let load = || visible_task(store.as_ref(), &session.user, &id);
        let doc = crate::review::record_decision(
            store.as_ref(),
            &load,
            &author,
            request.action.kind(),
            comment.as_deref(),
            &device,
            now,
        )?;
        console_record(store.as_ref(), &id, doc)
    })
    .await?;
    Ok(Json(record))
}

/// A task to make by hand.
#[derive(Debug, Clone, Deserialize, TS, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[ts(export)]
pub struct NewTaskRequest {
    pub uscc: String,
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

/// The task that was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct NewTaskAnswer {
    pub id: String,
    pub code: String,
}

/// The most items or inspectors one new task names.
pub const MAX_NEW_TASK_LIST: usize = 500;

/// `POST /api/v1/console/tasks`.
#[utoipa::path(post, path = "/api/v1/console/tasks", tag = "tasks",
    request_body = NewTaskRequest,
    responses((status = 200, body = NewTaskAnswer), (status = 422, description = "the task cannot be made as asked", body = ErrorAnswer), (status = 401, description = "no session, or it expired", body = ErrorAnswer), (status = 403, description = "a state-changing request without the session's X-CSRF-Token, or another team", body = ErrorAnswer)),
    security(("session" = [])))]
pub(super) async fn create(
    State(state): State<AppState>,
    session: ConsoleSession,
    Json(request): Json<NewTaskRequest>,
) -> Result<Json<NewTaskAnswer>, ApiError> {
    let bad = |m: String| ApiError::new(Code::ConsoleBadInput, m);
    if request.items.len() > MAX_NEW_TASK_LIST || request.inspectors.len() > MAX_NEW_TASK_LIST {
        return Err(bad(format!(
            "检查事项或执法人员超过 {MAX_NEW_TASK_LIST} 个 (more than {MAX_NEW_TASK_LIST} items or inspectors)"
        )));
    }
    // Someone who acts for teams only is told at once; for a supervisor of
    // departments the task's departments decide (known once it is made up).
    if session.user.departments.is_empty() && !acts_for_team(&session.user, request.team.trim()) {
        return Err(ApiError::new(
            Code::ConsoleForbidden,
            format!(
                "您不负责队伍 {0} (you do not act for team {0})",
                request.team.trim()
            ),
        ));
    }
    let start: Day = request.start.parse().map_err(bad)?;
    let due: Day = request.end.parse().map_err(bad)?;
    let new = NewTask {
        subject: request.uscc,
        team: request.team.trim().to_owned(),
        inspectors: request.inspectors,
        start,
        due,
        code: None,
        by: session.user.id.clone(),
        items: (!request.items.is_empty()).then_some(request.items),
    };
    let store = state.store.clone();
    let scope = scope(&session.user);
    let now = state.now();
    let created = blocking(move || {
        crate::tasks::create_within(store.as_ref(), &new, scope.as_ref(), now).map_err(
            |e| match e {
                CreateError::Store(e) => ApiError::from(e),
                CreateError::Task(e) => ApiError::internal(e),
                e @ CreateError::OutOfScope(_) => {
                    ApiError::new(Code::ConsoleForbidden, e.to_string())
                }
                other => bad(other.to_string()),
            },
        )
    })
    .await?;
    Ok(Json(NewTaskAnswer {
        id: created.id,
        code: created.code,
    }))
}

/// The task routes of the console.
pub fn router() -> axum::Router<AppState> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/api/v1/console/tasks", get(list).post(create))
        .route("/api/v1/console/tasks/export", get(export))
        .route("/api/v1/console/tasks/{id}", get(record))
        .route("/api/v1/console/tasks/{id}/review", post(review))
        .route("/api/v1/console/dashboard", get(dashboard))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_read_strictly() {
        let q = parse_query(
            Some("status=submitted,returned&status=approved&q=%E5%BA%97&sort=-due&page=2&per_page=20&overdue=true"),
            false,
        )
        .expect("as expected");
        assert_eq!(
            q.filter.statuses,
            vec![Status::Submitted, Status::Returned, Status::Approved]
        );
        assert_eq!(q.filter.text.as_deref(), Some("店"));
        assert_eq!(q.sort, TaskSort::DueDesc);
        assert_eq!((q.page, q.per_page), (2, 20));
        assert!(q.filter.overdue);

        for bad in [
            "status=done",
            "stauts=submitted",
            "page=0",
            "per_page=201",
            "sort=subject_name",
            "overdue=yes",
            "due_from=tomorrow",
            "format=csv",
            "year=1999",
            "year=twenty",
        ] {
            let e = parse_query(Some(bad), false).expect_err("refused");
            assert_eq!(e.code, Code::ConsoleBadQuery, "{bad}");
        }
        assert_eq!(
            parse_query(Some("format=json"), true)
                .expect("as expected")
                .format,
            Some(ExportFormat::Json)
        );
        assert!(parse_query(Some("page=2"), true).is_err());
        assert_eq!(
            parse_query(Some("year=2027"), false)
                .expect("a year")
                .filter
                .year,
            Some((
                Day::new(2027, 1, 1).expect("day").start_ms(),
                Day::new(2028, 1, 1).expect("day").start_ms()
            ))
        );
        let long = format!("q={}", "a".repeat(MAX_QUERY_VALUE + 1));
        assert!(parse_query(Some(&long), false).is_err());
        let many = vec!["joint=true"; MAX_QUERY_PARAMS + 1].join("&");
        assert!(parse_query(Some(&many), false).is_err());
    }

    #[test]
    fn csv_fields_are_quoted_and_formulas_defused() {
        let mut out = String::new();
        csv_field(&mut out, "plain");
        out.push('|');
        csv_field(&mut out, "a,b \"c\"");
        out.push('|');
        csv_field(&mut out, "=HYPERLINK(\"x\")");
        assert_eq!(out, "plain|\"a,b \"\"c\"\"\"|\"'=HYPERLINK(\"\"x\"\")\"");
    }

    #[test]
    fn years_are_counted_in_beijing_time() {
        // 2026-12-31 17:00 UTC is 2027-01-01 01:00 in Beijing.
        let (year, (start, end)) = year_of(1_798_736_400_000);
        assert_eq!(year, 2027);
        assert_eq!(start, Day::new(2027, 1, 1).expect("as expected").start_ms());
        assert_eq!(end, Day::new(2028, 1, 1).expect("as expected").start_ms());
    }

    #[test]
    fn console_actors_are_stable_and_distinct() {
        assert_eq!(console_actor("S-001"), console_actor("S-001"));
        assert_ne!(console_actor("S-001"), console_actor("S-002"));
    }
}
