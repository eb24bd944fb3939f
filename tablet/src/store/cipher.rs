//! The store's encryption at rest: SQLCipher with a raw 256-bit key derived
//! from the data folder's key ([`crate::keystore`]). A store written before
//! stores were encrypted is converted once, in place, on open.

use std::path::Path;

use rusqlite::Connection;

use super::StoreError;
use crate::keystore::DataKey;

/// What every plain SQLite file begins with.
const PLAIN_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// The SQLCipher raw-key literal for `key`: `"x'<64 hex>'"` (no key
/// derivation on open: the key is random already).
pub(super) fn key_literal(key: &DataKey) -> String {
    format!("\"x'{}'\"", hex::encode(key.derive("store")))
}

/// Whether `path` is an unencrypted SQLite database.
pub(super) fn is_plaintext(path: &Path) -> bool {
    use std::io::Read as _;
    let mut header = [0u8; 16];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut header))
        .is_ok_and(|()| &header == PLAIN_HEADER)
}

/// Gives the connection its key and checks that it opens the database.
pub(super) fn unlock(conn: &Connection, key_sql: &str, path: &Path) -> Result<(), StoreError> {
    conn.execute_batch(&format!("PRAGMA key = {key_sql};"))?;
    match conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    }) {
        Ok(_) => Ok(()),
        Err(rusqlite::Error::SqliteFailure(e, _))
            if e.code == rusqlite::ErrorCode::NotADatabase =>
        {
            Err(StoreError::WrongKey(path.to_owned()))
        }
        Err(e) => Err(e.into()),
    }
}

/// Encrypts the plain database at `path` with `key_sql`: an encrypted copy
/// is written beside it, then moved over it, so a crash leaves either.
pub(super) fn encrypt_in_place(path: &Path, key_sql: &str) -> Result<(), rusqlite::Error> {
    let io = |e: std::io::Error| rusqlite::Error::ToSqlConversionFailure(Box::new(e));
    let copy = path.with_extension("sqlite3.encrypting");
    let _ = std::fs::remove_file(&copy);
    {
        let conn = Connection::open(path)?;
        // The journal's pages into the file, so the copy holds everything.
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let target = copy.to_string_lossy().replace('\'', "''");
        conn.execute_batch(&format!(
            "ATTACH DATABASE '{target}' AS encrypted KEY {key_sql};
             SELECT sqlcipher_export('encrypted');
             PRAGMA encrypted.user_version = {version};
             DETACH DATABASE encrypted;"
        ))?;
    }
    std::fs::File::open(&copy)
        .and_then(|f| f.sync_all())
        .map_err(io)?;
    std::fs::rename(&copy, path).map_err(io)?;
    for journal in ["-wal", "-shm"] {
        let mut name = path.as_os_str().to_owned();
        name.push(journal);
        let _ = std::fs::remove_file(std::path::PathBuf::from(name));
    }
    if let Some(dir) = path.parent() {
        #[cfg(unix)]
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io)?;
        #[cfg(not(unix))]
        let _ = dir;
    }
    Ok(())
}
