//! A tablet safe to lose: its store (SQLCipher) and evidence files
//! (XChaCha20-Poly1305) hold nothing readable without the key, which is
//! kept outside the data folder.

use fieldloop_tablet::blobs::BlobStore;
use fieldloop_tablet::inspect::Tablet;
use fieldloop_tablet::keystore::{self, DataKey, KeyHome};
use fieldloop_tablet::store::{Store, StoreError};

const NOW: i64 = 1_780_272_000_000;

fn jpeg() -> Vec<u8> {
    let img = image::RgbImage::from_fn(640, 480, |x, y| image::Rgb([x as u8, y as u8, 42]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
    out.into_inner()
}

/// Every byte of every file under `dir`.
fn all_bytes(dir: &std::path::Path) -> Vec<u8> {
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            bytes.extend(all_bytes(&path));
        } else {
            bytes.extend(std::fs::read(&path).unwrap());
        }
    }
    bytes
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn a_copied_data_folder_holds_no_uscc_name_or_jpeg() {
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("tablet");
    let mut tablet = Tablet::open(&dir).unwrap();
    fieldloop_tablet::demo::seed(&mut tablet.store, 3, NOW).unwrap();
    tablet.adopt_demo_identity().unwrap();
    let row = tablet.store.list_tasks(&Default::default()).unwrap()[0].clone();
    let photo = jpeg();
    let view = tablet.add_photo(&row.id, NOW, None, &photo, None).unwrap();
    assert!(!view.evidence.is_empty());
    // The photo reads back whole through the store, checked against its id.
    let sha = view.evidence[0].sha256.clone();
    let id = fieldloop_tablet::blobs::BlobId::parse(&sha).unwrap();
    assert_eq!(tablet.blobs.get(&id).unwrap(), photo);
    drop(tablet);

    // The key is not in the folder; the folder's bytes say nothing.
    if let KeyHome::File(file) = keystore::home_of(&dir) {
        assert!(!file.starts_with(&dir), "{}", file.display());
    }
    let bytes = all_bytes(&dir);
    assert!(
        bytes.len() > 10_000,
        "the folder holds the store and the photo"
    );
    for (what, needle) in [
        ("the USCC", row.uscc.as_bytes()),
        ("the subject's name", row.subject_name.as_bytes()),
        ("the task code", row.code.as_bytes()),
        ("a JPEG start marker", &[0xFF, 0xD8, 0xFF][..]),
        ("SQLite's header", b"SQLite format 3"),
    ] {
        assert!(!contains(&bytes, needle), "{what} is readable in the copy");
    }

    // With the key, everything is there again.
    let tablet = Tablet::open(&dir).unwrap();
    assert_eq!(tablet.store.task_count().unwrap(), 3);
    assert_eq!(tablet.blobs.get(&id).unwrap(), photo);
}

#[test]
fn the_wrong_key_opens_nothing_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let key = DataKey::random();
    {
        let mut store = Store::open_with_key(dir.path(), &key).unwrap();
        store.set_setting("enroll.person", "I-001").unwrap();
    }
    let other = DataKey::random();
    let err = Store::open_with_key(dir.path(), &other).expect_err("another key");
    assert!(matches!(err, StoreError::WrongKey(_)), "{err}");
    assert_eq!(err.code().as_str(), "store.wrong_key");
    assert!(err.to_string().contains("密钥"), "{err}");
    // Nothing was changed by the failed attempt.
    let store = Store::open_with_key(dir.path(), &key).unwrap();
    assert_eq!(
        store.setting("enroll.person").unwrap().as_deref(),
        Some("I-001")
    );

    // An evidence file does not open with another key, nor at another
    // blob's place.
    let blobs = BlobStore::open_with_key(dir.path().join("blobs"), &key).unwrap();
    let a = blobs.put(b"first photo").unwrap();
    let b = blobs.put(b"second photo").unwrap();
    let stranger = BlobStore::open_with_key(dir.path().join("blobs"), &other).unwrap();
    assert_eq!(
        stranger.get(&a).unwrap_err().code().as_str(),
        "blob.corrupt"
    );
    std::fs::copy(blobs.path_of(&a), blobs.path_of(&b)).unwrap();
    assert_eq!(blobs.get(&b).unwrap_err().code().as_str(), "blob.corrupt");
    assert_eq!(blobs.get(&a).unwrap(), b"first photo");
}

#[test]
fn a_store_written_before_encryption_is_encrypted_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let key = DataKey::random();
    {
        let mut store = Store::open_with_key(dir.path(), &key).unwrap();
        store.set_setting("enroll.person", "I-007").unwrap();
    }
    // The same data as a plain SQLite file, as an older app left it.
    let path = dir.path().join(fieldloop_tablet::store::DB_FILE);
    let plain = dir.path().join("plain.sqlite3");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(&format!(
            "PRAGMA key = \"x'{}'\";",
            hex::encode(key.derive("store"))
        ))
        .unwrap();
        conn.execute_batch(&format!(
            "ATTACH DATABASE '{}' AS plain KEY ''; SELECT sqlcipher_export('plain'); DETACH DATABASE plain;",
            plain.display()
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        let plain_conn = rusqlite::Connection::open(&plain).unwrap();
        plain_conn
            .pragma_update(None, "user_version", version)
            .unwrap();
    }
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    std::fs::rename(&plain, &path).unwrap();
    assert!(
        std::fs::read(&path)
            .unwrap()
            .starts_with(b"SQLite format 3\0")
    );

    let store = Store::open_with_key(dir.path(), &key).unwrap();
    assert_eq!(
        store.setting("enroll.person").unwrap().as_deref(),
        Some("I-007")
    );
    drop(store);
    assert!(
        !std::fs::read(&path)
            .unwrap()
            .starts_with(b"SQLite format 3"),
        "encrypted in place"
    );
    let again = Store::open_with_key(dir.path(), &key).unwrap();
    assert_eq!(
        again.setting("enroll.person").unwrap().as_deref(),
        Some("I-007")
    );
}
