//! The console's task API through the real router on a real port: the list
//! and its filters agree with the dashboard and the export; the review
//! page's record is the synced record with receipt times; decisions are
//! changes by the supervisor's own actor that reach the tablets; tasks made
//! by hand reach the tablets; an administrator turns an inspector off and
//! their device is refused; and every bad request is a clear 4xx that
//! changes nothing.

use fieldloop_core::{Role, Status};
use fieldloop_server::console::{self, CSRF_HEADER};
use fieldloop_server::store::ConsoleUser;
use fieldloop_tests::{NOW, Tablet, TestServer};
use reqwest::blocking::Client;
use serde_json::{Value, json};

use crate::sync::{complete_and_submit, squad_checked_in};

const PASSWORD: &str = "correct horse battery";

/// A signed-in console user.
pub(crate) struct Console {
    client: Client,
    url: String,
    cookie: String,
    csrf: String,
}

impl Console {
    pub(crate) fn sign_in(server: &TestServer, id: &str, role: Role, teams: &[&str]) -> Self {
        Self::sign_in_for(server, id, role, teams, &[])
    }

    /// Signs in someone who acts for `teams` and `departments`.
    pub(crate) fn sign_in_for(
        server: &TestServer,
        id: &str,
        role: Role,
        teams: &[&str],
        departments: &[&str],
    ) -> Self {
        let user = ConsoleUser {
            id: id.into(),
            name: format!("{id} 的名字"),
            role,
            teams: teams.iter().map(|t| (*t).to_owned()).collect(),
            departments: departments.iter().map(|d| (*d).to_owned()).collect(),
        };
        console::add_user(
            server.store.as_ref(),
            &user,
            PASSWORD,
            fieldloop_server::now_ms(),
        )
        .expect("user");
        let client = Client::new();
        let answer = client
            .post(format!("{}/api/v1/console/login", server.url))
            .json(&json!({ "user": id, "password": PASSWORD }))
            .send()
            .expect("login");
        assert_eq!(answer.status().as_u16(), 200);
        let cookie = answer
            .headers()
            .get(reqwest::header::SET_COOKIE)
            .expect("cookie")
            .to_str()
            .expect("ascii")
            .split(';')
            .next()
            .expect("name=value")
            .to_owned();
        let body: Value = answer.json().expect("session");
        Self {
            client,
            url: server.url.clone(),
            cookie,
            csrf: body["csrf"].as_str().expect("csrf").to_owned(),
        }
    }

    pub(crate) fn get(&self, path: &str) -> (u16, Value) {
        let answer = self
            .client
            .get(format!("{}{path}", self.url))
            .header(reqwest::header::COOKIE, &self.cookie)
            .send()
            .expect("get");
        let status = answer.status().as_u16();
        (status, answer.json().unwrap_or(Value::Null))
    }

    pub(crate) fn get_text(&self, path: &str) -> (u16, String) {
        let answer = self
            .client
            .get(format!("{}{path}", self.url))
            .header(reqwest::header::COOKIE, &self.cookie)
            .send()
            .expect("get");
        (answer.status().as_u16(), answer.text().expect("text"))
    }

    pub(crate) fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let answer = self
            .client
            .post(format!("{}{path}", self.url))
            .header(reqwest::header::COOKIE, &self.cookie)
            .header(CSRF_HEADER, &self.csrf)
            .json(body)
            .send()
            .expect("post");
        let status = answer.status().as_u16();
        (status, answer.json().unwrap_or(Value::Null))
    }

    /// Any method, with the CSRF token and a JSON body.
    pub(crate) fn send(&self, method: reqwest::Method, path: &str, body: &Value) -> (u16, Value) {
        let answer = self
            .client
            .request(method, format!("{}{path}", self.url))
            .header(reqwest::header::COOKIE, &self.cookie)
            .header(CSRF_HEADER, &self.csrf)
            .json(body)
            .send()
            .expect("request");
        let status = answer.status().as_u16();
        (status, answer.json().unwrap_or(Value::Null))
    }

    /// A POST without a body, answered with bytes (a download) and its
    /// `X-Package-Sha256` header, if any.
    pub(crate) fn post_raw(&self, path: &str) -> (u16, Vec<u8>, Option<String>) {
        let answer = self
            .client
            .post(format!("{}{path}", self.url))
            .header(reqwest::header::COOKIE, &self.cookie)
            .header(CSRF_HEADER, &self.csrf)
            .send()
            .expect("post");
        let status = answer.status().as_u16();
        let sha = answer
            .headers()
            .get("x-package-sha256")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        (status, answer.bytes().expect("bytes").to_vec(), sha)
    }

    pub(crate) fn decide(&self, id: &str, action: &str, comment: Option<&str>) -> (u16, Value) {
        self.post(
            &format!("/api/v1/console/tasks/{id}/review"),
            &json!({ "action": action, "comment": comment }),
        )
    }
}

pub(crate) fn ids(page: &Value) -> Vec<String> {
    page["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r["id"].as_str().expect("id").to_owned())
        .collect()
}

#[test]
fn the_list_filters_sorts_and_pages_within_the_supervisors_teams_and_agrees_with_dashboard_and_export()
 {
    let server = TestServer::start_demo();
    let supervisor = Console::sign_in(&server, "S-001", Role::Supervisor, &["T-QX-01"]);
    let admin = Console::sign_in(&server, "A-001", Role::Admin, &[]);

    // A task of another team, which only the administrator sees.
    let (_, dir) = admin.get("/api/v1/console/directory");
    let others: Vec<&str> = dir["inspectors"]
        .as_array()
        .expect("as expected")
        .iter()
        .filter(|i| i["team"] == "T-QX-02")
        .map(|i| i["id"].as_str().expect("as expected"))
        .collect();
    let (status, made) = admin.post(
        "/api/v1/console/tasks",
        &json!({"uscc": "92360736MA36XJ6832", "team": "T-QX-02", "inspectors": others,
                "start": "2026-06-01", "end": "2026-06-30"}),
    );
    assert_eq!(status, 200, "{made}");
    let (status, all) = admin.get("/api/v1/console/tasks?per_page=200");
    assert_eq!(status, 200, "{all}");
    let (_, mine) = supervisor.get("/api/v1/console/tasks?per_page=200");
    let total = all["total"].as_u64().expect("total");
    let own = mine["total"].as_u64().expect("total");
    assert!(
        total == own + 1 && own > 0,
        "admin {total}, supervisor {own}"
    );
    let (status, _) = supervisor.get(&format!(
        "/api/v1/console/tasks/{}",
        made["id"].as_str().expect("as expected")
    ));
    assert_eq!(status, 404);
    assert!(
        mine["rows"]
            .as_array()
            .expect("rows")
            .iter()
            .all(|r| r["team"] == "T-QX-01")
    );

    // Pages of 5, sorted by code, cover the same tasks as one page, in order.
    let mut paged = Vec::new();
    for page in 1.. {
        let (_, p) = supervisor.get(&format!(
            "/api/v1/console/tasks?sort=code&per_page=5&page={page}"
        ));
        let rows = ids(&p);
        if rows.is_empty() {
            break;
        }
        paged.extend(rows);
    }
    let (_, by_code) = supervisor.get("/api/v1/console/tasks?sort=code&per_page=200");
    assert_eq!(paged, ids(&by_code));
    let codes: Vec<&str> = by_code["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r["code"].as_str().expect("code"))
        .collect();
    let mut sorted = codes.clone();
    sorted.sort_unstable();
    assert_eq!(codes, sorted);
    let (_, descending) = supervisor.get("/api/v1/console/tasks?sort=-code&per_page=200");
    let mut reversed = ids(&by_code);
    reversed.reverse();
    assert_eq!(ids(&descending), reversed);

    // Search by a piece of a subject's name, by USCC and by code.
    let first = &by_code["rows"][0];
    let name: String = first["subject_name"]
        .as_str()
        .expect("name")
        .chars()
        .take(3)
        .collect();
    let short: String = name.chars().take(2).collect();
    for q in [
        short.as_str(),
        name.as_str(),
        first["uscc"].as_str().expect("uscc"),
        first["code"].as_str().expect("code"),
    ] {
        let (_, found) = supervisor.get(&format!(
            "/api/v1/console/tasks?q={}",
            url::form_urlencoded::byte_serialize(q.as_bytes()).collect::<String>()
        ));
        assert!(
            ids(&found).contains(&first["id"].as_str().expect("as expected").to_owned()),
            "{q}"
        );
    }

    // Dashboard figures are the list's totals for the same filters.
    let (status, board) = supervisor.get("/api/v1/console/dashboard");
    assert_eq!(status, 200, "{board}");
    let mut by_status_sum = 0;
    for status in Status::ALL {
        let (_, list) = supervisor.get(&format!("/api/v1/console/tasks?status={status}"));
        let count = board["by_status"][status.as_str()].as_u64().unwrap_or(0);
        assert_eq!(list["total"].as_u64(), Some(count), "{status}");
        by_status_sum += count;
    }
    assert_eq!(by_status_sum, own);
    let year = board["year"].as_i64().expect("year");
    for (figure, query) in [
        ("overdue", "overdue=true".to_owned()),
        ("returned", "returned=true".to_owned()),
        ("rectification_due", "rectification_due=true".to_owned()),
        ("joint", format!("joint=true&year={year}")),
        ("single", format!("joint=false&year={year}")),
    ] {
        let (_, list) = supervisor.get(&format!("/api/v1/console/tasks?{query}"));
        assert_eq!(list["total"], board[figure], "{figure}");
    }
    let department = board["by_department"][0]["code"]
        .as_str()
        .expect("a department");
    let (_, list) = supervisor.get(&format!("/api/v1/console/tasks?department={department}"));
    assert_eq!(list["total"], board["by_department"][0]["total"]);

    // The export holds what the filter selects: CSV and JSON.
    let (status, csv) = supervisor.get_text("/api/v1/console/tasks/export?format=csv&sort=code");
    assert_eq!(status, 200);
    let lines: Vec<&str> = csv.trim_end().split("\r\n").collect();
    assert!(lines[0].starts_with("code,subject_name,uscc,status"));
    assert_eq!(lines.len() as u64 - 1, own);
    assert!(lines[1].starts_with(codes[0]));
    let (_, json) = supervisor.get("/api/v1/console/tasks/export?format=json&status=assigned");
    let (_, assigned) = supervisor.get("/api/v1/console/tasks?status=assigned&per_page=200");
    assert_eq!(
        json.as_array().expect("array").len() as u64,
        assigned["total"].as_u64().expect("as expected")
    );

    // Another team's filter is refused, not silently emptied.
    let (status, e) = supervisor.get("/api/v1/console/tasks?team=T-QX-02");
    assert_eq!(
        (status, e["code"].as_str()),
        (403, Some("console.forbidden"))
    );
}

#[test]
fn a_record_is_reviewed_in_the_console_and_the_decisions_reach_the_tablet() {
    let server = TestServer::start_demo();
    let console = Console::sign_in(&server, "S-001", Role::Supervisor, &["T-QX-01"]);
    let (mut a, _b, id) = squad_checked_in(&server);
    let wa = a.author();
    complete_and_submit(&mut a, &id);
    a.sync().expect("submit");

    let (status, record) = console.get(&format!("/api/v1/console/tasks/{id}"));
    assert_eq!(status, 200, "{record}");
    assert_eq!(record["record"]["status"], "submitted");
    assert_eq!(record["record"]["editable"], false);
    let groups = record["record"]["groups"].as_array().expect("groups");
    assert!(!groups.is_empty());
    assert!(
        groups
            .iter()
            .flat_map(|g| g["items"].as_array().expect("as expected"))
            .all(|i| i["answer"]["result"] == "pass")
    );
    // Every change has the device's time and the server's receipt time.
    let timeline = record["timeline"].as_array().expect("timeline");
    assert!(timeline.len() > 5);
    assert!(timeline.iter().all(|e| e["received_at"].is_number()
        && e["at"].is_number()
        && e["device_id"].is_string()));
    let devices: std::collections::BTreeSet<&str> = timeline
        .iter()
        .map(|e| e["device_id"].as_str().expect("as expected"))
        .collect();
    assert!(
        devices.contains("server") && devices.len() >= 3,
        "{devices:?}"
    );

    // Returning needs a reason; then it is recorded by the supervisor's actor.
    let (status, e) = console.decide(&id, "return", None);
    assert_eq!(
        (status, e["code"].as_str()),
        (422, Some("console.bad_input"))
    );
    let (status, e) = console.decide(&id, "publish", None);
    assert_eq!(
        (status, e["code"].as_str()),
        (409, Some("status.transition"))
    );
    let (status, returned) = console.decide(&id, "return", Some("灭火器照片不清晰，请补拍"));
    assert_eq!(status, 200, "{returned}");
    assert_eq!(returned["record"]["status"], "returned");
    assert_eq!(
        returned["record"]["return_comment"],
        "灭火器照片不清晰，请补拍"
    );
    let last = returned["timeline"]
        .as_array()
        .expect("as expected")
        .last()
        .expect("as expected")
        .clone();
    assert_eq!(last["device_id"], "console:S-001");
    assert_eq!(last["person"], "S-001");
    assert_eq!(
        last["actor"].as_str().expect("as expected"),
        console::console_actor("S-001").to_hex_string()
    );
    let receipts = server.store.receipts().expect("receipts");
    assert_eq!(
        fieldloop_server::store::verify_receipts(&receipts).expect("chain"),
        receipts.len()
    );
    assert_eq!(
        receipts.last().expect("as expected").device_id,
        "console:S-001"
    );

    // The tablet sees it, fixes, resubmits; approve and publish.
    a.sync().expect("sync");
    let report = a
        .store
        .open_task(&id)
        .expect("as expected")
        .status_report()
        .expect("as expected");
    assert_eq!(report.status, Some(Status::Returned));
    let item = a
        .store
        .open_task(&id)
        .expect("as expected")
        .task()
        .expect("as expected")
        .items_in_order()[0]
        .0
        .clone();
    a.store
        .edit(&id, NOW, |d| {
            d.record_answer(&wa, NOW, &item, None, None, Some("已补拍"))
        })
        .expect("fix");
    a.store
        .edit(&id, NOW, |d| d.submit(&wa, NOW))
        .expect("resubmit");
    a.sync().expect("sync");
    assert_eq!(
        console.decide(&id, "approve", None).1["record"]["status"],
        "approved"
    );
    assert_eq!(
        console.decide(&id, "publish", None).1["record"]["status"],
        "published"
    );
    a.sync().expect("sync");
    assert_eq!(
        a.store
            .open_task(&id)
            .expect("as expected")
            .status_report()
            .expect("as expected")
            .status,
        Some(Status::Published)
    );
    let (_, listed) = console.get("/api/v1/console/tasks?status=published");
    assert!(ids(&listed).contains(&id));

    // Cancel and reopen need a reason too, and are refused once published.
    let (status, _) = console.decide(&id, "cancel", Some("重复任务"));
    assert_eq!(status, 409);
}

#[test]
fn a_task_made_by_hand_reaches_the_tablet_and_a_deactivated_inspector_is_refused() {
    let server = TestServer::start(0, Default::default());
    let supervisor = Console::sign_in(&server, "S-001", Role::Supervisor, &["T-QX-01"]);
    let admin = Console::sign_in(&server, "A-001", Role::Admin, &[]);
    let mut tablet = Tablet::enroll(&server, "I-001");
    tablet.sync().expect("sync");
    assert_eq!(
        tablet
            .store
            .list_tasks(&Default::default())
            .expect("as expected")
            .len(),
        0
    );

    let (status, hits) = supervisor.get("/api/v1/console/subjects?q=92360736MA36XJ6832");
    assert_eq!(status, 200, "{hits}");
    let subject = &hits[0];
    assert_eq!(subject["inspections_this_year"], 0);
    let (status, book) = supervisor.get(&format!(
        "/api/v1/console/handbook/{}",
        subject["industry"].as_str().expect("as expected")
    ));
    assert_eq!(status, 200, "{book}");
    let items: Vec<String> = book["items"]
        .as_array()
        .expect("as expected")
        .iter()
        .take(2)
        .map(|i| i["id"].as_str().expect("as expected").to_owned())
        .collect();
    let year = chrono::Utc::now().format("%Y").to_string();
    let new = json!({
        "uscc": subject["uscc"], "items": items, "team": "T-QX-01",
        "inspectors": ["I-001", "I-002"],
        "start": format!("{year}-01-10"), "end": format!("{year}-01-20"),
    });
    // One inspector, another team, an item not in the handbook: refused, nothing made.
    for (bad, code, status) in [
        (json!({"inspectors": ["I-001"]}), "console.bad_input", 422),
        (json!({"team": "T-QX-02"}), "console.forbidden", 403),
        (json!({"items": ["NOT-AN-ITEM"]}), "console.bad_input", 422),
        (json!({"start": "2026-13-01"}), "console.bad_input", 422),
    ] {
        let mut body = new.clone();
        for (k, v) in bad.as_object().expect("as expected") {
            body[k] = v.clone();
        }
        let (got, e) = supervisor.post("/api/v1/console/tasks", &body);
        assert_eq!((got, e["code"].as_str()), (status, Some(code)), "{bad}");
    }
    assert_eq!(supervisor.get("/api/v1/console/tasks").1["total"], 0);

    let (status, made) = supervisor.post("/api/v1/console/tasks", &new);
    assert_eq!(status, 200, "{made}");
    let id = made["id"].as_str().expect("as expected").to_owned();
    tablet.sync().expect("sync");
    let task = tablet
        .store
        .open_task(&id)
        .expect("on the tablet")
        .task()
        .expect("as expected");
    assert_eq!(task.checklist.len(), 2);
    assert_eq!(task.inspectors, vec!["I-001", "I-002"]);
    // The subject now counts one inspection this year.
    let (_, hits) = supervisor.get("/api/v1/console/subjects?q=92360736MA36XJ6832");
    assert_eq!(hits[0]["inspections_this_year"], 1);

    // Only an administrator turns inspectors off; then the device is refused.
    let (status, e) = supervisor.post(
        "/api/v1/console/inspectors/I-001/active",
        &json!({"active": false}),
    );
    assert_eq!(
        (status, e["code"].as_str()),
        (403, Some("console.forbidden"))
    );
    tablet.sync().expect("still active");
    let (status, _) = admin.post(
        "/api/v1/console/inspectors/I-001/active",
        &json!({"active": false}),
    );
    assert_eq!(status, 204);
    let refused = tablet.sync().expect_err("refused");
    assert_eq!(refused.code(), "auth.inactive");
    let (_, dir) = admin.get("/api/v1/console/directory");
    let i001 = dir["inspectors"]
        .as_array()
        .expect("as expected")
        .iter()
        .find(|i| i["id"] == "I-001")
        .expect("as expected");
    assert_eq!(i001["active"], false);
    let (_, dir) = supervisor.get("/api/v1/console/directory");
    assert!(
        dir["teams"]
            .as_array()
            .expect("as expected")
            .iter()
            .all(|t| t["id"] == "T-QX-01")
    );
}

#[test]
fn bad_console_requests_are_clear_4xx_and_change_nothing() {
    let server = TestServer::start_demo();
    let console = Console::sign_in(&server, "S-001", Role::Supervisor, &["T-QX-01"]);
    let other = Console::sign_in(&server, "S-002", Role::Supervisor, &["T-QX-02"]);
    let tablet = Tablet::enroll(&server, "I-001");
    let (_, mine) = console.get("/api/v1/console/tasks?per_page=1");
    let id = mine["rows"][0]["id"]
        .as_str()
        .expect("as expected")
        .to_owned();
    let feed = server.store.feed_end().expect("as expected");
    let client = Client::new();
    let url = |p: &str| format!("{}{p}", server.url);

    // The API is described, for anyone, at /api/v1/openapi.json.
    let doc: Value = client
        .get(url("/api/v1/openapi.json"))
        .send()
        .expect("openapi")
        .json()
        .expect("json");
    assert!(doc["openapi"].as_str().expect("version").starts_with("3."));
    assert!(doc["paths"]["/api/v1/console/tasks/{id}/review"]["post"].is_object());

    // No session, an unknown cookie, an inspector's device token.
    let answer = client
        .get(url("/api/v1/console/tasks"))
        .send()
        .expect("as expected");
    assert_eq!(answer.status().as_u16(), 401);
    let answer = client
        .get(url("/api/v1/console/dashboard"))
        .header(reqwest::header::COOKIE, "fieldloop_session=0000")
        .send()
        .expect("as expected");
    assert_eq!(answer.status().as_u16(), 401);
    let answer = client
        .get(url(&format!("/api/v1/console/tasks/{id}")))
        .bearer_auth(&tablet.enrollment.token)
        .send()
        .expect("as expected");
    let e: Value = answer.json().expect("as expected");
    assert_eq!(e["code"], "console.no_session");

    // A decision without or with a wrong CSRF token.
    for csrf in [None, Some("forged")] {
        let mut request = client
            .post(url(&format!("/api/v1/console/tasks/{id}/review")))
            .header(reqwest::header::COOKIE, &console.cookie)
            .json(&json!({"action": "cancel", "comment": "x"}));
        if let Some(csrf) = csrf {
            request = request.header(CSRF_HEADER, csrf);
        }
        let answer = request.send().expect("as expected");
        assert_eq!(answer.status().as_u16(), 403);
        assert_eq!(
            answer.json::<Value>().expect("as expected")["code"],
            "console.csrf"
        );
    }

    // Another team's task is not there; nor is an unknown one.
    for (who, task) in [(&other, id.as_str()), (&console, "no-such-task")] {
        let (status, e) = who.get(&format!("/api/v1/console/tasks/{task}"));
        assert_eq!(
            (status, e["code"].as_str()),
            (404, Some("console.not_found"))
        );
        let (status, _) = who.decide(task, "cancel", Some("x"));
        assert_eq!(status, 404);
    }

    // Malformed JSON, unknown fields and actions, an oversized body and comment.
    let answer = client
        .post(url(&format!("/api/v1/console/tasks/{id}/review")))
        .header(reqwest::header::COOKIE, &console.cookie)
        .header(CSRF_HEADER, &console.csrf)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body("{\"action\": ")
        .send()
        .expect("as expected");
    assert_eq!(answer.status().as_u16(), 400);
    for body in [
        json!({"action": "delete"}),
        json!({"action": "cancel", "comment": "x", "status": "approved"}),
    ] {
        let (status, e) = console.post(&format!("/api/v1/console/tasks/{id}/review"), &body);
        assert!(status == 400 || status == 422, "{status} {e}");
        assert!(
            e["code"]
                .as_str()
                .expect("as expected")
                .starts_with("http."),
            "{e}"
        );
    }
    let (status, e) = console.decide(&id, "cancel", Some(&"长".repeat(2_001)));
    assert_eq!(
        (status, e["code"].as_str()),
        (422, Some("console.bad_input"))
    );
    let answer = client
        .post(url("/api/v1/console/tasks"))
        .header(reqwest::header::COOKIE, &console.cookie)
        .header(CSRF_HEADER, &console.csrf)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(vec![b' '; console::MAX_CONSOLE_BODY + 1])
        .send();
    if let Ok(answer) = answer {
        assert_eq!(answer.status().as_u16(), 413);
    }

    // Bad queries and blob ids with path tricks.
    // Quotes and operators in a search are text, not query syntax.
    for q in ["%22%22%22", "a%22%20OR%20%22b", "NEAR(x)*"] {
        let (status, page) = console.get(&format!("/api/v1/console/tasks?q={q}"));
        assert_eq!((status, page["total"].as_u64()), (200, Some(0)), "{q}");
    }
    for query in [
        "status=done",
        "sort=;DROP",
        "page=-1",
        "per_page=100000",
        "x=1",
    ] {
        let (status, e) = console.get(&format!("/api/v1/console/tasks?{query}"));
        assert_eq!(
            (status, e["code"].as_str()),
            (400, Some("console.bad_query")),
            "{query}"
        );
    }
    for blob in ["..%2F..%2Fstore.db", "abc", &"0".repeat(64)] {
        let (status, _) = console.get(&format!("/api/v1/console/blobs/{blob}"));
        assert_eq!(status, 404, "{blob}");
    }

    assert_eq!(
        server.store.feed_end().expect("as expected"),
        feed,
        "nothing was written"
    );
    let (_, after) = console.get(&format!("/api/v1/console/tasks/{id}"));
    assert_ne!(after["record"]["status"], "cancelled");
}
