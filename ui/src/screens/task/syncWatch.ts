// Syncs happen beside the task screen (the sync bar, the background loop).
// Every few seconds the screen asks whether one has happened since it last
// looked and, when one has, loads the task again to show what it merged into
// the record.

import type { Backend } from "../../backend/backend";

/**
 * Calls `synced` after each sync, asking `backend` every `pollMs` (0: never).
 * Answers the function that stops watching.
 */
export function watchSyncs(backend: Backend, pollMs: number, synced: () => void): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let lastSynced: number | null | undefined;
  let stopped = false;

  function next(): void {
    if (pollMs <= 0 || stopped) return;
    timer = setTimeout(() => {
      backend.syncStatus().then(
        (sync) => {
          if (stopped) return;
          if (lastSynced !== undefined && sync.last_synced_at !== lastSynced) synced();
          lastSynced = sync.last_synced_at;
          next();
        },
        () => next(),
      );
    }, pollMs);
  }

  if (pollMs > 0) {
    void backend.syncStatus().then(
      (sync) => {
        lastSynced ??= sync.last_synced_at;
      },
      () => undefined,
    );
  }
  next();

  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
