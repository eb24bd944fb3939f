//! 一公开: what anyone may read without signing in. Phone-first pages in
//! Chinese, and the same as JSON:
//!
//! - `GET /public` and `GET /api/v1/public/draws`: committed draws (plans,
//!   periods, departments, counts per class, seeds with their entropy, pool
//!   hashes) and fixed plans still waiting for their draw (their commitment
//!   and named entropy sources, published before the entropy exists);
//! - `GET /public/draws/{id}` and `GET /api/v1/public/draws/{id}`: one draw;
//!   `GET /api/v1/public/draws/{id}/record.json`: its record, for
//!   `fieldloop-server draw verify`;
//! - `GET /public/results` and `GET /api/v1/public/results`: the results of
//!   published inspections per subject.
//!
//! Never shown: a subject's risk class (the record does not say which drawn
//! subject is of which class, and the pools that do are not public), the
//! inspectors' residence or declared conflicts.

use std::collections::HashMap;
use std::fmt::Write;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use fieldloop_core::RiskClass;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::AppState;
use crate::draws::{DrawSummary, PlanError};
use crate::error::{ApiError, Code};
use crate::store::{PlanState, Store};

/// Published results one page lists.
pub const RESULTS_PER_PAGE: usize = 100;
/// Results pages reachable (older ones are in the JSON export of the console).
pub const MAX_RESULT_PAGES: usize = 100;

const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// A fixed plan waiting for its draw, as announced.
#[derive(Debug, Clone, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct AnnouncedPlan {
    pub id: String,
    pub name: String,
    pub departments: Vec<String>,
    pub window: fieldloop_core::draw::DayWindow,
    pub fixed_at: i64,
    pub commitment: String,
    pub pool_hashes: fieldloop_core::draw::PoolHashes,
    pub pool_sizes: fieldloop_core::draw::PoolSizes,
    pub entropy_sources: Vec<String>,
    /// Once typed in.
    pub entropy_values: Option<Vec<String>>,
}

/// The public list.
#[derive(Debug, Clone, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct PublicDraws {
    pub draws: Vec<DrawSummary>,
    pub announced: Vec<AnnouncedPlan>,
}

/// A published inspection's result.
#[derive(Debug, Clone, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct PublicResult {
    pub code: String,
    pub subject_name: String,
    pub uscc: String,
    pub departments: Vec<String>,
    /// The inspection window, `YYYY-MM-DD`.
    pub start: String,
    pub due: String,
    /// `未发现问题` or `发现问题 N 项`.
    pub summary: String,
    pub findings: u32,
    pub rectification_required: bool,
    pub published: String,
    /// The draw that chose the subject, if a draw did.
    pub draw: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct PublicResults {
    pub page: usize,
    pub results: Vec<PublicResult>,
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, PlanError> + Send + 'static,
) -> Result<T, ApiError> {
    Ok(tokio::task::spawn_blocking(f).await??)
}

fn draws(store: &dyn Store) -> Result<PublicDraws, PlanError> {
    let mut out = Vec::new();
    for (_, _, summary) in store.draws()? {
        out.push(serde_json::from_str(&summary).map_err(|e| PlanError::Invalid(e.to_string()))?);
    }
    let mut announced = Vec::new();
    for p in store.plans()? {
        if p.state != PlanState::Fixed {
            continue;
        }
        let Some(fixed) = p.fixed else { continue };
        announced.push(AnnouncedPlan {
            id: p.id,
            name: p.spec.name,
            departments: p.spec.departments,
            window: p.spec.window,
            fixed_at: fixed.fixed_at,
            commitment: fixed.commitment,
            pool_hashes: fixed.pool_hashes,
            pool_sizes: fixed.pool_sizes,
            entropy_sources: p.spec.entropy_sources,
            entropy_values: p.entropy.map(|e| e.values),
        });
    }
    Ok(PublicDraws {
        draws: out,
        announced,
    })
}

fn day(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms + 8 * 3_600_000)
        .map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

fn results(store: &dyn Store, page: usize) -> Result<Vec<PublicResult>, PlanError> {
    let rows = store.published(page * RESULTS_PER_PAGE)?;
    let mut names: HashMap<String, String> = HashMap::new();
    let mut out = Vec::new();
    for r in rows.into_iter().skip((page - 1) * RESULTS_PER_PAGE) {
        let mut departments = Vec::new();
        for code in &r.departments {
            if !names.contains_key(code) {
                let name = store
                    .department(code)?
                    .map_or_else(|| code.clone(), |d| d.name);
                names.insert(code.clone(), name);
            }
            departments.push(names[code].clone());
        }
        out.push(PublicResult {
            summary: if r.findings == 0 {
                "未发现问题".to_owned()
            } else {
                format!("发现问题 {} 项", r.findings)
            },
            code: r.code,
            subject_name: r.subject_name,
            uscc: r.uscc,
            departments,
            start: day(r.window_start),
            due: day(r.due),
            findings: r.findings,
            rectification_required: r.rectification,
            published: day(r.published_at),
            draw: r.draw,
        });
    }
    Ok(out)
}

fn page_of(raw: Option<&str>) -> Result<usize, ApiError> {
    let mut page = 1;
    for pair in raw.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("page", n)) => {
                page = n
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=MAX_RESULT_PAGES).contains(n))
                    .ok_or_else(|| {
                        ApiError::new(
                            Code::ConsoleBadQuery,
                            format!("page: 1 to {MAX_RESULT_PAGES}"),
                        )
                    })?;
            }
            _ => {
                return Err(ApiError::new(
                    Code::ConsoleBadQuery,
                    format!("unknown parameter “{pair}”: only page"),
                ));
            }
        }
    }
    Ok(page)
}

fn cached<T: IntoResponse>(body: T) -> Response {
    let mut r = body.into_response();
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=60"),
    );
    r
}

fn page(body: String) -> Response {
    let mut r = cached(Html(body));
    r.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    r
}

async fn draws_json(State(state): State<AppState>) -> Result<Response, ApiError> {
    let store = state.store.clone();
    Ok(cached(Json(blocking(move || draws(store.as_ref())).await?)))
}

fn one(store: &dyn Store, id: &str) -> Result<DrawSummary, PlanError> {
    store
        .draws()?
        .into_iter()
        .find(|(d, _, _)| d == id)
        .ok_or_else(|| PlanError::NotFound(id.to_owned()))
        .and_then(|(_, _, s)| {
            serde_json::from_str(&s).map_err(|e| PlanError::Invalid(e.to_string()))
        })
}

async fn draw_json(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let store = state.store.clone();
    Ok(cached(Json(
        blocking(move || one(store.as_ref(), &id)).await?,
    )))
}

async fn record_json(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let store = state.store.clone();
    let (id, record) = blocking(move || {
        let record = store
            .draw_record(&id)?
            .ok_or_else(|| PlanError::NotFound(id.clone()))?;
        Ok((id, record))
    })
    .await?;
    let mut r = cached(record);
    let headers = r.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Ok(v) = HeaderValue::try_from(format!("attachment; filename=\"record-{id}.json\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(r)
}

async fn results_json(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let page = page_of(raw.as_deref())?;
    let store = state.store.clone();
    let results = blocking(move || results(store.as_ref(), page)).await?;
    Ok(cached(Json(PublicResults { page, results })))
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

fn shell(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{t}</title><style>\
body{{font-family:system-ui,'Noto Sans CJK SC',sans-serif;margin:0;background:#f5f6f8;color:#1f2329;line-height:1.5}}\
header{{background:#1456c8;color:#fff;padding:12px 16px}}header h1{{font-size:18px;margin:0}}\
header nav a{{color:#dfe9ff;margin-right:14px;font-size:14px}}\
main{{padding:12px;max-width:760px;margin:0 auto}}\
section{{background:#fff;border-radius:8px;padding:12px 14px;margin:0 0 12px;box-shadow:0 1px 2px rgba(0,0,0,.06)}}\
h2{{font-size:16px;margin:0 0 6px}}h3{{font-size:15px;margin:10px 0 4px}}\
dl{{display:grid;grid-template-columns:auto 1fr;gap:2px 10px;margin:6px 0;font-size:14px}}dt{{color:#646a73}}dd{{margin:0;word-break:break-all}}\
.hash{{font-family:ui-monospace,monospace;font-size:12px}}\
table{{width:100%;border-collapse:collapse;font-size:13px}}th,td{{text-align:left;padding:4px;border-bottom:1px solid #eee}}\
.muted{{color:#646a73;font-size:13px}}a{{color:#1456c8}}\
</style></head><body><header><h1>{t}</h1><nav><a href=\"/public\">抽查公示</a><a href=\"/public/results\">检查结果</a></nav></header><main>{body}</main></body></html>",
        t = esc(title),
    )
}

fn counts(
    sizes: &fieldloop_core::draw::PoolSizes,
    quotas: &fieldloop_core::draw::PoolQuotas,
) -> String {
    // Per class: how many drawn of how many. The class of a given subject is not shown.
    let mut s = String::from("<table><tr><th>信用风险分类</th><th>名录库</th><th>抽取</th></tr>");
    for class in RiskClass::ALL {
        let q = match class {
            RiskClass::A => quotas.a,
            RiskClass::B => quotas.b,
            RiskClass::C => quotas.c,
            RiskClass::D => quotas.d,
        };
        let _ = write!(
            s,
            "<tr><td>{class} 类</td><td>{}</td><td>{q}</td></tr>",
            sizes.of(class)
        );
    }
    s.push_str("</table>");
    s
}

fn hashes(h: &fieldloop_core::draw::PoolHashes) -> String {
    format!(
        "<dt>名录库哈希 A</dt><dd class=hash>{}</dd><dt>B</dt><dd class=hash>{}</dd><dt>C</dt><dd class=hash>{}</dd><dt>D</dt><dd class=hash>{}</dd><dt>执法人员库</dt><dd class=hash>{}</dd><dt>回避声明</dt><dd class=hash>{}</dd>",
        h.a, h.b, h.c, h.d, h.inspectors, h.recusals
    )
}

fn draw_section(d: &DrawSummary, link: bool) -> String {
    let mut s = String::from("<section>");
    if link {
        let _ = write!(
            s,
            "<h2><a href=\"/public/draws/{id}\">抽取 {id}</a></h2>",
            id = esc(&d.id)
        );
    } else {
        let _ = write!(s, "<h2>抽取 {}</h2>", esc(&d.id));
    }
    let _ = write!(
        s,
        "<p class=muted>抽取时间 {} · 检查任务 {} 项 · 联合检查减少入企 {} 次</p>",
        day(d.at),
        d.tasks,
        d.saved_visits
    );
    for p in &d.plans {
        let _ = write!(
            s,
            "<h3>{}</h3><dl><dt>部门</dt><dd>{}</dd><dt>检查期间</dt><dd>{} 至 {}</dd>",
            esc(&p.name),
            esc(&p.departments.join("、")),
            esc(&p.window.start),
            esc(&p.window.due)
        );
        if let Some(reason) = &p.special_reason {
            let _ = write!(s, "<dt>专项</dt><dd>{}</dd>", esc(reason));
        }
        for (source, value) in p.entropy_sources.iter().zip(&p.entropy_values) {
            let _ = write!(
                s,
                "<dt>随机数来源</dt><dd>{}：<b>{}</b></dd>",
                esc(source),
                esc(value)
            );
        }
        let _ = write!(
            s,
            "<dt>承诺值</dt><dd class=hash>{}</dd><dt>随机种子</dt><dd class=hash>{}</dd>{}</dl>{}",
            esc(&p.commitment),
            esc(&p.seed),
            hashes(&p.pool_hashes),
            counts(&p.sizes, &p.quotas)
        );
    }
    if !link {
        let _ = write!(
            s,
            "<p><a href=\"/api/v1/public/draws/{id}/record.json\">下载抽取记录 (record-{id}.json)</a>：任何人可用 <code>fieldloop-server draw verify</code> 或按 docs/draw.md 独立复算。</p>",
            id = esc(&d.id)
        );
    }
    s.push_str("</section>");
    s
}

async fn draws_page(State(state): State<AppState>) -> Result<Response, ApiError> {
    let store = state.store.clone();
    let list = blocking(move || draws(store.as_ref())).await?;
    let mut body = String::from(
        "<section><p>双随机、一公开：随机抽取检查对象、随机选派执法检查人员，抽查情况及查处结果及时向社会公开。计划锁定时即公布名录库哈希与承诺值，随机种子来自事先公布、事后产生的公开随机数，任何人都可复算。</p></section>",
    );
    if !list.announced.is_empty() {
        body.push_str("<section><h2>已锁定、待抽取的计划</h2>");
        for p in &list.announced {
            let _ = write!(
                body,
                "<h3>{}</h3><dl><dt>部门</dt><dd>{}</dd><dt>检查期间</dt><dd>{} 至 {}</dd><dt>锁定日期</dt><dd>{}</dd>",
                esc(&p.name),
                esc(&p.departments.join("、")),
                esc(&p.window.start),
                esc(&p.window.due),
                day(p.fixed_at)
            );
            for (i, source) in p.entropy_sources.iter().enumerate() {
                let value = p
                    .entropy_values
                    .as_ref()
                    .and_then(|v| v.get(i))
                    .map_or_else(|| "（待产生）".to_owned(), |v| esc(v));
                let _ = write!(body, "<dt>随机数来源</dt><dd>{}：{value}</dd>", esc(source));
            }
            let _ = write!(
                body,
                "<dt>承诺值</dt><dd class=hash>{}</dd>{}</dl>",
                esc(&p.commitment),
                hashes(&p.pool_hashes)
            );
        }
        body.push_str("</section>");
    }
    if list.draws.is_empty() {
        body.push_str("<section><p class=muted>尚无已完成的抽取。</p></section>");
    }
    for d in &list.draws {
        body.push_str(&draw_section(d, true));
    }
    Ok(page(shell("双随机抽查公示", &body)))
}

async fn draw_page(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let store = state.store.clone();
    let d = blocking(move || one(store.as_ref(), &id)).await?;
    Ok(page(shell(
        &format!("抽取 {}", d.id),
        &draw_section(&d, false),
    )))
}

async fn results_page(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let n = page_of(raw.as_deref())?;
    let store = state.store.clone();
    let rows = blocking(move || results(store.as_ref(), n)).await?;
    let mut body = String::from("<section><h2>检查结果公示</h2>");
    if rows.is_empty() {
        body.push_str("<p class=muted>暂无公示的检查结果。</p>");
    } else {
        body.push_str("<table><tr><th>检查对象</th><th>检查期间</th><th>部门</th><th>结果</th><th>整改</th></tr>");
        for r in &rows {
            let _ = write!(
                body,
                "<tr><td>{}<br><span class=muted>{}</span></td><td>{}<br>至 {}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&r.subject_name),
                esc(&r.uscc),
                esc(&r.start),
                esc(&r.due),
                esc(&r.departments.join("、")),
                esc(&r.summary),
                if r.rectification_required {
                    "需整改"
                } else {
                    "无需整改"
                }
            );
        }
        body.push_str("</table>");
        if rows.len() == RESULTS_PER_PAGE && n < MAX_RESULT_PAGES {
            let _ = write!(
                body,
                "<p><a href=\"/public/results?page={}\">下一页</a></p>",
                n + 1
            );
        }
    }
    body.push_str("</section>");
    Ok(page(shell("检查结果公示", &body)))
}

/// The public routes (no sign-in).
pub fn router() -> axum::Router<AppState> {
    use axum::routing::get;
    axum::Router::new()
        .route("/public", get(draws_page))
        .route("/public/draws/{id}", get(draw_page))
        .route("/public/results", get(results_page))
        .route("/api/v1/public/draws", get(draws_json))
        .route("/api/v1/public/draws/{id}", get(draw_json))
        .route("/api/v1/public/draws/{id}/record.json", get(record_json))
        .route("/api/v1/public/results", get(results_json))
}
