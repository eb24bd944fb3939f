//! Plans and draws through the real router on a real port: two department
//! plans are written, fixed (their commitment public before the entropy
//! exists), given their entropy by a second person, previewed with their
//! joint visits, one merge undone, and committed; the tablets of the team
//! receive the joint tasks; the public pages show the draw and, once a
//! task is published, its result, never a risk class; the published
//! record verifies offline (in Rust and in the independent Python
//! verifier) and a forged one is caught. The over-inspection guard,
//! declared conflicts and recusal by township hold; every bad request is a
//! clear 4xx that changes nothing.

use std::collections::BTreeSet;

use fieldloop_core::demo::DemoData;
use fieldloop_core::draw::{self, DrawRecord, PlanPools};
use fieldloop_core::task::TaskKind;
use fieldloop_core::{Role, Status};
use fieldloop_tests::{Tablet, TestServer};
use reqwest::Method;
use serde_json::{Value, json};

use crate::console_tasks::Console;
use crate::sync::complete_and_submit;

const TOWN: &str = "白鹭镇";

fn items_of(data: &DemoData, department: &str) -> Vec<String> {
    data.items
        .iter()
        .filter(|i| i.department == department)
        .map(|i| i.id.clone())
        .collect()
}

fn plan(data: &DemoData, name: &str, department: &str, start: &str, due: &str) -> Value {
    json!({
        "name": name,
        "departments": [department],
        "lead_department": department,
        "items": items_of(data, department),
        "filter": {"townships": [TOWN]},
        "ratios": {"A": 10000, "B": 10000, "C": 10000, "D": 10000},
        "inspectors_per_task": 2,
        "teams": ["T-QX-01"],
        "window": {"start": start, "due": due},
        "recuse_same_township": true,
        "entropy_sources": ["中国福利彩票3D 2026年第180期开奖号码"]
    })
}

fn feed_end(server: &TestServer) -> u64 {
    server.store.feed_end().expect("feed end")
}

fn public(server: &TestServer, path: &str) -> (u16, String) {
    let answer = reqwest::blocking::get(format!("{}{path}", server.url)).expect("get");
    (answer.status().as_u16(), answer.text().expect("text"))
}

#[test]
fn two_department_plans_are_drawn_into_joint_visits_that_reach_the_tablets_and_verify() {
    let server = TestServer::start_demo();
    let data = DemoData::embedded().expect("demo data");
    let supervisor = Console::sign_in(&server, "S-001", Role::Supervisor, &["T-QX-01"]);
    let second = Console::sign_in(&server, "S-009", Role::Supervisor, &["T-QX-01"]);

    // A declared conflict: I-001 is never drawn for this subject.
    let conflicted = data
        .subjects
        .iter()
        .find(|s| s.township.as_deref() == Some(TOWN))
        .expect("a subject in the township")
        .uscc
        .to_string();
    let (status, row) = supervisor.post(
        "/api/v1/console/conflicts",
        &json!({"inspector": "I-001", "uscc": conflicted, "reason": "亲属经营"}),
    );
    assert_eq!(status, 200, "{row}");

    let (status, market) = supervisor.post(
        "/api/v1/console/plans",
        &plan(
            &data,
            "市场监管专项抽查",
            "SCJG",
            "2026-07-01",
            "2026-07-31",
        ),
    );
    assert_eq!(status, 201, "{market}");
    let (status, fire) = supervisor.post(
        "/api/v1/console/plans",
        &plan(&data, "消防安全检查", "XFJY", "2026-07-20", "2026-08-20"),
    );
    assert_eq!(status, 201, "{fire}");
    let ids = [
        market["id"].as_str().expect("id").to_owned(),
        fire["id"].as_str().expect("id").to_owned(),
    ];

    // A draft changes; a fixed plan does not.
    let mut edited = plan(
        &data,
        "市场监管专项抽查（修订）",
        "SCJG",
        "2026-07-01",
        "2026-07-31",
    );
    edited["inspectors_per_task"] = json!(2);
    let (status, body) = supervisor.send(
        Method::PUT,
        &format!("/api/v1/console/plans/{}", ids[0]),
        &edited,
    );
    assert_eq!(status, 200, "{body}");
    for id in &ids {
        let (status, fixed) =
            supervisor.post(&format!("/api/v1/console/plans/{id}/fix"), &json!({}));
        assert_eq!(status, 200, "{fixed}");
        assert_eq!(fixed["state"], "fixed");
        assert_eq!(
            fixed["fixed"]["commitment"]
                .as_str()
                .expect("commitment")
                .len(),
            64
        );
    }
    let (status, body) = supervisor.send(
        Method::PUT,
        &format!("/api/v1/console/plans/{}", ids[0]),
        &edited,
    );
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("console.state"))
    );

    // The commitment is public before the entropy exists.
    let (_, announced) = public(&server, "/api/v1/public/draws");
    let announced: Value = serde_json::from_str(&announced).expect("json");
    assert_eq!(announced["announced"].as_array().expect("list").len(), 2);
    assert!(announced["announced"][0]["entropy_values"].is_null());

    // The drawer cannot draw before the entropy, nor type it in themself.
    let request = json!({"plans": ids, "split": []});
    let (status, body) = supervisor.post("/api/v1/console/draws/preview", &request);
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("console.state")),
        "{body}"
    );
    let (status, body) = supervisor.post(
        &format!("/api/v1/console/plans/{}/entropy", ids[0]),
        &json!({"values": ["3 8 1"]}),
    );
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("console.state")),
        "{body}"
    );
    for (id, value) in ids.iter().zip(["3 8 1", "０７２"]) {
        let (status, body) = second.post(
            &format!("/api/v1/console/plans/{id}/entropy"),
            &json!({"values": [value]}),
        );
        assert_eq!(status, 200, "{body}");
    }
    let (status, body) = second.post(
        &format!("/api/v1/console/plans/{}/entropy", ids[0]),
        &json!({"values": ["9 9 9"]}),
    );
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("console.state")),
        "typed once"
    );

    // The preview: every subject of the township not at its yearly limit,
    // both plans merged into one visit where their windows overlap.
    let (status, preview) = supervisor.post("/api/v1/console/draws/preview", &request);
    assert_eq!(status, 200, "{preview}");
    let tasks = preview["tasks"].as_array().expect("tasks");
    let joint: Vec<&Value> = tasks
        .iter()
        .filter(|t| t["plans"].as_array().expect("plans").len() == 2)
        .collect();
    assert!(!joint.is_empty(), "{preview}");
    assert!(
        tasks
            .iter()
            .all(|t| t["inspectors"].as_array().expect("list").is_empty()),
        "inspectors are drawn at commit, not shown before"
    );
    let saved: usize = preview["plans"]
        .as_array()
        .expect("plans")
        .iter()
        .map(|p| p["saved_visits"].as_u64().expect("n") as usize)
        .sum();
    assert_eq!(saved, joint.len());
    // Joint visits nobody could staff (the plans recuse I-002, who lives in
    // the township, leaving one market inspector) are listed, not sent.
    let unstaffed = preview["unstaffed"].as_array().expect("unstaffed");
    let joint_unstaffed = unstaffed
        .iter()
        .filter(|u| u["plans"].as_array().expect("plans").len() == 2)
        .count();
    let selections = preview["selections"].as_u64().expect("n") as usize;
    assert_eq!(
        selections,
        preview["visits"].as_u64().expect("n") as usize + joint.len() + joint_unstaffed
    );
    for u in unstaffed {
        assert!(
            u["eligible"].as_u64() < u["needed"].as_u64()
                || u["plans"].as_array().expect("plans").len() == 1,
            "{u}"
        );
    }
    // Subjects of the township with at least one of the plan's items for their industry.
    let in_town = data
        .subjects
        .iter()
        .filter(|s| {
            s.township.as_deref() == Some(TOWN)
                && data.items.iter().any(|i| {
                    i.department == "SCJG"
                        && (i.industries.is_empty() || i.industries.contains(&s.industry))
                })
        })
        .count();
    // The preview lists plans by id, which the server makes at random.
    let market_preview = preview["plans"]
        .as_array()
        .expect("plans")
        .iter()
        .find(|p| p["id"] == ids[0].as_str())
        .expect("the market plan in the preview")
        .clone();
    let excluded: usize = market_preview["excluded"].as_array().expect("list").len();
    assert_eq!(
        market_preview["sizes"]
            .as_object()
            .map(|s| ["A", "B", "C", "D"]
                .iter()
                .map(|c| s[*c].as_u64().expect("n") as usize)
                .sum::<usize>()),
        Some(in_town - excluded),
        "every subject of the township the items apply to is in the pool or left out by the guard"
    );
    for e in market_preview["excluded"].as_array().expect("list") {
        assert!(e["inspections"].as_u64() >= e["limit"].as_u64(), "{e}");
        assert!(
            !tasks.iter().any(|t| t["uscc"] == e["uscc"]),
            "an excluded subject was drawn"
        );
    }

    // Undo one merge: that subject is visited twice, nothing else changes.
    let undone = joint[0]["uscc"].as_str().expect("uscc").to_owned();
    let split = json!({"plans": ids, "split": [undone]});
    let (_, again) = supervisor.post("/api/v1/console/draws/preview", &split);
    let visits: Vec<&Value> = again["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .chain(again["unstaffed"].as_array().expect("unstaffed"))
        .filter(|t| t["uscc"] == undone.as_str())
        .collect();
    assert_eq!(visits.len(), 2);
    assert!(
        visits
            .iter()
            .all(|v| v["plans"].as_array().expect("plans").len() == 1)
    );
    assert_eq!(
        again["selections"], preview["selections"],
        "the same subjects are drawn"
    );
    assert_eq!(
        again["visits"].as_u64(),
        preview["visits"].as_u64().map(|v| v + 1)
    );

    let before = feed_end(&server);
    let (status, summary) = supervisor.post("/api/v1/console/draws", &split);
    assert_eq!(status, 201, "{summary}");
    let draw_id = summary["id"].as_str().expect("id").to_owned();
    assert!(feed_end(&server) > before, "the tasks are in the feed");
    let (status, body) = supervisor.post("/api/v1/console/draws", &split);
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("console.state")),
        "drawn once"
    );

    // The record verifies from the public download and the console's pools.
    let (status, text) = public(
        &server,
        &format!("/api/v1/public/draws/{draw_id}/record.json"),
    );
    assert_eq!(status, 200);
    let record: DrawRecord = serde_json::from_str(&text).expect("record");
    let (status, pools_text) =
        supervisor.get_text(&format!("/api/v1/console/draws/{draw_id}/pools"));
    assert_eq!(status, 200);
    let pools: Vec<PlanPools> = serde_json::from_str(&pools_text).expect("pools");
    let report = draw::verify(&record, Some(&pools)).expect("the record verifies");
    assert!(report.recomputed);
    assert_eq!(record.split, vec![undone.clone()]);
    assert!(
        !text.contains("risk_class") && !text.contains("\"township\""),
        "the record holds no class or residence"
    );
    // The independent verifier, written from docs/draw.md, agrees.
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join("record.json"), &text).expect("write");
    std::fs::write(dir.path().join("pools.json"), &pools_text).expect("write");
    let python = std::process::Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../scripts/draw_verify.py"
        ))
        .arg(dir.path().join("record.json"))
        .arg(dir.path().join("pools.json"))
        .output()
        .expect("python3");
    assert!(
        python.status.success(),
        "{}{}",
        String::from_utf8_lossy(&python.stdout),
        String::from_utf8_lossy(&python.stderr)
    );
    // A record with one subject swapped is caught, with its place named.
    let mut forged = record.clone();
    let p = forged
        .plans
        .iter()
        .position(|p| !p.selected.is_empty())
        .expect("a plan drew someone");
    let outsider = data
        .subjects
        .iter()
        .map(|s| s.uscc.to_string())
        .find(|u| !forged.plans[p].selected.contains(u))
        .expect("a subject not drawn");
    forged.plans[p].selected[0] = outsider;
    let mismatch = draw::verify(&forged, Some(&pools)).expect_err("forged");
    assert_eq!(mismatch.place, format!("plans[{p}].selected[0]"));

    // Every visit: ≥ 2 inspectors of the team certified for its departments,
    // nobody living in the township (the plans recuse by it), I-001 never
    // at the subject they declared.
    for t in &record.tasks {
        assert!(t.inspectors.len() >= 2);
        for id in &t.inspectors {
            let i = data
                .inspectors
                .iter()
                .find(|i| &i.id == id)
                .expect("inspector");
            assert_eq!(i.team, "T-QX-01");
            assert!(t.departments.contains(&i.department));
            assert_ne!(i.township.as_deref(), Some(TOWN), "{id} lives in {TOWN}");
        }
        if t.uscc == conflicted {
            assert!(!t.inspectors.contains(&"I-001".to_owned()));
        }
    }

    // The squad's tablets receive the joint task with both departments' items.
    let mut a = Tablet::enroll(&server, "I-001");
    a.sync().expect("sync");
    let joint_task = record
        .tasks
        .iter()
        .find(|t| {
            t.plans.len() == 2
                && t.inspectors.contains(&"I-001".to_owned())
                && t.inspectors.contains(&"I-005".to_owned())
        })
        .or_else(|| record.tasks.iter().find(|t| t.plans.len() == 2))
        .expect("a joint visit");
    let id = server
        .store
        .list_tasks(
            &fieldloop_server::console::TaskFilter {
                text: Some(joint_task.uscc.clone()),
                ..Default::default()
            },
            Default::default(),
            1,
            50,
            fieldloop_server::now_ms(),
        )
        .expect("list")
        .rows
        .into_iter()
        .find(|r| {
            r.window_start
                == fieldloop_server::tasks::Day::new(2026, 7, 20)
                    .expect("day")
                    .start_ms()
        })
        .expect("the joint task in the index")
        .id;
    let doc = a.store.open_task(&id).expect("the tablet has it");
    let task = doc.task().expect("task");
    assert_eq!(task.kind, TaskKind::Joint);
    let departments: BTreeSet<&str> = task
        .checklist
        .values()
        .map(|i| i.department.as_str())
        .collect();
    assert_eq!(departments, BTreeSet::from(["SCJG", "XFJY"]));
    assert_eq!(task.inspectors, joint_task.inspectors);

    // Inspected, approved and published: the public results show it,
    // without the subject's risk class.
    let people: Vec<String> = joint_task.inspectors.clone();
    let mut squad: Vec<Tablet> = Vec::new();
    for p in &people {
        let mut t = Tablet::enroll(&server, p);
        t.sync().expect("sync");
        squad.push(t);
    }
    for t in &mut squad {
        let who = t.author();
        t.store
            .edit(&id, fieldloop_tests::NOW, |d| {
                d.check_in(&who, fieldloop_tests::NOW, None)
            })
            .expect("check in");
        t.sync().expect("sync");
    }
    squad[0].sync().expect("sync");
    complete_and_submit(&mut squad[0], &id);
    squad[0].sync().expect("sync");
    for action in ["approve", "publish"] {
        let (status, body) = supervisor.decide(&id, action, None);
        assert_eq!(status, 200, "{action}: {body}");
    }
    assert_eq!(
        server.task(&id).status().expect("status"),
        Status::Published
    );
    let (status, results) = public(&server, "/api/v1/public/results");
    assert_eq!(status, 200);
    let results: Value = serde_json::from_str(&results).expect("json");
    let row = results["results"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["uscc"] == joint_task.uscc.as_str())
        .expect("the published result");
    assert_eq!(row["draw"], draw_id.as_str());
    assert_eq!(row["rectification_required"], false);
    let (status, html) = public(&server, "/public/results");
    assert_eq!(status, 200);
    assert!(html.contains(&joint_task.name) && html.contains("未发现问题"));
    let (_, page) = public(&server, &format!("/public/draws/{draw_id}"));
    assert!(
        page.contains(&record.plans[0].seed) && page.contains("3 8 1"),
        "{page}"
    );
    for text in [&page, &html] {
        assert!(!text.contains("风险分类：") && !text.contains("risk_class"));
    }
}

#[test]
fn bad_plans_and_draws_are_refused_and_change_nothing() {
    let server = TestServer::start_demo();
    let data = DemoData::embedded().expect("demo data");
    let supervisor = Console::sign_in(&server, "S-001", Role::Supervisor, &["T-QX-01"]);
    let other = Console::sign_in_for(&server, "S-020", Role::Supervisor, &[], &["STHJ"]);
    let good = plan(&data, "计划", "SCJG", "2026-07-01", "2026-07-31");
    let with = |key: &str, value: Value| {
        let mut p = good.clone();
        p[key] = value;
        p
    };
    let foreign_item = items_of(&data, "XFJY")[0].clone();
    let cases = [
        (with("name", json!("")), 422),
        (with("departments", json!(["NOPE"])), 422),
        (with("lead_department", json!("XFJY")), 422),
        (with("items", json!([foreign_item])), 422),
        (with("items", json!([])), 422),
        (
            with("ratios", json!({"A": 10001, "B": 0, "C": 0, "D": 0})),
            422,
        ),
        (
            with("ratios", json!({"A": -1, "B": 0, "C": 0, "D": 0})),
            400,
        ),
        (with("inspectors_per_task", json!(1)), 422),
        (with("teams", json!(["T-NOPE"])), 422),
        (
            with(
                "window",
                json!({"start": "2026-08-01", "due": "2026-07-01"}),
            ),
            422,
        ),
        (
            with("window", json!({"start": "2026-7-1", "due": "2026-07-31"})),
            422,
        ),
        (with("entropy_sources", json!([])), 422),
        (with("special_reason", json!("")), 422),
        (with("surprise", json!(1)), 400),
    ];
    let feed = feed_end(&server);
    for (body, expected) in &cases {
        let (status, answer) = supervisor.post("/api/v1/console/plans", body);
        assert_eq!(status, *expected, "{body} → {answer}");
        assert!(answer["code"].is_string(), "{answer}");
    }
    // Another department's supervisor may not plan for the squad.
    let (status, answer) = other.post("/api/v1/console/plans", &good);
    assert_eq!(
        (status, answer["code"].as_str()),
        (403, Some("console.forbidden"))
    );
    // An import with one bad plan stores none, naming it.
    let (status, answer) = supervisor.post(
        "/api/v1/console/plans/import",
        &json!([good, with("inspectors_per_task", json!(9))]),
    );
    assert_eq!(status, 422);
    assert!(
        answer["message"]
            .as_str()
            .expect("message")
            .contains("plan 2"),
        "{answer}"
    );
    let (_, list) = supervisor.get("/api/v1/console/plans");
    assert!(list["plans"].as_array().expect("list").is_empty());

    let (_, made) = supervisor.post("/api/v1/console/plans", &good);
    let id = made["id"].as_str().expect("id").to_owned();
    // Not visible to another department; not drawable as a draft.
    let (status, _) = other.get(&format!("/api/v1/console/plans/{id}"));
    assert_eq!(status, 404);
    for (path, body, expected, code) in [
        (
            "/api/v1/console/draws/preview",
            json!({"plans": [id]}),
            409,
            "console.state",
        ),
        (
            "/api/v1/console/draws/preview",
            json!({"plans": []}),
            422,
            "console.bad_input",
        ),
        (
            "/api/v1/console/draws/preview",
            json!({"plans": ["P-NOPE"]}),
            404,
            "console.not_found",
        ),
        (
            "/api/v1/console/draws/preview",
            json!({"plans": [id], "split": ["not-a-uscc"]}),
            422,
            "console.bad_input",
        ),
        (
            "/api/v1/console/draws",
            json!({"plans": [id], "extra": 1}),
            400,
            "http.bad_json",
        ),
    ] {
        let (status, answer) = supervisor.post(path, &body);
        assert_eq!(
            (status, answer["code"].as_str()),
            (expected, Some(code)),
            "{path} {body} → {answer}"
        );
    }
    let (status, _) = supervisor.post(&format!("/api/v1/console/plans/{id}/fix"), &json!({}));
    assert_eq!(status, 200);
    let entropy = Console::sign_in(&server, "S-021", Role::Supervisor, &["T-QX-01"]);
    for values in [
        json!([]),
        json!(["1", "2"]),
        json!(["12/3"]),
        json!(["   "]),
    ] {
        let (status, answer) = entropy.post(
            &format!("/api/v1/console/plans/{id}/entropy"),
            &json!({"values": values}),
        );
        assert_eq!(
            (status, answer["code"].as_str()),
            (422, Some("console.bad_input")),
            "{values}"
        );
    }
    let (status, _) = supervisor.send(
        Method::DELETE,
        &format!("/api/v1/console/plans/{id}"),
        &json!({}),
    );
    assert_eq!(status, 409, "a fixed plan is not deleted");
    // Public pages: unknown draws and bad queries.
    assert_eq!(public(&server, "/public/draws/DR-NOPE").0, 404);
    assert_eq!(public(&server, "/api/v1/public/results?page=0").0, 400);
    assert_eq!(public(&server, "/api/v1/public/results?risk=A").0, 400);
    // A conflict for an unknown inspector or a bad USCC.
    for body in [
        json!({"inspector": "I-999", "uscc": data.subjects[0].uscc.to_string()}),
        json!({"inspector": "I-001", "uscc": "123"}),
    ] {
        let (status, _) = supervisor.post("/api/v1/console/conflicts", &body);
        assert_eq!(status, 422, "{body}");
    }
    assert_eq!(feed_end(&server), feed, "nothing reached the feed");
}

#[test]
fn a_special_plan_may_draw_subjects_at_their_yearly_limit() {
    let server = TestServer::start_demo();
    let data = DemoData::embedded().expect("demo data");
    let supervisor = Console::sign_in(&server, "S-001", Role::Supervisor, &["T-QX-01"]);
    // Plans in the demo tasks' year, over the whole county.
    let mut ordinary = plan(&data, "年度抽查", "SCJG", "2026-07-01", "2026-07-31");
    ordinary["filter"] = json!({});
    let mut special = ordinary.clone();
    special["name"] = json!("燃气安全专项");
    special["special_reason"] = json!("燃气事故后的专项整治");
    let mut sizes = Vec::new();
    for p in [&ordinary, &special] {
        let (_, made) = supervisor.post("/api/v1/console/plans", p);
        let id = made["id"].as_str().expect("id");
        let (status, fixed) =
            supervisor.post(&format!("/api/v1/console/plans/{id}/fix"), &json!({}));
        assert_eq!(status, 200, "{fixed}");
        let s = &fixed["fixed"]["pool_sizes"];
        sizes.push((
            ["A", "B", "C", "D"]
                .iter()
                .map(|c| s[*c].as_u64().expect("n"))
                .sum::<u64>(),
            s["excluded"].as_u64().expect("n"),
        ));
    }
    let (ordinary_pool, left_out) = sizes[0];
    assert!(
        left_out > 0,
        "demo subjects inspected this year reach their limit"
    );
    assert_eq!(
        sizes[1],
        (ordinary_pool + left_out, 0),
        "the special plan keeps them"
    );
}
