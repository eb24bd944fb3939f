//! `list_tasks`.

use fieldloop_core::Status;
use fieldloop_tablet::store::{DB_FILE, Store, TaskQuery};
use serde_json::{Value, json};

use crate::{app, invoke};

/// 2026-11-29 10:00 in Beijing.
const NOW_MS: i64 = 1_795_917_600_000;

fn seeded_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temp dir");
    let mut store = Store::open(dir.path()).expect("the store opens");
    let seeded = fieldloop_tablet::demo::seed_if_empty(&mut store, NOW_MS).expect("demo tasks");
    assert!(seeded > 0, "the demo has tasks");
    dir
}

/// What the store itself answers, as the JSON the UI gets.
fn store_answer(dir: &std::path::Path, query: &TaskQuery) -> Value {
    let store = Store::open(dir).expect("the store opens");
    serde_json::to_value(store.list_tasks(query).expect("the store lists")).expect("rows serialise")
}

#[test]
fn list_tasks_answers_the_rows_of_the_store() {
    let dir = seeded_dir();
    let all = store_answer(dir.path(), &TaskQuery::default());
    let assigned = TaskQuery {
        statuses: vec![Status::Assigned],
        ..TaskQuery::default()
    };
    let assigned = store_answer(dir.path(), &assigned);
    let (_app, window) = app(dir.path());

    let everything =
        json!({ "query": { "statuses": [], "department": null, "text": null, "limit": null } });
    let rows = invoke(&window, "list_tasks", everything).expect("list_tasks succeeds");
    assert_eq!(rows, all);
    let first = &rows.as_array().expect("an array")[0];
    for field in [
        "id",
        "code",
        "subject_name",
        "uscc",
        "status",
        "due",
        "departments",
        "dirty",
    ] {
        assert!(first.get(field).is_some(), "row has {field}: {first}");
    }

    // Fields may be left out; statuses go by their snake_case names.
    let rows = invoke(
        &window,
        "list_tasks",
        json!({ "query": { "statuses": ["assigned"] } }),
    )
    .expect("list_tasks succeeds");
    assert_eq!(rows, assigned);

    let code = first["code"].as_str().expect("a code");
    let rows = invoke(&window, "list_tasks", json!({ "query": { "text": code } }))
        .expect("list_tasks succeeds");
    let codes: Vec<&Value> = rows
        .as_array()
        .expect("an array")
        .iter()
        .map(|r| &r["code"])
        .collect();
    assert_eq!(codes, [code]);
}

#[test]
fn a_malformed_query_is_refused_naming_the_argument() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let (_app, window) = app(dir.path());

    for args in [
        json!({ "query": { "statuses": ["finished"] } }),
        json!({ "query": { "status": "returned" } }),
        json!({}),
    ] {
        let error =
            invoke(&window, "list_tasks", args.clone()).expect_err("a bad query is refused");
        // Tauri refuses arguments it cannot deserialise before the command runs, as a string;
        // the UI turns it into { code: "ipc.failed", message }.
        let message = error
            .as_str()
            .unwrap_or_else(|| panic!("a string for {args}: {error}"));
        assert!(
            message.contains("list_tasks") && message.contains("query"),
            "{message}"
        );
    }
}

#[test]
fn a_store_that_cannot_open_answers_code_and_message() {
    let dir = tempfile::tempdir().expect("a temp dir");
    // A directory where the database file should be.
    std::fs::create_dir(dir.path().join(DB_FILE)).expect("a directory");
    let (_app, window) = app(dir.path());

    let error =
        invoke(&window, "list_tasks", json!({ "query": {} })).expect_err("no store, no rows");
    let fields: Vec<&String> = error
        .as_object()
        .expect("a { code, message } object")
        .keys()
        .collect();
    assert_eq!(fields, ["code", "message"], "{error}");
    assert_eq!(error["code"], "store.open");
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|m| m.contains(DB_FILE)),
        "{error}"
    );
}

#[test]
fn a_data_dir_that_cannot_be_made_answers_code_and_message() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let file = dir.path().join("file");
    std::fs::write(&file, b"not a directory").expect("a file");
    let (_app, window) = app(&file.join("data"));

    let error =
        invoke(&window, "list_tasks", json!({ "query": {} })).expect_err("no store, no rows");
    assert_eq!(error["code"], "app.data_dir", "{error}");
    assert!(
        error["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{error}"
    );
}
