//! The console's review page of a big task in headless Chromium: a task
//! with 60 checklist items and 40 photos, made on the real server, the
//! photos taken through the real tablet's pipeline and uploaded by its sync
//! (so the thumbnails are the tablet's own, as in the field). Measures, over
//! [`RUNS`] fresh page loads, the time from navigation until every
//! thumbnail has loaded (the window is tall enough that none is held back
//! by lazy loading). Prints the figures and writes
//! `target/bench-console-review.json`.
//!
//! `cargo bench -p fieldloop-tests --bench console_review`, or `cargo xtask bench`.

#[path = "../console_e2e/browser.rs"]
#[allow(dead_code)] // shared with the console's end-to-end test
mod browser;

use browser::Browser;
use fieldloop_core::demo::DemoData;
use fieldloop_core::{ActorId, Author, Role, TaskDoc};
use fieldloop_server::console::TaskIndex;
use fieldloop_server::store::{ConsoleUser, TaskCodes, TaskWrite};
use fieldloop_tablet::background::now_ms;
use fieldloop_tablet::inspect::Tablet;
use fieldloop_tests::TestServer;
use serde_json::json;

const ITEMS: usize = 60;
const PHOTOS: usize = 40;
const RUNS: usize = 5;
const GOAL_MS: f64 = 1_000.0;

fn photo(n: usize) -> Vec<u8> {
    let img = image::RgbImage::from_fn(2000, 1500, |x, y| {
        image::Rgb([(x / 8) as u8, (y / 6) as u8, (n * 6) as u8])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Jpeg)
        .expect("jpeg");
    out.into_inner()
}

fn main() {
    let server = TestServer::start(0, Default::default());
    let now = now_ms();
    let data = DemoData::embedded().expect("demo data");
    let mut spec = data.task_specs(1, now).expect("spec").remove(0);
    spec.id = "BENCH-BIG".into();
    spec.code = "BENCH-000060".into();
    spec.items = data.items.iter().take(ITEMS).cloned().collect();
    let mut departments: Vec<String> = spec.items.iter().map(|i| i.department.clone()).collect();
    departments.sort();
    departments.dedup();
    spec.departments = departments;
    let (team, inspector) = (spec.team.clone(), spec.inspectors[0].clone());
    let codes = TaskCodes {
        code: spec.code.clone(),
        verify_code: spec.verify_code.clone(),
    };
    let supervisor = Author::new(ActorId::random(), "S-DEMO", Role::Supervisor);
    let mut doc = TaskDoc::create(spec, &supervisor, now).expect("task");
    let heads = doc.heads();
    let write = TaskWrite {
        id: "BENCH-BIG".into(),
        team: team.clone(),
        doc: doc.save(),
        heads: heads.clone(),
        new_changes: heads,
        added: None,
        append: false,
        flags: Vec::new(),
        index: Some(TaskIndex::of(doc.automerge()).expect("index")),
    };
    server
        .store
        .insert_task(&write, &codes, "server", now)
        .expect("insert");

    // The inspector's tablet takes the photos and syncs them up.
    let dir = tempfile::tempdir().expect("tempdir");
    let mut tablet = Tablet::open(dir.path()).expect("tablet");
    let link = format!(
        "fieldloop://enroll?server={}&code={}",
        server.url,
        server.code_for(&inspector, now)
    );
    tablet.enroll(&link, None, "平板").expect("enroll");
    let sync = |tablet: &mut Tablet| {
        let blobs = fieldloop_tablet::blobs::BlobStore::open_for(tablet.dir()).expect("blobs");
        fieldloop_tablet::background::sync_tablet(&mut tablet.store, &blobs, &mut |_| {})
            .expect("sync");
    };
    sync(&mut tablet);
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
    sync(&mut tablet);

    let user = ConsoleUser {
        id: "S-001".into(),
        name: "王主管".into(),
        role: Role::Supervisor,
        teams: vec![team],
        departments: Vec::new(),
    };
    fieldloop_server::console::add_user(server.store.as_ref(), &user, "bench password", now)
        .expect("user");

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let samples = runtime.block_on(async {
        let browser = Browser::launch().await;
        browser
            .client
            .set_window_size(1440, 9000)
            .await
            .expect("a tall window");
        browser.goto(&format!("{}/#/login", server.url)).await;
        browser.type_into("login-user", "S-001").await;
        browser.type_into("login-password", "bench password").await;
        browser.click("login-submit").await;
        browser.find("user-name").await;
        let mut samples = Vec::new();
        for _ in 0..=RUNS {
            browser
                .goto(&format!("{}/#/tasks/BENCH-BIG", server.url))
                .await;
            browser.client.refresh().await.expect("reload");
            browser
                .wait_until(
                    "every thumbnail loaded",
                    &format!(
                        "const imgs = [...document.querySelectorAll(\"[data-testid='record-photo']\")]; \
                         return imgs.length === {PHOTOS} && imgs.every(i => i.complete && i.naturalWidth > 0);"
                    ),
                )
                .await;
            // The last thumbnail's arrival, from the navigation's start.
            let ms = browser
                .js(
                    "return Math.max(...performance.getEntriesByType('resource') \
                     .filter(e => e.name.includes('/api/v1/console/blobs/')).map(e => e.responseEnd));",
                )
                .await
                .as_f64()
                .expect("a time");
            samples.push(ms);
        }
        browser.quit().await;
        samples
    });
    // The first load fills the browser's caches of the page's code; it is
    // reported apart.
    let first = samples[0];
    let mut warm: Vec<f64> = samples[1..].to_vec();
    warm.sort_by(f64::total_cmp);
    let median = warm[warm.len() / 2];
    let worst = warm[warm.len() - 1];
    println!(
        "review page, {ITEMS} items and {PHOTOS} photos: every thumbnail shown after {median:.0} ms (median of {RUNS}, worst {worst:.0} ms; first load {first:.0} ms); goal ≤ {GOAL_MS} ms: {}",
        if worst <= GOAL_MS { "ok" } else { "MISSED" }
    );
    let out = json!({
        "items": ITEMS, "photos": PHOTOS, "runs": RUNS,
        "first_ms": first, "median_ms": median, "worst_ms": worst,
    });
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target/bench-console-review.json");
    std::fs::write(&path, serde_json::to_string_pretty(&out).expect("json")).expect("write");
}
