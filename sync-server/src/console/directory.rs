//! What the console needs besides tasks: the directory (departments, teams,
//! inspectors), subjects to pick from, the items of an industry's handbook,
//! evidence files, the map's settings, and turning an inspector off.

use std::io;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use fieldloop_core::blob::BlobId;
use fieldloop_core::{
    Department, GeoPoint, Handbook, Industry, Inspector, Item, RiskClass, Role, Subject, Team, Uscc,
};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::ConsoleSession;
use super::tasks::{MAX_QUERY_VALUE, MAX_SUBJECT_RESULTS, acts_for_team, visible_task, year_of};
use crate::error::{ApiError, Code, ErrorAnswer};
use crate::import::Kind;
use crate::{AppState, now_ms};

/// The map's base layer, from the server's configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct MapConfig {
    /// A Leaflet tile URL template (`https://…/{z}/{x}/{y}…`); `None`: no
    /// tiles, the console draws a plain grid with a scale bar.
    pub tile_url: Option<String>,
    pub tile_attribution: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct DepartmentEntry {
    pub code: String,
    pub name: String,
    pub name_en: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct TeamEntry {
    pub id: String,
    pub name: String,
    pub departments: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct InspectorEntry {
    pub id: String,
    pub name: String,
    /// 执法证号.
    pub badge_no: String,
    /// The department they are certified for.
    pub department: String,
    pub team: String,
    pub active: bool,
}

/// The directory as the signed-in user may see it: every department, and
/// the teams (with their inspectors) they act for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct ConsoleDirectory {
    pub departments: Vec<DepartmentEntry>,
    pub teams: Vec<TeamEntry>,
    pub inspectors: Vec<InspectorEntry>,
}

/// A subject found by a search, with how often it was inspected this year.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct SubjectHit {
    pub uscc: String,
    pub name: String,
    pub address: String,
    pub industry: String,
    pub risk_class: RiskClass,
    pub location: GeoPoint,
    #[ts(type = "number")]
    pub inspections_this_year: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct HandbookItem {
    pub id: String,
    pub department: String,
    pub title: String,
    pub legal_basis: String,
}

/// An industry's handbook (一业一册): the items a new task may check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct HandbookView {
    pub industry: String,
    pub lead_department: String,
    pub departments: Vec<String>,
    pub items: Vec<HandbookItem>,
}

#[derive(Debug, Clone, Deserialize, TS, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[ts(export)]
pub struct ActiveRequest {
    pub active: bool,
}

/// `GET /api/v1/console/directory`.
#[utoipa::path(get, path = "/api/v1/console/directory", tag = "directory",
    responses((status = 200, body = ConsoleDirectory), (status = 401, description = "no session, or it expired", body = ErrorAnswer)), security(("session" = [])))]
pub(super) async fn directory(
    State(state): State<AppState>,
    session: ConsoleSession,
) -> Result<Json<ConsoleDirectory>, ApiError> {
    let store = state.store.clone();
    let rows = tokio::task::spawn_blocking(move || store.directory()).await??;
    let user = &session.user;
    // A team is shown to who acts for it, or for one of its departments.
    let shown: Vec<String> = rows
        .teams
        .iter()
        .filter(|t| {
            acts_for_team(user, &t.id) || t.departments.iter().any(|d| user.departments.contains(d))
        })
        .map(|t| t.id.clone())
        .collect();
    Ok(Json(ConsoleDirectory {
        departments: rows
            .departments
            .into_iter()
            .map(|d| DepartmentEntry {
                code: d.code,
                name: d.name,
                name_en: d.name_en,
            })
            .collect(),
        teams: rows
            .teams
            .into_iter()
            .filter(|t| shown.contains(&t.id))
            .map(|t| TeamEntry {
                id: t.id,
                name: t.name,
                departments: t.departments,
            })
            .collect(),
        inspectors: rows
            .inspectors
            .into_iter()
            .filter(|(i, _)| shown.contains(&i.team))
            .map(|(i, active)| InspectorEntry {
                id: i.id,
                name: i.name,
                badge_no: i.badge_no,
                department: i.department,
                team: i.team,
                active,
            })
            .collect(),
    }))
}

/// `GET /api/v1/console/subjects?q=…`: at most [`MAX_SUBJECT_RESULTS`].
#[utoipa::path(get, path = "/api/v1/console/subjects", tag = "directory",
    params(("q" = String, Query, description = "a piece of the name, USCC or address")),
    responses((status = 200, body = Vec<SubjectHit>), (status = 400, body = ErrorAnswer), (status = 401, description = "no session, or it expired", body = ErrorAnswer)), security(("session" = [])))]
pub(super) async fn subjects(
    State(state): State<AppState>,
    _session: ConsoleSession,
    RawQuery(raw): RawQuery,
) -> Result<Json<Vec<SubjectHit>>, ApiError> {
    let mut text = String::new();
    for (key, value) in url::form_urlencoded::parse(raw.as_deref().unwrap_or("").as_bytes()) {
        match key.as_ref() {
            "q" if value.len() <= MAX_QUERY_VALUE => text = value.trim().to_owned(),
            "q" => {
                return Err(ApiError::new(
                    Code::ConsoleBadQuery,
                    format!(
                        "搜索词超过 {MAX_QUERY_VALUE} 字节 (the search is longer than {MAX_QUERY_VALUE} bytes)"
                    ),
                ));
            }
            other => {
                return Err(ApiError::new(
                    Code::ConsoleBadQuery,
                    format!("未知的查询参数 “{other}” (unknown query parameter '{other}')"),
                ));
            }
        }
    }
    let store = state.store.clone();
    let hits = tokio::task::spawn_blocking(move || -> Result<Vec<SubjectHit>, ApiError> {
        let found = store.search_subjects(&text, MAX_SUBJECT_RESULTS)?;
        let usccs: Vec<String> = found.iter().map(|s| s.uscc.to_string()).collect();
        let (_, range) = year_of(now_ms());
        let counts = store.inspections_in(&usccs, range)?;
        Ok(found
            .into_iter()
            .zip(counts)
            .map(|(s, n)| SubjectHit {
                uscc: s.uscc.to_string(),
                name: s.name,
                address: s.address,
                industry: s.industry,
                risk_class: s.risk_class,
                location: s.location,
                inspections_this_year: n,
            })
            .collect())
    })
    .await??;
    Ok(Json(hits))
}

/// `GET /api/v1/console/handbook/{industry}`.
#[utoipa::path(get, path = "/api/v1/console/handbook/{industry}", tag = "directory",
    params(("industry" = String, Path, description = "an industry code")),
    responses((status = 200, body = HandbookView), (status = 404, body = ErrorAnswer), (status = 401, description = "no session, or it expired", body = ErrorAnswer)), security(("session" = [])))]
pub(super) async fn handbook(
    State(state): State<AppState>,
    _session: ConsoleSession,
    Path(industry): Path<String>,
) -> Result<Json<HandbookView>, ApiError> {
    let store = state.store.clone();
    let view = tokio::task::spawn_blocking(move || -> Result<HandbookView, ApiError> {
        let book = store.handbook(&industry)?.ok_or_else(|| {
            ApiError::new(
                Code::ConsoleNotFound,
                format!("行业 {industry} 没有一业一册 (industry {industry} has no handbook)"),
            )
        })?;
        let mut items = Vec::with_capacity(book.items.len());
        for id in &book.items {
            if let Some(item) = store.item(id)? {
                items.push(HandbookItem {
                    id: item.id,
                    department: item.department,
                    title: item.title,
                    legal_basis: item.legal_basis,
                });
            }
        }
        Ok(HandbookView {
            industry: book.industry,
            lead_department: book.lead_department,
            departments: book.departments,
            items,
        })
    })
    .await??;
    Ok(Json(view))
}

/// The media type of an evidence file, from its first bytes.
fn sniff(head: &[u8]) -> &'static str {
    if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        "image/jpeg"
    } else if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        "image/png"
    } else {
        "application/octet-stream"
    }
}

/// `GET /api/v1/console/blobs/{sha256}`: an evidence file of one of the
/// user's teams (its thumbnail and display copy are blobs of their own).
#[utoipa::path(get, path = "/api/v1/console/blobs/{sha256}", tag = "directory",
    params(("sha256" = String, Path, description = "64 lowercase hex digits"),
        ("task" = Option<String>, Query, description = "the task whose record shows the file (needed by a supervisor who sees the task through one of its departments)")),
    responses((status = 200, description = "the file's bytes, Content-Type from its first bytes", content_type = "application/octet-stream"),
        (status = 404, description = "no such file among the user's teams' evidence", body = ErrorAnswer), (status = 401, description = "no session, or it expired", body = ErrorAnswer)),
    security(("session" = [])))]
pub(super) async fn blob(
    State(state): State<AppState>,
    session: ConsoleSession,
    Path(text): Path<String>,
    RawQuery(raw): RawQuery,
    request_headers: axum::http::HeaderMap,
) -> Result<Response, ApiError> {
    let mut task = None;
    for (key, value) in url::form_urlencoded::parse(raw.as_deref().unwrap_or("").as_bytes()) {
        match key.as_ref() {
            "task" if value.len() <= MAX_QUERY_VALUE => task = Some(value.into_owned()),
            other => {
                return Err(ApiError::new(
                    Code::ConsoleBadQuery,
                    format!(
                        "未知或过长的查询参数 “{other}” (unknown or too long query parameter '{other}')"
                    ),
                ));
            }
        }
    }
    let not_found = || {
        ApiError::new(
            Code::ConsoleNotFound,
            format!("没有文件 {text} (no file {text} among your teams' evidence)"),
        )
    };
    let id = BlobId::parse(&text).map_err(|e| {
        ApiError::new(
            Code::ConsoleNotFound,
            format!("“{text}” 不是文件编号 (not a file id): {e}"),
        )
    })?;
    let store = state.store.clone();
    let user = session.user.clone();
    let hex = id.to_string();
    let visible = tokio::task::spawn_blocking(move || -> Result<bool, ApiError> {
        if user.role == Role::Admin {
            return Ok(true);
        }
        for team in &user.teams {
            if store.blob_visible(team, &hex)? {
                return Ok(true);
            }
        }
        // A supervisor of departments reads the evidence of a task they
        // see (one of its departments is theirs), named with `?task=`.
        let Some(task) = task else {
            return Ok(false);
        };
        let Ok(stored) = visible_task(store.as_ref(), &user, &task) else {
            return Ok(false);
        };
        let task = fieldloop_core::TaskDoc::load(&stored.doc)
            .and_then(|d| d.task())
            .map_err(ApiError::internal)?;
        Ok(task.evidence.values().any(|e| {
            e.sha256 == hex
                || e.thumb_sha256.as_deref() == Some(hex.as_str())
                || e.display_sha256.as_deref() == Some(hex.as_str())
        }))
    })
    .await??;
    if !visible {
        return Err(not_found());
    }
    let held = |e: crate::blobs::BlobApiError| ApiError::internal(e);
    if crate::blobs::not_modified(&request_headers, &id)
        && state
            .blobs
            .complete_length(&id)
            .await
            .map_err(held)?
            .is_some()
    {
        return Ok(crate::blobs::not_modified_answer(&id));
    }
    let (length, mut rest) = state
        .blobs
        .open(&id)
        .await
        .map_err(held)?
        .ok_or_else(not_found)?;
    // The type is sniffed from the first bytes, which are then sent first.
    use futures_util::StreamExt;
    let head = match rest.next().await {
        Some(chunk) => chunk.map_err(ApiError::internal)?,
        None => axum::body::Bytes::new(),
    };
    let mime = sniff(&head[..head.len().min(8)]);
    let first = futures_util::stream::once(async move { Ok::<_, io::Error>(head) });
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(mime)),
            (header::CONTENT_LENGTH, HeaderValue::from(length)),
            (
                header::ETAG,
                HeaderValue::try_from(crate::blobs::etag(&id)).map_err(ApiError::internal)?,
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static(crate::blobs::EVIDENCE_CACHE),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        Body::from_stream(first.chain(rest)),
    )
        .into_response())
}

/// `GET /api/v1/console/config`.
#[utoipa::path(get, path = "/api/v1/console/config", tag = "directory",
    responses((status = 200, body = MapConfig), (status = 401, description = "no session, or it expired", body = ErrorAnswer)), security(("session" = [])))]
pub(super) async fn config(
    State(state): State<AppState>,
    _session: ConsoleSession,
) -> Json<MapConfig> {
    Json(state.map.as_ref().clone())
}

/// `POST /api/v1/console/inspectors/{id}/active` `{"active": false}`: an
/// administrator turns an inspector off (their devices are refused from
/// the next request) or on again.
#[utoipa::path(post, path = "/api/v1/console/inspectors/{id}/active", tag = "directory",
    params(("id" = String, Path, description = "an inspector id")),
    request_body = ActiveRequest,
    responses((status = 204, description = "done"), (status = 404, body = ErrorAnswer), (status = 401, description = "no session, or it expired", body = ErrorAnswer), (status = 403, description = "a state-changing request without the session's X-CSRF-Token, or another team", body = ErrorAnswer)),
    security(("session" = [])))]
pub(super) async fn set_active(
    State(state): State<AppState>,
    session: ConsoleSession,
    Path(id): Path<String>,
    Json(request): Json<ActiveRequest>,
) -> Result<StatusCode, ApiError> {
    if session.user.role != Role::Admin {
        return Err(ApiError::new(
            Code::ConsoleForbidden,
            "只有管理员可以停用或启用执法人员 (only an administrator may turn inspectors off or on)",
        ));
    }
    let store = state.store.clone();
    tokio::task::spawn_blocking(move || -> Result<(), ApiError> {
        store.inspector(&id)?.ok_or_else(|| {
            ApiError::new(
                Code::ConsoleNotFound,
                format!("没有执法人员 {id} (no inspector {id})"),
            )
        })?;
        store.set_inspector_active(&id, request.active)?;
        Ok(())
    })
    .await??;
    Ok(StatusCode::NO_CONTENT)
}

/// Rows a directory listing returns when the request names no `limit`.
pub const DEFAULT_CATALOG_ROWS: usize = 200;
/// The most rows a directory listing returns.
pub const MAX_CATALOG_ROWS: usize = 500;

/// The rows of one kind of reference data, as the importer takes them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[serde(tag = "kind", content = "rows", rename_all = "snake_case")]
#[ts(export)]
pub enum CatalogList {
    Departments(Vec<Department>),
    Industries(Vec<Industry>),
    Teams(Vec<Team>),
    Inspectors(Vec<Inspector>),
    Subjects(Vec<Subject>),
    Items(Vec<Item>),
    Handbooks(Vec<Handbook>),
}

/// A page of one kind of reference data for the directory editor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct CatalogPage {
    /// How many rows match the search, of which `list` holds the first.
    #[ts(type = "number")]
    pub total: u64,
    pub list: CatalogList,
}

fn catalog_query(raw: Option<&str>) -> Result<(String, usize), ApiError> {
    let bad = |m: String| ApiError::new(Code::ConsoleBadQuery, m);
    let (mut text, mut limit) = (String::new(), DEFAULT_CATALOG_ROWS);
    for (key, value) in url::form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        match key.as_ref() {
            "q" if value.len() <= MAX_QUERY_VALUE => text = value.trim().to_owned(),
            "q" => {
                return Err(bad(format!(
                    "搜索词超过 {MAX_QUERY_VALUE} 字节 (the search is longer than {MAX_QUERY_VALUE} bytes)"
                )));
            }
            "limit" => {
                limit = value
                    .parse()
                    .ok()
                    .filter(|n| (1..=MAX_CATALOG_ROWS).contains(n))
                    .ok_or_else(|| {
                        bad(format!(
                            "limit 须是 1 到 {MAX_CATALOG_ROWS} 之间的整数 (limit must be a whole number from 1 to {MAX_CATALOG_ROWS})"
                        ))
                    })?;
            }
            other => {
                return Err(bad(format!(
                    "未知的查询参数 “{other}” (unknown query parameter '{other}')"
                )));
            }
        }
    }
    Ok((text, limit))
}

/// `GET /api/v1/console/catalog/{kind}?q=…&limit=…`: administrators list
/// reference data to edit it (an entry is saved through the importer).
#[utoipa::path(get, path = "/api/v1/console/catalog/{kind}", tag = "directory",
    params(
        ("kind" = String, Path, description = "departments, industries, teams, inspectors, subjects, items or handbooks"),
        ("q" = Option<String>, Query, description = "a piece of the key or name (a subject's name, USCC or address; an item's title)"),
        ("limit" = Option<u32>, Query, description = "rows to return, 1 to 500 (200 when not given)"),
    ),
    responses((status = 200, body = CatalogPage),
        (status = 400, description = "an unknown kind or a bad query", body = ErrorAnswer),
        (status = 401, description = "no session, or it expired", body = ErrorAnswer),
        (status = 403, description = "not an administrator", body = ErrorAnswer)),
    security(("session" = [])))]
pub(super) async fn catalog(
    State(state): State<AppState>,
    session: ConsoleSession,
    Path(kind): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<CatalogPage>, ApiError> {
    if session.user.role != Role::Admin {
        return Err(ApiError::new(
            Code::ConsoleForbidden,
            "只有管理员可以管理目录 (only an administrator may manage directories)",
        ));
    }
    let kind = Kind::ALL
        .into_iter()
        .find(|k| k.as_str() == kind)
        .ok_or_else(|| {
            ApiError::new(
                Code::ConsoleBadQuery,
                format!(
                    "没有这种目录 “{kind}” (no directory kind '{kind}'): departments, industries, teams, inspectors, subjects, items, handbooks"
                ),
            )
        })?;
    let (text, limit) = catalog_query(raw.as_deref())?;
    let store = state.store.clone();
    let page = tokio::task::spawn_blocking(move || -> Result<CatalogPage, ApiError> {
        let (total, keys) = store.catalog_keys(kind, &text, limit)?;
        fn rows<T>(
            keys: &[String],
            read: impl Fn(&str) -> Result<Option<T>, crate::store::StoreError>,
        ) -> Result<Vec<T>, ApiError> {
            let mut rows = Vec::with_capacity(keys.len());
            for key in keys {
                rows.extend(read(key)?);
            }
            Ok(rows)
        }
        let list = match kind {
            Kind::Departments => CatalogList::Departments(rows(&keys, |k| store.department(k))?),
            Kind::Industries => CatalogList::Industries(rows(&keys, |k| store.industry(k))?),
            Kind::Teams => CatalogList::Teams(rows(&keys, |k| store.team(k))?),
            Kind::Inspectors => CatalogList::Inspectors(rows(&keys, |k| store.inspector(k))?),
            Kind::Subjects => CatalogList::Subjects(rows(&keys, |k| match Uscc::parse(k) {
                Ok(uscc) => store.subject(&uscc),
                Err(_) => Ok(None),
            })?),
            Kind::Items => CatalogList::Items(rows(&keys, |k| store.item(k))?),
            Kind::Handbooks => CatalogList::Handbooks(rows(&keys, |k| store.handbook(k))?),
        };
        Ok(CatalogPage { total, list })
    })
    .await??;
    Ok(Json(page))
}

/// The console's directory routes.
pub fn router() -> axum::Router<AppState> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/api/v1/console/directory", get(directory))
        .route("/api/v1/console/subjects", get(subjects))
        .route("/api/v1/console/handbook/{industry}", get(handbook))
        .route("/api/v1/console/blobs/{sha256}", get(blob))
        .route("/api/v1/console/config", get(config))
        .route("/api/v1/console/inspectors/{id}/active", post(set_active))
        .route("/api/v1/console/catalog/{kind}", get(catalog))
}

#[cfg(test)]
mod tests {
    use super::sniff;

    #[test]
    fn evidence_types_come_from_the_bytes() {
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), "image/jpeg");
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n"), "image/png");
        assert_eq!(sniff(b"<html>"), "application/octet-stream");
        assert_eq!(sniff(b""), "application/octet-stream");
    }
}
