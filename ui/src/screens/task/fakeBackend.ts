// A fake Backend for the task screen's tests: it holds one TaskView and
// changes it the way the tablet does (answers, check-ins, photos, trace,
// findings, transfers, signatures, conflicts, submit), recomputing the
// problems that block submitting. It records every call, can fail a call
// once, and can hold calls until released.

import { type AnswerChange, type Backend, BackendError, type Fix, type GeoPoint, type HistoryEntry, type NewFinding, type NewTransfer, type Resolution, type SignerRole, type TaskView } from "../../backend/backend";
import type { EnrollTarget } from "../../bindings/EnrollTarget";
import type { Evidence } from "../../bindings/Evidence";
import type { Identity } from "../../bindings/Identity";
import type { Outcome } from "../../bindings/Outcome";
import type { ProblemView } from "../../bindings/ProblemView";
import type { SyncView } from "../../bindings/SyncView";
import type { TaskRow } from "../../bindings/TaskRow";
import { fixtureHistory, fixtureView, ME, NOW, QR_SVG } from "./fixture";

export interface Call {
  method: keyof Backend;
  args: unknown[];
}

export class FakeBackend implements Backend {
  view: TaskView;
  history: HistoryEntry[] = fixtureHistory();
  qr = QR_SVG;
  readonly calls: Call[] = [];
  /** Blobs the tablet does not hold (`blob` rejects for them). */
  readonly missingBlobs = new Set<string>();
  /** What `syncStatus` says about the last sync. */
  lastSyncedAt: number | null = null;
  /** Time of the changes it records. */
  now: () => number = () => NOW;
  readonly #failures = new Map<keyof Backend, BackendError[]>();
  #gate: Promise<void> | null = null;
  #shas = 0;

  constructor(view: TaskView = fixtureView()) {
    this.view = view;
  }

  /** The next call to `method` rejects with `error`. */
  failNext(method: keyof Backend, error: BackendError): void {
    this.#failures.set(method, [...(this.#failures.get(method) ?? []), error]);
  }

  /** Holds every call until the returned function is called. */
  hold(): () => void {
    let release!: () => void;
    this.#gate = new Promise<void>((resolve) => (release = resolve));
    return () => {
      this.#gate = null;
      release();
    };
  }

  callsOf(method: keyof Backend): unknown[][] {
    return this.calls.filter((c) => c.method === method).map((c) => c.args);
  }

  async #enter(method: keyof Backend, args: unknown[]): Promise<void> {
    this.calls.push({ method, args });
    if (this.#gate !== null) await this.#gate;
    const failures = this.#failures.get(method);
    const failure = failures?.shift();
    if (failure !== undefined) throw failure;
  }

  /** Runs a change of the record and answers the new view. */
  async #change(method: keyof Backend, args: unknown[], change: (view: TaskView) => void): Promise<TaskView> {
    await this.#enter(method, args);
    if (!this.view.editable) throw new BackendError("task.frozen", "任务已提交，记录已冻结 (the task is frozen)");
    change(this.view);
    this.#recompute();
    return structuredClone(this.view);
  }

  #item(id: string) {
    for (const group of this.view.groups) {
      const item = group.items.find((i) => i.id === id);
      if (item !== undefined) return item;
    }
    throw new BackendError("task.unknown_item", `没有检查项 ${id} (unknown item)`);
  }

  #newSha(): string {
    this.#shas += 1;
    return this.#shas.toString(16).padStart(64, "e");
  }

  /** What Rust recomputes on every view: answered counts, item evidence, conflict marks, problems. */
  #recompute(): void {
    const v = this.view;
    const live = new Set(v.evidence.filter((e) => e.withdrawn_at === null).map((e) => e.sha256));
    const problems: ProblemView[] = [];
    const have = v.inspectors.filter((i) => i.checked_in_at !== null).length;
    if (have < 2) problems.push({ problem: { kind: "too_few_checked_in", have, need: 2 }, item_title: null, message: `签到执法人员不足：已签到 ${have} 人，至少需要 2 人` });
    for (const group of v.groups) {
      group.answered = group.items.filter((i) => i.answer.result !== null).length;
      for (const item of group.items) {
        item.evidence = v.evidence.filter((e) => e.item === item.id && live.has(e.sha256)).map((e) => e.sha256);
        item.conflicted = v.conflicts.some((c) => c.path[0] === "checklist" && c.path[1] === item.id);
        if (item.answer.result === null) {
          problems.push({ problem: { kind: "unanswered", item: item.id }, item_title: item.title, message: `检查项 ${item.id} 尚未填写结果` });
        } else if (item.answer.result !== "not_applicable" && item.requires_evidence && item.evidence.length === 0) {
          problems.push({ problem: { kind: "missing_evidence", item: item.id }, item_title: item.title, message: `检查项 ${item.id} 需要上传证据` });
        }
      }
    }
    for (const c of v.conflicts) {
      problems.push({ problem: { kind: "open_conflict", path: c.path.join("/") }, item_title: null, message: `${c.path.join("/")} 存在未解决的冲突` });
    }
    v.problems = problems;
    v.dirty = true;
  }

  #writeAnswerField(item: string, field: "result" | "value" | "note", value: unknown): void {
    const answer = this.#item(item).answer;
    if (field === "result") answer.result = value as Outcome | null;
    else answer[field] = value === null ? null : String(value);
    const key = ["checklist", item, "answer", field].join("/");
    this.view.conflicts = this.view.conflicts.filter((c) => c.path.join("/") !== key);
  }

  // ---- Backend ----

  async listTasks(): Promise<TaskRow[]> {
    return [];
  }

  async taskView(task: string): Promise<TaskView> {
    await this.#enter("taskView", [task]);
    return structuredClone(this.view);
  }

  async taskHistory(task: string): Promise<HistoryEntry[]> {
    await this.#enter("taskHistory", [task]);
    return structuredClone(this.history);
  }

  async taskQr(task: string): Promise<string> {
    await this.#enter("taskQr", [task]);
    return this.qr;
  }

  checkIn(task: string, location: GeoPoint | null): Promise<TaskView> {
    return this.#change("checkIn", [task, location], (v) => {
      const me = v.inspectors.find((i) => i.me);
      if (me === undefined) throw new BackendError("task.not_allowed", "不是本任务的执法人员 (not an inspector of this task)");
      me.checked_in_at = this.now();
      me.checked_in_location = location;
      v.events.push({ kind: "checked_in", at: this.now(), by: me.id, role: "inspector", comment: null, location });
      if (v.status === "assigned") v.status = "in_progress";
    });
  }

  answer(task: string, item: string, change: AnswerChange): Promise<TaskView> {
    return this.#change("answer", [task, item, change], () => {
      if (change.result !== null) this.#writeAnswerField(item, "result", change.result);
      if (change.value !== null) this.#writeAnswerField(item, "value", change.value);
      if (change.note !== null) this.#writeAnswerField(item, "note", change.note);
    });
  }

  addPhoto(task: string, item: string | null, bytes: Uint8Array, location: GeoPoint | null): Promise<TaskView> {
    return this.#change("addPhoto", [task, item, bytes, location], (v) => {
      if (bytes.length === 0) throw new BackendError("photo.empty", "the photo file is empty; take the photo again");
      if (item !== null) this.#item(item);
      const evidence: Evidence = {
        sha256: this.#newSha(),
        kind: "photo",
        taken_at: this.now(),
        by: ME,
        location,
        caption: null,
        mime: "image/jpeg",
        bytes: bytes.length,
        thumb_sha256: this.#newSha(),
        display_sha256: this.#newSha(),
        item,
        withdrawn_at: null,
        withdrawn_by: null,
        withdrawn_reason: null,
      };
      v.evidence.unshift(evidence);
    });
  }

  setCaption(task: string, sha256: string, caption: string): Promise<TaskView> {
    return this.#change("setCaption", [task, sha256, caption], (v) => {
      const e = v.evidence.find((x) => x.sha256 === sha256);
      if (e === undefined) throw new BackendError("task.unknown_evidence", `没有证据 ${sha256}`);
      e.caption = caption === "" ? null : caption;
    });
  }

  withdrawEvidence(task: string, sha256: string, reason: string): Promise<TaskView> {
    return this.#change("withdrawEvidence", [task, sha256, reason], (v) => {
      if (reason.trim() === "") throw new BackendError("task.reason_required", "须填写原因 (a reason is required)");
      const e = v.evidence.find((x) => x.sha256 === sha256);
      if (e === undefined) throw new BackendError("task.unknown_evidence", `没有证据 ${sha256}`);
      e.withdrawn_at = this.now();
      e.withdrawn_by = ME;
      e.withdrawn_reason = reason;
    });
  }

  addTrace(task: string, fixes: Fix[]): Promise<TaskView> {
    return this.#change("addTrace", [task, fixes], (v) => {
      v.trace.push(...fixes.map((f) => ({ ...f, by: ME })));
    });
  }

  addFinding(task: string, finding: NewFinding): Promise<TaskView> {
    return this.#change("addFinding", [task, finding], (v) => {
      v.findings.push({ id: `f${v.findings.length + 1}`, ...finding, by: ME, at: this.now() });
    });
  }

  addLeadTransfer(task: string, transfer: NewTransfer): Promise<TaskView> {
    return this.#change("addLeadTransfer", [task, transfer], (v) => {
      v.lead_transfers.push({ id: `x${v.lead_transfers.length + 1}`, ...transfer, by: ME, at: this.now() });
    });
  }

  sign(task: string, role: SignerRole, signer: string, png: Uint8Array): Promise<TaskView> {
    return this.#change("sign", [task, role, signer, png], (v) => {
      const sha256 = this.#newSha();
      v.evidence.unshift({
        sha256,
        kind: "signature",
        taken_at: this.now(),
        by: ME,
        location: null,
        caption: signer,
        mime: "image/png",
        bytes: png.length,
        thumb_sha256: null,
        display_sha256: null,
        item: null,
        withdrawn_at: null,
        withdrawn_by: null,
        withdrawn_reason: null,
      });
      v.signatures.push({ role, signer, image: sha256, refused_reason: null, by: ME, at: this.now() });
    });
  }

  refuseToSign(task: string, role: SignerRole, signer: string, reason: string): Promise<TaskView> {
    return this.#change("refuseToSign", [task, role, signer, reason], (v) => {
      if (reason.trim() === "") throw new BackendError("task.reason_required", "须填写原因 (a reason is required)");
      v.signatures.push({ role, signer, image: null, refused_reason: reason, by: ME, at: this.now() });
    });
  }

  resolveConflict(task: string, path: string[], resolution: Resolution): Promise<TaskView> {
    return this.#change("resolveConflict", [task, path, resolution], (v) => {
      const conflict = v.conflicts.find((c) => c.path.join("/") === path.join("/"));
      if (conflict === undefined) throw new BackendError("task.no_conflict", `${path.join("/")} 没有冲突`);
      let value: unknown;
      if (resolution.kind === "pick") {
        const picked = conflict.values.find((x) => x.op === resolution.op);
        if (picked === undefined) throw new BackendError("task.no_conflict", `没有操作 ${resolution.op}`);
        value = picked.value;
      } else {
        value = resolution.value;
      }
      const [root, item, sub, field] = path;
      if (root === "checklist" && item !== undefined && sub === "answer" && (field === "result" || field === "value" || field === "note")) {
        this.#writeAnswerField(item, field, value);
      }
      v.conflicts = v.conflicts.filter((c) => c !== conflict);
    });
  }

  async submit(task: string): Promise<TaskView> {
    await this.#enter("submit", [task]);
    if (this.view.problems.length > 0) {
      throw new BackendError("task.submit_blocked", `不能提交：${this.view.problems.map((p) => p.message).join("；")}`);
    }
    this.view.status = "submitted";
    this.view.editable = false;
    this.view.events.push({ kind: "submitted", at: this.now(), by: ME, role: "inspector", comment: null, location: null });
    return structuredClone(this.view);
  }

  async blob(sha256: string): Promise<Uint8Array> {
    await this.#enter("blob", [sha256]);
    if (this.missingBlobs.has(sha256)) throw new BackendError("blob.not_found", `blob ${sha256} is not on this tablet`);
    return new Uint8Array([0xff, 0xd8, 0xff, 0xe0, sha256.length]);
  }

  async identity(): Promise<Identity | null> {
    return { person: ME, name: "钟志强", team: "T-QX-01", team_name: "青溪县联合检查一组", server: null, device: null };
  }

  async enrollHint(): Promise<string | null> {
    return null;
  }

  async scanEnrollImage(): Promise<EnrollTarget> {
    throw new BackendError("enroll.bad_text", "not used by the task screen");
  }

  async enroll(): Promise<Identity> {
    throw new BackendError("enroll.bad_text", "not used by the task screen");
  }

  async syncStatus(): Promise<SyncView> {
    return { phase: this.lastSyncedAt === null ? "idle" : "synced", last_synced_at: this.lastSyncedAt, waiting_tasks: 0, waiting_uploads: 0, rounds: 0, uploaded: 0, uploads_left: 0, code: null, message: null, retry_in_ms: null, retry_at: null };
  }

  async syncNow(): Promise<void> {}
}
