//! Recording an inspection through the commands, as the UI calls them:
//! JSON arguments, and raw bodies with `x-…` headers for files.

use fieldloop_app_lib::Startup;
use serde_json::{Value, json};
use tauri::http::HeaderMap;

use crate::{app_with, invoke, invoke_raw};

fn demo_app() -> (
    tempfile::TempDir,
    tauri::App<tauri::test::MockRuntime>,
    tauri::WebviewWindow<tauri::test::MockRuntime>,
) {
    let dir = tempfile::tempdir().expect("a temp dir");
    let (app, window) = app_with(Startup {
        data_dir: Some(dir.path().to_path_buf()),
        demo: true,
        ..Default::default()
    });
    (dir, app, window)
}

fn jpeg() -> Vec<u8> {
    let img = image::RgbImage::from_fn(320, 240, |x, y| image::Rgb([x as u8, y as u8, 7]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Jpeg)
        .expect("jpeg");
    out.into_inner()
}

fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.insert(*name, value.parse().expect("header value"));
    }
    map
}

/// The demo identity's first task.
fn my_task(window: &tauri::WebviewWindow<tauri::test::MockRuntime>) -> Value {
    let me = invoke(window, "identity", json!({})).expect("identity");
    let rows = invoke(window, "list_tasks", json!({ "query": {} })).expect("rows");
    rows.as_array()
        .expect("rows")
        .iter()
        .map(|r| invoke(window, "task_view", json!({ "task": r["id"] })).expect("view"))
        .find(|v| {
            v["inspectors"]
                .as_array()
                .expect("inspectors")
                .iter()
                .any(|i| i["id"] == me["person"])
        })
        .expect("a task of the demo inspector")
}

#[test]
fn check_in_answer_and_a_photo_come_back_in_the_task_view() {
    let (_dir, _app, window) = demo_app();
    let view = my_task(&window);
    let task = view["id"].as_str().expect("id").to_owned();
    let item = view["groups"][0]["items"][0]["id"]
        .as_str()
        .expect("item")
        .to_owned();

    let view = invoke(
        &window,
        "check_in",
        json!({ "task": task, "location": { "lat": 25.6, "lon": 115.3 } }),
    )
    .expect("check in");
    let me = view["inspectors"]
        .as_array()
        .expect("inspectors")
        .iter()
        .find(|i| i["me"] == true)
        .expect("me")
        .clone();
    assert!(me["checked_in_at"].is_number(), "{me}");

    let view = invoke(
        &window,
        "answer",
        json!({ "task": task, "item": item, "result": "fail", "value": null, "note": "灭火器过期" }),
    )
    .expect("answer");
    assert_eq!(view["groups"][0]["items"][0]["answer"]["result"], "fail");
    assert_eq!(view["status"], "in_progress");

    // A photo: raw bytes, the task and item in percent-encoded headers.
    let view = invoke_raw(
        &window,
        "add_photo",
        jpeg(),
        headers(&[("x-task", &task), ("x-item", &item)]),
    )
    .expect("photo");
    let sha = view["groups"][0]["items"][0]["evidence"][0]
        .as_str()
        .expect("evidence")
        .to_owned();
    let evidence = &view["evidence"][0];
    assert_eq!(evidence["sha256"], sha.as_str());
    let thumb = evidence["thumb_sha256"].as_str().expect("thumbnail");
    let bytes =
        crate::invoke_bytes(&window, "blob", json!({ "sha256": thumb })).expect("thumbnail bytes");
    assert_eq!(&bytes[..3], &[0xFF, 0xD8, 0xFF], "a JPEG thumbnail");

    // What the status line says is waiting: this task and three files.
    let status = invoke(&window, "sync_status", json!({})).expect("status");
    assert_eq!(status["phase"], "idle", "{status}");
    assert_eq!(status["waiting_uploads"], 3, "{status}");
}

#[test]
fn bad_files_and_missing_headers_are_refused_with_a_code_and_change_nothing() {
    let (_dir, _app, window) = demo_app();
    let view = my_task(&window);
    let task = view["id"].as_str().expect("id").to_owned();

    let err = invoke_raw(&window, "add_photo", jpeg(), headers(&[])).expect_err("no task header");
    assert_eq!(err["code"], "app.bad_request", "{err}");
    let err = invoke_raw(
        &window,
        "add_photo",
        Vec::new(),
        headers(&[("x-task", &task)]),
    )
    .expect_err("no bytes");
    assert_eq!(err["code"], "app.bad_request", "{err}");
    let truncated = jpeg()[..400].to_vec();
    let err = invoke_raw(
        &window,
        "add_photo",
        truncated,
        headers(&[("x-task", &task)]),
    )
    .expect_err("corrupt photo");
    assert_eq!(err["code"], "photo.corrupt", "{err}");
    let err = invoke_raw(
        &window,
        "sign",
        b"not a png".to_vec(),
        headers(&[
            ("x-task", &task),
            ("x-role", "enterprise"),
            ("x-signer", "%E7%8E%8B%E6%9F%90"),
        ]),
    )
    .expect_err("bad signature");
    assert_eq!(err["code"], "app.bad_signature", "{err}");
    let err = invoke_raw(
        &window,
        "sign",
        b"x".to_vec(),
        headers(&[("x-task", &task), ("x-role", "mayor"), ("x-signer", "x")]),
    )
    .expect_err("bad role");
    assert_eq!(err["code"], "app.bad_request", "{err}");
    let err =
        invoke(&window, "blob", json!({ "sha256": "../../etc/passwd" })).expect_err("path trick");
    assert_eq!(err["code"], "blob.bad_id", "{err}");

    let after = invoke(&window, "task_view", json!({ "task": task })).expect("view");
    assert_eq!(after, view, "nothing changed");
    let err = invoke(&window, "submit", json!({ "task": task })).expect_err("not ready");
    assert_eq!(err["code"], "task.submit_blocked", "{err}");
}

#[test]
fn an_unenrolled_tablet_says_so_and_enrolling_without_a_server_is_explained() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let (_app, window) = crate::app(dir.path());
    assert_eq!(
        invoke(&window, "identity", json!({})).expect("identity"),
        Value::Null
    );
    let err = invoke(
        &window,
        "enroll",
        json!({ "text": "ABCD2345", "server": null, "deviceName": "平板" }),
    )
    .expect_err("no server");
    assert_eq!(err["code"], "app.server_missing", "{err}");
    let err = invoke(
        &window,
        "enroll",
        json!({ "text": "fieldloop://enroll?server=http://127.0.0.1:9&code=ABCD2345", "server": null, "deviceName": "平板" }),
    )
    .expect_err("nobody listens");
    assert_eq!(err["code"], "sync.network", "{err}");
    assert_eq!(
        invoke(&window, "identity", json!({})).expect("identity"),
        Value::Null
    );
}

#[test]
fn the_blob_scheme_serves_an_image_by_its_hash_and_refuses_anything_else() {
    use fieldloop_app_lib::{AppStore, blob_scheme};
    use tauri::Manager;

    let (_dir, app, window) = demo_app();
    let task = my_task(&window)["id"].as_str().expect("id").to_owned();
    let view =
        invoke_raw(&window, "add_photo", jpeg(), headers(&[("x-task", &task)])).expect("photo");
    let thumb = view["evidence"][0]["thumb_sha256"]
        .as_str()
        .expect("a thumbnail")
        .to_owned();
    let store = app.state::<AppStore>();

    // What an <img> gets: the thumbnail's bytes, typed, kept by the web view.
    let answer = blob_scheme::answer(&store, &format!("/{thumb}"));
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.headers()["content-type"], "image/jpeg");
    assert_eq!(
        answer.headers()["cache-control"],
        "max-age=31536000, immutable"
    );
    let bytes =
        crate::invoke_bytes(&window, "blob", json!({ "sha256": thumb })).expect("thumbnail bytes");
    assert_eq!(
        answer.body(),
        &bytes,
        "the same bytes as the blob command's"
    );

    // Anything but a SHA-256 in hex is refused before the store is read.
    for path in [
        "/../../etc/passwd".to_owned(),
        "/..%2F..%2Fetc%2Fpasswd".to_owned(),
        "/".to_owned(),
        format!("/{thumb}/x"),
        format!("/{}", thumb.to_uppercase()),
    ] {
        let answer = blob_scheme::answer(&store, &path);
        assert_eq!(answer.status(), 400, "{path}");
        let error: Value = serde_json::from_slice(answer.body()).expect("a JSON error");
        assert_eq!(error["code"], "blob.bad_id", "{path}: {error}");
    }
    // A blob this tablet does not have.
    let answer = blob_scheme::answer(&store, &format!("/{}", "0".repeat(64)));
    assert_eq!(answer.status(), 404);
    let error: Value = serde_json::from_slice(answer.body()).expect("a JSON error");
    assert_eq!(error["code"], "blob.not_found", "{error}");
}
