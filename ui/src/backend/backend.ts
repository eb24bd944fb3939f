// The one door from the UI to Fieldloop's Rust side.
//
// Screens depend on `Backend` only. `TauriBackend` (tauri.ts) calls the tablet
// app's commands; an HTTP implementation for the supervisor console will sit
// beside it, and tests use an in-memory double. Payload types come from Rust
// (ts-rs, in ../bindings).

import type { CommandError } from "../bindings/CommandError";
import type { EnrollTarget } from "../bindings/EnrollTarget";
import type { ErrorCode } from "../bindings/ErrorCode";
import type { Fix } from "../bindings/Fix";
import type { GeoPoint } from "../bindings/GeoPoint";
import type { HistoryEntry } from "../bindings/HistoryEntry";
import type { Identity } from "../bindings/Identity";
import type { NewFinding } from "../bindings/NewFinding";
import type { NewTransfer } from "../bindings/NewTransfer";
import type { Outcome } from "../bindings/Outcome";
import type { PrintedFile } from "../bindings/PrintedFile";
import type { RecordNoteEdit } from "../bindings/RecordNoteEdit";
import type { Resolution } from "../bindings/Resolution";
import type { SignerRole } from "../bindings/SignerRole";
import type { SyncView } from "../bindings/SyncView";
import type { TaskQuery } from "../bindings/TaskQuery";
import type { TaskRow } from "../bindings/TaskRow";
import type { TaskView } from "../bindings/TaskView";
import type { UnsyncedWork } from "../bindings/UnsyncedWork";
import { toErrorCode } from "../i18n/errors";

export type {
  CommandError,
  EnrollTarget,
  ErrorCode,
  Fix,
  GeoPoint,
  HistoryEntry,
  Identity,
  NewFinding,
  NewTransfer,
  Outcome,
  PrintedFile,
  RecordNoteEdit,
  Resolution,
  SignerRole,
  SyncView,
  TaskQuery,
  TaskRow,
  TaskView,
  UnsyncedWork,
};

/** What an answer changes; `null` fields are left as they are. */
export interface AnswerChange {
  result: Outcome | null;
  value: string | null;
  note: string | null;
}

/**
 * Every call Fieldloop's UI makes to the Rust side. Calls reject with a `BackendError`.
 * Every call that records something answers the task's new `TaskView`, exactly as stored.
 */
export interface Backend {
  /** The task list of the local store (tablet) or of the server (console). */
  listTasks(query: TaskQuery): Promise<TaskRow[]>;
  taskView(task: string): Promise<TaskView>;
  /** The task's audit trail, oldest first. */
  taskHistory(task: string): Promise<HistoryEntry[]>;
  /** The verification QR code as an SVG document (text). */
  taskQr(task: string): Promise<string>;

  checkIn(task: string, location: GeoPoint | null): Promise<TaskView>;
  answer(task: string, item: string, change: AnswerChange): Promise<TaskView>;
  /** A photo file (JPEG, PNG, HEIC…) for the task, or for one item. */
  addPhoto(task: string, item: string | null, bytes: Uint8Array, location: GeoPoint | null): Promise<TaskView>;
  setCaption(task: string, sha256: string, caption: string): Promise<TaskView>;
  withdrawEvidence(task: string, sha256: string, reason: string): Promise<TaskView>;
  addTrace(task: string, fixes: Fix[]): Promise<TaskView>;
  addFinding(task: string, finding: NewFinding): Promise<TaskView>;
  addLeadTransfer(task: string, transfer: NewTransfer): Promise<TaskView>;
  /** A signature drawn on the pad, as PNG bytes. */
  sign(task: string, role: SignerRole, signer: string, png: Uint8Array): Promise<TaskView>;
  refuseToSign(task: string, role: SignerRole, signer: string, reason: string): Promise<TaskView>;
  resolveConflict(task: string, path: string[], resolution: Resolution): Promise<TaskView>;
  submit(task: string): Promise<TaskView>;
  /** Writes the 笔录 fields the edits name (and only those). */
  editRecordNotes(task: string, edits: RecordNoteEdit[]): Promise<TaskView>;
  /** Prints the 现场检查笔录 on the tablet, with no network; answers where the PDF was saved. */
  printRecord(task: string): Promise<PrintedFile>;
  /** The bytes of a thumbnail, display copy or signature image. */
  blob(sha256: string): Promise<Uint8Array>;
  /**
   * A URL the web view loads a thumbnail, display copy or signature image
   * from by itself (the bytes never pass through JavaScript), or `null`
   * where there is none: then `blob` is asked for the bytes.
   */
  blobSrc(sha256: string): string | null;

  /** Who the tablet acts for; `null` until enrolled. */
  identity(): Promise<Identity | null>;
  /** An enrollment link to prefill (the demo starts the app with one). */
  enrollHint(): Promise<string | null>;
  /** Reads the enrollment QR code in a picture. */
  scanEnrollImage(bytes: Uint8Array): Promise<EnrollTarget>;
  /** Enrolls with the QR text or a typed code (plus the server when the code has none). */
  enroll(text: string, server: string | null, deviceName: string): Promise<Identity>;
  syncStatus(): Promise<SyncView>;
  syncNow(): Promise<void>;
  /** The work the server does not have yet (what a wipe takes with it). */
  unsyncedWork(): Promise<UnsyncedWork>;
  /** Erases the tablet's data once the server has revoked it; answers the work that went with it. */
  wipeIfRevoked(): Promise<UnsyncedWork>;
}

/**
 * A failed backend call: a stable machine `code` from the registry (e.g. `"store.not_found"`)
 * the UI branches on and has words for (`errorText`), and the Rust side's `message`, for
 * developers and for the "details" line where a screen has one.
 */
export class BackendError extends Error implements CommandError {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = "BackendError";
    this.code = code;
  }

  /**
   * Turns whatever a call rejected with into a `BackendError`. A code this version does not
   * know (a newer Rust side) becomes `server.unknown`, with its message.
   */
  static from(reason: unknown): BackendError {
    if (reason instanceof BackendError) return reason;
    if (isCommandError(reason)) return new BackendError(toErrorCode(reason.code), reason.message);
    if (reason instanceof Error) return new BackendError(TRANSPORT_ERROR, reason.message);
    return new BackendError(TRANSPORT_ERROR, String(reason));
  }
}

/** Code for failures that did not come from a command (IPC refused, command missing, …). */
export const TRANSPORT_ERROR = "ipc.failed" satisfies ErrorCode;

/** `{ code, message }` as a command rejects with; the code is any string until checked. */
function isCommandError(value: unknown): value is { code: string; message: string } {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.code === "string" && typeof v.message === "string";
}
