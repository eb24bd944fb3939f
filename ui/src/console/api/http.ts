// The console's HTTP client: one typed method per endpoint of /api/v1/console.
//
// Cookies go along (`credentials: 'same-origin'`); every request other than GET
// carries the session's CSRF token in `X-CSRF-Token`. An error answer
// `{code, message}` becomes a `ConsoleApiError`; a 401 saying the session is
// missing or expired also calls `onSessionLost` (the router sends to login).

import { type TaskFilter, filterToParams } from "../tasks/filter";
import type {
  ActiveRequest,
  CatalogEntry,
  CatalogKind,
  CatalogPage,
  ConflictKey,
  ConflictList,
  ConflictRequest,
  ConflictRow,
  ConsoleDirectory,
  ConsoleRecord,
  Dashboard,
  Decision,
  DecisionRequest,
  DrawList,
  DrawPreview,
  DrawRequest,
  DrawSummary,
  EntropyRequest,
  HandbookView,
  ImportAnswer,
  ImportFormat,
  ImportKind,
  ImportRefusal,
  MapConfig,
  NewTaskAnswer,
  NewTaskRequest,
  PlanImportAnswer,
  PlanList,
  PlanSpec,
  PlanView,
  SessionView,
  SubjectHit,
  TaskPage,
} from "./types";
import type { RecheckAnswer, RecheckRequest, RectificationList, RectFilter } from "../rectifications";
import type { FeedbackList, RevokeRequest, TaskVerify } from "../feedback";
import type {
  LeadAction,
  LeadFilter,
  LeadList,
  LeadPackage,
  LeadStepRequest,
  LeadTaskAnswer,
  LeadTaskRequest,
  LeadView,
  NewLeadRequest,
} from "../leads";

export class ConsoleApiError extends Error {
  readonly code: string;
  readonly status: number;
  /** The error answer's whole JSON body (null when it was not JSON). */
  readonly answer: unknown;

  constructor(code: string, status: number, message: string, answer: unknown = null) {
    super(message);
    this.name = "ConsoleApiError";
    this.code = code;
    this.status = status;
    this.answer = answer;
  }

  /** The server says there is no valid session: sign in again. */
  get sessionLost(): boolean {
    return this.status === 401 && SESSION_LOST.has(this.code);
  }
}

const SESSION_LOST = new Set(["console.no_session", "console.session_expired"]);

/** The code of a refused import (422): the answer lists every problem, and nothing was imported. */
export const IMPORT_INVALID = "console.import_invalid";

/** A refused import (422 `console.import_invalid`), with the server's list of problems. */
export class ImportRefusedError extends ConsoleApiError {
  readonly refusal: ImportRefusal;

  constructor(refusal: ImportRefusal, status = 422) {
    super(refusal.code, status, refusal.message, refusal);
    this.name = "ImportRefusedError";
    this.refusal = refusal;
  }
}

/** A request body sent as it is (a file), with its own Content-Type, instead of JSON. */
class RawBody {
  readonly data: Blob;
  readonly type: string;

  constructor(data: Blob, type: string) {
    this.data = data;
    this.type = type;
  }
}

/** The Content-Type the server's importer expects for each format. */
export const IMPORT_CONTENT_TYPES: Readonly<Record<ImportFormat, string>> = {
  csv: "text/csv",
  json: "application/json",
};

/** The HTTP status 0 for failures without an answer (network down, server gone). */
export const NETWORK_ERROR = "http.network";
export const BAD_ANSWER = "http.bad_answer";

export interface ConsoleApiOptions {
  /** Prefix of every URL, e.g. "http://127.0.0.1:7878"; "" (same origin) by default. */
  baseUrl?: string;
  fetch?: typeof fetch;
  /** Called on a 401 `console.no_session` / `console.session_expired`. */
  onSessionLost?: (error: ConsoleApiError) => void;
}

const PREFIX = "/api/v1/console";

export class ConsoleApi {
  readonly baseUrl: string;
  readonly #fetch: typeof fetch;
  #csrf: string | null = null;
  onSessionLost: ((error: ConsoleApiError) => void) | null;

  constructor(options: ConsoleApiOptions = {}) {
    this.baseUrl = (options.baseUrl ?? "").replace(/\/+$/, "");
    const f = options.fetch ?? globalThis.fetch;
    this.#fetch = (input, init) => f(input, init);
    this.onSessionLost = options.onSessionLost ?? null;
  }

  /** The CSRF token of the current session (set by `login` and `session`). */
  get csrf(): string | null {
    return this.#csrf;
  }

  set csrf(token: string | null) {
    this.#csrf = token;
  }

  /** The absolute (or same-origin) URL of a console path. */
  url(path: string, params?: URLSearchParams): string {
    const query = params?.toString() ?? "";
    return `${this.baseUrl}${PREFIX}${path}${query === "" ? "" : `?${query}`}`;
  }

  async login(user: string, password: string): Promise<SessionView> {
    const session = await this.#send<SessionView>("POST", "/login", { user, password });
    this.#csrf = session.csrf;
    return session;
  }

  async session(): Promise<SessionView> {
    const session = await this.#send<SessionView>("GET", "/session");
    this.#csrf = session.csrf;
    return session;
  }

  async logout(): Promise<void> {
    try {
      await this.#send<null>("POST", "/logout", {});
    } finally {
      this.#csrf = null;
    }
  }

  directory(): Promise<ConsoleDirectory> {
    return this.#send("GET", "/directory");
  }

  /** An administrator turns an inspector off (their devices are refused) or on again. */
  async setInspectorActive(id: string, active: boolean): Promise<void> {
    const body: ActiveRequest = { active };
    await this.#send<null>("POST", `/inspectors/${encodeURIComponent(id)}/active`, body);
  }

  tasks(filter: TaskFilter): Promise<TaskPage> {
    return this.#send("GET", "/tasks", undefined, filterToParams(filter, true));
  }

  /** The download address of the list under `filter` (all pages). */
  exportUrl(filter: TaskFilter, format: "csv" | "json"): string {
    const params = filterToParams(filter, false);
    params.delete("page");
    params.delete("per_page");
    params.set("format", format);
    return this.url("/tasks/export", params);
  }

  dashboard(): Promise<Dashboard> {
    return this.#send("GET", "/dashboard");
  }

  /** The businesses' feedback (亮码检查) on the tasks the user sees, newest first. */
  feedback(): Promise<FeedbackList> {
    return this.#send("GET", "/feedback");
  }

  /** A task's verify code: expiry, revocation, feedback. */
  taskVerify(id: string): Promise<TaskVerify> {
    return this.#send("GET", `/tasks/${encodeURIComponent(id)}/verify`);
  }

  /** Revokes a task's verify code (the public page then says so). */
  revokeVerifyCode(id: string, reason: string): Promise<TaskVerify> {
    const body: RevokeRequest = { reason };
    return this.#send("POST", `/tasks/${encodeURIComponent(id)}/verify-code/revoke`, body);
  }

  record(id: string): Promise<ConsoleRecord> {
    return this.#send("GET", `/tasks/${encodeURIComponent(id)}`);
  }

  review(id: string, action: Decision, comment: string | null): Promise<ConsoleRecord> {
    const body: DecisionRequest = { action, comment };
    return this.#send("POST", `/tasks/${encodeURIComponent(id)}/review`, body);
  }

  /**
   * A blob: an original, or the thumbnail or display copy the tablet made (each a blob of its own).
   * `task` names the record that shows it: a supervisor who sees the task through one of its
   * departments (not its team) reads its evidence that way.
   */
  blobUrl(sha256: string, task?: string): string {
    const params = task === undefined ? undefined : new URLSearchParams({ task });
    return this.url(`/blobs/${encodeURIComponent(sha256)}`, params);
  }

  /** The task's 现场检查笔录 as PDF (the same record always gives the same bytes). */
  recordPdfUrl(id: string): string {
    return this.url(`/tasks/${encodeURIComponent(id)}/record.pdf`);
  }

  /** The 责令改正通知书 of one finding with a rectification order, as PDF. */
  noticePdfUrl(id: string, finding: string): string {
    return this.url(`/tasks/${encodeURIComponent(id)}/notice.pdf`, new URLSearchParams({ finding }));
  }

  subjects(q: string): Promise<SubjectHit[]> {
    return this.#send("GET", "/subjects", undefined, new URLSearchParams({ q }));
  }

  handbook(industry: string): Promise<HandbookView> {
    return this.#send("GET", `/handbook/${encodeURIComponent(industry)}`);
  }

  createTask(task: NewTaskRequest): Promise<NewTaskAnswer> {
    return this.#send("POST", "/tasks", task);
  }

  config(): Promise<MapConfig> {
    return this.#send("GET", "/config");
  }

  /**
   * An administrator imports a directory file (its bytes as they are) through
   * the server's importer. A file with problems is refused as a whole: that
   * throws an `ImportRefusedError` listing them.
   */
  async importDirectory(kind: ImportKind, format: ImportFormat, file: Blob): Promise<ImportAnswer> {
    const params = new URLSearchParams({ kind, format });
    const body = new RawBody(file, IMPORT_CONTENT_TYPES[format]);
    try {
      return await this.#send<ImportAnswer>("POST", "/import", body, params);
    } catch (error) {
      const refusal = error instanceof ConsoleApiError && error.code === IMPORT_INVALID ? refusalOf(error.answer) : null;
      throw refusal === null ? error : new ImportRefusedError(refusal, (error as ConsoleApiError).status);
    }
  }

  /**
   * One directory's entries (administrators only): those whose key or name
   * holds `q` (for subjects also the USCC or address), at most `limit` of
   * them (the server's default 200, at most 500); `total` counts them all.
   */
  catalog(kind: CatalogKind, q?: string, limit?: number): Promise<CatalogPage> {
    const params = new URLSearchParams();
    if (q !== undefined && q !== "") params.set("q", q);
    if (limit !== undefined) params.set("limit", String(limit));
    return this.#send("GET", `/catalog/${encodeURIComponent(kind)}`, undefined, params);
  }

  /**
   * Adds or changes one directory entry: the importer gets a JSON array of
   * just that entry, and replaces the row with the same key (code, id, USCC,
   * handbook industry) or adds it. A refusal throws an `ImportRefusedError`
   * whose problems all have index 0.
   */
  saveEntry<K extends CatalogKind>(kind: K, entry: CatalogEntry<K>): Promise<ImportAnswer> {
    const body = new Blob([JSON.stringify([entry])], { type: IMPORT_CONTENT_TYPES.json });
    return this.importDirectory(kind, "json", body);
  }

  // ── Plans, draws and declared conflicts (双随机、一公开) ─────────────────────

  /** The plans the user may see, newest first. */
  plans(): Promise<PlanList> {
    return this.#send("GET", "/plans");
  }

  plan(id: string): Promise<PlanView> {
    return this.#send("GET", `/plans/${encodeURIComponent(id)}`);
  }

  /** A new draft plan. */
  createPlan(spec: PlanSpec): Promise<PlanView> {
    return this.#send("POST", "/plans", spec);
  }

  /** Changes a draft (409 `console.state` once the plan is fixed). */
  updatePlan(id: string, spec: PlanSpec): Promise<PlanView> {
    return this.#send("PUT", `/plans/${encodeURIComponent(id)}`, spec);
  }

  /** Deletes a draft (409 `console.state` once the plan is fixed). */
  async deletePlan(id: string): Promise<void> {
    await this.#send<null>("DELETE", `/plans/${encodeURIComponent(id)}`);
  }

  /**
   * A file of plans (a JSON array of `PlanSpec`, its bytes as they are) made
   * into drafts, all or none: a 422 `console.bad_input` names the plan's number and field.
   */
  importPlans(file: Blob): Promise<PlanImportAnswer> {
    return this.#send("POST", "/plans/import", new RawBody(file, IMPORT_CONTENT_TYPES.json));
  }

  /** Locks a draft: its pools are snapshotted and its commitment made. */
  fixPlan(id: string): Promise<PlanView> {
    return this.#send("POST", `/plans/${encodeURIComponent(id)}/fix`);
  }

  /** The entropy of a fixed plan, one value per named source, typed in by someone other than who fixed it. */
  enterEntropy(id: string, values: string[]): Promise<PlanView> {
    const body: EntropyRequest = { values };
    return this.#send("POST", `/plans/${encodeURIComponent(id)}/entropy`, body);
  }

  /** The download address of a fixed plan's pools (restricted: each subject's risk class). */
  planPoolsUrl(id: string): string {
    return this.url(`/plans/${encodeURIComponent(id)}/pools`);
  }

  /** What a draw over fixed plans would do, with the subjects in `split` visited by each plan alone. */
  previewDraw(request: DrawRequest): Promise<DrawPreview> {
    return this.#send("POST", "/draws/preview", request);
  }

  /** Commits a draw: its tasks are created and assigned, its plans become drawn. */
  commitDraw(request: DrawRequest): Promise<DrawSummary> {
    return this.#send("POST", "/draws", request);
  }

  draws(): Promise<DrawList> {
    return this.#send("GET", "/draws");
  }

  /** The download address of a committed draw's pools (restricted), for `draw verify --pools`. */
  drawPoolsUrl(id: string): string {
    return this.url(`/draws/${encodeURIComponent(id)}/pools`);
  }

  /** The public page of a committed draw (no sign-in; outside the console API). */
  publicDrawUrl(id: string): string {
    return `${this.baseUrl}/public/draws/${encodeURIComponent(id)}`;
  }

  /** The public record of a committed draw (RECORD.json, no sign-in), for anyone to verify. */
  publicRecordUrl(id: string): string {
    return `${this.baseUrl}/api/v1/public/draws/${encodeURIComponent(id)}/record.json`;
  }

  /** The declared conflicts of interest (回避) of the user's inspectors. */
  conflicts(): Promise<ConflictList> {
    return this.#send("GET", "/conflicts");
  }

  declareConflict(request: ConflictRequest): Promise<ConflictRow> {
    return this.#send("POST", "/conflicts", request);
  }

  async withdrawConflict(key: ConflictKey): Promise<void> {
    await this.#send<null>("POST", "/conflicts/delete", key);
  }

  /** Rectifications (整改复查) the user follows up, in one state or all. */
  rectifications(state: RectFilter = "all"): Promise<RectificationList> {
    const params = new URLSearchParams(state === "all" ? {} : { state });
    return this.#send("GET", "/rectifications", undefined, params);
  }

  /** Starts the re-check (复查) task of a rectification. */
  recheck(id: string, request: RecheckRequest = {}): Promise<RecheckAnswer> {
    return this.#send("POST", `/rectifications/${encodeURIComponent(id)}/recheck`, request);
  }

  /** The leads inbox (案源线索) of the user's departments, in one state or all. */
  leads(state: LeadFilter = "all"): Promise<LeadList> {
    const params = new URLSearchParams(state === "all" ? {} : { state });
    return this.#send("GET", "/leads", undefined, params);
  }

  /** One lead, its events and the steps it allows. */
  lead(id: string): Promise<LeadView> {
    return this.#send("GET", `/leads/${encodeURIComponent(id)}`);
  }

  /** A lead typed in on the console. */
  createLead(request: NewLeadRequest): Promise<LeadView> {
    return this.#send("POST", "/leads", request);
  }

  /** A step of a lead (dispatch, transfer, verify, handle, answer, duplicate; package receipt and acceptance). */
  leadStep(id: string, action: LeadAction, request: LeadStepRequest = {}): Promise<LeadView> {
    const path =
      action === "package_received" || action === "package_accepted"
        ? `/leads/${encodeURIComponent(id)}/package/${action === "package_received" ? "received" : "accepted"}`
        : `/leads/${encodeURIComponent(id)}/${action}`;
    return this.#send("POST", path, request);
  }

  /** Starts a task from a lead: its subject, the chosen items. */
  leadTask(id: string, request: LeadTaskRequest): Promise<LeadTaskAnswer> {
    return this.#send("POST", `/leads/${encodeURIComponent(id)}/task`, request);
  }

  /** Builds the evidence package of a criminal lead (a ZIP; recorded as sent with its SHA-256). */
  async leadPackage(id: string): Promise<LeadPackage> {
    const headers: Record<string, string> = { Accept: "application/zip" };
    if (this.#csrf !== null) headers["X-CSRF-Token"] = this.#csrf;
    const target = [this.baseUrl, PREFIX, `/leads/${encodeURIComponent(id)}/package`].join("");
    let response: Response;
    try {
      response = await this.#fetch(target, { method: "POST", headers, credentials: "same-origin" });
    } catch (cause) {
      throw new ConsoleApiError(NETWORK_ERROR, 0, cause instanceof Error ? cause.message : String(cause));
    }
    if (!response.ok) {
      const error = await errorOf(response);
      if (error.sessionLost) {
        this.#csrf = null;
        this.onSessionLost?.(error);
      }
      throw error;
    }
    return { blob: await response.blob(), sha256: response.headers.get("X-Package-Sha256") ?? "" };
  }

  async #send<T>(method: string, path: string, body?: unknown, params?: URLSearchParams): Promise<T> {
    const headers: Record<string, string> = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = body instanceof RawBody ? body.type : "application/json";
    if (method !== "GET" && this.#csrf !== null) headers["X-CSRF-Token"] = this.#csrf;
    const init: RequestInit = { method, headers, credentials: "same-origin" };
    if (body !== undefined) init.body = body instanceof RawBody ? body.data : JSON.stringify(body);

    let response: Response;
    try {
      response = await this.#fetch(this.url(path, params), init);
    } catch (cause) {
      throw new ConsoleApiError(NETWORK_ERROR, 0, cause instanceof Error ? cause.message : String(cause));
    }

    if (!response.ok) {
      const error = await errorOf(response);
      if (error.sessionLost) {
        this.#csrf = null;
        this.onSessionLost?.(error);
      }
      throw error;
    }
    if (response.status === 204) return null as T;
    const text = await response.text();
    if (text === "") return null as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new ConsoleApiError(BAD_ANSWER, response.status, text.slice(0, 200));
    }
  }
}

/** The `{code, message}` of an error answer; a made-up code when the body is not one. */
async function errorOf(response: Response): Promise<ConsoleApiError> {
  let text = "";
  try {
    text = await response.text();
  } catch {
    // No body to read.
  }
  try {
    const body: unknown = JSON.parse(text);
    if (typeof body === "object" && body !== null) {
      const { code, message } = body as Record<string, unknown>;
      if (typeof code === "string") {
        return new ConsoleApiError(code, response.status, typeof message === "string" ? message : code, body);
      }
    }
  } catch {
    // Not JSON (a proxy's HTML page, say): fall through.
  }
  const message = text.trim() === "" ? `HTTP ${response.status} ${response.statusText}`.trim() : text.slice(0, 200);
  return new ConsoleApiError(`http.${response.status}`, response.status, message);
}

/** The `ImportRefusal` in a 422 answer; null when the body is not one. */
function refusalOf(answer: unknown): ImportRefusal | null {
  if (typeof answer !== "object" || answer === null) return null;
  const { code, message, count, problems } = answer as Record<string, unknown>;
  if (typeof code !== "string" || typeof message !== "string" || !Array.isArray(problems)) return null;
  const list = problems.filter(
    (p): p is ImportRefusal["problems"][number] =>
      typeof p === "object" && p !== null && typeof (p as { message?: unknown }).message === "string",
  );
  return {
    code,
    message,
    count: typeof count === "number" ? count : list.length,
    problems: list.map((p) => ({
      line: typeof p.line === "number" ? p.line : null,
      index: typeof p.index === "number" ? p.index : null,
      message: p.message,
    })),
  };
}
