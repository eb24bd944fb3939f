//! The task index: one row per task with what the console lists, filters,
//! sorts, counts and exports, kept beside the documents. Every write of a
//! task document carries its row ([`TaskWrite::index`](crate::store::TaskWrite)),
//! so the index changes in the same transaction as the document it reads.

use automerge::ReadDoc;
use fieldloop_core::{Millis, Status, Task, TaskError};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Rectification deadlines this close (or past) count as "due" on the dashboard.
pub const RECTIFICATION_SOON_MS: Millis = 14 * 86_400_000;

/// A task as the console's list shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct ConsoleTaskRow {
    pub id: String,
    pub code: String,
    pub subject_name: String,
    pub uscc: String,
    /// `None` only for a document with no valid `assigned` event.
    pub status: Option<Status>,
    pub team: String,
    /// Department codes, the lead department first.
    pub departments: Vec<String>,
    pub lead_department: String,
    /// Inspector ids.
    pub inspectors: Vec<String>,
    #[ts(type = "number")]
    pub window_start: Millis,
    #[ts(type = "number")]
    pub due: Millis,
    /// When the server last wrote the task (server time).
    #[ts(type = "number")]
    pub updated_at: Millis,
    /// Items of more than one department: a joint inspection (进一次门、查多项事).
    pub joint: bool,
    pub open_conflicts: u32,
    /// Evidence not withdrawn.
    pub evidence: u32,
    pub findings: u32,
    /// The earliest rectification deadline of the task's findings.
    #[ts(type = "number | null")]
    pub rectification_due: Option<Millis>,
    /// Past due and not yet submitted (nor cancelled).
    pub overdue: bool,
}

/// What the index keeps of a task; [`ConsoleTaskRow`] is this plus the
/// time-dependent `overdue` and the write time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskIndex {
    pub id: String,
    pub code: String,
    pub subject_name: String,
    pub uscc: String,
    pub status: Option<Status>,
    pub team: String,
    pub departments: Vec<String>,
    pub lead_department: String,
    pub inspectors: Vec<String>,
    pub window_start: Millis,
    pub due: Millis,
    pub open_conflicts: u32,
    pub evidence: u32,
    pub findings: u32,
    pub rectification_due: Option<Millis>,
    /// The task's lead transfers: each becomes a lead when the task is
    /// written (see `crate::leads::transfer_leads`); not an index column.
    pub lead_transfers: Vec<fieldloop_core::LeadTransfer>,
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl TaskIndex {
    /// The index row of a task document, read once for the task and its
    /// conflicts.
    pub fn of<D: ReadDoc + autosurgeon::ReadDoc>(doc: &D) -> Result<Self, TaskError> {
        let (task, conflicts) = fieldloop_core::walk::task_and_conflicts(doc)?;
        Ok(Self::with_conflicts(task, conflicts.len()))
    }

    /// The index row of `task`, whose document has `open_conflicts`
    /// conflicts.
    pub fn with_conflicts(task: Task, open_conflicts: usize) -> Self {
        let open_conflicts = count(open_conflicts);
        let mut departments = vec![task.lead_department.clone()];
        for d in task
            .departments
            .iter()
            .chain(task.checklist.values().map(|i| &i.department))
        {
            if !departments.contains(d) {
                departments.push(d.clone());
            }
        }
        departments.retain(|d| !d.is_empty());
        Self {
            status: task.status_report().status,
            id: task.id,
            code: task.code,
            subject_name: task.subject.name,
            uscc: task.subject.uscc,
            team: task.team,
            departments,
            lead_department: task.lead_department,
            inspectors: task.inspectors,
            window_start: task.window.start,
            due: task.window.due,
            open_conflicts,
            evidence: count(task.evidence.values().filter(|e| !e.is_withdrawn()).count()),
            findings: count(task.findings.len()),
            rectification_due: task
                .findings
                .iter()
                .filter(|f| f.rectification_order.is_some())
                .filter_map(|f| f.rectification_deadline)
                .min(),
            lead_transfers: task.lead_transfers,
        }
    }

    pub fn joint(&self) -> bool {
        self.departments.len() > 1
    }
}

/// Whether a task of `status` due at `due` is overdue at `now`: the window
/// has ended and the inspectors have not handed the record in.
pub fn is_overdue(status: Option<Status>, due: Millis, now: Millis) -> bool {
    due < now
        && matches!(
            status,
            Some(Status::Assigned | Status::InProgress | Status::Returned)
        )
}

/// The order of the list.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, TS, utoipa::ToSchema,
)]
#[ts(export)]
pub enum TaskSort {
    #[default]
    #[serde(rename = "due")]
    DueAsc,
    #[serde(rename = "-due")]
    DueDesc,
    #[serde(rename = "code")]
    CodeAsc,
    #[serde(rename = "-code")]
    CodeDesc,
    #[serde(rename = "subject")]
    SubjectAsc,
    #[serde(rename = "-subject")]
    SubjectDesc,
    #[serde(rename = "status")]
    StatusAsc,
    #[serde(rename = "-status")]
    StatusDesc,
    #[serde(rename = "updated")]
    UpdatedAsc,
    #[serde(rename = "-updated")]
    UpdatedDesc,
}

/// Which tasks a list, an export or a count takes. Every field narrows;
/// an empty filter takes every task the reader may see.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskFilter {
    /// Any of these statuses (empty: any).
    pub statuses: Vec<Status>,
    pub department: Option<String>,
    pub team: Option<String>,
    pub inspector: Option<String>,
    /// A piece of the subject's name, its USCC or the task code.
    pub text: Option<String>,
    pub due_from: Option<Millis>,
    pub due_to: Option<Millis>,
    pub overdue: bool,
    pub returned: bool,
    /// A rectification deadline within [`RECTIFICATION_SOON_MS`].
    pub rectification_due: bool,
    pub joint: Option<bool>,
    /// Tasks of this year: windows starting in it (Beijing time), the
    /// cancelled aside — the dashboard's "this year".
    pub year: Option<(Millis, Millis)>,
    /// What the reader acts for; `None`: everything (an administrator).
    pub scope: Option<Scope>,
}

/// What a supervisor acts for: the tasks of their teams, and every task
/// that includes one of their departments.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    pub teams: Vec<String>,
    pub departments: Vec<String>,
}

impl Scope {
    /// Whether a task of `team` with `departments` is in this scope.
    pub fn covers(&self, team: &str, departments: &[String]) -> bool {
        self.teams.iter().any(|t| t == team)
            || departments.iter().any(|d| self.departments.contains(d))
    }
}

/// One page of the list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct TaskPage {
    pub total: u64,
    pub page: u32,
    pub per_page: u32,
    pub rows: Vec<ConsoleTaskRow>,
}

/// Tasks by status, for a chart.
pub type StatusCounts = std::collections::BTreeMap<Status, u64>;

/// The tasks of one department, by status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct DepartmentCount {
    pub code: String,
    pub total: u64,
    #[ts(as = "std::collections::HashMap<Status, u64>")]
    pub by_status: StatusCounts,
}

/// How many subjects were inspected `inspections` times this year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct InspectionCount {
    pub inspections: u64,
    pub subjects: u64,
}

/// The console's first screen. Counts cover the tasks the reader may see.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct Dashboard {
    pub year: i32,
    #[ts(as = "std::collections::HashMap<Status, u64>")]
    pub by_status: StatusCounts,
    pub by_department: Vec<DepartmentCount>,
    pub overdue: u64,
    pub returned: u64,
    /// Rectification deadlines within 14 days or past.
    pub rectification_due: u64,
    /// Tasks of this year's window with items of several departments …
    pub joint: u64,
    /// … and of one.
    pub single: u64,
    /// Subjects by how many tasks they had this year (not cancelled).
    pub inspections_per_subject: Vec<InspectionCount>,
}
