//! The one error type of the HTTP API: a [`Code`] from the registry below,
//! a sentence, and for refusals of a pushed change the task, change and
//! path it concerns. Every error answer, including the framework's own
//! (unknown route, wrong method, unreadable JSON, a body over the limit), is
//! JSON: `{"code": …, "message": …}` with the status the code names.
//! Handlers use `?`; internal details are logged, not sent.
//!
//! [`Code::ALL`] is every code the server can answer; `docs/protocol.md`
//! lists them from it, and a test keeps the two equal.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::store::StoreError;

/// Declares the codes: variant, wire name, HTTP status, and a one-line meaning.
macro_rules! codes {
    ($( $variant:ident = $name:literal, $status:ident, $meaning:literal; )*) => {
        /// A stable machine code of an error answer. Clients branch on it.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Code {
            $( #[doc = $meaning] $variant, )*
        }

        impl Code {
            /// Every code, in the order of the registry.
            pub const ALL: &'static [Code] = &[$(Code::$variant),*];

            /// The code as it travels, e.g. `sync.bad_changes`.
            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $name,)* }
            }

            /// The HTTP status answered with it.
            pub fn status(self) -> StatusCode {
                match self { $(Code::$variant => StatusCode::$status,)* }
            }

            /// What it means, for the documentation.
            pub fn meaning(self) -> &'static str {
                match self { $(Code::$variant => $meaning,)* }
            }
        }
    };
}

codes! {
    AuthMissing = "auth.missing", UNAUTHORIZED, "no `Authorization: Bearer` token";
    AuthMalformed = "auth.malformed", UNAUTHORIZED, "the Authorization header is not `Bearer <token>`";
    AuthBadToken = "auth.bad_token", UNAUTHORIZED, "the token is unknown";
    AuthRevoked = "auth.revoked", UNAUTHORIZED, "the device was revoked: the tablet erases its data";
    AuthExpired = "auth.expired", UNAUTHORIZED, "the device token's lifetime passed (90 days without a sync by default), or a replaced token's grace period (7 days) ended: enroll again";
    AuthInactive = "auth.inactive", FORBIDDEN, "the device's inspector was deactivated";
    AuthWrongRole = "auth.wrong_role", FORBIDDEN, "this credential may not call this endpoint (a supervisor's token on `/sync`, a device's on the review API)";
    ConsoleNoSession = "console.no_session", UNAUTHORIZED, "no console session (no cookie, or an unknown one): sign in";
    ConsoleSessionExpired = "console.session_expired", UNAUTHORIZED, "the console session expired (8 hours after sign-in): sign in again";
    ConsoleCsrf = "console.csrf", FORBIDDEN, "a state-changing console request without the session's `X-CSRF-Token`";
    ConsoleBadLogin = "console.bad_login", UNAUTHORIZED, "wrong user name or password (not told apart)";
    ConsoleLocked = "console.locked", TOO_MANY_REQUESTS, "5 failed sign-ins in a row lock the account for 15 minutes; retry after `Retry-After` seconds";
    ConsoleBadQuery = "console.bad_query", BAD_REQUEST, "a console list's query has an unknown parameter or a value of the wrong form";
    ConsoleNotFound = "console.not_found", NOT_FOUND, "no such task, item or file among those of the signed-in user's teams";
    ConsoleForbidden = "console.forbidden", FORBIDDEN, "the signed-in user does not act for that team";
    ConsoleImportInvalid = "console.import_invalid", UNPROCESSABLE_ENTITY, "a directory file has problems (each listed by line); nothing was imported";
    ConsoleBadInput = "console.bad_input", UNPROCESSABLE_ENTITY, "the new task, plan, entropy or conflict cannot be taken as sent (the message names the field)";
    ConsoleState = "console.state", CONFLICT, "the plan is not in the state the action needs (a fixed plan cannot be edited, a drawn one not drawn again, entropy is typed in once and by someone other than who fixed the plan), or it changed meanwhile: reload";
    LeadBadKey = "lead.bad_key", UNAUTHORIZED, "no channel key, or an unknown or revoked one (`Authorization: Bearer <key>` on `/api/v1/leads`); nothing was stored";
    LeadNotFound = "lead.not_found", NOT_FOUND, "no such lead from the key's channel";
    LeadBadInput = "lead.bad_input", UNPROCESSABLE_ENTITY, "the lead cannot be taken as sent (the message names the field); nothing was stored";
    LeadRateLimited = "lead.rate_limited", TOO_MANY_REQUESTS, "too many leads with this key (60 a minute) or wrong keys from this address (10 a minute); wait a minute";
    EnrollBadCode = "enroll.bad_code", BAD_REQUEST, "the enrollment code is wrong, used or expired (not told apart)";
    EnrollRateLimited = "enroll.rate_limited", TOO_MANY_REQUESTS, "too many enrollment attempts from this address (10 a minute) or in all (300); wait a minute";
    SyncContentType = "sync.content_type", UNSUPPORTED_MEDIA_TYPE, "a sync body must be `application/cbor`";
    SyncBadMessage = "sync.bad_message", BAD_REQUEST, "the body is not a valid sync message (CBOR, keys, types)";
    SyncVersion = "sync.version", BAD_REQUEST, "another protocol version than 2";
    SyncBadHash = "sync.bad_hash", BAD_REQUEST, "a change hash is not 32 bytes";
    SyncBadChanges = "sync.bad_changes", BAD_REQUEST, "`c` is not whole, intact Automerge change chunks";
    SyncTooManyDocs = "sync.too_many_docs", PAYLOAD_TOO_LARGE, "more documents in one request than allowed (500)";
    SyncTooManyChanges = "sync.too_many_changes", PAYLOAD_TOO_LARGE, "more changes in one document's push than allowed (20,000)";
    SyncTooManyOps = "sync.too_many_ops", PAYLOAD_TOO_LARGE, "more operations in one change (50,000) or one document's push (200,000) than allowed";
    SyncDocTooLarge = "sync.doc_too_large", PAYLOAD_TOO_LARGE, "the changes would make the task document larger than allowed (16 MiB saved)";
    SyncDuplicateDoc = "sync.duplicate_doc", BAD_REQUEST, "the same task twice in one request";
    SyncForbidden = "sync.forbidden", FORBIDDEN, "no such task in the device's team";
    SyncActorMismatch = "sync.actor_mismatch", FORBIDDEN, "a change was made by another actor than the device's";
    SyncInvalidTask = "sync.invalid_task", UNPROCESSABLE_ENTITY, "the changes would leave a document that is not a task";
    PolicyNotOnTask = "policy.not_on_task", FORBIDDEN, "the device's inspector is not on the task (per the server's copy)";
    PolicyForbiddenField = "policy.forbidden_field", FORBIDDEN, "a change writes a part of the task its author may not write";
    PolicyAppendOnly = "policy.append_only", FORBIDDEN, "a change alters or removes an existing record or list entry";
    PolicyNotYours = "policy.not_yours", FORBIDDEN, "a record names another person as its author, or changes another person's entry";
    PolicyBadValue = "policy.bad_value", UNPROCESSABLE_ENTITY, "a value has the wrong type or shape for its place";
    PolicyTooLong = "policy.too_long", PAYLOAD_TOO_LARGE, "a text value is longer than allowed (64 KiB)";
    PolicyFrozen = "policy.frozen", CONFLICT, "the task is submitted, approved, published or cancelled on the server";
    PolicyEventNotAllowed = "policy.event_not_allowed", FORBIDDEN, "the role may not record this kind of event";
    StatusTransition = "status.transition", CONFLICT, "an event does not apply where it lands (wrong status, not on the task, comment missing)";
    StatusSubmitProblems = "status.submit_problems", CONFLICT, "a submission whose record fails the submit checks";
    TaskRecordNotes = "task.record_notes", UNPROCESSABLE_ENTITY, "the 笔录 fields as the change leaves them fail the tablet's checks: a text over 2,000 characters, a recorder who is not an inspector of the task, or an end before the start";
    RectifyState = "rectify.state", CONFLICT, "the rectification has an open re-check task, or was re-checked and closed: no other re-check can be started";
    ReviewNotFound = "review.not_found", NOT_FOUND, "no such task in the supervisor's team";
    BlobTusVersion = "blob.tus_version", PRECONDITION_FAILED, "no `Tus-Resumable: 1.0.0` header";
    BlobBadId = "blob.bad_id", BAD_REQUEST, "the blob id is not 64 lowercase hex digits";
    BlobBadHeader = "blob.bad_header", BAD_REQUEST, "`Upload-Length` or `Upload-Offset` missing or not a decimal number";
    BlobBadContentType = "blob.bad_content_type", UNSUPPORTED_MEDIA_TYPE, "a PATCH body must be `application/offset+octet-stream`";
    BlobTooLarge = "blob.too_large", PAYLOAD_TOO_LARGE, "the declared length is over the server's limit";
    BlobChunkTooLarge = "blob.chunk_too_large", PAYLOAD_TOO_LARGE, "one PATCH carries more than 1 MiB";
    BlobBeyondLength = "blob.beyond_length", PAYLOAD_TOO_LARGE, "a chunk runs past the declared length";
    BlobBadBody = "blob.bad_body", BAD_REQUEST, "the chunk could not be read whole (cut connection)";
    BlobNotFound = "blob.not_found", NOT_FOUND, "no such blob visible to this device";
    BlobUploadNotFound = "blob.upload_not_found", NOT_FOUND, "no upload of this blob in progress by this device";
    BlobOffsetMismatch = "blob.offset_mismatch", CONFLICT, "the chunk is not at the upload's offset (which `Upload-Offset` gives)";
    BlobHashMismatch = "blob.hash_mismatch", UNPROCESSABLE_ENTITY, "the uploaded bytes do not hash to the blob id; discarded";
    BlobQuota = "blob.quota", TOO_MANY_REQUESTS, "the device's uploads in progress (64) or bytes a day (8 GiB) are used up, or an upload into an object store took more than 4,096 chunks";
    BlobIo = "blob.io", INTERNAL_SERVER_ERROR, "the server could not read or write its blob folder";
    VerifyUnknown = "verify.unknown", NOT_FOUND, "no task has this verify code (`/v/{code}`): the inspection is not registered or the code is mistyped";
    VerifyRevoked = "verify.revoked", GONE, "the verify code was revoked by a supervisor";
    VerifyExpired = "verify.expired", GONE, "the verify code expired: the window's end plus the feedback period (30 days by default) has passed";
    VerifyRateLimited = "verify.rate_limited", TOO_MANY_REQUESTS, "too many lookups (30 a minute) or feedback posts (5 a minute, 5 a day) from this address";
    FeedbackDuplicate = "feedback.duplicate", CONFLICT, "the task already has feedback (once per task); nothing changed";
    FeedbackClosed = "feedback.closed", CONFLICT, "feedback is taken from the window's start until the code expires, and not for a cancelled task";
    FeedbackBadInput = "feedback.bad_input", UNPROCESSABLE_ENTITY, "the rating is not 1 to 5, or the comment is longer than 500 characters";
    AuditNoCheckpoint = "audit.no_checkpoint", NOT_FOUND, "no checkpoint of the receipt log yet, or none at the `seq` asked for";
    AuditBadQuery = "audit.bad_query", BAD_REQUEST, "`seq`, `after`, `from` or `to` is missing where needed or not a whole number, or the span is backwards or longer than 1,000 entries";
    AuditRateLimited = "audit.rate_limited", TOO_MANY_REQUESTS, "too many checkpoint requests from this address (60 a minute)";
    HttpNotFound = "http.not_found", NOT_FOUND, "no such endpoint";
    HttpMethodNotAllowed = "http.method_not_allowed", METHOD_NOT_ALLOWED, "the endpoint does not take this method";
    HttpContentType = "http.content_type", UNSUPPORTED_MEDIA_TYPE, "the body must be `application/json`";
    HttpBadJson = "http.bad_json", BAD_REQUEST, "the JSON body cannot be read or lacks a field";
    HttpTooLarge = "http.too_large", PAYLOAD_TOO_LARGE, "the body is over the endpoint's limit";
    HttpBadRequest = "http.bad_request", BAD_REQUEST, "the request is malformed (path, query or headers)";
    HttpTimeout = "http.timeout", REQUEST_TIMEOUT, "the body did not arrive, or the answer was not ready, in time";
    ServerNotFound = "server.not_found", NOT_FOUND, "an inspector or device named in the request does not exist";
    ServerBusy = "server.busy", SERVICE_UNAVAILABLE, "the server is busy (too many requests, or the same tasks changed by others meanwhile); retry after `Retry-After` seconds";
    ServerInternal = "server.internal", INTERNAL_SERVER_ERROR, "an error inside the server; retry later";
    PrintFontsMissing = "print.fonts_missing", SERVICE_UNAVAILABLE, "the server has no Chinese fonts to print with: install the Debian package fonts-noto-cjk (or set `FIELDLOOP_FONT_DIR`); no restart needed";
    PrintMissingGlyph = "print.missing_glyph", UNPROCESSABLE_ENTITY, "a character of the record is in none of the fonts (the message names it, its code point and its field); nothing is printed rather than a blank box";
    PrintTooLarge = "print.too_large", UNPROCESSABLE_ENTITY, "a field or list of the record is over the printer's bound (20,000 characters a field, 2,000 entries a list)";
    PrintFailed = "print.failed", INTERNAL_SERVER_ERROR, "typesetting failed (a fault of the print templates); the server logs the detail";
}

/// What a refusal of a pushed change concerns, so that the tablet can show
/// which of its edits was refused.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Concerns {
    /// The task.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task: Option<String>,
    /// The refused change (hex hash).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change: Option<String>,
    /// The path in the task document, e.g. `checklist/SCJG-CY-001/title`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

impl Concerns {
    /// Concerning a task as a whole.
    pub fn task(id: &str) -> Self {
        Self {
            task: Some(id.to_owned()),
            ..Self::default()
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub code: Code,
    pub message: String,
    pub concerns: Concerns,
}

#[derive(Serialize)]
struct Body<'a> {
    code: &'static str,
    message: &'a str,
    #[serde(flatten)]
    concerns: &'a Concerns,
}

impl ApiError {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            concerns: Concerns::default(),
        }
    }

    /// The same error, naming what it concerns.
    pub fn concerning(mut self, concerns: Concerns) -> Self {
        self.concerns = concerns;
        self
    }

    pub fn status(&self) -> StatusCode {
        self.code.status()
    }

    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!("internal error: {detail}");
        Self::new(
            Code::ServerInternal,
            "服务器内部错误，请稍后重试 (internal server error; try again later)",
        )
    }
}

/// An error answer, as the OpenAPI document describes it: every error is
/// this object, with the status its code names (see the codes table).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ErrorAnswer {
    /// A stable machine code, e.g. `console.not_found`.
    pub code: String,
    /// A sentence for people, Chinese then English.
    pub message: String,
}

/// Seconds a client is asked to wait after `server.busy`.
pub const RETRY_AFTER_SECONDS: u32 = 2;

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (
            self.code.status(),
            Json(Body {
                code: self.code.as_str(),
                message: &self.message,
                concerns: &self.concerns,
            }),
        )
            .into_response();
        if self.code == Code::ServerBusy {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(RETRY_AFTER_SECONDS),
            );
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::BadEnrollmentCode => Self::new(Code::EnrollBadCode, e.to_string()),
            StoreError::UnknownInspector(_) | StoreError::UnknownDevice(_) => {
                Self::new(Code::ServerNotFound, e.to_string())
            }
            StoreError::PlanChanged(_) | StoreError::LeadChanged(_) => {
                Self::new(Code::ConsoleState, e.to_string())
            }
            other => Self::internal(other),
        }
    }
}

impl From<fieldloop_core::sync::WireError> for ApiError {
    fn from(e: fieldloop_core::sync::WireError) -> Self {
        use fieldloop_core::sync::WireError;
        let code = match e {
            WireError::Decode(_) => Code::SyncBadMessage,
            WireError::BadHash(_) => Code::SyncBadHash,
            WireError::Version(_) => Code::SyncVersion,
        };
        Self::new(code, e.to_string())
    }
}

impl From<tokio::task::JoinError> for ApiError {
    fn from(e: tokio::task::JoinError) -> Self {
        Self::internal(e)
    }
}

/// Makes every error answer JSON: an answer of 400 or more that is not
/// JSON already (axum's own rejections: unknown route, wrong method,
/// unreadable JSON, a body over the limit) becomes `{code, message}` with a
/// code chosen by its status and the framework's text kept as detail.
pub async fn json_errors(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    // Public pages answer errors as pages (`/v/{code}`: 404, 410).
    let is_html = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if status.as_u16() < 400 || is_json || is_html {
        return response;
    }
    let (parts, body) = response.into_parts();
    // Framework texts are short; more is not read.
    let detail = axum::body::to_bytes(body, 4096)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .unwrap_or_default();
    let (code, sentence) = match status {
        StatusCode::NOT_FOUND => (Code::HttpNotFound, "没有这个接口 (no such endpoint)"),
        StatusCode::METHOD_NOT_ALLOWED => (
            Code::HttpMethodNotAllowed,
            "该接口不接受此方法 (this endpoint does not take this method)",
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            Code::HttpContentType,
            "请求体应为 application/json (the body must be application/json)",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => (
            Code::HttpTooLarge,
            "请求体超过该接口的上限 (the body is over this endpoint's limit)",
        ),
        StatusCode::UNPROCESSABLE_ENTITY | StatusCode::BAD_REQUEST
            if detail.contains("JSON") || detail.contains("json") =>
        {
            (
                Code::HttpBadJson,
                "JSON 请求体无法读取或缺少字段 (the JSON body cannot be read or lacks a field)",
            )
        }
        StatusCode::REQUEST_TIMEOUT => (
            Code::HttpTimeout,
            "请求超时，请重试 (the request took too long; try again)",
        ),
        StatusCode::INTERNAL_SERVER_ERROR => (
            Code::ServerInternal,
            "服务器内部错误，请稍后重试 (internal server error; try again later)",
        ),
        _ => (
            Code::HttpBadRequest,
            "请求格式有误 (the request is malformed)",
        ),
    };
    let message = if detail.is_empty() {
        sentence.to_owned()
    } else {
        format!("{sentence}: {detail}")
    };
    let mut answer = ApiError::new(code, message).into_response();
    // Keep the framework's headers (e.g. `Allow`).
    for (name, value) in parts.headers.iter() {
        if name != axum::http::header::CONTENT_TYPE && name != axum::http::header::CONTENT_LENGTH {
            answer.headers_mut().insert(name.clone(), value.clone());
        }
    }
    answer
}

/// The error codes as the Markdown table `docs/protocol.md` holds.
pub fn codes_table() -> String {
    let mut out = String::from("| code | status | meaning |\n| --- | --- | --- |\n");
    for code in Code::ALL {
        out.push_str(&format!(
            "| `{}` | {} | {} |\n",
            code.as_str(),
            code.status().as_u16(),
            code.meaning()
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn codes_are_unique_and_dotted() {
        let names: HashSet<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(names.len(), Code::ALL.len());
        assert!(names.iter().all(|n| n.split_once('.').is_some()));
    }

    /// Every answer the server can give has words on the tablet: each code is
    /// one of the tablet's `ErrorCode`s, which the UI must translate.
    #[test]
    fn every_code_is_known_to_the_tablet() {
        let unknown: Vec<&str> = Code::ALL
            .iter()
            .map(|c| c.as_str())
            .filter(|c| c.parse::<fieldloop_core::ErrorCode>().is_err())
            .collect();
        assert!(unknown.is_empty(), "add to core/src/codes.rs: {unknown:?}");
    }

    /// `docs/protocol.md` lists every code the server can answer, from the
    /// registry. `FIELDLOOP_UPDATE_DOCS=1` rewrites the table.
    #[test]
    fn docs_protocol_md_lists_every_code() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/protocol.md");
        let text = std::fs::read_to_string(&path).expect("docs/protocol.md");
        let expected = fieldloop_core::schema::splice(&text, "codes", &codes_table())
            .expect("codes markers in docs/protocol.md");
        if std::env::var_os("FIELDLOOP_UPDATE_DOCS").is_some() {
            std::fs::write(&path, &expected).expect("write docs/protocol.md");
        }
        assert!(
            text == expected,
            "docs/protocol.md is out of date: run FIELDLOOP_UPDATE_DOCS=1 cargo test -p fieldloop-server every_code"
        );
    }
}
