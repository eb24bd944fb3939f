#![allow(clippy::unwrap_used)]

//! One store test suite, run against every backend: SQLite on a file
//! (always) and PostgreSQL in a throwaway cluster (when its server is
//! installed; `cargo xtask setup` installs it). Each case takes a fresh,
//! empty store; the concurrent cases take two stores on the same data, as
//! two server instances would be.

use std::sync::Arc;

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ChangeHash, ReadDoc};
use fieldloop_core::{Role, TaskDoc};

use super::{
    BeginUpload, Charge, FeedTask, SNAPSHOT_AFTER_CHUNKS, Store, StoreError, SyncCommit, TaskBase,
    TaskCodes, TaskDelta, TaskWrite, verify_receipts,
};

/// A case of the suite: given a way to open stores on one fresh database.
pub(crate) type Case = (&'static str, fn(&dyn Fn() -> Arc<dyn Store>));

/// Every case, by name.
pub(crate) const CASES: &[Case] = &[
    ("task_codes_are_unique", task_codes_are_unique),
    (
        "the_receipt_chain_detects_alteration_and_removal",
        the_receipt_chain_detects_alteration_and_removal,
    ),
    (
        "task_since_answers_from_the_changes_each_entry_added",
        task_since_answers_from_the_changes_each_entry_added,
    ),
    (
        "a_document_is_its_snapshot_and_the_changes_appended_after_it",
        a_document_is_its_snapshot_and_the_changes_appended_after_it,
    ),
    (
        "a_commit_is_refused_whole_when_a_task_moved_on",
        a_commit_is_refused_whole_when_a_task_moved_on,
    ),
    (
        "concurrent_writers_on_two_stores_lose_nothing_and_readers_skip_nothing",
        concurrent_writers_on_two_stores_lose_nothing_and_readers_skip_nothing,
    ),
    (
        "an_upload_part_is_counted_once_whichever_store_takes_it",
        an_upload_part_is_counted_once_whichever_store_takes_it,
    ),
    (
        "a_devices_daily_bytes_are_one_total_across_stores",
        a_devices_daily_bytes_are_one_total_across_stores,
    ),
];

/// Runs every case, each on a store `open` makes from a fresh database.
pub(crate) fn run(backend: &str, mut fresh: impl FnMut() -> Box<dyn Fn() -> Arc<dyn Store>>) {
    for (name, case) in CASES {
        eprintln!("store suite on {backend}: {name}");
        let open = fresh();
        case(&*open);
    }
}

/// The `n`th demo task as the server would insert it.
pub(crate) fn demo_task(n: usize) -> (TaskWrite, TaskCodes) {
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
        append: false,
        flags: Vec::new(),
        index: None,
    };
    (write, codes)
}

/// Commits `writes` on top of what is stored (no concurrent writer).
fn commit(store: &dyn Store, writes: &[TaskWrite], device: &str, now: i64) -> u64 {
    let latest: Vec<(String, Vec<ChangeHash>)> = writes
        .iter()
        .map(|w| {
            let heads = store
                .latest_heads(&w.id)
                .expect("heads")
                .unwrap_or_default();
            (w.id.clone(), heads)
        })
        .collect();
    let bases: Vec<TaskBase<'_>> = latest
        .iter()
        .map(|(id, heads)| TaskBase { id, heads })
        .collect();
    match store
        .commit_sync(&bases, writes, device, now)
        .expect("commit")
    {
        SyncCommit::Done { feed_end, .. } => feed_end,
        SyncCommit::Moved => panic!("nothing else writes here"),
    }
}

fn task_codes_are_unique(open: &dyn Fn() -> Arc<dyn Store>) {
    let store = open();
    let (old, old_codes) = demo_task(0);
    store
        .insert_task(&old, &old_codes, "server", 5)
        .expect("insert");
    assert_eq!(
        store.task_codes("JX-2026-").expect("codes"),
        [old_codes.code.as_str()]
    );
    assert!(store.task_codes("JX-2027-").expect("codes").is_empty());
    let feed = store.feed_end().expect("feed");
    let receipts = store.receipts().expect("receipts").len();

    // Its code is taken: another task with it is refused, whole.
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
    assert_eq!(store.feed_end().expect("feed"), feed);
    assert_eq!(store.receipts().expect("receipts").len(), receipts);

    let (new, codes) = demo_task(1);
    store
        .insert_task(&new, &codes, "server", 5)
        .expect("insert");
    assert_eq!(store.task_codes("JX-").expect("codes").len(), 2);
}

fn the_receipt_chain_detects_alteration_and_removal(open: &dyn Fn() -> Arc<dyn Store>) {
    let store = open();
    let write = |id: &str, n: u8| TaskWrite {
        id: id.into(),
        team: "T".into(),
        doc: vec![n],
        heads: vec![ChangeHash([n; 32])],
        new_changes: vec![ChangeHash([n; 32]), ChangeHash([n + 1; 32])],
        added: None,
        append: false,
        flags: Vec::new(),
        index: None,
    };
    let codes = TaskCodes {
        code: "JX-2026-000001".into(),
        verify_code: "V1".into(),
    };
    assert_eq!(store.receipts_past_checkpoint().expect("past"), None);
    store
        .insert_task(&write("a", 1), &codes, "server", 10)
        .expect("insert");
    assert_eq!(
        commit(&*store, &[write("a", 3), write("b", 5)], "dev-1", 20),
        3
    );
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
    assert_eq!(store.receipt_head().expect("head").map(|h| h.0), Some(6));

    // The receipts a checkpoint does not cover yet.
    assert_eq!(store.receipts_past_checkpoint().expect("past"), Some(6));
    let checkpoint = fieldloop_core::checkpoint::Checkpoint {
        v: fieldloop_core::checkpoint::CHECKPOINT_VERSION,
        seq: 4,
        head: receipts[3].hash.clone(),
        at: 30,
        kid: "0".repeat(16),
        sig: "0".repeat(128),
    };
    assert!(store.add_checkpoint(&checkpoint).expect("checkpoint"));
    assert_eq!(store.receipts_past_checkpoint().expect("past"), Some(2));
}

fn task_since_answers_from_the_changes_each_entry_added(open: &dyn Fn() -> Arc<dyn Store>) {
    let store = open();
    let (first, codes) = demo_task(0);
    store
        .insert_task(&first, &codes, "server", 1)
        .expect("insert");
    let mut doc = AutoCommit::load(&first.doc).expect("load");
    // Two edits, each written with what it added.
    let edit = |doc: &mut AutoCommit, n: i64, added: bool| {
        let before = doc.get_heads();
        doc.put(automerge::ROOT, "probe", n).expect("put");
        doc.commit();
        let write = TaskWrite {
            id: first.id.clone(),
            team: first.team.clone(),
            doc: doc.save(),
            heads: doc.get_heads(),
            new_changes: doc.get_heads(),
            added: added.then(|| doc.save_after(&before)),
            append: false,
            flags: Vec::new(),
            index: None,
        };
        commit(&*store, std::slice::from_ref(&write), "dev-1", 10 + n);
    };
    edit(&mut doc, 1, true);
    let at_one = doc.get_heads();
    edit(&mut doc, 2, true);

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
            base: None,
            chunks: 0,
        }
    );
    // An entry without its changes: the whole document, with the base heads.
    edit(&mut doc, 3, false);
    let since = store.task_since(&first.id, 2).expect("read").expect("task");
    assert_eq!(since.heads, doc.get_heads());
    assert_eq!(
        since.delta,
        TaskDelta::Whole {
            doc: doc.save(),
            base: Some(at_one),
            chunks: 0,
        }
    );
    assert_eq!(store.task_since("no such task", 0).expect("read"), None);
    // Several at once (a feed page): each as asked alone, in the order asked.
    let (second, codes) = demo_task(1);
    store
        .insert_task(&second, &codes, "server", 20)
        .expect("insert");
    let ids = [
        second.id.clone(),
        "no such task".to_owned(),
        first.id.clone(),
        first.id.clone(),
    ];
    for cursor in 0..=5 {
        let alone: Vec<_> = ids
            .iter()
            .map(|id| store.task_since(id, cursor).expect("read"))
            .collect();
        assert_eq!(
            store.tasks_since(&ids, cursor).expect("read"),
            alone,
            "at {cursor}"
        );
    }
    assert_eq!(store.tasks_since(&[], 0).expect("read"), []);
    assert_eq!(
        verify_receipts(&store.receipts().expect("receipts")),
        Ok(1 + 3 + 1)
    );
}

/// One edit by `actor` of the stored task, as a write and its base: its
/// changes appended to what is stored, or the whole document as a new
/// snapshot once [`SNAPSHOT_AFTER_CHUNKS`] would be reached, as a sync
/// writes it.
fn edit_stored(
    store: &dyn Store,
    id: &str,
    actor: &[u8],
    key: &str,
) -> (TaskWrite, Vec<ChangeHash>) {
    let stored = store.task(id).expect("read").expect("task");
    let mut doc = AutoCommit::load(&stored.doc)
        .expect("load")
        .with_actor(automerge::ActorId::from(actor));
    let before = doc.get_heads();
    doc.put(automerge::ROOT, key, 1_i64).expect("put");
    doc.commit();
    let added = doc.save_after(&before);
    let append = stored.chunks + 1 < SNAPSHOT_AFTER_CHUNKS;
    let write = TaskWrite {
        id: stored.id,
        team: stored.team,
        doc: match append {
            true => [stored.doc, added.clone()].concat(),
            false => doc.save(),
        },
        heads: doc.get_heads(),
        new_changes: doc.get_changes(&before).iter().map(|c| c.hash()).collect(),
        added: Some(added),
        append,
        flags: Vec::new(),
        index: None,
    };
    (write, before)
}

fn a_document_is_its_snapshot_and_the_changes_appended_after_it(open: &dyn Fn() -> Arc<dyn Store>) {
    let store = open();
    let (a, codes) = demo_task(0);
    store.insert_task(&a, &codes, "server", 1).expect("insert");
    let read = |id: &str| store.task(id).expect("read").expect("task");
    assert_eq!(read(&a.id).chunks, 0, "inserted whole");
    let mut chunks_seen = Vec::new();
    for e in 0..SNAPSHOT_AFTER_CHUNKS + 3 {
        let (write, _) = edit_stored(&*store, &a.id, b"writer", &format!("e{e}"));
        let expected = AutoCommit::load(&write.doc).expect("load the write");
        let heads = write.heads.clone();
        commit(&*store, std::slice::from_ref(&write), "dev-1", 2);
        let stored = read(&a.id);
        chunks_seen.push(stored.chunks);
        assert_eq!(stored.doc, write.doc, "edit {e}: stored as written");
        let mut doc = AutoCommit::load(&stored.doc).expect("load");
        assert_eq!(doc.get_heads(), heads, "edit {e}");
        assert_eq!(doc.save(), expected.clone().save(), "edit {e}");
        for k in 0..=e {
            assert!(
                doc.get(automerge::ROOT, format!("e{k}"))
                    .expect("get")
                    .is_some(),
                "edit {k} is missing after edit {e}"
            );
        }
        // A device that never saw the task gets it whole, the same document.
        let since = store.task_since(&a.id, 0).expect("since").expect("task");
        let TaskDelta::Whole {
            doc: whole,
            base: None,
            chunks,
        } = since.delta
        else {
            panic!("expected the whole document, got {:?}", since.delta);
        };
        assert_eq!(whole, stored.doc);
        assert_eq!(chunks, stored.chunks, "edit {e}");
        assert_eq!(since.heads, heads);
    }
    // Appended until the limit, then saved whole once, then appended again.
    let limit = SNAPSHOT_AFTER_CHUNKS - 1;
    let expected: Vec<u32> = (1..=limit).chain([0, 1, 2, 3]).collect();
    assert_eq!(chunks_seen, expected);
    let (b, codes) = demo_task(1);
    store
        .insert_task(&b, &codes, "server", 3)
        .expect("insert b");
    let ids = [b.id.clone(), a.id.clone()];
    assert_eq!(
        store.tasks_since(&ids, 0).expect("batch"),
        [
            store.task_since(&b.id, 0).expect("b"),
            store.task_since(&a.id, 0).expect("a")
        ]
    );

    // An appending write without its changes, or to a task that is not
    // there, is refused and stores nothing.
    let end = store.feed_end().expect("end");
    let before = read(&a.id);
    let (mut write, _) = edit_stored(&*store, &a.id, b"writer", "lost");
    write.append = true;
    write.added = None;
    let heads = store.latest_heads(&a.id).expect("heads").expect("a");
    let bases = [TaskBase {
        id: &a.id,
        heads: &heads,
    }];
    let err = store
        .commit_sync(&bases, std::slice::from_ref(&write), "dev-1", 4)
        .expect_err("no changes to append");
    assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
    let (mut write, _) = edit_stored(&*store, &a.id, b"writer", "elsewhere");
    write.id = "no such task".into();
    write.append = true;
    let bases = [TaskBase {
        id: "no such task",
        heads: &[],
    }];
    store
        .commit_sync(&bases, std::slice::from_ref(&write), "dev-1", 4)
        .expect_err("no task to append to");
    assert_eq!(store.feed_end().expect("end"), end);
    assert_eq!(read(&a.id), before);
    assert_eq!(store.task("no such task").expect("read"), None);
    assert!(verify_receipts(&store.receipts().expect("receipts")).is_ok());
}

fn a_commit_is_refused_whole_when_a_task_moved_on(open: &dyn Fn() -> Arc<dyn Store>) {
    let store = open();
    let (a, codes) = demo_task(0);
    store
        .insert_task(&a, &codes, "server", 1)
        .expect("insert a");
    let (b, codes) = demo_task(1);
    store
        .insert_task(&b, &codes, "server", 1)
        .expect("insert b");

    // Two writers read task a; the first commits.
    let (first, first_base) = edit_stored(&*store, &a.id, b"one", "first");
    let (second, second_base) = edit_stored(&*store, &a.id, b"two", "second");
    let (b_edit, b_base) = edit_stored(&*store, &b.id, b"two", "second");
    let end = store.feed_end().expect("end");
    let done = store
        .commit_sync(
            &[TaskBase {
                id: &a.id,
                heads: &first_base,
            }],
            std::slice::from_ref(&first),
            "dev-1",
            2,
        )
        .expect("first");
    assert_eq!(ended_at(&*store, done), Some(end + 1));
    let receipts = store.receipts().expect("receipts").len();

    // The second, with b in the same commit, is refused whole: neither a
    // nor b changes, no feed entry, no receipt.
    let moved = store
        .commit_sync(
            &[
                TaskBase {
                    id: &b.id,
                    heads: &b_base,
                },
                TaskBase {
                    id: &a.id,
                    heads: &second_base,
                },
            ],
            &[b_edit.clone(), second],
            "dev-2",
            3,
        )
        .expect("second");
    assert_eq!(moved, SyncCommit::Moved);
    assert_eq!(store.feed_end().expect("end"), end + 1);
    assert_eq!(store.receipts().expect("receipts").len(), receipts);
    assert_eq!(store.latest_heads(&b.id).expect("b"), Some(b_base.clone()));
    assert_eq!(store.task(&a.id).expect("a").expect("a").doc, first.doc);

    // A check with nothing to write answers the feed's end, or Moved.
    assert_eq!(
        ended_at(
            &*store,
            store
                .commit_sync(
                    &[TaskBase {
                        id: &a.id,
                        heads: &first.heads
                    }],
                    &[],
                    "dev-2",
                    4
                )
                .expect("check")
        ),
        Some(end + 1)
    );
    assert_eq!(
        store
            .commit_sync(
                &[TaskBase {
                    id: &a.id,
                    heads: &second_base
                }],
                &[],
                "dev-2",
                4
            )
            .expect("check"),
        SyncCommit::Moved
    );
    // A task that does not exist has empty heads.
    assert_eq!(
        ended_at(
            &*store,
            store
                .commit_sync(
                    &[TaskBase {
                        id: "nothing",
                        heads: &[]
                    }],
                    &[],
                    "dev-2",
                    4
                )
                .expect("check")
        ),
        Some(end + 1)
    );
    // Merged again from what is stored, it goes in.
    let (again, base) = edit_stored(&*store, &a.id, b"two", "second");
    assert_eq!(
        ended_at(
            &*store,
            store
                .commit_sync(
                    &[TaskBase {
                        id: &a.id,
                        heads: &base
                    }],
                    &[again],
                    "dev-2",
                    5
                )
                .expect("again")
        ),
        Some(end + 2)
    );
    let stored = AutoCommit::load(&store.task(&a.id).expect("a").expect("a").doc).expect("load");
    assert!(stored.get(automerge::ROOT, "first").expect("get").is_some());
    assert!(
        stored
            .get(automerge::ROOT, "second")
            .expect("get")
            .is_some()
    );
    assert_eq!(
        verify_receipts(&store.receipts().expect("receipts")),
        Ok(receipts + 1)
    );
}

/// Writers per store, edits per writer, in the concurrent case.
const WRITERS: usize = 3;
const EDITS: usize = 8;

/// The state of an upload into an object store, as two instances see it:
/// one begins it, both try to add the same next part, one wins; the
/// device's cap on open uploads holds; stale ones are found and ended.
fn an_upload_part_is_counted_once_whichever_store_takes_it(open: &dyn Fn() -> Arc<dyn Store>) {
    let (a, b) = (open(), open());
    let sha = "ab".repeat(32);
    assert_eq!(a.upload("D-1", &sha).unwrap(), None);
    assert_eq!(
        a.begin_upload("D-1", &sha, 700, 2, 1_000).unwrap(),
        BeginUpload::Begun
    );
    // The same begin on the other instance finds it.
    let BeginUpload::Exists(seen) = b.begin_upload("D-1", &sha, 700, 2, 1_001).unwrap() else {
        panic!("the second begin did not find the first");
    };
    assert_eq!(
        (seen.length, seen.offset(), seen.updated_at),
        (700, 0, 1_000)
    );
    // Both instances take the first part: one counts it.
    assert!(b.add_upload_part("D-1", &sha, 0, 256, 1_002).unwrap());
    assert!(!a.add_upload_part("D-1", &sha, 0, 256, 1_002).unwrap());
    assert!(a.add_upload_part("D-1", &sha, 1, 256, 1_003).unwrap());
    let now = a.upload("D-1", &sha).unwrap().unwrap();
    assert_eq!(now.parts, vec![256, 256]);
    assert_eq!((now.offset(), now.updated_at), (512, 1_003));
    // Another device's upload of the same blob is its own.
    assert_eq!(b.upload("D-2", &sha).unwrap(), None);
    // The cap on open uploads per device.
    let other = "cd".repeat(32);
    assert_eq!(
        b.begin_upload("D-1", &other, 5, 2, 2_000).unwrap(),
        BeginUpload::Begun
    );
    assert_eq!(
        a.begin_upload("D-1", &"ef".repeat(32), 5, 2, 2_001)
            .unwrap(),
        BeginUpload::Full(2)
    );
    // Stale: untouched before 1_500, oldest first.
    assert_eq!(
        a.stale_uploads(1_500, 10).unwrap(),
        vec![("D-1".to_owned(), sha.clone())]
    );
    assert_eq!(b.stale_uploads(3_000, 1).unwrap().len(), 1);
    a.end_upload("D-1", &sha).unwrap();
    assert_eq!(b.upload("D-1", &sha).unwrap(), None);
    assert!(!b.add_upload_part("D-1", &sha, 2, 256, 3_000).unwrap());
    assert_eq!(b.stale_uploads(3_000, 10).unwrap().len(), 1);
}

/// The daily byte count of a device, as two instances charge it: one
/// total, never past the quota even when both charge at once; per device
/// and per day; a chunk larger than the whole quota refused; old days
/// forgotten.
fn a_devices_daily_bytes_are_one_total_across_stores(open: &dyn Fn() -> Arc<dyn Store>) {
    let (a, b) = (open(), open());
    // (store, device, day, bytes, expected) with a quota of 1,000 a day.
    type Step<'a> = (&'a Arc<dyn Store>, &'a str, i64, u64, Charge);
    let steps: &[Step<'_>] = &[
        (&a, "D-1", 20_000, 400, Charge::Taken(400)),
        (&b, "D-1", 20_000, 400, Charge::Taken(800)),
        // Past the quota on either: refused, nothing counted.
        (&a, "D-1", 20_000, 201, Charge::Over(800)),
        (&b, "D-1", 20_000, 200, Charge::Taken(1_000)),
        (&b, "D-1", 20_000, 1, Charge::Over(1_000)),
        // Another device, another day, a charge larger than a whole day's.
        (&a, "D-2", 20_000, 1, Charge::Taken(1)),
        (&a, "D-1", 20_001, 1, Charge::Taken(1)),
        (&a, "D-3", 20_001, 1_001, Charge::Over(0)),
    ];
    for (n, (store, device, day, bytes, expected)) in steps.iter().enumerate() {
        let got = store.charge_bytes(device, *day, *bytes, 1_000).unwrap();
        assert_eq!(got, *expected, "step {n}");
    }
    // Many charges at once on both stores: the quota holds exactly.
    let taken = std::sync::atomic::AtomicU64::new(0);
    std::thread::scope(|scope| {
        for store in [&a, &b, &a, &b] {
            let taken = &taken;
            scope.spawn(move || {
                for _ in 0..30 {
                    if let Charge::Taken(_) = store.charge_bytes("D-4", 20_000, 10, 500).unwrap() {
                        taken.fetch_add(10, std::sync::atomic::Ordering::Relaxed);
                    }
                }
            });
        }
    });
    assert_eq!(taken.into_inner(), 500);
    let over = b.charge_bytes("D-4", 20_000, 10, 500).unwrap();
    assert_eq!(over, Charge::Over(500));
    // The sweep forgets days before the one given.
    a.forget_bytes_before(20_001).unwrap();
    let fresh = b.charge_bytes("D-1", 20_000, 1_000, 1_000).unwrap();
    assert_eq!(fresh, Charge::Taken(1_000));
    let kept = b.charge_bytes("D-1", 20_001, 1, 1_000).unwrap();
    assert_eq!(kept, Charge::Taken(2));
}

/// The feed's end a commit reports (`None`: it was refused); a directory
/// version read with it must be the directory's.
fn ended_at(store: &dyn Store, commit: SyncCommit) -> Option<u64> {
    match commit {
        SyncCommit::Done {
            feed_end,
            directory_version,
        } => {
            if let Some(version) = directory_version {
                assert_eq!(version, store.directory_version().unwrap());
            }
            Some(feed_end)
        }
        SyncCommit::Moved => None,
    }
}

fn concurrent_writers_on_two_stores_lose_nothing_and_readers_skip_nothing(
    open: &dyn Fn() -> Arc<dyn Store>,
) {
    let instances = [open(), open()];
    let (a, codes) = demo_task(0);
    instances[0]
        .insert_task(&a, &codes, "server", 1)
        .expect("insert a");
    let (b, codes) = demo_task(1);
    instances[1]
        .insert_task(&b, &codes, "server", 1)
        .expect("insert b");
    let tasks = [a.id.clone(), b.id.clone()];
    let team = a.team.clone();
    assert_eq!(b.team, team, "demo tasks 0 and 1 share a team");
    let done = std::sync::atomic::AtomicBool::new(false);

    // What a reader saw: the heads of each task at or before a feed end it
    // read; a commit that became visible later below that end is a skip.
    let seen = std::thread::scope(|scope| {
        let reader = scope.spawn(|| {
            let mut seen = Vec::new();
            let mut n = 0_usize;
            while !done.load(std::sync::atomic::Ordering::Relaxed) || n < 3 {
                let store = &instances[n % 2];
                let end = store.feed_end().expect("end");
                for task in &tasks {
                    seen.push((end, task.clone(), store.heads_at(task, end).expect("heads")));
                }
                n += 1;
            }
            seen
        });
        let mut writers = Vec::new();
        for w in 0..2 * WRITERS {
            let store = instances[w % 2].clone();
            let tasks = &tasks;
            writers.push(scope.spawn(move || {
                let mut moved = 0;
                for e in 0..EDITS {
                    let task = &tasks[(w + e) % 2];
                    let actor = format!("writer-{w}");
                    loop {
                        let (write, base) =
                            edit_stored(&*store, task, actor.as_bytes(), &format!("{w}-{e}"));
                        let bases = [TaskBase {
                            id: task,
                            heads: &base,
                        }];
                        match store
                            .commit_sync(&bases, std::slice::from_ref(&write), &actor, 2)
                            .expect("commit")
                        {
                            SyncCommit::Done { .. } => break,
                            SyncCommit::Moved => moved += 1,
                        }
                    }
                }
                moved
            }));
        }
        let moved: usize = writers.into_iter().map(|w| w.join().expect("writer")).sum();
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        eprintln!("  {moved} commits found their task moved on and merged again");
        reader.join().expect("reader")
    });

    // Nothing lost: every edit is in its task, one feed entry per commit.
    let store = &instances[0];
    for (t, task) in tasks.iter().enumerate() {
        let mut doc =
            AutoCommit::load(&store.task(task).expect("read").expect("task").doc).expect("load");
        for w in 0..2 * WRITERS {
            for e in 0..EDITS {
                if (w + e) % 2 == t {
                    assert!(
                        doc.get(automerge::ROOT, format!("{w}-{e}"))
                            .expect("get")
                            .is_some(),
                        "edit {w}-{e} of task {t} was lost"
                    );
                }
            }
        }
        assert_eq!(
            store.latest_heads(task).expect("heads"),
            Some(doc.get_heads())
        );
    }
    let commits = 2 + 2 * WRITERS * EDITS;
    assert_eq!(store.feed_end().expect("end"), commits as u64);
    let listed = store.changed_since(&team, 0, 10).expect("feed");
    assert_eq!(listed.len(), 2);
    assert_eq!(listed.iter().map(|t| t.last).max(), Some(commits as u64));
    assert!(verify_receipts(&store.receipts().expect("receipts")).is_ok());
    // Nothing skipped: what a reader saw at or below an end is still what
    // is there at or below it.
    for (end, task, heads) in seen {
        assert_eq!(
            store.heads_at(&task, end).expect("heads"),
            heads,
            "a commit at or below {end} became visible after a reader read up to {end}"
        );
    }
}

#[test]
fn the_store_suite_on_sqlite() {
    run("SQLite", || {
        let dir = Arc::new(tempfile::tempdir().expect("tempdir"));
        Box::new(move || {
            Arc::new(super::sqlite::SqliteStore::open(dir.path()).expect("open")) as Arc<dyn Store>
        })
    });
}

#[test]
fn the_store_suite_on_postgresql() {
    if !super::postgres::cluster::available() {
        // Not silently green: the suite needs the server. `cargo xtask
        // setup` installs it; CI runs it.
        panic!(
            "PostgreSQL's server is not installed: run `cargo xtask setup` (Debian package postgresql)"
        );
    }
    let cluster = super::postgres::cluster::TestCluster::start().expect("cluster");
    let key_dir = Arc::new(tempfile::tempdir().expect("tempdir"));
    run("PostgreSQL", || {
        let url = cluster.create_database().expect("database");
        let key_dir = key_dir.clone();
        Box::new(move || {
            let key = crate::claims::ClaimKey::load_or_create(key_dir.path()).expect("key");
            Arc::new(super::postgres::PgStore::open(&url, 8, key).expect("open")) as Arc<dyn Store>
        })
    });
}
