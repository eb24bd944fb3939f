//! Everything a Fieldloop tablet does, testable without a window: the local
//! store of task documents and its index, content-addressed blobs, the
//! evidence photo pipeline, verification QR codes and demo data.
//!
//! The Tauri shell (`src-tauri`) only forwards calls to this crate.

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
