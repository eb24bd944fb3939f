// Picks the `Backend` for where the UI runs.

import { isTauri } from "@tauri-apps/api/core";
import { type Backend, BackendError, TRANSPORT_ERROR } from "./backend";
import { TauriBackend } from "./tauri";

export * from "./backend";

/** The tablet app talks to Tauri; the console's HTTP backend comes with the console. */
export function createBackend(): Backend {
  if (isTauri()) return new TauriBackend();
  return unavailableBackend();
}

/** A backend whose every call rejects: the page was opened outside the app. */
export function unavailableBackend(
  message = "Fieldloop's backend is not reachable from this page.",
): Backend {
  const reject = () => Promise.reject(new BackendError(TRANSPORT_ERROR, message));
  return new Proxy({} as Backend, {
    // Not a thenable (so it can be awaited as a value), and no symbol methods.
    // `blobSrc` answers at once: no URL (`blob` then rejects).
    get: (_target, property) =>
      property === "blobSrc" ? () => null : typeof property === "string" && property !== "then" ? reject : undefined,
  });
}
