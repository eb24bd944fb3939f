//! The console's server side at province-county scale: 100,000 tasks in the
//! task index of a real SQLite store, the real router on a loopback port,
//! and a signed-in supervisor's requests timed end to end (HTTP included):
//! list pages (50 rows, filtered and sorted, several filters in turn), the
//! dashboard, and a CSV export of 10,000 tasks with the process's resident
//! memory sampled while it streams. Prints a table and writes
//! `target/bench-console.json`.
//!
//! The 100,000 tasks share one real task document (the index rows differ:
//! statuses, departments, due dates, subjects), written through the
//! store's own commit path in batches, so the feed and receipts are as big
//! as they would be.
//!
//! `cargo bench -p fieldloop-tests --bench console`, or `cargo xtask bench`.

use std::time::Instant;

use fieldloop_core::{Role, Status};
use fieldloop_server::console::{self, TaskIndex};
use fieldloop_server::store::{ConsoleUser, TaskWrite};
use fieldloop_tests::{NOW, TestServer};
use reqwest::blocking::Client;
use serde_json::{Value, json};

const TASKS: usize = 100_000;
const BATCH: usize = 2_000;
const RUNS: usize = 60;
const EXPORT_ROWS: usize = 10_000;
const GOAL_LIST_P95_MS: f64 = 100.0;
const GOAL_DASHBOARD_P95_MS: f64 = 300.0;
const DAY: i64 = 86_400_000;

fn percentile(samples: &mut [f64], p: f64) -> f64 {
    samples.sort_by(f64::total_cmp);
    let i = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples[i]
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).map(str::to_owned))
        })
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// Fills the store with [`TASKS`] tasks like the first demo task.
fn fill(server: &TestServer) {
    let template = server
        .store
        .list_tasks(&Default::default(), Default::default(), 1, 1, NOW)
        .expect("list")
        .rows
        .into_iter()
        .next()
        .expect("a demo task");
    let stored = server
        .store
        .task(&template.id)
        .expect("read")
        .expect("task");
    let mut doc = fieldloop_core::TaskDoc::load(&stored.doc).expect("load");
    let base = TaskIndex::of(doc.automerge()).expect("index");
    let heads = doc.heads();
    let departments = ["SCJG", "XF", "YJ", "WJ", "ST", "NY", "JY", "WH", "ZJ"];
    let teams = ["T-QX-01", "T-QX-02"];
    let started = Instant::now();
    let mut n = 0;
    while n < TASKS {
        let writes: Vec<TaskWrite> = (n..(n + BATCH).min(TASKS))
            .map(|i| {
                let mut index = base.clone();
                index.id = format!("bench-{i:06}");
                index.code = format!("JX-2026-{i:06}");
                index.subject_name = format!("{}号商户{}", i % 9_973, departments[i % 9]);
                index.uscc = format!("91360{:013}", i % 20_000);
                index.status = Some(Status::ALL[i % Status::ALL.len()]);
                index.team = teams[i % 2].to_owned();
                index.departments = vec![
                    departments[i % 9].to_owned(),
                    departments[(i / 9) % 9].to_owned(),
                ];
                index.departments.dedup();
                index.lead_department = index.departments[0].clone();
                index.due = NOW + ((i % 365) as i64 - 180) * DAY;
                index.window_start = index.due - 14 * DAY;
                index.rectification_due = (i % 11 == 0).then_some(index.due + 20 * DAY);
                TaskWrite {
                    id: index.id.clone(),
                    team: index.team.clone(),
                    doc: stored.doc.clone(),
                    heads: heads.clone(),
                    new_changes: Vec::new(),
                    added: None,
                    append: false,
                    flags: Vec::new(),
                    index: Some(index),
                }
            })
            .collect();
        server
            .store
            .commit_sync(&[], &writes, "bench", NOW)
            .expect("commit");
        n += BATCH;
    }
    println!(
        "filled {TASKS} tasks in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

fn main() {
    let server = TestServer::start(1, Default::default());
    fill(&server);
    // As the server does at start and every hour.
    server.store.refresh_statistics().expect("statistics");
    let user = ConsoleUser {
        id: "S-001".into(),
        name: "王主管".into(),
        role: Role::Supervisor,
        teams: vec!["T-QX-01".into(), "T-QX-02".into()],
        departments: Vec::new(),
    };
    console::add_user(server.store.as_ref(), &user, "bench password", NOW).expect("user");
    fieldloop_tablet::tls::install_crypto();
    let client = Client::new();
    let login = client
        .post(format!("{}/api/v1/console/login", server.url))
        .json(&json!({"user": "S-001", "password": "bench password"}))
        .send()
        .expect("login");
    let cookie = login
        .headers()
        .get(reqwest::header::SET_COOKIE)
        .expect("cookie")
        .to_str()
        .expect("ascii")
        .split(';')
        .next()
        .expect("cookie")
        .to_owned();
    let get = |path: &str| -> (f64, Value) {
        let started = Instant::now();
        let answer = client
            .get(format!("{}{path}", server.url))
            .header(reqwest::header::COOKIE, &cookie)
            .send()
            .expect("get");
        assert_eq!(answer.status().as_u16(), 200, "{path}");
        let body: Value = answer.json().expect("json");
        (started.elapsed().as_secs_f64() * 1e3, body)
    };

    let lists = [
        "/api/v1/console/tasks?per_page=50&sort=-due",
        "/api/v1/console/tasks?per_page=50&status=submitted&sort=due",
        "/api/v1/console/tasks?per_page=50&department=XF&status=assigned,in_progress&sort=-updated",
        "/api/v1/console/tasks?per_page=50&q=%E5%95%86%E6%88%B7XF&sort=subject",
        "/api/v1/console/tasks?per_page=50&overdue=true&team=T-QX-02&sort=code&page=20",
        "/api/v1/console/tasks?per_page=50&q=JX-2026-0999&sort=-code",
    ];
    let mut table = Vec::new();
    let mut all_lists = Vec::new();
    for path in lists {
        let mut samples: Vec<f64> = (0..RUNS)
            .map(|_| {
                let (ms, body) = get(path);
                assert!(body["total"].as_u64().is_some());
                ms
            })
            .collect();
        all_lists.extend(samples.iter().copied());
        let (_, body) = get(path);
        let p50 = percentile(&mut samples, 0.5);
        let p95 = percentile(&mut samples, 0.95);
        println!(
            "list {path}\n     total {:>6}  p50 {p50:6.1} ms  p95 {p95:6.1} ms",
            body["total"]
        );
        table.push(json!({"path": path, "total": body["total"], "p50_ms": p50, "p95_ms": p95}));
    }
    let list_p95 = percentile(&mut all_lists, 0.95);

    let mut dash: Vec<f64> = (0..RUNS / 3)
        .map(|_| get("/api/v1/console/dashboard").0)
        .collect();
    let dash_p50 = percentile(&mut dash, 0.5);
    let dash_p95 = percentile(&mut dash, 0.95);
    println!("dashboard            p50 {dash_p50:6.1} ms  p95 {dash_p95:6.1} ms");

    // Export: about 10,000 rows (37 of the 365 due days), streamed; memory sampled.
    let window = format!("due_from={}&due_to={}", NOW - 180 * DAY, NOW - 144 * DAY);
    let (_, probe) = get(&format!("/api/v1/console/tasks?per_page=1&{window}"));
    let selected = probe["total"].as_u64().expect("total");
    let rss_before = rss_kib();
    let started = Instant::now();
    let mut answer = client
        .get(format!(
            "{}/api/v1/console/tasks/export?format=csv&{window}",
            server.url
        ))
        .header(reqwest::header::COOKIE, &cookie)
        .send()
        .expect("export");
    let mut buf = [0u8; 64 * 1024];
    let mut bytes = 0usize;
    let mut lines = 0usize;
    let mut peak = rss_before;
    loop {
        let n = std::io::Read::read(&mut answer, &mut buf).expect("read");
        if n == 0 {
            break;
        }
        bytes += n;
        lines += buf[..n].iter().filter(|b| **b == b'\n').count();
        peak = peak.max(rss_kib());
    }
    let export_ms = started.elapsed().as_secs_f64() * 1e3;
    assert_eq!(lines as u64, selected + 1, "header and one line a task");
    println!(
        "export csv: {} rows (about {EXPORT_ROWS} asked), {:.1} MiB in {export_ms:.0} ms; resident memory {:.1} → peak {:.1} MiB (+{:.1})",
        selected,
        bytes as f64 / 1_048_576.0,
        rss_before as f64 / 1024.0,
        peak as f64 / 1024.0,
        (peak - rss_before) as f64 / 1024.0
    );

    let verdict = |ok: bool| if ok { "ok" } else { "MISSED" };
    println!(
        "goals: list p95 {list_p95:.1} ms ≤ {GOAL_LIST_P95_MS} {}; dashboard p95 {dash_p95:.1} ms ≤ {GOAL_DASHBOARD_P95_MS} {}",
        verdict(list_p95 <= GOAL_LIST_P95_MS),
        verdict(dash_p95 <= GOAL_DASHBOARD_P95_MS)
    );
    let out = json!({
        "tasks": TASKS,
        "lists": table,
        "list_p95_ms": list_p95,
        "dashboard_p50_ms": dash_p50,
        "dashboard_p95_ms": dash_p95,
        "export_rows": selected,
        "export_bytes": bytes,
        "export_ms": export_ms,
        "export_rss_growth_kib": peak - rss_before,
    });
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench-console.json");
    std::fs::write(&path, serde_json::to_string_pretty(&out).expect("json")).expect("write");
}
