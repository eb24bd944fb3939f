//! The task as the tablet's task screen shows it: the record (shared with
//! the supervisors' console, [`RecordView`]) and what only this tablet knows.

use std::ops::Deref;

use fieldloop_core::record::RecordView;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// A task as the task screen shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct TaskView {
    #[serde(flatten)]
    pub record: RecordView,
    /// Every department the tablet knows by name (the server's directory
    /// first), to suggest where a lead may be transferred.
    pub known_departments: Vec<fieldloop_core::record::DepartmentRef>,
    /// The tablet holds changes the server has not acknowledged.
    pub dirty: bool,
    /// Edits of this tablet the server refused (set aside, kept to be seen).
    pub refused_edits: Vec<crate::store::RefusedEdit>,
}

impl Deref for TaskView {
    type Target = RecordView;

    fn deref(&self) -> &RecordView {
        &self.record
    }
}
