// The 笔录 form's logic, apart from its component: the three scripted
// notices as they are printed, the usual answers and other pre-fills, the
// edits a save sends (only the fields that differ from the stored notes, so
// that a colleague's edits to other fields on another tablet survive), the
// checks the Rust side applies (core's RecordNotes::validate), and the
// conversion between a `datetime-local` input and milliseconds in the
// tablet's time zone.

import type { RecordNoteEdit } from "../../bindings/RecordNoteEdit";
import type { RecordNotes } from "../../bindings/RecordNotes";
import type { TaskView } from "../../bindings/TaskView";

/** Longest text of one field (core's MAX_RECORD_NOTE_CHARS). */
export const MAX_NOTE_CHARS = 2000;

export type NoteField = keyof RecordNotes;
export type TextField = Exclude<NoteField, "started_at" | "ended_at">;
export type AnswerField = "credentials_answer" | "rights_answer" | "recusal_answer";

export const NOTE_FIELDS: readonly NoteField[] = [
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

export const ANSWER_FIELDS: readonly AnswerField[] = ["credentials_answer", "rights_answer", "recusal_answer"];

/** The answers parties usually give, offered for the inspector to confirm. */
export const USUAL_ANSWERS: Readonly<Record<AnswerField, string>> = {
  credentials_answer: "看清楚了",
  rights_answer: "清楚",
  recusal_answer: "不申请回避",
};

/**
 * The three scripted notices, word for word as the printed record has them
 * (fieldloop-print's `notice_questions`): credentials shown, rights and
 * duties, recusal.
 */
export function noticeQuestions(agency: string, inspectorNames: readonly string[]): Record<AnswerField, string> {
  const who = agency === "" ? "本机关" : agency;
  return {
    credentials_answer: `我们是${who}的执法人员${inspectorNames.join("、")}，这是我们的执法证件（出示执法证件），你是否看清楚？`,
    rights_answer:
      "依法你（单位）有陈述、申辩的权利，同时负有如实回答询问、协助检查的义务，不得拒绝、阻挠检查。你是否听清楚？",
    recusal_answer:
      "检查人员与你（单位）有直接利害关系或者其他关系可能影响公正执法的，你有申请回避的权利。你是否申请回避？",
  };
}

/** The agency printed on the record: the lead department's name. */
export function agencyOf(view: TaskView): string {
  return view.departments.find((d) => d.code === view.lead_department)?.name ?? "";
}

/**
 * What the form shows: the stored notes, with empty fields pre-filled — the
 * place from the subject's address, the legal representative from the
 * subject, the recorder as the inspector holding the tablet, the start as
 * the first check-in, and the usual answers. A pre-fill is saved only when
 * the inspector saves the form.
 */
export function prefilled(view: TaskView): RecordNotes {
  const stored = view.record_notes;
  const me = view.inspectors.find((i) => i.me)?.id ?? "";
  const checkIns = view.inspectors.map((i) => i.checked_in_at).filter((t): t is number => t !== null);
  return {
    ...stored,
    place: stored.place || view.address,
    legal_representative: stored.legal_representative || view.legal_rep,
    recorder: stored.recorder || me,
    started_at: stored.started_at ?? (checkIns.length > 0 ? Math.min(...checkIns) : null),
    credentials_answer: stored.credentials_answer || USUAL_ANSWERS.credentials_answer,
    rights_answer: stored.rights_answer || USUAL_ANSWERS.rights_answer,
    recusal_answer: stored.recusal_answer || USUAL_ANSWERS.recusal_answer,
  };
}

/** The edits that turn the stored notes into the form's: one per field that differs (texts trimmed). */
export function editsBetween(stored: RecordNotes, form: RecordNotes): RecordNoteEdit[] {
  const edits: RecordNoteEdit[] = [];
  for (const field of NOTE_FIELDS) {
    if (field === "started_at" || field === "ended_at") {
      if (form[field] !== stored[field]) edits.push({ field, value: form[field] });
    } else {
      const value = form[field].trim();
      if (value !== stored[field]) edits.push({ field, value } as RecordNoteEdit);
    }
  }
  return edits;
}

/** Why the form cannot be saved as it is (core's checks), or `null`. */
export type NotesProblem =
  | { kind: "too_long"; field: TextField }
  | { kind: "recorder" }
  | { kind: "ends_before_start" };

export function notesProblem(form: RecordNotes, inspectors: readonly string[]): NotesProblem | null {
  for (const field of NOTE_FIELDS) {
    if (field === "started_at" || field === "ended_at") continue;
    if ([...form[field].trim()].length > MAX_NOTE_CHARS) return { kind: "too_long", field };
  }
  if (form.recorder !== "" && !inspectors.includes(form.recorder)) return { kind: "recorder" };
  if (form.started_at !== null && form.ended_at !== null && form.ended_at < form.started_at) return { kind: "ends_before_start" };
  return null;
}

/** Milliseconds from UTC of the wall clock in `timeZone` at `ms`. */
function offsetAt(ms: number, timeZone: string | undefined): number {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone,
    hourCycle: "h23",
    year: "numeric",
    month: "numeric",
    day: "numeric",
    hour: "numeric",
    minute: "numeric",
    second: "numeric",
  }).formatToParts(ms);
  const part = (type: Intl.DateTimeFormatPartTypes): number => Number(parts.find((p) => p.type === type)?.value);
  const wall = Date.UTC(part("year"), part("month") - 1, part("day"), part("hour"), part("minute"), part("second"));
  return wall - Math.floor(ms / 1000) * 1000;
}

/** A `datetime-local` input's value (`YYYY-MM-DDTHH:mm`) for `ms` in `timeZone`; "" for `null`. */
export function dateTimeInputValue(ms: number | null, timeZone: string | undefined): string {
  if (ms === null) return "";
  return new Date(ms + offsetAt(ms, timeZone)).toISOString().slice(0, 16);
}

/** The instant a `datetime-local` value names in `timeZone`; `null` for "" or a value that is not one. */
export function parseDateTimeInput(value: string, timeZone: string | undefined): number | null {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})$/.exec(value.trim());
  if (match === null) return null;
  const [y, mo, d, h, mi] = match.slice(1).map(Number) as [number, number, number, number, number];
  const wall = Date.UTC(y, mo - 1, d, h, mi);
  let ms = wall - offsetAt(wall, timeZone);
  // Once more, where the offset at the guess differs from the offset at the answer (a DST change).
  ms = wall - offsetAt(ms, timeZone);
  return Number.isFinite(ms) ? ms : null;
}
