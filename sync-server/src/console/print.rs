//! Printed records from the console: the 现场检查笔录 of a task and the
//! 责令改正通知书 of one of its findings, as PDF (see `fieldloop-print`).
//!
//! - `GET /api/v1/console/tasks/{id}/record.pdf`
//! - `GET /api/v1/console/tasks/{id}/notice.pdf?finding={finding_id}`
//!
//! Who may see the task may print it (the rule of the task's record); a task
//! of another team is `404 console.not_found`. The answer is
//! `application/pdf` with the PDF's SHA-256 in `X-Content-SHA256`; the same
//! record gives the same bytes. Badge numbers come from the server's
//! inspector directory, the agency is the lead department. The fonts are
//! loaded on the first print and kept; a server without them answers
//! `503 print.fonts_missing` naming the package to install.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use fieldloop_core::TaskDoc;
use fieldloop_print::{PrintError, Printer, SheetContext, notice_sheets, record_sheet};
use sha2::{Digest, Sha256};

use super::ConsoleSession;
use super::tasks::visible_task;
use crate::AppState;
use crate::error::{ApiError, Code};
use crate::store::Store;

/// The header carrying the PDF's SHA-256 (hex).
pub const CONTENT_SHA256_HEADER: &str = "x-content-sha256";
/// The longest finding id accepted in the query, in bytes.
pub const MAX_FINDING_ID_BYTES: usize = 200;

/// The [`Printer`], loaded on first use (the fonts are about 100 MB and
/// take a moment to read) and shared by every request. A failed load is
/// not kept: installing the fonts is enough, no restart needed.
#[derive(Default)]
pub struct PrinterSlot {
    /// `None`: `$FIELDLOOP_FONT_DIR`, else the system's Noto CJK folder.
    font_dir: Option<PathBuf>,
    loaded: Mutex<Option<Arc<Printer>>>,
}

impl std::fmt::Debug for PrinterSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrinterSlot")
            .field("font_dir", &self.font_dir)
            .finish_non_exhaustive()
    }
}

impl PrinterSlot {
    /// Fonts from `dir` instead of the system's.
    pub fn from_font_dir(dir: impl Into<PathBuf>) -> Self {
        Self {
            font_dir: Some(dir.into()),
            loaded: Mutex::default(),
        }
    }

    /// The printer, loading the fonts if need be (blocking: call it off the
    /// async threads).
    pub fn get(&self) -> Result<Arc<Printer>, ApiError> {
        let mut slot = self
            .loaded
            .lock()
            .map_err(|_| ApiError::internal("the printer's lock is poisoned"))?;
        if let Some(printer) = slot.as_ref() {
            return Ok(printer.clone());
        }
        let printer = match &self.font_dir {
            Some(dir) => Printer::from_font_dir(dir),
            None => Printer::system(),
        }
        .map(Arc::new)?;
        *slot = Some(printer.clone());
        Ok(printer)
    }
}

impl From<PrintError> for ApiError {
    fn from(e: PrintError) -> Self {
        let code = match &e {
            PrintError::FontsMissing { .. } | PrintError::FontRead { .. } => {
                tracing::error!("printing is unavailable: {e}");
                Code::PrintFontsMissing
            }
            PrintError::MissingGlyph { .. } => Code::PrintMissingGlyph,
            PrintError::TooLarge { .. } => Code::PrintTooLarge,
            PrintError::Qr(_) | PrintError::Typeset(_) => {
                tracing::error!("printing failed: {e}");
                Code::PrintFailed
            }
        };
        ApiError::new(code, e.to_string())
    }
}

/// Badge numbers of the task's inspectors and the lead department's name,
/// from the server's directory.
fn context(
    store: &dyn Store,
    task: &fieldloop_core::Task,
    verify_base: &str,
) -> Result<SheetContext, ApiError> {
    let mut badges = BTreeMap::new();
    for id in &task.inspectors {
        if let Some(inspector) = store.inspector(id)? {
            badges.insert(id.clone(), inspector.badge_no);
        }
    }
    let agency = store
        .department(&task.lead_department)?
        .map(|d| d.name)
        .unwrap_or_default();
    Ok(SheetContext {
        agency,
        verify_url: fieldloop_core::record::verify_url(verify_base, &task.verify_code),
        badges,
        ..SheetContext::default()
    })
}

/// The console's printer as the evidence package's `record.pdf` printer
/// (`AppState::with_record_printer`): the same sheet as the console's
/// route, badges and agency from the directory, the QR code pointing to
/// `{verify_base}/v/{verify_code}`.
pub struct PackagePrinter {
    slot: Arc<PrinterSlot>,
    store: Arc<dyn Store>,
    verify_base: String,
}

impl std::fmt::Debug for PackagePrinter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PackagePrinter")
            .field("verify_base", &self.verify_base)
            .finish_non_exhaustive()
    }
}

impl PackagePrinter {
    pub fn new(slot: Arc<PrinterSlot>, store: Arc<dyn Store>, verify_base: String) -> Self {
        Self {
            slot,
            store,
            verify_base,
        }
    }
}

impl crate::leads::RecordPrinter for PackagePrinter {
    fn record_pdf(&self, task: &fieldloop_core::Task) -> Result<Vec<u8>, String> {
        let ctx = context(self.store.as_ref(), task, &self.verify_base).map_err(|e| e.message)?;
        let printer = self.slot.get().map_err(|e| e.message)?;
        printer
            .inspection_record(&record_sheet(task, &ctx))
            .map_err(|e| e.to_string())
    }
}

/// The server's address as the request named it, for the QR code.
fn verify_base(headers: &axum::http::HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.len() <= 255
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
        })
        .unwrap_or("localhost");
    let scheme = headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
        .filter(|p| *p == "https")
        .unwrap_or("http");
    format!("{scheme}://{host}")
}

/// A PDF answer with its hash and a file name.
fn pdf_answer(pdf: Vec<u8>, file_name: &str) -> Response {
    let sha = hex::encode(Sha256::digest(&pdf));
    let mut response = pdf.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/pdf"),
    );
    if let Ok(value) = HeaderValue::from_str(&sha) {
        headers.insert(CONTENT_SHA256_HEADER, value);
    }
    let safe: String = file_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if let Ok(value) = HeaderValue::from_str(&format!("inline; filename=\"{safe}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

fn not_found(what: String) -> ApiError {
    ApiError::new(Code::ConsoleNotFound, what)
}

/// `GET /api/v1/console/tasks/{id}/record.pdf`.
#[utoipa::path(get, path = "/api/v1/console/tasks/{id}/record.pdf", tag = "tasks",
    params(("id" = String, Path, description = "the task's id")),
    responses(
        (status = 200, description = "the 现场检查笔录 as PDF; `X-Content-SHA256` holds its hash", content_type = "application/pdf", body = Vec<u8>),
        (status = 404, description = "no such task among the user's teams", body = crate::error::ErrorAnswer),
        (status = 401, description = "no session, or it expired", body = crate::error::ErrorAnswer),
        (status = 422, description = "a character no font has (`print.missing_glyph`, the message names it and its field), or a field too long", body = crate::error::ErrorAnswer),
        (status = 503, description = "the server has no Chinese fonts (`print.fonts_missing`: install fonts-noto-cjk)", body = crate::error::ErrorAnswer)),
    security(("session" = [])))]
pub(super) async fn record_pdf(
    State(state): State<AppState>,
    session: ConsoleSession,
    Path(id): Path<String>,
    headers: axum::http::HeaderMap,
) -> Result<Response, ApiError> {
    let base = verify_base(&headers);
    let (pdf, code) = tokio::task::spawn_blocking(move || {
        let store = state.store.as_ref();
        let stored = visible_task(store, &session.user, &id)?;
        let task = TaskDoc::load(&stored.doc)
            .and_then(|d| d.task())
            .map_err(ApiError::internal)?;
        let ctx = context(store, &task, &base)?;
        let sheet = record_sheet(&task, &ctx);
        let printer = state.printer.get()?;
        Ok::<_, ApiError>((printer.inspection_record(&sheet)?, task.code))
    })
    .await??;
    Ok(pdf_answer(pdf, &format!("{code}-record.pdf")))
}

/// `GET /api/v1/console/tasks/{id}/notice.pdf?finding={finding_id}`.
#[utoipa::path(get, path = "/api/v1/console/tasks/{id}/notice.pdf", tag = "tasks",
    params(("id" = String, Path, description = "the task's id"),
        ("finding" = String, Query, description = "the id of a finding with a rectification order")),
    responses(
        (status = 200, description = "the 责令改正通知书 as PDF; `X-Content-SHA256` holds its hash", content_type = "application/pdf", body = Vec<u8>),
        (status = 400, description = "no `finding` parameter, or another parameter", body = crate::error::ErrorAnswer),
        (status = 404, description = "no such task among the user's teams, or no such finding with an order on it", body = crate::error::ErrorAnswer),
        (status = 401, description = "no session, or it expired", body = crate::error::ErrorAnswer),
        (status = 422, description = "a character no font has, or a field too long", body = crate::error::ErrorAnswer),
        (status = 503, description = "the server has no Chinese fonts (`print.fonts_missing`)", body = crate::error::ErrorAnswer)),
    security(("session" = [])))]
pub(super) async fn notice_pdf(
    State(state): State<AppState>,
    session: ConsoleSession,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    headers: axum::http::HeaderMap,
) -> Result<Response, ApiError> {
    let finding = finding_param(raw.as_deref())?;
    let base = verify_base(&headers);
    let (pdf, number) = tokio::task::spawn_blocking(move || {
        let store = state.store.as_ref();
        let stored = visible_task(store, &session.user, &id)?;
        let task = TaskDoc::load(&stored.doc)
            .and_then(|d| d.task())
            .map_err(ApiError::internal)?;
        let ctx = context(store, &task, &base)?;
        let sheet = notice_sheets(&task, &ctx)
            .into_iter()
            .find(|n| n.finding_id == finding)
            .ok_or_else(|| {
                not_found(format!(
                    "任务 {id} 中没有带责令改正的问题 {finding} (no finding {finding} with a rectification order on task {id})"
                ))
            })?;
        let printer = state.printer.get()?;
        Ok::<_, ApiError>((
            printer.rectification_notice(&sheet)?,
            format!("{}-notice-{}", task.code, sheet.finding_id),
        ))
    })
    .await??;
    Ok(pdf_answer(pdf, &format!("{number}.pdf")))
}

/// The `finding` parameter, the only one taken.
fn finding_param(raw: Option<&str>) -> Result<String, ApiError> {
    let bad = |m: &str| ApiError::new(Code::ConsoleBadQuery, m.to_owned());
    let mut finding = None;
    for (key, value) in url::form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        match key.as_ref() {
            "finding" if finding.is_none() => finding = Some(value.into_owned()),
            _ => {
                return Err(bad(&format!(
                    "不认识的参数 {key}，只接受 finding (unknown parameter {key}: only `finding` is taken, once)"
                )));
            }
        }
    }
    match finding {
        Some(f) if !f.is_empty() && f.len() <= MAX_FINDING_ID_BYTES => Ok(f),
        _ => Err(bad(
            "缺少问题编号参数 finding (the query needs `finding`, the id of a finding)",
        )),
    }
}

/// The print routes of the console.
pub fn router() -> axum::Router<AppState> {
    use axum::routing::get;
    axum::Router::new()
        .route("/api/v1/console/tasks/{id}/record.pdf", get(record_pdf))
        .route("/api/v1/console/tasks/{id}/notice.pdf", get(notice_pdf))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_without_fonts_says_which_package_to_install() {
        let dir = tempfile::tempdir().expect("dir");
        let slot = PrinterSlot::from_font_dir(dir.path());
        let error = slot.get().expect_err("no fonts");
        assert_eq!(error.code, Code::PrintFontsMissing);
        assert_eq!(error.status(), axum::http::StatusCode::SERVICE_UNAVAILABLE);
        assert!(
            error.message.contains("fonts-noto-cjk"),
            "{}",
            error.message
        );
    }

    #[test]
    fn the_finding_parameter_is_read_strictly() {
        assert_eq!(finding_param(Some("finding=F-1")).expect("ok"), "F-1");
        for bad in [
            None,
            Some(""),
            Some("finding="),
            Some("finding=a&finding=b"),
            Some("x=1"),
        ] {
            let error = finding_param(bad).expect_err("bad");
            assert_eq!(error.code, Code::ConsoleBadQuery, "{bad:?}");
        }
    }

    #[test]
    fn the_verify_base_comes_from_a_sane_host() {
        let mut headers = axum::http::HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("county.gov.cn:7878"));
        assert_eq!(verify_base(&headers), "http://county.gov.cn:7878");
        headers.insert("x-forwarded-proto", HeaderValue::from_static("https"));
        assert_eq!(verify_base(&headers), "https://county.gov.cn:7878");
        headers.insert(header::HOST, HeaderValue::from_static("evil.org/<script>"));
        assert_eq!(verify_base(&headers), "https://localhost");
    }
}
