//! The record of a task as people read it: built from the document and the
//! names of departments, inspectors and teams. The tablet's task screen and
//! the supervisors' review page show the same [`RecordView`].

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::task::Window;
use crate::{
    Answer, Conflict, Event, EventKind, Evidence, Finding, GeoPoint, LeadTransfer, Millis,
    PrintedRecord, RecordNotes, RiskClass, Signature, Status, SubmitProblem, Task, TaskDoc,
    TaskError, TracePoint,
};

mod directory;

pub use directory::Directory;

/// The public address a task's QR code carries: `{base}/v/{verify_code}`,
/// the code escaped as one path segment.
pub fn verify_url(base: &str, verify_code: &str) -> String {
    let segment: String = percent_encoding::utf8_percent_encode(verify_code, SEGMENT).collect();
    format!("{}/v/{segment}", base.trim_end_matches('/'))
}

/// [`verify_url`] with the task's signed claim (亮码检查, see
/// [`crate::claim`]) as the fragment, `{base}/v/{verify_code}#FL1:…`, when
/// the task has one. The fragment never reaches the server; the page checks
/// it on the phone. Base45's space and `%` are percent-encoded.
pub fn signed_verify_url(base: &str, verify_code: &str, claim: Option<&str>) -> String {
    let url = verify_url(base, verify_code);
    match claim {
        Some(claim) => {
            let fragment: String = percent_encoding::utf8_percent_encode(claim, FRAGMENT).collect();
            format!("{url}#{fragment}")
        }
        None => url,
    }
}

/// What a fragment escapes (of base45's alphabet: the space and `%`).
const FRAGMENT: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'<')
    .add(b'>')
    .add(b'`')
    .add(b'#')
    .add(b'%');

/// What a path segment escapes: everything but the unreserved characters.
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A department as the screen names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct DepartmentRef {
    pub code: String,
    pub name: String,
    pub name_en: String,
}

/// An inspector of the task and their check-in, if any.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct InspectorView {
    pub id: String,
    pub name: String,
    /// The inspector holding this tablet.
    pub me: bool,
    pub checked_in_at: Option<Millis>,
    pub checked_in_location: Option<GeoPoint>,
}

/// One checklist item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct ItemView {
    pub id: String,
    pub title: String,
    pub legal_basis: String,
    pub requires_evidence: bool,
    pub answer: Answer,
    /// Evidence attached to this item and not withdrawn.
    pub evidence: Vec<String>,
    /// Some field of this item has concurrent values to resolve.
    pub conflicted: bool,
}

/// The items of one department (进一次门、查多项事: one group per department).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct ItemGroup {
    pub department: DepartmentRef,
    pub items: Vec<ItemView>,
    pub answered: u32,
}

/// A reason the task cannot be submitted yet, in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct ProblemView {
    pub problem: SubmitProblem,
    /// The item's title where the problem is about an item.
    pub item_title: Option<String>,
    pub message: String,
}

/// The record of a task, as the tablet's task screen and the console's
/// review page show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct RecordView {
    pub id: String,
    pub code: String,
    pub status: Option<Status>,
    pub subject_name: String,
    pub uscc: String,
    pub address: String,
    pub industry: String,
    pub risk_class: RiskClass,
    pub legal_rep: String,
    pub location: Option<GeoPoint>,
    pub window: Window,
    pub team: String,
    pub lead_department: String,
    pub departments: Vec<DepartmentRef>,
    pub inspectors: Vec<InspectorView>,
    pub groups: Vec<ItemGroup>,
    /// All evidence, withdrawn included (全程留痕), newest first.
    pub evidence: Vec<Evidence>,
    pub trace: Vec<TracePoint>,
    pub findings: Vec<Finding>,
    pub lead_transfers: Vec<LeadTransfer>,
    pub signatures: Vec<Signature>,
    pub conflicts: Vec<Conflict>,
    /// What stands in the way of submitting; empty when it may be submitted.
    pub problems: Vec<ProblemView>,
    /// The supervisor's comment while the task is returned.
    pub return_comment: Option<String>,
    pub events: Vec<Event>,
    /// The public verification address the task's QR code carries.
    pub verify_url: String,
    /// The person the record was built for (`me`) may change it now.
    pub editable: bool,
    /// The 笔录 fields (empty ones in documents made before they existed).
    pub record_notes: RecordNotes,
    /// Prints of the record, oldest first.
    pub prints: Vec<PrintedRecord>,
    /// Inspector id → badge number (执法证号), as the task was created.
    pub badges: std::collections::BTreeMap<String, String>,
    /// For a re-check task (复查): the original finding and its photos.
    pub recheck_of: Option<crate::task::RecheckOf>,
}

/// Builds the record of a task document for the inspector `me` (`None`:
/// for a reader who is none of its inspectors, such as a supervisor).
pub fn build_record(
    doc: &mut TaskDoc,
    directory: &Directory,
    me: Option<&str>,
    verify_base: &str,
) -> Result<RecordView, TaskError> {
    let task: Task = doc.task()?;
    let directory = &directory.with_names(task.names.as_ref());
    let report = task.status_report();
    let conflicts = doc.conflicts_with_times()?;
    let problems = task.submit_problems(&conflicts);
    let title_of = |id: &str| task.checklist.get(id).map(|i| i.title.clone());

    let check_ins: Vec<&Event> = task
        .events
        .iter()
        .filter(|e| e.kind == EventKind::CheckedIn)
        .collect();
    let inspectors = task
        .inspectors
        .iter()
        .map(|id| {
            let check_in = report
                .checked_in
                .contains(id)
                .then(|| check_ins.iter().find(|e| &e.by == id))
                .flatten();
            InspectorView {
                id: id.clone(),
                name: directory.inspector_name(id),
                me: me == Some(id.as_str()),
                checked_in_at: check_in.map(|e| e.at),
                checked_in_location: check_in.and_then(|e| e.location),
            }
        })
        .collect();

    let mut groups: Vec<ItemGroup> = task
        .departments
        .iter()
        .map(|code| ItemGroup {
            department: directory.department(code),
            items: Vec::new(),
            answered: 0,
        })
        .collect();
    for (id, item) in task.items_in_order() {
        let index = match groups
            .iter()
            .position(|g| g.department.code == item.department)
        {
            Some(i) => i,
            None => {
                groups.push(ItemGroup {
                    department: directory.department(&item.department),
                    items: Vec::new(),
                    answered: 0,
                });
                groups.len() - 1
            }
        };
        let group = &mut groups[index];
        if item.answer.result.is_some() {
            group.answered += 1;
        }
        group.items.push(ItemView {
            id: id.clone(),
            title: item.title.clone(),
            legal_basis: item.legal_basis.clone(),
            requires_evidence: item.requires_evidence,
            answer: item.answer.clone(),
            evidence: item
                .evidence
                .iter()
                .filter(|sha| task.evidence.get(*sha).is_some_and(|e| !e.is_withdrawn()))
                .cloned()
                .collect(),
            conflicted: conflicts
                .iter()
                .any(|c| c.path.len() > 1 && c.path[0] == "checklist" && &c.path[1] == id),
        });
    }
    groups.retain(|g| !g.items.is_empty());

    let problems = problems
        .into_iter()
        .map(|problem| {
            let item_title = match &problem {
                SubmitProblem::Unanswered { item } | SubmitProblem::MissingEvidence { item } => {
                    title_of(item)
                }
                _ => None,
            };
            let message = match &item_title {
                Some(title) => format!("{problem}（{title}）"),
                None => problem.to_string(),
            };
            ProblemView {
                problem,
                item_title,
                message,
            }
        })
        .collect();

    let mut evidence: Vec<Evidence> = task.evidence.values().cloned().collect();
    evidence.sort_by(|a, b| b.taken_at.cmp(&a.taken_at).then(a.sha256.cmp(&b.sha256)));

    let editable = me.is_some_and(|me| task.inspectors.iter().any(|i| i == me))
        && matches!(
            report.status,
            Some(Status::Assigned | Status::InProgress | Status::Returned)
        );

    Ok(RecordView {
        id: task.id.clone(),
        code: task.code.clone(),
        status: report.status,
        subject_name: task.subject.name.clone(),
        uscc: task.subject.uscc.clone(),
        address: task.subject.address.clone(),
        industry: task.subject.industry.clone(),
        risk_class: task.subject.risk_class,
        legal_rep: task.subject.legal_rep.clone(),
        location: task.subject.location,
        window: task.window,
        team: task.team.clone(),
        lead_department: task.lead_department.clone(),
        departments: task
            .departments
            .iter()
            .map(|d| directory.department(d))
            .collect(),
        inspectors,
        groups,
        evidence,
        trace: task.trace.clone(),
        findings: task.findings.clone(),
        lead_transfers: task.lead_transfers.clone(),
        signatures: task.signatures.clone(),
        conflicts,
        problems,
        return_comment: report.return_comment.clone(),
        events: task.events.clone(),
        verify_url: verify_url(verify_base, &task.verify_code),
        editable,
        record_notes: task.record_notes.clone().unwrap_or_default(),
        prints: task.prints.clone().unwrap_or_default(),
        badges: task
            .names
            .as_ref()
            .and_then(|n| n.badges.clone())
            .unwrap_or_default(),
        recheck_of: task.recheck_of.clone(),
    })
}
