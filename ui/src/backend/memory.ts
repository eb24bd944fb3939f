// An in-memory `Backend` for tests. It answers the task list from `rows` the
// way the local store does (status, department, text on subject name / USCC /
// code, due at or before `due_before`, limit), task views from `views`, and the device calls from
// `enrolled` and `sync`. Every call is recorded in `calls`; a call can be made
// to fail (`failWith`, `failNext`) or to wait (`hold`).
//
// Record calls make a small, plausible change to the stored view (an answer
// sets the item's answer, a check-in stamps the tablet's inspector, …),
// refresh what the view carries about itself for the screens (answered counts,
// each item's live evidence, conflict marks) and answer a copy of it, as the
// Rust side answers the view it stored. It refuses what the Rust side refuses
// in the simplest cases only: an unknown task, item, piece of evidence or
// conflict, a change to a submitted task, an empty photo, a withdrawal or
// refusal without a reason.
//
// It does not apply core's rules. What blocks submitting (`view.problems`) is
// whatever the test put in the view, and stays so until the test sets it again
// (`setProblems`, as the Rust side would report it after the step the test
// plays); `submit` refuses with `task.submit_blocked` while the stored view
// has problems, as the Rust side answered, without deciding anything itself.

import {
  type AnswerChange,
  type Backend,
  BackendError,
  type EnrollTarget,
  type Fix,
  type GeoPoint,
  type HistoryEntry,
  type Identity,
  type NewFinding,
  type NewTransfer,
  type Outcome,
  type PrintedFile,
  type RecordNoteEdit,
  type Resolution,
  type SignerRole,
  type SyncView,
  type TaskQuery,
  type TaskRow,
  type TaskView,
  type UnsyncedWork,
} from "./backend";
import type { Evidence } from "../bindings/Evidence";
import type { ProblemView } from "../bindings/ProblemView";
import { identity, syncView } from "../testing/views";

export type Method = keyof Backend;

/** Longest text of one 笔录 field (core's MAX_RECORD_NOTE_CHARS). */
export const MAX_RECORD_NOTE_CHARS = 2000;

export interface Call {
  method: Method;
  args: unknown[];
}

export class MemoryBackend implements Backend {
  rows: TaskRow[];
  /** Task views by task id. */
  readonly views = new Map<string, TaskView>();
  /** Audit trails by task id. */
  readonly histories = new Map<string, HistoryEntry[]>();
  /** Blob bytes by SHA-256. */
  readonly blobs = new Map<string, Uint8Array>();
  /** Verification QR codes (SVG) by task id; a task without one gets a small made-up SVG. */
  readonly qrs = new Map<string, string>();
  /** Who the tablet is; `null` until `enroll` succeeds. */
  enrolled: Identity | null = null;
  /** Who `enroll` makes the tablet. */
  enrollAs: Identity = identity();
  hint: string | null = null;
  /** What `scanEnrollImage` reads; `null` finds no QR code. */
  scanned: EnrollTarget | null = null;
  sync: SyncView = syncView();
  /** What `unsyncedWork` answers (and a wipe takes with it). */
  unsynced: UnsyncedWork = { tasks: [], uploads: 0 };
  /** A wipe ran. */
  wiped = false;
  /** Every call received, in order. */
  readonly calls: Call[] = [];
  /** Every task query received, in order. */
  readonly queries: TaskQuery[] = [];
  /** When set, every call rejects with it. */
  failWith: BackendError | null = null;
  /** The clock of recorded changes. */
  now: () => number = Date.now;
  /** Where `printRecord` says the PDFs go. */
  printsDir = "/data/prints";

  readonly #failures = new Map<Method, BackendError[]>();
  #gate: Promise<void> | null = null;
  #hashes = 0;

  constructor(rows: TaskRow[] = [], views: TaskView[] = []) {
    this.rows = rows;
    for (const view of views) this.views.set(view.id, view);
  }

  /** Calls made to `method`, oldest first. */
  callsTo(method: Method): unknown[][] {
    return this.calls.filter((call) => call.method === method).map((call) => call.args);
  }

  /** The next call to `method` rejects with `error` (after being recorded). */
  failNext(method: Method, error: BackendError): void {
    this.#failures.set(method, [...(this.#failures.get(method) ?? []), error]);
  }

  /**
   * Sets what blocks submitting `task`, as the Rust side reports it for the
   * state the test has reached or is about to reach: the next view answered
   * carries it, and `submit` refuses while it is not empty. Not a call: it is
   * not recorded and does not mark the task changed.
   */
  setProblems(task: string, problems: readonly ProblemView[]): void {
    this.#view(task).problems = structuredClone([...problems]);
  }

  /** Holds every call (recorded, not yet answered) until the returned function is called. */
  hold(): () => void {
    let release!: () => void;
    this.#gate = new Promise<void>((resolve) => (release = resolve));
    return () => {
      this.#gate = null;
      release();
    };
  }

  async listTasks(query: TaskQuery): Promise<TaskRow[]> {
    this.queries.push(query);
    await this.#enter("listTasks", query);
    const text = query.text?.trim().toLowerCase() ?? "";
    const found = this.rows.filter(
      (row) =>
        (query.statuses.length === 0 || query.statuses.includes(row.status)) &&
        (query.department === null || row.departments.includes(query.department)) &&
        (query.due_before === null || row.due <= query.due_before) &&
        (text === "" ||
          [row.subject_name, row.uscc, row.code].some((field) => field.toLowerCase().includes(text))),
    );
    return structuredClone(query.limit === null ? found : found.slice(0, query.limit));
  }

  async taskView(task: string): Promise<TaskView> {
    await this.#enter("taskView", task);
    return structuredClone(this.#view(task));
  }

  async taskHistory(task: string): Promise<HistoryEntry[]> {
    await this.#enter("taskHistory", task);
    this.#view(task);
    return structuredClone(this.histories.get(task) ?? []);
  }

  async taskQr(task: string): Promise<string> {
    await this.#enter("taskQr", task);
    const url = this.#view(task).verify_url.replace(/&/g, "&amp;").replace(/</g, "&lt;");
    return (
      this.qrs.get(task) ??
      `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><title>${url}</title><rect width="10" height="10"/></svg>`
    );
  }

  async checkIn(task: string, location: GeoPoint | null): Promise<TaskView> {
    await this.#enter("checkIn", task, location);
    return this.#change(task, (view) => {
      const me = view.inspectors.find((inspector) => inspector.me);
      if (me === undefined) throw new BackendError("task.not_an_inspector", "this tablet's inspector is not on the task");
      me.checked_in_at = this.now();
      me.checked_in_location = location;
      view.events.push({ kind: "checked_in", at: this.now(), by: me.id, role: "inspector", comment: null, location });
      if (view.status === "assigned") view.status = "in_progress";
    });
  }

  async answer(task: string, item: string, change: AnswerChange): Promise<TaskView> {
    await this.#enter("answer", task, item, change);
    return this.#change(task, (view) => {
      if (change.result !== null) this.#writeAnswer(view, item, "result", change.result);
      if (change.value !== null) this.#writeAnswer(view, item, "value", change.value);
      if (change.note !== null) this.#writeAnswer(view, item, "note", change.note);
    });
  }

  async addPhoto(task: string, item: string | null, bytes: Uint8Array, location: GeoPoint | null): Promise<TaskView> {
    await this.#enter("addPhoto", task, item, bytes, location);
    return this.#change(task, (view) => {
      if (bytes.length === 0) throw new BackendError("photo.empty", "the photo file is empty; take the photo again");
      if (item !== null) this.#item(view, item);
      const sha256 = this.#store(bytes);
      this.#addEvidence(view, {
        sha256,
        kind: "photo",
        location,
        mime: "image/jpeg",
        bytes: bytes.length,
        thumb_sha256: sha256,
        display_sha256: sha256,
        item,
      });
    });
  }

  async setCaption(task: string, sha256: string, caption: string): Promise<TaskView> {
    await this.#enter("setCaption", task, sha256, caption);
    return this.#change(task, (view) => {
      this.#evidence(view, sha256).caption = caption;
    });
  }

  async withdrawEvidence(task: string, sha256: string, reason: string): Promise<TaskView> {
    await this.#enter("withdrawEvidence", task, sha256, reason);
    return this.#change(task, (view) => {
      this.#needReason(reason);
      const evidence = this.#evidence(view, sha256);
      evidence.withdrawn_at = this.now();
      evidence.withdrawn_by = this.#me();
      evidence.withdrawn_reason = reason;
    });
  }

  async addTrace(task: string, fixes: Fix[]): Promise<TaskView> {
    await this.#enter("addTrace", task, fixes);
    return this.#change(task, (view) => {
      view.trace.push(...fixes.map((fix) => ({ ...fix, by: this.#me() })));
    });
  }

  async addFinding(task: string, finding: NewFinding): Promise<TaskView> {
    await this.#enter("addFinding", task, finding);
    return this.#change(task, (view) => {
      view.findings.push({ id: `F-${view.findings.length + 1}`, ...finding, by: this.#me(), at: this.now() });
    });
  }

  async addLeadTransfer(task: string, transfer: NewTransfer): Promise<TaskView> {
    await this.#enter("addLeadTransfer", task, transfer);
    return this.#change(task, (view) => {
      view.lead_transfers.push({ id: `L-${view.lead_transfers.length + 1}`, ...transfer, by: this.#me(), at: this.now() });
    });
  }

  async editRecordNotes(task: string, edits: RecordNoteEdit[]): Promise<TaskView> {
    await this.#enter("editRecordNotes", task, edits);
    return this.#change(task, (view) => {
      const notes = { ...view.record_notes };
      for (const edit of edits) {
        if (edit.field === "started_at" || edit.field === "ended_at") notes[edit.field] = edit.value;
        else notes[edit.field] = edit.value.trim();
      }
      // The checks of core's RecordNotes::validate.
      for (const [field, value] of Object.entries(notes)) {
        if (typeof value === "string" && [...value].length > MAX_RECORD_NOTE_CHARS) {
          throw new BackendError("task.record_notes", `the record's ${field} is over ${MAX_RECORD_NOTE_CHARS} characters`);
        }
      }
      if (notes.recorder !== "" && !view.inspectors.some((i) => i.id === notes.recorder)) {
        throw new BackendError("task.record_notes", `the recorder ${notes.recorder} is not an inspector of this task`);
      }
      if (notes.started_at !== null && notes.ended_at !== null && notes.ended_at < notes.started_at) {
        throw new BackendError("task.record_notes", "the inspection ends before it starts");
      }
      view.record_notes = notes;
    });
  }

  async printRecord(task: string): Promise<PrintedFile> {
    await this.#enter("printRecord", task);
    const view = this.#view(task);
    // A made-up PDF hash that follows the record's content, as the real PDFs are deterministic.
    const sha256 = this.#contentHash(JSON.stringify([view.record_notes, view.groups, view.findings, view.signatures]));
    const file = `${view.code}-${sha256.slice(0, 8)}.pdf`;
    const known = view.prints.some((p) => p.sha256 === sha256);
    const recorded = view.editable && !known;
    if (recorded) {
      this.#change(task, (v) => {
        v.prints.push({ sha256, document: "inspection_record", file, by: this.#me(), at: this.now() });
      });
    }
    return { path: `${this.printsDir}/${file}`, file, sha256, bytes: 1024, recorded };
  }

  async sign(task: string, role: SignerRole, signer: string, png: Uint8Array): Promise<TaskView> {
    await this.#enter("sign", task, role, signer, png);
    return this.#change(task, (view) => {
      const sha256 = this.#store(png);
      this.#addEvidence(view, { sha256, kind: "signature", caption: signer, mime: "image/png", bytes: png.length });
      view.signatures.push({ role, signer, image: sha256, refused_reason: null, by: this.#me(), at: this.now() });
    });
  }

  async refuseToSign(task: string, role: SignerRole, signer: string, reason: string): Promise<TaskView> {
    await this.#enter("refuseToSign", task, role, signer, reason);
    return this.#change(task, (view) => {
      this.#needReason(reason);
      view.signatures.push({ role, signer, image: null, refused_reason: reason, by: this.#me(), at: this.now() });
    });
  }

  async resolveConflict(task: string, path: string[], resolution: Resolution): Promise<TaskView> {
    await this.#enter("resolveConflict", task, path, resolution);
    return this.#change(task, (view) => {
      const key = path.join("/");
      const conflict = view.conflicts.find((c) => c.path.join("/") === key);
      if (conflict === undefined) throw new BackendError("task.no_conflict", `no conflict at ${key}`);
      let value: unknown;
      if (resolution.kind === "pick") {
        const picked = conflict.values.find((v) => v.op === resolution.op);
        if (picked === undefined) throw new BackendError("task.no_conflict", `no operation ${resolution.op} at ${key}`);
        value = picked.value;
      } else {
        value = resolution.value;
      }
      const [root, item, sub, field] = path;
      if (root === "checklist" && item !== undefined && sub === "answer" && (field === "result" || field === "value" || field === "note")) {
        this.#writeAnswer(view, item, field, value);
      }
      view.conflicts = view.conflicts.filter((c) => c !== conflict);
    });
  }

  async submit(task: string): Promise<TaskView> {
    await this.#enter("submit", task);
    return this.#change(task, (view) => {
      // The problems the Rust side reported (the test's), not worked out here.
      if (view.problems.length > 0) {
        throw new BackendError("task.submit_blocked", view.problems.map((p) => p.message).join("; "));
      }
      view.status = "submitted";
      view.editable = false;
      view.events.push({ kind: "submitted", at: this.now(), by: this.#me(), role: "inspector", comment: null, location: null });
    });
  }

  /** None here: images come from `blob`, as object URLs. */
  blobSrc(_sha256: string): string | null {
    return null;
  }

  async blob(sha256: string): Promise<Uint8Array> {
    await this.#enter("blob", sha256);
    const bytes = this.blobs.get(sha256);
    if (bytes === undefined) throw new BackendError("blob.not_found", `no blob ${sha256}`);
    return bytes.slice();
  }

  async identity(): Promise<Identity | null> {
    await this.#enter("identity");
    return this.enrolled === null ? null : { ...this.enrolled };
  }

  async enrollHint(): Promise<string | null> {
    await this.#enter("enrollHint");
    return this.hint;
  }

  async scanEnrollImage(bytes: Uint8Array): Promise<EnrollTarget> {
    await this.#enter("scanEnrollImage", bytes);
    if (this.scanned === null) throw new BackendError("qr.not_found", "no QR code in the picture");
    return { ...this.scanned };
  }

  async enroll(text: string, server: string | null, deviceName: string): Promise<Identity> {
    await this.#enter("enroll", text, server, deviceName);
    if (text.trim() === "") throw new BackendError("enroll.bad_text", "not a Fieldloop enrollment code");
    this.enrolled = { ...this.enrollAs };
    return { ...this.enrolled };
  }

  async syncStatus(): Promise<SyncView> {
    await this.#enter("syncStatus");
    return { ...this.sync };
  }

  async syncNow(): Promise<void> {
    await this.#enter("syncNow");
  }

  async unsyncedWork(): Promise<UnsyncedWork> {
    await this.#enter("unsyncedWork");
    return { tasks: this.unsynced.tasks.map((t) => ({ ...t })), uploads: this.unsynced.uploads };
  }

  async wipeIfRevoked(): Promise<UnsyncedWork> {
    await this.#enter("wipeIfRevoked");
    if (this.sync.code !== "auth.revoked") throw new BackendError("app.bad_request", "this tablet was not revoked");
    const work = await this.unsyncedWork();
    this.enrolled = null;
    this.rows = [];
    this.unsynced = { tasks: [], uploads: 0 };
    this.sync = syncView();
    this.wiped = true;
    return work;
  }

  /** Records the call, waits while calls are held, then fails it with the next `failNext` error for `method`, or with `failWith`. */
  async #enter(method: Method, ...args: unknown[]): Promise<void> {
    this.calls.push({ method, args });
    if (this.#gate !== null) await this.#gate;
    const failure = this.#failures.get(method)?.shift();
    if (failure !== undefined) throw failure;
    if (this.failWith) throw this.failWith;
  }

  #view(task: string): TaskView {
    const view = this.views.get(task);
    if (view === undefined) throw new BackendError("store.not_found", `task ${task} is not on this tablet`);
    return view;
  }

  /**
   * Applies `edit` to a copy of the stored view, refreshes what the view carries
   * about itself (`#derive`), and keeps the copy only if `edit` did not throw.
   */
  #change(task: string, edit: (view: TaskView) => void): TaskView {
    const view = structuredClone(this.#view(task));
    if (!view.editable) throw new BackendError("task.frozen", `task ${task} is submitted; its record is frozen`);
    edit(view);
    this.#derive(view);
    view.dirty = true;
    this.views.set(task, view);
    this.rows = this.rows.map((row) =>
      row.id === task ? { ...row, dirty: true, ...(view.status === null ? {} : { status: view.status }) } : row,
    );
    return structuredClone(view);
  }

  /**
   * What the view carries about itself and the screens draw from it: answered
   * counts, each item's live evidence, conflict marks. Not the problems: they
   * are core's rules and stay as the test set them (`setProblems`).
   */
  #derive(view: TaskView): void {
    const live = new Set(view.evidence.filter((e) => e.withdrawn_at === null).map((e) => e.sha256));
    for (const group of view.groups) {
      group.answered = group.items.filter((i) => i.answer.result !== null).length;
      for (const item of group.items) {
        item.evidence = view.evidence.filter((e) => e.item === item.id && live.has(e.sha256)).map((e) => e.sha256);
        item.conflicted = view.conflicts.some((c) => c.path[0] === "checklist" && c.path[1] === item.id);
      }
    }
  }

  /** Writes one field of an item's answer; a local write settles a conflict over that field. */
  #writeAnswer(view: TaskView, item: string, field: "result" | "value" | "note", value: unknown): void {
    const answer = this.#item(view, item).answer;
    if (field === "result") answer.result = value as Outcome | null;
    else answer[field] = value === null ? null : String(value);
    const key = ["checklist", item, "answer", field].join("/");
    view.conflicts = view.conflicts.filter((c) => c.path.join("/") !== key);
  }

  #needReason(reason: string): void {
    if (reason.trim() === "") throw new BackendError("task.reason_required", "a reason is required");
  }

  #item(view: TaskView, id: string) {
    for (const group of view.groups) {
      const item = group.items.find((i) => i.id === id);
      if (item !== undefined) return item;
    }
    throw new BackendError("task.unknown_item", `no item ${id}`);
  }

  #evidence(view: TaskView, sha256: string) {
    const evidence = view.evidence.find((e) => e.sha256 === sha256);
    if (evidence === undefined) throw new BackendError("task.unknown_evidence", `no evidence ${sha256}`);
    return evidence;
  }

  /** Keeps `bytes` as a blob under a made-up SHA-256, which it answers. */
  #store(bytes: Uint8Array): string {
    const sha256 = this.#hash();
    this.blobs.set(sha256, bytes.slice());
    return sha256;
  }

  /** Puts a new piece of evidence, taken now by the tablet's inspector, first in the view. */
  #addEvidence(view: TaskView, fields: Pick<Evidence, "sha256" | "kind" | "mime" | "bytes"> & Partial<Evidence>): void {
    view.evidence.unshift({
      taken_at: this.now(),
      by: this.#me(),
      location: null,
      caption: null,
      thumb_sha256: null,
      display_sha256: null,
      item: null,
      withdrawn_at: null,
      withdrawn_by: null,
      withdrawn_reason: null,
      ...fields,
    });
  }

  #me(): string {
    return this.enrolled?.person ?? "I-001";
  }

  /** A made-up SHA-256 (64 hex digits) of `text`: the same text, the same hash. */
  #contentHash(text: string): string {
    let h = 0x811c9dc5;
    for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
    return h.toString(16).padStart(8, "0").repeat(8);
  }

  /** A made-up SHA-256 (64 hex digits), different each time. */
  #hash(): string {
    this.#hashes += 1;
    return this.#hashes.toString(16).padStart(64, "0");
  }
}
