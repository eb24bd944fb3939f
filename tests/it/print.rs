//! Printed records from the console through the real router on a real
//! port: a squad records a finding with a rectification order on the
//! tablet and syncs; the supervisor downloads the 现场检查笔录 and the
//! 责令改正通知书 as PDF (text read back with `pdftotext`), with the hash
//! in `X-Content-SHA256` and the same bytes twice; someone of another team,
//! no session, an unknown finding and a bad query are refused.

use std::io::Write;
use std::process::Command;

use fieldloop_core::demo::DemoData;
use fieldloop_core::{Finding, Role, Severity};
use fieldloop_server::console::{self, CONTENT_SHA256_HEADER};
use fieldloop_server::store::ConsoleUser;
use fieldloop_tests::{NOW, TestServer};
use reqwest::blocking::{Client, Response};
use sha2::{Digest, Sha256};

use crate::sync::squad_checked_in;

const PASSWORD: &str = "correct horse battery";

/// A signed-in console user with a plain client (PDFs are bytes, not JSON).
struct Reader {
    client: Client,
    url: String,
    cookie: String,
}

impl Reader {
    fn sign_in(server: &TestServer, id: &str, teams: &[&str]) -> Self {
        let user = ConsoleUser {
            id: id.into(),
            name: format!("{id} 的名字"),
            role: Role::Supervisor,
            teams: teams.iter().map(|t| (*t).to_owned()).collect(),
            departments: Vec::new(),
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
            .json(&serde_json::json!({ "user": id, "password": PASSWORD }))
            .send()
            .expect("login");
        assert_eq!(answer.status().as_u16(), 200);
        let cookie = answer
            .headers()
            .get(reqwest::header::SET_COOKIE)
            .and_then(|c| c.to_str().ok())
            .and_then(|c| c.split(';').next())
            .expect("cookie")
            .to_owned();
        Self {
            client,
            url: server.url.clone(),
            cookie,
        }
    }

    fn get(&self, path: &str) -> Response {
        self.client
            .get(format!("{}{path}", self.url))
            .header(reqwest::header::COOKIE, &self.cookie)
            .send()
            .expect("get")
    }
}

/// The PDF's text, white space removed (line breaks fall anywhere).
fn pdf_text(pdf: &[u8]) -> String {
    let mut file = tempfile::NamedTempFile::new().expect("temp file");
    file.write_all(pdf).expect("write");
    let output = Command::new("pdftotext")
        .args(["-enc", "UTF-8"])
        .arg(file.path())
        .arg("-")
        .output()
        .expect("pdftotext (apt-get install poppler-utils)");
    assert!(output.status.success());
    String::from_utf8(output.stdout)
        .expect("utf-8")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect()
}

/// A PDF answer: its bytes, after checking the type and the hash header.
fn pdf_of(answer: Response) -> Vec<u8> {
    assert_eq!(answer.status().as_u16(), 200);
    let headers = answer.headers().clone();
    assert_eq!(
        headers
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok()),
        Some("application/pdf")
    );
    let hash = headers
        .get(CONTENT_SHA256_HEADER)
        .and_then(|v| v.to_str().ok())
        .expect("X-Content-SHA256")
        .to_owned();
    let pdf = answer.bytes().expect("body").to_vec();
    assert!(pdf.starts_with(b"%PDF-"));
    assert_eq!(
        hash,
        format!("{:x}", Sha256::digest(&pdf)),
        "the header is the PDF's hash"
    );
    pdf
}

fn code_of(answer: Response) -> (u16, String) {
    let status = answer.status().as_u16();
    let body: serde_json::Value = answer.json().unwrap_or_default();
    (status, body["code"].as_str().unwrap_or("").to_owned())
}

#[test]
fn the_console_prints_the_record_and_the_notice_of_a_synced_task() {
    let server = TestServer::start_demo();
    let (mut a, b, id) = squad_checked_in(&server);
    let who = a.author();
    let task = a.store.open_task(&id).expect("open").task().expect("task");
    let (item, _) = task.items_in_order()[0];
    let finding = Finding {
        id: "F-print-1".to_owned(),
        item_id: Some(item.clone()),
        description: "灭火器压力不足".to_owned(),
        severity: Severity::Major,
        rectification_order: Some("更换或充装灭火器".to_owned()),
        rectification_deadline: Some(NOW + 7 * 86_400_000),
        by: String::new(),
        at: 0,
    };
    a.store
        .edit(&id, NOW, |d| d.add_finding(&who, NOW, finding))
        .expect("finding");
    a.sync().expect("sync");
    drop(b);

    let team = task.team.clone();
    let supervisor = Reader::sign_in(&server, "S-001", &[team.as_str()]);
    let record = pdf_of(supervisor.get(&format!("/api/v1/console/tasks/{id}/record.pdf")));
    let text = pdf_text(&record);
    let name: String = task.subject.name.split_whitespace().collect();
    assert!(text.contains("现场检查笔录"), "{text}");
    assert!(
        text.contains(&name),
        "the subject's name {name} is not in {text}"
    );
    assert!(
        text.contains("灭火器压力不足"),
        "the finding is not in {text}"
    );
    // Badge numbers from the server's directory.
    let demo = DemoData::embedded().expect("demo");
    for inspector in &task.inspectors {
        let badge = &demo
            .inspectors
            .iter()
            .find(|i| &i.id == inspector)
            .expect("demo inspector")
            .badge_no;
        assert!(
            text.contains(badge.as_str()),
            "badge {badge} of {inspector} missing"
        );
    }
    // Deterministic: the same record twice is the same bytes.
    let again = pdf_of(supervisor.get(&format!("/api/v1/console/tasks/{id}/record.pdf")));
    assert!(record == again, "two downloads of one record differ");

    let notice = pdf_of(supervisor.get(&format!(
        "/api/v1/console/tasks/{id}/notice.pdf?finding=F-print-1"
    )));
    let text = pdf_text(&notice);
    assert!(text.contains("责令改正通知书"), "{text}");
    assert!(text.contains(&name), "{text}");
    assert!(text.contains("更换或充装灭火器"), "{text}");
    assert!(text.contains("六十日内依法申请行政复议"), "{text}");

    // Refusals.
    let unknown = supervisor.get(&format!(
        "/api/v1/console/tasks/{id}/notice.pdf?finding=F-none"
    ));
    assert_eq!(code_of(unknown), (404, "console.not_found".to_owned()));
    let no_finding = supervisor.get(&format!("/api/v1/console/tasks/{id}/notice.pdf"));
    assert_eq!(code_of(no_finding), (400, "console.bad_query".to_owned()));
    let stranger = Reader::sign_in(&server, "S-077", &["T-ELSEWHERE"]);
    for path in [
        format!("/api/v1/console/tasks/{id}/record.pdf"),
        format!("/api/v1/console/tasks/{id}/notice.pdf?finding=F-print-1"),
    ] {
        assert_eq!(
            code_of(stranger.get(&path)),
            (404, "console.not_found".to_owned()),
            "another team's supervisor must not print {path}"
        );
        let anonymous = Client::new()
            .get(format!("{}{path}", server.url))
            .send()
            .expect("get");
        assert_eq!(code_of(anonymous).0, 401);
    }
    let missing = supervisor.get("/api/v1/console/tasks/no-such-task/record.pdf");
    assert_eq!(code_of(missing), (404, "console.not_found".to_owned()));
}
