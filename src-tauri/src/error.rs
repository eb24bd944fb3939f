//! The error every command answers with: `{ "code": …, "message": … }`.
//!
//! The UI branches on `code` (stable, machine-readable: `"store.…"`,
//! `"app.…"`) and shows its own text for the codes it knows, else `message`.

use std::fmt;

use fieldloop_tablet::inspect::AppError;
use fieldloop_tablet::store::StoreError;
use serde::Serialize;
use ts_rs::TS;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct CommandError {
    pub code: String,
    pub message: String,
}

impl CommandError {
    /// The app data directory could not be found or created.
    pub const DATA_DIR: &'static str = "app.data_dir";
    /// A command panicked while it held the store; the app must be restarted.
    /// A command was called with arguments it cannot read.
    pub const BAD_REQUEST: &'static str = "app.bad_request";
    pub const STORE_UNAVAILABLE: &'static str = "app.store_unavailable";

    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
        }
    }
}

impl From<StoreError> for CommandError {
    fn from(error: StoreError) -> Self {
        Self::new(error.code(), error.to_string())
    }
}

impl From<AppError> for CommandError {
    fn from(error: AppError) -> Self {
        Self::new(error.code(), error.to_string())
    }
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}

impl std::error::Error for CommandError {}
