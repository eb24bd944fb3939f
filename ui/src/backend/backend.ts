// The one door from the UI to Fieldloop's Rust side.
//
// Screens depend on `Backend` only. `TauriBackend` (tauri.ts) calls the tablet
// app's commands; an HTTP implementation for the supervisor console will sit
// beside it, and tests use an in-memory double. Payload types come from Rust
// (ts-rs, in ../bindings).

import type { CommandError } from "../bindings/CommandError";
import type { TaskQuery } from "../bindings/TaskQuery";
import type { TaskRow } from "../bindings/TaskRow";

export type { CommandError, TaskQuery, TaskRow };

/** Every call Fieldloop's UI makes to the Rust side. Calls reject with a `BackendError`. */
export interface Backend {
  /** The task list of the local store (tablet) or of the server (console). */
  listTasks(query: TaskQuery): Promise<TaskRow[]>;
}

/**
 * A failed backend call: a stable machine `code` (e.g. `"store.not_found"`) the UI
 * branches on, and the Rust side's `message`, shown when the UI has no text of its own.
 */
export class BackendError extends Error implements CommandError {
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.name = "BackendError";
    this.code = code;
  }

  /** Turns whatever a call rejected with into a `BackendError`. */
  static from(reason: unknown): BackendError {
    if (reason instanceof BackendError) return reason;
    if (isCommandError(reason)) return new BackendError(reason.code, reason.message);
    if (reason instanceof Error) return new BackendError(TRANSPORT_ERROR, reason.message);
    return new BackendError(TRANSPORT_ERROR, String(reason));
  }
}

/** Code for failures that did not come from a command (IPC refused, command missing, …). */
export const TRANSPORT_ERROR = "ipc.failed";

function isCommandError(value: unknown): value is CommandError {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.code === "string" && typeof v.message === "string";
}
