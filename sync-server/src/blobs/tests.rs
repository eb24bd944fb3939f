#![allow(clippy::unwrap_used)]

use std::fs::{self, File};
use std::sync::Arc;

use axum::http::StatusCode;

use super::upload::{Owner, Session};
use super::{BlobApiError, BlobDir, BlobId, Quota, Uploader, parse_decimal};

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
    // All bytes on disk and recorded, but the rename never happened.
    fs::write(dir.partial_path(&me, &id), b"abc").unwrap();
    dir.record_offset(&me, &id, 3).unwrap();
    assert_eq!(
        dir.session(&me, &id).unwrap(),
        Session::Finished { length: 3 }
    );
    assert_eq!(fs::read(dir.path_of(&id)).unwrap(), b"abc");
    assert!(!dir.length_path(&me, &id).exists());
    assert!(!dir.partial_path(&me, &id).exists());
    assert!(!dir.offset_path(&me, &id).exists());
}

#[test]
fn bytes_past_the_synced_offset_are_not_counted_and_are_overwritten() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = BlobDir::open(tmp.path()).unwrap();
    let (me, id) = (owner("D-1"), BlobId::of(b"abcdef"));
    dir.create(&me, &id, 6).unwrap();
    dir.append(&me, &id, 0, b"abc").unwrap();
    // A power cut after the next chunk's write: the file's size moved, its
    // data did not reach the disk (zeros), and the offset was not recorded.
    fs::write(dir.partial_path(&me, &id), b"abc\0\0").unwrap();
    assert_eq!(
        dir.session(&me, &id).unwrap(),
        Session::Partial {
            offset: 3,
            length: 6
        }
    );
    // The tablet resumes from 3; the leftovers are overwritten.
    assert_eq!(
        dir.append(&me, &id, 3, b"def").unwrap(),
        Session::Finished { length: 6 }
    );
    assert_eq!(fs::read(dir.path_of(&id)).unwrap(), b"abcdef");
}

#[test]
fn a_full_upload_with_wrong_bytes_is_dropped_and_can_start_over() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = BlobDir::open(tmp.path()).unwrap();
    let (me, id) = (owner("D-1"), BlobId::of(b"abc"));
    dir.create(&me, &id, 3).unwrap();
    fs::write(dir.partial_path(&me, &id), b"abd").unwrap();
    dir.record_offset(&me, &id, 3).unwrap();
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
        ..Quota::default()
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
            ..Quota::default()
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
    for path in [
        dir.partial_path(&me, &id),
        dir.length_path(&me, &id),
        dir.offset_path(&me, &id),
    ] {
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
        3
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
