//! The error every command answers with: `{ "code": …, "message": … }`.
//!
//! The UI branches on `code`, one of [`ErrorCode`] (a string-literal union
//! in TypeScript), and shows its own sentence for it in the chosen language;
//! `message` is for the details line and the log.

use std::fmt;

use fieldloop_core::ErrorCode;
use fieldloop_tablet::inspect::AppError;
use fieldloop_tablet::store::StoreError;
use serde::Serialize;
use ts_rs::TS;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct CommandError {
    pub code: ErrorCode,
    pub message: String,
}

impl CommandError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
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
