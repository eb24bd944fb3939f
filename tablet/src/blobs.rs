//! Content-addressed blob store on the tablet's disk.
//!
//! Photos, signatures and other evidence bytes never live inside a task
//! document: the document holds their SHA-256 and the bytes live here, one
//! file per blob, named by that hash (`dir/ab/abcdef…`). A blob is written to a
//! temporary file in the store, fsynced, renamed into place (atomic) and the
//! directory fsynced, so a crash at any point leaves either the whole blob or
//! nothing under its name. Reads re-hash the bytes, so on-disk corruption is
//! reported instead of being passed on as evidence.
//!
//! [`BlobId`] is the only way to name a blob, and it can only hold 64
//! lowercase hex digits: no text that came from outside ever becomes part of
//! a path.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use fieldloop_core::{ErrorCode, faults};
use sha2::{Digest, Sha256};

/// Name of the folder inside the store that holds files being written.
const TMP_DIR: &str = "tmp";
/// The evidence folder in a tablet's data folder.
pub const BLOB_DIR: &str = "blobs";
/// Prefix of every temporary file, so a sweep only removes our own files.
const TMP_PREFIX: &str = ".blob-";
/// Read buffer for streaming puts and verification.
const CHUNK: usize = 256 * 1024;

/// What can go wrong with the blob store.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// The text is not a blob id (64 lowercase hex digits).
    #[error(
        "`{input}` is not a blob id: expected 64 lowercase hexadecimal digits (a SHA-256), {reason}"
    )]
    BadId {
        /// The rejected text, shortened to at most 80 characters.
        input: String,
        /// Why it was rejected.
        reason: &'static str,
    },
    /// The blob is not in the store.
    #[error("blob {0} is not on this tablet; sync again to fetch it")]
    NotFound(BlobId),
    /// The bytes on disk no longer hash to the blob's id.
    #[error(
        "blob {id} is damaged on disk (its content hashes to {actual}); \
         delete it and sync again to fetch an intact copy"
    )]
    Corrupt {
        /// The blob that was read.
        id: BlobId,
        /// What the bytes on disk hash to.
        actual: BlobId,
    },
    /// The file system refused an operation.
    #[error("could not {action} {}: {source}; check free space and permissions", path.display())]
    Io {
        /// What the store was doing.
        action: &'static str,
        /// The file or folder concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
}

impl BlobError {
    /// Stable machine code of the error, for the UI and the logs.
    pub fn code(&self) -> ErrorCode {
        match self {
            BlobError::BadId { .. } => ErrorCode::BlobBadId,
            BlobError::NotFound(_) => ErrorCode::BlobNotFound,
            BlobError::Corrupt { .. } => ErrorCode::BlobCorrupt,
            BlobError::Io { .. } => ErrorCode::BlobIo,
        }
    }
}

fn io_err<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> BlobError + 'a {
    move |source| BlobError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

pub use fieldloop_core::blob::{BadBlobId, BlobId};

impl From<BadBlobId> for BlobError {
    fn from(e: BadBlobId) -> Self {
        BlobError::BadId {
            input: e.input,
            reason: e.reason,
        }
    }
}

/// What an encrypted blob file begins with; a file without it is a plain
/// blob written before evidence was encrypted, read as it is.
const SEALED_MAGIC: &[u8; 4] = b"FLE1";
/// XChaCha20-Poly1305's nonce and tag.
const NONCE_BYTES: usize = 24;
const TAG_BYTES: usize = 16;
/// Bytes an encrypted file has beyond its blob.
const SEALED_OVERHEAD: u64 = (SEALED_MAGIC.len() + NONCE_BYTES + TAG_BYTES) as u64;

/// The evidence cipher: XChaCha20-Poly1305, a random nonce per file, the
/// blob id as associated data (a file moved to another blob's place does
/// not open).
#[derive(Clone)]
struct Sealer(std::sync::Arc<chacha20poly1305::XChaCha20Poly1305>);

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(XChaCha20-Poly1305)")
    }
}

impl Sealer {
    fn new(key: &crate::keystore::DataKey) -> Self {
        use chacha20poly1305::KeyInit as _;
        let key = key.derive("evidence");
        Self(std::sync::Arc::new(
            chacha20poly1305::XChaCha20Poly1305::new((&key).into()),
        ))
    }

    fn seal(&self, id: &BlobId, plain: &[u8]) -> Vec<u8> {
        use chacha20poly1305::aead::{Aead as _, AeadCore as _, OsRng, Payload};
        let nonce = chacha20poly1305::XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let aad = id.to_string();
        // Encryption of a slice in memory cannot fail.
        let sealed = self
            .0
            .encrypt(
                &nonce,
                Payload {
                    msg: plain,
                    aad: aad.as_bytes(),
                },
            )
            .unwrap_or_default();
        let mut out = Vec::with_capacity(plain.len() + SEALED_OVERHEAD as usize);
        out.extend_from_slice(SEALED_MAGIC);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    /// The blob in a sealed file, `None` if it does not open with this key
    /// (damaged, another tablet's, or moved from another blob's place).
    fn open(&self, id: &BlobId, file: &[u8]) -> Option<Vec<u8>> {
        use chacha20poly1305::aead::{Aead as _, Payload};
        let rest = file.strip_prefix(SEALED_MAGIC)?;
        if rest.len() < NONCE_BYTES + TAG_BYTES {
            return None;
        }
        let (nonce, sealed) = rest.split_at(NONCE_BYTES);
        let aad = id.to_string();
        self.0
            .decrypt(
                chacha20poly1305::XNonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: aad.as_bytes(),
                },
            )
            .ok()
    }
}

/// A folder of blobs named by their SHA-256 (of the plain bytes), each
/// file encrypted when the store has a key.
#[derive(Debug, Clone)]
pub struct BlobStore {
    root: PathBuf,
    sealer: Option<Sealer>,
}

impl BlobStore {
    /// Opens the store in `dir`, creating the folder if needed, without
    /// encryption (the server's copies, tests of the folder's mechanics).
    pub fn open(dir: impl AsRef<Path>) -> Result<BlobStore, BlobError> {
        let root = dir.as_ref().to_path_buf();
        let tmp = root.join(TMP_DIR);
        fs::create_dir_all(&tmp).map_err(io_err("create the blob folder", &tmp))?;
        Ok(BlobStore { root, sealer: None })
    }

    /// The evidence of the tablet whose data folder is `data_dir`: its
    /// `blobs/` folder, each file encrypted with the folder's key.
    pub fn open_for(data_dir: &Path) -> Result<BlobStore, BlobError> {
        let key = crate::keystore::key_for(data_dir).map_err(|e| BlobError::Io {
            action: "read the key of",
            path: data_dir.to_owned(),
            source: io::Error::other(e.to_string()),
        })?;
        Self::open_with_key(data_dir.join(BLOB_DIR), &key)
    }

    /// The store in `dir`, each file encrypted with `key`.
    pub fn open_with_key(
        dir: impl AsRef<Path>,
        key: &crate::keystore::DataKey,
    ) -> Result<BlobStore, BlobError> {
        let mut store = Self::open(dir)?;
        store.sealer = Some(Sealer::new(key));
        Ok(store)
    }

    /// The length of the file of a blob of `len` bytes.
    fn file_len(&self, len: u64) -> u64 {
        if self.sealer.is_some() {
            len + SEALED_OVERHEAD
        } else {
            len
        }
    }

    /// The store's folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the blob `id` lives (whether or not it is there).
    pub fn path_of(&self, id: &BlobId) -> PathBuf {
        self.root.join(id.relative_path())
    }

    /// Whether the blob `id` is in the store.
    pub fn contains(&self, id: &BlobId) -> bool {
        self.path_of(id).is_file()
    }

    /// Stores `bytes` and returns their id. Storing bytes that are already
    /// there writes nothing.
    pub fn put(&self, bytes: &[u8]) -> Result<BlobId, BlobError> {
        let id = BlobId::of(bytes);
        if self.is_intact_size(&id, bytes.len() as u64) {
            return Ok(id);
        }
        let mut tmp = self.temp_file()?;
        let sealed;
        let on_disk = match &self.sealer {
            Some(sealer) => {
                sealed = sealer.seal(&id, bytes);
                &sealed[..]
            }
            None => bytes,
        };
        tmp.as_file_mut()
            .write_all(on_disk)
            .map_err(io_err("write", tmp.path()))?;
        self.commit(tmp, &id)?;
        Ok(id)
    }

    /// Stores everything `reader` yields, hashing while writing, so a large
    /// file never has to be in memory at once.
    pub fn put_reader(&self, mut reader: impl Read) -> Result<BlobId, BlobError> {
        if self.sealer.is_some() {
            // One AEAD message per file: sealed whole, in memory.
            let mut bytes = Vec::new();
            reader
                .read_to_end(&mut bytes)
                .map_err(io_err("read the input for", &self.root))?;
            return self.put(&bytes);
        }
        let mut tmp = self.temp_file()?;
        let mut hasher = Sha256::new();
        let mut len = 0u64;
        let mut buf = vec![0u8; CHUNK];
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(io_err("read the input for", tmp.path())(e)),
            };
            hasher.update(&buf[..n]);
            tmp.as_file_mut()
                .write_all(&buf[..n])
                .map_err(io_err("write", tmp.path()))?;
            len += n as u64;
        }
        let id = BlobId::from_digest(hasher.finalize().into());
        if self.is_intact_size(&id, len) {
            // Already stored: the temporary file is dropped and removed.
            return Ok(id);
        }
        self.commit(tmp, &id)?;
        Ok(id)
    }

    /// Stores the file at `path` (streamed, see [`BlobStore::put_reader`]).
    pub fn put_file(&self, path: impl AsRef<Path>) -> Result<BlobId, BlobError> {
        let path = path.as_ref();
        let file = File::open(path).map_err(io_err("open", path))?;
        self.put_reader(io::BufReader::with_capacity(CHUNK, file))
    }

    /// Reads the blob `id`, checking that its bytes still hash to `id`.
    pub fn get(&self, id: &BlobId) -> Result<Vec<u8>, BlobError> {
        let path = self.path_of(id);
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(BlobError::NotFound(*id)),
            Err(e) => return Err(io_err("read", &path)(e)),
        };
        let bytes = match &self.sealer {
            Some(sealer) if bytes.starts_with(SEALED_MAGIC) => {
                sealer.open(id, &bytes).ok_or(BlobError::Corrupt {
                    id: *id,
                    actual: BlobId::of(&bytes),
                })?
            }
            _ => bytes,
        };
        let actual = BlobId::of(&bytes);
        if actual != *id {
            return Err(BlobError::Corrupt { id: *id, actual });
        }
        Ok(bytes)
    }

    /// Checks that the blob `id` is present and intact without holding it
    /// in memory (for large files, before an upload).
    pub fn verify(&self, id: &BlobId) -> Result<u64, BlobError> {
        if self.sealer.is_some() {
            return self.get(id).map(|bytes| bytes.len() as u64);
        }
        let path = self.path_of(id);
        let mut file = match File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(BlobError::NotFound(*id)),
            Err(e) => return Err(io_err("open", &path)(e)),
        };
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; CHUNK];
        let mut len = 0u64;
        loop {
            let n = match file.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(io_err("read", &path)(e)),
            };
            hasher.update(&buf[..n]);
            len += n as u64;
        }
        let actual = BlobId::from_digest(hasher.finalize().into());
        if actual != *id {
            return Err(BlobError::Corrupt { id: *id, actual });
        }
        Ok(len)
    }

    /// Removes temporary files left by puts that were interrupted (a crash or
    /// a killed app). Call it when no put is running, e.g. at start-up.
    /// Returns how many files were removed.
    pub fn remove_stale_temp_files(&self) -> Result<usize, BlobError> {
        let tmp = self.root.join(TMP_DIR);
        let entries = fs::read_dir(&tmp).map_err(io_err("list", &tmp))?;
        let mut removed = 0;
        for entry in entries {
            let entry = entry.map_err(io_err("list", &tmp))?;
            if entry.file_name().to_string_lossy().starts_with(TMP_PREFIX) {
                let path = entry.path();
                fs::remove_file(&path).map_err(io_err("remove", &path))?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Whether a file of the expected length is already at the blob's place.
    /// Renames are atomic, so a file there is complete; the length check
    /// catches a file damaged by truncation, which a new put then repairs.
    fn is_intact_size(&self, id: &BlobId, len: u64) -> bool {
        let expected = self.file_len(len);
        fs::metadata(self.path_of(id)).is_ok_and(|m| m.is_file() && m.len() == expected)
    }

    fn temp_file(&self) -> Result<tempfile::NamedTempFile, BlobError> {
        let tmp = self.root.join(TMP_DIR);
        tempfile::Builder::new()
            .prefix(TMP_PREFIX)
            .tempfile_in(&tmp)
            .map_err(io_err("create a temporary file in", &tmp))
    }

    /// Makes the temporary file durable and moves it to the blob's place.
    fn commit(&self, tmp: tempfile::NamedTempFile, id: &BlobId) -> Result<(), BlobError> {
        // Written, not yet on disk for sure.
        faults::point("tablet.blob.temp_written");
        tmp.as_file()
            .sync_all()
            .map_err(io_err("flush to disk", tmp.path()))?;
        faults::point("tablet.blob.temp_synced");
        let dest = self.path_of(id);
        let shard = dest.parent().unwrap_or(&self.root).to_path_buf();
        let shard_is_new = !shard.is_dir();
        if shard_is_new {
            fs::create_dir_all(&shard).map_err(io_err("create the folder", &shard))?;
        }
        tmp.persist(&dest).map_err(|e| BlobError::Io {
            action: "move a finished blob into",
            path: dest.clone(),
            source: e.error,
        })?;
        // In place, the folder's new entry not yet on disk for sure.
        faults::point("tablet.blob.renamed");
        sync_dir(&shard)?;
        if shard_is_new {
            sync_dir(&self.root)?;
        }
        faults::point("tablet.blob.dir_synced");
        Ok(())
    }
}

/// Makes a rename or a new entry in `dir` durable.
#[cfg(unix)]
fn sync_dir(dir: &Path) -> Result<(), BlobError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err("flush the folder", dir))
}

/// Other systems do not let a folder be opened as a file; their renames are
/// journaled by the file system.
#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> Result<(), BlobError> {
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn store() -> (tempfile::TempDir, BlobStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path().join("blobs")).unwrap();
        (dir, store)
    }

    fn temp_files(store: &BlobStore) -> Vec<PathBuf> {
        fs::read_dir(store.root().join(TMP_DIR))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect()
    }

    #[test]
    fn round_trip() {
        let (_dir, store) = store();
        let id = store.put(b"hello evidence").unwrap();
        assert_eq!(id, BlobId::of(b"hello evidence"));
        assert!(store.contains(&id));
        assert_eq!(store.get(&id).unwrap(), b"hello evidence");
        assert_eq!(store.verify(&id).unwrap(), 14);
    }

    #[test]
    fn known_digest_and_layout() {
        let (_dir, store) = store();
        let id = store.put(b"abc").unwrap();
        let hex = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert_eq!(id.to_string(), hex);
        assert_eq!(id.to_hex(), hex);
        assert_eq!(store.path_of(&id), store.root().join("ba").join(hex));
        assert!(store.path_of(&id).is_file());
    }

    #[test]
    fn empty_blob() {
        let (_dir, store) = store();
        let id = store.put(b"").unwrap();
        assert_eq!(store.get(&id).unwrap(), b"");
    }

    #[test]
    fn put_is_idempotent() {
        let (_dir, store) = store();
        let a = store.put(b"same bytes").unwrap();
        let mtime = fs::metadata(store.path_of(&a)).unwrap().modified().unwrap();
        let b = store.put(b"same bytes").unwrap();
        let c = store.put_reader(&b"same bytes"[..]).unwrap();
        assert_eq!(a, b);
        assert_eq!(a, c);
        assert_eq!(
            fs::metadata(store.path_of(&a)).unwrap().modified().unwrap(),
            mtime,
            "an existing blob is not rewritten"
        );
        let shard = store.path_of(&a).parent().unwrap().to_path_buf();
        assert_eq!(fs::read_dir(shard).unwrap().count(), 1);
        assert!(temp_files(&store).is_empty());
    }

    #[test]
    fn streaming_put_matches_put() {
        let (dir, store) = store();
        let data: Vec<u8> = (0..(3 * CHUNK + 17))
            .map(|i| (i * 31 % 251) as u8)
            .collect();
        let src = dir.path().join("big.bin");
        fs::write(&src, &data).unwrap();
        let id = store.put_file(&src).unwrap();
        assert_eq!(id, BlobId::of(&data));
        assert_eq!(store.get(&id).unwrap(), data);
        assert!(temp_files(&store).is_empty());
    }

    #[test]
    fn no_temp_files_left_after_put() {
        let (_dir, store) = store();
        for i in 0..20u8 {
            store.put(&[i; 100]).unwrap();
        }
        assert!(temp_files(&store).is_empty());
        // Only the tmp folder and shard folders of 2 hex digits, each holding
        // only 64-digit blob names.
        for entry in fs::read_dir(store.root()).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name().into_string().unwrap();
            if name == TMP_DIR {
                continue;
            }
            assert_eq!(name.len(), 2, "{name}");
            for blob in fs::read_dir(entry.path()).unwrap() {
                let blob = blob.unwrap().file_name().into_string().unwrap();
                assert!(BlobId::parse(&blob).is_ok(), "{blob}");
                assert!(blob.starts_with(&name));
            }
        }
    }

    #[test]
    fn stale_temp_files_are_swept() {
        let (_dir, store) = store();
        let leftover = store
            .root()
            .join(TMP_DIR)
            .join(format!("{TMP_PREFIX}crash"));
        fs::write(&leftover, b"half a photo").unwrap();
        let foreign = store.root().join(TMP_DIR).join("not-ours");
        fs::write(&foreign, b"x").unwrap();
        assert_eq!(store.remove_stale_temp_files().unwrap(), 1);
        assert!(!leftover.exists());
        assert!(foreign.exists());
    }

    #[test]
    fn missing_blob_is_not_found() {
        let (_dir, store) = store();
        let id = BlobId::of(b"never stored");
        assert!(!store.contains(&id));
        let err = store.get(&id).unwrap_err();
        assert_eq!(err.code(), "blob.not_found");
        assert_eq!(store.verify(&id).unwrap_err().code(), "blob.not_found");
    }

    #[test]
    fn corruption_is_detected() {
        let (_dir, store) = store();
        let id = store.put(b"the original evidence").unwrap();
        let path = store.path_of(&id);
        let mut bytes = fs::read(&path).unwrap();
        bytes[3] ^= 0x01;
        fs::write(&path, &bytes).unwrap();

        let err = store.get(&id).unwrap_err();
        assert_eq!(err.code(), "blob.corrupt");
        match err {
            BlobError::Corrupt { id: got, actual } => {
                assert_eq!(got, id);
                assert_eq!(actual, BlobId::of(&bytes));
            }
            other => panic!("expected Corrupt, got {other:?}"),
        }
        assert_eq!(store.verify(&id).unwrap_err().code(), "blob.corrupt");
        assert!(err_message_is_actionable(&store.get(&id).unwrap_err()));
    }

    fn err_message_is_actionable(err: &BlobError) -> bool {
        err.to_string().contains("sync again")
    }

    #[test]
    fn truncated_blob_is_repaired_by_put() {
        let (_dir, store) = store();
        let id = store.put(b"0123456789").unwrap();
        fs::write(store.path_of(&id), b"01234").unwrap();
        assert_eq!(store.get(&id).unwrap_err().code(), "blob.corrupt");
        store.put(b"0123456789").unwrap();
        assert_eq!(store.get(&id).unwrap(), b"0123456789");
    }

    #[test]
    fn bad_ids_are_rejected() {
        let good = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert!(BlobId::parse(good).is_ok());
        let cases = [
            "../x".to_string(),
            "../../etc/passwd".to_string(),
            String::new(),
            good[..63].to_string(),
            format!("{good}0"),
            good.to_uppercase(),
            format!("{}A", &good[..63]),
            format!("{}g", &good[..63]),
            format!("{}/", &good[..63]),
            format!("ba/{}", &good[..61]),
            format!("{} ", &good[..63]),
            // 64 bytes, but not 64 characters.
            format!("{}é", &good[..62]),
        ];
        for case in cases {
            let err = BlobId::parse(&case).unwrap_err();
            assert_eq!(err.code(), "blob.bad_id", "{case:?}");
            assert!(case.parse::<BlobId>().is_err());
        }
    }

    #[test]
    fn serde_uses_the_text_form() {
        let id = BlobId::of(b"abc");
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{id}\""));
        assert_eq!(serde_json::from_str::<BlobId>(&json).unwrap(), id);
        assert!(serde_json::from_str::<BlobId>("\"../x\"").is_err());
    }

    #[test]
    fn error_codes_are_stable() {
        let io = BlobError::Io {
            action: "write",
            path: PathBuf::from("/x"),
            source: io::Error::other("disk full"),
        };
        assert_eq!(io.code(), "blob.io");
        assert!(io.to_string().contains("free space"));
    }
}
