//! [`BlobApiError`]: what the blob API answers when a request fails.

use std::io;

use axum::Json;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::{
    BadBlobId, BlobId, MAX_CHUNK_BYTES, OFFSET_OCTET_STREAM, TUS_VERSION, TUS_VERSION_HEADER,
    UPLOAD_OFFSET,
};
use crate::error::Code;

impl From<BadBlobId> for BlobApiError {
    fn from(e: BadBlobId) -> Self {
        BlobApiError::BadId {
            input: e.input,
            reason: e.reason,
        }
    }
}

/// What the blob API answers when a request fails. The body is
/// `{ "code": …, "message": … }`; I/O detail is logged, not sent.
#[derive(Debug, thiserror::Error)]
pub enum BlobApiError {
    /// `Tus-Resumable` is missing or not `1.0.0`.
    #[error(
        "this request does not say `Tus-Resumable: 1.0.0` (it says {got}); \
         send that header: it is the only tus version this server speaks"
    )]
    TusVersion {
        /// What the request said, or "nothing".
        got: String,
    },
    /// The blob id in the path is not 64 lowercase hex digits.
    #[error(
        "`{input}` is not a blob id: {reason}; a blob id is the SHA-256 of the \
         bytes as 64 lowercase hexadecimal digits"
    )]
    BadId {
        /// The rejected text, at most 80 characters.
        input: String,
        /// Why it was rejected.
        reason: &'static str,
    },
    /// A header is missing or not a non-negative decimal number.
    #[error("header `{name}` {problem}; it must be a non-negative decimal number of bytes")]
    BadHeader {
        /// The header.
        name: &'static str,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// A `PATCH` body has the wrong content type.
    #[error("a PATCH body must have `Content-Type: {OFFSET_OCTET_STREAM}`")]
    BadContentType,
    /// The declared length is over the server's limit.
    #[error(
        "the blob is {length} bytes, more than this server accepts ({max} bytes); \
         reduce the file (e.g. a lower photo resolution) or ask the administrator"
    )]
    TooLarge {
        /// The declared `Upload-Length`.
        length: u64,
        /// The server's limit.
        max: u64,
    },
    /// A `PATCH` body is larger than one request may carry.
    #[error("a PATCH body may carry at most {MAX_CHUNK_BYTES} bytes; send smaller chunks")]
    ChunkTooLarge,
    /// A `PATCH` body would run past the declared `Upload-Length`.
    #[error(
        "this chunk of {chunk} bytes at offset {offset} runs past the declared length of \
         {length} bytes; send only the remaining bytes"
    )]
    BeyondLength {
        /// Where the chunk starts.
        offset: u64,
        /// The chunk's size.
        chunk: u64,
        /// The declared length.
        length: u64,
    },
    /// The request body could not be read (usually a cut connection).
    #[error("the request body could not be read completely; send the chunk again")]
    BadBody,
    /// `GET` or `HEAD` of a blob the server does not hold.
    #[error("the server holds no blob {0} and no upload of it")]
    NotFound(BlobId),
    /// `PATCH` without an upload: it was never created or it was discarded.
    #[error("no upload of blob {0} is in progress; create it with POST and Upload-Length first")]
    UploadNotFound(BlobId),
    /// `PATCH` at an offset that is not the current one.
    #[error(
        "the upload is at offset {current}, not {got}; continue from the offset \
         given in Upload-Offset"
    )]
    OffsetMismatch {
        /// The server's offset (also sent as `Upload-Offset`).
        current: u64,
        /// The offset the request gave.
        got: u64,
    },
    /// The uploaded bytes do not hash to the blob's id; they were discarded.
    #[error(
        "the uploaded bytes do not hash to {id} (they hash to {actual}); the upload was \
         discarded: check the file on the device and upload it again"
    )]
    HashMismatch {
        /// The blob's id.
        id: BlobId,
        /// What the bytes hashed to.
        actual: BlobId,
    },
    /// A device's quota of uploads in progress or bytes a day is used up.
    #[error("upload quota used up: {0}")]
    Quota(String),
    /// The server could not read or write its blob folder.
    #[error("the server could not store or read the blob; try again later")]
    Io(#[from] io::Error),
}

impl BlobApiError {
    /// The code of the error (its status follows from it).
    pub fn code(&self) -> Code {
        match self {
            BlobApiError::TusVersion { .. } => Code::BlobTusVersion,
            BlobApiError::BadId { .. } => Code::BlobBadId,
            BlobApiError::BadHeader { .. } => Code::BlobBadHeader,
            BlobApiError::BadContentType => Code::BlobBadContentType,
            BlobApiError::TooLarge { .. } => Code::BlobTooLarge,
            BlobApiError::ChunkTooLarge => Code::BlobChunkTooLarge,
            BlobApiError::BeyondLength { .. } => Code::BlobBeyondLength,
            BlobApiError::BadBody => Code::BlobBadBody,
            BlobApiError::NotFound(_) => Code::BlobNotFound,
            BlobApiError::UploadNotFound(_) => Code::BlobUploadNotFound,
            BlobApiError::OffsetMismatch { .. } => Code::BlobOffsetMismatch,
            BlobApiError::HashMismatch { .. } => Code::BlobHashMismatch,
            BlobApiError::Quota(_) => Code::BlobQuota,
            BlobApiError::Io(_) => Code::BlobIo,
        }
    }

    /// The HTTP status of the error.
    pub fn status(&self) -> StatusCode {
        self.code().status()
    }
}

/// Body of an error answer.
#[derive(Debug, Serialize)]
struct ErrorBody {
    code: &'static str,
    message: String,
}

impl IntoResponse for BlobApiError {
    fn into_response(self) -> Response {
        if let BlobApiError::Io(e) = &self {
            tracing::error!(error = %e, "blob storage failed");
        }
        let mut headers = HeaderMap::new();
        match &self {
            BlobApiError::OffsetMismatch { current, .. } => {
                headers.insert(UPLOAD_OFFSET, HeaderValue::from(*current));
            }
            BlobApiError::TusVersion { .. } => {
                headers.insert(TUS_VERSION_HEADER, HeaderValue::from_static(TUS_VERSION));
            }
            _ => {}
        }
        let body = ErrorBody {
            code: self.code().as_str(),
            message: self.to_string(),
        };
        (self.status(), headers, Json(body)).into_response()
    }
}
