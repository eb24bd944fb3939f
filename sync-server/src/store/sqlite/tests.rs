use fieldloop_core::TaskDoc;
use rusqlite_migration::{M, Migrations};

use super::*;
use crate::store::verify_receipts;

#[test]
fn migrations_are_valid() {
    assert!(migrations().validate().is_ok());
}

fn demo_task(n: usize) -> (TaskWrite, TaskCodes) {
    let data = fieldloop_core::demo::DemoData::embedded().expect("demo");
    let spec = data
        .task_specs(n + 1, 1_780_000_000_000)
        .expect("specs")
        .remove(n);
    let codes = TaskCodes {
        code: spec.code.clone(),
        verify_code: spec.verify_code.clone(),
    };
    let author = fieldloop_core::Author::new(
        fieldloop_core::ActorId::from(b"test".as_slice()),
        "S-1",
        Role::Supervisor,
    );
    let team = spec.team.clone();
    let mut doc = TaskDoc::create(spec, &author, 1).expect("task");
    let heads = doc.heads();
    let write = TaskWrite {
        id: doc.task().expect("task").id,
        team,
        doc: doc.save(),
        heads: heads.clone(),
        new_changes: heads,
        added: None,
        flags: Vec::new(),
        index: None,
    };
    (write, codes)
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

#[test]
fn the_receipt_chain_detects_alteration_and_removal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(dir.path()).expect("open");
    let write = |id: &str, n: u8| TaskWrite {
        id: id.into(),
        team: "T".into(),
        doc: vec![n],
        heads: vec![ChangeHash([n; 32])],
        new_changes: vec![ChangeHash([n; 32]), ChangeHash([n + 1; 32])],
        added: None,
        flags: Vec::new(),
        index: None,
    };
    let codes = TaskCodes {
        code: "JX-2026-000001".into(),
        verify_code: "V1".into(),
    };
    store
        .insert_task(&write("a", 1), &codes, "server", 10)
        .expect("insert");
    store
        .commit_sync(&[write("a", 3), write("b", 5)], "dev-1", 20)
        .expect("commit");
    let receipts = store.receipts().expect("receipts");
    assert_eq!(verify_receipts(&receipts), Ok(6));

    let mut altered = receipts.clone();
    altered[2].device_id = "dev-2".into();
    assert_eq!(
        verify_receipts(&altered),
        Err(crate::store::ChainError::Altered(3))
    );
    let mut removed = receipts.clone();
    removed.remove(1);
    assert_eq!(
        verify_receipts(&removed),
        Err(crate::store::ChainError::Broken(3))
    );
    assert_eq!(store.feed_end().expect("end"), 3);
    assert_eq!(
        store.changed_since("T", 1, 10).expect("feed"),
        vec![
            FeedTask {
                id: "a".into(),
                first: 2,
                last: 2
            },
            FeedTask {
                id: "b".into(),
                first: 3,
                last: 3
            }
        ]
    );
    assert_eq!(
        store.heads_at("a", 1).expect("heads"),
        Some(vec![ChangeHash([1; 32])])
    );
    assert_eq!(store.heads_at("b", 2).expect("heads"), None);
}

#[test]
fn task_since_answers_from_the_changes_each_entry_added() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(dir.path()).expect("open");
    let (first, codes) = demo_task(0);
    store
        .insert_task(&first, &codes, "server", 1)
        .expect("insert");
    let mut doc = automerge::AutoCommit::load(&first.doc).expect("load");
    // Two edits, each written with what it added.
    let commit = |doc: &mut automerge::AutoCommit, n: i64, added: bool| {
        let before = doc.get_heads();
        automerge::transaction::Transactable::put(doc, automerge::ROOT, "probe", n).expect("put");
        doc.commit();
        let write = TaskWrite {
            id: first.id.clone(),
            team: first.team.clone(),
            doc: doc.save(),
            heads: doc.get_heads(),
            new_changes: doc.get_heads(),
            added: added.then(|| doc.save_after(&before)),
            flags: Vec::new(),
            index: None,
        };
        store
            .commit_sync(std::slice::from_ref(&write), "dev-1", 10 + n)
            .expect("commit");
    };
    commit(&mut doc, 1, true);
    let at_one = doc.get_heads();
    commit(&mut doc, 2, true);

    // Behind both edits: exactly their changes, as save_after gives them.
    let since = store.task_since(&first.id, 1).expect("read").expect("task");
    assert_eq!(since.heads, doc.get_heads());
    let TaskDelta::Changes(changes) = since.delta else {
        panic!("expected changes, got {:?}", since.delta);
    };
    assert_eq!(changes, doc.save_after(&first.heads));
    let since = store.task_since(&first.id, 2).expect("read").expect("task");
    assert_eq!(
        since.delta,
        TaskDelta::Changes(doc.save_after(&at_one)),
        "behind the second edit only"
    );
    // Not there yet at the cursor: the whole document.
    let since = store.task_since(&first.id, 0).expect("read").expect("task");
    assert_eq!(
        since.delta,
        TaskDelta::Whole {
            doc: doc.save(),
            base: None
        }
    );
    // An entry without its changes: the whole document, with the base heads.
    commit(&mut doc, 3, false);
    let since = store.task_since(&first.id, 2).expect("read").expect("task");
    assert_eq!(since.heads, doc.get_heads());
    assert_eq!(
        since.delta,
        TaskDelta::Whole {
            doc: doc.save(),
            base: Some(at_one)
        }
    );
    assert_eq!(store.task_since("no such task", 0).expect("read"), None);
    assert_eq!(
        verify_receipts(&store.receipts().expect("receipts")),
        Ok(1 + 3)
    );
}
