//! One 现场检查笔录 with 60 checklist items and 20 photo references,
//! typeset to PDF (goal: ≤ 300 ms on the server), and one 责令改正通知书.
//! `cargo xtask bench` runs it; the mean time and the PDF's size are also
//! written to `target/bench-print.json`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::Criterion;
use fieldloop_print::{Printer, sample};

/// The goal for one record on the server.
const GOAL: Duration = Duration::from_millis(300);
/// Renderings timed for the JSON summary.
const RUNS: u32 = 10;

fn main() {
    let printer = match Printer::system() {
        Ok(p) => p,
        Err(e) => panic!("{e}"),
    };
    let sheet = sample::record(60, 20);
    let notice = sample::notice();
    let mut c = Criterion::default().configure_from_args().sample_size(10);
    let mut group = c.benchmark_group("print");
    group.bench_function("record_60_items_20_photos", |b| {
        b.iter(|| printer.inspection_record(black_box(&sheet)))
    });
    group.bench_function("rectification_notice", |b| {
        b.iter(|| printer.rectification_notice(black_box(&notice)))
    });
    group.finish();
    c.final_summary();

    let mut size = 0;
    let started = Instant::now();
    for _ in 0..RUNS {
        size = match printer.inspection_record(&sheet) {
            Ok(pdf) => pdf.len(),
            Err(e) => panic!("{e}"),
        };
    }
    let mean = started.elapsed() / RUNS;
    let summary = serde_json::json!({
        "record_60_items_20_photos_ms": mean.as_secs_f64() * 1000.0,
        "record_pdf_bytes": size,
        "goal_ms": GOAL.as_millis(),
        "within_goal": mean <= GOAL,
    });
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../target/bench-print.json");
    if let Err(e) = std::fs::write(path, summary.to_string()) {
        eprintln!("cannot write {path}: {e}");
    }
    println!(
        "print: one 笔录 of 60 items and 20 photos in {mean:?} ({size} bytes; goal {GOAL:?}), written to target/bench-print.json"
    );
}
