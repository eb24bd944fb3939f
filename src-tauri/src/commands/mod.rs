//! The commands the web front end invokes, one module per area. Each command
//! is a single call into `fieldloop_tablet` and answers `Result<T, CommandError>`.
//! Commands that carry a file (a photo, a signature, a QR picture) take the
//! bytes as the raw IPC body and their other arguments as `x-…` headers.

pub mod device;
pub mod evidence;
pub mod notes;
pub mod record;
pub mod tasks;

use fieldloop_core::ErrorCode;
use tauri::ipc::{InvokeBody, Request};

use crate::CommandError;

/// The raw bytes of a file-carrying command.
pub(crate) fn raw_body<'a>(request: &'a Request<'_>) -> Result<&'a [u8], CommandError> {
    match request.body() {
        InvokeBody::Raw(bytes) if !bytes.is_empty() => Ok(bytes),
        _ => Err(CommandError::new(
            ErrorCode::AppBadRequest,
            "expected the file's bytes as the request body",
        )),
    }
}

/// Header `name` of a file-carrying command, percent-decoded (the UI encodes
/// with `encodeURIComponent`); `None` when absent or empty.
pub(crate) fn header(request: &Request<'_>, name: &str) -> Result<Option<String>, CommandError> {
    let Some(value) = request.headers().get(name) else {
        return Ok(None);
    };
    let value = value.to_str().map_err(|_| {
        CommandError::new(
            ErrorCode::AppBadRequest,
            format!("header {name} is not ASCII"),
        )
    })?;
    let decoded = percent_decode(value).ok_or_else(|| {
        CommandError::new(
            ErrorCode::AppBadRequest,
            format!("header {name} is not percent-encoded UTF-8"),
        )
    })?;
    Ok(Some(decoded).filter(|v| !v.is_empty()))
}

fn percent_decode(text: &str) -> Option<String> {
    percent_encoding::percent_decode_str(text)
        .decode_utf8()
        .ok()
        .map(|decoded| decoded.into_owned())
}

/// Header `name`, required.
pub(crate) fn required_header(request: &Request<'_>, name: &str) -> Result<String, CommandError> {
    header(request, name)?.ok_or_else(|| {
        CommandError::new(
            ErrorCode::AppBadRequest,
            format!("header {name} is missing"),
        )
    })
}
