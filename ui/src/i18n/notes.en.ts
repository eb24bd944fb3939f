// The texts of the task screen's record tab (record notes and printing), in
// English. Same keys as notes.zh.ts (the type enforces it).

import type { notesZh } from "./notes.zh";

export const notesEn: { readonly [K in keyof typeof notesZh]: string } = {
  "taskScreen.tab.record": "Record",
  "taskScreen.notes.title": "On-site inspection record",
  "taskScreen.notes.field.place": "Place",
  "taskScreen.notes.field.started_at": "From",
  "taskScreen.notes.field.ended_at": "To",
  "taskScreen.notes.field.party_present": "Person in charge present",
  "taskScreen.notes.field.party_role": "Role",
  "taskScreen.notes.field.legal_representative": "Legal representative",
  "taskScreen.notes.field.recorder": "Recorder",
  "taskScreen.notes.field.witness": "Witness",
  "taskScreen.notes.field.credentials_answer": "Answer on the credentials shown",
  "taskScreen.notes.field.rights_answer": "Answer on rights and duties",
  "taskScreen.notes.field.recusal_answer": "Answer on recusal",
  "taskScreen.notes.field.party_statement": "The party's statement",
  "taskScreen.notes.noRecorder": "(not named)",
  "taskScreen.notes.witnessPlaceholder": "Leave empty when there is none",
  "taskScreen.notes.notices": "Notices (read them out to the party; the record prints them in Chinese)",
  "taskScreen.notes.answer": "The party's answer",
  "taskScreen.notes.prefillHint":
    "The usual answers are filled in: read the notices out, confirm or correct each answer as the party gave it, then save.",
  "taskScreen.notes.statementPlaceholder": "What the party states in reply; “无异议” when they have no objection.",
  "taskScreen.notes.save": "Save the record",
  "taskScreen.notes.unsaved": "Unsaved changes",
  "taskScreen.notes.saved": "Saved",
  "taskScreen.notes.tooLong": "“{field}” takes at most {max} characters; shorten it.",
  "taskScreen.notes.recorderNotOnTask": "The recorder must be an inspector of this task.",
  "taskScreen.notes.endsBeforeStart": "The inspection cannot end before it starts.",
  "taskScreen.print.title": "Print the record",
  "taskScreen.print.hint": "Makes the record's PDF on this tablet, with no network; its SHA-256 goes into the task's audit trail.",
  "taskScreen.print.button": "Print record",
  "taskScreen.print.printing": "Making the PDF…",
  "taskScreen.print.savedAt": "The record's PDF was saved to:",
  "taskScreen.print.recorded": "Recorded in the audit trail",
  "taskScreen.print.notRecorded": "Not recorded again (same content, or the task can no longer be changed)",
};
