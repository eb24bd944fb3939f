//! Fieldloop's pure domain: the joint-inspection task as an Automerge
//! document, its status rules, conflicts and audit trail, and the nouns
//! around it (departments, inspectors, subjects, catalogs, the USCC).
//!
//! Nothing here touches SQLite, the network, a window or the clock: time is
//! always passed in as [`Millis`].

pub mod blob;
pub mod checkpoint;
pub mod claim;
pub mod codes;
pub mod conflict;
#[cfg(feature = "demo")]
pub mod demo;
pub mod domain;
pub mod draw;
pub mod enroll;
pub mod error;
pub mod faults;
pub mod history;
pub mod policy;
pub mod record;
pub mod schema;
pub mod status;
pub mod sync;
pub mod task;
pub mod uscc;
pub mod walk;

pub use automerge::{ActorId, ChangeHash};
pub use codes::ErrorCode;
pub use conflict::{Conflict, ConflictValue, Resolution};
pub use domain::{
    Department, GeoPoint, Handbook, Industry, Inspector, Item, RiskClass, Subject, Team, TeamKind,
};
pub use error::TaskError;
pub use history::HistoryEntry;
pub use status::{Anomaly, Event, EventKind, Rejection, Role, Status, StatusReport};
pub use task::{
    Answer, Author, ChecklistItem, DepartmentNames, Evidence, EvidenceKind, Finding, LeadTransfer,
    MAX_RECORD_NOTE_CHARS, Millis, Names, NewEvidence, Outcome, PrintedRecord, RecheckOf,
    RecheckPhoto, RecordNoteEdit, RecordNotes, RecordNotesError, Severity, Signature, SignerRole,
    SubmitProblem, Task, TaskDoc, TaskSpec, TaskSummary, TracePoint, Window,
};
pub use uscc::{Uscc, UsccError};
