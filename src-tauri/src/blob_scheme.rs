//! The record's images (thumbnails, display copies, signatures) for the web
//! view, at `fieldloop-blob://localhost/<sha256>` (on Windows and Android
//! `http://fieldloop-blob.localhost/<sha256>`; the UI's `convertFileSrc`
//! picks the form).
//!
//! An `<img>` loads its image from here straight out of the store: the
//! bytes do not pass through JavaScript as an IPC answer, a `Blob` and an
//! object URL, and the web view keeps only the decoded image it shows.
//! Blobs are named by their content's hash, so an answer never changes and
//! the web view may keep it.
//!
//! Only the app's own web view can load this scheme. The id is checked as
//! the `blob` command checks it: anything but a SHA-256 in hex (a path
//! trick, say) is refused.

use fieldloop_core::ErrorCode;
use tauri::http::{Response, StatusCode, header};
use tauri::{Manager, Runtime, UriSchemeContext, UriSchemeResponder};

use crate::{AppStore, CommandError};

/// The scheme's name.
pub const SCHEME: &str = "fieldloop-blob";

/// Registered on the app's builder: each request is answered on a blocking
/// thread, as the commands are.
pub fn handle<R: Runtime>(
    ctx: UriSchemeContext<'_, R>,
    request: tauri::http::Request<Vec<u8>>,
    responder: UriSchemeResponder,
) {
    let Some(store) = ctx.app_handle().try_state::<AppStore>() else {
        responder.respond(refusal(&CommandError::new(
            ErrorCode::AppStoreUnavailable,
            "the local store is not open yet",
        )));
        return;
    };
    let store = store.inner().clone();
    let path = request.uri().path().to_owned();
    tauri::async_runtime::spawn_blocking(move || responder.respond(answer(&store, &path)));
}

/// The answer to a request for `path` (`/<sha256>`): the blob with its
/// image type, or the command error as JSON with a status that says why.
pub fn answer(store: &AppStore, path: &str) -> Response<Vec<u8>> {
    let id = path.strip_prefix('/').unwrap_or(path).to_owned();
    match store.with(move |tablet| tablet.blob(&id)) {
        Ok(bytes) => Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, content_type(&bytes))
            .header(header::CACHE_CONTROL, "max-age=31536000, immutable")
            .body(bytes)
            .expect("a response of constant parts"),
        Err(error) => refusal(&error),
    }
}

/// The image type of `bytes` from their first bytes; octet-stream for
/// anything else (the web view then shows no image).
fn content_type(bytes: &[u8]) -> &'static str {
    image::guess_format(bytes).map_or("application/octet-stream", |f| f.to_mime_type())
}

fn refusal(error: &CommandError) -> Response<Vec<u8>> {
    let status = match error.code {
        ErrorCode::BlobBadId => StatusCode::BAD_REQUEST,
        ErrorCode::BlobNotFound => StatusCode::NOT_FOUND,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    let body = serde_json::to_vec(error).expect("an error serialises");
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .body(body)
        .expect("a response of constant parts")
}
