// An in-memory `Backend` for tests. It answers the task list from `rows` the
// way the local store does (status, department, text on subject name / USCC /
// code, due at or before `due_before`, limit), task views from `views`, and the device calls from
// `enrolled` and `sync`. Every call is recorded in `calls`.
//
// Record calls make a small, plausible change to the stored view (an answer
// sets the item's answer, a check-in stamps the tablet's inspector, …) and
// answer a copy of it, as the Rust side answers the view it stored. It is no
// model of the rules: nothing is refused except an unknown task, item or
// piece of evidence.

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
  type Resolution,
  type SignerRole,
  type SyncView,
  type TaskQuery,
  type TaskRow,
  type TaskView,
} from "./backend";

export type Method = keyof Backend;

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
  /** Who the tablet is; `null` until `enroll` succeeds. */
  enrolled: Identity | null = null;
  /** Who `enroll` makes the tablet. */
  enrollAs: Identity = {
    person: "I-001",
    name: "张伟",
    team: "T-DS-01",
    team_name: "东山镇综合执法队",
    server: "http://192.168.1.10:7878",
    device: "D-0001",
  };
  hint: string | null = null;
  /** What `scanEnrollImage` reads; `null` finds no QR code. */
  scanned: EnrollTarget | null = null;
  sync: SyncView = {
    phase: "idle",
    last_synced_at: null,
    waiting_tasks: 0,
    waiting_uploads: 0,
    rounds: 0,
    uploaded: 0,
    uploads_left: 0,
    code: null,
    message: null,
    retry_in_ms: null,
    retry_at: null,
  };
  /** Every call received, in order. */
  readonly calls: Call[] = [];
  /** Every task query received, in order. */
  readonly queries: TaskQuery[] = [];
  /** When set, every call rejects with it. */
  failWith: BackendError | null = null;
  /** The clock of recorded changes. */
  now: () => number = Date.now;

  #hashes = 0;

  constructor(rows: TaskRow[] = [], views: TaskView[] = []) {
    this.rows = rows;
    for (const view of views) this.views.set(view.id, view);
  }

  /** Calls made to `method`, oldest first. */
  callsTo(method: Method): unknown[][] {
    return this.calls.filter((call) => call.method === method).map((call) => call.args);
  }

  async listTasks(query: TaskQuery): Promise<TaskRow[]> {
    this.queries.push(query);
    this.#enter("listTasks", query);
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
    this.#enter("taskView", task);
    return structuredClone(this.#view(task));
  }

  async taskHistory(task: string): Promise<HistoryEntry[]> {
    this.#enter("taskHistory", task);
    this.#view(task);
    return structuredClone(this.histories.get(task) ?? []);
  }

  async taskQr(task: string): Promise<string> {
    this.#enter("taskQr", task);
    const url = this.#view(task).verify_url.replace(/&/g, "&amp;").replace(/</g, "&lt;");
    return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><title>${url}</title><rect width="10" height="10"/></svg>`;
  }

  async checkIn(task: string, location: GeoPoint | null): Promise<TaskView> {
    this.#enter("checkIn", task, location);
    return this.#change(task, (view) => {
      const me = view.inspectors.find((inspector) => inspector.me);
      if (me === undefined) throw new BackendError("task.not_allowed", "this tablet's inspector is not on the task");
      me.checked_in_at = this.now();
      me.checked_in_location = location;
      if (view.status === "assigned") view.status = "in_progress";
    });
  }

  async answer(task: string, item: string, change: AnswerChange): Promise<TaskView> {
    this.#enter("answer", task, item, change);
    return this.#change(task, (view) => {
      const found = this.#item(view, item);
      if (change.result !== null) found.answer.result = change.result;
      if (change.value !== null) found.answer.value = change.value;
      if (change.note !== null) found.answer.note = change.note;
      for (const group of view.groups) group.answered = group.items.filter((i) => i.answer.result !== null).length;
    });
  }

  async addPhoto(task: string, item: string | null, bytes: Uint8Array, location: GeoPoint | null): Promise<TaskView> {
    this.#enter("addPhoto", task, item, bytes, location);
    return this.#change(task, (view) => {
      const sha256 = this.#hash();
      this.blobs.set(sha256, bytes.slice());
      if (item !== null) this.#item(view, item).evidence.push(sha256);
      view.evidence.unshift({
        sha256,
        kind: "photo",
        taken_at: this.now(),
        by: this.#me(),
        location,
        caption: null,
        mime: "image/jpeg",
        bytes: bytes.length,
        thumb_sha256: sha256,
        display_sha256: sha256,
        item,
        withdrawn_at: null,
        withdrawn_by: null,
        withdrawn_reason: null,
      });
    });
  }

  async setCaption(task: string, sha256: string, caption: string): Promise<TaskView> {
    this.#enter("setCaption", task, sha256, caption);
    return this.#change(task, (view) => {
      this.#evidence(view, sha256).caption = caption;
    });
  }

  async withdrawEvidence(task: string, sha256: string, reason: string): Promise<TaskView> {
    this.#enter("withdrawEvidence", task, sha256, reason);
    return this.#change(task, (view) => {
      const evidence = this.#evidence(view, sha256);
      evidence.withdrawn_at = this.now();
      evidence.withdrawn_by = this.#me();
      evidence.withdrawn_reason = reason;
      for (const group of view.groups) {
        for (const item of group.items) item.evidence = item.evidence.filter((sha) => sha !== sha256);
      }
    });
  }

  async addTrace(task: string, fixes: Fix[]): Promise<TaskView> {
    this.#enter("addTrace", task, fixes);
    return this.#change(task, (view) => {
      view.trace.push(...fixes.map((fix) => ({ ...fix, by: this.#me() })));
    });
  }

  async addFinding(task: string, finding: NewFinding): Promise<TaskView> {
    this.#enter("addFinding", task, finding);
    return this.#change(task, (view) => {
      view.findings.push({ id: `F-${view.findings.length + 1}`, ...finding, by: this.#me(), at: this.now() });
    });
  }

  async addLeadTransfer(task: string, transfer: NewTransfer): Promise<TaskView> {
    this.#enter("addLeadTransfer", task, transfer);
    return this.#change(task, (view) => {
      view.lead_transfers.push({ id: `L-${view.lead_transfers.length + 1}`, ...transfer, by: this.#me(), at: this.now() });
    });
  }

  async sign(task: string, role: SignerRole, signer: string, png: Uint8Array): Promise<TaskView> {
    this.#enter("sign", task, role, signer, png);
    return this.#change(task, (view) => {
      const sha256 = this.#hash();
      this.blobs.set(sha256, png.slice());
      view.evidence.unshift({
        sha256,
        kind: "signature",
        taken_at: this.now(),
        by: this.#me(),
        location: null,
        caption: null,
        mime: "image/png",
        bytes: png.length,
        thumb_sha256: null,
        display_sha256: null,
        item: null,
        withdrawn_at: null,
        withdrawn_by: null,
        withdrawn_reason: null,
      });
      view.signatures.push({ role, signer, image: sha256, refused_reason: null, by: this.#me(), at: this.now() });
    });
  }

  async refuseToSign(task: string, role: SignerRole, signer: string, reason: string): Promise<TaskView> {
    this.#enter("refuseToSign", task, role, signer, reason);
    return this.#change(task, (view) => {
      view.signatures.push({ role, signer, image: null, refused_reason: reason, by: this.#me(), at: this.now() });
    });
  }

  async resolveConflict(task: string, path: string[], resolution: Resolution): Promise<TaskView> {
    this.#enter("resolveConflict", task, path, resolution);
    return this.#change(task, (view) => {
      const key = path.join("/");
      const before = view.conflicts.length;
      view.conflicts = view.conflicts.filter((conflict) => conflict.path.join("/") !== key);
      if (view.conflicts.length === before) throw new BackendError("task.no_conflict", `no conflict at ${key}`);
      const stillConflicted = new Set(view.conflicts.map((conflict) => conflict.path[1]));
      for (const group of view.groups) {
        for (const item of group.items) item.conflicted = stillConflicted.has(item.id);
      }
    });
  }

  async submit(task: string): Promise<TaskView> {
    this.#enter("submit", task);
    return this.#change(task, (view) => {
      if (view.problems.length > 0) {
        throw new BackendError("task.submit_blocked", view.problems.map((p) => p.message).join("; "));
      }
      view.status = "submitted";
      view.editable = false;
    });
  }

  async blob(sha256: string): Promise<Uint8Array> {
    this.#enter("blob", sha256);
    const bytes = this.blobs.get(sha256);
    if (bytes === undefined) throw new BackendError("blob.not_found", `no blob ${sha256}`);
    return bytes.slice();
  }

  async identity(): Promise<Identity | null> {
    this.#enter("identity");
    return this.enrolled === null ? null : { ...this.enrolled };
  }

  async enrollHint(): Promise<string | null> {
    this.#enter("enrollHint");
    return this.hint;
  }

  async scanEnrollImage(bytes: Uint8Array): Promise<EnrollTarget> {
    this.#enter("scanEnrollImage", bytes);
    if (this.scanned === null) throw new BackendError("qr.not_found", "no QR code in the picture");
    return { ...this.scanned };
  }

  async enroll(text: string, server: string | null, deviceName: string): Promise<Identity> {
    this.#enter("enroll", text, server, deviceName);
    if (text.trim() === "") throw new BackendError("enroll.bad_text", "not a Fieldloop enrollment code");
    this.enrolled = { ...this.enrollAs };
    return { ...this.enrolled };
  }

  async syncStatus(): Promise<SyncView> {
    this.#enter("syncStatus");
    return { ...this.sync };
  }

  async syncNow(): Promise<void> {
    this.#enter("syncNow");
  }

  /** Records the call, then fails it when `failWith` is set. */
  #enter(method: Method, ...args: unknown[]): void {
    this.calls.push({ method, args });
    if (this.failWith) throw this.failWith;
  }

  #view(task: string): TaskView {
    const view = this.views.get(task);
    if (view === undefined) throw new BackendError("store.not_found", `task ${task} is not on this tablet`);
    return view;
  }

  /** Applies `edit` to a copy of the stored view and keeps the copy only if `edit` did not throw. */
  #change(task: string, edit: (view: TaskView) => void): TaskView {
    const view = structuredClone(this.#view(task));
    edit(view);
    view.dirty = true;
    this.views.set(task, view);
    this.rows = this.rows.map((row) =>
      row.id === task ? { ...row, dirty: true, ...(view.status === null ? {} : { status: view.status }) } : row,
    );
    return structuredClone(view);
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

  #me(): string {
    return this.enrolled?.person ?? "I-001";
  }

  /** A made-up SHA-256 (64 hex digits), different each time. */
  #hash(): string {
    this.#hashes += 1;
    return this.#hashes.toString(16).padStart(64, "0");
  }
}
