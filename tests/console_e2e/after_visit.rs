//! After the visit, end to end (issue #16): a lead arrives through a
//! channel's API, is dispatched in the console and becomes a task; the
//! squad inspects, records a finding with a rectification order and fills
//! the 笔录; the tablet prints the record with no server running, the
//! console prints it too; the deadline passes (the server's clock moved
//! through `FIELDLOOP_CLOCK_FILE`), the re-check task reaches the tablet
//! with the original finding and photo and closes the rectification; the
//! business opens `/v/{code}`, checks the signed claim (also offline, with
//! the server gone) and leaves feedback once; the supervisor sees it.

use std::path::Path;
use std::process::Command;

use fieldloop_core::{Outcome, RecordNoteEdit, Severity, SignerRole};
use fieldloop_server::store::Store;
use fieldloop_server::store::sqlite::SqliteStore;
use fieldloop_tablet::background::now_ms;
use fieldloop_tablet::inspect::NewFinding;
use fieldloop_tests::process::ServerProcess;

use super::{Browser, decide, jpeg, open_record, runtime, sign_in, signature_png, sync, tablet};

const DAY: i64 = 86_400_000;

/// The text of a PDF file (`pdftotext -layout`), white space removed.
fn pdf_text(path: &Path) -> String {
    let out = Command::new("pdftotext")
        .arg("-layout")
        .arg(path)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils, installed by cargo xtask setup)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Every font of a PDF is embedded and subset (`pdffonts`: emb sub = yes yes).
fn assert_fonts_embedded_and_subset(path: &Path) {
    let out = Command::new("pdffonts")
        .arg(path)
        .output()
        .expect("pdffonts");
    let listing = String::from_utf8_lossy(&out.stdout).into_owned();
    let fonts: Vec<&str> = listing.lines().skip(2).collect();
    assert!(!fonts.is_empty(), "{listing}");
    for font in fonts {
        // name type encoding emb sub uni object ID: the first column is
        // `ABCDEF+Name` for a subset; emb and sub read "yes".
        assert!(font.contains('+'), "not subset: {font}");
        let cols: Vec<&str> = font.split_whitespace().collect();
        let n = cols.len();
        assert!(n >= 7, "{font}");
        assert_eq!((cols[n - 5], cols[n - 4]), ("yes", "yes"), "{font}");
    }
}

fn move_clock(file: &Path, by_ms: i64) {
    std::fs::write(file, by_ms.to_string()).expect("clock file");
}

#[test]
fn a_lead_becomes_a_task_a_printed_record_a_recheck_and_a_verified_visit_in_chromium() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("server");
    let clock = tmp.path().join("clock");
    move_clock(&clock, 0);
    let env = [("FIELDLOOP_CLOCK_FILE", clock.as_os_str())];
    let mut server = ServerProcess::start_with_env(&data, "127.0.0.1:0", true, &[], &env);
    let url = server.url.clone();
    let mut a = tablet(&tmp.path().join("a"), &server, &data, "I-001");

    // A 12345 work order through the channel API, with the channel's key.
    let store = SqliteStore::open(&data).expect("store");
    let subject = store
        .all_subjects()
        .expect("subjects")
        .into_iter()
        .find(|s| s.industry == "catering")
        .expect("a demo catering subject");
    let (_, key) = fieldloop_server::leads::create_channel_key(
        &store,
        fieldloop_server::leads::Channel::Hotline12345,
        "A-001",
        now_ms(),
    )
    .expect("channel key");
    let http = reqwest::blocking::Client::new();
    let lead: serde_json::Value = http
        .post(format!("{url}/api/v1/leads"))
        .bearer_auth(&key)
        .json(&serde_json::json!({
            "reference": "12345-2026-000871",
            "uscc": subject.uscc.to_string(),
            "subject_name": subject.name,
            "summary": "市民反映后厨卫生差、灭火器过期",
            "departments": ["SCJG"],
        }))
        .send()
        .expect("lead")
        .json()
        .expect("json");
    let lead_id = lead["id"].as_str().expect("lead id").to_owned();
    // A reply asked about an unknown lead: a clear 404, nothing made.
    let unknown = http
        .get(format!("{url}/api/v1/leads/L-NOT-THERE"))
        .bearer_auth(&key)
        .send()
        .expect("reply");
    assert_eq!(unknown.status(), 404);

    let (task_id, mate) = runtime().block_on(async {
        let browser = Browser::launch().await;
        // Leads are a department's: the market bureau's supervisor.
        sign_in(
            &browser,
            &url,
            fieldloop_server::demo::DEMO_DEPARTMENT_SUPERVISOR,
        )
        .await;
        browser.click("nav-leads").await;
        browser
            .click_css(&format!(
                "[data-testid='lead-row'][data-lead-id='{lead_id}']"
            ))
            .await;
        browser.click("lead-action-dispatch").await;
        browser
            .click_css("[data-testid='lead-step-departments'] [data-department='SCJG']")
            .await;
        browser.click("lead-step-confirm").await;
        browser
            .find_css(&format!(
                "[data-testid='lead-detail'][data-lead-id='{lead_id}'][data-state='dispatched']"
            ))
            .await;
        browser.click("lead-action-task").await;
        browser
            .click_css("[data-testid='lead-task-team'] [data-team-id='T-QX-01']")
            .await;
        browser.find("lead-task-inspectors").await;
        let people = browser
            .js("return [...document.querySelectorAll(\"[data-testid='lead-task-inspectors'] [data-inspector-id]\")].map((e) => e.dataset.inspectorId);")
            .await;
        let mate = people
            .as_array()
            .expect("the team's inspectors")
            .iter()
            .filter_map(|v| v.as_str())
            .find(|id| *id != "I-001")
            .expect("a mate for I-001")
            .to_owned();
        for person in ["I-001", mate.as_str()] {
            browser
                .click_css(&format!(
                    "[data-testid='lead-task-inspectors'] [data-inspector-id='{person}']"
                ))
                .await;
        }
        browser.shot("15-lead-task").await;
        browser.click("lead-task-confirm").await;
        let done = browser.find("lead-task-done").await;
        let task_id = done
            .attr("data-task-id")
            .await
            .expect("attr")
            .expect("the task made from the lead");
        browser.quit().await;
        (task_id, mate)
    });

    // The squad inspects: every item answered, the first failed with a
    // photo and a finding with a rectification order due tomorrow; the
    // 笔录 filled; both sign, the business refuses before a witness.
    sync(&mut a).expect("sync");
    let mut b = tablet(&tmp.path().join("b"), &server, &data, &mate);
    let view = a
        .task_view(&task_id)
        .expect("the lead's task on the tablet");
    assert_eq!(view.uscc, subject.uscc.to_string());
    b.check_in(&task_id, now_ms(), view.location)
        .expect("the mate checks in");
    sync(&mut b).expect("b syncs");
    a.check_in(&task_id, now_ms(), view.location)
        .expect("I-001 checks in");
    sync(&mut a).expect("a syncs");
    let first = view.groups[0].items[0].id.clone();
    a.add_photo(&task_id, now_ms(), Some(&first), &jpeg(7), view.location)
        .expect("photo");
    for g in &view.groups {
        for item in &g.items {
            // The first item fails (its photo taken); items that need a
            // photo do not apply to this kitchen; the rest pass.
            let outcome = if item.id == first {
                Outcome::Fail
            } else if item.requires_evidence {
                Outcome::NotApplicable
            } else {
                Outcome::Pass
            };
            a.answer(&task_id, now_ms(), &item.id, Some(outcome), None, None)
                .expect("answer");
        }
    }
    a.add_finding(
        &task_id,
        now_ms(),
        NewFinding {
            item_id: Some(first.clone()),
            description: "灭火器已过期，未按期检验".into(),
            severity: Severity::Major,
            rectification_order: Some("更换或检验灭火器并提交凭证".into()),
            rectification_deadline: Some(now_ms() + DAY),
        },
    )
    .expect("finding");
    a.edit_record_notes(
        &task_id,
        now_ms(),
        &[
            RecordNoteEdit::Place(view.address.clone()),
            RecordNoteEdit::StartedAt(Some(now_ms() - 3_600_000)),
            RecordNoteEdit::EndedAt(Some(now_ms())),
            RecordNoteEdit::PartyPresent("王五".into()),
            RecordNoteEdit::PartyRole("店长".into()),
            RecordNoteEdit::Recorder("I-001".into()),
            RecordNoteEdit::Witness("赵六".into()),
            RecordNoteEdit::CredentialsAnswer("看清楚了".into()),
            RecordNoteEdit::RightsAnswer("清楚".into()),
            RecordNoteEdit::RecusalAnswer("不申请回避".into()),
            RecordNoteEdit::PartyStatement("灭火器下周更换".into()),
        ],
    )
    .expect("笔录");
    for (n, person) in view.inspectors.iter().map(|i| i.id.clone()).enumerate() {
        a.sign(
            &task_id,
            now_ms(),
            SignerRole::Inspector,
            &person,
            &signature_png(n as u32),
        )
        .expect("sign");
    }
    a.refuse_to_sign(
        &task_id,
        now_ms(),
        SignerRole::Enterprise,
        "王五",
        "不同意检查结论",
    )
    .expect("refusal");

    // On site there is no network: the server is gone, the tablet prints.
    server.kill();
    let printed = a.print_record(&task_id, now_ms()).expect("printed offline");
    let on_tablet = pdf_text(Path::new(&printed.path));
    for expected in [
        "现场检查笔录",
        subject.name.as_str(),
        "看清楚了",
        "不申请回避",
        "灭火器已过期",
        "第1页共",
    ] {
        assert!(
            on_tablet.contains(expected),
            "{expected} not in:\n{on_tablet}"
        );
    }
    assert_fonts_embedded_and_subset(Path::new(&printed.path));
    a.submit(&task_id, now_ms()).expect("submit");

    let server = ServerProcess::start_with_env(&data, server.addr(), true, &[], &env);
    sync(&mut a).expect("submitted");

    let recheck_id = runtime().block_on(async {
        let browser = Browser::launch().await;
        sign_in(&browser, &url, super::SUPERVISOR).await;
        open_record(&browser, &url, &task_id, "submitted").await;
        decide(&browser, "approve", None).await;
        browser
            .find_css("[data-testid='record-status'][data-status='approved']")
            .await;

        // The console prints the same record.
        let pdf: Vec<u8> = browser
            .js(&format!(
                "const r = await fetch('/api/v1/console/tasks/{task_id}/record.pdf'); \
                 if (!r.ok) return 'HTTP ' + r.status; \
                 const b = new Uint8Array(await r.arrayBuffer()); return Array.from(b);"
            ))
            .await
            .as_array()
            .expect("the PDF's bytes")
            .iter()
            .map(|v| v.as_u64().expect("byte") as u8)
            .collect();
        let server_pdf = tmp.path().join("server-record.pdf");
        std::fs::write(&server_pdf, &pdf).expect("write");
        let text = pdf_text(&server_pdf);
        assert!(
            text.contains(subject.name.as_str()) && text.contains("灭火器已过期"),
            "{text}"
        );
        assert_fonts_embedded_and_subset(&server_pdf);

        // Not due yet; then the deadline passes.
        browser.click("nav-rectifications").await;
        browser.find("rect-table").await;
        move_clock(&clock, 2 * DAY);
        browser.client.refresh().await.expect("reload");
        browser
            .find_css("[data-testid='rect-row'] [data-testid='rect-state'][data-state='due']")
            .await;
        browser.shot("16-rectifications-due").await;
        browser
            .click_css("[data-testid='rect-row'] [data-testid='rect-recheck']")
            .await;
        let made = browser
            .find_css("[data-testid='rect-row'] [data-testid='rect-recheck-task']")
            .await;
        let href = made
            .attr("href")
            .await
            .expect("attr")
            .expect("a link to the re-check task");
        let recheck_id = href
            .rsplit("/tasks/")
            .next()
            .expect("the re-check task's id")
            .to_owned();
        browser.quit().await;
        recheck_id
    });

    // The re-check reaches the same team's tablet with the original finding
    // and its photo; it is found rectified and approved.
    sync(&mut a).expect("sync");
    let recheck = a
        .task_view(&recheck_id)
        .expect("the re-check on the tablet");
    let of = recheck.recheck_of.as_ref().expect("recheck_of");
    assert_eq!(of.task_id, task_id);
    assert!(of.finding.description.contains("灭火器已过期"));
    for photo in &of.photos {
        let shown = photo
            .thumb_sha256
            .as_deref()
            .expect("the photo's thumbnail");
        assert!(
            !a.blob(shown)
                .expect("the original photo's thumbnail")
                .is_empty()
        );
    }
    assert!(!of.photos.is_empty(), "the finding's photo travels with it");
    sync(&mut b).expect("b syncs");
    b.check_in(&recheck_id, now_ms(), recheck.location)
        .expect("the mate checks in");
    sync(&mut b).expect("b syncs");
    a.check_in(&recheck_id, now_ms(), recheck.location)
        .expect("I-001 checks in");
    sync(&mut a).expect("a syncs");
    for g in &recheck.groups {
        for item in &g.items {
            if item.requires_evidence {
                a.add_photo(
                    &recheck_id,
                    now_ms(),
                    Some(&item.id),
                    &jpeg(9),
                    recheck.location,
                )
                .expect("the new extinguisher's photo");
            }
            a.answer(
                &recheck_id,
                now_ms(),
                &item.id,
                Some(Outcome::Pass),
                None,
                None,
            )
            .expect("answer");
        }
    }
    for (n, person) in recheck.inspectors.iter().map(|i| i.id.clone()).enumerate() {
        a.sign(
            &recheck_id,
            now_ms(),
            SignerRole::Inspector,
            &person,
            &signature_png(10 + n as u32),
        )
        .expect("sign");
    }
    a.refuse_to_sign(
        &recheck_id,
        now_ms(),
        SignerRole::Enterprise,
        "王五",
        "不在场",
    )
    .expect("refusal");
    a.submit(&recheck_id, now_ms())
        .expect("submit the re-check");
    sync(&mut a).expect("sync");

    let (claim, claim_url) = {
        let task = a
            .store
            .open_task(&task_id)
            .expect("task")
            .task()
            .expect("task");
        let claim = task.claim.expect("a signed claim on the task");
        // What the tablet's QR code carries.
        let shown =
            fieldloop_core::record::signed_verify_url(&url, &task.verify_code, Some(&claim));
        (claim, shown)
    };
    let fragment = |claim: &str| {
        fieldloop_core::record::signed_verify_url("", "-", Some(claim))
            .split_once('#')
            .map(|(_, f)| f.to_owned())
            .expect("a fragment")
    };

    runtime().block_on(async {
        let browser = Browser::launch().await;
        sign_in(&browser, &url, super::SUPERVISOR).await;
        open_record(&browser, &url, &recheck_id, "submitted").await;
        decide(&browser, "approve", None).await;
        browser
            .find_css("[data-testid='record-status'][data-status='approved']")
            .await;
        browser.click("nav-rectifications").await;
        browser
            .click_css("[data-testid='rect-filter']")
            .await;
        browser
            .click_css("[data-filter='all']")
            .await;
        browser
            .find_css("[data-testid='rect-row'] [data-testid='rect-state'][data-state='rectified']")
            .await;
        browser.click("logout").await;
        browser.find("login-user").await;

        // The business scans the QR: registered, the names and badges, a
        // valid signature, never the risk class.
        browser.goto(&claim_url).await;
        browser.find("verify-registered").await;
        browser
            .wait_until(
                "the claim checked",
                "const v = document.querySelector(\"[data-testid='claim-verdict']\"); return v && v.dataset.verdict === 'valid';",
            )
            .await;
        let page = browser.text_css("body").await;
        assert!(page.contains("执法证号"), "{page}");
        for class in ["风险等级", "risk_class", "信用等级"] {
            assert!(!page.contains(class), "{class} shown: {page}");
        }
        browser.shot("17-verify-page").await;
        browser.click("feedback-rating-5").await;
        browser.click("feedback-badge-yes").await;
        browser.click("feedback-rights-yes").await;
        browser.click("feedback-money-no").await;
        browser.type_into("feedback-comment", "检查人员态度很好").await;
        browser.click("feedback-submit").await;
        browser
            .wait_until(
                "the feedback taken",
                "const r = document.querySelector(\"[data-testid='feedback-result']\"); return r && r.dataset.ok === 'true';",
            )
            .await;

        // The supervisor sees it on the dashboard.
        sign_in(&browser, &url, super::SUPERVISOR).await;
        browser.click("nav-dashboard").await;
        let panel = browser.text("feedback-panel").await;
        assert!(panel.contains("检查人员态度很好"), "{panel}");
        browser.shot("18-feedback").await;
        browser.quit().await;
    });

    // Feedback twice for one task: refused, nothing added.
    let code = claim_url
        .split("/v/")
        .nth(1)
        .and_then(|s| s.split('#').next())
        .expect("code")
        .to_owned();
    let again = http
        .post(format!("{url}/api/v1/public/v/{code}/feedback"))
        .json(&serde_json::json!({"rating": 1, "badge_shown": true, "rights_told": true, "money_asked": false, "comment": "再来一次"}))
        .send()
        .expect("feedback");
    assert_eq!(again.status(), 409);
    let listed: Vec<_> = SqliteStore::open(&data)
        .expect("store")
        .feedback_for_task(&task_id)
        .expect("read")
        .into_iter()
        .collect();
    assert_eq!(listed.len(), 1);

    // The verifier page, loaded once, checks claims with the server gone.
    runtime().block_on(async {
        let browser = Browser::launch().await;
        browser.goto(&format!("{url}/v/verify")).await;
        browser.find("claim-input").await;
        let mut server = server;
        server.kill();
        browser
            .js(&format!(
                "location.hash = {}; return true;",
                serde_json::json!(fragment(&claim))
            ))
            .await;
        browser
            .wait_until(
                "valid offline",
                "const v = document.querySelector(\"[data-testid='claim-verdict']\"); return v && v.dataset.verdict === 'valid';",
            )
            .await;
        // One character changed in the signed payload: said tampered.
        let mut tampered: Vec<char> = claim.chars().collect();
        let at = tampered.len() / 2;
        tampered[at] = if tampered[at] == 'A' { 'B' } else { 'A' };
        assert_ne!(tampered.iter().collect::<String>(), claim);
        let tampered: String = tampered.into_iter().collect();
        browser
            .js(&format!(
                "location.hash = {}; return true;",
                serde_json::json!(fragment(&tampered))
            ))
            .await;
        browser
            .wait_until(
                "tampered offline",
                "const v = document.querySelector(\"[data-testid='claim-verdict']\"); return v && (v.dataset.verdict === 'tampered' || v.dataset.verdict === 'malformed');",
            )
            .await;
        browser.shot("19-verify-offline").await;
        browser.quit().await;
    });
}
