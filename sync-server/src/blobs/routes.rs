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

use super::upload::Session;
use super::{
    BlobApiError, BlobId, BlobOwners, Blobs, MAX_CHUNK_BYTES, OFFSET_OCTET_STREAM, TUS_EXTENSION,
    TUS_MAX_SIZE, TUS_RESUMABLE, TUS_VERSION, TUS_VERSION_HEADER, UPLOAD_LENGTH, UPLOAD_OFFSET,
    Uploader, parse_decimal,
};

/// The state the blob routes share.
#[derive(Clone)]
struct BlobState {
    blobs: Blobs,
    max_blob_bytes: u64,
    owners: Arc<dyn BlobOwners>,
}

/// The blob routes, over `blobs`, accepting blobs of at most `max_blob_bytes`,
/// each visible to the teams `owners` says uploaded it.
///
/// Every request must carry an [`Uploader`] extension (the server's
/// authentication layer puts it there); its paths are absolute
/// (`/api/v1/blobs/…`).
pub fn router(blobs: Blobs, max_blob_bytes: u64, owners: Arc<dyn BlobOwners>) -> Router {
    let state = BlobState {
        blobs,
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

/// Runs `work` for blob `id` as a task of its own while holding the blob's
/// lock (where its store has one): the task, and so the lock, outlives the
/// request if the client goes away, until the work ends.
async fn locked<T, F>(
    blobs: &Blobs,
    id: BlobId,
    work: impl FnOnce(Blobs) -> F + Send + 'static,
) -> Result<T, BlobApiError>
where
    T: Send + 'static,
    F: Future<Output = Result<T, BlobApiError>> + Send + 'static,
{
    let blobs = blobs.clone();
    tokio::spawn(async move {
        let guard = blobs.lock(id).await;
        let result = work(blobs).await;
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

/// The length of the complete blob `id` if `who` may see it (its team
/// uploaded it).
async fn visible(
    blobs: &Blobs,
    owners: &Arc<dyn BlobOwners>,
    who: &Uploader,
    id: &BlobId,
) -> Result<Option<u64>, BlobApiError> {
    let Some(length) = blobs.complete_length(id).await? else {
        return Ok(None);
    };
    let (owners, held, id) = (owners.clone(), who.clone(), *id);
    let allowed = tokio::task::spawn_blocking(move || owners.visible(&held, &id))
        .await
        .map_err(|e| BlobApiError::Io(io::Error::other(e)))??;
    Ok(allowed.then_some(length))
}

/// Offset and length to answer for `who`'s session of `id`, recording the
/// upload when it has just been finished.
async fn answer_session(
    owners: &Arc<dyn BlobOwners>,
    who: &Uploader,
    id: &BlobId,
    session: Session,
) -> Result<Option<(u64, u64)>, BlobApiError> {
    Ok(match session {
        Session::Absent => None,
        Session::Partial { offset, length } => Some((offset, length)),
        Session::Finished { length } => {
            let (owners, who, id) = (owners.clone(), who.clone(), *id);
            tokio::task::spawn_blocking(move || owners.record(&who, &id))
                .await
                .map_err(|e| BlobApiError::Io(io::Error::other(e)))??;
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
    let owners = state.owners.clone();
    let found = locked(&state.blobs, id, move |blobs| async move {
        if let Some(length) = visible(&blobs, &owners, &who, &id).await? {
            return Ok(Some((length, length)));
        }
        let session = blobs.session(&who, &id).await?;
        answer_session(&owners, &who, &id, session).await
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
    let owners = state.owners.clone();
    let (code, offset, length) = locked(&state.blobs, id, move |blobs| async move {
        if let Some(length) = visible(&blobs, &owners, &who, &id).await? {
            // Known to this team: nothing to send.
            return Ok((StatusCode::OK, length, length));
        }
        let created = blobs.create(&who, &id, length).await?;
        let (offset, length) = answer_session(&owners, &who, &id, created.session)
            .await?
            .ok_or(BlobApiError::NotFound(id))?;
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
    let owners = state.owners.clone();
    let new_offset = locked(&state.blobs, id, move |blobs| async move {
        let session = match blobs.append(&who, &id, offset, chunk.clone()).await {
            // No upload of this device (nothing was written): the blob may be
            // whole already (a repeat of the last chunk whose answer was
            // lost, say), told so with the whole length as the offset.
            Err(BlobApiError::UploadNotFound(_)) => {
                let Some(length) = visible(&blobs, &owners, &who, &id).await? else {
                    return Err(BlobApiError::UploadNotFound(id));
                };
                if offset == length && chunk.is_empty() {
                    return Ok(length);
                }
                return Err(BlobApiError::OffsetMismatch {
                    current: length,
                    got: offset,
                });
            }
            other => other?,
        };
        let (offset, _) = answer_session(&owners, &who, &id, session)
            .await?
            .ok_or(BlobApiError::UploadNotFound(id))?;
        Ok(offset)
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
    if super::not_modified(&request_headers, &id)
        && state.blobs.complete_length(&id).await?.is_some()
    {
        return Ok(super::not_modified_answer(&id));
    }
    let (length, stream) = state
        .blobs
        .open(&id)
        .await?
        .ok_or(BlobApiError::NotFound(id))?;
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
        Body::from_stream(stream),
    )
        .into_response())
}
