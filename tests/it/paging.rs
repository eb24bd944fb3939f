//! Feed paging: a device that needs several pages (a fresh tablet of a busy
//! team, or one back after weeks offline) ends with every task whole,
//! whatever the page size and however tasks were created and edited
//! between its syncs.

use std::collections::BTreeMap;

use fieldloop_core::sync::{self as wire, SyncRequest};
use fieldloop_core::{ActorId, Author, ChangeHash, GeoPoint, Role};
use fieldloop_server::limits::Limits;
use fieldloop_server::store::sqlite::SqliteStore;
use fieldloop_server::store::{Device, Store};
use fieldloop_server::sync::Caches;
use fieldloop_tablet::store::{Store as TabletStore, TaskQuery};
use fieldloop_tablet::sync::{SyncError, Transport, sync_now};
use fieldloop_tests::{NOW, Tablet, TestServer};
use proptest::prelude::*;

/// The ids of every task a tablet holds.
fn task_ids(store: &TabletStore) -> Vec<String> {
    store
        .list_tasks(&TaskQuery {
            limit: Some(100_000),
            ..Default::default()
        })
        .expect("list")
        .into_iter()
        .map(|r| r.id)
        .collect()
}

/// The server's heads of every task of the demo squad.
fn server_heads(store: &dyn Store) -> BTreeMap<String, Vec<ChangeHash>> {
    let mut all = BTreeMap::new();
    for task in store.changed_since("T-QX-01", 0, 100_000).expect("feed") {
        let stored = store.task(&task.id).expect("read").expect("task");
        let mut doc = fieldloop_core::TaskDoc::load(&stored.doc).expect("load");
        let mut heads = doc.heads();
        heads.sort();
        all.insert(task.id, heads);
    }
    all
}

/// The tablet's heads of every task it holds.
fn tablet_heads(store: &TabletStore) -> BTreeMap<String, Vec<ChangeHash>> {
    task_ids(store)
        .into_iter()
        .map(|id| {
            let mut heads = store.open_task(&id).expect("open").heads();
            heads.sort();
            (id, heads)
        })
        .collect()
}

#[test]
fn a_task_edited_after_a_page_was_cut_reaches_a_fresh_tablet_whole() {
    // A busy team: more tasks than one page holds.
    let server = TestServer::start(205, Limits::default());
    let mut a = Tablet::enroll(&server, "I-001");
    a.sync().expect("a syncs every page");
    assert_eq!(task_ids(&a.store).len(), 205);
    // The earliest task of I-001 is edited after all the others were created.
    let who = a.author();
    let early = task_ids(&a.store)
        .into_iter()
        .map(|id| {
            (
                a.store.open_task(&id).expect("open").task().expect("task"),
                id,
            )
        })
        .filter(|(task, _)| task.inspectors.contains(&who.person))
        .min_by(|(x, _), (y, _)| x.code.cmp(&y.code))
        .map(|(_, id)| id)
        .expect("a task of I-001");
    a.store
        .edit(&early, NOW, |d| d.check_in(&who, NOW, None))
        .expect("check in");
    a.sync().expect("a pushes");

    // A fresh tablet of the squad needs two pages.
    let mut b = Tablet::enroll(&server, "I-002");
    let report = b.sync().expect("b syncs every page");
    assert!(report.rounds >= 2, "{report:?}");
    assert_eq!(report.repairs, 0, "every page could be applied: {report:?}");
    assert_eq!(tablet_heads(&b.store), server_heads(server.store.as_ref()));
    let on_b = b.store.open_task(&early).expect("the early task is on b");
    assert_eq!(
        on_b.status_report().expect("status").checked_in.len(),
        1,
        "with its later check-in"
    );
    // And nothing is left to do.
    let quiet = b.sync().expect("quiet");
    assert_eq!((quiet.rounds, quiet.added, quiet.updated), (1, 0, 0));
}

#[test]
fn a_tablet_given_a_delta_it_cannot_apply_asks_for_the_task_again() {
    let server = TestServer::start(3, Limits::default());
    let mut a = Tablet::enroll(&server, "I-001");
    a.sync().expect("first sync");
    let who = a.author();
    let id = a
        .tasks_of_all(&[&who.person])
        .into_iter()
        .next()
        .expect("a task of I-001");
    a.store
        .edit(&id, NOW, |d| d.check_in(&who, NOW, None))
        .expect("check in");
    a.sync().expect("push");

    // A tablet that never had the task receives only its last change, as a
    // buggy or hostile server might send it.
    let mut b = Tablet::enroll(&server, "I-002");
    let mut doc = server.task(&id);
    let mut heads = doc.heads();
    let last = doc
        .automerge()
        .get_last_local_change()
        .map(|c| c.raw_bytes().to_vec());
    let delta = match last {
        Some(bytes) => bytes,
        None => {
            let change = doc
                .automerge()
                .get_change_by_hash(&heads[0])
                .expect("head change");
            change.raw_bytes().to_vec()
        }
    };
    heads.sort();
    let answer = one_delta(&id, &heads, delta);
    let applied = b
        .store
        .apply_sync_response(&[], &answer, NOW)
        .expect("applied without error");
    assert_eq!((applied.added, applied.repairs), (0, 1));
    assert!(task_ids(&b.store).is_empty(), "nothing unusable is kept");
    assert_eq!(
        b.store.repairs().expect("repairs"),
        std::slice::from_ref(&id)
    );

    // The next sync asks for it and gets it whole.
    b.sync().expect("b syncs");
    assert!(b.store.repairs().expect("repairs").is_empty());
    let mut on_b = b.store.open_task(&id).expect("repaired");
    assert_eq!(on_b.heads().len(), server.task(&id).heads().len());
    assert_eq!(tablet_heads(&b.store), server_heads(server.store.as_ref()));
}

/// A task the tablet already has, sent a change whose parent it lacks:
/// nothing changes there, and the task is asked for again whole.
#[test]
fn a_tablet_given_a_delta_missing_a_parent_of_a_task_it_has_asks_for_it_again() {
    let server = TestServer::start(3, Limits::default());
    let mut a = Tablet::enroll(&server, "I-001");
    let mut b = Tablet::enroll(&server, "I-002");
    a.sync().expect("a's first sync");
    b.sync().expect("b's first sync");
    let who = a.author();
    let id = a
        .tasks_of_all(&[&who.person])
        .into_iter()
        .next()
        .expect("a task of I-001");
    let on_b_before = b.store.open_task(&id).expect("b has it").heads();
    a.store
        .edit(&id, NOW, |d| d.check_in(&who, NOW, None))
        .expect("check in");
    a.store
        .edit(&id, NOW + 1_000, |d| {
            d.add_trace(
                &who,
                NOW + 1_000,
                &[(
                    NOW + 1_000,
                    GeoPoint {
                        lat: 25.6,
                        lon: 115.3,
                    },
                    5.0,
                )],
            )
        })
        .expect("trace");
    a.sync().expect("push");

    // Only the second of a's two changes, without the first it builds on.
    let mut doc = server.task(&id);
    let mut heads = doc.heads();
    let last = doc
        .automerge()
        .get_change_by_hash(&heads[0])
        .expect("head change");
    assert!(
        last.deps().iter().all(|d| !on_b_before.contains(d)),
        "the change builds on one b lacks"
    );
    heads.sort();
    let answer = one_delta(&id, &heads, last.raw_bytes().to_vec());
    let applied = b
        .store
        .apply_sync_response(&[], &answer, NOW)
        .expect("applied without error");
    assert_eq!((applied.updated, applied.repairs), (0, 1));
    assert_eq!(
        b.store.open_task(&id).expect("still readable").heads(),
        on_b_before,
        "b's copy is as it was"
    );
    assert_eq!(
        b.store.repairs().expect("repairs"),
        std::slice::from_ref(&id)
    );

    // The next sync asks for it and gets it whole.
    b.sync().expect("b syncs");
    assert!(b.store.repairs().expect("repairs").is_empty());
    assert_eq!(tablet_heads(&b.store), server_heads(server.store.as_ref()));
}

/// An answer carrying only `changes` of task `id`, as a buggy or hostile
/// server might send it.
fn one_delta(id: &str, heads: &[ChangeHash], changes: Vec<u8>) -> wire::SyncResponse {
    wire::SyncResponse {
        done: None,
        token: None,
        cursor: 0,
        more: false,
        acks: vec![],
        ack_hash: None,
        docs: vec![wire::DocPull {
            id: id.to_owned(),
            heads: wire::heads_to_wire(heads),
            changes: serde_bytes::ByteBuf::from(changes),
            full: false,
            resend: false,
        }],
        directory: None,
    }
}

/// The server in this process: the same `sync::run` the HTTP handler calls.
struct Direct<'a> {
    store: &'a SqliteStore,
    /// The server's caches of recent deltas and documents, shared by its devices.
    caches: &'a Caches,
    device: &'a Device,
    limits: &'a Limits,
    /// Speaks as a client older than `cd`: the mark is taken out of every
    /// request (the server then pages by the cursor alone and sends none).
    legacy: bool,
    /// Change bytes of every DocPull received, by task.
    received: std::cell::RefCell<BTreeMap<String, usize>>,
}

impl<'a> Direct<'a> {
    fn new(
        store: &'a SqliteStore,
        caches: &'a Caches,
        device: &'a Device,
        limits: &'a Limits,
        legacy: bool,
    ) -> Self {
        Self {
            store,
            caches,
            device,
            limits,
            legacy,
            received: Default::default(),
        }
    }
}

impl Transport for Direct<'_> {
    fn exchange(&self, request: Vec<u8>) -> Result<Vec<u8>, SyncError> {
        let mut request: SyncRequest =
            wire::decode(&request).map_err(|e| SyncError::BadAnswer(e.to_string()))?;
        if self.legacy {
            request.done = None;
        }
        let answer = fieldloop_server::sync::run_cached(
            self.store,
            self.device,
            &request,
            NOW,
            self.limits,
            self.caches,
        );
        if let Ok(answer) = &answer {
            assert_eq!(
                answer.done.is_some(),
                !self.legacy,
                "`cd` is answered exactly to a request with `cd`"
            );
            let mut received = self.received.borrow_mut();
            for pull in &answer.docs {
                *received.entry(pull.id.clone()).or_default() += pull.changes.len();
            }
        }
        answer.map(|answer| wire::encode(&answer)).map_err(|e| {
            SyncError::from_answer(
                e.status().as_u16(),
                e.code.as_str().to_owned(),
                e.message,
                e.concerns.task,
                e.concerns.change,
            )
        })
    }
}

/// One enrolled tablet of the paging property.
struct Member {
    store: TabletStore,
    device: Device,
    author: Author,
    /// Speaks the protocol as a client older than `cd`.
    legacy: bool,
    _dir: tempfile::TempDir,
}

fn member(server: &SqliteStore, person: &str, n: usize) -> Member {
    let code = fieldloop_server::enroll::issue_code(server, person, NOW, 86_400_000).expect("code");
    let actor = format!("{:032x}", n + 1);
    let device = server
        .redeem_enrollment(
            &fieldloop_server::auth::secret_hash(&code),
            NOW,
            &format!("D-{n}"),
            &format!("token-{n}"),
            &actor,
            "paging",
        )
        .expect("enroll");
    let dir = scratch();
    Member {
        store: TabletStore::open(dir.path()).expect("tablet"),
        author: Author::new(
            actor.parse::<ActorId>().expect("actor"),
            person,
            Role::Inspector,
        ),
        device,
        // Every other member: both pagings are exercised side by side.
        legacy: n % 2 == 1,
        _dir: dir,
    }
}

/// A temp dir in memory where there is one: fsync costs nothing there and
/// the SQLite code paths are the same.
fn scratch() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("fieldloop-paging-")
        .tempdir_in(fieldloop_tests::sim::tmp_root())
        .expect("tempdir")
}

#[derive(Debug, Clone)]
enum Step {
    /// The server creates this many more tasks.
    Create(usize),
    /// A member adds a trace point to one of its tasks (chosen by the number).
    Edit(usize, usize),
    /// A member syncs.
    Sync(usize),
    /// A new member enrolls (fresh tablet).
    Join,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (1usize..4).prop_map(Step::Create),
        (0usize..8, 0usize..64).prop_map(|(m, t)| Step::Edit(m, t)),
        (0usize..8).prop_map(Step::Sync),
        Just(Step::Join),
    ]
}

const PEOPLE: [&str; 4] = ["I-001", "I-002", "I-003", "I-004"];

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).map_or(24, |c: u32| c.clamp(8, 32)),
        ..ProptestConfig::default()
    })]

    #[test]
    fn every_device_ends_with_the_servers_heads_whatever_the_page_size(
        page in 1usize..=5,
        steps in prop::collection::vec(step(), 1..40),
    ) {
        let dir = scratch();
        let store = SqliteStore::open(dir.path()).expect("server");
        let caches = Caches::default();
        let limits = Limits { feed_page_docs: page, ..Limits::default() };
        let mut created = 2;
        let data = fieldloop_server::demo::import_demo(&store).expect("people");
        fieldloop_server::demo::create_tasks(&store, &data, created, NOW).expect("tasks");
        let mut members = vec![member(&store, PEOPLE[0], 0)];
        let mut stamp = 0;
        for step in steps {
            match step {
                Step::Create(n) => {
                    created += n;
                    fieldloop_server::demo::create_tasks(&store, &data, created, NOW).expect("tasks");
                }
                Step::Edit(m, t) => {
                    let count = members.len();
                    let m = &mut members[m % count];
                    let who = m.author.clone();
                    let mine: Vec<String> = task_ids(&m.store)
                        .into_iter()
                        .filter(|id| {
                            m.store.open_task(id).expect("open").task().expect("task")
                                .inspectors.contains(&who.person)
                        })
                        .collect();
                    if let Some(id) = mine.get(t % mine.len().max(1)) {
                        stamp += 1;
                        let point = (stamp, GeoPoint { lat: 27.0, lon: 115.0 }, 5.0);
                        m.store
                            .edit(id, NOW, |d| d.add_trace(&who, NOW, &[point]))
                            .expect("edit");
                    }
                }
                Step::Sync(m) => {
                    let count = members.len();
                    let m = &mut members[m % count];
                    let link = Direct::new(&store, &caches, &m.device, &limits, m.legacy);
                    let report = sync_now(&mut m.store, &link, NOW, |_| {}).expect("sync");
                    prop_assert_eq!(report.repairs, 0, "every page could be applied");
                }
                Step::Join => {
                    let n = members.len();
                    members.push(member(&store, PEOPLE[n % PEOPLE.len()], n));
                }
            }
        }
        // A fresh tablet that sends `cd` takes one page per `page` tasks
        // and is sent each task once.
        let fresh = member(&store, PEOPLE[0], 2 * members.len());
        let mut fresh_store = fresh.store;
        let link = Direct::new(&store, &caches, &fresh.device, &limits, false);
        let report = sync_now(&mut fresh_store, &link, NOW, |_| {}).expect("fresh sync");
        prop_assert_eq!(report.rounds as usize, created.div_ceil(page).max(1), "{:?}", report);
        prop_assert_eq!(link.received.borrow().len(), created);
        drop(link);
        prop_assert_eq!(&tablet_heads(&fresh_store), &server_heads(&store), "the fresh tablet");
        // Once everyone (and a fresh tablet) has synced twice, all hold the server's heads.
        let n = members.len();
        members.push(member(&store, PEOPLE[n % PEOPLE.len()], n));
        for _ in 0..2 {
            for m in &mut members {
                let link = Direct::new(&store, &caches, &m.device, &limits, m.legacy);
                let report = sync_now(&mut m.store, &link, NOW, |_| {}).expect("sync");
                prop_assert_eq!(report.repairs, 0, "every page could be applied");
            }
        }
        let expected = server_heads(&store);
        prop_assert_eq!(expected.len(), created);
        for m in &members {
            prop_assert_eq!(&tablet_heads(&m.store), &expected, "device {}", m.device.id);
            prop_assert!(m.store.dirty_tasks().expect("dirty").is_empty());
        }
    }
}

/// Tasks edited in turn while a tablet was away: a tablet that sends `cd`
/// gets each task once, one page per `feed_page_docs` tasks; a client
/// older than `cd` (paged by its cursor alone) is sent the same tasks again
/// on every page their later entries reach, and still ends whole.
#[test]
fn tasks_edited_in_turn_reach_a_returning_tablet_once_each() {
    let dir = scratch();
    let store = SqliteStore::open(dir.path()).expect("server");
    let caches = Caches::default();
    let limits = Limits {
        feed_page_docs: 1,
        ..Limits::default()
    };
    let data = fieldloop_server::demo::import_demo(&store).expect("people");
    fieldloop_server::demo::create_tasks(&store, &data, 8, NOW).expect("tasks");
    let mut editor = member(&store, PEOPLE[0], 0);
    let mut away = member(&store, PEOPLE[0], 2);
    let mut old = member(&store, PEOPLE[0], 1);
    assert!(old.legacy && !away.legacy);
    for m in [&mut editor, &mut away, &mut old] {
        let link = Direct::new(&store, &caches, &m.device, &limits, m.legacy);
        sync_now(&mut m.store, &link, NOW, |_| {}).expect("first sync");
    }
    // Three rounds of edits, each task in turn, each pushed at once: the
    // feed interleaves the tasks' entries.
    let who = editor.author.clone();
    let mine: Vec<String> = task_ids(&editor.store)
        .into_iter()
        .filter(|id| {
            let task = editor
                .store
                .open_task(id)
                .expect("open")
                .task()
                .expect("task");
            task.inspectors.contains(&who.person)
        })
        .take(3)
        .collect();
    assert!(mine.len() >= 2, "I-001 works on several tasks: {mine:?}");
    let mut stamp = 0;
    for _ in 0..3 {
        for id in &mine {
            stamp += 1;
            let point = (
                stamp,
                GeoPoint {
                    lat: 27.0,
                    lon: 115.0,
                },
                5.0,
            );
            editor
                .store
                .edit(id, NOW, |d| d.add_trace(&who, NOW, &[point]))
                .expect("edit");
            let link = Direct::new(&store, &caches, &editor.device, &limits, false);
            sync_now(&mut editor.store, &link, NOW, |_| {}).expect("push");
        }
    }

    let link = Direct::new(&store, &caches, &away.device, &limits, false);
    let report = sync_now(&mut away.store, &link, NOW, |_| {}).expect("back");
    assert_eq!(
        report.rounds as usize,
        mine.len(),
        "one page a task: {report:?}"
    );
    assert_eq!(report.updated, mine.len(), "{report:?}");
    let once = link.received.borrow().clone();
    assert_eq!(once.keys().collect::<Vec<_>>().len(), mine.len());

    let link = Direct::new(&store, &caches, &old.device, &limits, true);
    let legacy = sync_now(&mut old.store, &link, NOW, |_| {}).expect("old client");
    assert_eq!(
        legacy.rounds as usize,
        3 * mine.len(),
        "one page an entry: {legacy:?}"
    );
    let again = link.received.borrow().clone();
    for id in &mine {
        assert!(
            again[id] > once[id],
            "the old paging sends task {id} again: {} bytes against {}",
            again[id],
            once[id]
        );
    }
    let expected = server_heads(&store);
    assert_eq!(tablet_heads(&away.store), expected);
    assert_eq!(tablet_heads(&old.store), expected);
}
