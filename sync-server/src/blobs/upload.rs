//! Uploads in progress: each device's session of a blob, created, appended
//! to, verified and moved into place, or discarded.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};

use fieldloop_core::faults;
use sha2::{Digest, Sha256};

use super::disk::{file_len, remove_if_present, sync_dir, write_durably};
use super::{BlobApiError, BlobDir, BlobId, Uploader, parse_decimal};

/// Read buffer for hashing.
const HASH_BUF: usize = 256 * 1024;

/// The folder name of a device's uploads: its id where that is plain
/// letters, digits and `-` (as the server makes them), else its hex.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Owner(pub(super) String);

impl Owner {
    pub(super) fn of(who: &Uploader) -> Self {
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

/// A device's upload of one blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Session {
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
pub(super) struct Created {
    pub(super) session: Session,
    /// An upload with this length was already in progress (or done).
    pub(super) resumed: bool,
}

/// Whether an upload in `session` takes a chunk of `size` bytes at
/// `offset`: `Ok(Ok((current, length)))` if so, `Ok(Err(finished))` when
/// the upload is whole already, or why not.
#[allow(clippy::type_complexity)]
pub(super) fn accepts(
    session: Session,
    id: &BlobId,
    offset: u64,
    size: usize,
) -> Result<Result<(u64, u64), Session>, BlobApiError> {
    let (current, length) = match session {
        Session::Absent => return Err(BlobApiError::UploadNotFound(*id)),
        finished @ Session::Finished { .. } => return Ok(Err(finished)),
        Session::Partial { offset, length } => (offset, length),
    };
    if offset != current {
        return Err(BlobApiError::OffsetMismatch {
            current,
            got: offset,
        });
    }
    let size = size as u64;
    if current.saturating_add(size) > length {
        return Err(BlobApiError::BeyondLength {
            offset,
            chunk: size,
            length,
        });
    }
    Ok(Ok((current, length)))
}

impl BlobDir {
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

    /// `owner`'s upload of `id`. An upload whose bytes are all there but
    /// that was not finished (a crash between the last append and the
    /// rename) is finished first. Call with the blob's lock held.
    pub(super) fn session(&self, owner: &Owner, id: &BlobId) -> Result<Session, BlobApiError> {
        let Some(length) = self.declared_length(owner, id)? else {
            return Ok(Session::Absent);
        };
        let on_disk = file_len(&self.partial_path(owner, id))?.unwrap_or(0);
        // After a power cut the file can be longer than what reached the
        // disk (its size moved, its data did not): only the bytes recorded
        // as synced count, and the next chunk overwrites the rest. An upload
        // begun before offsets were recorded trusts its file's length.
        let offset = match self.synced_offset(owner, id)? {
            Some(synced) => synced.min(on_disk),
            None => on_disk,
        };
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

    /// How many bytes of the upload were fsynced, as last recorded; `None`
    /// when nothing is recorded.
    fn synced_offset(&self, owner: &Owner, id: &BlobId) -> io::Result<Option<u64>> {
        match fs::read(self.offset_path(owner, id)) {
            Ok(bytes) => Ok(<[u8; 8]>::try_from(bytes.as_slice())
                .ok()
                .map(u64::from_be_bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Records that `offset` bytes of the upload are on disk: 8 bytes
    /// rewritten in place (within one sector, so a power cut leaves the old
    /// value or the new one) and fsynced.
    pub(super) fn record_offset(&self, owner: &Owner, id: &BlobId, offset: u64) -> io::Result<()> {
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(self.offset_path(owner, id))?;
        file.write_all(&offset.to_be_bytes())?;
        file.sync_data()
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
    pub(super) fn create(
        &self,
        owner: &Owner,
        id: &BlobId,
        length: u64,
    ) -> Result<Created, BlobApiError> {
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
        self.record_offset(owner, id, 0)?;
        // The files durable, the length not yet under its name.
        faults::point("server.upload.length_synced");
        fs::rename(&tmp, self.length_path(owner, id))?;
        sync_dir(&dir)?;
        faults::point("server.upload.created");
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
    pub(super) fn append(
        &self,
        owner: &Owner,
        id: &BlobId,
        offset: u64,
        chunk: &[u8],
    ) -> Result<Session, BlobApiError> {
        let (current, length) = match accepts(self.session(owner, id)?, id, offset, chunk.len())? {
            Ok(at) => at,
            Err(finished) => return Ok(finished),
        };
        let size = chunk.len() as u64;
        self.charge(owner, size)?;
        let path = self.partial_path(owner, id);
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)?;
        // Bytes past the synced offset (a power cut's leftovers) go.
        if file.metadata()?.len() != current {
            file.set_len(current)?;
        }
        file.seek(SeekFrom::Start(current))?;
        file.write_all(chunk)?;
        faults::point("server.upload.chunk_written");
        file.sync_data()?;
        // On disk, not yet recorded as such: a crash here re-sends this chunk.
        faults::point("server.upload.chunk_synced");
        drop(file);
        let new_offset = current + size;
        self.record_offset(owner, id, new_offset)?;
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
        // Verified and durable, still under partial/.
        faults::point("server.upload.verified");
        let shard = dest.parent().unwrap_or(&self.root).to_path_buf();
        let shard_is_new = !shard.is_dir();
        if shard_is_new {
            fs::create_dir_all(&shard)?;
        }
        fs::rename(&path, &dest)?;
        // In place, the folder's new entry not yet on disk for sure.
        faults::point("server.upload.renamed");
        sync_dir(&shard)?;
        if shard_is_new {
            sync_dir(&self.root)?;
        }
        faults::point("server.upload.dir_synced");
        remove_if_present(&self.length_path(owner, id))?;
        remove_if_present(&self.offset_path(owner, id))?;
        sync_dir(&self.sessions(owner))?;
        faults::point("server.upload.finished");
        Ok(())
    }

    /// Deletes an upload in progress.
    fn discard(&self, owner: &Owner, id: &BlobId) -> io::Result<()> {
        remove_if_present(&self.length_path(owner, id))?;
        remove_if_present(&self.offset_path(owner, id))?;
        remove_if_present(&self.partial_path(owner, id))?;
        sync_dir(&self.sessions(owner))
    }
}
