//! Typed reads of a task document: the whole task, its status, the summary
//! for the task index, and the audit trail.

use std::collections::BTreeMap;

use automerge::ROOT;
use autosurgeon::{hydrate, hydrate_prop};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::{ActorInfo, Millis, Task, TaskDoc};
use crate::error::TaskError;
use crate::status::{self, Event, Status, StatusReport};

/// What the task index needs, without the whole document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct TaskSummary {
    pub id: String,
    pub code: String,
    pub subject_name: String,
    pub uscc: String,
    pub status: Status,
    pub due: Millis,
    pub departments: Vec<String>,
}

impl TaskDoc {
    /// The typed view of the whole document.
    pub fn task(&self) -> Result<Task, TaskError> {
        Ok(hydrate(&self.doc)?)
    }

    pub fn status_report(&self) -> Result<StatusReport, TaskError> {
        let events: Vec<Event> = hydrate_prop(&self.doc, ROOT, "events")?;
        let inspectors: Vec<String> = hydrate_prop(&self.doc, ROOT, "inspectors")?;
        Ok(status::fold(&events, &inspectors))
    }

    /// The derived status; a document without a valid `assigned` event is malformed.
    pub fn status(&self) -> Result<Status, TaskError> {
        self.status_report()?
            .status
            .ok_or_else(|| TaskError::Malformed("no valid “assigned” event".into()))
    }

    pub fn summary(&self) -> Result<TaskSummary, TaskError> {
        let task = self.task()?;
        let status = task
            .status_report()
            .status
            .ok_or_else(|| TaskError::Malformed("no valid “assigned” event".into()))?;
        Ok(TaskSummary {
            id: task.id,
            code: task.code,
            subject_name: task.subject.name,
            uscc: task.subject.uscc,
            status,
            due: task.window.due,
            departments: task.departments,
        })
    }

    /// The audit trail: every change, who made it, when and what.
    pub fn history(&mut self) -> Result<Vec<crate::HistoryEntry>, TaskError> {
        let actors: BTreeMap<String, ActorInfo> = hydrate_prop(&self.doc, ROOT, "actors")?;
        Ok(crate::history::entries(&mut self.doc, &actors))
    }
}
