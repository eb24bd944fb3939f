//! What reading a task whole costs (`TaskDoc::task`): field by field as
//! autosurgeon reads a document, one pass per object (`fieldloop_core::walk`,
//! what `task_fresh` does), and a read kept for the same heads (what `task`
//! gives the second time). The task: the policy benchmark's task in
//! progress (two inspectors checked in, half the items answered with a
//! photo each). `cargo xtask bench` runs it.

use criterion::{Criterion, criterion_group, criterion_main};
use fieldloop_core::{Task, TaskDoc};

mod common;

fn bench(c: &mut Criterion) {
    let (mut doc, _) = common::task_in_progress();
    let direct =
        |doc: &mut TaskDoc| -> Task { autosurgeon::hydrate(doc.automerge()).expect("read") };
    assert_eq!(direct(&mut doc), doc.task_fresh().expect("read"));
    let mut group = c.benchmark_group("read a task whole");
    group.bench_function("field by field (autosurgeon)", |b| {
        b.iter(|| direct(&mut doc))
    });
    group.bench_function("one pass per object (task_fresh)", |b| {
        b.iter(|| doc.task_fresh().expect("read"))
    });
    doc.task().expect("read");
    group.bench_function("kept for its heads (task)", |b| {
        b.iter(|| doc.task().expect("read"))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
