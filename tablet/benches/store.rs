//! The local store with 5,000 tasks: list and search the index, open a
//! task, append one edit. Also prints p50/p95 of opening a task, which
//! criterion's mean hides.

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use fieldloop_core::{ActorId, Author, Role};
use fieldloop_tablet::store::{Store, TaskQuery};

const TASKS: usize = 5_000;
const NOW: i64 = 1_780_000_000_000;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Prints p50, p95 and the worst of `times` (milliseconds).
fn print_spread(name: &str, what: &str, unit: &str, mut times: Vec<f64>) {
    times.sort_by(f64::total_cmp);
    eprintln!(
        "{name}: {what} {} {unit}: p50 {:.2} ms, p95 {:.2} ms, max {:.2} ms",
        times.len(),
        percentile(&times, 0.5),
        percentile(&times, 0.95),
        times[times.len() - 1]
    );
}

/// The same figures for the encrypted store the app uses (SQLCipher) and
/// for a plain one, side by side in one run.
fn bench_store(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let encrypted = Store::open(dir.path()).expect("store");
    bench_one(c, "store_5000", encrypted);
    let dir = tempfile::tempdir().expect("tempdir");
    let plain = Store::open_unencrypted_for_benchmarks(dir.path()).expect("store");
    bench_one(c, "store_5000_plain", plain);
}

fn bench_one(c: &mut Criterion, name: &str, mut store: Store) {
    let started = Instant::now();
    fieldloop_tablet::demo::seed(&mut store, TASKS, NOW).expect("seed");
    eprintln!(
        "seeded {TASKS} tasks in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let rows = store
        .list_tasks(&TaskQuery {
            limit: Some(10_000),
            ..Default::default()
        })
        .expect("list");
    assert_eq!(rows.len(), TASKS);
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();

    // p50/p95 of open (load + hydrate) over many different tasks.
    let times: Vec<f64> = ids
        .iter()
        .step_by(10)
        .map(|id| {
            let t = Instant::now();
            let doc = store.open_task(id).expect("open");
            black_box(doc.task().expect("hydrate"));
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    print_spread(name, "open+hydrate over", "tasks", times);

    let mut group = c.benchmark_group(name);
    group.bench_function("list_all", |b| {
        b.iter(|| {
            store
                .list_tasks(&TaskQuery {
                    limit: Some(10_000),
                    ..Default::default()
                })
                .expect("list")
        })
    });
    group.bench_function("list_first_page", |b| {
        b.iter(|| store.list_tasks(&TaskQuery::default()).expect("list"))
    });
    group.bench_function("search_name", |b| {
        let q = TaskQuery {
            text: Some("餐饮".into()),
            ..Default::default()
        };
        b.iter(|| store.list_tasks(&q).expect("search"))
    });
    group.bench_function("search_uscc_fragment", |b| {
        let q = TaskQuery {
            text: Some(rows[1234].uscc[6..14].to_owned()),
            ..Default::default()
        };
        b.iter(|| store.list_tasks(&q).expect("search"))
    });
    group.bench_function("open_and_hydrate", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 7) % ids.len();
            store
                .open_task(&ids[i])
                .expect("open")
                .task()
                .expect("hydrate")
        })
    });
    let id = ids[42].clone();
    let person = store
        .open_task(&id)
        .expect("open")
        .task()
        .expect("task")
        .inspectors[0]
        .clone();
    let who = Author::new(ActorId::from(vec![3u8; 16]), person, Role::Inspector);
    // p50/p95 of one appended edit, each a durable commit (criterion's
    // mean below hides the slow ones: checkpoints).
    let append = |store: &mut Store, n: i64| {
        let note = format!("备注 {n}");
        store
            .edit(&id, NOW + n, |doc| {
                let first = doc
                    .task()?
                    .checklist
                    .keys()
                    .next()
                    .cloned()
                    .unwrap_or_default();
                doc.record_answer(&who, NOW + n, &first, None, None, Some(&note))
            })
            .expect("edit")
    };
    let times: Vec<f64> = (0..400)
        .map(|n| {
            let t = Instant::now();
            append(&mut store, n - 1_000);
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    print_spread(name, "append one edit over", "edits", times);
    group.bench_function("append_one_edit", |b| {
        let mut n = 0i64;
        b.iter(|| {
            n += 1;
            append(&mut store, n)
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30);
    targets = bench_store
}
criterion_main!(benches);
