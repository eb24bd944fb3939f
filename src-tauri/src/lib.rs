//! The Fieldloop tablet app: a thin Tauri 2 shell over `fieldloop-tablet`.
//!
//! [`run`] starts the real app. [`run_app`] adds Fieldloop's start-up and
//! commands to any `tauri::Builder`, so tests drive the same app on Tauri's
//! mock runtime. Each command (in [`commands`]) is one call into
//! `fieldloop_tablet`; the web front end in `ui/` calls them through its
//! `Backend` interface.

pub mod blob_scheme;
pub mod commands;
mod error;
mod store;
pub mod webview;

pub use error::CommandError;
pub use store::{AppStore, Startup};

use tauri::{Builder, Manager, Runtime};

/// Starts the app: the window, the local store, the commands.
#[cfg_attr(mobile, tauri::mobile_entry_point)]
pub fn run() {
    run_app(tauri::Builder::default(), Startup::from_env())
        .run(tauri::generate_context!())
        .expect("Fieldloop could not start");
}

/// Fieldloop on `builder`: the commands, and the local store (see [`Startup`]).
pub fn run_app<R: Runtime>(builder: Builder<R>, startup: Startup) -> Builder<R> {
    use commands::{device, evidence, notes, record, tasks};
    let builder = builder
        .register_asynchronous_uri_scheme_protocol(blob_scheme::SCHEME, blob_scheme::handle)
        .invoke_handler(tauri::generate_handler![
            tasks::list_tasks,
            tasks::task_view,
            tasks::task_history,
            tasks::task_qr,
            record::check_in,
            record::answer,
            record::set_caption,
            record::withdraw_evidence,
            record::add_trace,
            record::add_finding,
            record::add_lead_transfer,
            record::refuse_to_sign,
            record::resolve_conflict,
            record::submit,
            notes::edit_record_notes,
            notes::print_record,
            evidence::add_photo,
            evidence::sign,
            evidence::blob,
            device::identity,
            device::enroll_hint,
            device::scan_enroll_image,
            device::enroll,
            device::sync_status,
            device::sync_now,
            device::unsynced_work,
            device::audit_check,
            device::wipe_if_revoked,
        ]);
    match startup.data_dir.clone() {
        // A given directory is opened at once; the platform's once the app knows its name.
        Some(dir) => builder.manage(AppStore::open(&dir, &startup)),
        None => builder.setup(move |app| {
            let store = match store::app_data_dir(app.handle()) {
                Ok(dir) => AppStore::open(&dir, &startup),
                Err(error) => AppStore::unavailable(error),
            };
            app.manage(store);
            Ok(())
        }),
    }
}
