//! 亮码检查, the business's side: what the QR code on the inspectors'
//! tablet opens. No sign-in; phone-first pages in Chinese, and the same as
//! JSON. Never shown: the subject's risk class.
//!
//! - `GET /v/{code}` and `GET /api/v1/public/v/{code}`: whether the
//!   inspection is registered; the agency, departments, inspectors with
//!   their badge numbers, legal basis, window and status; after
//!   publication the result. The page checks the signed claim of the URL
//!   fragment (`#FL1:…`) in the browser against the county's key, which it
//!   embeds. Unknown code `404 verify.unknown`; revoked `410
//!   verify.revoked`; past the window's end plus the feedback period
//!   ([`crate::claims::FEEDBACK_DAYS`]) `410 verify.expired`.
//! - `POST /api/v1/public/v/{code}/feedback`: the business's feedback, once
//!   per task, from the window's start until the code expires (not for a
//!   cancelled task): `409 feedback.duplicate` for a second one,
//!   `409 feedback.closed` outside that time, `422 feedback.bad_input`.
//! - `GET /v/verify`: a page that checks a claim (fragment or pasted) with
//!   no network once loaded; `GET /v/verify.js`: the pages' script.
//! - `GET /api/v1/public/claim-key`: the county's public key.
//!
//! Every lookup and feedback counts against a per-address limit
//! (`429 verify.rate_limited`).

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};

use axum::Json;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use fieldloop_core::{Status, Task, TaskDoc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::AppState;
use crate::claims::{
    self, FEEDBACK_PER_ADDRESS_PER_DAY, FeedbackAdded, FeedbackRow, MAX_FEEDBACK_COMMENT_CHARS,
};
use crate::error::{ApiError, Code};
use crate::peer::ClientAddr;

/// Lookups (page, JSON) one address may make a minute.
pub const LOOKUPS_PER_MINUTE: u32 = 30;
/// Feedback posts one address may make a minute (accepted or not).
pub const FEEDBACK_POSTS_PER_MINUTE: u32 = 5;
/// The largest feedback body read.
pub const MAX_FEEDBACK_BODY: usize = 8 * 1024;
/// The longest verify code looked up (generated ones are 20 characters).
const MAX_CODE_CHARS: usize = 64;
/// Addresses remembered before those with a full allowance are forgotten.
const REMEMBERED_ADDRESSES: usize = 10_000;

const CSP: &str = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// The per-address limits and the feedback period, shared by the handlers.
#[derive(Debug)]
pub struct VerifyState {
    lookups: governor::DefaultKeyedRateLimiter<IpAddr>,
    posts: governor::DefaultKeyedRateLimiter<IpAddr>,
    /// Days after the window's end a code still answers.
    pub feedback_days: u32,
}

impl Default for VerifyState {
    fn default() -> Self {
        Self::new(claims::FEEDBACK_DAYS)
    }
}

impl VerifyState {
    pub fn new(feedback_days: u32) -> Self {
        let per_minute = |n: u32| {
            governor::Quota::per_minute(
                std::num::NonZeroU32::new(n).unwrap_or(std::num::NonZeroU32::MIN),
            )
        };
        Self {
            lookups: governor::RateLimiter::keyed(per_minute(LOOKUPS_PER_MINUTE)),
            posts: governor::RateLimiter::keyed(per_minute(FEEDBACK_POSTS_PER_MINUTE)),
            feedback_days,
        }
    }

    fn allow(limiter: &governor::DefaultKeyedRateLimiter<IpAddr>, addr: &ClientAddr) -> bool {
        if limiter.len() > REMEMBERED_ADDRESSES {
            limiter.retain_recent();
        }
        limiter
            .check_key(&addr.0.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)))
            .is_ok()
    }
}

fn limited() -> ApiError {
    ApiError::new(
        Code::VerifyRateLimited,
        "查询过于频繁，请一分钟后再试 (too many requests from this address; wait a minute)",
    )
}

/// The county's public key for claims.
#[derive(Debug, Clone, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct ClaimKeyView {
    /// Hex, 16 digits: the first 8 bytes of the key's SHA-256.
    pub kid: String,
    /// The raw 32-byte Ed25519 public key, hex.
    pub public_key: String,
    /// `Ed25519`.
    pub algorithm: String,
}

/// One inspector as the public page shows them.
#[derive(Debug, Clone, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct PublicInspector {
    pub name: String,
    pub badge: String,
}

/// What `/v/{code}` says.
#[derive(Debug, Clone, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct VerifyView {
    pub verify_code: String,
    pub registered: bool,
    pub task_code: String,
    pub subject_name: String,
    pub uscc: String,
    /// The lead department (the agency that leads the inspection).
    pub agency: String,
    pub team: String,
    pub departments: Vec<String>,
    pub inspectors: Vec<PublicInspector>,
    /// The checklist items' legal basis, each once, in checklist order.
    pub legal_basis: Vec<String>,
    /// `YYYY-MM-DD`, Beijing time.
    pub window_start: String,
    pub window_end: String,
    /// The status's wire name (`assigned`, `in_progress`, …) and in Chinese.
    pub status: String,
    pub status_zh: String,
    /// After publication: `未发现问题` or `发现问题 N 项`, and whether a rectification was ordered.
    pub result: Option<String>,
    pub rectification_required: Option<bool>,
    /// The signed claim the tablet's QR carries (`FL1:…`), if the task has one.
    pub claim: Option<String>,
    pub claim_key: Option<ClaimKeyView>,
    /// Until when the code answers, `YYYY-MM-DD`.
    pub valid_until: String,
    pub feedback_open: bool,
    pub feedback_given: bool,
}

/// A business's feedback.
#[derive(Debug, Clone, Deserialize, TS, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[ts(export)]
pub struct FeedbackRequest {
    /// 1 (very dissatisfied) to 5 (very satisfied).
    pub rating: u8,
    /// 是否亮证.
    pub badge_shown: bool,
    /// 是否告知权利.
    pub rights_told: bool,
    /// 是否索要财物.
    pub money_asked: bool,
    /// At most [`MAX_FEEDBACK_COMMENT_CHARS`] characters.
    #[serde(default)]
    pub comment: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct FeedbackAnswer {
    pub accepted: bool,
}

fn day(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms + 8 * 3_600_000)
        .map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

fn status_zh(s: Status) -> &'static str {
    match s {
        Status::Assigned => "已派发，待检查",
        Status::InProgress => "检查中",
        Status::Submitted => "已提交，待审核",
        Status::Returned => "退回补正",
        Status::Approved => "已审核",
        Status::Published => "结果已公示",
        Status::Cancelled => "已撤销",
    }
}

/// A task found by its verify code, with what decides whether it answers.
struct Found {
    task: Task,
    team: String,
    status: Status,
    revoked: Option<claims::Revocation>,
    feedback_given: bool,
}

fn bad_code(code: &str) -> bool {
    code.is_empty()
        || code.len() > MAX_CODE_CHARS
        || !code.bytes().all(|b| b.is_ascii_alphanumeric())
}

fn unknown() -> ApiError {
    ApiError::new(
        Code::VerifyUnknown,
        "没有这个核验码：该检查未登记，或核验码有误 (no such verification code: the inspection is not registered, or the code is mistyped)",
    )
}

fn find(store: &dyn crate::store::Store, code: &str) -> Result<Found, ApiError> {
    if bad_code(code) {
        return Err(unknown());
    }
    let id = store.task_by_verify_code(code)?.ok_or_else(unknown)?;
    let stored = store.task(&id)?.ok_or_else(unknown)?;
    let doc = TaskDoc::load(&stored.doc).map_err(ApiError::internal)?;
    let task = doc.task().map_err(ApiError::internal)?;
    let status = doc.status().map_err(ApiError::internal)?;
    Ok(Found {
        revoked: store.verify_revocation(&id)?,
        feedback_given: store.feedback_for_task(&id)?.is_some(),
        task,
        team: stored.team,
        status,
    })
}

/// Refuses a revoked or expired code.
fn answering(found: &Found, now: i64, feedback_days: u32) -> Result<(), ApiError> {
    if let Some(r) = &found.revoked {
        return Err(ApiError::new(
            Code::VerifyRevoked,
            format!(
                "该核验码已于 {} 被撤销，请勿相信出示此码的人员 (this code was revoked on {})",
                day(r.at),
                day(r.at)
            ),
        ));
    }
    let until = claims::code_expires_at(found.task.window.due, feedback_days);
    if now > until {
        return Err(ApiError::new(
            Code::VerifyExpired,
            format!(
                "该核验码已于 {} 过期（检查期限结束后 {feedback_days} 天） (this code expired on {}, {feedback_days} days after the inspection window)",
                day(until),
                day(until)
            ),
        ));
    }
    Ok(())
}

fn feedback_open(found: &Found, now: i64) -> bool {
    found.status != Status::Cancelled && now >= found.task.window.start && !found.feedback_given
}

fn view(state: &AppState, found: &Found, now: i64) -> Result<VerifyView, ApiError> {
    let task = &found.task;
    let names = task.names.clone().unwrap_or_default();
    let dept = |code: &String| {
        names
            .departments
            .get(code)
            .map_or_else(|| code.clone(), |d| d.name.clone())
    };
    let badges = claims::badges(state.store.as_ref(), &task.inspectors)?;
    let mut legal_basis: Vec<String> = Vec::new();
    for (_, item) in task.items_in_order() {
        let basis = item.legal_basis.trim();
        if !basis.is_empty() && !legal_basis.iter().any(|b| b == basis) {
            legal_basis.push(basis.to_owned());
        }
    }
    let published = found.status == Status::Published;
    let findings = task.findings.len();
    Ok(VerifyView {
        verify_code: task.verify_code.clone(),
        registered: true,
        task_code: task.code.clone(),
        subject_name: task.subject.name.clone(),
        uscc: task.subject.uscc.clone(),
        agency: dept(&task.lead_department),
        team: if names.team.is_empty() {
            found.team.clone()
        } else {
            names.team.clone()
        },
        departments: task.departments.iter().map(dept).collect(),
        inspectors: task
            .inspectors
            .iter()
            .map(|id| PublicInspector {
                name: names
                    .inspectors
                    .get(id)
                    .cloned()
                    .unwrap_or_else(|| id.clone()),
                badge: badges.get(id).cloned().unwrap_or_default(),
            })
            .collect(),
        legal_basis,
        window_start: day(task.window.start),
        window_end: day(task.window.due),
        status: found.status.as_str().to_owned(),
        status_zh: status_zh(found.status).to_owned(),
        result: published.then(|| {
            if findings == 0 {
                "未发现问题".to_owned()
            } else {
                format!("发现问题 {findings} 项")
            }
        }),
        rectification_required: published.then(|| {
            task.findings
                .iter()
                .any(|f| f.rectification_order.is_some())
        }),
        claim: task.claim.clone(),
        claim_key: key_view(state),
        valid_until: day(claims::code_expires_at(
            task.window.due,
            state.verify.feedback_days,
        )),
        feedback_open: feedback_open(found, now),
        feedback_given: found.feedback_given,
    })
}

fn key_view(state: &AppState) -> Option<ClaimKeyView> {
    state.store.claim_key().map(|k| ClaimKeyView {
        kid: k.kid_hex(),
        public_key: k.public_hex(),
        algorithm: fieldloop_core::claim::ALGORITHM.to_owned(),
    })
}

async fn lookup(state: &AppState, code: String) -> Result<VerifyView, ApiError> {
    let now = state.now();
    let held = state.clone();
    tokio::task::spawn_blocking(move || {
        let found = find(held.store.as_ref(), &code)?;
        answering(&found, now, held.verify.feedback_days)?;
        view(&held, &found, now)
    })
    .await?
}

/// `GET /api/v1/public/v/{code}`.
#[utoipa::path(get, path = "/api/v1/public/v/{code}", tag = "public",
    params(("code" = String, Path, description = "the verify code")),
    responses((status = 200, body = VerifyView),
        (status = 404, description = "verify.unknown", body = crate::error::ErrorAnswer),
        (status = 410, description = "verify.revoked, verify.expired", body = crate::error::ErrorAnswer),
        (status = 429, description = "verify.rate_limited", body = crate::error::ErrorAnswer)))]
pub async fn verify_json(
    State(state): State<AppState>,
    addr: ClientAddr,
    Path(code): Path<String>,
) -> Result<Json<VerifyView>, ApiError> {
    if !VerifyState::allow(&state.verify.lookups, &addr) {
        return Err(limited());
    }
    Ok(Json(lookup(&state, code).await?))
}

/// `GET /api/v1/public/claim-key`.
#[utoipa::path(get, path = "/api/v1/public/claim-key", tag = "public",
    responses((status = 200, body = ClaimKeyView), (status = 404, description = "the server signs no claims", body = crate::error::ErrorAnswer)))]
pub async fn claim_key(State(state): State<AppState>) -> Result<Response, ApiError> {
    let key = key_view(&state).ok_or_else(|| {
        ApiError::new(
            Code::HttpNotFound,
            "本服务器不签发核验码 (this server signs no claims)",
        )
    })?;
    let mut r = Json(key).into_response();
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    Ok(r)
}

/// `POST /api/v1/public/v/{code}/feedback`.
#[utoipa::path(post, path = "/api/v1/public/v/{code}/feedback", tag = "public",
    params(("code" = String, Path, description = "the verify code")),
    request_body = FeedbackRequest,
    responses((status = 200, body = FeedbackAnswer),
        (status = 404, description = "verify.unknown", body = crate::error::ErrorAnswer),
        (status = 409, description = "feedback.duplicate, feedback.closed", body = crate::error::ErrorAnswer),
        (status = 410, description = "verify.revoked, verify.expired", body = crate::error::ErrorAnswer),
        (status = 422, description = "feedback.bad_input", body = crate::error::ErrorAnswer),
        (status = 429, description = "verify.rate_limited", body = crate::error::ErrorAnswer)))]
pub async fn feedback(
    State(state): State<AppState>,
    addr: ClientAddr,
    Path(code): Path<String>,
    Json(request): Json<FeedbackRequest>,
) -> Result<Json<FeedbackAnswer>, ApiError> {
    if !VerifyState::allow(&state.verify.posts, &addr) {
        return Err(limited());
    }
    let bad = |m: String| ApiError::new(Code::FeedbackBadInput, m);
    if !(1..=5).contains(&request.rating) {
        return Err(bad("评分应为 1 到 5 分 (the rating is 1 to 5)".to_owned()));
    }
    let comment = request.comment.trim().to_owned();
    if comment.chars().count() > MAX_FEEDBACK_COMMENT_CHARS {
        return Err(bad(format!(
            "意见最多 {MAX_FEEDBACK_COMMENT_CHARS} 字 (a comment holds at most {MAX_FEEDBACK_COMMENT_CHARS} characters)"
        )));
    }
    let now = state.now();
    let held = state.clone();
    let address = addr
        .0
        .map_or_else(|| "unknown".to_owned(), |a| a.to_string());
    tokio::task::spawn_blocking(move || {
        let store = held.store.as_ref();
        let found = find(store, &code)?;
        answering(&found, now, held.verify.feedback_days)?;
        if found.feedback_given {
            return Err(duplicate());
        }
        if !feedback_open(&found, now) {
            return Err(ApiError::new(
                Code::FeedbackClosed,
                "该次检查现在不能评价：检查期限尚未开始，或任务已撤销 (feedback opens at the window's start, and not for a cancelled task)",
            ));
        }
        let address_hash = store.claim_key().map_or_else(
            || address.clone(),
            |k| k.address_hash(&address),
        );
        let row = FeedbackRow {
            task_id: found.task.id.clone(),
            task_code: found.task.code.clone(),
            subject_name: found.task.subject.name.clone(),
            team: found.team.clone(),
            departments: found.task.departments.clone(),
            rating: request.rating,
            badge_shown: request.badge_shown,
            rights_told: request.rights_told,
            money_asked: request.money_asked,
            comment,
            address_hash,
            received_at: now,
        };
        match store.add_feedback(&row, FEEDBACK_PER_ADDRESS_PER_DAY)? {
            FeedbackAdded::Added => Ok(Json(FeedbackAnswer { accepted: true })),
            FeedbackAdded::Duplicate => Err(duplicate()),
            FeedbackAdded::TooMany => Err(limited()),
        }
    })
    .await?
}

fn duplicate() -> ApiError {
    ApiError::new(
        Code::FeedbackDuplicate,
        "该次检查已经评价过，每次检查只能评价一次，未作改动 (feedback for this inspection was already given; only one per inspection, nothing changed)",
    )
}

/// Text for HTML.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn shell(title: &str, key: Option<&ClaimKeyView>, body: &str) -> String {
    // The key as JSON in a data block (not run as script); `<` escaped.
    let key_block = key
        .and_then(|k| serde_json::to_string(k).ok())
        .map(|json| {
            format!(
                "<script type=\"application/json\" id=\"claim-key\">{}</script>",
                json.replace('<', "\\u003c")
            )
        })
        .unwrap_or_default();
    format!(
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{t}</title><style>\
body{{font-family:system-ui,'Noto Sans CJK SC',sans-serif;margin:0;background:#f5f6f8;color:#1f2329;line-height:1.5}}\
header{{background:#1456c8;color:#fff;padding:12px 16px}}header h1{{font-size:18px;margin:0}}\
main{{padding:12px;max-width:640px;margin:0 auto}}\
section{{background:#fff;border-radius:8px;padding:12px 14px;margin:0 0 12px;box-shadow:0 1px 2px rgba(0,0,0,.06)}}\
h2{{font-size:16px;margin:0 0 6px}}\
dl{{display:grid;grid-template-columns:auto 1fr;gap:2px 10px;margin:6px 0;font-size:15px}}dt{{color:#646a73}}dd{{margin:0;word-break:break-all}}\
.verdict{{font-size:18px;font-weight:600;padding:8px;border-radius:6px;background:#eef1f5}}\
.verdict.valid{{background:#e8f7ee;color:#16794a}}.verdict.tampered,.verdict.unknown_key,.verdict.malformed{{background:#fdecec;color:#b42318}}\
.verdict.expired,.verdict.not_yet_valid{{background:#fff4e5;color:#9a5b00}}\
.bad{{font-size:20px;font-weight:600;color:#b42318}}.ok{{color:#16794a;font-weight:600}}\
.muted{{color:#646a73;font-size:13px}}label{{display:block;margin:6px 0}}\
textarea{{width:100%;box-sizing:border-box;font:inherit;min-height:80px}}\
button{{font:inherit;padding:8px 18px;border:0;border-radius:6px;background:#1456c8;color:#fff}}\
fieldset{{border:0;padding:0;margin:8px 0}}legend{{font-weight:600}}\
</style>{key_block}<script src=\"/v/verify.js\" defer></script></head><body><header><h1>{t}</h1></header><main>{body}</main></body></html>",
        t = esc(title),
    )
}

fn html(status: StatusCode, body: String) -> Response {
    let mut r = (status, Html(body)).into_response();
    r.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    r
}

fn error_page(e: &ApiError, key: Option<&ClaimKeyView>) -> Response {
    let heading = match e.code {
        Code::VerifyUnknown => "未登记的检查",
        Code::VerifyRevoked => "核验码已撤销",
        Code::VerifyExpired => "核验码已过期",
        Code::VerifyRateLimited => "查询过于频繁",
        _ => "暂时无法查询",
    };
    let body = format!(
        "<section data-testid=\"verify-error\" data-code=\"{code}\"><p class=\"bad\">{h}</p><p>{m}</p>\
<p class=\"muted\">如对检查人员身份有疑问，请拨打 12345 或联系执法部门核实。</p></section>\
<section><h2>签名核验（离线） / Signed claim</h2><p data-testid=\"claim-verdict\" class=\"verdict\"></p><dl data-testid=\"claim-details\"></dl></section>",
        code = e.code.as_str(),
        h = heading,
        m = esc(&e.message)
    );
    html(e.status(), shell(heading, key, &body))
}

fn rating_inputs() -> String {
    let mut s = String::from("<fieldset><legend>满意度评分</legend>");
    for n in 1..=5 {
        let _ = write!(
            s,
            "<label style=\"display:inline-block;margin-right:10px\"><input type=\"radio\" name=\"rating\" value=\"{n}\" data-testid=\"feedback-rating-{n}\" required> {n}</label>"
        );
    }
    s.push_str("</fieldset>");
    s
}

/// A yes/no question: field `name`, test ids `feedback-{id}-yes` and `-no`.
fn yes_no(name: &str, id: &str, question: &str) -> String {
    format!(
        "<fieldset><legend>{question}</legend>\
<label style=\"display:inline-block;margin-right:14px\"><input type=\"radio\" name=\"{name}\" value=\"yes\" data-testid=\"feedback-{id}-yes\" required> 是</label>\
<label style=\"display:inline-block\"><input type=\"radio\" name=\"{name}\" value=\"no\" data-testid=\"feedback-{id}-no\"> 否</label></fieldset>"
    )
}

fn page_body(v: &VerifyView) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        "<section data-testid=\"verify-registered\"><p class=\"ok\">✔ 本次检查已登记 (registered)</p><dl>\
<dt>检查任务</dt><dd data-testid=\"verify-task-code\">{code}</dd>\
<dt>检查对象</dt><dd>{subject}<br><span class=\"muted\">{uscc}</span></dd>\
<dt>执法机关</dt><dd data-testid=\"verify-agency\">{agency}</dd>\
<dt>参与部门</dt><dd data-testid=\"verify-departments\">{departments}</dd>\
<dt>执法队伍</dt><dd>{team}</dd>\
<dt>检查期限</dt><dd data-testid=\"verify-window\">{start} 至 {end}</dd>\
<dt>任务状态</dt><dd data-testid=\"verify-status\" data-status=\"{status}\">{status_zh}</dd></dl></section>",
        code = esc(&v.task_code),
        subject = esc(&v.subject_name),
        uscc = esc(&v.uscc),
        agency = esc(&v.agency),
        departments = esc(&v.departments.join("、")),
        team = esc(&v.team),
        start = esc(&v.window_start),
        end = esc(&v.window_end),
        status = esc(&v.status),
        status_zh = esc(&v.status_zh),
    );
    s.push_str("<section><h2>执法人员（请核对执法证）</h2><dl data-testid=\"verify-inspectors\">");
    for i in &v.inspectors {
        let _ = write!(
            s,
            "<dt data-testid=\"verify-inspector-name\">{}</dt><dd>执法证号 <b data-testid=\"verify-inspector-badge\">{}</b></dd>",
            esc(&i.name),
            esc(&i.badge)
        );
    }
    s.push_str("</dl></section>");
    if !v.legal_basis.is_empty() {
        s.push_str("<section><h2>检查依据</h2><ul data-testid=\"verify-legal-basis\">");
        for b in &v.legal_basis {
            let _ = write!(s, "<li>{}</li>", esc(b));
        }
        s.push_str("</ul></section>");
    }
    if let Some(result) = &v.result {
        let _ = write!(
            s,
            "<section><h2>检查结果</h2><p data-testid=\"verify-result\">{}{}</p></section>",
            esc(result),
            if v.rectification_required == Some(true) {
                "，需整改"
            } else {
                ""
            }
        );
    }
    s.push_str(
        "<section><h2>签名核验 / Signed claim</h2>\
<p data-testid=\"claim-verdict\" class=\"verdict\">正在核验… (checking)</p><dl data-testid=\"claim-details\"></dl>\
<p class=\"muted\">检查人员平板上的二维码带有县服务器的数字签名；本页在手机上核验签名，无需联网。<a href=\"/v/verify\">离线核验页</a></p></section>",
    );
    if v.feedback_given {
        s.push_str("<section data-testid=\"feedback-closed\"><h2>评价</h2><p>本次检查已评价，感谢您的反馈。</p></section>");
    } else if v.feedback_open {
        let _ = write!(
            s,
            "<section><h2>匿名评价</h2><p class=\"muted\">评价匿名提交，执法人员看不到；由监督部门查看。每次检查只能评价一次。</p>\
<form data-testid=\"feedback-form\" data-endpoint=\"/api/v1/public/v/{code}/feedback\">{rating}{badge}{rights}{money}\
<label>意见建议（最多 {max} 字）<textarea name=\"comment\" maxlength=\"{max}\" data-testid=\"feedback-comment\"></textarea></label>\
<button type=\"submit\" data-testid=\"feedback-submit\">提交评价</button></form><p data-testid=\"feedback-result\" aria-live=\"polite\"></p></section>",
            code = esc(&v.verify_code),
            rating = rating_inputs(),
            badge = yes_no("badge_shown", "badge", "执法人员是否出示执法证件（亮证）？"),
            rights = yes_no("rights_told", "rights", "是否告知您的权利和义务？"),
            money = yes_no("money_asked", "money", "是否有索要财物等情况？"),
            max = MAX_FEEDBACK_COMMENT_CHARS,
        );
    } else {
        s.push_str("<section data-testid=\"feedback-closed\"><h2>评价</h2><p class=\"muted\">检查期限开始后可在此匿名评价。</p></section>");
    }
    let _ = write!(
        s,
        "<p class=\"muted\">核验码有效至 {}。</p>",
        esc(&v.valid_until)
    );
    s
}

/// `GET /v/{code}`.
pub async fn verify_page(
    State(state): State<AppState>,
    addr: ClientAddr,
    Path(code): Path<String>,
) -> Response {
    let key = key_view(&state);
    if !VerifyState::allow(&state.verify.lookups, &addr) {
        return error_page(&limited(), key.as_ref());
    }
    match lookup(&state, code).await {
        Ok(v) => html(
            StatusCode::OK,
            shell("亮码检查 · 检查核验", key.as_ref(), &page_body(&v)),
        ),
        Err(e) => error_page(&e, key.as_ref()),
    }
}

/// `GET /v/verify`: checks a claim with no network once loaded.
pub async fn offline_page(State(state): State<AppState>) -> Response {
    let key = key_view(&state);
    let body = "<section><p>扫描检查人员平板上的二维码后打开的链接会自动核验；也可把核验码（以 FL1: 开头）粘贴到下面。本页加载后无需联网。</p>\
<textarea data-testid=\"claim-input\" placeholder=\"FL1:…\"></textarea><p><button type=\"button\" data-testid=\"claim-check\">核验</button></p></section>\
<section><h2>结果 / Verdict</h2><p data-testid=\"claim-verdict\" class=\"verdict\"></p><dl data-testid=\"claim-details\"></dl></section>";
    let mut r = html(
        StatusCode::OK,
        shell("离线核验 · 亮码检查", key.as_ref(), body),
    );
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    r
}

/// `GET /v/verify.js`: the pages' script, from the console's build.
pub async fn script() -> Response {
    match crate::console::verify_script() {
        Some(bytes) => {
            let mut r = (StatusCode::OK, bytes).into_response();
            let h = r.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/javascript; charset=utf-8"),
            );
            h.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=3600"),
            );
            r
        }
        None => ApiError::new(
            Code::HttpNotFound,
            "核验脚本尚未构建：请在 ui/ 运行 npm run build (the verifier script is not built: run npm run build in ui/)",
        )
        .into_response(),
    }
}

/// The routes of 亮码检查 (no sign-in).
pub fn router() -> axum::Router<AppState> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/v/verify", get(offline_page))
        .route("/v/verify.js", get(script))
        .route("/v/{code}", get(verify_page))
        .route("/api/v1/public/claim-key", get(claim_key))
        .route("/api/v1/public/v/{code}", get(verify_json))
        .route(
            "/api/v1/public/v/{code}/feedback",
            post(feedback).layer(DefaultBodyLimit::max(MAX_FEEDBACK_BODY)),
        )
}
