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

use automerge::AutoCommit;

// Types: `document` (the document's shape) and `inputs` (what the verbs take).
// Machinery: `create`, `replica` (load, save, merge), `view` (typed reads)
// and `edit` (one change per verb, the shared checks).
// Verbs by topic: `answers`, `evidence`, `trace`, `findings`, `signatures`,
// `events`, `submit`, `conflicts`.
mod answers;
mod conflicts;
mod create;
mod document;
mod edit;
mod events;
mod evidence;
mod findings;
mod inputs;
mod notes;
mod replica;
mod signatures;
mod submit;
mod trace;
mod view;

pub use document::{
    ActorInfo, Answer, ChecklistItem, DepartmentNames, Evidence, EvidenceKind, Finding,
    LeadTransfer, MAX_RECORD_NOTE_CHARS, Names, Outcome, PrintedRecord, RecheckOf, RecheckPhoto,
    RecordNotes, Severity, Signature, SignerRole, Task, TaskKind, TaskSubject, TracePoint, Window,
};
pub use inputs::{Author, NewEvidence, TaskSpec};
pub use notes::{
    INSPECTION_RECORD, PRINT_FIELDS, RECORD_NOTE_FIELDS, RecordNoteEdit, RecordNotesError,
    record_note_label,
};
pub use submit::SubmitProblem;
pub use view::TaskSummary;

/// Version of the document layout written by this code.
pub const SCHEMA: u64 = 1;
/// Inspectors that must check in before a task can be submitted (law: two on site).
pub const MIN_CHECKED_IN: usize = 2;

/// Milliseconds since the Unix epoch, UTC. Always passed in, never read here.
pub type Millis = i64;

/// A task document and the verbs that change it.
#[derive(Debug, Clone)]
pub struct TaskDoc {
    doc: AutoCommit,
}
