//! The 笔录 fields and the printed record through the commands, as the UI
//! calls them: JSON edits `{field, value}`, and a print with no server.

use fieldloop_app_lib::Startup;
use serde_json::{Value, json};

use crate::{app_with, invoke};

fn demo_task() -> (
    tempfile::TempDir,
    tauri::App<tauri::test::MockRuntime>,
    tauri::WebviewWindow<tauri::test::MockRuntime>,
    String,
) {
    let dir = tempfile::tempdir().expect("a temp dir");
    let (app, window) = app_with(Startup {
        data_dir: Some(dir.path().to_path_buf()),
        demo: true,
        ..Default::default()
    });
    let me = invoke(&window, "identity", json!({})).expect("identity");
    let rows = invoke(&window, "list_tasks", json!({ "query": {} })).expect("rows");
    let task = rows
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| invoke(&window, "task_view", json!({ "task": r["id"] })).expect("view"))
        .find(|v| {
            v["inspectors"]
                .as_array()
                .expect("inspectors")
                .iter()
                .any(|i| i["id"] == me["person"])
        })
        .expect("a task of the demo inspector")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    (dir, app, window, task)
}

#[test]
fn record_notes_are_edited_and_the_record_printed_through_the_commands() {
    let (dir, _app, window, task) = demo_task();
    let view = invoke(
        &window,
        "edit_record_notes",
        json!({ "task": task, "edits": [
            { "field": "place", "value": "后厨" },
            { "field": "started_at", "value": 1_780_272_000_000_i64 },
            { "field": "recusal_answer", "value": "不申请回避" },
        ] }),
    )
    .expect("edit");
    assert_eq!(view["record_notes"]["place"], "后厨");
    assert_eq!(view["record_notes"]["started_at"], 1_780_272_000_000_i64);
    assert_eq!(view["record_notes"]["recusal_answer"], "不申请回避");

    let refused = invoke(
        &window,
        "edit_record_notes",
        json!({ "task": task, "edits": [{ "field": "recorder", "value": "I-999" }] }),
    )
    .expect_err("a recorder off the task");
    assert_eq!(refused["code"], "task.record_notes");

    let printed: Value = invoke(&window, "print_record", json!({ "task": task })).expect("print");
    let path = std::path::PathBuf::from(printed["path"].as_str().expect("path"));
    assert!(path.starts_with(dir.path().join("prints")), "{path:?}");
    assert!(std::fs::read(&path).expect("the PDF").starts_with(b"%PDF"));
    assert_eq!(printed["recorded"], true);
    let view = invoke(&window, "task_view", json!({ "task": task })).expect("view");
    assert_eq!(view["prints"][0]["sha256"], printed["sha256"]);
}
