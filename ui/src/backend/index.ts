// Picks the `Backend` for where the UI runs.

import { isTauri } from "@tauri-apps/api/core";
import { type Backend, BackendError, TRANSPORT_ERROR } from "./backend";
import { TauriBackend } from "./tauri";

export * from "./backend";

/** The tablet app talks to Tauri; the console's HTTP backend comes with the console. */
export function createBackend(): Backend {
  if (isTauri()) return new TauriBackend();
  return unavailable;
}

const unavailable: Backend = {
  listTasks: () =>
    Promise.reject(new BackendError(TRANSPORT_ERROR, "Fieldloop's backend is not reachable from this page.")),
};
