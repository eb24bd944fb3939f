//! Leads through the real router on a real port: a 12345 lead comes in
//! with its channel's key, is dispatched and becomes a task that reaches
//! the tablets; the channel reads the answer once the lead is handled; a
//! lead transfer recorded on a tablet becomes a lead in the receiving
//! department's inbox with the evidence hashes, once however often the
//! task is pushed; duplicates of an open lead are linked; the criminal
//! lead's evidence package verifies offline with the real binary and a
//! tampered one is caught, naming the file. Wrong keys, unknown leads and
//! steps the state does not allow are clear errors that change nothing.

use std::process::Command;

use fieldloop_core::{LeadTransfer, Role};
use fieldloop_tests::{NOW, Tablet, TestServer};
use reqwest::blocking::Client;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::console_tasks::Console;
use crate::sync::squad_checked_in;

/// A subject of the demo county with a handbook.
const USCC: &str = "92360736MA36XJ6832";

fn channel_post(server: &TestServer, key: &str, body: &Value) -> (u16, Value) {
    let answer = Client::new()
        .post(format!("{}/api/v1/leads", server.url))
        .bearer_auth(key)
        .json(body)
        .send()
        .expect("post");
    let status = answer.status().as_u16();
    (status, answer.json().unwrap_or(Value::Null))
}

fn channel_get(server: &TestServer, key: &str, id: &str) -> (u16, Value) {
    let answer = Client::new()
        .get(format!("{}/api/v1/leads/{id}", server.url))
        .bearer_auth(key)
        .send()
        .expect("get");
    let status = answer.status().as_u16();
    (status, answer.json().unwrap_or(Value::Null))
}

fn leads_count(server: &TestServer) -> usize {
    server
        .store
        .list_leads(None, None, 10_000)
        .expect("leads")
        .len()
}

fn kinds(view: &Value) -> Vec<String> {
    view["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["kind"].as_str().expect("kind").to_owned())
        .collect()
}

fn server_binary() -> std::path::PathBuf {
    fieldloop_tests::process::target_binary("fieldloop-server")
}

/// `fieldloop-server channel-key create` on the running server's data: the key it prints.
fn cli_key(server: &TestServer, channel: &str) -> String {
    let out = server
        .cli()
        .args(["channel-key", "create", "--channel", channel, "--data"])
        .arg(server.dir.path())
        .output()
        .expect("run channel-key create");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
        .lines()
        .find_map(|l| l.split("<key>): ").nth(1))
        .expect("the key is printed")
        .trim()
        .to_owned()
}

#[test]
fn a_12345_lead_is_dispatched_becomes_a_task_on_the_tablets_and_is_answered() {
    let server = TestServer::start_demo();
    let admin = Console::sign_in(&server, "A-001", Role::Admin, &[]);
    let supervisor =
        Console::sign_in_for(&server, "S-101", Role::Supervisor, &["T-QX-01"], &["SCJG"]);
    let fire = Console::sign_in_for(&server, "S-102", Role::Supervisor, &[], &["XFJY"]);
    let key = cli_key(&server, "hotline_12345");
    let (status, other) = admin.post("/api/v1/console/channel-keys", &json!({"channel": "media"}));
    assert_eq!(status, 201, "{other}");
    let media_key = other["key"].as_str().expect("shown once").to_owned();
    let (_, listed) = admin.get("/api/v1/console/channel-keys");
    assert!(
        listed["keys"]
            .as_array()
            .expect("keys")
            .iter()
            .all(|k| k["key"].is_null())
    );
    let (status, e) = supervisor.post("/api/v1/console/channel-keys", &json!({"channel": "grid"}));
    assert_eq!(
        (status, e["code"].as_str()),
        (403, Some("console.forbidden"))
    );

    // Wrong keys: 401, nothing stored.
    let lead = json!({"reference": "12345-2026-0001", "uscc": USCC, "subject_name": "某餐饮店",
                      "summary": "群众反映后厨卫生差，有老鼠", "departments": ["SCJG"]});
    for wrong in ["", "ck_000000000000.00", "nonsense", &format!("{key}x")] {
        let (status, e) = channel_post(&server, wrong, &lead);
        assert_eq!(
            (status, e["code"].as_str()),
            (401, Some("lead.bad_key")),
            "{wrong}"
        );
    }
    assert_eq!(leads_count(&server), 0);
    // Bad input: 422, nothing stored.
    let (status, e) = channel_post(
        &server,
        &key,
        &json!({"uscc": "91360000ABCDEFGH", "summary": "x"}),
    );
    assert_eq!(
        (status, e["code"].as_str()),
        (422, Some("lead.bad_input")),
        "{e}"
    );
    let (status, e) = channel_post(
        &server,
        &key,
        &json!({"summary": "x", "subject_name": "店", "departments": ["NOPE"]}),
    );
    assert_eq!(
        (status, e["code"].as_str()),
        (422, Some("lead.bad_input")),
        "{e}"
    );
    assert_eq!(leads_count(&server), 0);

    let (status, made) = channel_post(&server, &key, &lead);
    assert_eq!(status, 201, "{made}");
    assert_eq!(made["state"], "received");
    let id = made["id"].as_str().expect("id").to_owned();
    assert!(id.starts_with("XS-"), "{id}");

    // The same subject and department again, from the media: linked, not handled twice.
    let (status, dup) = channel_post(
        &server,
        &media_key,
        &json!({"uscc": USCC, "subject_name": "某餐饮店", "summary": "记者暗访发现卫生问题", "departments": ["SCJG"]}),
    );
    assert_eq!(status, 201, "{dup}");
    assert_eq!(
        (dup["state"].as_str(), dup["duplicate_of"].as_str()),
        (Some("duplicate"), Some(id.as_str()))
    );

    // The reply endpoint: to the same channel only; unknown leads are 404.
    let (status, reply) = channel_get(&server, &key, &id);
    assert_eq!(
        (status, reply["state"].as_str()),
        (200, Some("received")),
        "{reply}"
    );
    let (status, e) = channel_get(&server, &media_key, &id);
    assert_eq!((status, e["code"].as_str()), (404, Some("lead.not_found")));
    let (status, e) = channel_get(&server, &key, "XS-2026-999999");
    assert_eq!(
        (status, e["code"].as_str()),
        (404, Some("lead.not_found")),
        "{e}"
    );
    assert!(
        e["message"]
            .as_str()
            .expect("message")
            .contains("XS-2026-999999")
    );

    // The supervisor of SCJG sees it; the one of XFJY does not.
    let (status, inbox) = supervisor.get("/api/v1/console/leads?state=received");
    assert_eq!(status, 200, "{inbox}");
    assert_eq!(inbox["rows"].as_array().expect("rows").len(), 1);
    assert_eq!(fire.get(&format!("/api/v1/console/leads/{id}")).0, 404);
    let (_, all) = admin.get("/api/v1/console/leads");
    assert_eq!(all["rows"].as_array().expect("rows").len(), 2);

    // A step the state does not allow: 409, nothing changed.
    let before = supervisor.get(&format!("/api/v1/console/leads/{id}")).1;
    for step in ["verify", "handle"] {
        let (status, e) =
            supervisor.post(&format!("/api/v1/console/leads/{id}/{step}"), &json!({}));
        assert_eq!(
            (status, e["code"].as_str()),
            (409, Some("console.state")),
            "{step}: {e}"
        );
    }
    let (status, e) = supervisor.post(
        &format!("/api/v1/console/leads/{id}/answer"),
        &json!({"reply": "已处理"}),
    );
    assert_eq!((status, e["code"].as_str()), (409, Some("console.state")));
    let (status, e) = supervisor.post(
        &format!("/api/v1/console/leads/{id}/task"),
        &json!({"team": "T-QX-01", "inspectors": ["I-001", "I-002"], "start": "2026-06-01", "end": "2026-06-30"}),
    );
    assert_eq!(
        (status, e["code"].as_str()),
        (409, Some("console.state")),
        "no task before dispatch"
    );
    assert_eq!(
        supervisor.get(&format!("/api/v1/console/leads/{id}")).1,
        before
    );
    assert_eq!(
        before["actions"],
        json!(["dispatch", "transfer", "duplicate"])
    );

    // Dispatched (分办), then a task with the lead's subject reaches the tablets.
    let (status, e) = supervisor.post(
        &format!("/api/v1/console/leads/{id}/dispatch"),
        &json!({"departments": ["NOPE"]}),
    );
    assert_eq!(
        (status, e["code"].as_str()),
        (422, Some("console.bad_input"))
    );
    let (status, view) = supervisor.post(
        &format!("/api/v1/console/leads/{id}/dispatch"),
        &json!({"departments": ["SCJG"]}),
    );
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["lead"]["state"], "dispatched");
    let mut tablet = Tablet::enroll(&server, "I-001");
    tablet.sync().expect("sync");
    let (status, started) = supervisor.post(
        &format!("/api/v1/console/leads/{id}/task"),
        &json!({"team": "T-QX-01", "inspectors": ["I-001", "I-002"], "start": "2026-06-01", "end": "2026-06-30"}),
    );
    assert_eq!(status, 200, "{started}");
    let task_id = started["task"]["id"].as_str().expect("task id").to_owned();
    assert_eq!(started["lead"]["lead"]["tasks"], json!([task_id]));
    tablet.sync().expect("sync");
    let task = tablet
        .store
        .open_task(&task_id)
        .expect("on the tablet")
        .task()
        .expect("task");
    assert_eq!(task.subject.uscc, USCC);
    assert_eq!(task.inspectors, vec!["I-001", "I-002"]);

    // Verified, handled, answered: the channel reads the answer.
    for (step, body) in [
        ("verify", json!({"note": "现场核实属实"})),
        ("handle", json!({})),
        ("answer", json!({"reply": "经核查属实，已责令整改。"})),
    ] {
        let (status, view) = supervisor.post(&format!("/api/v1/console/leads/{id}/{step}"), &body);
        assert_eq!(status, 200, "{step}: {view}");
    }
    let (_, view) = supervisor.get(&format!("/api/v1/console/leads/{id}"));
    assert_eq!(
        kinds(&view),
        [
            "received",
            "dispatched",
            "task_started",
            "verified",
            "handled",
            "answered"
        ]
    );
    let events = view["events"].as_array().expect("events");
    assert_eq!(events[0]["by"], "channel:hotline_12345");
    assert!(
        events[1..]
            .iter()
            .all(|e| e["by"] == "S-101" && e["at"].as_i64().is_some())
    );
    let (status, reply) = channel_get(&server, &key, &id);
    assert_eq!(status, 200);
    assert_eq!(reply["state"], "answered");
    assert_eq!(reply["answer"], "经核查属实，已责令整改。");
    // A closed lead takes no duplicate link.
    let (status, e) = admin.post(
        &format!(
            "/api/v1/console/leads/{}/duplicate",
            made["id"].as_str().expect("id")
        ),
        &json!({"of": dup["id"]}),
    );
    assert_eq!((status, e["code"].as_str()), (409, Some("console.state")));
}

#[test]
fn a_criminal_transfer_from_a_tablet_becomes_a_lead_whose_package_verifies_offline() {
    let server = TestServer::start_demo();
    let police = Console::sign_in_for(&server, "S-201", Role::Supervisor, &[], &["GA"]);
    let market = Console::sign_in_for(&server, "S-202", Role::Supervisor, &[], &["SCJG"]);
    let (mut a, mut b, task_id) = squad_checked_in(&server);
    let who = a.author();

    // A photo whose bytes the server holds, and a transfer to the police.
    let photo = b"\xff\xd8\xff\xe0 a photo of counterfeit goods \xff\xd9".to_vec();
    let sha = hex_sha(&photo);
    assert_eq!(server.put_blob(&photo), sha);
    let evidence = fieldloop_core::NewEvidence {
        sha256: sha.clone(),
        kind: fieldloop_core::EvidenceKind::Photo,
        taken_at: NOW,
        location: None,
        caption: Some("仓库内假冒商品".into()),
        mime: "image/jpeg".into(),
        bytes: photo.len() as u64,
        thumb_sha256: None,
        display_sha256: None,
        item: None,
    };
    a.store
        .edit(&task_id, NOW, |d| d.add_evidence(&who, NOW, evidence))
        .expect("evidence");
    let transfer = LeadTransfer {
        id: "LT-1".into(),
        to_department: "GA".into(),
        summary: "仓库存放大量假冒注册商标商品，涉嫌犯罪".into(),
        evidence: vec![sha.clone()],
        criminal: true,
        by: String::new(),
        at: 0,
    };
    a.store
        .edit(&task_id, NOW, |d| d.add_lead_transfer(&who, NOW, transfer))
        .expect("transfer");
    assert_eq!(leads_count(&server), 0);
    a.sync().expect("sync");

    let (status, inbox) = police.get("/api/v1/console/leads");
    assert_eq!(status, 200, "{inbox}");
    let rows = inbox["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 1, "{inbox}");
    let lead = &rows[0];
    assert_eq!(lead["source"], "tablet_transfer");
    assert_eq!(lead["departments"], json!(["GA"]));
    assert_eq!(lead["attachments"], json!([sha]));
    assert_eq!(lead["source_task"], task_id.as_str());
    assert_eq!(lead["criminal"], true);
    let id = lead["id"].as_str().expect("id").to_owned();
    assert_eq!(market.get(&format!("/api/v1/console/leads/{id}")).0, 404);

    // Pushed again, merged on another tablet: still one lead.
    let who_b = b.author();
    b.sync().expect("sync");
    let more = fieldloop_core::NewEvidence {
        sha256: format!("{:064x}", 7),
        kind: fieldloop_core::EvidenceKind::Photo,
        taken_at: NOW,
        location: None,
        caption: None,
        mime: "image/jpeg".into(),
        bytes: 1,
        thumb_sha256: None,
        display_sha256: None,
        item: None,
    };
    b.store
        .edit(&task_id, NOW, |d| d.add_evidence(&who_b, NOW, more))
        .expect("edit");
    b.sync().expect("sync");
    a.sync().expect("sync");
    assert_eq!(leads_count(&server), 1);

    // The package: only for a criminal lead, with its receipt recorded by hash.
    let answer = police.post_raw(&format!("/api/v1/console/leads/{id}/package"));
    assert_eq!(answer.0, 200);
    let (bytes, header_sha) = (answer.1, answer.2.expect("x-package-sha256"));
    assert_eq!(hex_sha(&bytes), header_sha);
    let dir = tempfile::tempdir().expect("tempdir");
    let good = dir.path().join("package.zip");
    std::fs::write(&good, &bytes).expect("write");
    let out = verify(&good);
    assert!(out.0, "{}", out.1);
    assert!(out.1.starts_with("OK"), "{}", out.1);

    // Tampered evidence: refused, naming the file.
    let mut tampered = bytes.clone();
    let at = find(&tampered, b"counterfeit").expect("the photo is stored");
    tampered[at] ^= 0x20;
    let bad = dir.path().join("tampered.zip");
    std::fs::write(&bad, &tampered).expect("write");
    let out = verify(&bad);
    assert!(!out.0, "{}", out.1);
    assert!(out.1.contains(&format!("evidence/{sha}")), "{}", out.1);

    // Receipt and acceptance by the judicial side, by the package's hash.
    let (status, e) = police.post(
        &format!("/api/v1/console/leads/{id}/package/accepted"),
        &json!({"sha256": header_sha}),
    );
    assert_eq!(
        (status, e["code"].as_str()),
        (409, Some("console.state")),
        "not received yet"
    );
    for step in ["received", "accepted"] {
        let (status, view) = police.post(
            &format!("/api/v1/console/leads/{id}/package/{step}"),
            &json!({"sha256": header_sha, "note": "县公安局经侦大队"}),
        );
        assert_eq!(status, 200, "{view}");
    }
    let (_, view) = police.get(&format!("/api/v1/console/leads/{id}"));
    assert_eq!(
        kinds(&view),
        [
            "received",
            "package_sent",
            "package_received",
            "package_accepted"
        ]
    );
    assert_eq!(view["events"][1]["sha256"], header_sha.as_str());
    assert_eq!(view["lead"]["package"]["stage"], "accepted");
}

fn hex_sha(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// `fieldloop-server package verify`: success, and what it printed.
fn verify(path: &std::path::Path) -> (bool, String) {
    let out = Command::new(server_binary())
        .args(["package", "verify"])
        .arg(path)
        .output()
        .expect("run package verify");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}
