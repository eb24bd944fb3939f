//! Blobs in an object store (S3 and compatible stores: Garage, Ceph RGW,
//! MinIO, a cloud's OSS/OBS), for several server instances at once.
//!
//! Nothing about an upload lives in an instance's memory: its state (declared
//! length, the lengths of the parts received) is a row of the database
//! ([`Store::upload`]), and each `PATCH` body is an object of its own, so the
//! next chunk may reach any instance:
//!
//! | key | what |
//! | --- | --- |
//! | `blobs/ab/abcdef…` | a complete, verified blob |
//! | `uploads/<device>/<sha256>/<offset>-<length>` | a part of an upload in progress |
//! | `staging/<device>/<sha256>.<nonce>` | a blob being assembled from its parts |
//!
//! A part is written to the object store before the database counts it, and
//! counting it is a compare-and-set on the number of parts
//! ([`Store::add_upload_part`]): of two instances taking the same chunk, one
//! counts it and the other answers `409` with the current offset. When the
//! last part is counted, the parts are read in order into a staging object
//! while being hashed; only if the hash is the blob's id is the staging
//! object copied to the blob's key, so a key under `blobs/` only ever holds
//! the bytes of its name. A crash anywhere leaves either parts that the next
//! look (`HEAD`, `POST`, `PATCH`) finishes, or a blob already in place.
//!
//! Stale uploads are found in the database and their objects deleted by
//! [`ObjectBlobs::reclaim_stale`].

use std::io;
use std::sync::Arc;

use axum::body::Bytes;
use futures_util::{StreamExt, TryStreamExt};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};
use sha2::{Digest, Sha256};

use super::quota::utc_day;
use super::upload::{Created, Owner, Session, accepts};
use super::{BlobApiError, BlobId, Quota, Uploader};
use crate::store::{BeginUpload, Charge, Store, StoreError, StoredUpload};

/// A blob at most this long is assembled in memory and written with one
/// `PUT`; a longer one is written as a multipart upload in parts of this size.
pub const ASSEMBLY_PART_BYTES: usize = 8 * 1024 * 1024;
/// One request to the object store may take this long.
pub const S3_REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);
/// A failed request to the object store is retried (with backoff) at most
/// this many times, and not after this long, so that a store that is down
/// fails a tablet's request well within the server's request timeout
/// (`limits::REQUEST_TIMEOUT`, 120 s); the tablet retries later.
pub const S3_RETRIES: usize = 3;
/// See [`S3_RETRIES`].
pub const S3_RETRY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);
/// Uploads reclaimed per sweep at most.
const RECLAIM_BATCH: usize = 1_000;

/// Where an upload's parts are assembled: in memory for one `PUT`, or a
/// multipart upload.
enum Sink {
    Memory(Vec<u8>),
    Parts(WriteMultipart),
}

/// A stream of a blob's bytes.
pub type ByteStream = futures_util::stream::BoxStream<'static, io::Result<Bytes>>;

/// The blobs of a server in an object store, their uploads' state in the
/// database.
pub struct ObjectBlobs {
    objects: Arc<dyn ObjectStore>,
    store: Arc<dyn Store>,
    quota: Quota,
}

impl std::fmt::Debug for ObjectBlobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObjectBlobs")
            .field("objects", &self.objects.to_string())
            .finish_non_exhaustive()
    }
}

/// Why `--blobs` could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ObjectsConfigError {
    #[error(
        "`{0}` is not a blob store address: give a folder, or s3://BUCKET?endpoint=URL&region=NAME \
         (keys from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)"
    )]
    BadUrl(String),
    #[error(
        "no key for the S3 store {0}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (the bucket's access key)"
    )]
    NoKey(String),
    #[error("the S3 store {url} cannot be used: {source}")]
    Store {
        url: String,
        source: object_store::Error,
    },
}

fn io_error(e: impl std::fmt::Display) -> BlobApiError {
    BlobApiError::Io(io::Error::other(e.to_string()))
}

fn store_error(e: StoreError) -> BlobApiError {
    io_error(e)
}

fn objects_error(e: object_store::Error) -> BlobApiError {
    io_error(e)
}

/// Whether an object-store error says the object is not there.
fn absent(e: &object_store::Error) -> bool {
    matches!(e, object_store::Error::NotFound { .. })
}

impl ObjectBlobs {
    /// Blobs in `objects`, upload state in `store`.
    pub fn new(objects: Arc<dyn ObjectStore>, store: Arc<dyn Store>) -> Self {
        Self {
            objects,
            store,
            quota: Quota::default(),
        }
    }

    /// The same store with another quota.
    pub fn with_quota(mut self, quota: Quota) -> Self {
        self.quota = quota;
        self
    }

    /// An S3 bucket: `s3://BUCKET?endpoint=http://host:port&region=NAME`
    /// (`endpoint` for a store other than AWS; `region` defaults to
    /// `us-east-1`), with the key from the environment
    /// (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`). Path-style requests;
    /// plain HTTP only to an endpoint that says `http://`.
    pub fn s3(url: &str, store: Arc<dyn Store>) -> Result<Self, ObjectsConfigError> {
        let bad = || ObjectsConfigError::BadUrl(url.chars().take(200).collect());
        let parsed = url::Url::parse(url).map_err(|_| bad())?;
        if parsed.scheme() != "s3" {
            return Err(bad());
        }
        let bucket = parsed
            .host_str()
            .filter(|b| !b.is_empty())
            .ok_or_else(bad)?;
        // Without a key the client would ask a cloud's instance-metadata
        // address for one and fail with an answer nobody can act on.
        let has = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
        if !has("AWS_ACCESS_KEY_ID") || !has("AWS_SECRET_ACCESS_KEY") {
            return Err(ObjectsConfigError::NoKey(url.chars().take(200).collect()));
        }
        let mut builder = object_store::aws::AmazonS3Builder::from_env()
            .with_bucket_name(bucket)
            .with_virtual_hosted_style_request(false)
            .with_client_options(
                object_store::ClientOptions::new().with_timeout(S3_REQUEST_TIMEOUT),
            )
            .with_retry(object_store::RetryConfig {
                max_retries: S3_RETRIES,
                retry_timeout: S3_RETRY_TIMEOUT,
                ..Default::default()
            });
        let mut region = None;
        for (key, value) in parsed.query_pairs() {
            match &*key {
                "endpoint" => {
                    let endpoint = url::Url::parse(&value).map_err(|_| bad())?;
                    builder = builder
                        .with_allow_http(endpoint.scheme() == "http")
                        .with_endpoint(value.into_owned());
                }
                "region" => region = Some(value.into_owned()),
                _ => return Err(bad()),
            }
        }
        builder = builder.with_region(region.unwrap_or_else(|| "us-east-1".into()));
        // The ring provider serves HTTPS to the store, as it serves the
        // server's own TLS.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let s3 = builder
            .build()
            .map_err(|source| ObjectsConfigError::Store {
                url: url.into(),
                source,
            })?;
        Ok(Self::new(Arc::new(s3), store))
    }

    /// Checks that the store answers (a listing of one key): at start-up, so
    /// that a wrong endpoint or key is said at once, not at the first photo.
    pub async fn check(&self) -> Result<(), object_store::Error> {
        let mut listing = self.objects.list(Some(&ObjectPath::from("blobs")));
        listing.next().await.transpose().map(|_| ())
    }

    fn blob_key(id: &BlobId) -> ObjectPath {
        let hex = id.to_hex();
        ObjectPath::from(format!("blobs/{}/{hex}", &hex[..2]))
    }

    fn parts_prefix(owner: &Owner, id: &BlobId) -> ObjectPath {
        ObjectPath::from(format!("uploads/{}/{}", owner.0, id.to_hex()))
    }

    fn part_key(owner: &Owner, id: &BlobId, offset: u64, length: u64) -> ObjectPath {
        ObjectPath::from(format!(
            "uploads/{}/{}/{offset:020}-{length}",
            owner.0,
            id.to_hex()
        ))
    }

    fn staging_key(owner: &Owner, id: &BlobId) -> ObjectPath {
        let nonce: u64 = rand::random();
        ObjectPath::from(format!("staging/{}/{}.{nonce:016x}", owner.0, id.to_hex()))
    }

    /// Runs a database call off the async threads.
    async fn db<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, BlobApiError> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || f(store.as_ref()))
            .await
            .map_err(io_error)?
            .map_err(store_error)
    }

    /// The length of the complete blob `id`, if it is held.
    pub async fn complete_length(&self, id: &BlobId) -> Result<Option<u64>, BlobApiError> {
        match self.objects.head(&Self::blob_key(id)).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(e) if absent(&e) => Ok(None),
            Err(e) => Err(objects_error(e)),
        }
    }

    /// The complete blob `id`: its length and its bytes as a stream.
    pub async fn open(&self, id: &BlobId) -> Result<Option<(u64, ByteStream)>, BlobApiError> {
        match self.objects.get(&Self::blob_key(id)).await {
            Ok(got) => {
                let length = got.meta.size;
                let stream = got.into_stream().map_err(io::Error::other).boxed();
                Ok(Some((length, stream)))
            }
            Err(e) if absent(&e) => Ok(None),
            Err(e) => Err(objects_error(e)),
        }
    }

    /// `who`'s upload of `id`. An upload whose parts are all counted but
    /// that was not finished (a crash, or an instance that stopped in
    /// between) is finished first.
    pub(super) async fn session(
        &self,
        who: &Uploader,
        id: &BlobId,
    ) -> Result<Session, BlobApiError> {
        let (device, sha) = (who.device.clone(), id.to_hex());
        let Some(upload) = self.db(move |s| s.upload(&device, &sha)).await? else {
            return Ok(Session::Absent);
        };
        self.session_of(who, id, upload).await
    }

    async fn session_of(
        &self,
        who: &Uploader,
        id: &BlobId,
        upload: StoredUpload,
    ) -> Result<Session, BlobApiError> {
        let (offset, length) = (upload.offset(), upload.length);
        if offset < length {
            return Ok(Session::Partial { offset, length });
        }
        match self.finish(who, id, &upload).await {
            Ok(()) => Ok(Session::Finished { length }),
            Err(BlobApiError::HashMismatch { .. }) => Ok(Session::Absent),
            Err(e) => Err(e),
        }
    }

    /// `POST`: starts `who`'s upload of `length` bytes, unless one with that
    /// length is in progress (`resumed` then).
    pub(super) async fn create(
        &self,
        who: &Uploader,
        id: &BlobId,
        length: u64,
    ) -> Result<Created, BlobApiError> {
        let max_open = self.quota.sessions;
        let now = crate::now_ms();
        loop {
            let (device, sha) = (who.device.clone(), id.to_hex());
            let begun = self
                .db(move |s| s.begin_upload(&device, &sha, length, max_open, now))
                .await?;
            match begun {
                BeginUpload::Begun => break,
                BeginUpload::Full(open) => {
                    return Err(BlobApiError::Quota(format!(
                        "this device has {open} uploads in progress, at most {max_open}; finish or wait for them"
                    )));
                }
                BeginUpload::Exists(upload) if upload.length != length => {
                    // The hash fixes the content: at most one length is right.
                    self.discard(who, id).await?;
                }
                BeginUpload::Exists(upload) => {
                    let session = self.session_of(who, id, upload).await?;
                    if session == Session::Absent {
                        // It was finished with wrong bytes and dropped: begin anew.
                        continue;
                    }
                    return Ok(Created {
                        session,
                        resumed: true,
                    });
                }
            }
        }
        let session = if length == 0 {
            self.finish(
                who,
                id,
                &StoredUpload {
                    length: 0,
                    parts: Vec::new(),
                    updated_at: now,
                },
            )
            .await?;
            Session::Finished { length }
        } else {
            Session::Partial { offset: 0, length }
        };
        Ok(Created {
            session,
            resumed: false,
        })
    }

    /// `PATCH`: appends `chunk` at `offset` to `who`'s upload.
    pub(super) async fn append(
        &self,
        who: &Uploader,
        id: &BlobId,
        offset: u64,
        chunk: Bytes,
    ) -> Result<Session, BlobApiError> {
        let (device, sha) = (who.device.clone(), id.to_hex());
        let Some(upload) = self.db(move |s| s.upload(&device, &sha)).await? else {
            return Err(BlobApiError::UploadNotFound(*id));
        };
        let session = self.session_of(who, id, upload.clone()).await?;
        let (current, length) = match accepts(session, id, offset, chunk.len())? {
            Ok(at) => at,
            Err(finished) => return Ok(finished),
        };
        let size = chunk.len() as u64;
        if size == 0 {
            return Ok(Session::Partial {
                offset: current,
                length,
            });
        }
        if upload.parts.len() >= self.quota.chunks_per_upload {
            // Stuck otherwise: it could never take its last bytes.
            self.discard(who, id).await?;
            return Err(BlobApiError::Quota(format!(
                "this upload took {} chunks, the most one may, and was discarded; upload it again in larger chunks (up to {} bytes each)",
                upload.parts.len(),
                super::MAX_CHUNK_BYTES
            )));
        }
        self.charge(&who.device, size).await?;
        let owner = Owner::of(who);
        self.objects
            .put(
                &Self::part_key(&owner, id, current, size),
                PutPayload::from_bytes(chunk),
            )
            .await
            .map_err(objects_error)?;
        fieldloop_core::faults::point("server.objects.part_written");
        let (device, sha, before) = (who.device.clone(), id.to_hex(), upload.parts.len());
        let now = crate::now_ms();
        let counted = self
            .db(move |s| s.add_upload_part(&device, &sha, before, size, now))
            .await?;
        if !counted {
            // Another request took a chunk at this offset first.
            return match self.session(who, id).await? {
                Session::Partial { offset: now_at, .. } => Err(BlobApiError::OffsetMismatch {
                    current: now_at,
                    got: offset,
                }),
                // Finished by the request that took it: this chunk's
                // offset is not the upload's, as for any other mismatch.
                Session::Finished { length } => Err(BlobApiError::OffsetMismatch {
                    current: length,
                    got: offset,
                }),
                Session::Absent => Err(BlobApiError::UploadNotFound(*id)),
            };
        }
        fieldloop_core::faults::point("server.objects.part_counted");
        let new_offset = current + size;
        if new_offset == length {
            let mut upload = upload;
            upload.parts.push(size);
            self.finish(who, id, &upload).await?;
            return Ok(Session::Finished { length });
        }
        Ok(Session::Partial {
            offset: new_offset,
            length,
        })
    }

    /// Assembles a fully received upload, verifies it and puts it in place
    /// (or, when the blob is there already, drops the parts), or drops it if
    /// its bytes are not those of `id`.
    async fn finish(
        &self,
        who: &Uploader,
        id: &BlobId,
        upload: &StoredUpload,
    ) -> Result<(), BlobApiError> {
        let owner = Owner::of(who);
        if self.complete_length(id).await?.is_some() {
            return self.discard(who, id).await;
        }
        let staging = Self::staging_key(&owner, id);
        let assembled = self.assemble(&owner, id, upload, &staging).await;
        let (actual, read) = match assembled {
            Ok(done) => done,
            Err(e) => {
                let _ = self.objects.delete(&staging).await;
                // Another instance finished it meanwhile (and took the parts).
                if self.complete_length(id).await?.is_some() {
                    return Ok(());
                }
                return Err(e);
            }
        };
        if actual != *id || read != upload.length {
            let _ = self.objects.delete(&staging).await;
            self.discard(who, id).await?;
            return Err(BlobApiError::HashMismatch { id: *id, actual });
        }
        fieldloop_core::faults::point("server.objects.staged");
        self.objects
            .copy(&staging, &Self::blob_key(id))
            .await
            .map_err(objects_error)?;
        fieldloop_core::faults::point("server.objects.in_place");
        let _ = self.objects.delete(&staging).await;
        self.discard(who, id).await
    }

    /// Reads the parts in order into `staging`, hashing them; returns the
    /// hash and the number of bytes. A multipart upload that fails midway
    /// is aborted.
    async fn assemble(
        &self,
        owner: &Owner,
        id: &BlobId,
        upload: &StoredUpload,
        staging: &ObjectPath,
    ) -> Result<(BlobId, u64), BlobApiError> {
        let mut sink = match usize::try_from(upload.length) {
            Ok(length) if length <= ASSEMBLY_PART_BYTES => Sink::Memory(Vec::with_capacity(length)),
            _ => {
                let multipart = self
                    .objects
                    .put_multipart(staging)
                    .await
                    .map_err(objects_error)?;
                Sink::Parts(WriteMultipart::new_with_chunk_size(
                    multipart,
                    ASSEMBLY_PART_BYTES,
                ))
            }
        };
        match self.copy_parts(owner, id, upload, &mut sink).await {
            Ok(done) => {
                match sink {
                    Sink::Memory(bytes) => {
                        self.objects
                            .put(staging, PutPayload::from(bytes))
                            .await
                            .map_err(objects_error)?;
                    }
                    Sink::Parts(writer) => {
                        writer.finish().await.map_err(objects_error)?;
                    }
                }
                Ok(done)
            }
            Err(e) => {
                if let Sink::Parts(writer) = sink {
                    let _ = writer.abort().await;
                }
                Err(e)
            }
        }
    }

    /// Streams the parts of an upload, in order, into `sink`, hashing them.
    async fn copy_parts(
        &self,
        owner: &Owner,
        id: &BlobId,
        upload: &StoredUpload,
        sink: &mut Sink,
    ) -> Result<(BlobId, u64), BlobApiError> {
        let mut hasher = Sha256::new();
        let mut read = 0u64;
        let mut offset = 0u64;
        for &part in &upload.parts {
            let mut stream = self
                .objects
                .get(&Self::part_key(owner, id, offset, part))
                .await
                .map_err(objects_error)?
                .into_stream();
            while let Some(bytes) = stream.next().await {
                let bytes = bytes.map_err(objects_error)?;
                hasher.update(&bytes);
                read += bytes.len() as u64;
                match sink {
                    Sink::Memory(all) => all.extend_from_slice(&bytes),
                    Sink::Parts(writer) => {
                        // Parts go out as they fill, at most two in flight.
                        writer.wait_for_capacity(2).await.map_err(objects_error)?;
                        writer.put(bytes);
                    }
                }
            }
            offset += part;
        }
        Ok((BlobId::from_digest(hasher.finalize().into()), read))
    }

    /// Deletes an upload: its parts, then its row.
    async fn discard(&self, who: &Uploader, id: &BlobId) -> Result<(), BlobApiError> {
        self.delete_parts(&Owner::of(who), id).await?;
        let (device, sha) = (who.device.clone(), id.to_hex());
        self.db(move |s| s.end_upload(&device, &sha)).await
    }

    async fn delete_parts(&self, owner: &Owner, id: &BlobId) -> Result<(), BlobApiError> {
        let prefix = Self::parts_prefix(owner, id);
        let keys: Vec<ObjectPath> = self
            .objects
            .list(Some(&prefix))
            .map_ok(|meta| meta.location)
            .try_collect()
            .await
            .map_err(objects_error)?;
        for key in keys {
            match self.objects.delete(&key).await {
                Err(e) if !absent(&e) => return Err(objects_error(e)),
                _ => {}
            }
        }
        Ok(())
    }

    /// Deletes uploads nobody touched for `older_than`, their parts first;
    /// returns how many went.
    /// Counts `bytes` against `device`'s daily quota in the database, so
    /// that every instance counts against one total; refused past it.
    async fn charge(&self, device: &str, bytes: u64) -> Result<(), BlobApiError> {
        let (device, day, per_day) = (device.to_owned(), utc_day(), self.quota.bytes_per_day);
        match self
            .db(move |s| s.charge_bytes(&device, day, bytes, per_day))
            .await?
        {
            Charge::Taken(_) => Ok(()),
            Charge::Over(sent) => Err(super::quota::over_quota(sent, per_day)),
        }
    }

    pub async fn reclaim_stale(
        &self,
        older_than: std::time::Duration,
    ) -> Result<usize, BlobApiError> {
        let before = crate::now_ms()
            .saturating_sub(i64::try_from(older_than.as_millis()).unwrap_or(i64::MAX));
        let stale = self
            .db(move |s| s.stale_uploads(before, RECLAIM_BATCH))
            .await?;
        // Yesterday's counts stay for uploads that cross midnight's sweep.
        let yesterday = utc_day() - 1;
        self.db(move |s| s.forget_bytes_before(yesterday)).await?;
        let mut removed = 0;
        for (device, sha) in stale {
            let Ok(id) = BlobId::parse(&sha) else {
                continue;
            };
            let who = Uploader {
                device,
                team: String::new(),
            };
            self.discard(&who, &id).await?;
            removed += 1;
        }
        Ok(removed)
    }
}
