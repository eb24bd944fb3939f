//! [`Blobs`]: where a server keeps its blobs, a folder of its own (the
//! default) or an object store shared by several instances, behind one set
//! of operations that the routes, the console and the evidence package use.

use std::io;
use std::sync::Arc;

use axum::body::Bytes;
use futures_util::StreamExt;

use super::disk::{BlobGuard, file_len};
use super::objects::ByteStream;
use super::upload::{Created, Owner, Session};
use super::{BlobApiError, BlobDir, BlobId, ObjectBlobs, Uploader};

/// Read buffer of a blob streamed from the folder.
const STREAM_BUF: usize = 64 * 1024;

/// Where a server keeps its blobs.
#[derive(Debug, Clone)]
pub enum Blobs {
    /// A folder on this machine, served by this one process
    /// ([`BlobDir`]: every chunk fsynced before it is acknowledged).
    Folder(Arc<BlobDir>),
    /// An object store, any number of instances at once ([`ObjectBlobs`]).
    Objects(Arc<ObjectBlobs>),
}

impl From<BlobDir> for Blobs {
    fn from(dir: BlobDir) -> Self {
        Blobs::Folder(Arc::new(dir))
    }
}

impl From<ObjectBlobs> for Blobs {
    fn from(objects: ObjectBlobs) -> Self {
        Blobs::Objects(Arc::new(objects))
    }
}

/// Runs blocking folder work off the async threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, BlobApiError> + Send + 'static,
) -> Result<T, BlobApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| BlobApiError::Io(io::Error::other(e)))?
}

impl Blobs {
    /// Serialises the requests on blob `id` where the store needs it (the
    /// folder: one process, one lock per blob); the object store needs none
    /// (its uploads advance by compare-and-set in the database).
    pub(super) async fn lock(&self, id: BlobId) -> Option<BlobGuard> {
        match self {
            Blobs::Folder(dir) => Some(dir.lock(id).await),
            Blobs::Objects(_) => None,
        }
    }

    /// The length of the complete blob `id`, if it is held.
    pub async fn complete_length(&self, id: &BlobId) -> Result<Option<u64>, BlobApiError> {
        match self {
            Blobs::Folder(dir) => {
                let path = dir.path_of(id);
                blocking(move || Ok(file_len(&path)?)).await
            }
            Blobs::Objects(objects) => objects.complete_length(id).await,
        }
    }

    /// Stores `bytes` whole as `who`'s upload of one chunk, through the
    /// same steps (and checks) as a tablet's upload: a blob already held
    /// costs nothing. Its id.
    pub async fn put_whole(
        &self,
        who: &Uploader,
        bytes: impl Into<Bytes>,
    ) -> Result<BlobId, BlobApiError> {
        let bytes: Bytes = bytes.into();
        let id = BlobId::of(&bytes);
        if self.complete_length(&id).await?.is_some() {
            return Ok(id);
        }
        self.create(who, &id, bytes.len() as u64).await?;
        match self.append(who, &id, 0, bytes).await? {
            Session::Finished { .. } => Ok(id),
            other => Err(BlobApiError::Io(io::Error::other(format!(
                "a whole blob left its upload at {other:?}"
            )))),
        }
    }

    /// `who`'s upload of `id` (finished first if all its bytes are there).
    pub(super) async fn session(
        &self,
        who: &Uploader,
        id: &BlobId,
    ) -> Result<Session, BlobApiError> {
        match self {
            Blobs::Folder(dir) => {
                let (dir, owner, id) = (dir.clone(), Owner::of(who), *id);
                blocking(move || dir.session(&owner, &id)).await
            }
            Blobs::Objects(objects) => objects.session(who, id).await,
        }
    }

    /// `POST`: starts `who`'s upload of `length` bytes of `id`.
    pub(super) async fn create(
        &self,
        who: &Uploader,
        id: &BlobId,
        length: u64,
    ) -> Result<Created, BlobApiError> {
        match self {
            Blobs::Folder(dir) => {
                let (dir, owner, id) = (dir.clone(), Owner::of(who), *id);
                blocking(move || dir.create(&owner, &id, length)).await
            }
            Blobs::Objects(objects) => objects.create(who, id, length).await,
        }
    }

    /// `PATCH`: appends `chunk` at `offset` to `who`'s upload of `id`.
    pub(super) async fn append(
        &self,
        who: &Uploader,
        id: &BlobId,
        offset: u64,
        chunk: Bytes,
    ) -> Result<Session, BlobApiError> {
        match self {
            Blobs::Folder(dir) => {
                let (dir, owner, id) = (dir.clone(), Owner::of(who), *id);
                blocking(move || dir.append(&owner, &id, offset, &chunk)).await
            }
            Blobs::Objects(objects) => objects.append(who, id, offset, chunk).await,
        }
    }

    /// The complete blob `id`: its length and a stream of its bytes.
    pub async fn open(&self, id: &BlobId) -> Result<Option<(u64, ByteStream)>, BlobApiError> {
        match self {
            Blobs::Folder(dir) => {
                let file = match tokio::fs::File::open(dir.path_of(id)).await {
                    Ok(file) => file,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
                    Err(e) => return Err(e.into()),
                };
                let length = file.metadata().await?.len();
                let stream = tokio_util::io::ReaderStream::with_capacity(file, STREAM_BUF).boxed();
                Ok(Some((length, stream)))
            }
            Blobs::Objects(objects) => objects.open(id).await,
        }
    }

    /// The whole of the complete blob `id`, if it is held and at most
    /// `max` bytes long (`Err(length)` when longer). For callers that need
    /// the bytes at once (the evidence package); blobs are at most
    /// [`crate::MAX_BLOB_BYTES`].
    pub async fn read(
        &self,
        id: &BlobId,
        max: u64,
    ) -> Result<Option<Result<Vec<u8>, u64>>, BlobApiError> {
        let Some((length, mut stream)) = self.open(id).await? else {
            return Ok(None);
        };
        if length > max {
            return Ok(Some(Err(length)));
        }
        let mut bytes = Vec::with_capacity(usize::try_from(length).unwrap_or(0));
        while let Some(chunk) = stream.next().await {
            bytes.extend_from_slice(&chunk?);
        }
        Ok(Some(Ok(bytes)))
    }

    /// Deletes uploads nobody touched for `older_than`; returns how many
    /// (files in the folder, uploads in the object store) went.
    pub async fn reclaim_stale(
        &self,
        older_than: std::time::Duration,
    ) -> Result<usize, BlobApiError> {
        match self {
            Blobs::Folder(dir) => {
                let dir = dir.clone();
                blocking(move || Ok(dir.reclaim_stale(older_than)?)).await
            }
            Blobs::Objects(objects) => objects.reclaim_stale(older_than).await,
        }
    }
}
