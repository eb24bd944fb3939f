//! The desktop entry point; iOS and Android enter through `fieldloop_app_lib::run`.

// No console window next to the app on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    // First, before any thread: may start the app again (see the module).
    fieldloop_app_lib::webview::software_rendering();
    fieldloop_app_lib::run();
}
