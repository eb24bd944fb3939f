//! What the write policy costs the server per push: `policy::check` of a
//! tablet's one-answer push on a task in progress (two inspectors checked
//! in, half the items answered with a photo each), beside what applying
//! that push costs, and of a 200-change push. `cargo xtask bench` runs it;
//! compare with the server's CPU per sync from the load generator.

use automerge::{AutoCommit, Change};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use fieldloop_core::policy::{self, Writer};
use fieldloop_core::{GeoPoint, Outcome, TaskDoc};

mod common;

use common::{T0, task_in_progress};

/// The changes `edit` makes on a copy of `server`'s document.
fn push(server: &mut TaskDoc, edit: impl FnOnce(&mut TaskDoc)) -> Vec<Change> {
    let mut tablet = server.fork();
    let before = tablet.heads();
    edit(&mut tablet);
    tablet.automerge().get_changes(&before)
}

/// The server's copy with `changes` applied, as the sync handler has it
/// when it asks the policy.
fn applied(base: &AutoCommit, changes: &[Change]) -> AutoCommit {
    let mut doc = base.clone();
    doc.apply_changes(changes.iter().cloned()).expect("apply");
    doc
}

fn bench(c: &mut Criterion) {
    let (mut server, b) = task_in_progress();
    let task = server.task().expect("task");
    let last = task
        .items_in_order()
        .last()
        .map(|(id, _)| (*id).clone())
        .expect("an item");
    let one = push(&mut server, |doc| {
        doc.record_answer(
            &b,
            T0 + 100,
            &last,
            Some(Outcome::Fail),
            Some("3"),
            Some("灭火器过期"),
        )
        .expect("answer");
    });
    let many = push(&mut server, |doc| {
        for n in 0..200 {
            let point = GeoPoint {
                lat: 27.0 + n as f64 * 1e-5,
                lon: 115.0,
            };
            doc.add_trace(&b, T0 + 200 + n, &[(T0 + 200 + n, point, 5.0)])
                .expect("trace");
        }
    });
    assert_eq!((one.len(), many.len()), (1, 200));
    let base = server.automerge().clone();
    let w = Writer {
        actor: b.actor.clone(),
        person: b.person.clone(),
        role: b.role,
        certified: None,
    };
    policy::check(&mut applied(&base, &one), &one, &w).expect("allowed");
    policy::check(&mut applied(&base, &many), &many, &w).expect("allowed");

    let mut group = c.benchmark_group("policy");
    group.bench_function("apply a one-answer push", |bench| {
        bench.iter(|| applied(&base, &one));
    });
    group.bench_function("check a one-answer push", |bench| {
        bench.iter_batched(
            || applied(&base, &one),
            |mut doc| policy::check(&mut doc, &one, &w).expect("allowed"),
            BatchSize::SmallInput,
        );
    });
    group.bench_function("check a 200-change push", |bench| {
        bench.iter_batched(
            || applied(&base, &many),
            |mut doc| policy::check(&mut doc, &many, &w).expect("allowed"),
            BatchSize::SmallInput,
        );
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
