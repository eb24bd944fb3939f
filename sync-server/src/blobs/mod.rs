//! Blobs on the server: resumable upload by SHA-256 with tus 1.0 core
//! semantics, and download.
//!
//! Evidence bytes (photos, signatures) are named by their SHA-256 and
//! uploaded separately from the task documents, which only hold the hash.
//! Tablets upload over unreliable links, so an upload is resumable:
//!
//! | request | answer |
//! | --- | --- |
//! | `HEAD /api/v1/blobs/{sha256}` | 200 with `Upload-Offset` (bytes held; the full length once complete) and `Upload-Length`; 404 if nothing is known of the blob |
//! | `POST /api/v1/blobs/{sha256}` with `Upload-Length` | 201 when it starts an upload; 200 when the upload or the whole blob already exists (`Upload-Offset` = `Upload-Length` then: send nothing) |
//! | `PATCH /api/v1/blobs/{sha256}` with `Upload-Offset` and `Content-Type: application/offset+octet-stream` | appends the body at that offset and answers 204 with the new `Upload-Offset`; 409 with the current `Upload-Offset` if the offset is not the current one |
//! | `GET /api/v1/blobs/{sha256}` | the bytes, 404 if absent |
//! | `OPTIONS /api/v1/blobs` | `Tus-Version`, `Tus-Max-Size`, `Tus-Extension: creation` |
//!
//! Every request but `GET` and `OPTIONS` carries `Tus-Resumable: 1.0.0` (else
//! 412); every answer carries it. When the last chunk arrives the server
//! hashes the whole file: if the hash is the blob's id the file is fsynced
//! and renamed into place (atomic), otherwise it is deleted and the answer is
//! 422 `blob.hash_mismatch`. So a file under a blob's final name always holds
//! exactly the bytes of that name.
//!
//! Differences from tus: the client names the upload (its SHA-256) instead
//! of the server answering `POST` with a fresh URL, and `POST` is idempotent.
//! A `POST` whose `Upload-Length` differs from that of an upload in progress
//! restarts that upload: the hash fixes the content, so at most one of the
//! two lengths can be right.
//!
//! **Blobs are team objects.** A device sees a complete blob (`HEAD`,
//! `GET`, the zero-byte `POST`) only when a device of its team uploaded it
//! ([`BlobOwners`]); anything else answers the same 404 as a missing blob,
//! so a hash tells nobody outside the team whether the server holds it. An
//! upload in progress belongs to the device that started it: another device
//! (of any team) that posts the same hash gets a session of its own, and
//! proves it holds the bytes by sending them all.
//!
//! On disk ([`BlobDir`]): `dir/ab/abcdef…` are complete blobs,
//! `dir/partial/<device>/<sha256>` the bytes a device has sent so far of an
//! upload and `dir/partial/<device>/<sha256>.len` its declared length. Each `PATCH` is read
//! whole (at most [`MAX_CHUNK_BYTES`]) before anything is written, then
//! appended and fsynced before it is acknowledged, so a cut connection costs
//! at most the chunk in flight. Requests on one blob are serialised by a
//! per-blob lock inside the process; one [`BlobDir`] must be served by one
//! process.
//!
//! That is the folder, the default. Several instances keep their blobs in an
//! object store instead ([`ObjectBlobs`], S3 and compatible): the same
//! requests and answers, the upload's state in the database and its parts
//! as objects, so that consecutive chunks may reach different instances.
//! [`Blobs`] is either.
//!
//! Ids are parsed into [`BlobId`] (exactly 64 lowercase hex digits) before
//! any path is built; no text from a request ever becomes part of a path.
//!
//! Authentication is not done here: [`router`] reads the [`Uploader`] from
//! the request's extensions, where the server's device-token layer puts it.

use std::io;

use axum::http::HeaderName;

mod backend;
mod disk;
mod error;
pub mod garage;
mod objects;
mod quota;
mod routes;
#[cfg(test)]
mod tests;
mod upload;

pub use backend::Blobs;
pub use disk::BlobDir;
pub use error::BlobApiError;
pub use objects::{ASSEMBLY_PART_BYTES, ByteStream, ObjectBlobs, ObjectsConfigError};
pub use quota::{
    BYTES_PER_DEVICE_DAY, CHUNKS_PER_UPLOAD, Quota, SESSIONS_PER_DEVICE, STALE_UPLOAD,
};
pub use routes::router;

/// The tus protocol version this server speaks.
pub const TUS_VERSION: &str = "1.0.0";
/// The largest body one `PATCH` may carry. Tablets send 256 KiB chunks.
pub const MAX_CHUNK_BYTES: usize = 1024 * 1024;
/// The content type of a `PATCH` body.
pub const OFFSET_OCTET_STREAM: &str = "application/offset+octet-stream";

/// `Tus-Resumable`: the protocol version of a request or answer.
pub const TUS_RESUMABLE: HeaderName = HeaderName::from_static("tus-resumable");
/// `Upload-Offset`: bytes the server holds of an upload.
pub const UPLOAD_OFFSET: HeaderName = HeaderName::from_static("upload-offset");
/// `Upload-Length`: the whole length of an upload.
pub const UPLOAD_LENGTH: HeaderName = HeaderName::from_static("upload-length");
const TUS_VERSION_HEADER: HeaderName = HeaderName::from_static("tus-version");
const TUS_MAX_SIZE: HeaderName = HeaderName::from_static("tus-max-size");
const TUS_EXTENSION: HeaderName = HeaderName::from_static("tus-extension");

pub use fieldloop_core::blob::{BadBlobId, BlobId};

/// Who asks: a device and its team. The server's device-token layer puts it
/// in the request's extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uploader {
    pub device: String,
    pub team: String,
}

/// Who uploaded which blob, and so who may see it.
pub trait BlobOwners: Send + Sync + 'static {
    /// Whether a device of `who`'s team uploaded `id`.
    fn visible(&self, who: &Uploader, id: &BlobId) -> io::Result<bool>;
    /// `who` uploaded all of `id` (verified).
    fn record(&self, who: &Uploader, id: &BlobId) -> io::Result<()>;
}

/// A non-negative decimal number: ASCII digits only (no sign, no spaces).
fn parse_decimal(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// How evidence is cached: by the browser or tablet alone, and checked with
/// the server (which checks the caller again) before each use; the answer
/// to a check is an empty `304` when the caller's copy is current.
pub const EVIDENCE_CACHE: &str = "private, no-cache";

/// The `ETag` of a blob: its SHA-256, quoted.
pub fn etag(id: &BlobId) -> String {
    format!("\"{id}\"")
}

/// Whether `If-None-Match` names the blob's `ETag` (or `*`).
pub fn not_modified(headers: &axum::http::HeaderMap, id: &BlobId) -> bool {
    let tag = etag(id);
    headers
        .get_all(axum::http::header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == tag || t == "*")
}

/// The empty answer to a check of a current copy.
pub fn not_modified_answer(id: &BlobId) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    let mut response = axum::http::StatusCode::NOT_MODIFIED.into_response();
    let headers = response.headers_mut();
    if let Ok(tag) = axum::http::HeaderValue::try_from(etag(id)) {
        headers.insert(axum::http::header::ETAG, tag);
    }
    headers.insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static(EVIDENCE_CACHE),
    );
    response
}
