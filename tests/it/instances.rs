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
