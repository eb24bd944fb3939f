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
//! Ids are parsed into [`BlobId`] (exactly 64 lowercase hex digits) before
//! any path is built; no text from a request ever becomes part of a path.
//!
//! Authentication is not done here: [`router`] reads the [`Uploader`] from
//! the request's extensions, where the server's device-token layer puts it.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path as FsPath, PathBuf};
use std::sync::{Arc, PoisonError};

use axum::body::{Body, Bytes};
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{DefaultBodyLimit, Extension, FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, options};
use axum::{Json, Router, middleware};
use serde::Serialize;
use sha2::{Digest, Sha256};

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

/// Folder of uploads in progress, inside the blob folder.
const PARTIAL_DIR: &str = "partial";
/// Read buffer for hashing.
const HASH_BUF: usize = 256 * 1024;

pub use fieldloop_core::blob::{BadBlobId, BlobId};

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

/// The server's blob folder: complete blobs under `ab/abcdef…`, uploads in
/// progress under `partial/`.
#[derive(Debug)]
pub struct BlobDir {
    root: PathBuf,
    partial: PathBuf,
    locks: std::sync::Mutex<HashMap<BlobId, Arc<tokio::sync::Mutex<()>>>>,
    /// Bytes each device sent today (UTC day number, bytes), for the daily quota.
    sent: std::sync::Mutex<HashMap<String, (u64, u64)>>,
    quota: Quota,
}

/// What one device may hold open and send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    /// Uploads in progress at once.
    pub sessions: usize,
    /// Bytes received per UTC day.
    pub bytes_per_day: u64,
}

/// [`Quota::sessions`] by default: a tablet uploads one file at a time and
/// queues the rest.
pub const SESSIONS_PER_DEVICE: usize = 64;
/// [`Quota::bytes_per_day`] by default: a thousand 4 MB photos with their
/// copies.
pub const BYTES_PER_DEVICE_DAY: u64 = 8 * 1024 * 1024 * 1024;
/// An upload untouched this long is reclaimed.
pub const STALE_UPLOAD: std::time::Duration = std::time::Duration::from_secs(48 * 3600);

impl Default for Quota {
    fn default() -> Self {
        Self {
            sessions: SESSIONS_PER_DEVICE,
            bytes_per_day: BYTES_PER_DEVICE_DAY,
        }
    }
}

/// Holds the lock of one blob; releases it (and forgets the lock when no one
/// else waits for it) on drop.
struct BlobGuard {
    dir: Arc<BlobDir>,
    id: BlobId,
    guard: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl Drop for BlobGuard {
    fn drop(&mut self) {
        drop(self.guard.take());
        let mut locks = self
            .dir
            .locks
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if locks
            .get(&self.id)
            .is_some_and(|lock| Arc::strong_count(lock) == 1)
        {
            locks.remove(&self.id);
        }
    }
}

impl BlobDir {
    /// Opens the blob folder `root`, creating it and its `partial/` folder
    /// if needed.
    pub fn open(root: impl AsRef<FsPath>) -> io::Result<BlobDir> {
        let root = root.as_ref().to_path_buf();
        let partial = root.join(PARTIAL_DIR);
        fs::create_dir_all(&partial)?;
        Ok(BlobDir {
            root,
            partial,
            locks: std::sync::Mutex::new(HashMap::new()),
            sent: std::sync::Mutex::new(HashMap::new()),
            quota: Quota::default(),
        })
    }

    /// The same folder with another quota.
    pub fn with_quota(mut self, quota: Quota) -> Self {
        self.quota = quota;
        self
    }

    /// Deletes uploads in progress that nobody touched for `older_than`
    /// (a tablet that was wiped, an attacker that started and left); returns
    /// how many files went. Run now and then; a device whose upload went
    /// starts it over.
    pub fn reclaim_stale(&self, older_than: std::time::Duration) -> io::Result<usize> {
        let now = std::time::SystemTime::now();
        let mut removed = 0;
        for owner in fs::read_dir(&self.partial)? {
            let owner = owner?.path();
            if !owner.is_dir() {
                continue;
            }
            for file in fs::read_dir(&owner)? {
                let file = file?;
                let modified = file.metadata()?.modified()?;
                if now.duration_since(modified).unwrap_or_default() > older_than {
                    remove_if_present(&file.path())?;
                    removed += 1;
                }
            }
            // An owner with nothing left in progress.
            let _ = fs::remove_dir(&owner);
        }
        Ok(removed)
    }

    /// Counts `bytes` against `owner`'s daily quota; refused past it.
    fn charge(&self, owner: &Owner, bytes: u64) -> Result<(), BlobApiError> {
        let day = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() / 86_400);
        let mut sent = self.sent.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = sent.entry(owner.0.clone()).or_insert((day, 0));
        if entry.0 != day {
            *entry = (day, 0);
        }
        if entry.1.saturating_add(bytes) > self.quota.bytes_per_day {
            return Err(BlobApiError::Quota(format!(
                "this device sent {} bytes today, at most {} a day",
                entry.1, self.quota.bytes_per_day
            )));
        }
        entry.1 += bytes;
        Ok(())
    }

    /// The blob folder.
    pub fn root(&self) -> &FsPath {
        &self.root
    }

    /// Where the complete blob `id` lives (whether or not it is there).
    pub fn path_of(&self, id: &BlobId) -> PathBuf {
        self.root.join(id.relative_path())
    }

    /// Whether the complete blob `id` is here.
    pub fn contains(&self, id: &BlobId) -> bool {
        self.path_of(id).is_file()
    }

    /// The folder of `owner`'s uploads in progress.
    fn sessions(&self, owner: &Owner) -> PathBuf {
        self.partial.join(&owner.0)
    }

    fn partial_path(&self, owner: &Owner, id: &BlobId) -> PathBuf {
        self.sessions(owner).join(id.to_hex())
    }

    fn length_path(&self, owner: &Owner, id: &BlobId) -> PathBuf {
        self.sessions(owner).join(format!("{}.len", id.to_hex()))
    }

    /// Waits for the lock of blob `id`.
    async fn lock(self: &Arc<Self>, id: BlobId) -> BlobGuard {
        let lock = {
            let mut locks = self.locks.lock().unwrap_or_else(PoisonError::into_inner);
            Arc::clone(locks.entry(id).or_default())
        };
        let guard = lock.lock_owned().await;
        BlobGuard {
            dir: Arc::clone(self),
            id,
            guard: Some(guard),
        }
    }

    /// `owner`'s upload of `id`. An upload whose bytes are all there but
    /// that was not finished (a crash between the last append and the
    /// rename) is finished first. Call with the blob's lock held.
    fn session(&self, owner: &Owner, id: &BlobId) -> Result<Session, BlobApiError> {
        let Some(length) = self.declared_length(owner, id)? else {
            return Ok(Session::Absent);
        };
        let offset = file_len(&self.partial_path(owner, id))?.unwrap_or(0);
        if offset < length {
            return Ok(Session::Partial { offset, length });
        }
        match self.finish(owner, id, length) {
            Ok(()) => Ok(Session::Finished { length }),
            // A finished upload that failed verification was deleted: nothing is held.
            Err(BlobApiError::HashMismatch { .. }) => Ok(Session::Absent),
            Err(e) => Err(e),
        }
    }

    fn declared_length(&self, owner: &Owner, id: &BlobId) -> io::Result<Option<u64>> {
        let path = self.length_path(owner, id);
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        parse_decimal(text.trim()).map(Some).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{} does not hold a length", path.display()),
            )
        })
    }

    /// `POST`: starts `owner`'s upload of `length` bytes, unless one with that
    /// length is in progress (`resumed` then).
    fn create(&self, owner: &Owner, id: &BlobId, length: u64) -> Result<Created, BlobApiError> {
        match self.session(owner, id)? {
            Session::Partial {
                length: declared, ..
            } if declared != length => self.discard(owner, id)?,
            Session::Absent => {}
            session => {
                return Ok(Created {
                    session,
                    resumed: true,
                });
            }
        }
        let dir = self.sessions(owner);
        let open = fs::read_dir(&dir)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .filter(|e| e.file_name().to_string_lossy().ends_with(".len"))
                    .count()
            })
            .unwrap_or(0);
        if open >= self.quota.sessions {
            return Err(BlobApiError::Quota(format!(
                "this device has {open} uploads in progress, at most {}; finish or wait for them",
                self.quota.sessions
            )));
        }
        let dir_is_new = !dir.is_dir();
        if dir_is_new {
            fs::create_dir_all(&dir)?;
            sync_dir(&self.partial)?;
        }
        let tmp = dir.join(format!("{}.len.tmp", id.to_hex()));
        write_durably(&tmp, length.to_string().as_bytes())?;
        File::create(self.partial_path(owner, id))?.sync_all()?;
        fs::rename(&tmp, self.length_path(owner, id))?;
        sync_dir(&dir)?;
        let session = if length == 0 {
            self.finish(owner, id, 0)?;
            Session::Finished { length }
        } else {
            Session::Partial { offset: 0, length }
        };
        Ok(Created {
            session,
            resumed: false,
        })
    }

    /// `PATCH`: appends `chunk` at `offset` to `owner`'s upload.
    fn append(
        &self,
        owner: &Owner,
        id: &BlobId,
        offset: u64,
        chunk: &[u8],
    ) -> Result<Session, BlobApiError> {
        let (current, length) = match self.session(owner, id)? {
            Session::Absent => return Err(BlobApiError::UploadNotFound(*id)),
            Session::Finished { length } => return Ok(Session::Finished { length }),
            Session::Partial { offset, length } => (offset, length),
        };
        if offset != current {
            return Err(BlobApiError::OffsetMismatch {
                current,
                got: offset,
            });
        }
        let size = chunk.len() as u64;
        if current.saturating_add(size) > length {
            return Err(BlobApiError::BeyondLength {
                offset,
                chunk: size,
                length,
            });
        }
        self.charge(owner, size)?;
        let path = self.partial_path(owner, id);
        let mut file = OpenOptions::new().create(true).append(true).open(&path)?;
        file.write_all(chunk)?;
        file.sync_data()?;
        drop(file);
        let new_offset = current + size;
        if new_offset == length {
            self.finish(owner, id, length)?;
            return Ok(Session::Finished { length });
        }
        Ok(Session::Partial {
            offset: new_offset,
            length,
        })
    }

    /// Verifies a fully received upload and moves it into place (or, when
    /// the blob is there already, drops the verified copy), or deletes it if
    /// its bytes are not those of `id`.
    fn finish(&self, owner: &Owner, id: &BlobId, length: u64) -> Result<(), BlobApiError> {
        let path = self.partial_path(owner, id);
        let mut file = File::open(&path)?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; HASH_BUF];
        let mut read = 0u64;
        loop {
            let n = match file.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            };
            hasher.update(&buf[..n]);
            read += n as u64;
        }
        let actual = BlobId::from_digest(hasher.finalize().into());
        if actual != *id || read != length {
            self.discard(owner, id)?;
            return Err(BlobApiError::HashMismatch { id: *id, actual });
        }
        let dest = self.path_of(id);
        if dest.is_file() {
            drop(file);
            return Ok(self.discard(owner, id)?);
        }
        file.sync_all()?;
        drop(file);
        let shard = dest.parent().unwrap_or(&self.root).to_path_buf();
        let shard_is_new = !shard.is_dir();
        if shard_is_new {
            fs::create_dir_all(&shard)?;
        }
        fs::rename(&path, &dest)?;
        sync_dir(&shard)?;
        if shard_is_new {
            sync_dir(&self.root)?;
        }
        remove_if_present(&self.length_path(owner, id))?;
        sync_dir(&self.sessions(owner))?;
        Ok(())
    }

    /// Deletes an upload in progress.
    fn discard(&self, owner: &Owner, id: &BlobId) -> io::Result<()> {
        remove_if_present(&self.length_path(owner, id))?;
        remove_if_present(&self.partial_path(owner, id))?;
        sync_dir(&self.sessions(owner))
    }
}

/// The folder name of a device's uploads: its id where that is plain
/// letters, digits and `-` (as the server makes them), else its hex.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Owner(String);

impl Owner {
    fn of(who: &Uploader) -> Self {
        let plain = !who.device.is_empty()
            && who.device.len() <= 64
            && who
                .device
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if plain {
            Owner(who.device.clone())
        } else {
            Owner(format!("x{}", hex::encode(who.device.as_bytes())))
        }
    }
}

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

/// A device's upload of one blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Session {
    Absent,
    /// `offset` bytes of `length` received.
    Partial {
        offset: u64,
        length: u64,
    },
    /// Every byte received and verified just now: the blob is in place.
    Finished {
        length: u64,
    },
}

/// What a `POST` came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Created {
    session: Session,
    /// An upload with this length was already in progress (or done).
    resumed: bool,
}

/// The length of the file at `path`, or `None` if there is none.
fn file_len(path: &FsPath) -> io::Result<Option<u64>> {
    match fs::metadata(path) {
        Ok(meta) if meta.is_file() => Ok(Some(meta.len())),
        Ok(_) => Ok(None),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

fn remove_if_present(path: &FsPath) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

fn write_durably(path: &FsPath, bytes: &[u8]) -> io::Result<()> {
    let mut file = File::create(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Makes new entries and renames in `dir` durable.
#[cfg(unix)]
fn sync_dir(dir: &FsPath) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Other systems do not let a folder be opened as a file; their renames are
/// journaled by the file system.
#[cfg(not(unix))]
fn sync_dir(_dir: &FsPath) -> io::Result<()> {
    Ok(())
}

/// A non-negative decimal number: ASCII digits only (no sign, no spaces).
fn parse_decimal(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

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
) -> Result<Response, BlobApiError> {
    let id = path_id(id)?;
    let held = state.clone();
    let allowed = tokio::task::spawn_blocking(move || held.owners.visible(&who, &id))
        .await
        .map_err(|e| BlobApiError::Io(io::Error::other(e)))??;
    if !allowed {
        return Err(BlobApiError::NotFound(id));
    }
    let file = match tokio::fs::File::open(state.dir.path_of(&id)).await {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(BlobApiError::NotFound(id)),
        Err(e) => return Err(e.into()),
    };
    let length = file.metadata().await?.len();
    let etag = HeaderValue::try_from(format!("\"{id}\""))
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
                HeaderValue::from_static("private, max-age=31536000, immutable"),
            ),
        ],
        Body::from_stream(tokio_util::io::ReaderStream::new(file)),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const ABC: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    #[test]
    fn ids_are_64_lowercase_hex_digits() {
        assert_eq!(BlobId::parse(ABC).unwrap(), BlobId::of(b"abc"));
        assert_eq!(BlobId::of(b"abc").to_string(), ABC);
        for bad in [
            String::new(),
            ABC[..63].to_owned(),
            format!("{ABC}0"),
            ABC.to_uppercase(),
            format!("{}g", &ABC[..63]),
            format!("{}/", &ABC[..63]),
            format!("{}é", &ABC[..62]),
            "../../etc/passwd".to_owned(),
        ] {
            let err = BlobApiError::from(BlobId::parse(&bad).unwrap_err());
            assert_eq!(err.code().as_str(), "blob.bad_id", "{bad:?}");
            assert_eq!(err.status(), StatusCode::BAD_REQUEST);
        }
    }

    #[test]
    fn numbers_are_plain_decimals() {
        assert_eq!(parse_decimal("0"), Some(0));
        assert_eq!(parse_decimal("1310720"), Some(1_310_720));
        for bad in [
            "",
            "+1",
            "-1",
            " 1",
            "1 ",
            "0x10",
            "1e3",
            "99999999999999999999999",
        ] {
            assert_eq!(parse_decimal(bad), None, "{bad:?}");
        }
    }

    fn owner(name: &str) -> Owner {
        Owner::of(&Uploader {
            device: name.into(),
            team: "T".into(),
        })
    }

    #[test]
    fn a_crash_after_the_last_append_is_finished_on_the_next_look() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = BlobDir::open(tmp.path()).unwrap();
        let (me, id) = (owner("D-1"), BlobId::of(b"abc"));
        let created = dir.create(&me, &id, 3).unwrap();
        assert_eq!(
            created.session,
            Session::Partial {
                offset: 0,
                length: 3
            }
        );
        assert!(!created.resumed);
        // All bytes on disk, but the rename never happened.
        fs::write(dir.partial_path(&me, &id), b"abc").unwrap();
        assert_eq!(
            dir.session(&me, &id).unwrap(),
            Session::Finished { length: 3 }
        );
        assert_eq!(fs::read(dir.path_of(&id)).unwrap(), b"abc");
        assert!(!dir.length_path(&me, &id).exists());
        assert!(!dir.partial_path(&me, &id).exists());
    }

    #[test]
    fn a_full_upload_with_wrong_bytes_is_dropped_and_can_start_over() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = BlobDir::open(tmp.path()).unwrap();
        let (me, id) = (owner("D-1"), BlobId::of(b"abc"));
        dir.create(&me, &id, 3).unwrap();
        fs::write(dir.partial_path(&me, &id), b"abd").unwrap();
        let created = dir.create(&me, &id, 3).unwrap();
        assert!(!created.resumed);
        assert_eq!(
            created.session,
            Session::Partial {
                offset: 0,
                length: 3
            }
        );
        assert_eq!(
            dir.append(&me, &id, 0, b"abc").unwrap(),
            Session::Finished { length: 3 }
        );
        assert_eq!(fs::read(dir.path_of(&id)).unwrap(), b"abc");
    }

    #[test]
    fn an_empty_blob_is_complete_when_created() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = BlobDir::open(tmp.path()).unwrap();
        let (me, id) = (owner("D-1"), BlobId::of(b""));
        let created = dir.create(&me, &id, 0).unwrap();
        assert_eq!(created.session, Session::Finished { length: 0 });
        assert!(dir.contains(&id));
        let err = dir.create(&me, &BlobId::of(b"x"), 0).unwrap_err();
        assert_eq!(err.code().as_str(), "blob.hash_mismatch");
    }

    #[test]
    fn a_different_length_restarts_the_upload() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = BlobDir::open(tmp.path()).unwrap();
        let (me, id) = (owner("D-1"), BlobId::of(b"abcdef"));
        dir.create(&me, &id, 10).unwrap();
        dir.append(&me, &id, 0, b"abc").unwrap();
        let created = dir.create(&me, &id, 6).unwrap();
        assert_eq!(
            created.session,
            Session::Partial {
                offset: 0,
                length: 6
            }
        );
        dir.append(&me, &id, 0, b"abcdef").unwrap();
        assert!(dir.contains(&id));
    }

    #[test]
    fn each_device_has_its_own_session_and_a_second_copy_changes_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = BlobDir::open(tmp.path()).unwrap();
        let (a, b, id) = (owner("D-a"), owner("D-b"), BlobId::of(b"abcdef"));
        dir.create(&a, &id, 6).unwrap();
        dir.append(&a, &id, 0, b"abc").unwrap();
        // B starts over on its own; A's session is untouched.
        dir.create(&b, &id, 6).unwrap();
        assert_eq!(
            dir.append(&b, &id, 3, b"def").unwrap_err().code().as_str(),
            "blob.offset_mismatch"
        );
        assert_eq!(
            dir.session(&a, &id).unwrap(),
            Session::Partial {
                offset: 3,
                length: 6
            }
        );
        dir.append(&b, &id, 0, b"abcdef").unwrap();
        assert!(dir.contains(&id));
        // A finishing afterwards verifies its copy and drops it.
        assert_eq!(
            dir.append(&a, &id, 3, b"def").unwrap(),
            Session::Finished { length: 6 }
        );
        assert_eq!(fs::read(dir.path_of(&id)).unwrap(), b"abcdef");
        assert!(!dir.partial_path(&a, &id).exists());
        // A device id that is not plain text becomes hex, never a path.
        assert_eq!(owner("../x").0, format!("x{}", hex::encode("../x")));
    }

    #[test]
    fn a_device_has_a_quota_of_uploads_and_of_bytes_a_day() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = BlobDir::open(tmp.path()).unwrap().with_quota(Quota {
            sessions: 2,
            bytes_per_day: 10,
        });
        let (me, other) = (owner("D-1"), owner("D-2"));
        dir.create(&me, &BlobId::of(b"a"), 1).unwrap();
        dir.create(&me, &BlobId::of(b"bb"), 2).unwrap();
        let err = dir.create(&me, &BlobId::of(b"ccc"), 3).unwrap_err();
        assert_eq!(err.code().as_str(), "blob.quota");
        // Another device has its own allowance; resuming one's own is allowed.
        dir.create(&other, &BlobId::of(b"ccc"), 3).unwrap();
        assert!(dir.create(&me, &BlobId::of(b"a"), 1).unwrap().resumed);

        let big = BlobId::of(b"0123456789abc");
        let dir = BlobDir::open(tmp.path().join("2"))
            .unwrap()
            .with_quota(Quota {
                sessions: 2,
                bytes_per_day: 10,
            });
        dir.create(&me, &big, 13).unwrap();
        dir.append(&me, &big, 0, b"0123456789").unwrap();
        let err = dir.append(&me, &big, 10, b"abc").unwrap_err();
        assert_eq!(err.code().as_str(), "blob.quota");
        assert_eq!(
            dir.session(&me, &big).unwrap(),
            Session::Partial {
                offset: 10,
                length: 13
            },
            "nothing written past the quota"
        );
    }

    #[test]
    fn uploads_nobody_touched_are_reclaimed() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = BlobDir::open(tmp.path()).unwrap();
        let me = owner("D-1");
        let id = BlobId::of(b"abc");
        dir.create(&me, &id, 3).unwrap();
        dir.append(&me, &id, 0, b"a").unwrap();
        assert_eq!(
            dir.reclaim_stale(std::time::Duration::from_secs(3600))
                .unwrap(),
            0
        );
        // Two hours later, as far as the files can tell.
        let earlier = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
        for path in [dir.partial_path(&me, &id), dir.length_path(&me, &id)] {
            File::options()
                .write(true)
                .open(path)
                .unwrap()
                .set_modified(earlier)
                .unwrap();
        }
        assert_eq!(
            dir.reclaim_stale(std::time::Duration::from_secs(3600))
                .unwrap(),
            2
        );
        assert_eq!(dir.session(&me, &id).unwrap(), Session::Absent);
        assert!(!dir.sessions(&me).exists());
    }

    #[tokio::test]
    async fn the_lock_map_forgets_released_locks() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = Arc::new(BlobDir::open(tmp.path()).unwrap());
        let id = BlobId::of(b"abc");
        let guard = dir.lock(id).await;
        assert_eq!(dir.locks.lock().unwrap().len(), 1);
        drop(guard);
        assert!(dir.locks.lock().unwrap().is_empty());
    }
}
