//! The app's commands through Tauri's IPC, on the mock runtime (no window):
//! real stores in temp dirs, the same `run_app` as the real app.

mod audit;
mod notes;
mod record;
mod tasks;

use std::path::Path;

use fieldloop_app_lib::{Startup, run_app};
use serde_json::Value;
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{
    INVOKE_KEY, MockRuntime, get_ipc_response, mock_builder, mock_context, noop_assets,
};
use tauri::webview::InvokeRequest;
use tauri::{App, WebviewWindow, WebviewWindowBuilder};

/// The app with its store in `data_dir`, and its main window.
pub fn app(data_dir: &Path) -> (App<MockRuntime>, WebviewWindow<MockRuntime>) {
    app_with(Startup {
        data_dir: Some(data_dir.to_path_buf()),
        demo: false,
        ..Default::default()
    })
}

/// The app started as `startup` says, and its main window.
pub fn app_with(startup: Startup) -> (App<MockRuntime>, WebviewWindow<MockRuntime>) {
    let app = run_app(mock_builder(), startup)
        .build(mock_context(noop_assets()))
        .expect("the app builds on the mock runtime");
    let window = WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .expect("the main window opens");
    (app, window)
}

/// Invokes `command` with `args` as the UI's `invoke(command, args)` does;
/// the answer or the error as JSON.
pub fn invoke(
    window: &WebviewWindow<MockRuntime>,
    command: &str,
    args: Value,
) -> Result<Value, Value> {
    let request = InvokeRequest {
        cmd: command.into(),
        callback: CallbackFn(0),
        error: CallbackFn(1),
        // On Linux the IPC accepts only the app's own origin.
        url: "tauri://localhost".parse().expect("a valid URL"),
        body: InvokeBody::Json(args),
        headers: Default::default(),
        invoke_key: INVOKE_KEY.to_string(),
    };
    get_ipc_response(window, request)
        .map(|body| body.deserialize::<Value>().expect("the answer is JSON"))
}

fn request(command: &str, body: InvokeBody, headers: tauri::http::HeaderMap) -> InvokeRequest {
    InvokeRequest {
        cmd: command.into(),
        callback: CallbackFn(0),
        error: CallbackFn(1),
        url: "tauri://localhost".parse().expect("a valid URL"),
        body,
        headers,
        invoke_key: INVOKE_KEY.to_string(),
    }
}

/// Invokes a file-carrying `command` as the UI's `invoke(command, bytes, { headers })` does.
pub fn invoke_raw(
    window: &WebviewWindow<MockRuntime>,
    command: &str,
    bytes: Vec<u8>,
    headers: tauri::http::HeaderMap,
) -> Result<Value, Value> {
    get_ipc_response(window, request(command, InvokeBody::Raw(bytes), headers))
        .map(|body| body.deserialize::<Value>().expect("the answer is JSON"))
}

/// Invokes a command that answers raw bytes.
pub fn invoke_bytes(
    window: &WebviewWindow<MockRuntime>,
    command: &str,
    args: Value,
) -> Result<Vec<u8>, Value> {
    get_ipc_response(
        window,
        request(command, InvokeBody::Json(args), Default::default()),
    )
    .map(|body| match body {
        tauri::ipc::InvokeResponseBody::Raw(bytes) => bytes,
        tauri::ipc::InvokeResponseBody::Json(json) => panic!("expected bytes, got {json}"),
    })
}
