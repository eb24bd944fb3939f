//! Directory files imported from the console: `POST
//! /api/v1/console/import?kind=subjects&format=csv` with the file as the
//! body (administrators only). The same importer as `fieldloop-server
//! import`: every bad row is reported by line, and nothing is imported
//! unless everything is valid.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use fieldloop_core::Role;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::ConsoleSession;
use crate::AppState;
use crate::error::{ApiError, Code, ErrorAnswer};
use crate::import::{Format, ImportError, ImportSet, Kind};

/// The largest file the console imports at once.
pub const MAX_IMPORT_BYTES: usize = 8 * 1024 * 1024;
/// Problems listed in one answer (the count says how many there were).
pub const MAX_PROBLEMS_SHOWN: usize = 200;

/// Rows of one kind an import added, updated or found unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct ImportedKind {
    pub kind: String,
    pub added: u32,
    pub updated: u32,
    pub unchanged: u32,
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct ImportAnswer {
    pub kinds: Vec<ImportedKind>,
}

/// One bad row, as `import` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct ImportProblem {
    /// 1-based line of a CSV file (the header is line 1).
    pub line: Option<u32>,
    /// 0-based position in a JSON array.
    pub index: Option<u32>,
    pub message: String,
}

/// Why nothing was imported: every problem found (the first 200).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct ImportRefusal {
    /// `console.import_invalid`.
    pub code: String,
    pub message: String,
    /// How many problems there are in all.
    pub count: u32,
    pub problems: Vec<ImportProblem>,
}

fn small(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn parse(raw: Option<&str>) -> Result<(Kind, Format), ApiError> {
    let bad = |m: String| ApiError::new(Code::ConsoleBadQuery, m);
    let (mut kind, mut format) = (None, None);
    for (key, value) in url::form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        match key.as_ref() {
            "kind" => {
                kind = Some(
                    Kind::ALL
                        .into_iter()
                        .find(|k| k.as_str() == value)
                        .ok_or_else(|| {
                            bad(format!(
                                "没有这种目录 “{value}” (no directory kind '{value}'): departments, industries, teams, inspectors, subjects, items, handbooks"
                            ))
                        })?,
                );
            }
            "format" => {
                format = Some(match value.as_ref() {
                    "csv" => Format::Csv,
                    "json" => Format::Json,
                    _ => {
                        return Err(bad(
                            "格式只能是 csv 或 json (format must be csv or json)".into()
                        ));
                    }
                });
            }
            other => {
                return Err(bad(format!(
                    "未知的查询参数 “{other}” (unknown query parameter '{other}')"
                )));
            }
        }
    }
    match (kind, format) {
        (Some(k), Some(f)) => Ok((k, f)),
        _ => Err(bad(
            "须给出 kind 和 format (kind and format are needed)".into()
        )),
    }
}

/// `POST /api/v1/console/import?kind=…&format=csv|json`.
#[utoipa::path(post, path = "/api/v1/console/import", tag = "directory",
    params(
        ("kind" = String, Query, description = "departments, industries, teams, inspectors, subjects, items or handbooks"),
        ("format" = String, Query, description = "csv or json"),
    ),
    request_body(content = String, description = "the file (UTF-8), at most 8 MiB", content_type = "text/csv"),
    responses((status = 200, body = ImportAnswer),
        (status = 422, description = "problems found: nothing was imported", body = ImportRefusal),
        (status = 400, description = "a bad kind or format, or a file that is not UTF-8", body = ErrorAnswer),
        (status = 403, description = "not an administrator, or no CSRF token", body = ErrorAnswer),
        (status = 413, description = "over 8 MiB", body = ErrorAnswer)),
    security(("session" = [])))]
pub(super) async fn import(
    State(state): State<AppState>,
    session: ConsoleSession,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Result<Response, ApiError> {
    if session.user.role != Role::Admin {
        return Err(ApiError::new(
            Code::ConsoleForbidden,
            "只有管理员可以导入目录 (only an administrator may import directories)",
        ));
    }
    let (kind, format) = parse(raw.as_deref())?;
    let text = String::from_utf8(body.to_vec()).map_err(|_| {
        ApiError::new(
            Code::ConsoleBadQuery,
            "文件不是 UTF-8 编码，请另存为 UTF-8 后再导入 (the file is not UTF-8: save it as UTF-8 and try again)",
        )
    })?;
    let store = state.store.clone();
    let outcome = tokio::task::spawn_blocking(move || {
        let mut set = ImportSet::default();
        let name = format!(
            "{}.{}",
            kind.as_str(),
            if format == Format::Csv { "csv" } else { "json" }
        );
        set.read_text(&name, kind, format, &text);
        crate::import::import(store.as_ref(), &set)
    })
    .await?;
    match outcome {
        Ok(counts) => Ok(Json(ImportAnswer {
            kinds: Kind::ALL
                .into_iter()
                .map(|k| (k, counts.of(k)))
                .filter(|(_, c)| c.added + c.updated + c.unchanged > 0)
                .map(|(k, c)| ImportedKind {
                    kind: k.as_str().to_owned(),
                    added: small(c.added),
                    updated: small(c.updated),
                    unchanged: small(c.unchanged),
                })
                .collect(),
        })
        .into_response()),
        Err(ImportError::Invalid(problems)) => {
            let refusal = ImportRefusal {
                code: Code::ConsoleImportInvalid.as_str().to_owned(),
                message: ImportError::Invalid(problems.clone()).to_string(),
                count: small(problems.len()),
                problems: problems
                    .iter()
                    .take(MAX_PROBLEMS_SHOWN)
                    .map(|p| ImportProblem {
                        line: p.at.line.map(small),
                        index: p.at.index.map(small),
                        message: p.error.to_string(),
                    })
                    .collect(),
            };
            Ok((StatusCode::UNPROCESSABLE_ENTITY, Json(refusal)).into_response())
        }
        Err(ImportError::Store(e)) => Err(e.into()),
    }
}

/// The import route, with its own body limit.
pub fn router() -> axum::Router<AppState> {
    axum::Router::new().route(
        "/api/v1/console/import",
        axum::routing::post(import).layer(axum::extract::DefaultBodyLimit::max(MAX_IMPORT_BYTES)),
    )
}
