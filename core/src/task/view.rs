//! Typed reads of a task document: the whole task, its status, the summary
//! for the task index, and the audit trail.

use std::collections::BTreeMap;

use automerge::ROOT;
use autosurgeon::{Hydrate, hydrate, hydrate_prop};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::{ActorInfo, Millis, Task, TaskDoc, TaskSubject, Window};
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

/// The parts of a task its summary is made of (autosurgeon reads only the
/// keys named here).
#[derive(Hydrate)]
struct SummaryFields {
    id: String,
    code: String,
    subject: TaskSubject,
    departments: Vec<String>,
    inspectors: Vec<String>,
    window: Window,
    events: Vec<Event>,
}

/// The summary of the fields it is made of, however they were read.
fn summarise(
    id: String,
    code: String,
    subject: TaskSubject,
    events: &[Event],
    inspectors: &[String],
    due: Millis,
    departments: Vec<String>,
) -> Result<TaskSummary, TaskError> {
    let status = status::fold(events, inspectors)
        .status
        .ok_or_else(|| TaskError::Malformed("no valid “assigned” event".into()))?;
    Ok(TaskSummary {
        id,
        code,
        subject_name: subject.name,
        uscc: subject.uscc,
        status,
        due,
        departments,
    })
}

impl Task {
    /// [`TaskDoc::summary`] of a task already read whole, without reading
    /// the document again.
    pub fn summary(&self) -> Result<TaskSummary, TaskError> {
        summarise(
            self.id.clone(),
            self.code.clone(),
            self.subject.clone(),
            &self.events,
            &self.inspectors,
            self.window.due,
            self.departments.clone(),
        )
    }
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

    /// What the task index needs. Reads only those parts of the document
    /// (not its evidence, trace or answers), so it costs the same however
    /// much was recorded; [`TaskDoc::task`] is what checks the whole.
    pub fn summary(&self) -> Result<TaskSummary, TaskError> {
        let head: SummaryFields = hydrate(&self.doc)?;
        summarise(
            head.id,
            head.code,
            head.subject,
            &head.events,
            &head.inspectors,
            head.window.due,
            head.departments,
        )
    }

    /// The audit trail: every change, who made it, when and what.
    pub fn history(&mut self) -> Result<Vec<crate::HistoryEntry>, TaskError> {
        let actors: BTreeMap<String, ActorInfo> = hydrate_prop(&self.doc, ROOT, "actors")?;
        Ok(crate::history::entries(&mut self.doc, &actors))
    }
}
