//! 亮码检查 through the real router on a real port: a task made in the
//! console carries a claim signed with the server's key; its public page
//! shows the inspectors' names and badge numbers and never the risk class;
//! the JSON's claim verifies with the published key and a tampered one does
//! not; feedback is taken once (a second is `409`, nothing changed), bounded,
//! seen by supervisors and never by tablets; a revoked code and an expired
//! one answer `410` and take no feedback.

use ed25519_dalek::VerifyingKey;
use fieldloop_core::Role;
use fieldloop_core::claim::{self, ClaimError};
use fieldloop_server::limits::Limits;
use fieldloop_tests::{Tablet, TestServer};

use reqwest::blocking::Client;
use serde_json::{Value, json};

use crate::console_tasks::Console;

const DAY_MS: i64 = 86_400_000;

/// `YYYY-MM-DD` in Beijing time, `days` from the server's now.
fn beijing_day(days: i64) -> String {
    let ms = fieldloop_server::now_ms() + days * DAY_MS + 8 * 3_600_000;
    chrono::DateTime::from_timestamp_millis(ms)
        .expect("time")
        .format("%Y-%m-%d")
        .to_string()
}

/// A task made in the console for today and the next ten days: its id
/// and the task as the server stores it.
fn live_task(server: &TestServer, console: &Console) -> (String, fieldloop_core::Task) {
    let (status, made) = console.post(
        "/api/v1/console/tasks",
        &json!({
            "uscc": "92360736MA36XJ6832",
            "team": "T-QX-01",
            "inspectors": ["I-001", "I-002"],
            "start": beijing_day(0),
            "end": beijing_day(10),
        }),
    );
    assert_eq!(status, 200, "{made}");
    let id = made["id"].as_str().expect("id").to_owned();
    let task = server.task(&id).task().expect("task");
    (id, task)
}

fn get(server: &TestServer, path: &str) -> (u16, String) {
    let answer = Client::new()
        .get(format!("{}{path}", server.url))
        .send()
        .expect("get");
    (answer.status().as_u16(), answer.text().expect("text"))
}

fn post(server: &TestServer, path: &str, body: &Value) -> (u16, Value) {
    let answer = Client::new()
        .post(format!("{}{path}", server.url))
        .json(body)
        .send()
        .expect("post");
    let status = answer.status().as_u16();
    (status, answer.json().unwrap_or(Value::Null))
}

fn feedback(comment: &str) -> Value {
    json!({
        "rating": 4,
        "badge_shown": true,
        "rights_told": true,
        "money_asked": false,
        "comment": comment,
    })
}

fn county_key(server: &TestServer) -> VerifyingKey {
    let (status, body) = get(server, "/api/v1/public/claim-key");
    assert_eq!(status, 200, "{body}");
    let key: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(key["algorithm"], "Ed25519");
    let bytes = hex::decode(key["public_key"].as_str().expect("hex")).expect("hex");
    let key = VerifyingKey::from_bytes(&bytes.try_into().expect("32 bytes")).expect("key");
    assert_eq!(
        hex::encode(claim::key_id(&key)),
        body.split("\"kid\":\"").nth(1).expect("kid")[..16]
    );
    key
}

fn admin(server: &TestServer) -> Console {
    Console::sign_in(server, "S-ADMIN", Role::Admin, &[])
}

#[test]
fn the_page_of_a_live_task_shows_names_and_badges_and_its_claim_verifies() {
    let server = TestServer::start(2, Limits::default());
    let console = admin(&server);
    let (id, task) = live_task(&server, &console);
    let text = task.claim.clone().expect("a signed claim in the task");
    assert!(text.starts_with("FL1:"), "{text}");

    // The page: registered, names and badge numbers, never the risk class.
    let (status, page) = get(&server, &format!("/v/{}", task.verify_code));
    assert_eq!(status, 200, "{page}");
    for shown in [
        "本次检查已登记",
        "钟志强",
        "36073601001",
        "赖雪梅",
        "36073601002",
        task.code.as_str(),
        "data-testid=\"claim-verdict\"",
        "/v/verify.js",
        "data-testid=\"feedback-form\"",
    ] {
        assert!(page.contains(shown), "the page shows {shown}");
    }
    for hidden in ["风险", "risk", "信用分类", "A 类", "A类"] {
        assert!(!page.contains(hidden), "the page never says {hidden}");
    }

    // The JSON twin: its claim verifies with the published key.
    let (status, body) = get(&server, &format!("/api/v1/public/v/{}", task.verify_code));
    assert_eq!(status, 200, "{body}");
    assert!(!body.contains("risk"), "no risk class in {body}");
    let view: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(view["registered"], true);
    assert_eq!(view["inspectors"][0]["badge"], "36073601001");
    assert_eq!(view["claim"], text.as_str());
    let key = county_key(&server);
    let now = fieldloop_server::now_ms();
    let checked = claim::verify(&text, &key, now).expect("the claim verifies");
    assert_eq!(checked.verify_code, task.verify_code);
    assert_eq!(checked.subject_uscc, "92360736MA36XJ6832");
    assert_eq!(checked.inspectors[1].name, "赖雪梅");
    assert_eq!(checked.inspectors[1].badge, "36073601002");
    assert_eq!(checked.nbf, task.window.start);
    assert_eq!(checked.exp, task.window.due);

    // Tampered: one character of the payload changed.
    let mut bytes = text.clone().into_bytes();
    let at = bytes.len() / 2;
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(bytes).expect("ascii");
    assert!(claim::verify(&tampered, &key, now).is_err());
    // Another county's key: unknown.
    let stranger = ed25519_dalek::SigningKey::from_bytes(&[5; 32]).verifying_key();
    assert_eq!(
        claim::verify(&text, &stranger, now),
        Err(ClaimError::UnknownKey)
    );

    // The offline verifier page and its script are served.
    let (status, offline) = get(&server, "/v/verify");
    assert_eq!(status, 200);
    assert!(offline.contains("claim-input") && offline.contains(&key_hex(&key)));
    // The console shows the code as signed, not revoked, without feedback.
    let (status, verify) = console.get(&format!("/api/v1/console/tasks/{id}/verify"));
    assert_eq!(status, 200, "{verify}");
    assert_eq!(verify["signed"], true);
    assert_eq!(verify["revoked"], Value::Null);
    assert_eq!(verify["feedback"], Value::Null);
}

fn key_hex(key: &VerifyingKey) -> String {
    hex::encode(key.as_bytes())
}

#[test]
fn feedback_is_taken_once_bounded_and_seen_by_supervisors_only() {
    let server = TestServer::start(2, Limits::default());
    let console = admin(&server);
    let (id, task) = live_task(&server, &console);
    let path = format!("/api/v1/public/v/{}/feedback", task.verify_code);

    // Oversized comment: 422, nothing stored.
    let long = "长".repeat(fieldloop_server::claims::MAX_FEEDBACK_COMMENT_CHARS + 1);
    let (status, body) = post(&server, &path, &feedback(&long));
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["code"], "feedback.bad_input");
    let (status, body) = post(
        &server,
        &path,
        &json!({"rating": 9, "badge_shown": true, "rights_told": true, "money_asked": false}),
    );
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("feedback.bad_input"))
    );
    let (_, list) = console.get("/api/v1/console/feedback");
    assert_eq!(list["total"], 0, "{list}");

    // The first: accepted.
    let (status, body) = post(&server, &path, &feedback("态度很好，亮证规范"));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["accepted"], true);

    // A second: 409 with a clear message, nothing changed.
    let (status, body) = post(&server, &path, &feedback("第二次"));
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["code"], "feedback.duplicate");
    assert!(
        body["message"]
            .as_str()
            .expect("message")
            .contains("只能评价一次")
    );
    let (status, list) = console.get("/api/v1/console/feedback");
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["total"], 1, "{list}");
    assert_eq!(list["rows"][0]["comment"], "态度很好，亮证规范");
    assert_eq!(list["rows"][0]["rating"], 4);
    assert!(list["rows"][0].get("address_hash").is_none(), "{list}");
    let (_, verify) = console.get(&format!("/api/v1/console/tasks/{id}/verify"));
    assert_eq!(verify["feedback"]["comment"], "态度很好，亮证规范");
    // The page now says it was given, and offers no form.
    let (_, page) = get(&server, &format!("/v/{}", task.verify_code));
    assert!(page.contains("feedback-closed") && !page.contains("feedback-form"));

    // A supervisor of another team and department does not see it.
    let other = Console::sign_in_for(&server, "S-OTHER", Role::Supervisor, &["T-XX-09"], &["XX"]);
    let (_, list) = other.get("/api/v1/console/feedback");
    assert_eq!(list["total"], 0, "{list}");
    // Inspectors never: the console's list is refused to a device's token,
    // and the task document the tablets sync holds no feedback.
    let mut tablet = Tablet::enroll(&server, "I-001");
    tablet.sync().expect("sync");
    let answer = Client::new()
        .get(format!("{}/api/v1/console/feedback", server.url))
        .bearer_auth(&tablet.enrollment.token)
        .send()
        .expect("get");
    assert_eq!(answer.status().as_u16(), 401);
    let synced = tablet
        .store
        .open_task(&id)
        .expect("the task reached the tablet")
        .save();
    let comment = "态度很好，亮证规范".as_bytes();
    assert!(!synced.windows(comment.len()).any(|w| w == comment));
    let stored = server.task(&id).save();
    assert!(!stored.windows(comment.len()).any(|w| w == comment));
}

#[test]
fn a_revoked_code_says_so_and_takes_no_feedback() {
    let server = TestServer::start(2, Limits::default());
    let console = admin(&server);
    let (id, task) = live_task(&server, &console);
    let revoke = format!("/api/v1/console/tasks/{id}/verify-code/revoke");
    let (status, body) = console.post(&revoke, &json!({"reason": ""}));
    assert_eq!(status, 422, "{body}");
    let (status, body) = console.post(&revoke, &json!({"reason": "执法证遗失，重新派发"}));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["revoked"]["by"], "S-ADMIN");
    assert_eq!(body["revoked"]["reason"], "执法证遗失，重新派发");
    let (status, body) = console.post(&revoke, &json!({"reason": "again"}));
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("console.state"))
    );

    let (status, page) = get(&server, &format!("/v/{}", task.verify_code));
    assert_eq!(status, 410, "{page}");
    assert!(page.contains("核验码已撤销"), "{page}");
    assert!(page.contains("data-code=\"verify.revoked\""));
    let (status, body) = get(&server, &format!("/api/v1/public/v/{}", task.verify_code));
    assert_eq!(status, 410);
    assert!(body.contains("verify.revoked"), "{body}");
    let path = format!("/api/v1/public/v/{}/feedback", task.verify_code);
    let (status, body) = post(&server, &path, &feedback("x"));
    assert_eq!(
        (status, body["code"].as_str()),
        (410, Some("verify.revoked"))
    );
    let (_, list) = console.get("/api/v1/console/feedback");
    assert_eq!(list["total"], 0);

    // Unknown codes: a page that says so.
    let (status, page) = get(&server, "/v/NOSUCHCODE234");
    assert_eq!(status, 404);
    assert!(page.contains("未登记的检查") && page.contains("verify.unknown"));
    let (status, _) = get(&server, "/v/%3Cscript%3E");
    assert_eq!(status, 404);
}

#[test]
fn an_expired_code_answers_410_and_takes_no_feedback() {
    let server = TestServer::start(2, Limits::default());
    let console = admin(&server);
    let (_, task) = live_task(&server, &console);
    let path = format!("/api/v1/public/v/{}/feedback", task.verify_code);
    // Past the window's end plus the feedback period.
    let now = fieldloop_server::now_ms();
    let past =
        task.window.due + i64::from(fieldloop_server::claims::FEEDBACK_DAYS) * DAY_MS + DAY_MS
            - now;
    server.move_clock(past);
    let (status, page) = get(&server, &format!("/v/{}", task.verify_code));
    assert_eq!(status, 410, "{page}");
    assert!(page.contains("核验码已过期"), "{page}");
    let (status, body) = post(&server, &path, &feedback("迟到的评价"));
    assert_eq!(
        (status, body["code"].as_str()),
        (410, Some("verify.expired"))
    );
    let (_, list) = console.get("/api/v1/console/feedback");
    assert_eq!(list["total"], 0, "{list}");
    // The claim itself says expired too.
    let key = county_key(&server);
    assert_eq!(
        claim::verify(task.claim.as_deref().expect("claim"), &key, now + past),
        Err(ClaimError::Expired)
    );
}

#[test]
fn lookups_are_rate_limited_per_address() {
    let server = TestServer::start(0, Limits::default());
    // The quota refills one lookup every 2 s: on a busy machine a few more
    // than 30 may pass before the refusal, never twice as many.
    let per_minute = fieldloop_server::verify::LOOKUPS_PER_MINUTE;
    let mut answered = 0;
    let mut limited = false;
    for _ in 0..2 * per_minute {
        let (status, _) = get(&server, "/api/v1/public/v/UNKNOWNCODE2345");
        if status == 429 {
            limited = true;
            break;
        }
        assert_eq!(status, 404);
        answered += 1;
    }
    assert!(limited, "lookups beyond {per_minute} a minute are refused");
    assert!(
        answered >= per_minute,
        "the first {per_minute} are answered"
    );
    let (status, page) = get(&server, "/v/UNKNOWNCODE2345");
    assert_eq!(status, 429);
    assert!(page.contains("查询过于频繁"));
}
