//! Everything a Fieldloop tablet does, testable without a window: the local
//! store of task documents and its index, content-addressed blobs, the
//! evidence photo pipeline, verification QR codes and demo data.
//!
//! The Tauri shell (`src-tauri`) only forwards calls to this crate.

pub mod audit;
pub mod background;
pub mod blobs;
#[cfg(feature = "demo")]
pub mod demo;
pub mod inspect;
pub mod keystore;
pub mod photo;
pub mod qr;
pub mod recheck;
pub mod store;
pub mod sync;
pub mod tls;
pub mod upload;

pub use store::{Store, StoreError, TaskQuery, TaskRow};

/// Every crash point of the tablet's durable writes
/// ([`fieldloop_core::faults::point`]), in the order a write reaches them.
/// docs/design.md ("Crash points") says what each one leaves on disk; the
/// crash-point suite crashes at each of them.
pub const CRASH_POINTS: &[&str] = &[
    "tablet.setting.before_commit",
    "tablet.setting.after_commit",
    "tablet.insert.before_commit",
    "tablet.insert.after_commit",
    "tablet.edit.before_commit",
    "tablet.edit.after_commit",
    "tablet.compact.snapshot_written",
    "tablet.compact.before_commit",
    "tablet.compact.after_commit",
    "tablet.upload_done.before_commit",
    "tablet.upload_done.after_commit",
    "tablet.sync_apply.before_commit",
    "tablet.sync_apply.after_commit",
    "tablet.set_aside.before_commit",
    "tablet.set_aside.after_commit",
    "tablet.audit_receipts.before_commit",
    "tablet.audit_receipts.after_commit",
    "tablet.audit_checkpoint.before_commit",
    "tablet.audit_checkpoint.after_commit",
    "tablet.blob.temp_written",
    "tablet.blob.temp_synced",
    "tablet.blob.renamed",
    "tablet.blob.dir_synced",
];
