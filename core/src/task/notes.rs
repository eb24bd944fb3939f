//! The 现场检查笔录's own fields ([`RecordNotes`]) and the prints of the
//! record ([`PrintedRecord`]).
//!
//! Every field of the notes is its own key of one map, created with the
//! task, and a write puts only the fields it changes: two tablets that edit
//! different fields offline both keep theirs when they merge (the same field
//! edited on both is a conflict to resolve, like an answer). The checks
//! ([`RecordNotes::validate`]) are the ones the write policy applies on the
//! server, so the tablet refuses exactly what the server would.

use automerge::{AutoCommit, ObjId, ROOT};
use autosurgeon::{MaybeMissing, reconcile_insert, reconcile_prop};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::edit::child;
use super::{Author, MAX_RECORD_NOTE_CHARS, Millis, PrintedRecord, RecordNotes, TaskDoc};
use crate::blob::BlobId;
use crate::error::TaskError;
use crate::walk::hydrate_prop;

/// The keys of the notes map, in the order the record prints them.
pub const RECORD_NOTE_FIELDS: &[&str] = &[
    "place",
    "started_at",
    "ended_at",
    "party_present",
    "party_role",
    "legal_representative",
    "recorder",
    "witness",
    "credentials_answer",
    "rights_answer",
    "recusal_answer",
    "party_statement",
];

/// The keys of a print entry.
pub const PRINT_FIELDS: &[&str] = &["sha256", "document", "file", "by", "at"];

/// What the printed record calls the 现场检查笔录 in a [`PrintedRecord`].
pub const INSPECTION_RECORD: &str = "inspection_record";

/// Why the notes of a record cannot be kept as they are.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordNotesError {
    #[error(
        "笔录的“{label}”过长：{chars} 字，上限 {max} 字 (the record's {field} is {chars} characters, at most {max})"
    )]
    TooLong {
        field: &'static str,
        label: &'static str,
        chars: usize,
        max: usize,
    },
    #[error("记录人 {0} 不是本任务的执法人员 (the recorder {0} is not an inspector of this task)")]
    RecorderNotInspector(String),
    #[error("检查结束时间早于开始时间 (the inspection ends before it starts)")]
    EndsBeforeStart,
}

/// One change to one field of the notes, as the screen sends it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "field", content = "value", rename_all = "snake_case")]
#[ts(export)]
pub enum RecordNoteEdit {
    Place(String),
    StartedAt(Option<Millis>),
    EndedAt(Option<Millis>),
    PartyPresent(String),
    PartyRole(String),
    LegalRepresentative(String),
    Recorder(String),
    Witness(String),
    CredentialsAnswer(String),
    RightsAnswer(String),
    RecusalAnswer(String),
    PartyStatement(String),
}

impl RecordNoteEdit {
    /// The key of the notes map this edit writes.
    pub fn field(&self) -> &'static str {
        match self {
            Self::Place(_) => "place",
            Self::StartedAt(_) => "started_at",
            Self::EndedAt(_) => "ended_at",
            Self::PartyPresent(_) => "party_present",
            Self::PartyRole(_) => "party_role",
            Self::LegalRepresentative(_) => "legal_representative",
            Self::Recorder(_) => "recorder",
            Self::Witness(_) => "witness",
            Self::CredentialsAnswer(_) => "credentials_answer",
            Self::RightsAnswer(_) => "rights_answer",
            Self::RecusalAnswer(_) => "recusal_answer",
            Self::PartyStatement(_) => "party_statement",
        }
    }
}

/// The Chinese label of a notes field, for messages and the history.
pub fn record_note_label(field: &str) -> &'static str {
    match field {
        "place" => "检查地点",
        "started_at" => "检查开始时间",
        "ended_at" => "检查结束时间",
        "party_present" => "现场负责人",
        "party_role" => "职务",
        "legal_representative" => "法定代表人（负责人）",
        "recorder" => "记录人",
        "witness" => "见证人",
        "credentials_answer" => "出示证件的回答",
        "rights_answer" => "权利义务告知的回答",
        "recusal_answer" => "回避的回答",
        "party_statement" => "当事人陈述和申辩",
        _ => "笔录",
    }
}

impl RecordNotes {
    /// The text fields by key.
    fn texts(&self) -> [(&'static str, &str); 10] {
        [
            ("place", &self.place),
            ("party_present", &self.party_present),
            ("party_role", &self.party_role),
            ("legal_representative", &self.legal_representative),
            ("recorder", &self.recorder),
            ("witness", &self.witness),
            ("credentials_answer", &self.credentials_answer),
            ("rights_answer", &self.rights_answer),
            ("recusal_answer", &self.recusal_answer),
            ("party_statement", &self.party_statement),
        ]
    }

    /// Checks the notes of a task with these `inspectors`: every text at
    /// most [`MAX_RECORD_NOTE_CHARS`] characters, the recorder (when named)
    /// an inspector of the task, the end not before the start. The tablet
    /// and the server's write policy both call this.
    pub fn validate(&self, inspectors: &[String]) -> Result<(), RecordNotesError> {
        for (field, text) in self.texts() {
            let chars = text.chars().count();
            if chars > MAX_RECORD_NOTE_CHARS {
                return Err(RecordNotesError::TooLong {
                    field,
                    label: record_note_label(field),
                    chars,
                    max: MAX_RECORD_NOTE_CHARS,
                });
            }
        }
        if !self.recorder.is_empty() && !inspectors.contains(&self.recorder) {
            return Err(RecordNotesError::RecorderNotInspector(
                self.recorder.clone(),
            ));
        }
        if let (Some(start), Some(end)) = (self.started_at, self.ended_at)
            && end < start
        {
            return Err(RecordNotesError::EndsBeforeStart);
        }
        Ok(())
    }

    /// The notes with `edit` applied.
    pub fn apply(&mut self, edit: &RecordNoteEdit) {
        match edit.clone() {
            RecordNoteEdit::Place(v) => self.place = v,
            RecordNoteEdit::StartedAt(v) => self.started_at = v,
            RecordNoteEdit::EndedAt(v) => self.ended_at = v,
            RecordNoteEdit::PartyPresent(v) => self.party_present = v,
            RecordNoteEdit::PartyRole(v) => self.party_role = v,
            RecordNoteEdit::LegalRepresentative(v) => self.legal_representative = v,
            RecordNoteEdit::Recorder(v) => self.recorder = v,
            RecordNoteEdit::Witness(v) => self.witness = v,
            RecordNoteEdit::CredentialsAnswer(v) => self.credentials_answer = v,
            RecordNoteEdit::RightsAnswer(v) => self.rights_answer = v,
            RecordNoteEdit::RecusalAnswer(v) => self.recusal_answer = v,
            RecordNoteEdit::PartyStatement(v) => self.party_statement = v,
        }
    }

    /// The edits that turn `self` into `other`, one per differing field.
    pub fn edits_to(&self, other: &RecordNotes) -> Vec<RecordNoteEdit> {
        let mut edits = Vec::new();
        let mut text = |a: &str, b: &str, make: fn(String) -> RecordNoteEdit| {
            if a != b {
                edits.push(make(b.to_owned()));
            }
        };
        text(&self.place, &other.place, RecordNoteEdit::Place);
        text(
            &self.party_present,
            &other.party_present,
            RecordNoteEdit::PartyPresent,
        );
        text(
            &self.party_role,
            &other.party_role,
            RecordNoteEdit::PartyRole,
        );
        text(
            &self.legal_representative,
            &other.legal_representative,
            RecordNoteEdit::LegalRepresentative,
        );
        text(&self.recorder, &other.recorder, RecordNoteEdit::Recorder);
        text(&self.witness, &other.witness, RecordNoteEdit::Witness);
        text(
            &self.credentials_answer,
            &other.credentials_answer,
            RecordNoteEdit::CredentialsAnswer,
        );
        text(
            &self.rights_answer,
            &other.rights_answer,
            RecordNoteEdit::RightsAnswer,
        );
        text(
            &self.recusal_answer,
            &other.recusal_answer,
            RecordNoteEdit::RecusalAnswer,
        );
        text(
            &self.party_statement,
            &other.party_statement,
            RecordNoteEdit::PartyStatement,
        );
        if self.started_at != other.started_at {
            edits.push(RecordNoteEdit::StartedAt(other.started_at));
        }
        if self.ended_at != other.ended_at {
            edits.push(RecordNoteEdit::EndedAt(other.ended_at));
        }
        edits
    }
}

/// Writes one field of the notes map `obj`.
fn put_edit(doc: &mut AutoCommit, obj: &ObjId, edit: &RecordNoteEdit) -> Result<(), TaskError> {
    let key = edit.field();
    match edit {
        RecordNoteEdit::StartedAt(v) | RecordNoteEdit::EndedAt(v) => {
            reconcile_prop(doc, obj, key, *v)?;
        }
        RecordNoteEdit::Place(v)
        | RecordNoteEdit::PartyPresent(v)
        | RecordNoteEdit::PartyRole(v)
        | RecordNoteEdit::LegalRepresentative(v)
        | RecordNoteEdit::Recorder(v)
        | RecordNoteEdit::Witness(v)
        | RecordNoteEdit::CredentialsAnswer(v)
        | RecordNoteEdit::RightsAnswer(v)
        | RecordNoteEdit::RecusalAnswer(v)
        | RecordNoteEdit::PartyStatement(v) => {
            reconcile_prop(doc, obj, key, v.as_str())?;
        }
    }
    Ok(())
}

impl TaskDoc {
    /// The notes of the record; `None` in a document made before they existed.
    pub fn record_notes(&self) -> Result<Option<RecordNotes>, TaskError> {
        let notes: MaybeMissing<Option<RecordNotes>> =
            hydrate_prop(&self.doc, ROOT, "record_notes")?;
        Ok(match notes {
            MaybeMissing::Present(notes) => notes,
            MaybeMissing::Missing => None,
        })
    }

    /// Writes the fields of the notes that `edits` name, and only those, as
    /// one change. Refused unless `author` is an inspector of the task and
    /// the task may still be edited, and when the notes it leaves fail
    /// [`RecordNotes::validate`]. Answers the fields it wrote (none when
    /// every edit leaves its field as it was; then nothing is committed).
    pub fn edit_record_notes(
        &mut self,
        author: &Author,
        at: Millis,
        edits: &[RecordNoteEdit],
    ) -> Result<Vec<&'static str>, TaskError> {
        self.check_inspector_may_edit(author)?;
        let current = self.record_notes()?;
        let mut notes = current.clone().unwrap_or_default();
        for edit in edits {
            notes.apply(edit);
        }
        let inspectors: Vec<String> = hydrate_prop(&self.doc, ROOT, "inspectors")?;
        notes
            .validate(&inspectors)
            .map_err(|e| TaskError::RecordNotes(Box::new(e)))?;
        let before = current.clone().unwrap_or_default();
        // The last edit of a field wins; fields left as they are are not written.
        let mut writes: Vec<RecordNoteEdit> = Vec::new();
        for edit in before.edits_to(&notes) {
            writes.retain(|w| w.field() != edit.field());
            writes.push(edit);
        }
        if writes.is_empty() {
            return Ok(Vec::new());
        }
        let fields: Vec<&'static str> = writes.iter().map(RecordNoteEdit::field).collect();
        let labels: Vec<&str> = fields.iter().map(|f| record_note_label(f)).collect();
        let message = format!("填写笔录：{}", labels.join("、"));
        self.change(author, at, message, |doc| {
            match current {
                // A document from before the notes: the map is made now.
                None => reconcile_prop(doc, ROOT, "record_notes", notes.clone())?,
                Some(_) => {
                    let obj = child(doc, &ROOT, "record_notes")?;
                    for edit in &writes {
                        put_edit(doc, &obj, edit)?;
                    }
                }
            }
            Ok(())
        })?;
        Ok(fields)
    }

    /// Sets the notes to `notes`, writing only the fields that differ from
    /// the document's (see [`TaskDoc::edit_record_notes`]).
    pub fn set_record_notes(
        &mut self,
        author: &Author,
        at: Millis,
        notes: &RecordNotes,
    ) -> Result<Vec<&'static str>, TaskError> {
        let current = self.record_notes()?.unwrap_or_default();
        let edits = current.edits_to(notes);
        self.edit_record_notes(author, at, &edits)
    }

    /// Records that the record was printed, with the SHA-256 of the PDF.
    /// Changes no status; refused like any edit once the task is frozen.
    pub fn add_print(
        &mut self,
        author: &Author,
        at: Millis,
        mut print: PrintedRecord,
    ) -> Result<(), TaskError> {
        self.check_inspector_may_edit(author)?;
        BlobId::parse(&print.sha256).map_err(|_| TaskError::BadHash(print.sha256.clone()))?;
        print.by = author.person.clone();
        print.at = at;
        let message = format!(
            "打印笔录 {}（SHA-256 {}）",
            print.file,
            &print.sha256[..16.min(print.sha256.len())]
        );
        let prints: MaybeMissing<Option<Vec<PrintedRecord>>> =
            hydrate_prop(&self.doc, ROOT, "prints")?;
        let prints = match prints {
            MaybeMissing::Present(prints) => prints,
            MaybeMissing::Missing => None,
        };
        self.change(author, at, message, |doc| {
            match prints {
                Some(list) => {
                    let obj = child(doc, &ROOT, "prints")?;
                    reconcile_insert(doc, obj, list.len(), &print)?;
                }
                None => reconcile_prop(doc, ROOT, "prints", Some(vec![print]))?,
            }
            Ok(())
        })
    }
}
