//! The blob routes: the tus requests checked and parsed, and their handlers.

use std::io;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{DefaultBodyLimit, Extension, FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, options};
use axum::{Router, middleware};

use super::disk::file_len;
use super::upload::{Owner, Session};
use super::{
    BlobApiError, BlobDir, BlobId, BlobOwners, MAX_CHUNK_BYTES, OFFSET_OCTET_STREAM, TUS_EXTENSION,
    TUS_MAX_SIZE, TUS_RESUMABLE, TUS_VERSION, TUS_VERSION_HEADER, UPLOAD_LENGTH, UPLOAD_OFFSET,
    Uploader, parse_decimal,
};

/// The state the blob routes share.
#[derive(Clone)]
struct BlobState {
    dir: Arc<BlobDir>,
    max_blob_bytes: u64,
    owners: Arc<dyn BlobOwners>,
}

/// The blob routes, over `dir`, accepting blobs of at most `max_blob_bytes`,
/// each visible to the teams `owners` says uploaded it.
///
/// Every request must carry an [`Uploader`] extension (the server's
/// authentication layer puts it there); its paths are absolute
/// (`/api/v1/blobs/…`).
pub fn router(dir: Arc<BlobDir>, max_blob_bytes: u64, owners: Arc<dyn BlobOwners>) -> Router {
    let state = BlobState {
        dir,
        max_blob_bytes,
        owners,
    };
    Router::new()
        .route("/api/v1/blobs", options(capabilities))
        .route(
            "/api/v1/blobs/{sha256}",
            get(download).head(status).post(create).patch(append),
        )
        // Anything deeper (`a/b`, `../../x`) is not a blob id either.
        .route("/api/v1/blobs/{sha256}/{*rest}", any(not_a_blob_id))
        .layer(DefaultBodyLimit::max(MAX_CHUNK_BYTES))
        .layer(middleware::map_response(with_tus_resumable))
        .with_state(state)
}

async fn with_tus_resumable(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(TUS_RESUMABLE, HeaderValue::from_static(TUS_VERSION));
    response
}

async fn not_a_blob_id(path: Result<Path<(String, String)>, PathRejection>) -> BlobApiError {
    let input = path
        .map(|Path((first, rest))| format!("{first}/{rest}"))
        .unwrap_or_default();
    BlobApiError::BadId {
        input: input.chars().take(80).collect(),
        reason: "it contains `/`",
    }
}

/// Checks the tus version and parses the id, in that order, before anything
/// touches the disk.
fn tus_request(
    headers: &HeaderMap,
    id: Result<Path<String>, PathRejection>,
) -> Result<BlobId, BlobApiError> {
    match headers.get(&TUS_RESUMABLE) {
        Some(v) if v.as_bytes() == TUS_VERSION.as_bytes() => {}
        other => {
            return Err(BlobApiError::TusVersion {
                got: other.map_or_else(
                    || "nothing".to_owned(),
                    |v| format!("`{}`", String::from_utf8_lossy(v.as_bytes())),
                ),
            });
        }
    }
    path_id(id)
}

fn path_id(id: Result<Path<String>, PathRejection>) -> Result<BlobId, BlobApiError> {
    match id {
        Ok(Path(text)) => Ok(BlobId::parse(&text)?),
        Err(_) => Err(BlobApiError::BadId {
            input: String::new(),
            reason: "it is not valid UTF-8 text",
        }),
    }
}

fn number_header(headers: &HeaderMap, name: &'static str) -> Result<u64, BlobApiError> {
    let value = headers.get(name).ok_or(BlobApiError::BadHeader {
        name,
        problem: "is missing",
    })?;
    value
        .to_str()
        .ok()
        .and_then(parse_decimal)
        .ok_or(BlobApiError::BadHeader {
            name,
            problem: "is not a number",
        })
}

fn offset_headers(offset: u64, length: u64) -> [(HeaderName, HeaderValue); 3] {
    [
        (UPLOAD_OFFSET, HeaderValue::from(offset)),
        (UPLOAD_LENGTH, HeaderValue::from(length)),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
    ]
}

/// Runs blocking disk work for blob `id` while holding its lock. The lock
/// moves into the blocking task, so it is held until the disk work ends
/// even if the client goes away and the request is dropped.
async fn locked<T: Send + 'static>(
    dir: &Arc<BlobDir>,
    id: BlobId,
    work: impl FnOnce(&BlobDir) -> Result<T, BlobApiError> + Send + 'static,
) -> Result<T, BlobApiError> {
    let guard = dir.lock(id).await;
    tokio::task::spawn_blocking(move || {
        let result = work(&guard.dir);
        drop(guard);
        result
    })
    .await
    .map_err(|e| BlobApiError::Io(io::Error::other(e)))?
}

/// `OPTIONS /api/v1/blobs`.
async fn capabilities(State(state): State<BlobState>) -> impl IntoResponse {
    (
        StatusCode::NO_CONTENT,
        [
            (TUS_VERSION_HEADER, HeaderValue::from_static(TUS_VERSION)),
            (TUS_MAX_SIZE, HeaderValue::from(state.max_blob_bytes)),
            (TUS_EXTENSION, HeaderValue::from_static("creation")),
        ],
    )
}

/// Whether `who` may see the complete blob `id` (its team uploaded it).
fn visible(state: &BlobState, who: &Uploader, id: &BlobId) -> Result<bool, BlobApiError> {
    Ok(state.dir.contains(id) && state.owners.visible(who, id)?)
}

/// Offset and length to answer for `who`'s session of `id`, recording the
/// upload when it has just been finished.
fn answer_session(
    state: &BlobState,
    who: &Uploader,
    id: &BlobId,
    session: Session,
) -> Result<Option<(u64, u64)>, BlobApiError> {
    Ok(match session {
        Session::Absent => None,
        Session::Partial { offset, length } => Some((offset, length)),
        Session::Finished { length } => {
            state.owners.record(who, id)?;
            Some((length, length))
        }
    })
}

/// `HEAD /api/v1/blobs/{sha256}`.
async fn status(
    State(state): State<BlobState>,
    Extension(who): Extension<Uploader>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, BlobApiError> {
    let id = tus_request(&headers, id)?;
    let held = state.clone();
    let found = locked(&state.dir, id, move |dir| {
        if visible(&held, &who, &id)? {
            let length = file_len(&dir.path_of(&id))?.unwrap_or(0);
            return Ok(Some((length, length)));
        }
        let session = dir.session(&Owner::of(&who), &id)?;
        answer_session(&held, &who, &id, session)
    })
    .await?;
    let (offset, length) = found.ok_or(BlobApiError::NotFound(id))?;
    Ok((StatusCode::OK, offset_headers(offset, length)).into_response())
}

/// `POST /api/v1/blobs/{sha256}`.
async fn create(
    State(state): State<BlobState>,
    Extension(who): Extension<Uploader>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, BlobApiError> {
    let id = tus_request(&headers, id)?;
    let length = number_header(&headers, "upload-length")?;
    if length > state.max_blob_bytes {
        return Err(BlobApiError::TooLarge {
            length,
            max: state.max_blob_bytes,
        });
    }
    let held = state.clone();
    let (code, offset, length) = locked(&state.dir, id, move |dir| {
        if visible(&held, &who, &id)? {
            // Known to this team: nothing to send.
            let length = file_len(&dir.path_of(&id))?.unwrap_or(0);
            return Ok((StatusCode::OK, length, length));
        }
        let created = dir.create(&Owner::of(&who), &id, length)?;
        let (offset, length) =
            answer_session(&held, &who, &id, created.session)?.ok_or(BlobApiError::NotFound(id))?;
        let code = if created.resumed {
            StatusCode::OK
        } else {
            StatusCode::CREATED
        };
        Ok((code, offset, length))
    })
    .await?;
    let location = HeaderValue::try_from(format!("/api/v1/blobs/{id}"))
        .map_err(|e| BlobApiError::Io(io::Error::other(e)))?;
    Ok((
        code,
        offset_headers(offset, length),
        [(header::LOCATION, location)],
    )
        .into_response())
}

/// The headers of a `PATCH`, all checked before its body is read, so a bad
/// request (or a body declared too large) is answered without reading it.
#[derive(Debug)]
struct PatchHead {
    id: BlobId,
    offset: u64,
}

impl FromRequestParts<BlobState> for PatchHead {
    type Rejection = BlobApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &BlobState,
    ) -> Result<PatchHead, BlobApiError> {
        let id = Path::<String>::from_request_parts(parts, state).await;
        let id = tus_request(&parts.headers, id)?;
        let content_type = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(str::trim);
        if !content_type.is_some_and(|t| t.eq_ignore_ascii_case(OFFSET_OCTET_STREAM)) {
            return Err(BlobApiError::BadContentType);
        }
        let offset = number_header(&parts.headers, "upload-offset")?;
        let declared = parts
            .headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_decimal);
        if declared.is_some_and(|len| len > MAX_CHUNK_BYTES as u64) {
            return Err(BlobApiError::ChunkTooLarge);
        }
        Ok(PatchHead { id, offset })
    }
}

/// `PATCH /api/v1/blobs/{sha256}`.
async fn append(
    State(state): State<BlobState>,
    Extension(who): Extension<Uploader>,
    PatchHead { id, offset }: PatchHead,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, BlobApiError> {
    // The body limit is `DefaultBodyLimit` (for bodies without a length).
    let chunk = match body {
        Ok(chunk) => chunk,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return Err(BlobApiError::ChunkTooLarge);
        }
        Err(_) => return Err(BlobApiError::BadBody),
    };
    let held = state.clone();
    let new_offset = locked(&state.dir, id, move |dir| {
        let owner = Owner::of(&who);
        match dir.session(&owner, &id)? {
            // The upload is whole (a repeat of the last chunk whose answer
            // was lost, say): told so with the whole length as the offset.
            Session::Absent if visible(&held, &who, &id)? => {
                let length = file_len(&dir.path_of(&id))?.unwrap_or(0);
                if offset == length && chunk.is_empty() {
                    return Ok(length);
                }
                Err(BlobApiError::OffsetMismatch {
                    current: length,
                    got: offset,
                })
            }
            _ => {
                let session = dir.append(&owner, &id, offset, &chunk)?;
                let (offset, _) = answer_session(&held, &who, &id, session)?
                    .ok_or(BlobApiError::UploadNotFound(id))?;
                Ok(offset)
            }
        }
    })
    .await?;
    Ok((
        StatusCode::NO_CONTENT,
        [(UPLOAD_OFFSET, HeaderValue::from(new_offset))],
    )
        .into_response())
}

/// `GET /api/v1/blobs/{sha256}`: streams a complete blob the device's team uploaded.
async fn download(
    State(state): State<BlobState>,
    Extension(who): Extension<Uploader>,
    id: Result<Path<String>, PathRejection>,
    request_headers: axum::http::HeaderMap,
) -> Result<Response, BlobApiError> {
    let id = path_id(id)?;
    let held = state.clone();
    let allowed = tokio::task::spawn_blocking(move || held.owners.visible(&who, &id))
        .await
        .map_err(|e| BlobApiError::Io(io::Error::other(e)))??;
    if !allowed {
        return Err(BlobApiError::NotFound(id));
    }
    if super::not_modified(&request_headers, &id) && state.dir.path_of(&id).exists() {
        return Ok(super::not_modified_answer(&id));
    }
    let file = match tokio::fs::File::open(state.dir.path_of(&id)).await {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(BlobApiError::NotFound(id)),
        Err(e) => return Err(e.into()),
    };
    let length = file.metadata().await?.len();
    let etag = HeaderValue::try_from(super::etag(&id))
        .map_err(|e| BlobApiError::Io(io::Error::other(e)))?;
    Ok((
        StatusCode::OK,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            ),
            (header::CONTENT_LENGTH, HeaderValue::from(length)),
            (header::ETAG, etag),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static(super::EVIDENCE_CACHE),
            ),
        ],
        Body::from_stream(tokio_util::io::ReaderStream::new(file)),
    )
        .into_response())
}
