//! Rectification follow-up (整改复查).
//!
//! A finding with a rectification order (责令整改) and a deadline gets a
//! record of its own once its task is approved. Its state:
//!
//! - `ordered`: stored when the task is approved;
//! - `due`: *shown*, never stored: `ordered` with the deadline passed by the
//!   server's clock ([`crate::AppState::now`]) at the time of asking. A
//!   sweep that stored it would be a second writer whose lag makes the list
//!   wrong between two sweeps, and moving the clock in a test would need the
//!   sweep to run; computing it costs one comparison per row;
//! - `rechecking`: a re-check task (复查) was started and is neither
//!   approved nor cancelled (only one at a time: a second is `409
//!   rectify.state`). Cancelling the re-check task frees the record for
//!   another;
//! - `rectified` / `not_rectified`: the re-check task was approved. The rule:
//!   **not rectified** when the re-check answers the finding's item 不合格
//!   (fail) or records any finding; **rectified** otherwise (the item 合格
//!   or 不涉及, no finding). A not-rectified record stays listed for follow-up
//!   (a lead, another order).
//!
//! Records are written lazily and idempotently: after every review decision
//! and before every list, [`catch_up`] looks at approved tasks not looked at
//! yet (tasks approved before this existed included) and at re-check tasks
//! that were approved or cancelled. So a crash between an approval and its
//! records loses nothing.

use std::collections::BTreeSet;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use fieldloop_core::{
    Finding, Millis, Outcome, RecheckOf, RecheckPhoto, Severity, Status, Task, TaskDoc,
};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::AppState;
use crate::console::{ConsoleSession, Scope};
use crate::error::{ApiError, Code, ErrorAnswer};
use crate::store::{ConsoleUser, Store, StoreError};
use crate::tasks::{CreateError, CreatedTask, Day, NewTask};

/// A re-check task's window: from today for this many days, unless asked otherwise.
pub const RECHECK_DAYS: u32 = 7;
/// The longest re-check window that may be asked for, in days.
pub const MAX_RECHECK_DAYS: u32 = 90;
/// The most inspectors a re-check request may name.
pub const MAX_RECHECK_INSPECTORS: usize = 20;
/// The most rows one list answers (due ones first).
pub const MAX_RECTIFICATION_ROWS: usize = 500;
/// Approved tasks looked at per [`catch_up`] (the rest at the next one).
pub const CATCH_UP_TASKS: usize = 200;
const CHINA_OFFSET_MS: Millis = 8 * 3_600_000;

/// Where a rectification stands.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, TS, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum RectState {
    /// Ordered, the deadline not yet passed.
    Ordered,
    /// Ordered and the deadline passed (shown, not stored).
    Due,
    /// A re-check task is open.
    Rechecking,
    /// Re-checked: rectified.
    Rectified,
    /// Re-checked: not rectified (for follow-up).
    NotRectified,
}

impl RectState {
    /// The stored name (`due` is never stored).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ordered => "ordered",
            Self::Due => "due",
            Self::Rechecking => "rechecking",
            Self::Rectified => "rectified",
            Self::NotRectified => "not_rectified",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "ordered" => Self::Ordered,
            "due" => Self::Due,
            "rechecking" => Self::Rechecking,
            "rectified" => Self::Rectified,
            "not_rectified" => Self::NotRectified,
            _ => return None,
        })
    }

    /// The state shown at `now` of a record stored as `self` with `deadline`.
    pub fn shown(self, deadline: Millis, now: Millis) -> Self {
        match self {
            Self::Ordered if deadline <= now => Self::Due,
            other => other,
        }
    }

    /// Whether the record is closed (re-checked).
    pub fn is_closed(self) -> bool {
        matches!(self, Self::Rectified | Self::NotRectified)
    }
}

/// One rectification record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct Rectification {
    pub id: String,
    /// The task whose finding ordered it.
    pub task_id: String,
    pub task_code: String,
    pub team: String,
    /// The task's departments, the lead first.
    pub departments: Vec<String>,
    pub lead_department: String,
    pub uscc: String,
    pub subject_name: String,
    pub finding_id: String,
    pub item_id: Option<String>,
    pub item_title: Option<String>,
    pub description: String,
    pub severity: Severity,
    pub order: String,
    #[ts(type = "number")]
    pub deadline: Millis,
    /// When the server recorded it (the task's approval, or later for older tasks).
    #[ts(type = "number")]
    pub ordered_at: Millis,
    /// As shown: `due` is `ordered` with the deadline passed.
    pub state: RectState,
    /// The deadline passed (whatever the state).
    pub overdue: bool,
    /// The current or last re-check task.
    pub recheck_task: Option<String>,
    pub recheck_code: Option<String>,
    #[ts(type = "number | null")]
    pub closed_at: Option<Millis>,
    #[ts(type = "number")]
    pub updated_at: Millis,
}

impl Rectification {
    /// The same record as shown at `now`.
    pub fn at(mut self, now: Millis) -> Self {
        self.state = self.state.shown(self.deadline, now);
        self.overdue = self.deadline <= now;
        self
    }

    fn in_scope(&self, scope: Option<&Scope>) -> bool {
        scope.is_none_or(|s| s.covers(&self.team, &self.departments))
    }
}

/// The records of an approved task: one per finding with an order and a deadline.
pub fn of_task(task: &Task, now: Millis) -> Vec<Rectification> {
    let mut departments = vec![task.lead_department.clone()];
    departments.extend(
        task.departments
            .iter()
            .filter(|d| **d != task.lead_department)
            .cloned(),
    );
    task.findings
        .iter()
        .filter_map(|f| {
            let order = f.rectification_order.as_deref().map(str::trim)?;
            let deadline = f.rectification_deadline?;
            if order.is_empty() {
                return None;
            }
            Some(Rectification {
                id: uuid::Uuid::new_v4().to_string(),
                task_id: task.id.clone(),
                task_code: task.code.clone(),
                team: task.team.clone(),
                departments: departments.clone(),
                lead_department: task.lead_department.clone(),
                uscc: task.subject.uscc.clone(),
                subject_name: task.subject.name.clone(),
                finding_id: f.id.clone(),
                item_id: f.item_id.clone(),
                item_title: f
                    .item_id
                    .as_ref()
                    .and_then(|i| task.checklist.get(i))
                    .map(|i| i.title.clone()),
                description: f.description.clone(),
                severity: f.severity,
                order: order.to_owned(),
                deadline,
                ordered_at: now,
                state: RectState::Ordered,
                overdue: false,
                recheck_task: None,
                recheck_code: None,
                closed_at: None,
                updated_at: now,
            })
        })
        .collect()
}

/// The photos of a finding: photo evidence on its item, not withdrawn.
pub fn finding_photos(task: &Task, finding: &Finding) -> Vec<RecheckPhoto> {
    let Some(item) = &finding.item_id else {
        return Vec::new();
    };
    let mut photos: Vec<&fieldloop_core::Evidence> = task
        .evidence
        .values()
        .filter(|e| {
            e.kind == fieldloop_core::EvidenceKind::Photo
                && !e.is_withdrawn()
                && e.item.as_ref() == Some(item)
        })
        .collect();
    photos.sort_by(|a, b| (a.taken_at, &a.sha256).cmp(&(b.taken_at, &b.sha256)));
    photos
        .into_iter()
        .map(|e| RecheckPhoto {
            sha256: e.sha256.clone(),
            thumb_sha256: e.thumb_sha256.clone(),
            display_sha256: e.display_sha256.clone(),
            mime: e.mime.clone(),
            caption: e.caption.clone(),
            taken_at: e.taken_at,
        })
        .collect()
}

/// Every blob of `photos` (originals and their copies).
pub fn photo_blobs(photos: &[RecheckPhoto]) -> Vec<String> {
    let mut all = BTreeSet::new();
    for p in photos {
        all.insert(p.sha256.clone());
        all.extend(p.thumb_sha256.clone());
        all.extend(p.display_sha256.clone());
    }
    all.into_iter().collect()
}

/// How an approved re-check task closes its rectification (see the module docs).
pub fn outcome(recheck: &Task) -> RectState {
    let item_failed = recheck
        .recheck_of
        .as_ref()
        .and_then(|r| r.finding.item_id.as_ref())
        .and_then(|i| recheck.checklist.get(i))
        .is_some_and(|i| i.answer.result == Some(Outcome::Fail));
    if item_failed || !recheck.findings.is_empty() {
        RectState::NotRectified
    } else {
        RectState::Rectified
    }
}

fn load(store: &dyn Store, id: &str) -> Result<Option<Task>, StoreError> {
    let Some(stored) = store.task(id)? else {
        return Ok(None);
    };
    TaskDoc::load(&stored.doc)
        .and_then(|d| d.task())
        .map(Some)
        .map_err(|e| StoreError::Invalid(format!("task {id}: {e}")))
}

/// Records what approvals and re-checks decided since the last call (see
/// the module docs). Idempotent; cheap when there is nothing to do.
pub fn catch_up(store: &dyn Store, now: Millis) -> Result<(), StoreError> {
    for id in store.unscanned_rectification_tasks(CATCH_UP_TASKS)? {
        let rows = match load(store, &id)? {
            Some(task) => of_task(&task, now),
            None => Vec::new(),
        };
        store.record_rectifications(&id, &rows, now)?;
    }
    for (id, recheck_task, status) in store.finished_rechecks()? {
        let state = if status == Status::Cancelled.as_str() {
            RectState::Ordered
        } else {
            match load(store, &recheck_task)? {
                Some(task) => outcome(&task),
                None => continue,
            }
        };
        store.finish_recheck(&id, state, now)?;
    }
    Ok(())
}

/// [`catch_up`] after a review decision: the decision is already stored, so
/// a failure here is logged and made up for at the next list.
pub fn after_decision(store: &dyn Store, now: Millis) {
    if let Err(e) = catch_up(store, now) {
        tracing::warn!("recording rectifications after a review decision failed: {e}");
    }
}

/// The records `scope` sees (`None`: all) in `state` (`None`: all) as shown
/// at `now`, due ones first, then by deadline.
pub fn list(
    store: &dyn Store,
    scope: Option<&Scope>,
    state: Option<RectState>,
    now: Millis,
) -> Result<Vec<Rectification>, StoreError> {
    catch_up(store, now)?;
    let stored = match state {
        None => Vec::new(),
        Some(RectState::Due) => vec![RectState::Ordered],
        Some(s) => vec![s],
    };
    let mut rows: Vec<Rectification> = store
        .rectifications(&stored)?
        .into_iter()
        .filter(|r| r.in_scope(scope))
        .map(|r| r.at(now))
        .filter(|r| state.is_none_or(|s| r.state == s))
        .collect();
    rows.sort_by(|a, b| {
        let rank = |r: &Rectification| match r.state {
            RectState::Due => 0,
            RectState::NotRectified => 1,
            RectState::Ordered => 2,
            RectState::Rechecking => 3,
            RectState::Rectified => 4,
        };
        (rank(a), a.deadline, &a.id).cmp(&(rank(b), b.deadline, &b.id))
    });
    rows.truncate(MAX_RECTIFICATION_ROWS);
    Ok(rows)
}

/// What a supervisor may ask of a re-check; everything has a default.
#[derive(Debug, Clone, Default, Deserialize, TS, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[ts(export)]
pub struct RecheckRequest {
    /// The team; default: the team of the original task.
    #[serde(default)]
    #[ts(optional)]
    pub team: Option<String>,
    /// At least two of the team; default: the original task's inspectors.
    #[serde(default)]
    #[ts(optional)]
    pub inspectors: Option<Vec<String>>,
    /// The window from today, in days (1 to 90); default 7.
    #[serde(default)]
    #[ts(optional)]
    pub days: Option<u32>,
}

/// The re-check task made.
#[derive(Debug, Clone, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct RecheckAnswer {
    pub rectification: Rectification,
    pub task_id: String,
    pub task_code: String,
}

/// Why no re-check was started. Nothing changed in any case.
#[derive(Debug, thiserror::Error)]
pub enum RecheckError {
    #[error("没有整改记录 {0}，或它不属于您 (no rectification {0} among yours)")]
    NotFound(String),
    #[error(
        "整改记录 {id} 已{state}，不能再发起复查 (rectification {id} is {state_en}: no re-check can be started)"
    )]
    State {
        id: String,
        state: &'static str,
        state_en: &'static str,
    },
    #[error("{0}")]
    BadInput(String),
    #[error("原任务 {0} 已不存在 (the original task {0} is gone)")]
    Gone(String),
    #[error(transparent)]
    Create(#[from] CreateError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<RecheckError> for ApiError {
    fn from(e: RecheckError) -> Self {
        match e {
            RecheckError::NotFound(_) => ApiError::new(Code::ConsoleNotFound, e.to_string()),
            RecheckError::State { .. } => ApiError::new(Code::RectifyState, e.to_string()),
            RecheckError::BadInput(_) => ApiError::new(Code::ConsoleBadInput, e.to_string()),
            RecheckError::Gone(_) => ApiError::internal(e),
            RecheckError::Create(CreateError::Store(e)) => ApiError::from(e),
            RecheckError::Create(CreateError::Task(e)) => ApiError::internal(e),
            RecheckError::Create(e @ CreateError::OutOfScope(_)) => {
                ApiError::new(Code::ConsoleForbidden, e.to_string())
            }
            RecheckError::Create(other) => ApiError::new(Code::ConsoleBadInput, other.to_string()),
            RecheckError::Store(e) => ApiError::from(e),
        }
    }
}

/// The Beijing day `now` falls in, and the one `days - 1` later.
fn window_days(now: Millis, days: u32) -> Option<(Day, Day)> {
    use chrono::Datelike;
    let date = chrono::DateTime::from_timestamp_millis(now + CHINA_OFFSET_MS)?.date_naive();
    let last = date.checked_add_days(chrono::Days::new(u64::from(days.saturating_sub(1))))?;
    Some((
        Day::new(date.year(), date.month(), date.day())?,
        Day::new(last.year(), last.month(), last.day())?,
    ))
}

/// Starts the re-check of rectification `id` for `user` (within `scope`).
/// The caller holds the server's write lock, so two requests never both
/// find the record open.
pub fn start_recheck(
    store: &dyn Store,
    user: &ConsoleUser,
    scope: Option<&Scope>,
    id: &str,
    request: &RecheckRequest,
    now: Millis,
) -> Result<RecheckAnswer, RecheckError> {
    catch_up(store, now)?;
    let rect = store
        .rectification(id)?
        .filter(|r| r.in_scope(scope))
        .ok_or_else(|| RecheckError::NotFound(id.chars().take(80).collect()))?;
    match rect.state {
        RectState::Ordered | RectState::Due => {}
        RectState::Rechecking => {
            return Err(RecheckError::State {
                id: rect.id,
                state: "在复查中（复查任务未结束）",
                state_en: "being re-checked (its re-check task is open)",
            });
        }
        RectState::Rectified | RectState::NotRectified => {
            return Err(RecheckError::State {
                id: rect.id,
                state: "复查完毕",
                state_en: "re-checked and closed",
            });
        }
    }
    let days = request.days.unwrap_or(RECHECK_DAYS);
    if !(1..=MAX_RECHECK_DAYS).contains(&days) {
        return Err(RecheckError::BadInput(format!(
            "复查期限须为 1 到 {MAX_RECHECK_DAYS} 天 (a re-check window is 1 to {MAX_RECHECK_DAYS} days)"
        )));
    }
    if request
        .inspectors
        .as_ref()
        .is_some_and(|i| i.len() > MAX_RECHECK_INSPECTORS)
    {
        return Err(RecheckError::BadInput(format!(
            "执法人员最多 {MAX_RECHECK_INSPECTORS} 名 (at most {MAX_RECHECK_INSPECTORS} inspectors)"
        )));
    }
    let original =
        load(store, &rect.task_id)?.ok_or_else(|| RecheckError::Gone(rect.task_id.clone()))?;
    let finding = original
        .findings
        .iter()
        .find(|f| f.id == rect.finding_id)
        .cloned()
        .ok_or_else(|| RecheckError::Gone(format!("{}/{}", rect.task_id, rect.finding_id)))?;
    let team = request
        .team
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .unwrap_or(&original.team)
        .to_owned();
    let inspectors = request
        .inspectors
        .clone()
        .unwrap_or_else(|| original.inspectors.clone());
    // The finding's item; without one, the lead department's items of the original.
    let items: Vec<String> = match &finding.item_id {
        Some(item) => vec![item.clone()],
        None => original
            .items_in_order()
            .into_iter()
            .filter(|(_, i)| i.department == original.lead_department)
            .map(|(id, _)| id.clone())
            .collect(),
    };
    let (start, due) = window_days(now, days).ok_or_else(|| {
        RecheckError::BadInput("复查期限超出日历范围 (the window is off the calendar)".into())
    })?;
    let photos = finding_photos(&original, &finding);
    let recheck_of = RecheckOf {
        rectification: rect.id.clone(),
        task_id: original.id.clone(),
        task_code: original.code.clone(),
        finding,
        item_title: rect.item_title.clone(),
        photos,
    };
    let new = NewTask {
        subject: original.subject.uscc.clone(),
        team: team.clone(),
        inspectors,
        start,
        due,
        code: None,
        by: user.id.clone(),
        items: (!items.is_empty()).then_some(items),
    };
    let created: CreatedTask =
        crate::tasks::create_recheck(store, &new, scope, Some(&recheck_of), now)?;
    let blobs = photo_blobs(&recheck_of.photos);
    if !store.start_recheck(&rect.id, &created.id, &created.code, &team, &blobs, now)? {
        // Cannot happen under the write lock; said plainly if it does.
        return Err(RecheckError::State {
            id: rect.id,
            state: "被他人同时发起复查",
            state_en: "being re-checked by someone else meanwhile",
        });
    }
    let rectification = store
        .rectification(&rect.id)?
        .ok_or_else(|| RecheckError::NotFound(rect.id.clone()))?
        .at(now);
    Ok(RecheckAnswer {
        rectification,
        task_id: created.id,
        task_code: created.code,
    })
}

/// The rectifications the console lists.
#[derive(Debug, Clone, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct RectificationList {
    pub rows: Vec<Rectification>,
    /// The server's time the states were computed at.
    #[ts(type = "number")]
    pub now: Millis,
}

fn parse_state(raw: Option<&str>) -> Result<Option<RectState>, ApiError> {
    let mut state = None;
    for pair in raw.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "state" if value.is_empty() || value == "all" => state = None,
            "state" => {
                state = Some(RectState::parse(value).ok_or_else(|| {
                    ApiError::new(
                        Code::ConsoleBadQuery,
                        format!(
                            "state 只能是 ordered、due、rechecking、rectified、not_rectified 或 all (unknown state '{}')",
                            value.chars().take(40).collect::<String>()
                        ),
                    )
                })?);
            }
            other => {
                return Err(ApiError::new(
                    Code::ConsoleBadQuery,
                    format!(
                        "未知的查询参数 {0} (unknown query parameter {0})",
                        other.chars().take(40).collect::<String>()
                    ),
                ));
            }
        }
    }
    Ok(state)
}

/// `GET /api/v1/console/rectifications?state=`.
#[utoipa::path(get, path = "/api/v1/console/rectifications", tag = "rectifications",
    params(("state" = Option<String>, Query, description = "ordered, due, rechecking, rectified, not_rectified or all (default)")),
    responses((status = 200, body = RectificationList), (status = 400, description = "a bad query", body = ErrorAnswer), (status = 401, description = "no session, or it expired", body = ErrorAnswer)),
    security(("session" = [])))]
pub async fn get_list(
    State(state): State<AppState>,
    session: ConsoleSession,
    RawQuery(raw): RawQuery,
) -> Result<Json<RectificationList>, ApiError> {
    let wanted = parse_state(raw.as_deref())?;
    let now = state.now();
    let store = state.store.clone();
    let rows = tokio::task::spawn_blocking(move || {
        let scope = crate::console::scope(&session.user);
        list(store.as_ref(), scope.as_ref(), wanted, now)
    })
    .await??;
    Ok(Json(RectificationList { rows, now }))
}

/// `POST /api/v1/console/rectifications/{id}/recheck`.
#[utoipa::path(post, path = "/api/v1/console/rectifications/{id}/recheck", tag = "rectifications",
    params(("id" = String, Path, description = "the rectification")),
    request_body = RecheckRequest,
    responses((status = 200, body = RecheckAnswer), (status = 404, description = "no such rectification among the user's", body = ErrorAnswer), (status = 409, description = "a re-check is open, or the rectification is closed", body = ErrorAnswer), (status = 422, description = "the re-check task cannot be made as asked", body = ErrorAnswer)),
    security(("session" = [])))]
pub async fn post_recheck(
    State(state): State<AppState>,
    session: ConsoleSession,
    Path(id): Path<String>,
    body: Option<Json<RecheckRequest>>,
) -> Result<Json<RecheckAnswer>, ApiError> {
    let request = body.map(|Json(b)| b).unwrap_or_default();
    let now = state.now();
    let store = state.store.clone();
    let answer = tokio::task::spawn_blocking(move || {
        let scope = crate::console::scope(&session.user);
        start_recheck(
            store.as_ref(),
            &session.user,
            scope.as_ref(),
            &id,
            &request,
            now,
        )
        .map_err(ApiError::from)
    })
    .await??;
    Ok(Json(answer))
}

/// The rectification routes of the console.
pub fn router() -> axum::Router<AppState> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/api/v1/console/rectifications", get(get_list))
        .route(
            "/api/v1/console/rectifications/{id}/recheck",
            post(post_recheck),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_is_ordered_with_the_deadline_passed_and_nothing_else() {
        use RectState::*;
        for s in [Ordered, Rechecking, Rectified, NotRectified] {
            assert_eq!(s.shown(100, 99), s, "before the deadline: as stored");
        }
        assert_eq!(Ordered.shown(100, 100), Due);
        assert_eq!(Ordered.shown(100, 101), Due);
        assert_eq!(Rechecking.shown(100, 101), Rechecking);
        assert_eq!(Rectified.shown(100, 101), Rectified);
        for s in [Ordered, Due, Rechecking, Rectified, NotRectified] {
            assert_eq!(RectState::parse(s.as_str()), Some(s));
        }
        assert_eq!(RectState::parse("closed"), None);
    }

    /// One step of the property test below.
    #[derive(Debug, Clone)]
    enum Step {
        /// The task is approved (again: the records are looked at again).
        Approve,
        /// Time passes, in days.
        Wait(i64),
        /// A re-check is started.
        Start,
        /// The re-check task is approved with this outcome, or cancelled (`None`).
        Finish(Option<bool>),
    }

    fn step() -> impl proptest::strategy::Strategy<Value = Step> {
        use proptest::prelude::*;
        prop_oneof![
            Just(Step::Approve),
            (0i64..6).prop_map(Step::Wait),
            Just(Step::Start),
            proptest::option::of(any::<bool>()).prop_map(Step::Finish),
        ]
    }

    fn record(deadline: Millis) -> Rectification {
        Rectification {
            id: "R-1".into(),
            task_id: "T-1".into(),
            task_code: "JX-2026-000001".into(),
            team: "T-QX-01".into(),
            departments: vec!["SCJG".into(), "XFJY".into()],
            lead_department: "SCJG".into(),
            uscc: "92360736MA36XJ6832".into(),
            subject_name: "青溪小吃店".into(),
            finding_id: "F-1".into(),
            item_id: Some("I-1".into()),
            item_title: None,
            description: "灭火器过期".into(),
            severity: Severity::Major,
            order: "更换".into(),
            deadline,
            ordered_at: 0,
            state: RectState::Ordered,
            overdue: false,
            recheck_task: None,
            recheck_code: None,
            closed_at: None,
            updated_at: 0,
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]

        /// Whatever happens in whatever order, the stored record follows the
        /// rules: one record per finding however often it is looked at; a
        /// re-check starts only from `ordered`; only a re-check ends one, as
        /// rectified or not, or (cancelled) back to `ordered`; a closed record
        /// never changes; `due` is exactly `ordered` with the deadline passed.
        #[test]
        fn the_state_rules_hold_for_any_sequence(steps in proptest::collection::vec(step(), 1..24)) {
            let dir = tempfile::tempdir().expect("tempdir");
            let store = crate::store::sqlite::SqliteStore::open(dir.path()).expect("store");
            let day = 86_400_000;
            let deadline = 3 * day;
            let mut now = 0;
            // The model: None before the approval.
            let mut model: Option<RectState> = None;
            for step in steps {
                match step {
                    Step::Approve => {
                        store.record_rectifications("T-1", &[record(deadline)], now).expect("record");
                        model.get_or_insert(RectState::Ordered);
                    }
                    Step::Wait(days) => now += days * day,
                    Step::Start => {
                        let started = store
                            .start_recheck("R-1", "T-2", "JX-2026-000002", "T-QX-01", &["a".repeat(64)], now)
                            .expect("start");
                        proptest::prop_assert_eq!(started, model == Some(RectState::Ordered));
                        if started {
                            model = Some(RectState::Rechecking);
                        }
                    }
                    Step::Finish(outcome) => {
                        let to = match outcome {
                            Some(true) => RectState::Rectified,
                            Some(false) => RectState::NotRectified,
                            None => RectState::Ordered,
                        };
                        let ended = store.finish_recheck("R-1", to, now).expect("finish");
                        proptest::prop_assert_eq!(ended, model == Some(RectState::Rechecking));
                        if ended {
                            model = Some(to);
                        }
                    }
                }
                let all = store.rectifications(&[]).expect("list");
                proptest::prop_assert_eq!(all.len(), usize::from(model.is_some()), "one record at most");
                if let Some(expected) = model {
                    let stored = all[0].clone();
                    proptest::prop_assert_eq!(stored.state, expected);
                    proptest::prop_assert_eq!(stored.closed_at.is_some(), expected.is_closed());
                    let shown = stored.at(now);
                    let due = expected == RectState::Ordered && deadline <= now;
                    proptest::prop_assert_eq!(shown.state == RectState::Due, due);
                    proptest::prop_assert_eq!(shown.overdue, deadline <= now);
                }
            }
        }
    }

    #[test]
    fn the_window_is_days_in_beijing_time() {
        // 2026-06-01 00:30 Beijing is 2026-05-31 16:30 UTC.
        let now = Day::new(2026, 6, 1).expect("day").start_ms() + 30 * 60_000;
        let (start, due) = window_days(now, 7).expect("window");
        assert_eq!(start.to_string(), "2026-06-01");
        assert_eq!(due.to_string(), "2026-06-07");
        let (start, due) = window_days(now, 1).expect("window");
        assert_eq!(start, due);
    }
}
