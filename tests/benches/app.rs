//! The tablet app in its real window, release build: cold start to an
//! interactive task list with 5,000 tasks in the store, opening a task with
//! 60 checklist items and 40 photos, and the memory of the app's processes.
//!
//! Needs Xvfb, WebKitWebDriver and tauri-driver like the E2E tests, and the
//! release app (`cargo build --release -p fieldloop-app`; `cargo xtask bench`
//! builds it). Prints a table and writes `target/bench-app.json`, or
//! `target/bench-app-one-core.json` when run on one core (`taskset -c 0`, the
//! cheap tablet's case; `cargo xtask bench` runs both).
//!
//! Times are taken by the page itself, so no WebDriver polling is in them:
//! the cold start ends at the performance mark the task list sets when its
//! first rows are on screen (less the start of Xvfb and the driver); opening
//! the big task runs in one script, frame by frame, from the tap on its row
//! (and on the checklist tab as soon as it is there) until its 60 items and
//! 40 decoded thumbnails are shown; each run also prints when the checklist
//! tab and the 60 items were there, and the app's backend calls meanwhile
//! (sent and answered), the animation frames, when the page's main thread
//! was busy for more than 10 ms, and when the items were put in the page. Before the app starts, the task view it will be
//! asked for is timed in this process. `BENCH_APP_SMAPS=1` also prints where
//! the processes' resident memory goes, by mapping.

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

/// The `/proc` folders of the processes whose command line contains `needle`.
fn processes(needle: &str) -> Vec<std::path::PathBuf> {
    std::fs::read_dir("/proc")
        .expect("/proc")
        .flatten()
        .map(|entry| entry.path())
        .filter(|dir| {
            let cmdline = std::fs::read(dir.join("cmdline")).unwrap_or_default();
            String::from_utf8_lossy(&cmdline).contains(needle)
        })
        .collect()
}

/// Resident memory (kB) of the processes whose command line contains
/// `needle`: the whole (`VmRSS`) and its part that is the process's own
/// (`RssAnon`: heaps, the DOM, decoded images; the rest is mapped files and
/// shared memory).
fn rss_kb(needle: &str) -> (u64, u64) {
    let (mut total, mut anon) = (0, 0);
    for dir in processes(needle) {
        let status = std::fs::read_to_string(dir.join("status")).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        total += field("VmRSS:");
        anon += field("RssAnon:");
    }
    (total, anon)
}

/// Proportional memory (kB, `Pss`) of the processes whose command line
/// contains `needle`: their own pages plus their share of pages mapped by
/// several processes (the libraries the app and its web process both load).
fn pss_kb(needle: &str) -> u64 {
    let mut total = 0;
    for dir in processes(needle) {
        let rollup = std::fs::read_to_string(dir.join("smaps_rollup")).unwrap_or_default();
        total += rollup
            .lines()
            .find_map(|l| l.strip_prefix("Pss:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
    }
    total
}

/// With `BENCH_APP_SMAPS` set: the largest parts of the web process's
/// resident memory by mapping (a library, a font, the heaps), to find where
/// it goes.
fn print_smaps(needle: &str) {
    if std::env::var_os("BENCH_APP_SMAPS").is_none() {
        return;
    }
    for dir in processes(needle) {
        let smaps = std::fs::read_to_string(dir.join("smaps")).unwrap_or_default();
        let mut by_name: std::collections::BTreeMap<String, u64> = Default::default();
        let mut name = String::new();
        for line in smaps.lines() {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields
                .first()
                .is_some_and(|f| f.contains('-') && !f.ends_with(':'))
            {
                name = fields.get(5).map_or("[anon]".into(), |n| (*n).to_owned());
            } else if fields.first() == Some(&"Rss:") {
                *by_name.entry(name.clone()).or_default() += fields
                    .get(1)
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(0);
            }
        }
        let mut top: Vec<_> = by_name.into_iter().collect();
        top.sort_by_key(|(_, kb)| std::cmp::Reverse(*kb));
        println!("{needle} {:?}:", dir.file_name().unwrap_or_default());
        for (name, kb) in top.iter().take(14) {
            println!("  {:>7} kB  {name}", kb);
        }
    }
}

/// Now, in milliseconds since the Unix epoch (the page's clock is the same).
fn epoch_ms() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs_f64()
        * 1e3
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    // The WebDriver client speaks HTTP through reqwest, built without a
    // default TLS provider.
    fieldloop_tablet::tls::install_crypto();
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
    {
        // What the task screen asks the app for, timed in this process on a
        // freshly opened store (nothing in memory yet), then again.
        let tablet = Tablet::open(&dir).expect("tablet");
        for label in ["first", "again"] {
            let at = Instant::now();
            let view = tablet.task_view("BENCH-BIG").expect("view");
            let json = serde_json::to_vec(&view).expect("json");
            println!(
                "task view of the big task, {label}: {:.1} ms, {} bytes of JSON",
                at.elapsed().as_secs_f64() * 1e3,
                json.len()
            );
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
    let (mut app_own, mut web_own, mut app_pss, mut web_pss) = (vec![], vec![], vec![], vec![]);
    for run in 0..RUNS {
        runtime.block_on(async {
            let started = epoch_ms();
            // The app as it ships (no screenshots here).
            let app = App::launch(&[
                ("FIELDLOOP_DATA_DIR", dir.to_str().expect("utf-8")),
                ("FIELDLOOP_WEBVIEW_GPU", "0"),
            ])
            .await;
            app.find("task-row").await;
            // When the page itself says its first rows were on screen (no
            // polling in the figure), less the start of Xvfb and the driver.
            let shown = app
                .client
                .execute(
                    "const m = performance.getEntriesByName('fieldloop:list-shown')[0]; return m === undefined ? null : performance.timeOrigin + m.startTime;",
                    vec![],
                )
                .await
                .expect("list-shown mark")
                .as_f64()
                .expect("the list set its performance mark");
            let cold_ms = shown - started - app.driver_startup_ms();
            let (list_web, list_web_anon) = rss_kb("WebKitWebProcess");
            app.type_into("task-search", "BENCH-000060").await;
            app.wait_until(
                "one row",
                "return document.querySelectorAll(\"[data-testid='task-row']\").length === 1;",
            )
            .await;
            // Timed in the page, frame by frame: tap the row, then the
            // checklist tab as soon as it is there, until every item and
            // every thumbnail (decoded) is shown.
            let opened = app
                .client
                .execute_async(
                    &format!(
                        "const done = arguments[arguments.length - 1];
                         const t0 = performance.now();
                         // The app's backend calls while the task opens, from
                         // Tauri's IPC requests: [command, sent, answered] in ms.
                         const calls = [];
                         const fetch = window.fetch;
                         window.fetch = (url, ...rest) => {{
                           const sent = performance.now() - t0;
                           const command = String(url).split('/').pop();
                           const answer = fetch(url, ...rest);
                           answer.then((r) => r.clone().arrayBuffer())
                             .then(() => calls.push([command, Math.round(sent), Math.round(performance.now() - t0)]), () => {{}});
                           return answer;
                         }};
                         const q = (s) => document.querySelector(s);
                         q(\"[data-testid='task-row'] a\").click();
                         let tapped = false;
                         let screen = -1, items = -1;
                         const frames = [];
                         // When the page's main thread was busy for more than
                         // 10 ms (a zero-delay timer came late), and when the 60
                         // items were put in the page.
                         const busy = [];
                         let last = 0, inserted = -1, finished = false;
                         const beat = () => {{
                           const now = performance.now() - t0;
                           if (now - last > 10) busy.push(Math.round(last) + '-' + Math.round(now));
                           last = now;
                           if (!finished) setTimeout(beat, 0);
                         }};
                         setTimeout(beat, 0);
                         new MutationObserver((_, observer) => {{
                           if (document.querySelectorAll(\"[data-testid='item']\").length === {ITEMS}) {{
                             inserted = Math.round(performance.now() - t0);
                             observer.disconnect();
                           }}
                         }}).observe(document.body, {{ childList: true, subtree: true }});
                         const tick = () => {{
                           frames.push(Math.round(performance.now() - t0));
                           const tab = q(\"[data-testid='tab-checklist']\");
                           if (!tapped && tab !== null) {{ tab.click(); tapped = true; screen = performance.now() - t0; }}
                           const all = tapped && document.querySelectorAll(\"[data-testid='item']\").length === {ITEMS};
                           if (all && items < 0) items = performance.now() - t0;
                           const imgs = [...document.querySelectorAll(\"[data-testid='evidence-thumb'] img\")];
                           if (all && imgs.length >= {PHOTOS} && imgs.every(i => i.complete && i.naturalWidth > 0)) {{
                             // The thumbnails' calls in one line: how many, first sent, last answered.
                             const blobs = calls.filter(c => c[0] === 'blob');
                             // (None where the web view loads the images itself.)
                             const summary = calls.filter(c => c[0] !== 'blob')
                               .concat(blobs.length === 0 ? [] : [['blob ×' + blobs.length, Math.min(...blobs.map(c => c[1])), Math.max(...blobs.map(c => c[2]))]]);
                             finished = true;
                             done({{ total: performance.now() - t0, screen, items, calls: JSON.stringify(summary), frames: frames.join(' '), busy: busy.join(' '), inserted }});
                           }} else if (performance.now() - t0 > 20000) {{
                             finished = true;
                             done({{ total: -1, screen, items, calls: JSON.stringify(calls), frames: frames.join(' ') }});
                           }} else {{
                             requestAnimationFrame(tick);
                           }}
                         }};
                         requestAnimationFrame(tick);"
                    ),
                    vec![],
                )
                .await
                .expect("open the big task");
            // Until the task screen (its checklist tab) was there, until its
            // 60 items were, and until everything with the thumbnails.
            let phase = |key: &str| opened[key].as_f64().unwrap_or(-1.0);
            let (open_ms, screen_ms, items_ms) = (phase("total"), phase("screen"), phase("items"));
            println!(
                "  backend calls while opening [command, sent, answered ms]: {}",
                opened["calls"].as_str().unwrap_or("?")
            );
            println!(
                "  animation frames while opening [ms]: {}; the page busy [ms]: {}; items put in the page at {} ms",
                opened["frames"].as_str().unwrap_or("?"),
                opened["busy"].as_str().unwrap_or("?"),
                opened["inserted"]
            );
            assert!(open_ms >= 0.0, "the big task did not show within 20 s");
            tokio::time::sleep(Duration::from_millis(500)).await;
            print_smaps("WebKitWebProcess");
            print_smaps("release/fieldloop-app");
            let ((a, a_anon), (w, w_anon)) =
                (rss_kb("release/fieldloop-app"), rss_kb("WebKitWebProcess"));
            let (a_pss, w_pss) = (pss_kb("release/fieldloop-app"), pss_kb("WebKitWebProcess"));
            println!(
                "run {run}: cold start {cold_ms:.0} ms, open task {open_ms:.0} ms (screen {screen_ms:.0}, items {items_ms:.0}), app RSS {} MiB ({} own, PSS {}), web process RSS {} MiB ({} own, PSS {}; {} MiB / {} own with the list alone)",
                a / 1024,
                a_anon / 1024,
                a_pss / 1024,
                w / 1024,
                w_anon / 1024,
                w_pss / 1024,
                list_web / 1024,
                list_web_anon / 1024,
            );
            app_own.push(a_anon as f64 / 1024.0);
            web_own.push(w_anon as f64 / 1024.0);
            app_pss.push(a_pss as f64 / 1024.0);
            web_pss.push(w_pss as f64 / 1024.0);
            cold.push(cold_ms);
            open.push(open_ms);
            app_rss.push(a as f64 / 1024.0);
            web_rss.push(w as f64 / 1024.0);
            app.quit().await;
        });
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let result = json!({
        "tasks": TASKS, "items": ITEMS, "photos": PHOTOS, "runs": RUNS, "cores": cores,
        "cold_start_ms_median": median(cold.clone()),
        "open_task_ms_median": median(open.clone()),
        "app_rss_mib_median": median(app_rss.clone()),
        "webview_rss_mib_median": median(web_rss.clone()),
        "app_own_mib_median": median(app_own),
        "webview_own_mib_median": median(web_own),
        "app_pss_mib_median": median(app_pss),
        "webview_pss_mib_median": median(web_pss),
    });
    println!("{}", serde_json::to_string_pretty(&result).expect("json"));
    // `taskset -c 0 cargo bench --bench app`: the cheap tablet's case.
    let name = if cores == 1 {
        "bench-app-one-core.json"
    } else {
        "bench-app.json"
    };
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target")
        .join(name);
    std::fs::write(out, result.to_string()).expect("write");
}
