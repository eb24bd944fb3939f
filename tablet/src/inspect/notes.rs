//! The 笔录 fields of a task on the tablet: each edit writes only the fields
//! it names, so two tablets filling different fields both keep theirs.

use fieldloop_core::RecordNoteEdit;

use super::*;

impl Tablet {
    /// Writes the 笔录 fields `edits` names (text trimmed at both ends) and
    /// answers the new view. Refused, with nothing changed, when a text is
    /// over its bound, the recorder is not an inspector of the task, the end
    /// is before the start, or the task can no longer be edited.
    pub fn edit_record_notes(
        &mut self,
        task_id: &str,
        now: Millis,
        edits: &[RecordNoteEdit],
    ) -> Result<TaskView, AppError> {
        let edits: Vec<RecordNoteEdit> = edits.iter().map(trimmed).collect();
        self.act(task_id, now, |doc, a| {
            doc.edit_record_notes(a, now, &edits).map(|_| ())
        })
    }
}

fn trimmed(edit: &RecordNoteEdit) -> RecordNoteEdit {
    use RecordNoteEdit as E;
    let t = |s: &String| s.trim().to_owned();
    match edit {
        E::Place(s) => E::Place(t(s)),
        E::PartyPresent(s) => E::PartyPresent(t(s)),
        E::PartyRole(s) => E::PartyRole(t(s)),
        E::LegalRepresentative(s) => E::LegalRepresentative(t(s)),
        E::Recorder(s) => E::Recorder(t(s)),
        E::Witness(s) => E::Witness(t(s)),
        E::CredentialsAnswer(s) => E::CredentialsAnswer(t(s)),
        E::RightsAnswer(s) => E::RightsAnswer(t(s)),
        E::RecusalAnswer(s) => E::RecusalAnswer(t(s)),
        E::PartyStatement(s) => E::PartyStatement(t(s)),
        E::StartedAt(_) | E::EndedAt(_) => edit.clone(),
    }
}
