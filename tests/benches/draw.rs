//! A province-county draw: 50,000 subjects and 500 inspectors in a real
//! SQLite store, five department plans over overlapping windows (so that
//! joint visits merge), fixed and given their entropy, then timed: the
//! preview (the whole draw, merging included), the commit (every task
//! document created and assigned in one transaction), and the public draw
//! page and list through the real router on a loopback port (HTTP
//! included, so an upper bound of the server's time). Prints a table and
//! writes `target/bench-draw.json`.
//!
//! `cargo bench -p fieldloop-tests --bench draw`, or `cargo xtask bench`.

use std::time::Instant;

use fieldloop_core::demo::DemoData;
use fieldloop_core::{GeoPoint, Inspector, RiskClass, Role, Subject, Team, TeamKind, Uscc};
use fieldloop_server::draws::{self, DrawRequest};
use fieldloop_server::store::{CatalogRows, ConsoleUser};
use fieldloop_tests::TestServer;
use serde_json::json;

const SUBJECTS: usize = 50_000;
const INSPECTORS: usize = 500;
const TEAMS: usize = 10;
/// Requests per page timed: under the 亮码 page's lookup limit per address.
const PAGE_RUNS: usize = 25;
const GOAL_PREVIEW_S: f64 = 1.0;
const GOAL_COMMIT_S: f64 = 10.0;
const GOAL_PAGE_MS: f64 = 100.0;
const PLANS: [(&str, &str, &str); 5] = [
    ("SCJG", "2027-03-01", "2027-04-30"),
    ("XFJY", "2027-03-15", "2027-05-15"),
    ("YJGL", "2027-04-01", "2027-05-31"),
    ("WSJK", "2027-04-15", "2027-06-15"),
    ("ZJ", "2027-05-01", "2027-06-30"),
];
const TOWNS: [&str; 6] = ["青溪镇", "梅林镇", "龙口镇", "石门乡", "长岭乡", "白鹭镇"];

fn percentile(samples: &mut [f64], p: f64) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[((samples.len() as f64 - 1.0) * p).round() as usize]
}

fn subjects(data: &DemoData) -> Vec<Subject> {
    (0..SUBJECTS)
        .map(|n| {
            // Division 360736 (the demo county), an organisation code, its check.
            let first17 = format!("91360736MA{:07}", n);
            let class = match n % 20 {
                0 => RiskClass::D,
                1..=3 => RiskClass::C,
                4..=9 => RiskClass::B,
                _ => RiskClass::A,
            };
            Subject {
                uscc: Uscc::with_check_char(&first17).expect("uscc"),
                name: format!("青溪县第{n}号商户"),
                address: format!("青溪县{}{}号", TOWNS[n % TOWNS.len()], n),
                industry: data.industries[n % data.industries.len()].code.clone(),
                risk_class: class,
                location: GeoPoint {
                    lat: 25.6 + (n % 100) as f64 / 1000.0,
                    lon: 115.3 + (n % 97) as f64 / 1000.0,
                },
                legal_rep: "王某".into(),
                township: Some(TOWNS[n % TOWNS.len()].into()),
            }
        })
        .collect()
}

fn main() {
    let server = TestServer::start(0, Default::default());
    let store = server.store.clone();
    let data = DemoData::embedded().expect("demo data");
    let departments: Vec<String> = data.departments.iter().map(|d| d.code.clone()).collect();
    let teams: Vec<Team> = (0..TEAMS)
        .map(|t| Team {
            id: format!("T-B-{t:02}"),
            name: format!("联合检查组{t}"),
            kind: TeamKind::CountyTeam,
            departments: departments.clone(),
        })
        .collect();
    let inspectors: Vec<Inspector> = (0..INSPECTORS)
        .map(|i| Inspector {
            id: format!("I-B-{i:04}"),
            name: format!("执法人员{i}"),
            badge_no: format!("3607369{i:04}"),
            department: departments[i % departments.len()].clone(),
            team: teams[i % TEAMS].id.clone(),
            township: Some(TOWNS[i % TOWNS.len()].into()),
        })
        .collect();
    let subjects = subjects(&data);
    let started = Instant::now();
    store
        .write_catalog(&CatalogRows {
            teams: teams.iter().collect(),
            inspectors: inspectors.iter().collect(),
            subjects: subjects.iter().collect(),
            ..Default::default()
        })
        .expect("catalog");
    println!(
        "setup: {SUBJECTS} subjects, {INSPECTORS} inspectors in {TEAMS} teams written in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let admin = ConsoleUser {
        id: "A-BENCH".into(),
        name: "基准".into(),
        role: Role::Admin,
        teams: vec![],
        departments: vec![],
    };
    let second = ConsoleUser {
        id: "A-BENCH-2".into(),
        ..admin.clone()
    };
    let mut ids = Vec::new();
    let mut fix_s = Vec::new();
    for (n, (department, start, due)) in PLANS.iter().enumerate() {
        let items: Vec<String> = data
            .items
            .iter()
            .filter(|i| &i.department == department)
            .map(|i| i.id.clone())
            .collect();
        let spec = serde_json::from_value(json!({
            "name": format!("{department} 2027 年度双随机抽查"),
            "departments": [department],
            "lead_department": department,
            "items": items,
            "ratios": {"A": 300, "B": 500, "C": 1000, "D": 3000},
            "inspectors_per_task": 2,
            "teams": teams.iter().map(|t| t.id.clone()).collect::<Vec<_>>(),
            "window": {"start": start, "due": due},
            "recuse_same_township": n % 2 == 0,
            "entropy_sources": ["中国福利彩票双色球 2027-02-27 开奖号码"]
        }))
        .expect("spec");
        let plan = draws::create(store.as_ref(), &admin, spec, 1).expect("plan");
        let t = Instant::now();
        draws::fix(store.as_ref(), &admin, &plan.id, [1, 2, 3, 4], 2).expect("fix");
        fix_s.push(t.elapsed().as_secs_f64());
        draws::enter_entropy(
            store.as_ref(),
            &second,
            &plan.id,
            vec![format!("03 08 1{n} 22 27 31 + 09")],
            3,
        )
        .expect("entropy");
        ids.push(plan.id);
    }
    let request = DrawRequest {
        plans: ids.clone(),
        split: vec![],
    };
    let mut previews = Vec::new();
    let mut last = None;
    for _ in 0..5 {
        let t = Instant::now();
        let preview = draws::preview(store.as_ref(), &admin, &request).expect("preview");
        previews.push(t.elapsed().as_secs_f64());
        last = Some(preview);
    }
    let preview = last.expect("ran");
    let joint = preview.tasks.iter().filter(|t| t.plans.len() > 1).count();
    let t = Instant::now();
    let record = draws::commit(store.as_ref(), &admin, &request, 4).expect("commit");
    let commit_s = t.elapsed().as_secs_f64();
    let client = reqwest::blocking::Client::new();
    let timed = |path: &str| {
        let mut samples = Vec::new();
        let mut bytes = 0;
        for _ in 0..PAGE_RUNS {
            let t = Instant::now();
            let answer = client
                .get(format!("{}{path}", server.url))
                .send()
                .expect("get");
            assert_eq!(answer.status().as_u16(), 200, "{path}");
            bytes = answer.bytes().expect("body").len();
            samples.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        (
            percentile(&mut samples.clone(), 0.5),
            percentile(&mut samples, 0.95),
            bytes,
        )
    };
    let page = timed(&format!("/public/draws/{}", record.id));
    let list = timed("/public");
    let json_page = timed(&format!("/api/v1/public/draws/{}", record.id));
    let record_download = timed(&format!("/api/v1/public/draws/{}/record.json", record.id));
    // 亮码检查: the phone page of one drawn task, under its lookup limit
    // (fieldloop_server::verify::LOOKUPS_PER_MINUTE a minute per address).
    let page_of_task = store
        .list_tasks(
            &Default::default(),
            Default::default(),
            1,
            1,
            fieldloop_server::now_ms(),
        )
        .expect("list");
    let task_id = &page_of_task.rows.first().expect("a drawn task").id;
    let stored = store.task(task_id).expect("read").expect("the task");
    let verify_code = fieldloop_core::TaskDoc::load(&stored.doc)
        .and_then(|d| d.task())
        .expect("task")
        .verify_code;
    let verify_page = timed(&format!("/v/{verify_code}"));
    let mut sorted = previews.clone();
    let preview_median = percentile(&mut sorted, 0.5);
    let fix_mean = fix_s.iter().sum::<f64>() / fix_s.len() as f64;

    println!(
        "draw over {SUBJECTS} subjects, {INSPECTORS} inspectors, {} plans",
        PLANS.len()
    );
    println!(
        "  selections {}, visits {} ({} joint), unstaffed {}",
        preview.selections,
        preview.visits,
        joint,
        preview.unstaffed.len()
    );
    println!("  fix one plan (pools + commitment)      {fix_mean:>8.3} s mean");
    println!(
        "  preview (median of 5)                  {preview_median:>8.3} s   goal ≤ {GOAL_PREVIEW_S} s"
    );
    println!(
        "  commit ({} tasks created)            {commit_s:>8.3} s   goal ≤ {GOAL_COMMIT_S} s",
        record.tasks.len()
    );
    for (name, (p50, p95, bytes)) in [
        ("public draw page (HTML)", page),
        ("public list (HTML)", list),
        ("public draw (JSON)", json_page),
        ("亮码检查 page /v/{code} (HTML)", verify_page),
        ("record download", record_download),
    ] {
        println!("  {name:<38} p50 {p50:>7.2} ms  p95 {p95:>7.2} ms  {bytes} bytes");
    }
    let out = json!({
        "subjects": SUBJECTS,
        "inspectors": INSPECTORS,
        "plans": PLANS.len(),
        "selections": preview.selections,
        "visits": preview.visits,
        "joint": joint,
        "unstaffed": preview.unstaffed.len(),
        "fix_s_mean": fix_mean,
        "preview_s_median": preview_median,
        "commit_s": commit_s,
        "tasks": record.tasks.len(),
        "public_page_ms_p50": page.0,
        "public_page_ms_p95": page.1,
        "public_list_ms_p50": list.0,
        "public_json_ms_p50": json_page.0,
        "record_ms_p50": record_download.0,
        "verify_page_ms_p50": verify_page.0,
        "verify_page_ms_p95": verify_page.1,
        "record_bytes": record_download.2,
        "goals": {"preview_s": GOAL_PREVIEW_S, "commit_s": GOAL_COMMIT_S, "page_ms": GOAL_PAGE_MS},
    });
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../target/bench-draw.json");
    std::fs::write(path, serde_json::to_string_pretty(&out).expect("json")).expect("write");
    println!("  written to target/bench-draw.json");
}
