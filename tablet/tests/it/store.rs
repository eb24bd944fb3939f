//! The local store on real SQLite files in temp dirs: the task index and
//! search, edits as chunks, compaction, refusals that write nothing.

use fieldloop_core::{ActorId, Author, Outcome, Role, Status, TaskDoc};
use fieldloop_tablet::store::{COMPACT_AFTER_CHUNKS, Store, TaskQuery};

const NOW: i64 = 1_780_000_000_000;

fn seeded(count: usize) -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    fieldloop_tablet::demo::seed(&mut store, count, NOW).unwrap();
    (dir, store)
}

fn inspector(store: &Store, task_id: &str, n: usize) -> Author {
    let task = store.open_task(task_id).unwrap().task().unwrap();
    Author::new(
        ActorId::from(vec![n as u8 + 1; 16]),
        task.inspectors[n].clone(),
        Role::Inspector,
    )
}

#[test]
fn the_index_lists_and_searches_without_opening_documents() {
    let (_dir, store) = seeded(30);
    let all = store.list_tasks(&TaskQuery::default()).unwrap();
    assert_eq!(all.len(), 30);
    assert!(
        all.windows(2).all(|w| w[0].due <= w[1].due),
        "soonest due first"
    );
    assert!(all.iter().all(|r| r.status == Status::Assigned && !r.dirty));

    let first = &all[7];
    let by_name = store
        .list_tasks(&TaskQuery {
            text: Some(first.subject_name.chars().take(4).collect()),
            ..Default::default()
        })
        .unwrap();
    assert!(by_name.iter().any(|r| r.id == first.id));
    let by_uscc = store
        .list_tasks(&TaskQuery {
            text: Some(first.uscc[4..14].to_lowercase()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(
        by_uscc.iter().map(|r| &r.id).collect::<Vec<_>>(),
        vec![&first.id]
    );
    let by_code = store
        .list_tasks(&TaskQuery {
            text: Some(first.code.clone()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(by_code.len(), 1);

    let dept = first.departments[1].clone();
    let in_dept = store
        .list_tasks(&TaskQuery {
            department: Some(dept.clone()),
            ..Default::default()
        })
        .unwrap();
    assert!(!in_dept.is_empty() && in_dept.iter().all(|r| r.departments.contains(&dept)));
    assert!(in_dept.len() < 30 || all.iter().all(|r| r.departments.contains(&dept)));

    // Due on or before a day: exactly the rows of the whole list due by then.
    let cutoff = all[all.len() / 2].due;
    let due = store
        .list_tasks(&TaskQuery {
            due_before: Some(cutoff),
            ..Default::default()
        })
        .unwrap();
    let expected: Vec<_> = all.iter().filter(|r| r.due <= cutoff).cloned().collect();
    assert_eq!(due, expected);
    assert!(!due.is_empty() && due.len() < all.len());

    // LIKE wildcards typed by the user are literal.
    let wild = store
        .list_tasks(&TaskQuery {
            text: Some("%".into()),
            ..Default::default()
        })
        .unwrap();
    assert!(wild.is_empty());
    let limited = store
        .list_tasks(&TaskQuery {
            limit: Some(5),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(limited, all[..5].to_vec());
    let none = store
        .list_tasks(&TaskQuery {
            statuses: vec![Status::Submitted, Status::Returned],
            ..Default::default()
        })
        .unwrap();
    assert!(none.is_empty());
}

#[test]
fn an_edit_is_one_chunk_and_updates_the_index_in_the_same_commit() {
    let (dir, mut store) = seeded(3);
    let id = store.list_tasks(&TaskQuery::default()).unwrap()[0]
        .id
        .clone();
    let who = inspector(&store, &id, 0);
    store
        .edit(&id, NOW + 1, |doc| doc.check_in(&who, NOW + 1, None))
        .unwrap();
    let sizes = store.chunk_sizes(&id).unwrap();
    assert_eq!(sizes.len(), 1);
    // Only the new change is written, not the whole history again.
    let snapshot = store.open_task(&id).unwrap().save().len();
    assert!(
        sizes[0] < 400 && sizes[0] < snapshot as i64 / 4,
        "chunk {} B, snapshot {snapshot} B",
        sizes[0]
    );
    let rows = store
        .list_tasks(&TaskQuery {
            statuses: vec![Status::InProgress],
            ..Default::default()
        })
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert!(rows[0].dirty);
    assert_eq!(store.dirty_tasks().unwrap(), vec![id.clone()]);

    // Reopening the database finds the edit.
    drop(store);
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(
        store.open_task(&id).unwrap().status().unwrap(),
        Status::InProgress
    );
}

#[test]
fn a_refused_edit_writes_nothing() {
    let (_dir, mut store) = seeded(2);
    let id = store.list_tasks(&TaskQuery::default()).unwrap()[0]
        .id
        .clone();
    let who = inspector(&store, &id, 0);
    let before = store.open_task(&id).unwrap().save();
    let err = store
        .edit(&id, NOW, |doc| doc.submit(&who, NOW))
        .unwrap_err();
    assert_eq!(err.code(), "task.submit_blocked");
    let err = store.edit(&id, NOW, |doc| {
        doc.record_answer(&who, NOW, "NOPE", Some(Outcome::Pass), None, None)
    });
    assert_eq!(err.unwrap_err().code(), "task.unknown_item");
    assert!(store.chunk_sizes(&id).unwrap().is_empty());
    assert_eq!(store.open_task(&id).unwrap().save(), before);
    assert!(store.dirty_tasks().unwrap().is_empty());
    assert_eq!(
        store.open_task("no-such-task").unwrap_err().code(),
        "store.not_found"
    );
}

#[test]
fn compaction_folds_chunks_into_the_snapshot_and_keeps_everything() {
    let (dir, mut store) = seeded(1);
    let id = store.list_tasks(&TaskQuery::default()).unwrap()[0]
        .id
        .clone();
    let who = inspector(&store, &id, 0);
    let items: Vec<String> = store
        .open_task(&id)
        .unwrap()
        .task()
        .unwrap()
        .checklist
        .keys()
        .cloned()
        .collect();
    let edits = COMPACT_AFTER_CHUNKS + 5;
    for i in 0..edits {
        let item = &items[i as usize % items.len()];
        let note = format!("第 {i} 次");
        store
            .edit(&id, NOW + i64::from(i), |doc| {
                doc.record_answer(&who, NOW, item, None, None, Some(&note))
            })
            .unwrap();
    }
    assert_eq!(
        store.chunk_sizes(&id).unwrap().len(),
        5,
        "compacted once at {COMPACT_AFTER_CHUNKS} chunks"
    );
    let mut before = store.open_task(&id).unwrap();
    store.compact(&id).unwrap();
    assert!(store.chunk_sizes(&id).unwrap().is_empty());
    drop(store);
    let store = Store::open(dir.path()).unwrap();
    let mut after = store.open_task(&id).unwrap();
    assert_eq!(after.heads(), before.heads());
    assert_eq!(after.task().unwrap(), before.task().unwrap());
    assert_eq!(after.history().unwrap().len(), 1 + edits as usize);
}

#[test]
fn inserting_a_task_twice_is_refused() {
    let (_dir, mut store) = seeded(1);
    let id = store.list_tasks(&TaskQuery::default()).unwrap()[0]
        .id
        .clone();
    let mut doc: TaskDoc = store.open_task(&id).unwrap();
    assert_eq!(
        store.insert_task(&mut doc, false, NOW).unwrap_err().code(),
        "store.exists"
    );
    assert_eq!(store.task_count().unwrap(), 1);
}

#[test]
fn a_damaged_snapshot_is_reported_not_panicked_on() {
    let (dir, store) = seeded(1);
    let id = store.list_tasks(&TaskQuery::default()).unwrap()[0]
        .id
        .clone();
    drop(store);
    let conn =
        rusqlite::Connection::open(dir.path().join(fieldloop_tablet::store::DB_FILE)).unwrap();
    // The store is encrypted: the damage is done with its key.
    let key = fieldloop_tablet::keystore::key_for(dir.path()).unwrap();
    conn.execute_batch(&format!(
        "PRAGMA key = \"x'{}'\";",
        hex::encode(key.derive("store"))
    ))
    .unwrap();
    conn.execute("UPDATE documents SET snapshot = x'deadbeef'", [])
        .unwrap();
    drop(conn);
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.open_task(&id).unwrap_err().code(), "store.damaged");
    // The list still works: it does not read documents.
    assert_eq!(store.list_tasks(&TaskQuery::default()).unwrap().len(), 1);
}

#[test]
fn pushes_are_paged_by_count_and_size() {
    let (_dir, mut store) = seeded(3);
    let ids: Vec<String> = store
        .list_tasks(&TaskQuery::default())
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    for id in &ids {
        let who = inspector(&store, id, 0);
        store
            .edit(id, NOW, |doc| doc.check_in(&who, NOW, None))
            .unwrap();
    }
    assert_eq!(store.pending_pushes().unwrap().len(), 3);
    assert_eq!(store.pending_pushes_up_to(2, usize::MAX).unwrap().len(), 2);
    // Past the byte budget, one more document still goes, then no more.
    assert_eq!(store.pending_pushes_up_to(10, 1).unwrap().len(), 1);
    // Nothing is known to the server yet: each push carries the whole document.
    let push = &store.pending_pushes().unwrap()[0];
    let mut doc = fieldloop_core::TaskDoc::load(&push.changes).unwrap();
    assert_eq!(doc.status().unwrap(), Status::InProgress);
    assert_eq!(
        fieldloop_core::sync::heads_from_wire(&push.heads).unwrap(),
        doc.heads()
    );
}

/// The store keeps the documents it last read or wrote in memory. What it
/// then shows is always what is committed: an edit that failed after
/// changing its copy leaves nothing behind, and another store opened on the
/// same file (the background sync's, say) sees this one's edits and is seen.
#[test]
fn documents_kept_in_memory_are_always_what_is_committed() {
    let (dir, mut a) = seeded(2);
    let id = a.list_tasks(&TaskQuery::default()).unwrap()[0].id.clone();
    let who = inspector(&a, &id, 0);
    a.edit(&id, NOW, |doc| doc.check_in(&who, NOW, None))
        .unwrap();
    let after_check_in = a.open_task(&id).unwrap().heads();

    // An edit that changes the document, then fails: nothing stays, in
    // the database or in memory.
    let item = a
        .open_task(&id)
        .unwrap()
        .task()
        .unwrap()
        .checklist
        .into_keys()
        .next()
        .unwrap();
    let err = a.edit(&id, NOW, |doc| {
        doc.record_answer(&who, NOW, &item, Some(Outcome::Pass), None, None)?;
        doc.record_answer(&who, NOW, "NOPE", Some(Outcome::Pass), None, None)
    });
    assert_eq!(err.unwrap_err().code(), "task.unknown_item");
    assert_eq!(a.open_task(&id).unwrap().heads(), after_check_in);
    assert!(a.pending_pushes().unwrap()[0].heads.len() == 1);

    // A second store on the same file edits the task.
    let mut b = Store::open(dir.path()).unwrap();
    assert_eq!(b.open_task(&id).unwrap().heads(), after_check_in);
    b.edit(&id, NOW + 1, |doc| {
        doc.record_answer(&who, NOW + 1, &item, Some(Outcome::Fail), None, None)
    })
    .unwrap();
    let by_b = b.open_task(&id).unwrap().heads();
    assert_ne!(by_b, after_check_in);
    // The first store sees it, and builds on it.
    assert_eq!(a.open_task(&id).unwrap().heads(), by_b);
    a.edit(&id, NOW + 2, |doc| {
        doc.record_answer(&who, NOW + 2, &item, Some(Outcome::Pass), None, None)
    })
    .unwrap();
    let mut by_a = a.open_task(&id).unwrap();
    assert_eq!(by_a.heads().len(), 1, "one line of edits, no fork");
    assert!(by_a.automerge().get_change_by_hash(&by_b[0]).is_some());
    // And the second store sees that in turn, also after compaction.
    a.compact(&id).unwrap();
    let mut seen_by_b = b.open_task(&id).unwrap();
    assert_eq!(seen_by_b.heads(), by_a.heads());
    assert_eq!(
        b.pending_pushes().unwrap()[0].heads,
        a.pending_pushes().unwrap()[0].heads
    );
}
