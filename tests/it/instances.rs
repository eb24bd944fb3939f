//! Two server instances on one PostgreSQL database, as behind a load
//! balancer: tablets of one squad sync through either, at the same time,
//! and nothing is lost or skipped.

use fieldloop_core::Outcome;
use fieldloop_server::limits::Limits;
use fieldloop_server::store::verify_receipts;
use fieldloop_tests::{NOW, Tablet, TestServer};

#[test]
fn tablets_syncing_through_two_instances_at_once_converge_with_nothing_lost() {
    // Small feed pages: every sync takes several rounds, interleaved with
    // the other instance's commits.
    let limits = || Limits {
        feed_page_docs: 3,
        ..Default::default()
    };
    let first = TestServer::start_on_postgres(fieldloop_server::demo::DEMO_TASKS, limits());
    let second = first.second_instance(limits());
    let people = ["I-002", "I-003", "I-004"];
    let mut tablets: Vec<Tablet> = people
        .iter()
        .enumerate()
        .map(|(n, p)| Tablet::enroll(if n == 1 { &second } else { &first }, p))
        .collect();
    for t in &mut tablets {
        t.sync().expect("first sync");
    }
    // Every task all three are on, and the first task's items.
    let shared = tablets[0].tasks_of_all(&people);
    assert!(!shared.is_empty(), "the demo has tasks of all three");

    // Each tablet checks in on every shared task and answers one item of
    // its own, then all three sync at once, each through its instance,
    // three times round.
    for (n, t) in tablets.iter_mut().enumerate() {
        let who = t.author();
        for id in &shared {
            let item = t
                .store
                .open_task(id)
                .expect("open")
                .task()
                .expect("task")
                .items_in_order()[n]
                .0
                .clone();
            t.store
                .edit(id, NOW, |d| d.check_in(&who, NOW, None))
                .expect("check in");
            t.store
                .edit(id, NOW, |d| {
                    d.record_answer(&who, NOW, &item, Some(Outcome::Pass), None, None)
                })
                .expect("answer");
        }
    }
    std::thread::scope(|scope| {
        for t in tablets.iter_mut() {
            scope.spawn(move || {
                for _ in 0..3 {
                    t.sync().expect("sync");
                }
            });
        }
    });
    // Quiet: one more round each, in turn, brings everyone level.
    for t in &mut tablets {
        t.sync().expect("last sync");
    }

    for id in &shared {
        let mut on_first = first.task(id);
        let mut on_second = second.task(id);
        assert_eq!(
            on_first.heads(),
            on_second.heads(),
            "one record, whichever instance"
        );
        let checked_in = on_first.status_report().expect("report").checked_in;
        let task = on_first.task().expect("task");
        for (n, p) in people.iter().enumerate() {
            assert!(checked_in.contains(*p), "{p}'s check-in on {id} was lost");
            let (item, _) = task.items_in_order()[n];
            assert_eq!(
                task.checklist[item].answer.result,
                Some(Outcome::Pass),
                "{p}'s answer on {id} was lost"
            );
        }
        for t in &mut tablets {
            let mut doc = t.store.open_task(id).expect("open");
            assert_eq!(doc.heads(), on_first.heads(), "every tablet level");
        }
    }
    let receipts = first.store.receipts().expect("receipts");
    assert_eq!(verify_receipts(&receipts), Ok(receipts.len()));
    assert_eq!(
        second.store.feed_end().expect("end"),
        first.store.feed_end().expect("end")
    );
}

#[test]
fn a_postgresql_crash_and_restart_under_a_sync_loses_nothing_acknowledged() {
    let mut cluster = fieldloop_server::store::postgres::cluster::TestCluster::start()
        .expect("PostgreSQL (cargo xtask setup installs it)");
    let database = cluster.create_database().expect("database");
    let server = TestServer::start_on(
        database,
        fieldloop_server::demo::DEMO_TASKS,
        Limits::default(),
    );
    let mut tablet = Tablet::enroll(&server, "I-002");
    tablet.sync().expect("first sync");
    let id = tablet.tasks_of_all(&["I-002"]).remove(0);
    let who = tablet.author();
    tablet
        .store
        .edit(&id, NOW, |d| d.check_in(&who, NOW, None))
        .expect("check in");
    tablet.sync().expect("the check-in is acknowledged");
    let acknowledged = tablet.store.open_task(&id).expect("open").heads();

    // The database crashes (no checkpoint, recovery from its WAL at the
    // next start); the tablet edits on and syncs while it is down, and the
    // database comes back during that sync.
    cluster.kill().expect("kill PostgreSQL");
    let item = tablet
        .store
        .open_task(&id)
        .expect("open")
        .task()
        .expect("task")
        .items_in_order()[0]
        .0
        .clone();
    tablet
        .store
        .edit(&id, NOW, |d| {
            d.record_answer(&who, NOW, &item, Some(Outcome::Pass), None, None)
        })
        .expect("answer");
    std::thread::scope(|scope| {
        scope.spawn(|| {
            std::thread::sleep(std::time::Duration::from_millis(1500));
            cluster.restart().expect("restart PostgreSQL");
        });
        tablet
            .sync()
            .expect("the sync waits for the database and goes through");
    });

    let mut stored = server.task(&id);
    for head in &acknowledged {
        assert!(
            stored.automerge().get_change_by_hash(head).is_some(),
            "an acknowledged change was lost in the crash"
        );
    }
    assert_eq!(
        stored.task().expect("task").checklist[&item].answer.result,
        Some(Outcome::Pass)
    );
    assert_eq!(
        tablet.store.open_task(&id).expect("open").heads(),
        stored.heads()
    );
    let receipts = server.store.receipts().expect("receipts");
    assert_eq!(verify_receipts(&receipts), Ok(receipts.len()));
}
