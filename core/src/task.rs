//! One joint-inspection task as one Automerge document.
//!
//! [`Task`] is the typed shape of the document, read and written through
//! autosurgeon. [`TaskDoc`] owns the Automerge document and offers the verbs
//! of an inspection (answer an item, add evidence, check in, submit, …);
//! each verb is one change, committed with its author's actor, the time the
//! caller passes in and a human message, so the document's history is the
//! audit trail.
//!
//! Writes are targeted: a verb touches only the keys it changes, and every
//! nested map that several people edit (a checklist item's answer, for
//! instance) is created once when the task is created, so concurrent edits
//! land in the same map and either merge or show up as a [`crate::Conflict`]
//! instead of one hiding the other.

use std::collections::BTreeMap;

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{ActorId, AutoCommit, ChangeHash, ObjId, ROOT, ReadDoc};
use autosurgeon::{
    Hydrate, MaybeMissing, Reconcile, hydrate, hydrate_prop, reconcile, reconcile_insert,
    reconcile_prop,
};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::domain::{GeoPoint, Handbook, Item, RiskClass, Subject};
use crate::error::TaskError;
use crate::status::{self, Event, EventKind, Role, Status, StatusReport};

/// Version of the document layout written by this code.
pub const SCHEMA: u64 = 1;
/// Inspectors that must check in before a task can be submitted (law: two on site).
pub const MIN_CHECKED_IN: usize = 2;

/// Milliseconds since the Unix epoch, UTC. Always passed in, never read here.
pub type Millis = i64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Hydrate, Reconcile, TS)]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    /// Several departments in one visit (进一次门、查多项事).
    #[autosurgeon(rename = "joint")]
    Joint,
    /// One department alone (the exception).
    #[autosurgeon(rename = "single")]
    Single,
}

/// The inspected business as recorded on the task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Hydrate, Reconcile, TS)]
pub struct TaskSubject {
    pub uscc: String,
    pub name: String,
    pub address: String,
    pub industry: String,
    pub risk_class: RiskClass,
    pub location: Option<GeoPoint>,
    pub legal_rep: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Hydrate, Reconcile, TS)]
pub struct Window {
    pub start: Millis,
    pub due: Millis,
}

/// Which person and role a device's Automerge actor stands for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Hydrate, Reconcile, TS)]
pub struct ActorInfo {
    pub person: String,
    pub role: Role,
}

/// The answer to one checklist item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Hydrate, Reconcile, TS)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// 合格
    #[autosurgeon(rename = "pass")]
    Pass,
    /// 不合格
    #[autosurgeon(rename = "fail")]
    Fail,
    /// 不涉及
    #[autosurgeon(rename = "not_applicable")]
    NotApplicable,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, Hydrate, Reconcile, TS)]
pub struct Answer {
    pub result: Option<Outcome>,
    pub value: Option<String>,
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Hydrate, Reconcile, TS)]
pub struct ChecklistItem {
    pub department: String,
    pub title: String,
    pub legal_basis: String,
    pub requires_evidence: bool,
    /// Position in the handbook, for display.
    pub order: u64,
    pub answer: Answer,
    /// SHA-256 of the evidence attached to this item.
    pub evidence: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Hydrate, Reconcile, TS)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceKind {
    #[autosurgeon(rename = "photo")]
    Photo,
    #[autosurgeon(rename = "signature")]
    Signature,
    #[autosurgeon(rename = "audio")]
    Audio,
    #[autosurgeon(rename = "document")]
    Document,
}

/// Metadata of one piece of evidence; the bytes are a blob named by `sha256`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Hydrate, Reconcile, TS)]
pub struct Evidence {
    pub sha256: String,
    pub kind: EvidenceKind,
    pub taken_at: Millis,
    pub by: String,
    pub location: Option<GeoPoint>,
    pub caption: Option<String>,
    pub mime: String,
    pub bytes: u64,
    pub thumb_sha256: Option<String>,
    pub display_sha256: Option<String>,
    /// The checklist item it supports, if any.
    pub item: Option<String>,
    /// Withdrawn evidence stays in the record (全程留痕) but no longer counts.
    pub withdrawn_at: Option<Millis>,
    pub withdrawn_by: Option<String>,
    pub withdrawn_reason: Option<String>,
}

impl Evidence {
    pub fn is_withdrawn(&self) -> bool {
        self.withdrawn_at.is_some()
    }
}

/// One point of the GPS track recorded on site.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Hydrate, Reconcile, TS)]
pub struct TracePoint {
    pub t: Millis,
    pub lat: f64,
    pub lon: f64,
    /// Horizontal accuracy in metres.
    pub accuracy: f64,
    pub by: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Hydrate, Reconcile, TS)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    #[autosurgeon(rename = "minor")]
    Minor,
    #[autosurgeon(rename = "major")]
    Major,
    #[autosurgeon(rename = "critical")]
    Critical,
}

/// A problem found on site, with its rectification order (责令整改) if one was issued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Hydrate, Reconcile, TS)]
pub struct Finding {
    pub id: String,
    pub item_id: Option<String>,
    pub description: String,
    pub severity: Severity,
    pub rectification_order: Option<String>,
    pub rectification_deadline: Option<Millis>,
    pub by: String,
    pub at: Millis,
}

/// A case lead handed to another department (移送), possibly to criminal justice (行刑衔接).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Hydrate, Reconcile, TS)]
pub struct LeadTransfer {
    pub id: String,
    pub to_department: String,
    pub summary: String,
    pub evidence: Vec<String>,
    pub criminal: bool,
    pub by: String,
    pub at: Millis,
}

/// Who signs the record on site.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Hydrate, Reconcile, TS)]
#[serde(rename_all = "snake_case")]
pub enum SignerRole {
    /// An inspector of the task (执法人员).
    #[autosurgeon(rename = "inspector")]
    Inspector,
    /// The business's representative (企业负责人或代表).
    #[autosurgeon(rename = "enterprise")]
    Enterprise,
}

/// A signature on the record, or a refusal to sign (拒签) with its reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Hydrate, Reconcile, TS)]
pub struct Signature {
    pub role: SignerRole,
    /// The signer's name (an inspector's id for inspectors).
    pub signer: String,
    /// SHA-256 of the signature image (also listed under `evidence`); `None` when refused.
    pub image: Option<String>,
    /// Why the signer refused; `None` when signed.
    pub refused_reason: Option<String>,
    /// Who recorded it (the inspector holding the tablet).
    pub by: String,
    pub at: Millis,
}

/// The whole task document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Hydrate, Reconcile, TS)]
pub struct Task {
    pub schema: u64,
    pub id: String,
    pub code: String,
    pub kind: TaskKind,
    pub subject: TaskSubject,
    pub departments: Vec<String>,
    pub lead_department: String,
    pub team: String,
    pub inspectors: Vec<String>,
    pub window: Window,
    /// Random and unguessable; the public QR code points to `/v/{verify_code}`.
    pub verify_code: String,
    /// Actor id (hex) → who acts through it.
    pub actors: BTreeMap<String, ActorInfo>,
    pub checklist: BTreeMap<String, ChecklistItem>,
    pub evidence: BTreeMap<String, Evidence>,
    pub trace: Vec<TracePoint>,
    pub findings: Vec<Finding>,
    pub lead_transfers: Vec<LeadTransfer>,
    pub signatures: Vec<Signature>,
    pub events: Vec<Event>,
}

impl Task {
    /// Folds the events into the current status.
    pub fn status_report(&self) -> StatusReport {
        status::fold(&self.events, &self.inspectors)
    }

    /// Checklist items in handbook order.
    pub fn items_in_order(&self) -> Vec<(&String, &ChecklistItem)> {
        let mut items: Vec<_> = self.checklist.iter().collect();
        items.sort_by_key(|(id, item)| (item.order, *id));
        items
    }
}

/// Who is editing: the device's actor and the person and role behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Author {
    pub actor: ActorId,
    pub person: String,
    pub role: Role,
}

impl Author {
    pub fn new(actor: impl Into<ActorId>, person: impl Into<String>, role: Role) -> Self {
        Self {
            actor: actor.into(),
            person: person.into(),
            role,
        }
    }
}

/// What a supervisor fills in to create a task.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskSpec {
    pub id: String,
    pub code: String,
    pub subject: Subject,
    pub team: String,
    pub inspectors: Vec<String>,
    pub window: Window,
    pub verify_code: String,
    pub departments: Vec<String>,
    pub lead_department: String,
    /// The checklist, in order.
    pub items: Vec<Item>,
}

impl TaskSpec {
    /// Builds the spec of a joint task from an industry handbook: its
    /// departments and the catalog items it names.
    #[allow(clippy::too_many_arguments)]
    pub fn from_handbook(
        id: String,
        code: String,
        subject: Subject,
        handbook: &Handbook,
        catalog: &[Item],
        team: String,
        inspectors: Vec<String>,
        window: Window,
        verify_code: String,
    ) -> Result<Self, TaskError> {
        let items = handbook
            .items
            .iter()
            .map(|id| {
                catalog
                    .iter()
                    .find(|i| &i.id == id)
                    .cloned()
                    .ok_or_else(|| TaskError::UnknownItem(id.clone()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            id,
            code,
            subject,
            team,
            inspectors,
            window,
            verify_code,
            departments: handbook.departments.clone(),
            lead_department: handbook.lead_department.clone(),
            items,
        })
    }
}

/// The input of [`TaskDoc::add_evidence`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct NewEvidence {
    pub sha256: String,
    pub kind: EvidenceKind,
    pub taken_at: Millis,
    pub location: Option<GeoPoint>,
    pub caption: Option<String>,
    pub mime: String,
    pub bytes: u64,
    pub thumb_sha256: Option<String>,
    pub display_sha256: Option<String>,
    pub item: Option<String>,
}

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

/// A task document and the verbs that change it.
#[derive(Debug, Clone)]
pub struct TaskDoc {
    doc: AutoCommit,
}

/// An evidence key as a blob id: keys come from other devices too, and are
/// never sliced or used as text before they are known to be 64 hex digits.
fn evidence_key(key: &str) -> Result<crate::blob::BlobId, TaskError> {
    crate::blob::BlobId::parse(key).map_err(|_| TaskError::BadHash(key.chars().take(80).collect()))
}

/// Object id of the map or list at `key` under `parent`.
fn child(doc: &AutoCommit, parent: &ObjId, key: &str) -> Result<ObjId, TaskError> {
    match doc.get(parent, key)? {
        Some((automerge::Value::Object(_), id)) => Ok(id),
        _ => Err(TaskError::Malformed(format!("missing object “{key}”"))),
    }
}

impl TaskDoc {
    /// Creates a task. Only a supervisor or an administrator may.
    pub fn create(spec: TaskSpec, author: &Author, at: Millis) -> Result<Self, TaskError> {
        if !matches!(author.role, Role::Supervisor | Role::Admin) {
            return Err(TaskError::CreateNotAllowed);
        }
        let mut inspectors = spec.inspectors.clone();
        inspectors.sort();
        inspectors.dedup();
        if inspectors.len() < MIN_CHECKED_IN {
            return Err(TaskError::TooFewInspectors {
                have: inspectors.len(),
                need: MIN_CHECKED_IN,
            });
        }
        if spec.items.is_empty() {
            return Err(TaskError::EmptyChecklist);
        }
        if spec.window.due < spec.window.start {
            return Err(TaskError::BadWindow);
        }
        let checklist = spec
            .items
            .iter()
            .enumerate()
            .map(|(order, item)| {
                (
                    item.id.clone(),
                    ChecklistItem {
                        department: item.department.clone(),
                        title: item.title.clone(),
                        legal_basis: item.legal_basis.clone(),
                        requires_evidence: item.requires_evidence,
                        order: order as u64,
                        answer: Answer::default(),
                        evidence: Vec::new(),
                    },
                )
            })
            .collect();
        let kind = if spec.departments.len() > 1 {
            TaskKind::Joint
        } else {
            TaskKind::Single
        };
        let s = spec.subject;
        let task = Task {
            schema: SCHEMA,
            id: spec.id,
            code: spec.code,
            kind,
            subject: TaskSubject {
                uscc: s.uscc.to_string(),
                name: s.name,
                address: s.address,
                industry: s.industry,
                risk_class: s.risk_class,
                location: Some(s.location),
                legal_rep: s.legal_rep,
            },
            departments: spec.departments,
            lead_department: spec.lead_department,
            team: spec.team,
            inspectors: spec.inspectors,
            window: spec.window,
            verify_code: spec.verify_code,
            actors: BTreeMap::from([(
                author.actor.to_hex_string(),
                ActorInfo {
                    person: author.person.clone(),
                    role: author.role,
                },
            )]),
            checklist,
            evidence: BTreeMap::new(),
            trace: Vec::new(),
            findings: Vec::new(),
            lead_transfers: Vec::new(),
            signatures: Vec::new(),
            events: vec![Event {
                kind: EventKind::Assigned,
                at,
                by: author.person.clone(),
                role: author.role,
                comment: None,
                location: None,
            }],
        };
        let mut doc = AutoCommit::new().with_actor(author.actor.clone());
        reconcile(&mut doc, &task)?;
        let message = format!("创建任务 {}：{}", task.code, task.subject.name);
        doc.commit_with(
            CommitOptions::default()
                .with_message(message)
                .with_time(at.div_euclid(1000)),
        );
        Ok(Self { doc })
    }

    /// Loads a document saved with [`TaskDoc::save`] (optionally followed by
    /// incremental chunks) and checks that it is a task.
    pub fn load(bytes: &[u8]) -> Result<Self, TaskError> {
        let doc = AutoCommit::load(bytes)?;
        let this = Self { doc };
        this.task()?;
        Ok(this)
    }

    /// Applies an incremental chunk or a `save_after` delta.
    pub fn load_incremental(&mut self, bytes: &[u8]) -> Result<usize, TaskError> {
        Ok(self.doc.load_incremental(bytes)?)
    }

    pub fn save(&mut self) -> Vec<u8> {
        self.doc.save()
    }

    /// The changes made since the last `save` or `save_incremental` of this
    /// value. A freshly loaded document has no such cursor and returns
    /// everything: use [`TaskDoc::save_after`] with the heads you started from.
    pub fn save_incremental(&mut self) -> Vec<u8> {
        self.doc.save_incremental()
    }

    /// Everything that is not a dependency of `heads`.
    pub fn save_after(&mut self, heads: &[ChangeHash]) -> Vec<u8> {
        self.doc.save_after(heads)
    }

    pub fn heads(&mut self) -> Vec<ChangeHash> {
        self.doc.get_heads()
    }

    /// Merges another replica of the same task into this one.
    pub fn merge(&mut self, other: &mut TaskDoc) -> Result<(), TaskError> {
        self.doc.merge(&mut other.doc)?;
        Ok(())
    }

    /// An independent replica (another tablet's copy).
    pub fn fork(&mut self) -> TaskDoc {
        TaskDoc {
            doc: self.doc.fork(),
        }
    }

    /// Wraps a document read elsewhere (the policy's submit check).
    pub(crate) fn from_automerge(doc: AutoCommit) -> Self {
        Self { doc }
    }

    /// Wraps a document built elsewhere, checking that it is a task.
    pub fn from_document(doc: AutoCommit) -> Result<Self, TaskError> {
        let this = Self { doc };
        this.task()?;
        Ok(this)
    }

    /// The underlying Automerge document, for sync and storage layers.
    pub fn automerge(&mut self) -> &mut AutoCommit {
        &mut self.doc
    }

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

    /// Runs `edit` as one change by `author` at `at` with `message`.
    /// On error nothing is committed.
    fn change<T>(
        &mut self,
        author: &Author,
        at: Millis,
        message: String,
        edit: impl FnOnce(&mut AutoCommit) -> Result<T, TaskError>,
    ) -> Result<T, TaskError> {
        self.doc.set_actor(author.actor.clone());
        let before = self.doc.get_heads();
        let result = self
            .register_actor(author)
            .and_then(|()| edit(&mut self.doc));
        let value = match result {
            Ok(value) => value,
            Err(e) => {
                self.doc.rollback();
                return Err(e);
            }
        };
        let committed = self.doc.commit_with(
            CommitOptions::default()
                .with_message(message)
                .with_time(at.div_euclid(1000)),
        );
        // The same write policy the server applies, before anything is kept.
        if let Some(change) = committed.and_then(|hash| self.doc.get_change_by_hash(&hash)) {
            let writer = crate::policy::Writer {
                actor: author.actor.clone(),
                person: author.person.clone(),
                role: author.role,
                certified: None,
            };
            if let Err(refusal) = crate::policy::check(&mut self.doc, &[change], &writer) {
                self.doc = self.doc.fork_at(&before)?;
                self.doc.set_actor(author.actor.clone());
                return Err(TaskError::Refused(Box::new(refusal)));
            }
        }
        Ok(value)
    }

    fn register_actor(&mut self, author: &Author) -> Result<(), TaskError> {
        let actors = child(&self.doc, &ROOT, "actors")?;
        let key = author.actor.to_hex_string();
        let known: MaybeMissing<ActorInfo> = hydrate_prop(&self.doc, &actors, key.as_str())?;
        let info = ActorInfo {
            person: author.person.clone(),
            role: author.role,
        };
        match known {
            MaybeMissing::Present(k) if k == info => Ok(()),
            MaybeMissing::Present(k) => Err(TaskError::ActsForAnother {
                device: k.person,
                author: author.person.clone(),
            }),
            MaybeMissing::Missing => {
                Ok(reconcile_prop(&mut self.doc, &actors, key.as_str(), &info)?)
            }
        }
    }

    /// Refuses data edits by anyone but an inspector of the task, and any
    /// data edit once the task is submitted, approved, published or cancelled.
    /// Reads only the inspectors and events, not the whole document.
    fn check_inspector_may_edit(&self, author: &Author) -> Result<(), TaskError> {
        let inspectors: Vec<String> = hydrate_prop(&self.doc, ROOT, "inspectors")?;
        if author.role != Role::Inspector || !inspectors.contains(&author.person) {
            return Err(TaskError::NotAnInspector(author.person.clone()));
        }
        let events: Vec<Event> = hydrate_prop(&self.doc, ROOT, "events")?;
        let status = status::fold(&events, &inspectors).status;
        if let Some(
            s @ (Status::Submitted | Status::Approved | Status::Published | Status::Cancelled),
        ) = status
        {
            return Err(TaskError::Frozen(s));
        }
        Ok(())
    }

    /// Whether the map at the root key `map` has `key`.
    fn contains(&self, map: &str, key: &str) -> Result<bool, TaskError> {
        let obj = child(&self.doc, &ROOT, map)?;
        Ok(self.doc.get(&obj, key)?.is_some())
    }

    /// Length of the list at the root key `list`.
    fn len_of(&self, list: &str) -> Result<usize, TaskError> {
        Ok(self.doc.length(&child(&self.doc, &ROOT, list)?))
    }

    /// Records the answer to a checklist item. `None` fields are left as they are.
    pub fn record_answer(
        &mut self,
        author: &Author,
        at: Millis,
        item_id: &str,
        result: Option<Outcome>,
        value: Option<&str>,
        note: Option<&str>,
    ) -> Result<(), TaskError> {
        self.check_inspector_may_edit(author)?;
        if !self.contains("checklist", item_id)? {
            return Err(TaskError::UnknownItem(item_id.to_owned()));
        }
        let summary = match result {
            Some(Outcome::Pass) => "合格",
            Some(Outcome::Fail) => "不合格",
            Some(Outcome::NotApplicable) => "不涉及",
            None => "备注",
        };
        let message = format!("检查项 {item_id}：{summary}");
        self.change(author, at, message, |doc| {
            let checklist = child(doc, &ROOT, "checklist")?;
            let item = child(doc, &checklist, item_id)?;
            let answer = child(doc, &item, "answer")?;
            if let Some(r) = result {
                reconcile_prop(doc, &answer, "result", Some(r))?;
            }
            if let Some(v) = value {
                reconcile_prop(doc, &answer, "value", Some(v))?;
            }
            if let Some(n) = note {
                reconcile_prop(doc, &answer, "note", Some(n))?;
            }
            Ok(())
        })
    }

    /// Records a check-in on site, with the position if the device has one.
    pub fn check_in(
        &mut self,
        author: &Author,
        at: Millis,
        location: Option<GeoPoint>,
    ) -> Result<(), TaskError> {
        let event = Event {
            kind: EventKind::CheckedIn,
            at,
            by: author.person.clone(),
            role: author.role,
            comment: None,
            location,
        };
        self.append_event(author, event, format!("{} 到场签到", author.person))
    }

    /// Appends a status event after checking that it applies now. A
    /// transition that does not apply is refused and nothing changes.
    fn append_event(
        &mut self,
        author: &Author,
        event: Event,
        message: String,
    ) -> Result<(), TaskError> {
        let inspectors: Vec<String> = hydrate_prop(&self.doc, ROOT, "inspectors")?;
        let events: Vec<Event> = hydrate_prop(&self.doc, ROOT, "events")?;
        status::transition(
            status::fold(&events, &inspectors).status,
            &event,
            &inspectors,
        )?;
        let index = events.len();
        self.change(author, event.at, message, |doc| {
            let events = child(doc, &ROOT, "events")?;
            reconcile_insert(doc, events.clone(), index, &event)?;
            Ok(())
        })
    }

    /// What stands in the way of submitting, item by item. Empty means the
    /// task may be submitted.
    pub fn submit_problems(&self) -> Result<Vec<SubmitProblem>, TaskError> {
        let task = self.task()?;
        let mut problems = Vec::new();
        let report = task.status_report();
        if report.checked_in.len() < MIN_CHECKED_IN {
            problems.push(SubmitProblem::TooFewCheckedIn {
                have: report.checked_in.len() as u32,
                need: MIN_CHECKED_IN as u32,
            });
        }
        for (id, item) in task.items_in_order() {
            match item.answer.result {
                None => problems.push(SubmitProblem::Unanswered { item: id.clone() }),
                Some(Outcome::NotApplicable) => {}
                Some(_) if item.requires_evidence => {
                    let has = item
                        .evidence
                        .iter()
                        .any(|sha| task.evidence.get(sha).is_some_and(|e| !e.is_withdrawn()));
                    if !has {
                        problems.push(SubmitProblem::MissingEvidence { item: id.clone() });
                    }
                }
                Some(_) => {}
            }
        }
        // The record is signed by every inspector who checked in, and signed
        // or refused (拒签) by the business.
        for person in &report.checked_in {
            let signed = task.signatures.iter().any(|s| {
                s.role == SignerRole::Inspector && &s.signer == person && s.image.is_some()
            });
            if !signed {
                problems.push(SubmitProblem::InspectorUnsigned {
                    inspector: person.clone(),
                });
            }
        }
        if !task
            .signatures
            .iter()
            .any(|s| s.role == SignerRole::Enterprise)
        {
            problems.push(SubmitProblem::EnterpriseUnsigned);
        }
        let conflicts = crate::conflict::conflicts(&self.doc, &task.actors)?;
        for c in conflicts {
            problems.push(SubmitProblem::OpenConflict {
                path: c.path.join("/"),
            });
        }
        Ok(problems)
    }

    /// Submits the task for review, if every check passes.
    pub fn submit(&mut self, author: &Author, at: Millis) -> Result<(), TaskError> {
        let problems = self.submit_problems()?;
        if !problems.is_empty() {
            return Err(TaskError::SubmitBlocked(problems));
        }
        let event = Event {
            kind: EventKind::Submitted,
            at,
            by: author.person.clone(),
            role: author.role,
            comment: None,
            location: None,
        };
        self.append_event(author, event, format!("{} 提交审核", author.person))
    }

    /// Records a supervisor's or admin's decision: returned, approved,
    /// published, cancelled or reopened.
    pub fn decide(
        &mut self,
        author: &Author,
        at: Millis,
        kind: EventKind,
        comment: Option<&str>,
    ) -> Result<(), TaskError> {
        if matches!(
            kind,
            EventKind::Assigned | EventKind::CheckedIn | EventKind::Submitted
        ) {
            return Err(TaskError::NotADecision(kind));
        }
        let verb = match kind {
            EventKind::Returned => "退回",
            EventKind::Approved => "审核通过",
            EventKind::Published => "公示",
            EventKind::Cancelled => "撤销",
            _ => "重新打开",
        };
        let message = match comment {
            Some(c) => format!("{} {verb}：{c}", author.person),
            None => format!("{} {verb}", author.person),
        };
        let event = Event {
            kind,
            at,
            by: author.person.clone(),
            role: author.role,
            comment: comment.map(str::to_owned),
            location: None,
        };
        self.append_event(author, event, message)
    }

    /// Attaches evidence (its bytes are stored apart, by hash).
    pub fn add_evidence(
        &mut self,
        author: &Author,
        at: Millis,
        new: NewEvidence,
    ) -> Result<(), TaskError> {
        self.check_inspector_may_edit(author)?;
        for sha in [
            Some(&new.sha256),
            new.thumb_sha256.as_ref(),
            new.display_sha256.as_ref(),
        ]
        .into_iter()
        .flatten()
        {
            if crate::blob::BlobId::parse(sha).is_err() {
                return Err(TaskError::BadHash(sha.clone()));
            }
        }
        if let Some(item) = &new.item
            && !self.contains("checklist", item)?
        {
            return Err(TaskError::UnknownItem(item.clone()));
        }
        if self.contains("evidence", &new.sha256)? {
            return Err(TaskError::DuplicateEvidence(new.sha256));
        }
        let evidence = Evidence {
            sha256: new.sha256.clone(),
            kind: new.kind,
            taken_at: new.taken_at,
            by: author.person.clone(),
            location: new.location,
            caption: new.caption,
            mime: new.mime,
            bytes: new.bytes,
            thumb_sha256: new.thumb_sha256,
            display_sha256: new.display_sha256,
            item: new.item.clone(),
            withdrawn_at: None,
            withdrawn_by: None,
            withdrawn_reason: None,
        };
        let short = &new.sha256[..12];
        let message = match &new.item {
            Some(item) => format!("添加证据 {short}（检查项 {item}）"),
            None => format!("添加证据 {short}"),
        };
        self.change(author, at, message, |doc| {
            let map = child(doc, &ROOT, "evidence")?;
            reconcile_prop(doc, &map, evidence.sha256.as_str(), &evidence)?;
            if let Some(item) = &new.item {
                let checklist = child(doc, &ROOT, "checklist")?;
                let item = child(doc, &checklist, item)?;
                let list = child(doc, &item, "evidence")?;
                let len = doc.length(&list);
                doc.insert(&list, len, evidence.sha256.as_str())?;
            }
            Ok(())
        })
    }

    /// Sets or clears the caption of a piece of evidence.
    pub fn set_caption(
        &mut self,
        author: &Author,
        at: Millis,
        sha256: &str,
        caption: &str,
    ) -> Result<(), TaskError> {
        self.check_inspector_may_edit(author)?;
        let id = evidence_key(sha256)?;
        if !self.contains("evidence", sha256)? {
            return Err(TaskError::UnknownEvidence(sha256.to_owned()));
        }
        let message = format!("修改证据说明 {}", &id.to_hex()[..12]);
        self.change(author, at, message, |doc| {
            let map = child(doc, &ROOT, "evidence")?;
            let ev = child(doc, &map, sha256)?;
            reconcile_prop(doc, &ev, "caption", Some(caption))?;
            Ok(())
        })
    }

    /// Withdraws evidence: it stays in the record but no longer counts.
    pub fn withdraw_evidence(
        &mut self,
        author: &Author,
        at: Millis,
        sha256: &str,
        reason: &str,
    ) -> Result<(), TaskError> {
        self.check_inspector_may_edit(author)?;
        let id = evidence_key(sha256)?;
        if !self.contains("evidence", sha256)? {
            return Err(TaskError::UnknownEvidence(sha256.to_owned()));
        }
        if reason.trim().is_empty() {
            return Err(TaskError::ReasonRequired);
        }
        let message = format!("撤回证据 {}：{reason}", &id.to_hex()[..12]);
        self.change(author, at, message, |doc| {
            let map = child(doc, &ROOT, "evidence")?;
            let ev = child(doc, &map, sha256)?;
            reconcile_prop(doc, &ev, "withdrawn_at", Some(at))?;
            reconcile_prop(doc, &ev, "withdrawn_by", Some(author.person.as_str()))?;
            reconcile_prop(doc, &ev, "withdrawn_reason", Some(reason))?;
            Ok(())
        })
    }

    /// Appends GPS points to the track.
    pub fn add_trace(
        &mut self,
        author: &Author,
        at: Millis,
        points: &[(Millis, GeoPoint, f64)],
    ) -> Result<(), TaskError> {
        self.check_inspector_may_edit(author)?;
        if points.is_empty() {
            return Ok(());
        }
        let message = format!("记录轨迹 {} 个点", points.len());
        self.change(author, at, message, |doc| {
            let list = child(doc, &ROOT, "trace")?;
            for (t, p, accuracy) in points {
                let len = doc.length(&list);
                let point = TracePoint {
                    t: *t,
                    lat: p.lat,
                    lon: p.lon,
                    accuracy: *accuracy,
                    by: author.person.clone(),
                };
                reconcile_insert(doc, list.clone(), len, &point)?;
            }
            Ok(())
        })
    }

    /// Records a finding, with a rectification order if one was issued.
    pub fn add_finding(
        &mut self,
        author: &Author,
        at: Millis,
        mut finding: Finding,
    ) -> Result<(), TaskError> {
        self.check_inspector_may_edit(author)?;
        if finding.description.trim().is_empty() {
            return Err(TaskError::FindingWithoutDescription);
        }
        if let Some(item) = &finding.item_id
            && !self.contains("checklist", item)?
        {
            return Err(TaskError::UnknownItem(item.clone()));
        }
        if finding.rectification_order.is_some() != finding.rectification_deadline.is_some() {
            return Err(TaskError::RectificationIncomplete);
        }
        finding.by = author.person.clone();
        finding.at = at;
        let message = match &finding.rectification_order {
            Some(_) => format!("记录问题并责令整改：{}", finding.description),
            None => format!("记录问题：{}", finding.description),
        };
        let index = self.len_of("findings")?;
        self.change(author, at, message, |doc| {
            let list = child(doc, &ROOT, "findings")?;
            reconcile_insert(doc, list.clone(), index, &finding)?;
            Ok(())
        })
    }

    /// Hands a case lead to another department (移送).
    pub fn add_lead_transfer(
        &mut self,
        author: &Author,
        at: Millis,
        mut transfer: LeadTransfer,
    ) -> Result<(), TaskError> {
        self.check_inspector_may_edit(author)?;
        if transfer.summary.trim().is_empty() || transfer.to_department.trim().is_empty() {
            return Err(TaskError::TransferIncomplete);
        }
        transfer.by = author.person.clone();
        transfer.at = at;
        let message = if transfer.criminal {
            format!("移送 {}（行刑衔接）", transfer.to_department)
        } else {
            format!("移送 {}", transfer.to_department)
        };
        let index = self.len_of("lead_transfers")?;
        self.change(author, at, message, |doc| {
            let list = child(doc, &ROOT, "lead_transfers")?;
            reconcile_insert(doc, list.clone(), index, &transfer)?;
            Ok(())
        })
    }

    /// Records a signature: the image is kept as evidence of kind
    /// `signature` (its bytes stored apart, by hash) and listed under
    /// `signatures` with the signer.
    pub fn sign(
        &mut self,
        author: &Author,
        at: Millis,
        role: SignerRole,
        signer: &str,
        image: NewEvidence,
    ) -> Result<(), TaskError> {
        self.check_inspector_may_edit(author)?;
        let signer = signer.trim();
        if signer.is_empty() {
            return Err(TaskError::SignerRequired);
        }
        if crate::blob::BlobId::parse(&image.sha256).is_err() {
            return Err(TaskError::BadHash(image.sha256));
        }
        if self.contains("evidence", &image.sha256)? {
            return Err(TaskError::DuplicateEvidence(image.sha256));
        }
        let evidence = Evidence {
            sha256: image.sha256.clone(),
            kind: EvidenceKind::Signature,
            taken_at: image.taken_at,
            by: author.person.clone(),
            location: image.location,
            caption: Some(signer.to_owned()),
            mime: image.mime,
            bytes: image.bytes,
            thumb_sha256: None,
            display_sha256: None,
            item: None,
            withdrawn_at: None,
            withdrawn_by: None,
            withdrawn_reason: None,
        };
        let signature = Signature {
            role,
            signer: signer.to_owned(),
            image: Some(image.sha256),
            refused_reason: None,
            by: author.person.clone(),
            at,
        };
        let index = self.len_of("signatures")?;
        self.change(author, at, format!("{signer} 签名"), |doc| {
            let map = child(doc, &ROOT, "evidence")?;
            reconcile_prop(doc, &map, evidence.sha256.as_str(), &evidence)?;
            let list = child(doc, &ROOT, "signatures")?;
            reconcile_insert(doc, list.clone(), index, &signature)?;
            Ok(())
        })
    }

    /// Records that `signer` refused to sign (拒签), and why.
    pub fn refuse_to_sign(
        &mut self,
        author: &Author,
        at: Millis,
        role: SignerRole,
        signer: &str,
        reason: &str,
    ) -> Result<(), TaskError> {
        self.check_inspector_may_edit(author)?;
        let (signer, reason) = (signer.trim(), reason.trim());
        if signer.is_empty() {
            return Err(TaskError::SignerRequired);
        }
        if reason.is_empty() {
            return Err(TaskError::ReasonRequired);
        }
        let signature = Signature {
            role,
            signer: signer.to_owned(),
            image: None,
            refused_reason: Some(reason.to_owned()),
            by: author.person.clone(),
            at,
        };
        let index = self.len_of("signatures")?;
        self.change(
            author,
            at,
            format!("{signer} 拒绝签名：{reason}"),
            |doc| {
                let list = child(doc, &ROOT, "signatures")?;
                reconcile_insert(doc, list.clone(), index, &signature)?;
                Ok(())
            },
        )
    }

    /// Fields where concurrent edits left several values.
    pub fn conflicts(&self) -> Result<Vec<crate::Conflict>, TaskError> {
        let actors: BTreeMap<String, ActorInfo> = hydrate_prop(&self.doc, ROOT, "actors")?;
        crate::conflict::conflicts(&self.doc, &actors)
    }

    /// [`TaskDoc::conflicts`] with the time each value was written.
    pub fn conflicts_with_times(&mut self) -> Result<Vec<crate::Conflict>, TaskError> {
        let mut conflicts = self.conflicts()?;
        crate::conflict::add_times(&mut self.doc, &mut conflicts);
        Ok(conflicts)
    }

    /// Resolves one conflict by writing the chosen value over all of them.
    pub fn resolve_conflict(
        &mut self,
        author: &Author,
        at: Millis,
        path: &[String],
        choice: &crate::Resolution,
    ) -> Result<(), TaskError> {
        self.check_inspector_may_edit(author)?;
        let message = format!("解决冲突 {}", path.join("/"));
        self.change(author, at, message, |doc| {
            crate::conflict::resolve(doc, path, choice)
        })
    }

    /// The audit trail: every change, who made it, when and what.
    pub fn history(&mut self) -> Result<Vec<crate::HistoryEntry>, TaskError> {
        let actors: BTreeMap<String, ActorInfo> = hydrate_prop(&self.doc, ROOT, "actors")?;
        Ok(crate::history::entries(&mut self.doc, &actors))
    }
}

/// Why a task cannot be submitted yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SubmitProblem {
    TooFewCheckedIn {
        have: u32,
        need: u32,
    },
    Unanswered {
        item: String,
    },
    MissingEvidence {
        item: String,
    },
    /// An inspector who checked in has not signed the record.
    InspectorUnsigned {
        inspector: String,
    },
    /// The business's representative has neither signed nor refused to sign.
    EnterpriseUnsigned,
    OpenConflict {
        path: String,
    },
}

impl std::fmt::Display for SubmitProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::TooFewCheckedIn { have, need } => {
                write!(f, "签到执法人员不足：已签到 {have} 人，至少需要 {need} 人")
            }
            Self::Unanswered { item } => write!(f, "检查项 {item} 尚未填写结果"),
            Self::MissingEvidence { item } => write!(f, "检查项 {item} 需要上传证据"),
            Self::InspectorUnsigned { inspector } => {
                write!(f, "执法人员 {inspector} 尚未签名")
            }
            Self::EnterpriseUnsigned => write!(f, "企业负责人尚未签名，也未记录拒签"),
            Self::OpenConflict { path } => write!(f, "{path} 存在未解决的冲突"),
        }
    }
}
