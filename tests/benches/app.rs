//! The tablet app in its real window, release build: cold start to an
//! interactive task list with 5,000 tasks in the store, opening a task with
//! 60 checklist items and 40 photos, and the memory of the app's processes.
//!
//! Needs Xvfb, WebKitWebDriver and tauri-driver like the E2E tests, and the
//! release app (`cargo build --release -p fieldloop-app`; `cargo xtask bench`
//! builds it). Prints a table and writes `target/bench-app.json`.

#[path = "../e2e/driver.rs"]
#[allow(dead_code)] // shared with the E2E tests, which use more of it
mod driver;

use std::time::{Duration, Instant};

use driver::App;
use fieldloop_core::demo::DemoData;
use fieldloop_core::{ActorId, Author, Role, TaskDoc, TaskSpec};
use fieldloop_tablet::background::now_ms;
use fieldloop_tablet::inspect::Tablet;
use fieldloop_tablet::sync::keys;
use serde_json::json;

const TASKS: usize = 5_000;
const ITEMS: usize = 60;
const PHOTOS: usize = 40;
const RUNS: usize = 3;

/// The task with 60 items and 40 photos, made by the demo supervisor.
fn big_task(data: &DemoData, now: i64) -> TaskSpec {
    let mut spec = data.task_specs(1, now).expect("spec").remove(0);
    spec.id = "BENCH-BIG".into();
    spec.code = "BENCH-000060".into();
    spec.items = data.items.iter().take(ITEMS).cloned().collect();
    let mut departments: Vec<String> = spec.items.iter().map(|i| i.department.clone()).collect();
    departments.dedup();
    departments.sort();
    departments.dedup();
    spec.departments = departments;
    spec
}

fn photo(n: usize) -> Vec<u8> {
    let img = image::RgbImage::from_fn(2000, 1500, |x, y| {
        image::Rgb([(x / 8) as u8, (y / 6) as u8, (n * 6) as u8])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Jpeg)
        .expect("jpeg");
    out.into_inner()
}

/// Resident memory (kB) of the processes whose command line contains `needle`.
fn rss_kb(needle: &str) -> u64 {
    let mut total = 0;
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        if !String::from_utf8_lossy(&cmdline).contains(needle) {
            continue;
        }
        let status = std::fs::read_to_string(entry.path().join("status")).unwrap_or_default();
        total += status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
    }
    total
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("app");
    let now = now_ms();
    let prep = Instant::now();
    {
        let mut tablet = Tablet::open(&dir).expect("tablet");
        fieldloop_tablet::demo::seed(&mut tablet.store, TASKS, now).expect("seed");
        let data = DemoData::embedded().expect("demo data");
        let supervisor = Author::new(ActorId::random(), "S-DEMO", Role::Supervisor);
        let mut doc = TaskDoc::create(big_task(&data, now), &supervisor, now).expect("task");
        tablet
            .store
            .insert_task(&mut doc, false, now)
            .expect("insert");
        // The tablet acts for an inspector of the big task.
        let me = doc.task().expect("task").inspectors[0].clone();
        tablet.store.set_setting(keys::PERSON, &me).expect("person");
        let actor = ActorId::random().to_hex_string();
        tablet
            .store
            .set_setting(keys::ACTOR, &actor)
            .expect("actor");
        let items: Vec<String> = doc
            .task()
            .expect("task")
            .checklist
            .keys()
            .cloned()
            .collect();
        for n in 0..PHOTOS {
            tablet
                .add_photo(
                    "BENCH-BIG",
                    now,
                    Some(&items[n % items.len()]),
                    &photo(n),
                    None,
                )
                .expect("photo");
        }
    }
    println!(
        "prepared {TASKS} tasks + one of {ITEMS} items and {PHOTOS} photos in {:.1} s",
        prep.elapsed().as_secs_f64()
    );

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (mut cold, mut open, mut app_rss, mut web_rss) = (vec![], vec![], vec![], vec![]);
    for run in 0..RUNS {
        runtime.block_on(async {
            let started = Instant::now();
            let app = App::launch(&[("FIELDLOOP_DATA_DIR", dir.to_str().expect("utf-8"))]).await;
            app.find("task-row").await;
            let cold_ms = started.elapsed().as_secs_f64() * 1e3 - app.driver_startup_ms();
            app.type_into("task-search", "BENCH-000060").await;
            app.wait_until(
                "one row",
                "return document.querySelectorAll(\"[data-testid='task-row']\").length === 1;",
            )
            .await;
            let opened = Instant::now();
            app.click("task-row").await;
            app.click("tab-checklist").await;
            app.wait_until(
                "60 items and 40 thumbnails shown",
                &format!(
                    "const imgs = [...document.querySelectorAll(\"[data-testid='evidence-thumb']\")].map(e => e.tagName === 'IMG' ? e : e.querySelector('img')).filter(Boolean);
                     return document.querySelectorAll(\"[data-testid='item']\").length === {ITEMS} && imgs.length >= {PHOTOS} && imgs.every(i => i.complete && i.naturalWidth > 0);"
                ),
            )
            .await;
            let open_ms = opened.elapsed().as_secs_f64() * 1e3;
            tokio::time::sleep(Duration::from_millis(500)).await;
            let (a, w) = (rss_kb("release/fieldloop-app"), rss_kb("WebKitWebProcess"));
            println!(
                "run {run}: cold start {cold_ms:.0} ms, open task {open_ms:.0} ms, app RSS {} MiB, web process RSS {} MiB",
                a / 1024,
                w / 1024
            );
            cold.push(cold_ms);
            open.push(open_ms);
            app_rss.push(a as f64 / 1024.0);
            web_rss.push(w as f64 / 1024.0);
            app.quit().await;
        });
    }
    let result = json!({
        "tasks": TASKS, "items": ITEMS, "photos": PHOTOS, "runs": RUNS,
        "cold_start_ms_median": median(cold.clone()),
        "open_task_ms_median": median(open.clone()),
        "app_rss_mib_median": median(app_rss.clone()),
        "webview_rss_mib_median": median(web_rss.clone()),
    });
    println!("{}", serde_json::to_string_pretty(&result).expect("json"));
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench-app.json");
    std::fs::write(out, result.to_string()).expect("write");
}
