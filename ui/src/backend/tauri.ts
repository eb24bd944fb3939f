// `Backend` over Tauri IPC: each method is one command of src-tauri/src/commands/.
//
// Tauri turns the Rust commands' snake_case parameters into camelCase keys.
// Commands that carry a file (a photo, a signature, a QR picture) take the
// bytes as the raw body and their other arguments as `x-…` headers, each
// percent-encoded (header values must be ASCII; the Rust side decodes them).

import { convertFileSrc, invoke } from "@tauri-apps/api/core";
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

/** Options of a call: the headers of a file-carrying command. */
export interface InvokeOptions {
  headers: Record<string, string>;
}

/** The scheme the app serves the record's images on (`blob_scheme::SCHEME`). */
export const BLOB_SCHEME = "fieldloop-blob";

/** The signature of `invoke` from `@tauri-apps/api/core`; replaceable in tests. */
export type Invoke = <T>(
  command: string,
  args?: Record<string, unknown> | Uint8Array,
  options?: InvokeOptions,
) => Promise<T>;

export class TauriBackend implements Backend {
  readonly #invoke: Invoke;

  constructor(call: Invoke = invoke) {
    this.#invoke = call;
  }

  listTasks(query: TaskQuery): Promise<TaskRow[]> {
    return this.#call<TaskRow[]>("list_tasks", { query });
  }

  taskView(task: string): Promise<TaskView> {
    return this.#call<TaskView>("task_view", { task });
  }

  taskHistory(task: string): Promise<HistoryEntry[]> {
    return this.#call<HistoryEntry[]>("task_history", { task });
  }

  taskQr(task: string): Promise<string> {
    return this.#call<string>("task_qr", { task });
  }

  checkIn(task: string, location: GeoPoint | null): Promise<TaskView> {
    return this.#call<TaskView>("check_in", { task, location });
  }

  answer(task: string, item: string, change: AnswerChange): Promise<TaskView> {
    const { result, value, note } = change;
    return this.#call<TaskView>("answer", { task, item, result, value, note });
  }

  addPhoto(task: string, item: string | null, bytes: Uint8Array, location: GeoPoint | null): Promise<TaskView> {
    const headers: Record<string, string> = { "x-task": encodeURIComponent(task) };
    if (item !== null) headers["x-item"] = encodeURIComponent(item);
    if (location !== null) {
      headers["x-lat"] = encodeURIComponent(String(location.lat));
      headers["x-lon"] = encodeURIComponent(String(location.lon));
    }
    return this.#call<TaskView>("add_photo", bytes, { headers });
  }

  setCaption(task: string, sha256: string, caption: string): Promise<TaskView> {
    return this.#call<TaskView>("set_caption", { task, sha256, caption });
  }

  withdrawEvidence(task: string, sha256: string, reason: string): Promise<TaskView> {
    return this.#call<TaskView>("withdraw_evidence", { task, sha256, reason });
  }

  addTrace(task: string, fixes: Fix[]): Promise<TaskView> {
    return this.#call<TaskView>("add_trace", { task, fixes });
  }

  addFinding(task: string, finding: NewFinding): Promise<TaskView> {
    return this.#call<TaskView>("add_finding", { task, finding });
  }

  addLeadTransfer(task: string, transfer: NewTransfer): Promise<TaskView> {
    return this.#call<TaskView>("add_lead_transfer", { task, transfer });
  }

  editRecordNotes(task: string, edits: RecordNoteEdit[]): Promise<TaskView> {
    return this.#call<TaskView>("edit_record_notes", { task, edits });
  }

  printRecord(task: string): Promise<PrintedFile> {
    return this.#call<PrintedFile>("print_record", { task });
  }

  sign(task: string, role: SignerRole, signer: string, png: Uint8Array): Promise<TaskView> {
    const headers = {
      "x-task": encodeURIComponent(task),
      "x-role": encodeURIComponent(role),
      "x-signer": encodeURIComponent(signer),
    };
    return this.#call<TaskView>("sign", png, { headers });
  }

  refuseToSign(task: string, role: SignerRole, signer: string, reason: string): Promise<TaskView> {
    return this.#call<TaskView>("refuse_to_sign", { task, role, signer, reason });
  }

  resolveConflict(task: string, path: string[], resolution: Resolution): Promise<TaskView> {
    return this.#call<TaskView>("resolve_conflict", { task, path, resolution });
  }

  submit(task: string): Promise<TaskView> {
    return this.#call<TaskView>("submit", { task });
  }

  async blob(sha256: string): Promise<Uint8Array> {
    const bytes = await this.#call<ArrayBuffer | Uint8Array | number[]>("blob", { sha256 });
    return bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  }

  /** The app's `fieldloop-blob` scheme (src-tauri/src/blob_scheme.rs), in the form of this platform. */
  blobSrc(sha256: string): string {
    return convertFileSrc(sha256, BLOB_SCHEME);
  }

  identity(): Promise<Identity | null> {
    return this.#call<Identity | null>("identity", {});
  }

  enrollHint(): Promise<string | null> {
    return this.#call<string | null>("enroll_hint", {});
  }

  scanEnrollImage(bytes: Uint8Array): Promise<EnrollTarget> {
    return this.#call<EnrollTarget>("scan_enroll_image", bytes);
  }

  enroll(text: string, server: string | null, deviceName: string): Promise<Identity> {
    return this.#call<Identity>("enroll", { text, server, deviceName });
  }

  syncStatus(): Promise<SyncView> {
    return this.#call<SyncView>("sync_status", {});
  }

  async syncNow(): Promise<void> {
    await this.#call<null>("sync_now", {});
  }

  unsyncedWork(): Promise<UnsyncedWork> {
    return this.#call<UnsyncedWork>("unsynced_work", {});
  }

  wipeIfRevoked(): Promise<UnsyncedWork> {
    return this.#call<UnsyncedWork>("wipe_if_revoked", {});
  }

  async #call<T>(command: string, args: Record<string, unknown> | Uint8Array, options?: InvokeOptions): Promise<T> {
    try {
      return await (options === undefined ? this.#invoke<T>(command, args) : this.#invoke<T>(command, args, options));
    } catch (reason) {
      throw BackendError.from(reason);
    }
  }
}
