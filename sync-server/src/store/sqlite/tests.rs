use rusqlite_migration::{M, Migrations};

use super::*;
use crate::store::suite::demo_task;

#[test]
fn migrations_are_valid() {
    assert!(migrations().validate().is_ok());
}

#[test]
fn v2_indexes_the_codes_of_tasks_stored_before_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (old, old_codes) = demo_task(0);
    {
        let mut conn = Connection::open(dir.path().join("fieldloop-server.sqlite3")).expect("open");
        Migrations::new(vec![M::up(include_str!("migrations/v1.sql"))])
            .to_latest(&mut conn)
            .expect("v1");
        conn.execute(
            "INSERT INTO tasks (id, team, doc) VALUES (?1, ?2, ?3)",
            params![old.id, old.team, old.doc],
        )
        .expect("v1 task");
    }
    let store = SqliteStore::open(dir.path()).expect("migrate to v2");
    assert_eq!(
        store.task_codes("JX-2026-").expect("codes"),
        [old_codes.code.as_str()]
    );
    assert!(store.task_codes("JX-2027-").expect("codes").is_empty());

    // Its code is taken now: another task with it is refused, whole.
    let (new, mut codes) = demo_task(1);
    codes.code = old_codes.code.clone();
    let err = store
        .insert_task(&new, &codes, "server", 5)
        .expect_err("taken");
    assert!(matches!(err, StoreError::TaskCodeTaken(ref c) if *c == old_codes.code));
    let (new, mut codes) = demo_task(1);
    codes.verify_code = old_codes.verify_code.clone();
    store
        .insert_task(&new, &codes, "server", 5)
        .expect_err("verify code taken");
    assert_eq!(store.task(&new.id).expect("read"), None);
    assert_eq!(store.feed_end().expect("feed"), 0);
    assert!(store.receipts().expect("receipts").is_empty());

    let (new, codes) = demo_task(1);
    store
        .insert_task(&new, &codes, "server", 5)
        .expect("insert");
    assert_eq!(store.task_codes("JX-").expect("codes").len(), 2);
}

/// A kept statement whose plan SQLite would make from a bound value (here a
/// `LIMIT`, as in the feed's page) runs again without being compiled again,
/// on the writer and on a reader alike.
#[test]
fn kept_statements_with_a_bound_limit_are_not_compiled_again() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(dir.path()).expect("open");
    let runs = |conn: &mut Connection| -> Result<i32, StoreError> {
        for limit in [1_i64, 2, 3] {
            let mut stmt = conn
                .prepare_cached("SELECT task_id FROM feed WHERE team = ?1 ORDER BY seq LIMIT ?2")?;
            let rows = stmt.query_map(params!["team", limit], |r| r.get::<_, String>(0))?;
            assert_eq!(rows.count(), 0);
        }
        let stmt =
            conn.prepare_cached("SELECT task_id FROM feed WHERE team = ?1 ORDER BY seq LIMIT ?2")?;
        Ok(stmt.get_status(rusqlite::StatementStatus::RePrepare))
    };
    assert_eq!(
        store.with(runs).expect("writer"),
        0,
        "the writer compiled it again"
    );
    assert_eq!(
        store.read(runs).expect("reader"),
        0,
        "a reader compiled it again"
    );
}

/// A task stored whole before V16 (with feed entries, some with their
/// changes kept) reads the same after it, with no changes after its
/// snapshot; the next appended change goes after it.
#[test]
fn v16_takes_every_document_stored_before_it_as_a_whole_snapshot() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (old, _) = demo_task(0);
    let mut doc = automerge::AutoCommit::load(&old.doc).expect("load");
    let first = doc.get_heads();
    automerge::transaction::Transactable::put(&mut doc, automerge::ROOT, "before", 1_i64)
        .expect("put");
    doc.commit();
    let whole = doc.save();
    {
        let mut conn = Connection::open(dir.path().join("fieldloop-server.sqlite3")).expect("open");
        migrations().to_version(&mut conn, 15).expect("v15");
        conn.execute(
            "INSERT INTO tasks (id, team, doc) VALUES (?1, ?2, ?3)",
            params![old.id, old.team, whole],
        )
        .expect("task");
        for heads in [&first, &doc.get_heads()] {
            conn.execute(
                "INSERT INTO feed (task_id, team, heads) VALUES (?1, ?2, ?3)",
                params![
                    old.id,
                    old.team,
                    fieldloop_core::sync::heads_to_bytes(heads)
                ],
            )
            .expect("feed");
        }
        // Only the second entry kept its changes.
        conn.execute(
            "INSERT INTO feed_changes (seq, changes) VALUES (2, ?1)",
            [doc.save_after(&first)],
        )
        .expect("changes");
    }
    let store = SqliteStore::open(dir.path()).expect("migrate to v16");
    let stored = store.task(&old.id).expect("read").expect("task");
    assert_eq!(
        (stored.doc.as_slice(), stored.chunks),
        (whole.as_slice(), 0)
    );

    let before = doc.get_heads();
    automerge::transaction::Transactable::put(&mut doc, automerge::ROOT, "after", 2_i64)
        .expect("put");
    doc.commit();
    let added = doc.save_after(&before);
    let write = TaskWrite {
        doc: [whole.clone(), added.clone()].concat(),
        heads: doc.get_heads(),
        new_changes: doc.get_heads(),
        added: Some(added),
        append: true,
        ..old
    };
    let bases = [TaskBase {
        id: &write.id,
        heads: &before,
    }];
    assert!(matches!(
        store.commit_sync(&bases, std::slice::from_ref(&write), "dev-1", 5),
        Ok(SyncCommit::Done { feed_end: 3, .. })
    ));
    let stored = store.task(&write.id).expect("read").expect("task");
    assert_eq!((stored.doc, stored.chunks), (write.doc, 1));
}
