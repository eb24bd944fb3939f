//! Who acts for what, and the directory as the console edits it and the
//! tablets receive it, through the real router on a real port: a supervisor
//! of a department sees every task that includes it (and its evidence) and
//! nothing else; administrators list and edit directory entries one at a
//! time; the tablets get the names with their next sync, once.

use fieldloop_core::Role;
use fieldloop_core::sync as wire;
use fieldloop_tests::{NOW, Tablet, TestServer};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::console_tasks::{Console, ids};
use crate::sync::squad_checked_in;

/// The items of a subject's handbook that belong to `department`, or to any
/// other department when `other` is set.
fn items_of(console: &Console, uscc: &str, department: &str, other: bool) -> Vec<String> {
    let (_, hits) = console.get(&format!("/api/v1/console/subjects?q={uscc}"));
    let industry = hits[0]["industry"].as_str().expect("industry").to_owned();
    let (status, book) = console.get(&format!("/api/v1/console/handbook/{industry}"));
    assert_eq!(status, 200, "{book}");
    let items: Vec<String> = book["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|i| (i["department"] == department) != other)
        .map(|i| i["id"].as_str().expect("id").to_owned())
        .collect();
    assert!(!items.is_empty(), "{industry} has items for this test");
    items
}

fn departments_of(row: &Value) -> Vec<&str> {
    row["departments"]
        .as_array()
        .expect("departments")
        .iter()
        .map(|d| d.as_str().expect("code"))
        .collect()
}

#[test]
fn a_department_supervisor_sees_every_task_with_the_department_and_nothing_else() {
    let server = TestServer::start_demo();
    let admin = Console::sign_in(&server, "A-001", Role::Admin, &[]);
    let market = Console::sign_in_for(&server, "S-009", Role::Supervisor, &[], &["SCJG"]);

    // Two tasks of the other squad: one with market regulation items only,
    // one without any.
    let uscc = "92360736MA36XJ6832";
    let (_, dir) = admin.get("/api/v1/console/directory");
    let others: Vec<&str> = dir["inspectors"]
        .as_array()
        .expect("inspectors")
        .iter()
        .filter(|i| i["team"] == "T-QX-02")
        .map(|i| i["id"].as_str().expect("id"))
        .collect();
    let make = |console: &Console, items: Vec<String>| {
        console.post(
            "/api/v1/console/tasks",
            &json!({"uscc": uscc, "team": "T-QX-02", "inspectors": others, "items": items,
                    "start": "2026-06-01", "end": "2026-06-30"}),
        )
    };
    let (status, with) = make(&admin, items_of(&admin, uscc, "SCJG", false));
    assert_eq!(status, 200, "{with}");
    let with = with["id"].as_str().expect("id").to_owned();
    let (status, without) = make(&admin, items_of(&admin, uscc, "SCJG", true));
    assert_eq!(status, 200, "{without}");
    let without = without["id"].as_str().expect("id").to_owned();

    // The list: every task with SCJG, of any team, and only those.
    let (status, page) = market.get("/api/v1/console/tasks?per_page=200");
    assert_eq!(status, 200, "{page}");
    let rows = page["rows"].as_array().expect("rows");
    assert!(rows.iter().all(|r| departments_of(r).contains(&"SCJG")));
    let listed = ids(&page);
    assert!(listed.contains(&with) && !listed.contains(&without));
    let (_, all) = admin.get("/api/v1/console/tasks?department=SCJG&per_page=200");
    assert_eq!(page["total"], all["total"], "the same tasks as the filter");
    assert!(
        rows.iter().any(|r| r["team"] == "T-QX-01") && rows.iter().any(|r| r["team"] == "T-QX-02"),
        "across teams"
    );
    let (_, dashboard) = market.get("/api/v1/console/dashboard");
    let by_status: u64 = dashboard["by_status"]
        .as_object()
        .expect("by_status")
        .values()
        .map(|n| n.as_u64().expect("count"))
        .sum();
    assert_eq!(Some(by_status), page["total"].as_u64());

    // Records: the one with SCJG opens, the other is not there for them.
    assert_eq!(market.get(&format!("/api/v1/console/tasks/{with}")).0, 200);
    let (status, e) = market.get(&format!("/api/v1/console/tasks/{without}"));
    assert_eq!(
        (status, e["code"].as_str()),
        (404, Some("console.not_found"))
    );
    let (status, e) = market.decide(&without, "cancel", Some("不是我的"));
    assert_eq!(status, 404, "{e}");

    // Making tasks: with their department, yes; without, refused, nothing made.
    let feed = server.store.feed_end().expect("feed");
    let (status, e) = make(&market, items_of(&admin, uscc, "SCJG", true));
    assert_eq!(
        (status, e["code"].as_str()),
        (403, Some("console.forbidden")),
        "{e}"
    );
    assert_eq!(server.store.feed_end().expect("feed"), feed);
    let (status, made) = make(&market, items_of(&admin, uscc, "SCJG", false));
    assert_eq!(status, 200, "{made}");

    // They see the teams that work for their department, not others' people
    // beyond those teams.
    let (_, dir) = market.get("/api/v1/console/directory");
    let teams: Vec<&Value> = dir["teams"].as_array().expect("teams").iter().collect();
    assert!(!teams.is_empty());
    assert!(teams.iter().all(|t| {
        t["departments"]
            .as_array()
            .expect("departments")
            .iter()
            .any(|d| d == "SCJG")
    }));
}

#[test]
fn a_department_supervisor_reads_evidence_through_the_task_that_shows_it() {
    let server = TestServer::start_demo();
    let (mut a, _b, id) = squad_checked_in(&server);
    let task = a.store.open_task(&id).expect("open").task().expect("task");
    let department = task.departments[0].clone();
    let market = Console::sign_in_for(&server, "S-009", Role::Supervisor, &[], &[&department]);
    let outsider = Console::sign_in_for(&server, "S-010", Role::Supervisor, &[], &["NOPE"]);

    // A photo of the task, on the server (as the upload leaves it).
    let bytes = b"the bytes of a photo of the kitchen".to_vec();
    let sha = format!("{:x}", Sha256::digest(&bytes));
    let who = a.author();
    let evidence = fieldloop_core::NewEvidence {
        sha256: sha.clone(),
        kind: fieldloop_core::EvidenceKind::Photo,
        taken_at: NOW,
        location: None,
        caption: None,
        mime: "image/jpeg".into(),
        bytes: bytes.len() as u64,
        thumb_sha256: None,
        display_sha256: None,
        item: None,
    };
    a.store
        .edit(&id, NOW, |d| d.add_evidence(&who, NOW, evidence))
        .expect("evidence");
    a.sync().expect("sync");
    assert_eq!(server.put_blob(&bytes), sha);

    // Not by its hash alone (they do not act for the team) …
    let (status, _) = market.get(&format!("/api/v1/console/blobs/{sha}"));
    assert_eq!(status, 404);
    // … but through the task whose record shows it.
    let (status, body) = market.get_text(&format!("/api/v1/console/blobs/{sha}?task={id}"));
    assert_eq!(status, 200);
    assert_eq!(body.as_bytes(), &bytes[..]);
    // Another task does not lend its visibility to this file.
    let (_, page) = market.get("/api/v1/console/tasks?per_page=5");
    let other = ids(&page)
        .into_iter()
        .find(|t| t != &id)
        .expect("another task");
    let (status, _) = market.get(&format!("/api/v1/console/blobs/{sha}?task={other}"));
    assert_eq!(status, 404);
    // Nor does a task they do not see; and the query is read strictly.
    let (status, _) = outsider.get(&format!("/api/v1/console/blobs/{sha}?task={id}"));
    assert_eq!(status, 404);
    let (status, e) = market.get(&format!("/api/v1/console/blobs/{sha}?task={id}&x=1"));
    assert_eq!(
        (status, e["code"].as_str()),
        (400, Some("console.bad_query"))
    );
}

#[test]
fn administrators_edit_directory_entries_and_the_tablets_receive_the_names_once() {
    let server = TestServer::start_demo();
    let admin = Console::sign_in(&server, "A-001", Role::Admin, &[]);
    let supervisor = Console::sign_in(&server, "S-001", Role::Supervisor, &["T-QX-01"]);

    // The first sync brings the directory: every department and team, and
    // the inspectors of the tablet's own team only.
    let mut tablet = Tablet::enroll(&server, "I-001");
    // A client older than directories (no `dv`) gets answers it can read:
    // without one. A tablet that holds none yet (`dv` 0) gets it.
    let transport =
        fieldloop_tablet::sync::HttpTransport::from_store(&tablet.store).expect("transport");
    use fieldloop_tablet::sync::Transport as _;
    let ask = |directory: Option<u64>| -> wire::SyncResponse {
        let body = wire::encode(&wire::SyncRequest {
            rotate: false,
            done: None,
            v: wire::PROTOCOL_VERSION,
            cursor: 0,
            docs: Vec::new(),
            directory,
        });
        wire::decode(&transport.exchange(body).expect("exchange")).expect("answer")
    };
    assert_eq!(ask(None).directory, None);
    let version = server.store.directory_version().expect("version");
    assert_eq!(ask(Some(0)).directory.map(|d| d.version), Some(version));
    assert_eq!(ask(Some(version)).directory, None);

    let report = tablet.sync().expect("sync");
    assert!(report.directory, "the first sync brings the directory");
    let held = tablet
        .store
        .directory()
        .expect("read")
        .expect("a directory");
    let rows = server.store.directory().expect("directory");
    assert_eq!(held.departments.len(), rows.departments.len());
    assert_eq!(held.teams.len(), rows.teams.len());
    let own: Vec<&str> = rows
        .inspectors
        .iter()
        .filter(|(i, _)| i.team == "T-QX-01")
        .map(|(i, _)| i.id.as_str())
        .collect();
    let sent: Vec<&str> = held.inspectors.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(sent, own);
    // A sync with nothing new in the directory does not send it again.
    assert!(!tablet.sync().expect("sync").directory);

    // The administrator's listing: the entries as the importer takes them.
    let (status, page) = admin.get("/api/v1/console/catalog/inspectors?q=I-001");
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["list"]["kind"], "inspectors");
    assert_eq!(page["total"], 1);
    let mut entry = page["list"]["rows"][0].clone();
    assert_eq!(entry["id"], "I-001");
    let (_, all) = admin.get("/api/v1/console/catalog/subjects?limit=3");
    assert_eq!(all["list"]["rows"].as_array().map(Vec::len), Some(3));
    assert!(all["total"].as_u64() > Some(3));
    for (path, status, code) in [
        ("/api/v1/console/catalog/people", 400, "console.bad_query"),
        (
            "/api/v1/console/catalog/items?limit=0",
            400,
            "console.bad_query",
        ),
        (
            "/api/v1/console/catalog/items?limit=501",
            400,
            "console.bad_query",
        ),
        (
            "/api/v1/console/catalog/items?sort=id",
            400,
            "console.bad_query",
        ),
    ] {
        let (got, e) = admin.get(path);
        assert_eq!((got, e["code"].as_str()), (status, Some(code)), "{path}");
    }
    let (status, e) = supervisor.get("/api/v1/console/catalog/inspectors");
    assert_eq!(
        (status, e["code"].as_str()),
        (403, Some("console.forbidden"))
    );

    // One entry edited through the importer: a bad one changes nothing …
    let version = server.store.directory_version().expect("version");
    let mut bad = entry.clone();
    bad["team"] = json!("T-NOWHERE");
    let (status, refusal) = admin.post(
        "/api/v1/console/import?kind=inspectors&format=json",
        &json!([bad]),
    );
    assert_eq!(status, 422, "{refusal}");
    assert_eq!(refusal["problems"][0]["index"], 0);
    assert_eq!(server.store.directory_version().expect("version"), version);
    // … a good one changes the name everywhere.
    entry["name"] = json!("钟志强（更正）");
    let (status, answer) = admin.post(
        "/api/v1/console/import?kind=inspectors&format=json",
        &json!([entry]),
    );
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["kinds"][0]["updated"], 1);
    let (_, page) = admin.get("/api/v1/console/catalog/inspectors?q=I-001");
    assert_eq!(page["list"]["rows"][0]["name"], "钟志强（更正）");

    // The tablet greets its inspector by the new name after its next sync.
    let name = |t: &Tablet| {
        let tablet = fieldloop_tablet::inspect::Tablet::open(t.dir.path()).expect("open");
        tablet.identity().expect("identity").expect("enrolled").name
    };
    assert_ne!(name(&tablet), "钟志强（更正）");
    assert!(tablet.sync().expect("sync").directory);
    assert_eq!(name(&tablet), "钟志强（更正）");
    assert!(!tablet.sync().expect("sync").directory);
}
