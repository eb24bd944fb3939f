//! The key that encrypts a tablet's data at rest: 32 random bytes made on
//! first use, kept in the platform's keystore (Secret Service on Linux,
//! Credential Manager on Windows, Keychain on macOS and iOS), never in the
//! data folder. The store (SQLCipher) and the evidence files (per file
//! XChaCha20-Poly1305) use keys derived from it.
//!
//! Where there is no keystore (no desktop session, as on CI machines and
//! servers; Android until its Keystore is wired in), the key is kept in a
//! file beside the data folder, readable by its owner only, and that is
//! said on standard error once per folder. `FIELDLOOP_KEY_DIR` names
//! another folder for such files.
//!
//! Erasing the key ([`forget`]) makes a copy of the data unreadable.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use sha2::{Digest, Sha256};

/// Overrides where key files are kept when there is no keystore.
pub const KEY_DIR_ENV: &str = "FIELDLOOP_KEY_DIR";
/// The keystore's service name.
const SERVICE: &str = "fieldloop-tablet";

/// A data folder's key.
#[derive(Clone, PartialEq, Eq)]
pub struct DataKey([u8; 32]);

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(…)")
    }
}

impl DataKey {
    pub fn random() -> Self {
        Self(rand::random())
    }

    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The key for `purpose` (the store, the evidence), derived so that no
    /// two uses share a key.
    pub fn derive(&self, purpose: &str) -> [u8; 32] {
        let mut hash = Sha256::new();
        hash.update(b"fieldloop data key v1\0");
        hash.update(purpose.as_bytes());
        hash.update([0]);
        hash.update(self.0);
        hash.finalize().into()
    }

    fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    fn from_hex(text: &str) -> Option<Self> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(text.trim(), &mut bytes).ok()?;
        Some(Self(bytes))
    }
}

/// Where a key is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyHome {
    /// The platform's keystore, under this account name.
    Keystore(String),
    /// A file, for want of a keystore.
    File(PathBuf),
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(
        "本机密钥无法读取或保存：{0}（请检查存储空间和权限）(the data key cannot be read or kept)"
    )]
    Io(String),
    #[error("本机密钥已损坏：{0} (the data key is damaged)")]
    Damaged(String),
    /// The folder holds encrypted data but its key is nowhere to be found
    /// (the keystore that holds it cannot be reached now): no new key is
    /// made, which would lock that data away.
    #[error(
        "找不到本机数据的密钥（系统钥匙串不可用？）：{0}。请在登录后的桌面会话中重新打开应用 (the key of this tablet's data cannot be found; open the app again in a signed-in desktop session)"
    )]
    Missing(String),
}

/// The account name of a data folder in the keystore: a hash of its path.
fn account(data_dir: &Path) -> String {
    let path = data_dir
        .canonicalize()
        .unwrap_or_else(|_| data_dir.to_owned());
    let digest = Sha256::digest(path.to_string_lossy().as_bytes());
    format!("data-{}", &hex::encode(digest)[..24])
}

/// The key file of a data folder, when there is no keystore: beside the
/// folder (never in it), or in `FIELDLOOP_KEY_DIR`.
fn key_file(data_dir: &Path) -> PathBuf {
    let name = format!(".{}.key", account(data_dir));
    match std::env::var_os(KEY_DIR_ENV).filter(|d| !d.is_empty()) {
        Some(dir) => PathBuf::from(dir).join(name),
        None => data_dir
            .parent()
            .map_or_else(|| PathBuf::from(&name), |p| p.join(&name)),
    }
}

/// Keys already found, by data folder: the keystore is asked once.
fn cache() -> &'static Mutex<HashMap<PathBuf, DataKey>> {
    static CACHE: OnceLock<Mutex<HashMap<PathBuf, DataKey>>> = OnceLock::new();
    CACHE.get_or_init(Mutex::default)
}

/// The key of `data_dir`, made and kept on first use.
pub fn key_for(data_dir: &Path) -> Result<DataKey, KeyError> {
    let mut cache = cache()
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(key) = cache.get(data_dir) {
        return Ok(key.clone());
    }
    // A key file, once made, stays the key: a keystore that appears later
    // must not replace it.
    let file = key_file(data_dir);
    let key = if file.exists() {
        file_key(data_dir)?
    } else {
        match platform::get_or_create(&account(data_dir), holds_encrypted_data(data_dir)) {
            Some(key) => key?,
            None if holds_encrypted_data(data_dir) => {
                return Err(KeyError::Missing(data_dir.display().to_string()));
            }
            None => file_key(data_dir)?,
        }
    };
    cache.insert(data_dir.to_owned(), key.clone());
    Ok(key)
}

/// Where the key of `data_dir` is kept (or would be).
pub fn home_of(data_dir: &Path) -> KeyHome {
    if platform::available() {
        KeyHome::Keystore(account(data_dir))
    } else {
        KeyHome::File(key_file(data_dir))
    }
}

/// Erases the key of `data_dir`: what was encrypted with it cannot be read
/// any more.
pub fn forget(data_dir: &Path) -> Result<(), KeyError> {
    cache()
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .remove(data_dir);
    platform::delete(&account(data_dir));
    let file = key_file(data_dir);
    match std::fs::remove_file(&file) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(KeyError::Io(format!("{}: {e}", file.display()))),
    }
}

/// Whether `data_dir` holds a store that is not plain SQLite (so: one
/// encrypted with a key made earlier).
fn holds_encrypted_data(data_dir: &Path) -> bool {
    use std::io::Read as _;
    let mut header = [0u8; 16];
    match std::fs::File::open(data_dir.join(crate::store::DB_FILE)) {
        Ok(mut file) => file.read_exact(&mut header).is_ok() && &header != b"SQLite format 3\0",
        Err(_) => false,
    }
}

fn file_key(data_dir: &Path) -> Result<DataKey, KeyError> {
    let file = key_file(data_dir);
    let io = |e: std::io::Error| KeyError::Io(format!("{}: {e}", file.display()));
    match std::fs::read_to_string(&file) {
        Ok(text) => {
            return DataKey::from_hex(&text)
                .ok_or_else(|| KeyError::Damaged(file.display().to_string()));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(e)),
    }
    eprintln!(
        "fieldloop: no platform keystore here; the key of {} is kept in {} (outside the data folder, readable by this user only)",
        data_dir.display(),
        file.display()
    );
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let key = DataKey::random();
    write_private(&file, key.to_hex().as_bytes()).map_err(io)?;
    Ok(key)
}

/// Writes a new file readable by its owner only, durably; an existing one
/// is kept (another process made the key first) and read back by the caller.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(any(
    target_os = "linux",
    target_os = "windows",
    target_os = "macos",
    target_os = "ios"
))]
mod platform {
    use super::{DataKey, KeyError, SERVICE};

    /// Whether a keystore can be asked. On Linux the Secret Service is on
    /// the session bus; without one (a console, CI) it is not tried, so that
    /// no bus is launched on the side.
    pub fn available() -> bool {
        !cfg!(target_os = "linux") || std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some()
    }

    /// The key kept under `account`, made if there is none (unless
    /// `must_exist`: the folder's data was encrypted with a key made
    /// earlier); `None` when the keystore cannot be used.
    pub fn get_or_create(account: &str, must_exist: bool) -> Option<Result<DataKey, KeyError>> {
        if !available() {
            return None;
        }
        let entry = keyring::Entry::new(SERVICE, account).ok()?;
        match entry.get_password() {
            Ok(text) => Some(
                DataKey::from_hex(&text)
                    .ok_or_else(|| KeyError::Damaged(format!("keystore entry {account}"))),
            ),
            Err(keyring::Error::NoEntry) if must_exist => {
                Some(Err(KeyError::Missing(format!("keystore entry {account}"))))
            }
            Err(keyring::Error::NoEntry) => {
                let key = DataKey::random();
                entry.set_password(&key.to_hex()).ok()?;
                Some(Ok(key))
            }
            Err(_) => None,
        }
    }

    pub fn delete(account: &str) {
        if !available() {
            return;
        }
        if let Ok(entry) = keyring::Entry::new(SERVICE, account) {
            let _ = entry.delete_credential();
        }
    }
}

#[cfg(not(any(
    target_os = "linux",
    target_os = "windows",
    target_os = "macos",
    target_os = "ios"
)))]
mod platform {
    //! Android: the Keystore is not wired in yet; the key file stands in.
    use super::{DataKey, KeyError};

    pub fn available() -> bool {
        false
    }

    pub fn get_or_create(_account: &str, _must_exist: bool) -> Option<Result<DataKey, KeyError>> {
        None
    }

    pub fn delete(_account: &str) {}
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_key_is_made_once_kept_outside_the_folder_and_forgotten() {
        let parent = tempfile::tempdir().unwrap();
        let data = parent.path().join("data");
        std::fs::create_dir_all(&data).unwrap();
        let key = key_for(&data).unwrap();
        assert_eq!(key_for(&data).unwrap(), key);
        if let KeyHome::File(file) = home_of(&data) {
            assert!(!file.starts_with(&data), "{}", file.display());
            assert!(file.exists());
        }
        assert_ne!(key.derive("store"), key.derive("blobs"));
        forget(&data).unwrap();
        assert_ne!(key_for(&data).unwrap(), key, "a new key after forgetting");
        forget(&data).unwrap();
    }

    #[test]
    fn no_new_key_is_made_for_data_encrypted_with_a_lost_one() {
        let parent = tempfile::tempdir().unwrap();
        let data = parent.path().join("data");
        std::fs::create_dir_all(&data).unwrap();
        std::fs::write(data.join(crate::store::DB_FILE), [7u8; 64]).unwrap();
        let err = key_for(&data).expect_err("the key is gone");
        assert!(matches!(err, KeyError::Missing(_)), "{err}");
        // A plain store from before encryption gets a new key.
        let mut plain = b"SQLite format 3\0".to_vec();
        plain.resize(64, 0);
        std::fs::write(data.join(crate::store::DB_FILE), plain).unwrap();
        key_for(&data).expect("a key for a plain store");
        forget(&data).unwrap();
    }
}
