//! The supervisors' console end to end in headless Chromium, against the
//! real `fieldloop-server --demo` binary and real (headless) tablets of the
//! `tablet` crate: a squad records an inspection with photos, a trace and a
//! conflict resolved, and submits; the supervisor signs in, checks the
//! dashboard against the server, reads the record (photos, trace on the
//! map, timeline), returns it with a comment; the tablet fixes and
//! resubmits; the supervisor approves and publishes. A task made by hand
//! reaches a tablet; an administrator turns an inspector off and the
//! inspector's tablet is refused. Screenshots of each screen go to
//! `docs/screenshots/console-*.png`.
//!
//! Needs `chromium` and `chromium-driver` (`cargo xtask setup`).

mod after_visit;
mod browser;

use std::path::Path;

use browser::Browser;
use fieldloop_core::{GeoPoint, Outcome, Resolution, SignerRole, Status, TaskDoc};
use fieldloop_server::console::TaskFilter;
use fieldloop_server::store::Store;
use fieldloop_server::store::sqlite::SqliteStore;
use fieldloop_tablet::background::now_ms;
use fieldloop_tablet::inspect::{Fix, Tablet, TaskView};
use fieldloop_tests::process::ServerProcess;

const SUPERVISOR: &str = fieldloop_server::demo::DEMO_SUPERVISOR;
const ADMIN: &str = fieldloop_server::demo::DEMO_ADMIN;
const PASSWORD: &str = fieldloop_server::demo::DEMO_SUPERVISOR_PASSWORD;

fn enroll_link(server: &ServerProcess, data: &Path, person: &str) -> String {
    let store = SqliteStore::open(data).expect("server store");
    let code = fieldloop_server::enroll::issue_code(&store, person, now_ms(), 3_600_000)
        .expect("enrollment code");
    format!("fieldloop://enroll?server={}&code={code}", server.url)
}

fn on_server(data: &Path, id: &str) -> TaskDoc {
    let store = SqliteStore::open(data).expect("server store");
    let stored = store.task(id).expect("read").expect("task on the server");
    TaskDoc::load(&stored.doc).expect("load")
}

fn tablet(dir: &Path, server: &ServerProcess, data: &Path, person: &str) -> Tablet {
    let mut tablet = Tablet::open(dir).expect("tablet");
    tablet
        .enroll(&enroll_link(server, data, person), None, "平板")
        .expect("enroll");
    sync(&mut tablet).expect("first sync");
    tablet
}

/// Runs blocking work (the sync client's blocking HTTP) off the test's async runtime.
fn off_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| s.spawn(f).join().expect("no panic"))
}

/// A document sync and the evidence upload that follows it.
fn sync(tablet: &mut Tablet) -> Result<(), fieldloop_tablet::sync::SyncError> {
    let blobs = fieldloop_tablet::blobs::BlobStore::open_for(tablet.dir()).expect("blobs");
    off_runtime(|| {
        fieldloop_tablet::background::sync_tablet(&mut tablet.store, &blobs, &mut |_| {})
            .map(|_| ())
    })
}

fn jpeg(n: u8) -> Vec<u8> {
    let img = image::RgbImage::from_fn(1200, 900, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, n])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Jpeg)
        .expect("jpeg");
    out.into_inner()
}

/// A signature as a pad would give it; a different one for each `n`.
fn signature_png(n: u32) -> Vec<u8> {
    let img = image::GrayImage::from_fn(300, 120, |x, y| {
        image::Luma([if (x * 3 + y + n).is_multiple_of(11) {
            0
        } else {
            255
        }])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .expect("png");
    out.into_inner()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// A squad of two tablets on one assigned joint task: check-ins beside
/// the registered location, a conflict on the first item's note resolved
/// for the mate's value, every item answered with photos where required,
/// a trace, signatures, the business's refusal, and the submission.
/// Answers the task and the number of photos.
fn inspect_and_submit(a: &mut Tablet, b: &mut Tablet, view: &TaskView) -> usize {
    let id = &view.id;
    let at = view.location.unwrap_or(GeoPoint {
        lat: 28.68,
        lon: 115.86,
    });
    let near = GeoPoint {
        lat: at.lat + 0.0004,
        lon: at.lon + 0.0003,
    };
    let first = view.groups[0].items[0].id.clone();
    a.check_in(id, now_ms(), Some(near)).expect("a checks in");
    b.check_in(id, now_ms(), Some(near)).expect("b checks in");
    a.answer(
        id,
        now_ms(),
        &first,
        None,
        None,
        Some("A 记录：灭火器压力不足"),
    )
    .expect("a notes");
    b.answer(
        id,
        now_ms(),
        &first,
        None,
        None,
        Some("B 记录：灭火器已过期"),
    )
    .expect("b notes");
    sync(b).expect("b syncs");
    sync(a).expect("a syncs");
    let conflicted = a.task_view(id).expect("view");
    let conflict = conflicted
        .conflicts
        .iter()
        .find(|c| c.path.last().is_some_and(|p| p == "note"))
        .expect("the two notes conflict");
    let mates = conflict
        .values
        .iter()
        .find(|v| v.value == "B 记录：灭火器已过期")
        .expect("the mate's value")
        .op
        .clone();
    a.resolve_conflict(
        id,
        now_ms(),
        &conflict.path,
        &Resolution::Pick { op: mates },
    )
    .expect("resolve");

    let mut photos = 0;
    let items: Vec<(String, bool)> = conflicted
        .groups
        .iter()
        .flat_map(|g| g.items.iter())
        .map(|i| (i.id.clone(), i.requires_evidence))
        .collect();
    for (item, requires) in &items {
        a.answer(id, now_ms(), item, Some(Outcome::Pass), None, None)
            .expect("answer");
        if *requires && photos < 4 {
            photos += 1;
            a.add_photo(id, now_ms(), Some(item), &jpeg(photos as u8), Some(near))
                .expect("photo");
        } else if *requires {
            a.answer(id, now_ms(), item, Some(Outcome::NotApplicable), None, None)
                .expect("not applicable");
        }
    }
    let t0 = now_ms();
    let fixes: Vec<Fix> = (0..6)
        .map(|n| Fix {
            t: t0 + n * 60_000,
            lat: at.lat + 0.0002 * n as f64,
            lon: at.lon + 0.0003 * n as f64,
            accuracy: 8.0,
        })
        .collect();
    a.add_trace(id, now_ms(), &fixes).expect("trace");
    for (n, person) in view.inspectors.iter().map(|i| i.id.clone()).enumerate() {
        a.sign(
            id,
            now_ms(),
            SignerRole::Inspector,
            &person,
            &signature_png(n as u32),
        )
        .expect("sign");
    }
    a.refuse_to_sign(
        id,
        now_ms(),
        SignerRole::Enterprise,
        "王五",
        "不同意检查结论",
    )
    .expect("refusal");
    a.submit(id, now_ms()).expect("submit");
    sync(a).expect("submitted");
    photos
}

async fn sign_in(browser: &Browser, url: &str, user: &str) {
    browser.goto(&format!("{url}/#/login")).await;
    browser.type_into("login-user", user).await;
    browser.type_into("login-password", PASSWORD).await;
    browser.click("login-submit").await;
    browser.find("user-name").await;
}

/// Opens the review page of `id` and waits for its status.
async fn open_record(browser: &Browser, url: &str, id: &str, status: &str) {
    browser.goto(&format!("{url}/#/tasks/{id}")).await;
    // A fresh page: nothing left open from before, the record read anew.
    browser.client.refresh().await.expect("reload");
    browser
        .find_css(&format!(
            "[data-testid='record-status'][data-status='{status}']"
        ))
        .await;
}

async fn decide(browser: &Browser, action: &str, comment: Option<&str>) {
    browser.click(&format!("action-{action}")).await;
    browser.find("action-dialog").await;
    if let Some(comment) = comment {
        browser.type_into("action-comment", comment).await;
    }
    browser.click("action-confirm").await;
}

#[test]
fn a_supervisor_reviews_returns_approves_and_publishes_in_chromium() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("server");
    let server = ServerProcess::start(&data, "127.0.0.1:0", true);
    let mut a = tablet(&tmp.path().join("a"), &server, &data, "I-001");
    let rows = a
        .store
        .list_tasks(&fieldloop_tablet::TaskQuery {
            statuses: vec![Status::Assigned],
            limit: Some(50),
            ..Default::default()
        })
        .expect("list");
    let view = rows
        .iter()
        .map(|r| a.task_view(&r.id).expect("view"))
        .find(|v| {
            v.inspectors.len() == 2
                && v.inspectors.iter().any(|i| i.id == "I-001")
                && v.groups.len() >= 2
        })
        .expect("an assigned joint task of I-001 with two inspectors");
    let mate = view
        .inspectors
        .iter()
        .find(|i| i.id != "I-001")
        .expect("mate")
        .id
        .clone();
    let mut b = tablet(&tmp.path().join("b"), &server, &data, &mate);
    let photos = inspect_and_submit(&mut a, &mut b, &view);
    assert!(photos > 0, "the demo task needs photos");
    let id = view.id.clone();

    runtime().block_on(async {
        let browser = Browser::launch().await;
        let url = &server.url;

        // Wrong password: said so, still on the sign-in page.
        browser.goto(&format!("{url}/")).await;
        browser.type_into("login-user", SUPERVISOR).await;
        browser.type_into("login-password", "wrong password").await;
        browser.click("login-submit").await;
        browser.find("login-error").await;
        browser.shot("01-login").await;
        sign_in(&browser, url, SUPERVISOR).await;

        // The dashboard's figures are the server's.
        browser.click("nav-dashboard").await;
        let store = SqliteStore::open(&data).expect("store");
        let count = |statuses: Vec<Status>| {
            store
                .list_tasks(
                    &TaskFilter {
                        statuses,
                        scope: Some(fieldloop_server::console::Scope {
                            teams: vec!["T-QX-01".into()],
                            departments: Vec::new(),
                        }),
                        ..Default::default()
                    },
                    Default::default(),
                    1,
                    1,
                    fieldloop_server::now_ms(),
                )
                .expect("list")
                .total
        };
        for status in [Status::Assigned, Status::InProgress, Status::Submitted] {
            let css = format!("[data-testid='dash-status-{status}'] [data-testid='dash-count']");
            let expected = count(vec![status]).to_string();
            browser
                .wait_until(
                    &format!("dashboard {status}"),
                    &format!(
                        "const e = document.querySelector(\"{css}\"); return !!e && e.textContent.trim() === '{expected}';"
                    ),
                )
                .await;
        }
        browser.find("dash-chart-status").await;
        browser.shot("02-dashboard").await;

        // The list, filtered by a click on the dashboard's submitted figure.
        browser.click("dash-status-submitted").await;
        browser
            .find_css(&format!("[data-testid='task-row'][data-task-id='{id}']"))
            .await;
        assert_eq!(
            browser.count("[data-testid='task-row']").await as u64,
            count(vec![Status::Submitted])
        );
        browser.shot("03-task-list").await;

        // The record as synced: items, photos, the map, the timeline.
        browser
            .click_css(&format!("[data-testid='task-row'][data-task-id='{id}']"))
            .await;
        browser
            .find_css("[data-testid='record-status'][data-status='submitted']")
            .await;
        let items: usize = view.groups.iter().map(|g| g.items.len()).sum();
        assert_eq!(browser.count("[data-testid='record-item']").await, items);
        // Every piece of evidence (photos and signatures) once, each thumbnail
        // loaded from the server (they load lazily: scrolled to in turn).
        let record = on_server(&data, &id).task().expect("task");
        let evidence = record.evidence.len();
        assert_eq!(evidence, photos + view.inspectors.len());
        browser
            .wait_until(
                "every thumbnail loaded",
                &format!(
                    "const imgs = [...document.querySelectorAll(\"[data-testid='record-photo']\")]; \
                     imgs.filter(i => !i.complete).forEach(i => i.scrollIntoView()); \
                     return imgs.length === {evidence} && imgs.every(i => i.complete && i.naturalWidth > 0);"
                ),
            )
            .await;
        browser.js("window.scrollTo(0, 0); return true;").await;
        let history = on_server(&data, &id).history().expect("history");
        assert_eq!(
            browser.count("[data-testid='timeline-entry']").await,
            history.len()
        );
        browser.find("record-map").await;
        let distance = browser.text("map-distance").await;
        assert!(
            distance.chars().any(|c| c.is_ascii_digit()),
            "distance shown: {distance}"
        );
        assert!(
            browser.count(".leaflet-interactive").await > 0,
            "the trace and points are drawn"
        );
        assert_eq!(record.trace.len(), 6);
        browser.shot("04-review").await;

        // The full view of a photo shows its SHA-256.
        browser.click_css("[data-testid='record-photo']").await;
        let sha = browser.text("photo-sha256").await;
        assert!(record.evidence.contains_key(sha.trim()), "{sha}");
        browser.shot("05-photo").await;

        // Return with a comment; the tablet gets it, fixes and resubmits.
        open_record(&browser, url, &id, "submitted").await;
        decide(&browser, "return", Some("灭火器照片不清晰，请补拍")).await;
        browser
            .find_css("[data-testid='record-status'][data-status='returned']")
            .await;
        browser.shot("06-returned").await;
        sync(&mut a).expect("sync the return");
        let returned = a.task_view(&id).expect("view");
        assert_eq!(returned.status, Some(Status::Returned));
        assert_eq!(
            returned.return_comment.as_deref(),
            Some("灭火器照片不清晰，请补拍")
        );
        let first = &view.groups[0].items[0].id;
        a.answer(&id, now_ms(), first, None, None, Some("已补拍"))
            .expect("fix");
        a.submit(&id, now_ms()).expect("resubmit");
        sync(&mut a).expect("resubmitted");

        open_record(&browser, url, &id, "submitted").await;
        decide(&browser, "approve", None).await;
        browser
            .find_css("[data-testid='record-status'][data-status='approved']")
            .await;
        decide(&browser, "publish", None).await;
        browser
            .find_css("[data-testid='record-status'][data-status='published']")
            .await;
        assert_eq!(
            on_server(&data, &id).status().expect("status"),
            Status::Published
        );
        sync(&mut a).expect("sync");
        assert_eq!(
            a.task_view(&id).expect("view").status,
            Some(Status::Published)
        );

        // A task made by hand reaches the tablet.
        browser.click("nav-new-task").await;
        browser.type_into("new-subject", "92360736MA36XJ6832").await;
        browser.click("new-subject-option").await;
        browser.find("new-subject-chosen").await;
        browser
            .click_css("[data-testid='new-team'] [data-team-id='T-QX-01']")
            .await;
        for person in ["I-001", &mate] {
            browser
                .click_css(&format!(
                    "[data-testid='new-inspectors'] [data-inspector-id='{person}']"
                ))
                .await;
        }
        browser.shot("07-new-task").await;
        browser.click("new-submit").await;
        let made = browser.find("record-code").await.text().await.expect("code");
        let before = a.store.list_tasks(&Default::default()).expect("list").len();
        sync(&mut a).expect("sync");
        let after = a.store.list_tasks(&Default::default()).expect("list");
        assert_eq!(after.len(), before + 1);
        assert!(after.iter().any(|r| r.code == made.trim()), "{made}");

        // An administrator turns the mate off; the mate's tablet is refused.
        browser.click("logout").await;
        browser.find("login-user").await;
        sign_in(&browser, url, ADMIN).await;
        browser.click("nav-inspectors").await;
        browser
            .click_css(&format!(
                "[data-inspector-id='{mate}'] [data-testid='inspector-active']"
            ))
            .await;
        let refused = (0..50)
            .find_map(|_| match sync(&mut b) {
                Err(e) => Some(e),
                Ok(()) => {
                    std::thread::sleep(std::time::Duration::from_millis(100));
                    None
                }
            })
            .expect("the mate's tablet is refused");
        assert_eq!(refused.code(), "auth.inactive");
        browser.shot("08-inspectors").await;

        // The administrator corrects an inspector's name in the directory;
        // the inspector's tablet greets them by it after its next sync.
        browser.click("nav-directory").await;
        browser.click_css("#tab-inspectors").await;
        browser
            .click_css("[data-testid='directory-row'][data-key='I-001'] [data-testid='directory-edit']")
            .await;
        browser.find("directory-dialog").await;
        let corrected = "钟志强（已更正）";
        browser.type_into("directory-field-name", corrected).await;
        browser
            .wait_until(
                "the dialog done opening",
                "return document.querySelector('.dialog-fade-enter-active, .el-overlay-fade-enter-active, .dialog-fade-enter-from') === null;",
            )
            .await;
        browser.shot("09-directory").await;
        browser.click("directory-save").await;
        browser
            .wait_until(
                "the corrected name in the list",
                &format!(
                    "return [...document.querySelectorAll(\"[data-testid='directory-row'][data-key='I-001']\")].some((r) => r.textContent.includes('{corrected}'));"
                ),
            )
            .await;
        assert_ne!(
            a.identity().expect("identity").expect("enrolled").name,
            corrected
        );
        sync(&mut a).expect("sync");
        assert_eq!(
            a.identity().expect("identity").expect("enrolled").name,
            corrected
        );

        // A file with a bad row is refused whole, its problem listed by line.
        let file = tmp.path().join("inspectors.csv");
        std::fs::write(
            &file,
            "id,name,badge_no,department,team\nI-901,新同事,36073699001,SCJG,T-QX-01\nI-902,走错队伍,36073699002,SCJG,T-NOWHERE\n",
        )
        .expect("csv");
        browser.click("nav-import").await;
        browser
            .find("import-file")
            .await
            .send_keys(file.to_str().expect("utf-8"))
            .await
            .expect("choose the file");
        browser.find("import-format").await;
        browser.click("import-submit").await;
        browser.find("import-refusal").await;
        let problems = browser.text("import-problems").await;
        assert!(problems.contains('3') && problems.contains("T-NOWHERE"), "{problems}");
        browser
            .wait_until(
                "the earlier notice gone",
                "return document.querySelector('.el-message') === null;",
            )
            .await;
        browser.shot("10-import").await;
        let store = SqliteStore::open(&data).expect("store");
        assert!(store.inspector("I-901").expect("read").is_none(), "nothing imported");

        browser.quit().await;
    });
}

/// Fills the new-plan form as a supervisor: one department, the catering
/// handbook's items of it, the squad, the default window and ratios.
async fn new_plan(browser: &Browser, name: &str, department: &str) {
    browser.click("nav-plans").await;
    browser.click("plan-new").await;
    browser.find("plan-form").await;
    browser.type_into("plan-name", name).await;
    browser
        .click_css(&format!(
            "[data-testid='plan-departments'] [data-department='{department}']"
        ))
        .await;
    browser.type_into("plan-handbook", "catering").await;
    browser.click("plan-handbook-load").await;
    browser.find("plan-handbook-note").await;
    browser
        .click_css("[data-testid='plan-teams'] [data-team-id='T-QX-01']")
        .await;
    browser
        .type_into(
            "plan-entropy-source-0",
            "中国福利彩票3D 开奖号码（锁定后的下一期）",
        )
        .await;
    browser.click("plan-save").await;
    browser
        .find_css(&format!(
            "[data-testid='plan-row'][data-plan-name='{name}'][data-state='draft']"
        ))
        .await;
}

#[test]
fn a_supervisor_plans_draws_a_joint_visit_that_reaches_the_tablet_and_verifies_in_chromium() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("server");
    let server = ServerProcess::start(&data, "127.0.0.1:0", true);
    let mut a = tablet(&tmp.path().join("a"), &server, &data, "I-001");
    let before: std::collections::BTreeSet<String> = a
        .store
        .list_tasks(&Default::default())
        .expect("list")
        .into_iter()
        .map(|r| r.id)
        .collect();
    const MARKET: &str = "市场监管双随机抽查";
    const FIRE: &str = "消防安全双随机抽查";

    let draw_id = runtime().block_on(async {
        let browser = Browser::launch().await;
        let url = &server.url;
        sign_in(&browser, url, SUPERVISOR).await;
        new_plan(&browser, MARKET, "SCJG").await;
        new_plan(&browser, FIRE, "XFJY").await;
        browser.shot("11-plans").await;
        for name in [MARKET, FIRE] {
            browser
                .click_css(&format!(
                    "[data-testid='plan-row'][data-plan-name='{name}'] [data-testid='plan-fix']"
                ))
                .await;
            browser.click("fix-dialog-confirm").await;
            browser
                .find_css(&format!(
                    "[data-testid='plan-row'][data-plan-name='{name}'][data-state='fixed'] [data-testid='plan-commitment']"
                ))
                .await;
        }
        // The commitments are public before the entropy exists.
        let announced: serde_json::Value = reqwest::get(format!("{url}/api/v1/public/draws"))
            .await
            .expect("public")
            .json()
            .await
            .expect("json");
        assert_eq!(announced["announced"].as_array().map(Vec::len), Some(2));

        // The second person types in the entropy.
        browser.click("logout").await;
        browser.find("login-user").await;
        sign_in(&browser, url, ADMIN).await;
        // The fixing's toasts sit over the narrow menu until they fade; a
        // click on the plans link under one opens nothing (a cold CI run).
        browser
            .wait_until(
                "the toasts gone",
                "return document.querySelectorAll('.el-message').length === 0;",
            )
            .await;
        browser.click("nav-plans").await;
        for (name, value) in [(MARKET, "3 8 1"), (FIRE, "0 7 2")] {
            browser
                .click_css(&format!(
                    "[data-testid='plan-row'][data-plan-name='{name}'] [data-testid='plan-entropy']"
                ))
                .await;
            browser.type_into("entropy-value-0", value).await;
            browser.click("entropy-submit").await;
            browser
                .find_css(&format!(
                    "[data-testid='plan-row'][data-plan-name='{name}'] [data-testid='plan-entropy-state'][data-entered='true']"
                ))
                .await;
        }

        // Preview: the joint visits are shown; commit.
        browser.click("nav-draws").await;
        for name in [MARKET, FIRE] {
            browser
                .click_css(&format!(
                    "[data-testid='draw-plan'][data-plan-name='{name}'][data-ready='true']"
                ))
                .await;
        }
        browser.click("draw-preview").await;
        browser.find("draw-result").await;
        let joint = browser
            .find_css("[data-testid='draw-task'][data-joint='true']")
            .await;
        let plans = joint.text().await.expect("text");
        assert!(plans.contains(MARKET) && plans.contains(FIRE), "{plans}");
        browser.shot("12-draw-preview").await;
        browser.click("draw-commit").await;
        browser.click("commit-dialog-confirm").await;
        let done = browser.find("draw-done").await;
        let draw_id = done
            .attr("data-draw-id")
            .await
            .expect("attr")
            .expect("a draw id");
        let href = browser
            .find("draw-public-link")
            .await
            .attr("href")
            .await
            .expect("attr")
            .expect("href");
        assert!(href.ends_with(&format!("/public/draws/{draw_id}")), "{href}");
        browser.shot("13-draw-done").await;

        // The public page, as a phone would see it.
        browser.goto(&format!("{url}/public/draws/{draw_id}")).await;
        let page = browser.text_css("main").await;
        assert!(page.contains(MARKET) && page.contains("3 8 1"), "{page}");
        assert!(!page.contains("risk_class"));
        browser.shot("14-public-draw").await;
        browser.quit().await;
        draw_id
    });

    // The downloaded record verifies with the real binary, against the pools.
    let record = reqwest::blocking::get(format!(
        "{}/api/v1/public/draws/{draw_id}/record.json",
        server.url
    ))
    .expect("record")
    .text()
    .expect("text");
    let store = SqliteStore::open(&data).expect("store");
    let pools = store.draw_pools(&draw_id).expect("read").expect("pools");
    let record_path = tmp.path().join(format!("record-{draw_id}.json"));
    let pools_path = tmp.path().join(format!("pools-{draw_id}.json"));
    std::fs::write(&record_path, &record).expect("write");
    std::fs::write(&pools_path, &pools).expect("write");
    let verify =
        std::process::Command::new(fieldloop_tests::process::target_binary("fieldloop-server"))
            .args(["draw", "verify"])
            .arg(&record_path)
            .arg("--pools")
            .arg(&pools_path)
            .output()
            .expect("draw verify");
    let said = String::from_utf8_lossy(&verify.stdout);
    assert!(
        verify.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&verify.stderr)
    );
    assert!(said.contains("recomputed from the pools"), "{said}");
    // One subject swapped: refused, the place named.
    let mut forged: serde_json::Value = serde_json::from_str(&record).expect("json");
    let selected = forged["plans"][0]["selected"]
        .as_array_mut()
        .expect("selected");
    selected[0] = serde_json::json!("91360736MA00000000");
    std::fs::write(&record_path, forged.to_string()).expect("write");
    let refused =
        std::process::Command::new(fieldloop_tests::process::target_binary("fieldloop-server"))
            .args(["draw", "verify"])
            .arg(&record_path)
            .arg("--pools")
            .arg(&pools_path)
            .output()
            .expect("draw verify");
    let why = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success());
    assert!(why.contains("plans[0].selected[0]"), "{why}");

    // The squad's tablet receives the joint task with both departments' items.
    sync(&mut a).expect("sync");
    let joint = a
        .store
        .list_tasks(&Default::default())
        .expect("list")
        .into_iter()
        .filter(|r| !before.contains(&r.id))
        .map(|r| a.task_view(&r.id).expect("view"))
        .find(|v| v.groups.len() == 2)
        .expect("a joint task from the draw on the tablet");
    let departments: std::collections::BTreeSet<&str> = joint
        .groups
        .iter()
        .map(|g| g.department.code.as_str())
        .collect();
    assert_eq!(
        departments,
        std::collections::BTreeSet::from(["SCJG", "XFJY"])
    );
}
