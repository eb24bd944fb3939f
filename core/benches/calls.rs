//! What one Automerge-backed call costs on a task of the simulation's size
//! (a demo task just checked in: one change of about 120 operations,
//! 2-3 KB saved), the calls a seed of `cargo xtask soak` is made of:
//! loading a stored task, adding one trace point, recording one answer,
//! the bytes a push carries and applying them, a full save, and reading
//! the task with its conflicts. These set the floor of a seed's time: a
//! seed makes some sixty of them. `cargo xtask bench` runs it.

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use fieldloop_core::demo::DemoData;
use fieldloop_core::{ActorId, Author, GeoPoint, Outcome, Role, TaskDoc};

/// The benchmarks' clock: the demo task is created at this time.
const T0: i64 = 1_780_000_000_000;

fn bench(c: &mut Criterion) {
    let data = DemoData::embedded().expect("demo data");
    let spec = data.task_specs(1, T0).expect("spec").remove(0);
    let inspector = Author::new(
        ActorId::from(vec![1; 16]),
        &spec.inspectors[0],
        Role::Inspector,
    );
    let supervisor = Author::new(ActorId::from(vec![200; 16]), "S-001", Role::Supervisor);
    let mut base = TaskDoc::create(spec, &supervisor, T0).expect("create");
    base.check_in(&inspector, T0 + 1, None).expect("check in");
    let bytes = base.save();
    let heads = base.heads();
    let item = base
        .task()
        .expect("task")
        .items_in_order()
        .first()
        .map(|(id, _)| (*id).clone())
        .expect("an item");
    let point = GeoPoint {
        lat: 25.6,
        lon: 115.3,
    };
    let mut edited = base.fork();
    edited
        .add_trace(&inspector, T0 + 10, &[(T0 + 10, point, 5.0)])
        .expect("trace");
    edited
        .record_answer(&inspector, T0 + 11, &item, Some(Outcome::Pass), None, None)
        .expect("answer");
    let delta = edited.save_after(&heads);

    let mut group = c.benchmark_group(format!("one call on a {} B task", bytes.len()));
    group.bench_function("load (store)", |b| {
        b.iter(|| TaskDoc::load_checked_before(&bytes).expect("load"))
    });
    group.bench_function("add one trace point", |b| {
        b.iter_batched(
            || base.clone(),
            |mut doc| {
                doc.add_trace(&inspector, T0 + 10, &[(T0 + 10, point, 5.0)])
                    .expect("trace");
                doc
            },
            BatchSize::SmallInput,
        )
    });
    group.bench_function("record one answer", |b| {
        b.iter_batched(
            || base.clone(),
            |mut doc| {
                doc.record_answer(&inspector, T0 + 11, &item, Some(Outcome::Pass), None, None)
                    .expect("answer");
                doc
            },
            BatchSize::SmallInput,
        )
    });
    group.bench_function("bytes after heads (a push)", |b| {
        b.iter(|| edited.save_after(&heads))
    });
    group.bench_function("apply a push of two changes", |b| {
        b.iter_batched(
            || base.clone(),
            |mut doc| {
                doc.load_incremental(&delta).expect("apply");
                doc
            },
            BatchSize::SmallInput,
        )
    });
    group.bench_function("save whole", |b| {
        b.iter_batched(
            || edited.clone(),
            |mut doc| doc.save(),
            BatchSize::SmallInput,
        )
    });
    group.bench_function("read task and conflicts", |b| {
        b.iter(|| edited.task_and_conflicts_fresh().expect("read"))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
