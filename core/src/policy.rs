//! The write policy: who may change which part of a task, checked on what
//! each change *does*.
//!
//! [`check`] takes a document with a batch of new changes already applied
//! (the server's copy merged with a push, or the tablet's copy after a local
//! edit) and the batch itself, and walks every operation of the batch. What
//! an operation may do depends on where it lands — read off the object it
//! targets, never off the change's own view of the task — on the writer's
//! role, and on the task's status and members as they were *before* the
//! batch (the elements the batch inserted are left out when those are read).
//! So a change that adds its own inspector to `inspectors`, rewrites an
//! answer after approval by choosing old dependencies, or slips in a
//! `submitted` event without the record to back it is refused, whatever it
//! claims.
//!
//! The rules, in short (`docs/schema.md` has them in full):
//! - nobody but the task's creator writes `subject`, `window`, `departments`,
//!   `inspectors`, `verify_code`, the checklist items' definitions, or any
//!   other root field;
//! - a device adds its own `actors` entry, as the person and role it is;
//! - inspectors on the task put `result`, `value`, `note` into an item's
//!   answer, add evidence (their own, under a new hash), caption their own
//!   evidence, withdraw evidence (once, in their name), and add records
//!   (trace points, findings, lead transfers, signatures, check-ins and
//!   submissions) in their own name;
//! - supervisors and administrators add events (review decisions) only;
//! - record lists only grow: nothing existing is changed or removed;
//! - an inspector's change is refused once the task is approved, published
//!   or cancelled on this copy; while it is submitted, a change that
//!   causally follows the submission is refused and one made concurrently
//!   with it is kept and flagged for the reviewer;
//! - every new event must apply where it lands in the event list, a
//!   submission only when the record passes the submit checks, and no event
//!   that applied before may stop applying.
//!
//! Cost: linear in the operations of the batch, plus one walk of the event
//! list and, while a task is submitted, of the changes made since the
//! submission.

use std::collections::{HashMap, HashSet};
use std::fmt;

use automerge::{ActorId, AutoCommit, Change, ChangeHash, ObjId, ObjType, Prop, ROOT, ReadDoc};
use automerge::{ScalarValue, legacy};
use autosurgeon::Hydrate;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::blob::BlobId;
use crate::codes::ErrorCode;
use crate::status::{self, Event, EventKind, Rejection, Role, Status};
use crate::task::{
    ActorInfo, Evidence, Finding, LeadTransfer, PRINT_FIELDS, PrintedRecord, RECORD_NOTE_FIELDS,
    RecordNotes, RecordNotesError, Signature, SignerRole, SubmitProblem, TaskDoc, TracePoint,
};
use crate::walk::Walked;

/// The longest text one value may hold, in UTF-8 bytes (a note, a caption,
/// a finding's description). Longer ones are refused on arrival.
pub const MAX_TEXT_BYTES: usize = 64 * 1024;

/// Who wrote a batch: the device's actor and the person and role the server
/// (or the tablet's enrollment) binds to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Writer {
    pub actor: ActorId,
    pub person: String,
    pub role: Role,
    /// Departments the inspector is certified for (一专多能); `None` when
    /// not known here (the tablet), which flags nothing.
    pub certified: Option<Vec<String>>,
}

/// Which rule a refused change broke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    /// A change of the batch was made by another actor than the writer's.
    ActorMismatch,
    /// An inspector who is not on the task.
    NotOnTask,
    /// A part of the task the writer may not write.
    ForbiddenField,
    /// An existing record or list entry altered or removed.
    AppendOnly,
    /// A record naming another person as its author, or another person's entry changed.
    NotYours,
    /// A value of the wrong type or shape for its place.
    BadValue,
    /// A text longer than [`MAX_TEXT_BYTES`].
    TooLong(usize),
    /// The task is frozen for inspectors (submitted before this change, or approved,
    /// published, cancelled).
    Frozen(Status),
    /// The role may not record this kind of event.
    EventNotAllowed(EventKind),
    /// An event that does not apply where it lands.
    Transition(Rejection),
    /// A submission whose record fails the submit checks.
    SubmitProblems(Vec<SubmitProblem>),
    /// The 笔录 fields fail [`RecordNotes::validate`] (the tablet's own check).
    RecordNotes(Box<RecordNotesError>),
}

impl Rule {
    /// The stable code the server answers and the tablet shows.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::ActorMismatch => ErrorCode::SyncActorMismatch,
            Self::NotOnTask => ErrorCode::PolicyNotOnTask,
            Self::ForbiddenField => ErrorCode::PolicyForbiddenField,
            Self::AppendOnly => ErrorCode::PolicyAppendOnly,
            Self::NotYours => ErrorCode::PolicyNotYours,
            Self::BadValue => ErrorCode::PolicyBadValue,
            Self::TooLong(_) => ErrorCode::PolicyTooLong,
            Self::Frozen(_) => ErrorCode::PolicyFrozen,
            Self::EventNotAllowed(_) => ErrorCode::PolicyEventNotAllowed,
            Self::Transition(_) => ErrorCode::StatusTransition,
            Self::SubmitProblems(_) => ErrorCode::StatusSubmitProblems,
            Self::RecordNotes(_) => ErrorCode::TaskRecordNotes,
        }
    }
}

/// A refused batch: the rule, the change and the path it concerns, and a
/// sentence for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub rule: Rule,
    /// The first change of the batch that broke the rule.
    pub change: Option<ChangeHash>,
    /// Where in the document, e.g. `checklist/SCJG-CY-001/title`.
    pub path: String,
    pub message: String,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Refusal {}

impl Refusal {
    pub fn code(&self) -> ErrorCode {
        self.rule.code()
    }
}

/// Something a reviewer should know about an accepted change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Flag {
    /// Made while the task was submitted, concurrently with the submission
    /// (offline, before its author saw it).
    ConcurrentWithSubmission {
        #[ts(type = "string")]
        change: String,
    },
    /// An answer to an item of a department its author is not certified for.
    OutsideCertification {
        #[ts(type = "string")]
        change: String,
        item: String,
        department: String,
    },
}

/// What an accepted batch carries for the reviewer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verdict {
    pub flags: Vec<Flag>,
}

/// Where an object sits in the task document.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    Root,
    /// Written once, by the creator (`subject`, `window`, `departments`,
    /// `inspectors`, an item's definition, …).
    Fixed(String),
    Actors,
    ActorEntry,
    Checklist,
    Item(String),
    Answer(String),
    ItemEvidence(String),
    EvidenceMap,
    EvidenceEntry(String),
    /// `{lat, lon}` under a record or an evidence entry.
    Point,
    Records(Records),
    Record(Records),
    /// The evidence list of a lead transfer.
    TransferEvidence,
    /// The 笔录 fields (`record_notes`), written field by field by inspectors.
    RecordNotes,
    Unknown(String),
}

/// The append-only record lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Records {
    Events,
    Trace,
    Findings,
    LeadTransfers,
    Signatures,
    /// Prints of the record (`prints`).
    Prints,
}

impl Records {
    fn of(key: &str) -> Option<Self> {
        Some(match key {
            "events" => Self::Events,
            "trace" => Self::Trace,
            "findings" => Self::Findings,
            "lead_transfers" => Self::LeadTransfers,
            "signatures" => Self::Signatures,
            "prints" => Self::Prints,
            _ => return None,
        })
    }

    /// The keys a new record of this list holds.
    fn fields(self) -> &'static [&'static str] {
        match self {
            Self::Events => &["kind", "at", "by", "role", "comment", "location"],
            Self::Trace => &["t", "lat", "lon", "accuracy", "by"],
            Self::Findings => &[
                "id",
                "item_id",
                "description",
                "severity",
                "rectification_order",
                "rectification_deadline",
                "by",
                "at",
            ],
            Self::LeadTransfers => &[
                "id",
                "to_department",
                "summary",
                "evidence",
                "criminal",
                "by",
                "at",
            ],
            Self::Signatures => &["role", "signer", "image", "refused_reason", "by", "at"],
            Self::Prints => PRINT_FIELDS,
        }
    }
}

/// The keys of a new evidence entry.
const EVIDENCE_FIELDS: &[&str] = &[
    "sha256",
    "kind",
    "taken_at",
    "by",
    "location",
    "caption",
    "mime",
    "bytes",
    "thumb_sha256",
    "display_sha256",
    "item",
    "withdrawn_at",
    "withdrawn_by",
    "withdrawn_reason",
];
const ANSWER_FIELDS: &[&str] = &["result", "value", "note"];
const WITHDRAWAL_FIELDS: &[&str] = &["withdrawn_at", "withdrawn_by", "withdrawn_reason"];

impl Node {
    /// The node of the child at `key` under `self`.
    fn child(&self, key: &str) -> Node {
        match self {
            Node::Root => match key {
                "actors" => Node::Actors,
                "checklist" => Node::Checklist,
                "evidence" => Node::EvidenceMap,
                "record_notes" => Node::RecordNotes,
                _ => match Records::of(key) {
                    Some(r) => Node::Records(r),
                    None => Node::Fixed(key.to_owned()),
                },
            },
            Node::Actors => Node::ActorEntry,
            Node::Checklist => Node::Item(key.to_owned()),
            Node::Item(item) => match key {
                "answer" => Node::Answer(item.clone()),
                "evidence" => Node::ItemEvidence(item.clone()),
                _ => Node::Fixed(format!("checklist/{item}/{key}")),
            },
            Node::EvidenceMap => Node::EvidenceEntry(key.to_owned()),
            Node::EvidenceEntry(_) if key == "location" => Node::Point,
            Node::Records(r) => Node::Record(*r),
            Node::Record(Records::Events) if key == "location" => Node::Point,
            Node::Record(Records::LeadTransfers) if key == "evidence" => Node::TransferEvidence,
            Node::Fixed(path) => Node::Fixed(format!("{path}/{key}")),
            other => Node::Unknown(format!("{}/{key}", other.path())),
        }
    }

    fn path(&self) -> String {
        match self {
            Node::Root => String::new(),
            Node::Fixed(p) | Node::Unknown(p) => p.clone(),
            Node::Actors => "actors".into(),
            Node::ActorEntry => "actors/*".into(),
            Node::Checklist => "checklist".into(),
            Node::Item(i) => format!("checklist/{i}"),
            Node::Answer(i) => format!("checklist/{i}/answer"),
            Node::ItemEvidence(i) => format!("checklist/{i}/evidence"),
            Node::EvidenceMap => "evidence".into(),
            Node::EvidenceEntry(k) => format!("evidence/{k}"),
            Node::Point => "location".into(),
            Node::Records(r) | Node::Record(r) => match r {
                Records::Events => "events",
                Records::Trace => "trace",
                Records::Findings => "findings",
                Records::LeadTransfers => "lead_transfers",
                Records::Signatures => "signatures",
                Records::Prints => "prints",
            }
            .into(),
            Node::TransferEvidence => "lead_transfers/evidence".into(),
            Node::RecordNotes => "record_notes".into(),
        }
    }
}

/// An operation id as the batch names it.
type OpKey = (u64, ActorId);

fn op_key(id: &legacy::OpId) -> OpKey {
    (id.counter(), id.actor().clone())
}

fn refuse(rule: Rule, change: ChangeHash, path: impl Into<String>, why: &str) -> Refusal {
    let path = path.into();
    let message = match &rule {
        Rule::ActorMismatch => {
            "变更不是由本设备作出的 (a change was not made by this device)".to_owned()
        }
        Rule::NotOnTask => {
            "本设备的执法人员不在该任务中 (this device's inspector is not on the task)".to_owned()
        }
        Rule::ForbiddenField => {
            format!(
                "无权修改任务的“{path}” (this part of the task may not be written: {path}) {why}"
            )
        }
        Rule::AppendOnly => format!(
            "已有记录不能修改或删除：{path} (existing records are never changed or removed: {path}) {why}"
        ),
        Rule::NotYours => format!(
            "只能以自己的名义记录、只能修改自己的记录：{path} (records are made in one's own name, and only one's own are changed: {path}) {why}"
        ),
        Rule::BadValue => format!("“{path}” 的值不符合格式 (wrong value at {path}) {why}"),
        Rule::TooLong(n) => format!(
            "“{path}” 的文字过长：{n} 字节，上限 {MAX_TEXT_BYTES} (the text at {path} is {n} bytes, at most {MAX_TEXT_BYTES})"
        ),
        Rule::Frozen(s) => format!(
            "任务在服务器上已{s}，本修改不能接受；请等待退回 (the task is {s} on the server; this edit cannot be accepted unless it is returned)"
        ),
        Rule::EventNotAllowed(kind) => {
            format!("本角色无权记录“{kind:?}”事件 (this role may not record a {kind:?} event)")
        }
        Rule::Transition(r) => {
            format!("状态变更在此处不适用 (this status change does not apply here): {r}")
        }
        Rule::RecordNotes(e) => e.to_string(),
        Rule::SubmitProblems(problems) => format!(
            "服务器上的记录尚不能提交 (the record on the server cannot be submitted yet): {}",
            problems
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("；")
        ),
    };
    Refusal {
        rule,
        change: Some(change),
        path,
        message: message.trim_end().to_owned(),
    }
}

/// The node of an object that existed before the batch, from its path.
fn node_of(doc: &AutoCommit, obj: &ObjId) -> Node {
    if *obj == ROOT {
        return Node::Root;
    }
    let Ok(parents) = doc.parents(obj) else {
        return Node::Unknown(format!("{obj}"));
    };
    let mut props: Vec<Prop> = parents.map(|p| p.prop).collect();
    props.reverse();
    let mut node = Node::Root;
    for prop in props {
        node = match prop {
            Prop::Map(key) => node.child(&key),
            Prop::Seq(_) => node.child("[]"),
        };
    }
    node
}

/// The checks of one batch, with what they learn on the way.
struct Check<'a> {
    doc: &'a mut AutoCommit,
    writer: &'a Writer,
    /// Objects the batch created, by the id of the operation that made them.
    created: HashMap<OpKey, (Node, ObjId)>,
    /// Existing objects already placed.
    placed: HashMap<OpKey, Node>,
    /// New records, evidence entries and actor entries, to read once the walk is done.
    new_records: Vec<(Node, ObjId, ChangeHash)>,
    /// Answers by item, for certification flags.
    answered: Vec<(String, ChangeHash)>,
    /// Op counters of the batch's changes (all by the writer's actor).
    ranges: Vec<(u64, u64)>,
    /// The task's inspectors before the batch.
    inspectors: Vec<String>,
    /// The last change of the batch that wrote a 笔录 field.
    notes_written: Option<ChangeHash>,
}

impl Check<'_> {
    fn is_new(&self, counter: u64, actor: &ActorId) -> bool {
        *actor == self.writer.actor
            && self
                .ranges
                .iter()
                .any(|(start, end)| (*start..=*end).contains(&counter))
    }

    fn ex_id(&self, id: &legacy::OpId) -> Option<ObjId> {
        self.doc
            .import(&format!("{}@{}", id.counter(), id.actor().to_hex_string()))
            .ok()
            .map(|(obj, _)| obj)
    }

    /// The node of an operation's target object, and whether the batch made it.
    fn target(&mut self, obj: &legacy::ObjectId) -> (Node, bool) {
        match obj {
            legacy::ObjectId::Root => (Node::Root, false),
            legacy::ObjectId::Id(id) => {
                let key = op_key(id);
                if let Some((node, _)) = self.created.get(&key) {
                    return (node.clone(), true);
                }
                if let Some(node) = self.placed.get(&key) {
                    return (node.clone(), false);
                }
                let node = match self.ex_id(id) {
                    Some(ex) => node_of(self.doc, &ex),
                    None => Node::Unknown(format!("{}@{}", id.counter(), id.actor())),
                };
                self.placed.insert(key, node.clone());
                (node, false)
            }
        }
    }
}

fn key_name(key: &legacy::Key) -> Option<&str> {
    match key {
        legacy::Key::Map(k) => Some(k.as_str()),
        legacy::Key::Seq(_) => None,
    }
}

/// Whether a scalar is a string of a SHA-256 digest.
fn is_hash(value: &ScalarValue) -> bool {
    matches!(value, ScalarValue::Str(s) if BlobId::parse(s).is_ok())
}

/// Checks the batch `new`, already applied to `doc`, against the policy.
pub fn check(doc: &mut AutoCommit, new: &[Change], writer: &Writer) -> Result<Verdict, Refusal> {
    let Some(first) = new.first() else {
        return Ok(Verdict::default());
    };
    for change in new {
        if *change.actor_id() != writer.actor {
            return Err(refuse(Rule::ActorMismatch, change.hash(), "", ""));
        }
    }
    let mut new: Vec<&Change> = new.iter().collect();
    new.sort_by_key(|c| c.seq());
    let ranges: Vec<(u64, u64)> = new
        .iter()
        .map(|c| (c.start_op().get(), c.max_op()))
        .collect();

    // The task before the batch: members and events, the batch's own elements left out.
    let is_new = |id: &ObjId| match id {
        ObjId::Id(counter, actor, _) => {
            *actor == writer.actor
                && ranges
                    .iter()
                    .any(|(start, end)| (*start..=*end).contains(counter))
        }
        ObjId::Root => false,
    };
    let inspectors: Vec<String> = match doc.get(ROOT, "inspectors") {
        Ok(Some((_, list))) => doc
            .list_range(&list, ..)
            .filter(|item| !is_new(&item.id()))
            .filter_map(|item| item.value.into_value().as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    };
    let events_obj = match doc.get(ROOT, "events") {
        Ok(Some((_, obj))) => obj,
        _ => return Err(refuse(Rule::BadValue, first.hash(), "events", "")),
    };
    // (element id, event, is new) in list order.
    let mut events: Vec<(ObjId, Option<Event>, bool)> = Vec::new();
    for item in doc.list_range(&events_obj, ..) {
        let id = item.id();
        let new = is_new(&id);
        events.push((id, None, new));
    }
    for entry in &mut events {
        entry.1 = Event::hydrate_map(&Walked::new(&*doc), &entry.0).ok();
    }
    let old_events: Vec<Event> = events
        .iter()
        .filter(|(_, _, new)| !new)
        .filter_map(|(_, e, _)| e.clone())
        .collect();
    let before = status::fold(&old_events, &inspectors);

    let mut check = Check {
        doc,
        writer,
        created: HashMap::new(),
        placed: HashMap::new(),
        new_records: Vec::new(),
        answered: Vec::new(),
        ranges,
        inspectors: inspectors.clone(),
        notes_written: None,
    };
    let mut verdict = Verdict::default();

    if writer.role == Role::Inspector {
        if !inspectors.contains(&writer.person) {
            return Err(refuse(Rule::NotOnTask, first.hash(), "inspectors", ""));
        }
        freeze(&mut check, &new, &before, &events, &mut verdict)?;
    }

    for change in &new {
        walk(&mut check, change)?;
    }
    records(&mut check)?;
    record_notes(&mut check)?;
    for (item, change) in std::mem::take(&mut check.answered) {
        certification(&mut check, &item, change, &mut verdict);
    }
    transitions(&mut check, &new, &events, &before, &inspectors, &verdict)?;
    Ok(verdict)
}

/// Submitted means frozen, judged by the copy before the batch.
fn freeze(
    check: &mut Check<'_>,
    new: &[&Change],
    before: &status::StatusReport,
    events: &[(ObjId, Option<Event>, bool)],
    verdict: &mut Verdict,
) -> Result<(), Refusal> {
    let first = new[0].hash();
    match before.status {
        Some(s @ (Status::Approved | Status::Published | Status::Cancelled)) => {
            Err(refuse(Rule::Frozen(s), first, "", ""))
        }
        Some(Status::Submitted) => {
            // The change that recorded the submission in force.
            let old: Vec<&ObjId> = events
                .iter()
                .filter(|(_, _, new)| !new)
                .map(|(id, _, _)| id)
                .collect();
            let submitted = before
                .submitted_at_index
                .and_then(|i| old.get(i as usize).copied())
                .and_then(|id| check.doc.hash_for_opid(id));
            let Some(submitted) = submitted else {
                return Err(refuse(Rule::Frozen(Status::Submitted), first, "", ""));
            };
            let batch: HashSet<ChangeHash> = new.iter().map(|c| c.hash()).collect();
            let mut follows: HashMap<ChangeHash, bool> = HashMap::new();
            for change in new {
                let after = change.deps().iter().any(|dep| {
                    follows.get(dep).copied().unwrap_or_else(|| {
                        !batch.contains(dep) && descends(check.doc, *dep, submitted)
                    })
                });
                if after {
                    return Err(refuse(
                        Rule::Frozen(Status::Submitted),
                        change.hash(),
                        "",
                        "",
                    ));
                }
                follows.insert(change.hash(), false);
                verdict.flags.push(Flag::ConcurrentWithSubmission {
                    change: change.hash().to_string(),
                });
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Whether `change` is `ancestor` or has it among its ancestors. Operation
/// counters grow along every dependency (a change starts after the largest
/// counter of what it depends on), so a change that starts at or before
/// the ancestor's last operation cannot descend from it: the walk only
/// visits changes made after it.
fn descends(doc: &mut AutoCommit, change: ChangeHash, ancestor: ChangeHash) -> bool {
    let Some(limit) = doc.get_change_meta_by_hash(&ancestor).map(|m| m.max_op) else {
        return false;
    };
    let mut stack = vec![change];
    let mut seen = HashSet::new();
    while let Some(hash) = stack.pop() {
        if hash == ancestor {
            return true;
        }
        if !seen.insert(hash) {
            continue;
        }
        if let Some(meta) = doc.get_change_meta_by_hash(&hash)
            && meta.start_op > limit
        {
            stack.extend(meta.deps.iter().copied());
        }
    }
    false
}

/// Checks every operation of one change by where it lands.
fn walk(check: &mut Check<'_>, change: &Change) -> Result<(), Refusal> {
    let hash = change.hash();
    let expanded = change.decode();
    let start = change.start_op().get();
    let role = check.writer.role;
    let inspector = role == Role::Inspector;
    for (n, op) in expanded.operations.iter().enumerate() {
        let op_id: OpKey = (start + n as u64, check.writer.actor.clone());
        let (node, is_new_obj) = check.target(&op.obj);
        let key = key_name(&op.key);
        let at = |k: &str| {
            let base = node.path();
            if base.is_empty() {
                k.to_owned()
            } else {
                format!("{base}/{k}")
            }
        };
        let place = at(key.unwrap_or("[]"));
        use legacy::OpType as A;
        if let A::Put(ScalarValue::Str(text)) = &op.action
            && text.len() > MAX_TEXT_BYTES
        {
            return Err(refuse(Rule::TooLong(text.len()), hash, place, ""));
        }
        match &op.action {
            A::Increment(_) | A::MarkBegin(_) | A::MarkEnd(_) => {
                return Err(refuse(
                    Rule::BadValue,
                    hash,
                    place,
                    "(counters and marks are not used)",
                ));
            }
            A::Make(ObjType::Text | ObjType::Table) => {
                return Err(refuse(
                    Rule::BadValue,
                    hash,
                    place,
                    "(text and table objects are not used)",
                ));
            }
            A::Delete => {
                // Resolving a conflict by picking a value already there
                // removes the others (Automerge writes it as a delete of
                // them): allowed where a value may be written, as long as
                // one is left. Anything else removed is refused.
                let resolvable = inspector
                    && match (&node, key) {
                        (Node::Answer(_), Some(k)) => ANSWER_FIELDS.contains(&k),
                        (Node::EvidenceEntry(_), Some(k)) => {
                            k == "caption" || WITHDRAWAL_FIELDS.contains(&k)
                        }
                        (Node::RecordNotes, Some(k)) => RECORD_NOTE_FIELDS.contains(&k),
                        _ => false,
                    };
                let remains = || match (&op.obj, key) {
                    (legacy::ObjectId::Id(id), Some(k)) => check
                        .ex_id(id)
                        .and_then(|obj| check.doc.get(&obj, k).ok().flatten())
                        .is_some(),
                    _ => false,
                };
                if !(resolvable && !is_new_obj && remains()) {
                    return Err(refuse(Rule::AppendOnly, hash, place, ""));
                }
                continue;
            }
            _ => {}
        }
        // A list element that already exists: altering it is never allowed.
        if key.is_none() && !op.insert {
            return Err(refuse(Rule::AppendOnly, hash, place, ""));
        }
        // Records the object this operation makes; its id is the operation's.
        let made = |check: &mut Check<'_>, node: Node| -> Result<ObjId, Refusal> {
            let (obj, _) = check
                .doc
                .import(&format!("{}@{}", op_id.0, op_id.1.to_hex_string()))
                .map_err(|_| {
                    refuse(
                        Rule::BadValue,
                        hash,
                        place.clone(),
                        "(an object that is not in the document)",
                    )
                })?;
            check.created.insert(op_id.clone(), (node, obj.clone()));
            Ok(obj)
        };
        let forbidden = || Err(refuse(Rule::ForbiddenField, hash, place.clone(), ""));
        let bad = |why: &str| Err(refuse(Rule::BadValue, hash, place.clone(), why));
        match (&node, is_new_obj, &op.action, key) {
            // Answers of an item, by inspectors.
            (Node::Answer(item), false, A::Put(_), Some(k))
                if inspector && ANSWER_FIELDS.contains(&k) =>
            {
                check.answered.push((item.clone(), hash));
            }
            // Evidence hashes listed under an item.
            (Node::ItemEvidence(_), false, A::Put(v), None) if inspector => {
                if !is_hash(v) {
                    return bad("(a SHA-256 hex digest)");
                }
            }
            // A new evidence entry under a hash nobody used yet.
            (Node::EvidenceMap, false, A::Make(ObjType::Map), Some(k)) if inspector => {
                if BlobId::parse(k).is_err() {
                    return bad("(evidence is keyed by its SHA-256 hex digest)");
                }
                if evidence_existed(check, k) {
                    return Err(refuse(
                        Rule::AppendOnly,
                        hash,
                        place,
                        "(this evidence is already in the record)",
                    ));
                }
                let obj = made(check, Node::EvidenceEntry(k.to_owned()))?;
                check
                    .new_records
                    .push((Node::EvidenceEntry(k.to_owned()), obj, hash));
            }
            // Caption or withdrawal of existing evidence.
            (Node::EvidenceEntry(sha), false, A::Put(_), Some(k)) if inspector => {
                let entry = existing_evidence(check, sha);
                let Some(entry) = entry else {
                    return forbidden();
                };
                if k == "caption" {
                    if entry.by != check.writer.person {
                        return Err(refuse(
                            Rule::NotYours,
                            hash,
                            place,
                            "(only who took it captions a piece of evidence)",
                        ));
                    }
                } else if WITHDRAWAL_FIELDS.contains(&k) {
                    if was_withdrawn(check, sha) {
                        return Err(refuse(
                            Rule::AppendOnly,
                            hash,
                            place,
                            "(it is withdrawn already)",
                        ));
                    }
                    check
                        .new_records
                        .push((Node::EvidenceEntry(sha.clone()), ObjId::Root, hash));
                } else {
                    return forbidden();
                }
            }
            // Fields of a new evidence entry.
            (Node::EvidenceEntry(_), true, A::Put(_), Some(k)) if EVIDENCE_FIELDS.contains(&k) => {}
            (Node::EvidenceEntry(_), true, A::Make(ObjType::Map), Some("location")) => {
                made(check, Node::Point)?;
            }
            // The 笔录 fields, one key at a time; the map itself only where
            // a document from before the notes has none.
            (Node::Root, false, A::Make(ObjType::Map), Some("record_notes")) if inspector => {
                if held_before(check, &ObjId::Root, "record_notes") {
                    return Err(refuse(
                        Rule::AppendOnly,
                        hash,
                        place,
                        "(the record's notes exist already: write their fields)",
                    ));
                }
                made(check, Node::RecordNotes)?;
                check.notes_written = Some(hash);
            }
            (Node::RecordNotes, _, A::Put(v), Some(k))
                if inspector && RECORD_NOTE_FIELDS.contains(&k) =>
            {
                let fits = match k {
                    "started_at" | "ended_at" => {
                        matches!(v, ScalarValue::Int(_) | ScalarValue::Null)
                    }
                    _ => matches!(v, ScalarValue::Str(_)),
                };
                if !fits {
                    return bad("(a text, or a time in milliseconds)");
                }
                check.notes_written = Some(hash);
            }
            // The list of prints, where a document from before prints has none.
            (Node::Root, false, A::Make(ObjType::List), Some("prints")) if inspector => {
                if held_before(check, &ObjId::Root, "prints") {
                    return Err(refuse(Rule::AppendOnly, hash, place, ""));
                }
                made(check, Node::Records(Records::Prints))?;
            }
            // The device's own entry in `actors`.
            (Node::Actors, false, A::Make(ObjType::Map), Some(k)) => {
                if k != check.writer.actor.to_hex_string() {
                    return Err(refuse(
                        Rule::NotYours,
                        hash,
                        place,
                        "(a device registers only itself)",
                    ));
                }
                if actor_existed(check, k) {
                    return Err(refuse(
                        Rule::AppendOnly,
                        hash,
                        place,
                        "(the device is registered already)",
                    ));
                }
                let obj = made(check, Node::ActorEntry)?;
                check.new_records.push((Node::ActorEntry, obj, hash));
            }
            (Node::ActorEntry, true, A::Put(_), Some("person" | "role")) => {}
            // A new record appended to a record list.
            (Node::Records(kind), _, A::Make(ObjType::Map), None) => {
                if !inspector && *kind != Records::Events {
                    return forbidden();
                }
                let obj = made(check, Node::Record(*kind))?;
                check.new_records.push((Node::Record(*kind), obj, hash));
            }
            (Node::Record(kind), true, A::Put(_), Some(k)) if kind.fields().contains(&k) => {}
            (Node::Record(Records::Events), true, A::Make(ObjType::Map), Some("location")) => {
                made(check, Node::Point)?;
            }
            (
                Node::Record(Records::LeadTransfers),
                true,
                A::Make(ObjType::List),
                Some("evidence"),
            ) => {
                made(check, Node::TransferEvidence)?;
            }
            (Node::TransferEvidence, true, A::Put(v), None) => {
                if !is_hash(v) {
                    return bad("(a SHA-256 hex digest)");
                }
            }
            (Node::Point, true, A::Put(_), Some("lat" | "lon")) => {}
            (Node::Record(_) | Node::Point | Node::TransferEvidence, false, _, _) => {
                return Err(refuse(Rule::AppendOnly, hash, place, ""));
            }
            (_, true, A::Make(_), _) => return bad("(no such object here)"),
            (_, true, _, _) => return bad("(no such field here)"),
            _ => return forbidden(),
        }
    }
    Ok(())
}

/// The evidence entry under `sha` as it was before the batch.
fn existing_evidence(check: &mut Check<'_>, sha: &str) -> Option<Evidence> {
    let (_, map) = check.doc.get(ROOT, "evidence").ok()??;
    let (_, entry) = check.doc.get(&map, sha).ok()??;
    if let ObjId::Id(counter, actor, _) = &entry
        && check.is_new(*counter, actor)
    {
        return None;
    }
    Evidence::hydrate_map(&Walked::new(&*check.doc), &entry).ok()
}

/// Whether `obj` held a value at `key` before the batch, other than null.
fn held_before(check: &Check<'_>, obj: &ObjId, key: &str) -> bool {
    check
        .doc
        .get_all(obj, key)
        .map(|all| {
            all.iter().any(|(value, id)| {
                let old = match id {
                    ObjId::Id(counter, actor, _) => !check.is_new(*counter, actor),
                    ObjId::Root => false,
                };
                old && !matches!(value, automerge::Value::Scalar(s) if s.is_null())
            })
        })
        .unwrap_or(false)
}

/// The map at the root key `name`.
fn root_map(check: &Check<'_>, name: &str) -> Option<ObjId> {
    check.doc.get(ROOT, name).ok().flatten().map(|(_, id)| id)
}

/// Whether the evidence under `sha` was withdrawn before the batch.
fn was_withdrawn(check: &Check<'_>, sha: &str) -> bool {
    root_map(check, "evidence")
        .and_then(|map| check.doc.get(&map, sha).ok().flatten())
        .is_some_and(|(_, entry)| held_before(check, &entry, "withdrawn_at"))
}

fn evidence_existed(check: &Check<'_>, sha: &str) -> bool {
    root_map(check, "evidence").is_some_and(|map| held_before(check, &map, sha))
}

fn actor_existed(check: &Check<'_>, key: &str) -> bool {
    root_map(check, "actors").is_some_and(|map| held_before(check, &map, key))
}

/// Reads the new records whole and checks that each is its author's own.
fn records(check: &mut Check<'_>) -> Result<(), Refusal> {
    let person = check.writer.person.clone();
    let mine = |by: &str, change: ChangeHash, path: &str| {
        if by == person {
            Ok(())
        } else {
            Err(refuse(
                Rule::NotYours,
                change,
                path,
                &format!("(names {by})"),
            ))
        }
    };
    let records = std::mem::take(&mut check.new_records);
    for (node, obj, change) in &records {
        let path = node.path();
        let bad =
            |e: &dyn fmt::Display| refuse(Rule::BadValue, *change, path.clone(), &format!("({e})"));
        match node {
            Node::ActorEntry => {
                let info =
                    ActorInfo::hydrate_map(&Walked::new(&*check.doc), obj).map_err(|e| bad(&e))?;
                if info.person != person || info.role != check.writer.role {
                    return Err(refuse(
                        Rule::NotYours,
                        *change,
                        path,
                        "(a device registers as who it is)",
                    ));
                }
            }
            Node::EvidenceEntry(sha) if *obj == ObjId::Root => {
                // A withdrawal: in the writer's name, with a reason.
                let (_, map) = check
                    .doc
                    .get(ROOT, "evidence")
                    .ok()
                    .flatten()
                    .ok_or_else(|| bad(&"no evidence map"))?;
                let entry = check
                    .doc
                    .get(&map, sha.as_str())
                    .ok()
                    .flatten()
                    .map(|(_, id)| id);
                let entry =
                    entry.and_then(|id| Evidence::hydrate_map(&Walked::new(&*check.doc), &id).ok());
                let Some(entry) = entry else {
                    return Err(bad(&"unreadable evidence"));
                };
                if entry.withdrawn_by.as_deref() != Some(person.as_str()) {
                    return Err(refuse(
                        Rule::NotYours,
                        *change,
                        path,
                        "(a withdrawal is in one's own name)",
                    ));
                }
                if entry.withdrawn_at.is_none()
                    || entry
                        .withdrawn_reason
                        .as_deref()
                        .is_none_or(|r| r.trim().is_empty())
                {
                    return Err(refuse(
                        Rule::BadValue,
                        *change,
                        path,
                        "(a withdrawal has a time and a reason)",
                    ));
                }
            }
            Node::EvidenceEntry(sha) => {
                let e =
                    Evidence::hydrate_map(&Walked::new(&*check.doc), obj).map_err(|e| bad(&e))?;
                mine(&e.by, *change, &path)?;
                let hashes_ok = e.sha256 == *sha
                    && [&e.thumb_sha256, &e.display_sha256]
                        .into_iter()
                        .flatten()
                        .all(|h| BlobId::parse(h).is_ok());
                if !hashes_ok || e.withdrawn_at.is_some() {
                    return Err(bad(&"hashes or withdrawal"));
                }
            }
            Node::Record(Records::Events) => {
                let e = Event::hydrate_map(&Walked::new(&*check.doc), obj).map_err(|e| bad(&e))?;
                mine(&e.by, *change, &path)?;
                if e.role != check.writer.role {
                    return Err(refuse(
                        Rule::NotYours,
                        *change,
                        path,
                        "(an event carries its author's own role)",
                    ));
                }
                if !status::role_may_record(e.role, e.kind) {
                    return Err(refuse(Rule::EventNotAllowed(e.kind), *change, path, ""));
                }
            }
            Node::Record(Records::Trace) => {
                let p =
                    TracePoint::hydrate_map(&Walked::new(&*check.doc), obj).map_err(|e| bad(&e))?;
                mine(&p.by, *change, &path)?;
            }
            Node::Record(Records::Findings) => {
                let f =
                    Finding::hydrate_map(&Walked::new(&*check.doc), obj).map_err(|e| bad(&e))?;
                mine(&f.by, *change, &path)?;
            }
            Node::Record(Records::LeadTransfers) => {
                let t = LeadTransfer::hydrate_map(&Walked::new(&*check.doc), obj)
                    .map_err(|e| bad(&e))?;
                mine(&t.by, *change, &path)?;
            }
            Node::Record(Records::Prints) => {
                let p = PrintedRecord::hydrate_map(&Walked::new(&*check.doc), obj)
                    .map_err(|e| bad(&e))?;
                mine(&p.by, *change, &path)?;
                if BlobId::parse(&p.sha256).is_err() {
                    return Err(bad(&"a print names its PDF by SHA-256"));
                }
            }
            Node::Record(Records::Signatures) => {
                let s =
                    Signature::hydrate_map(&Walked::new(&*check.doc), obj).map_err(|e| bad(&e))?;
                mine(&s.by, *change, &path)?;
                // Squad members sign on one tablet: an inspector's signature
                // names an inspector of the task; `by` is who held the tablet.
                if s.role == SignerRole::Inspector && !check.inspectors.contains(&s.signer) {
                    return Err(refuse(
                        Rule::NotYours,
                        *change,
                        path,
                        "(an inspector's signature names an inspector of the task)",
                    ));
                }
                if s.image.is_some() == s.refused_reason.is_some() {
                    return Err(bad(&"a signature has an image or a refusal, not both"));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// The 笔录 fields as the batch leaves them pass the tablet's own checks.
fn record_notes(check: &mut Check<'_>) -> Result<(), Refusal> {
    let Some(change) = check.notes_written else {
        return Ok(());
    };
    let notes: autosurgeon::MaybeMissing<Option<RecordNotes>> =
        crate::walk::hydrate_prop(&*check.doc, ROOT, "record_notes")
            .map_err(|e| refuse(Rule::BadValue, change, "record_notes", &format!("({e})")))?;
    match notes {
        autosurgeon::MaybeMissing::Present(Some(notes)) => notes
            .validate(&check.inspectors)
            .map_err(|e| refuse(Rule::RecordNotes(Box::new(e)), change, "record_notes", "")),
        _ => Ok(()),
    }
}

/// Flags an answer to an item of a department its author is not certified for.
fn certification(check: &mut Check<'_>, item: &str, change: ChangeHash, verdict: &mut Verdict) {
    let Some(certified) = &check.writer.certified else {
        return;
    };
    let department = check
        .doc
        .get(ROOT, "checklist")
        .ok()
        .flatten()
        .and_then(|(_, list)| check.doc.get(&list, item).ok().flatten())
        .and_then(|(_, obj)| check.doc.get(&obj, "department").ok().flatten())
        .and_then(|(v, _)| v.as_str().map(str::to_owned));
    if let Some(department) = department
        && !certified.contains(&department)
    {
        let flag = Flag::OutsideCertification {
            change: change.to_string(),
            item: item.to_owned(),
            department,
        };
        if !verdict.flags.contains(&flag) {
            verdict.flags.push(flag);
        }
    }
}

/// Every new event applies where it lands; no event that applied before
/// stops applying; a submission passes the submit checks.
fn transitions(
    check: &mut Check<'_>,
    new: &[&Change],
    events: &[(ObjId, Option<Event>, bool)],
    before: &status::StatusReport,
    inspectors: &[String],
    verdict: &Verdict,
) -> Result<(), Refusal> {
    if !events.iter().any(|(_, _, new)| *new) {
        return Ok(());
    }
    let all: Vec<Event> = events.iter().filter_map(|(_, e, _)| e.clone()).collect();
    if all.len() != events.len() {
        return Err(refuse(
            Rule::BadValue,
            new[0].hash(),
            "events",
            "(an event cannot be read)",
        ));
    }
    let after = status::fold(&all, inspectors);
    let concurrent = |change: &ChangeHash| {
        verdict.flags.iter().any(|f| {
            matches!(f, Flag::ConcurrentWithSubmission { change: c } if *c == change.to_string())
        })
    };
    // Old events that applied, by their position among the old ones.
    let old_applied: HashSet<usize> = {
        let old_count = events.iter().filter(|(_, _, n)| !n).count();
        let rejected: HashSet<u32> = before.anomalies.iter().map(|a| a.index).collect();
        (0..old_count)
            .filter(|i| !rejected.contains(&(*i as u32)))
            .collect()
    };
    let anomalies: HashMap<u32, &Rejection> = after
        .anomalies
        .iter()
        .map(|a| (a.index, &a.rejection))
        .collect();
    let mut old_index = 0usize;
    for (index, (id, event, is_new)) in events.iter().enumerate() {
        let rejection = anomalies.get(&(index as u32));
        if *is_new {
            let change = check.doc.hash_for_opid(id).unwrap_or(new[0].hash());
            let kind = event.as_ref().map(|e| e.kind);
            if let Some(r) = rejection {
                // A check-in made offline while a squad mate submitted is
                // history, not an error.
                let tolerated = kind == Some(EventKind::CheckedIn) && concurrent(&change);
                if !tolerated {
                    return Err(refuse(Rule::Transition((*r).clone()), change, "events", ""));
                }
            } else if kind == Some(EventKind::Submitted) {
                let problems = TaskDoc::from_automerge(check.doc.clone())
                    .submit_problems()
                    .map_err(|e| refuse(Rule::BadValue, change, "", &format!("({e})")))?;
                if !problems.is_empty() {
                    return Err(refuse(Rule::SubmitProblems(problems), change, "events", ""));
                }
            }
        } else {
            if let Some(r) = rejection
                && old_applied.contains(&old_index)
            {
                return Err(refuse(
                    Rule::Transition((*r).clone()),
                    new[0].hash(),
                    "events",
                    "(an earlier event would stop applying)",
                ));
            }
            old_index += 1;
        }
    }
    Ok(())
}
