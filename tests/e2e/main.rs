//! End to end in the real Tauri window, against the real `fieldloop-server`
//! binary: an inspector enrolls, records a whole inspection (check-in,
//! answers of two departments, a real JPEG through the file input, a
//! signature), resolves a conflict made by a second tablet of the squad,
//! submits, is returned by the supervisor, fixes and resubmits; and the
//! same work done with the server gone is kept and synced once it is back;
//! and the app as it ships on Linux draws its pages without compositing.
//!
//! Needs Xvfb, `WebKitWebDriver` and `tauri-driver` (`cargo xtask setup`).
//! The scenarios run one at a time: each starts a display and a webview.

#[allow(dead_code)] // shared with the app benchmark, which uses other parts
mod driver;

use std::path::Path;
use std::sync::Mutex;

use driver::App;
use fieldloop_core::{Outcome, SignerRole, Status, TaskDoc};
use fieldloop_server::store::Store;
use fieldloop_server::store::sqlite::SqliteStore;
use fieldloop_tablet::background::now_ms;
use fieldloop_tablet::inspect::{Tablet, TaskView};
use fieldloop_tests::process::ServerProcess;
use serde_json::json;

/// One window at a time.
static WINDOW: Mutex<()> = Mutex::new(());

fn enroll_link(server: &ServerProcess, data: &Path, person: &str) -> String {
    let store = SqliteStore::open(data).expect("server store");
    let code = fieldloop_server::enroll::issue_code(&store, person, now_ms(), 3_600_000)
        .expect("enrollment code");
    format!("fieldloop://enroll?server={}&code={code}", server.url)
}

/// The server's copy of a task.
fn on_server(data: &Path, id: &str) -> TaskDoc {
    let store = SqliteStore::open(data).expect("server store");
    let stored = store.task(id).expect("read").expect("task on the server");
    TaskDoc::load(&stored.doc).expect("load")
}

/// A second tablet of the squad, without a window: enrolled as `person`,
/// synced. Answers the first assigned task with two inspectors and who the
/// other inspector is.
fn squad_tablet(
    dir: &Path,
    server: &ServerProcess,
    data: &Path,
    person: &str,
) -> (Tablet, TaskView, String) {
    let mut tablet = Tablet::open(dir).expect("tablet");
    tablet
        .enroll(&enroll_link(server, data, person), None, "队友平板")
        .expect("enroll");
    sync(&mut tablet);
    let rows = tablet
        .store
        .list_tasks(&fieldloop_tablet::TaskQuery {
            statuses: vec![Status::Assigned],
            limit: Some(50),
            ..Default::default()
        })
        .expect("list");
    let view = rows
        .iter()
        .map(|r| tablet.task_view(&r.id).expect("view"))
        .find(|v| {
            v.inspectors.len() == 2
                && v.inspectors.iter().any(|i| i.id == person)
                && v.groups.len() >= 2
        })
        .expect("an assigned joint task with two inspectors");
    let other = view
        .inspectors
        .iter()
        .find(|i| i.id != person)
        .expect("other")
        .id
        .clone();
    (tablet, view, other)
}

/// Runs blocking work (the sync client's blocking HTTP) off the test's async runtime.
fn off_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| s.spawn(f).join().expect("no panic"))
}

fn sync(tablet: &mut Tablet) {
    let blobs = fieldloop_tablet::blobs::BlobStore::open_for(tablet.dir()).expect("blobs");
    fieldloop_tablet::background::sync_tablet(&mut tablet.store, &blobs, &mut |_| {})
        .expect("sync");
}

/// A real JPEG, as a camera would give it (small, to keep the test quick);
/// a different picture for each `n`.
fn jpeg(dir: &Path, n: u8) -> std::path::PathBuf {
    let img = image::RgbImage::from_fn(1200, 900, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, n])
    });
    let path = dir.join(format!("现场照片-{n}.jpg"));
    img.save_with_format(&path, image::ImageFormat::Jpeg)
        .expect("jpeg");
    path
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// Enrolls the app through its enrollment screen with `link`.
async fn enroll(app: &App, link: &str) {
    app.find("enroll-screen").await;
    app.shot("01-enroll").await;
    app.type_into("enroll-code", link).await;
    app.click("enroll-submit").await;
    app.find("task-row").await;
}

/// Opens the task `code` from the list.
async fn open_task(app: &App, code: &str) {
    app.type_into("task-search", code).await;
    app.wait_until(
        "one row",
        "return document.querySelectorAll(\"[data-testid='task-row']\").length === 1;",
    )
    .await;
    app.click("task-row").await;
    app.find("task-screen").await;
}

/// Sends a position as the platform's location service would.
async fn inject_fix(app: &App, lat: f64, lon: f64) {
    app.js(
        "window.dispatchEvent(new CustomEvent('fieldloop:fix', { detail: { lat: arguments[0], lon: arguments[1], accuracy: 5 } })); return true;",
        vec![json!(lat), json!(lon)],
    )
    .await;
}

async fn check_in(app: &App, person: &str) {
    app.click("tab-overview").await;
    inject_fix(app, 25.61, 115.31).await;
    app.click("check-in").await;
    app.wait_until(
        "checked in",
        &format!("return document.querySelector(\"[data-testid='inspector'][data-person='{person}']\")?.getAttribute('data-checked-in') === 'true';"),
    )
    .await;
}

/// Answers every item `pass` (attaching a photo where evidence is
/// required), except `fail_item`, answered `fail`.
async fn answer_all(app: &App, view: &TaskView, fail_item: Option<&str>, photos: &Path) {
    app.click("tab-checklist").await;
    let mut n = 0;
    for group in &view.groups {
        for item in &group.items {
            let sel = format!("[data-testid='item'][data-item-id='{}']", item.id);
            let (button, result) = if Some(item.id.as_str()) == fail_item {
                ("outcome-fail", "fail")
            } else {
                ("outcome-pass", "pass")
            };
            app.click_css(&format!("{sel} [data-testid='{button}']"))
                .await;
            app.wait_until(
                "answered",
                &format!("return document.querySelector(\"{sel}\")?.getAttribute('data-result') === '{result}';"),
            )
            .await;
            if item.requires_evidence {
                n += 1;
                attach(app, &sel, &jpeg(photos, n)).await;
            }
        }
    }
}

/// Attaches `photo` through the item's file input.
async fn attach(app: &App, item_sel: &str, photo: &Path) {
    let input = app
        .client
        .find(fantoccini::Locator::Css(&format!(
            "{item_sel} [data-testid='item-photo-input']"
        )))
        .await
        .expect("photo input");
    app.reveal(&input).await;
    input
        .send_keys(&photo.to_string_lossy())
        .await
        .expect("choose the file");
    // The thumbnail is drawn from the app's blob scheme: the web view
    // loaded and decoded it itself.
    app.wait_until(
        "thumbnail shown",
        &format!(
            "const img = document.querySelector(\"{item_sel} [data-testid='evidence-thumb'] img\");
             return img !== null && img.src.startsWith('fieldloop-blob:') && img.complete && img.naturalWidth > 0;"
        ),
    )
    .await;
}

/// Draws a signature on the pad and saves it.
async fn sign(app: &App) {
    app.click("tab-signatures").await;
    let pad = app.find("signature-pad").await;
    app.js(
        "const c = arguments[0]; const r = c.getBoundingClientRect();
         const at = (type, x, y) => c.dispatchEvent(new PointerEvent(type, { bubbles: true, pointerId: 1, pointerType: 'pen', isPrimary: true, buttons: 1, clientX: r.left + x, clientY: r.top + y }));
         at('pointerdown', 20, 40);
         for (let i = 1; i <= 30; i++) at('pointermove', 20 + i * 8, 40 + Math.sin(i / 3) * 25);
         at('pointerup', 260, 40);
         return true;",
        vec![serde_json::to_value(&pad).expect("element")],
    )
    .await;
    app.click("signature-save").await;
    app.find("record-signature").await;
}

/// Records on the signatures tab that the business's representative refused to sign.
async fn refuse_for_the_business(app: &App) {
    app.js(
        "const s = document.querySelector(\"[data-testid='signer-role']\");
         s.value = 'enterprise';
         s.dispatchEvent(new Event('change', { bubbles: true }));
         return true;",
        vec![],
    )
    .await;
    app.type_into("refuse-reason", "对检查结论有异议").await;
    app.click("signature-refuse").await;
    app.wait_until(
        "the refusal is listed",
        "return document.querySelectorAll(\"[data-testid='record-signature']\").length >= 2;",
    )
    .await;
}

/// A signature as a pad would give it: a PNG of a few strokes.
fn signature_png() -> Vec<u8> {
    let img = image::GrayImage::from_fn(300, 120, |x, y| {
        image::Luma([if (x * 3 + y) % 11 == 0 { 0 } else { 255 }])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .expect("png");
    out.into_inner()
}

/// Syncs until a sync that started after this call ends with nothing
/// waiting. An edit that lands while a sync runs (a batch of trace points,
/// say) waits for the next one, so "sync now" is pressed again as a user would.
async fn sync_and_wait(app: &App) {
    for _ in 0..5 {
        let before = app
            .js(
                "return Number(document.querySelector(\"[data-testid='sync-status']\")?.getAttribute('data-last-synced') ?? 0);",
                vec![],
            )
            .await
            .as_f64()
            .unwrap_or(0.0);
        app.click("sync-now").await;
        let done = format!(
            "const s = document.querySelector(\"[data-testid='sync-status']\");
             const w = document.querySelector(\"[data-testid='sync-waiting']\");
             return s?.getAttribute('data-phase') === 'synced'
                 && Number(s.getAttribute('data-last-synced')) > {before}
                 && (w === null || (w.getAttribute('data-tasks') === '0' && w.getAttribute('data-files') === '0'));"
        );
        if app
            .poll_until(&done, std::time::Duration::from_secs(10))
            .await
        {
            return;
        }
    }
    let _ = app.shot("failure").await;
    panic!("no sync ended with nothing waiting after 5 tries");
}

#[test]
fn an_inspection_from_enrollment_to_resubmission_in_the_real_window() {
    let _window = WINDOW.lock().unwrap_or_else(|p| p.into_inner());
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("server");
    let server = ServerProcess::start(&data, "127.0.0.1:0", true);
    let (mut mate, view, me) = squad_tablet(&tmp.path().join("mate"), &server, &data, "I-001");
    let app_dir = tmp.path().join("app");
    let link = enroll_link(&server, &data, &me);
    let first = &view.groups[0].items[0].id;

    runtime().block_on(async {
        let app = App::launch(&[("FIELDLOOP_DATA_DIR", app_dir.to_str().expect("utf-8"))]).await;
        enroll(&app, &link).await;
        let shown = app.text("identity").await;
        assert!(shown.contains(&mate.directory.inspector_name(&me)), "{shown}");
        app.shot("02-task-list").await;
        // English on request, and back.
        app.click("lang-switch").await;
        app.wait_until(
            "English",
            "return document.documentElement.lang === 'en-GB';",
        )
        .await;
        let title = app.text("app-title").await;
        let han = |c: char| ('\u{4e00}'..='\u{9fff}').contains(&c);
        assert!(!title.is_empty() && !title.chars().any(han), "{title}");
        app.shot("02-task-list-en").await;
        app.click("lang-switch").await;
        app.wait_until("Chinese", "return document.documentElement.lang === 'zh-CN';")
            .await;

        // The squad mate checks in and records the first item as failed.
        mate.check_in(&view.id, now_ms(), None).expect("mate checks in");
        mate.answer(&view.id, now_ms(), first, Some(Outcome::Fail), None, Some("灭火器过期"))
            .expect("mate answers");
        mate.sign(&view.id, now_ms(), SignerRole::Inspector, "I-001", &signature_png())
            .expect("mate signs on their own tablet");
        off_runtime(|| sync(&mut mate));

        open_task(&app, &view.code).await;
        check_in(&app, &me).await;
        app.shot("03-task-overview").await;
        answer_all(&app, &view, None, tmp.path()).await;
        app.shot("04-checklist").await;
        // The same screen held upright (800 × 1280).
        app.client.set_window_size(800, 1280).await.expect("portrait");
        app.shot("04-checklist-portrait").await;
        app.client.set_window_size(1280, 800).await.expect("landscape");
        sign(&app).await;
        refuse_for_the_business(&app).await;
        app.shot("05-signatures").await;

        // Sync: the two answers of the first item meet.
        sync_and_wait(&app).await;
        app.click("tab-submit").await;
        let text = app
            .text_css(&format!("[data-testid='conflict'][data-path='checklist/{first}/answer/result']"))
            .await;
        assert!(text.contains(&mate.directory.inspector_name("I-001")) || text.contains("I-001"), "{text}");
        app.shot("06-conflict").await;
        // Keep the mate's "fail": pick the value written by the mate's device.
        let mate_actor = mate.author().expect("author").actor.to_hex_string();
        let pick = app
            .find_css(&format!(
                "[data-testid='conflict'][data-path='checklist/{first}/answer/result'] [data-testid='conflict-pick'][data-op$='{mate_actor}']"
            ))
            .await;
        app.reveal(&pick).await;
        pick.click().await.expect("pick");
        app.find("submit-ready").await;
        app.click("submit").await;
        app.click("submit-confirm").await;
        app.wait_attr("task-screen", "data-status", "submitted").await;
        sync_and_wait(&app).await;

        let doc = on_server(&data, &view.id);
        let task = doc.task().expect("task");
        assert_eq!(doc.status().expect("status"), Status::Submitted);
        assert_eq!(task.checklist[first].answer.result, Some(Outcome::Fail));
        assert!(doc.conflicts().expect("conflicts").is_empty());
        assert!(task.signatures.iter().any(|s| s.by == me && s.image.is_some()));
        let photo_sha = task
            .evidence
            .values()
            .find(|e| e.kind == fieldloop_core::EvidenceKind::Photo)
            .map(|e| e.sha256.clone());
        if view.groups.iter().flat_map(|g| &g.items).any(|i| i.requires_evidence) {
            let sha = photo_sha.expect("the photo is on the server's record");
            let id = fieldloop_core::blob::BlobId::parse(&sha).expect("id");
            assert!(data.join("blobs").join(id.relative_path()).exists(), "photo uploaded");
        }

        // The supervisor returns it through the server's review API.
        let store = SqliteStore::open(&data).expect("store");
        let (_, token) =
            fieldloop_server::review::add_supervisor(&store, "S-001", &view.team, now_ms())
                .expect("supervisor");
        fieldloop_tablet::tls::install_crypto();
        let answer = reqwest::Client::new()
            .post(format!("{}/api/v1/tasks/{}/review", server.url, view.id))
            .bearer_auth(&token)
            .json(&json!({ "action": "return", "comment": "请补充第一项的整改说明" }))
            .send()
            .await
            .expect("review");
        assert_eq!(answer.status().as_u16(), 200);

        sync_and_wait(&app).await;
        app.wait_attr("task-screen", "data-status", "returned").await;
        let comment = app.text("return-comment").await;
        assert!(comment.contains("请补充第一项的整改说明"), "{comment}");
        app.shot("07-returned").await;

        // Fix and resubmit.
        app.click("tab-checklist").await;
        let note = app
            .find_css(&format!("[data-testid='item'][data-item-id='{first}'] [data-testid='item-note']"))
            .await;
        app.reveal(&note).await;
        note.clear().await.expect("clear");
        note.send_keys("已责令三日内更换灭火器").await.expect("type");
        // Leaving the field saves it; once stored, the task waits for the next sync.
        app.js("document.activeElement.blur(); return true;", vec![])
            .await;
        app.find("task-dirty").await;
        app.click("tab-submit").await;
        app.find("submit-ready").await;
        app.click("submit").await;
        app.click("submit-confirm").await;
        app.wait_attr("task-screen", "data-status", "submitted").await;
        sync_and_wait(&app).await;
        app.click("tab-timeline").await;
        app.find("timeline-entry").await;
        app.shot("08-timeline").await;
        app.quit().await;
    });

    let doc = on_server(&data, &view.id);
    assert_eq!(doc.status().expect("status"), Status::Submitted);
    assert_eq!(
        doc.task().expect("task").checklist[first]
            .answer
            .note
            .as_deref(),
        Some("已责令三日内更换灭火器")
    );
}

#[test]
fn work_done_while_the_server_is_gone_is_kept_and_synced_when_it_is_back() {
    let _window = WINDOW.lock().unwrap_or_else(|p| p.into_inner());
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("server");
    let mut server = ServerProcess::start(&data, "127.0.0.1:0", true);
    let addr = server.addr().to_owned();
    let (_mate, view, me) = squad_tablet(&tmp.path().join("mate"), &server, &data, "I-001");
    let photo = jpeg(tmp.path(), 1);
    let app_dir = tmp.path().join("app");
    let link = enroll_link(&server, &data, &me);
    let first = view.groups[0].items[0].id.clone();
    let second_dept = view.groups[1].items[0].id.clone();

    runtime().block_on(async {
        let app = App::launch(&[("FIELDLOOP_DATA_DIR", app_dir.to_str().expect("utf-8"))]).await;
        enroll(&app, &link).await;
        open_task(&app, &view.code).await;

        server.kill();
        check_in(&app, &me).await;
        app.click("tab-checklist").await;
        for item in [&first, &second_dept] {
            let sel = format!("[data-testid='item'][data-item-id='{item}']");
            app.click_css(&format!("{sel} [data-testid='outcome-pass']")).await;
            app.wait_until(
                "answered",
                &format!("return document.querySelector(\"{sel}\")?.getAttribute('data-result') === 'pass';"),
            )
            .await;
        }
        attach(&app, &format!("[data-testid='item'][data-item-id='{first}']"), &photo).await;
        app.click("sync-now").await;
        app.wait_attr("sync-status", "data-phase", "offline").await;
        let waiting = app.text("sync-waiting").await;
        assert!(waiting.contains('1'), "one task waits: {waiting}");
        app.shot("09-offline").await;

        // The work survives a restart of the app while offline.
        app.quit().await;
        let app = App::launch(&[("FIELDLOOP_DATA_DIR", app_dir.to_str().expect("utf-8"))]).await;
        open_task(&app, &view.code).await;
        app.click("tab-checklist").await;
        app.wait_until(
            "answer kept",
            &format!("return document.querySelector(\"[data-testid='item'][data-item-id='{first}']\")?.getAttribute('data-result') === 'pass';"),
        )
        .await;

        let _server = ServerProcess::start(&data, &addr, false);
        sync_and_wait(&app).await;
        let task = on_server(&data, &view.id).task().expect("task");
        assert_eq!(task.checklist[&first].answer.result, Some(Outcome::Pass));
        assert_eq!(task.checklist[&second_dept].answer.result, Some(Outcome::Pass));
        let sha = &task.checklist[&first].evidence[0];
        let id = fieldloop_core::blob::BlobId::parse(sha).expect("id");
        assert!(data.join("blobs").join(id.relative_path()).exists(), "photo uploaded");
        assert!(
            task.status_report().checked_in.contains(&me),
            "the offline check-in reached the server"
        );

        // The tablet is reported lost: the administrator revokes it. An
        // edit made meanwhile never reaches the server; the next contact
        // erases the tablet, which first names that edit's task.
        let device = {
            let store = fieldloop_tablet::store::Store::open(&app_dir).expect("app store");
            store
                .setting(fieldloop_tablet::sync::keys::DEVICE)
                .expect("read")
                .expect("enrolled device")
        };
        let revoked = std::process::Command::new(fieldloop_tests::process::target_binary("fieldloop-server"))
            .args(["revoke", "--data"])
            .arg(&data)
            .args(["--device", &device])
            .output()
            .expect("revoke");
        assert!(revoked.status.success(), "{}", String::from_utf8_lossy(&revoked.stderr));
        let sel = format!("[data-testid='item'][data-item-id='{second_dept}']");
        app.click_css(&format!("{sel} [data-testid='outcome-fail']")).await;
        app.find("task-dirty").await;
        app.click("sync-now").await;
        app.wait_attr("wipe-screen", "data-phase", "done").await;
        let lost = app.text("wipe-lost").await;
        assert!(lost.contains(&view.code), "the unsynced task is named: {lost}");
        app.shot("10-wiped").await;
        let subject = view.subject_name.clone();
        let mut left = Vec::new();
        for file in files_under(&app_dir) {
            left.extend(std::fs::read(&file).unwrap_or_default());
        }
        assert!(
            !left.windows(subject.len()).any(|w| w == subject.as_bytes()),
            "the subject's name is gone from the tablet's data"
        );
        app.click("wipe-enroll").await;
        app.find("enroll-screen").await;
        app.quit().await;
    });
}

/// Every file under `dir`.
fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// The `/proc` folder of the running app whose `FIELDLOOP_DATA_DIR` is `dir`,
/// and its environment.
fn app_process(dir: &Path) -> (std::path::PathBuf, Vec<String>) {
    let app = fieldloop_tests::process::target_binary("fieldloop-app");
    let wanted = format!("FIELDLOOP_DATA_DIR={}", dir.display());
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let exe = std::fs::read_link(entry.path().join("exe")).unwrap_or_default();
        if exe != app {
            continue;
        }
        let environ = std::fs::read(entry.path().join("environ")).unwrap_or_default();
        let vars: Vec<String> = environ
            .split(|b| *b == 0)
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .collect();
        if vars.contains(&wanted) {
            return (entry.path(), vars);
        }
    }
    panic!("no running app with {wanted}");
}

#[test]
fn the_app_as_shipped_draws_without_compositing_and_shows_its_tasks() {
    let _window = WINDOW.lock().unwrap_or_else(|p| p.into_inner());
    let tmp = tempfile::tempdir().expect("tempdir");
    let app_dir = tmp.path().join("app");
    {
        let mut tablet = Tablet::open(&app_dir).expect("tablet");
        fieldloop_tablet::demo::seed(&mut tablet.store, 40, now_ms()).expect("seed");
        // Acts for the first inspector of those tasks, as FIELDLOOP_DEMO does.
        tablet.adopt_demo_identity().expect("identity");
    }
    runtime().block_on(async {
        let app = App::launch(&[
            ("FIELDLOOP_DATA_DIR", app_dir.to_str().expect("utf-8")),
            ("FIELDLOOP_WEBVIEW_GPU", "0"),
        ])
        .await;
        app.find("task-row").await;
        // The app started itself again with WebKit's switch set, and with
        // OpenGL off in its own process: the render device is named (none
        // on a machine without a GPU) rather than asked of EGL.
        let (proc_dir, env) = app_process(&app_dir);
        let mut nodes: Vec<String> = std::fs::read_dir("/dev/dri")
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path().display().to_string())
            .filter(|p| p.starts_with("/dev/dri/renderD"))
            .collect();
        nodes.sort();
        let device = nodes.first().cloned().unwrap_or("/dev/null".into());
        for var in [
            "WEBKIT_DISABLE_COMPOSITING_MODE=1".to_string(),
            "GDK_GL=disable".into(),
            "WEBKIT_DISABLE_DMABUF_RENDERER=1".into(),
            format!("WEBKIT_WEB_RENDER_DEVICE_FILE={device}"),
        ] {
            assert!(env.contains(&var), "{var} not in {env:?}");
        }
        // So no Mesa driver (and no LLVM, 44 MiB of it) in the app's memory.
        let maps = std::fs::read_to_string(proc_dir.join("maps")).expect("maps");
        let drivers: Vec<&str> = maps
            .lines()
            .filter(|line| line.contains("/dri/") || line.contains("libLLVM"))
            .collect();
        assert!(drivers.is_empty(), "{drivers:?}");
        // The list is virtualised: 40 tasks, fewer rows in the page, and
        // the last one there once the list is scrolled to its end.
        let count = app.find("task-count").await.text().await.expect("count");
        assert!(count.contains("40"), "{count}");
        let rows = app
            .client
            .execute(
                "return document.querySelectorAll(\"[data-testid='task-row']\").length;",
                vec![],
            )
            .await
            .expect("rows");
        let rows = rows.as_u64().expect("a count");
        assert!((1..40).contains(&rows), "{rows} rows in the page");
        app.client
            .execute(
                "const list = document.querySelector(\"[data-testid='task-rows']\"); let el = list.parentElement; while (el && !/auto|scroll/.test(getComputedStyle(el).overflowY)) el = el.parentElement; (el || document.scrollingElement).scrollTop = 1e9;",
                vec![],
            )
            .await
            .expect("scroll");
        app.wait_until(
            "the last task in the page",
            "return [...document.querySelectorAll(\"[data-testid='task-row']\")].some(r => r.getAttribute('aria-posinset') === '40');",
        )
        .await;
        app.quit().await;
    });
}
