// How the task screen does its work. Every action on the record goes through
// `act` (one Backend call under a key, which is busy meanwhile; the view it
// answers is shown, a failure goes to the error banner), photos through
// `addPhotos` (one file after the other, with progress), and every promise the
// screen waits on through `Work.track`, so `settled()` can wait for all of it.

import { type Backend, BackendError, type Fix, type TaskView } from "../../backend/backend";
import type { PhotoProgress, TaskCtx } from "./ctx";
import type { ScreenState } from "./state";

/** The promises the screen waits on before it is settled. */
export class Work {
  readonly #pending = new Set<Promise<unknown>>();

  /** Lets `settled()` wait for `promise`. */
  readonly track = (promise: Promise<unknown>): void => {
    this.#pending.add(promise);
    const done = () => this.#pending.delete(promise);
    promise.then(done, done);
  };

  /** Nothing tracked is under way. */
  get idle(): boolean {
    return this.#pending.size === 0;
  }

  /** Resolves once every tracked promise has settled, including those tracked meanwhile. */
  async settled(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }
}

export interface ActionDeps {
  readonly backend: Backend;
  readonly taskId: string;
  readonly state: ScreenState;
  readonly work: Work;
  /** Takes a view the backend answered. */
  apply(view: TaskView): void;
  render(): void;
  /** Runs once an action's outcome is shown (the open timeline loads again). */
  after(): void;
  /** Where photos are taken. */
  lastFix(): Fix | null;
}

export type Actions = Pick<TaskCtx, "act" | "busy" | "whenIdle" | "addPhotos" | "photoProgress">;

export function actions(deps: ActionDeps): Actions {
  const { backend, taskId, state, work } = deps;
  const busy = new Set<string>();
  /** Actions under way, by key. */
  const running = new Map<Promise<unknown>, string>();
  const photos = new Map<string, PhotoProgress>();

  function start(run: Promise<unknown>, key: string): void {
    work.track(run);
    running.set(run, key);
    void run.then(() => running.delete(run));
  }

  // Not `async`: callers chain on the very promise `settled()` waits for.
  function act(key: string, call: () => Promise<TaskView>, before?: (ok: boolean) => void): Promise<boolean> {
    if (state.disposed || busy.has(key)) return Promise.resolve(false);
    busy.add(key);
    deps.render();
    const run = (async () => {
      let ok = false;
      try {
        const next = await call();
        if (state.disposed) return false;
        state.error = null;
        deps.apply(next);
        ok = true;
      } catch (reason) {
        if (state.disposed) return false;
        state.error = BackendError.from(reason);
      } finally {
        busy.delete(key);
      }
      before?.(ok);
      deps.render();
      deps.after();
      return ok;
    })();
    start(run, key);
    return run;
  }

  function addPhotos(item: string | null, files: readonly File[]): void {
    const slot = item ?? "";
    const key = `photo:${slot}`;
    if (files.length === 0 || busy.has(key) || state.disposed) return;
    busy.add(key);
    photos.set(slot, { done: 0, total: files.length });
    deps.render();
    const run = (async () => {
      let failed: BackendError | null = null;
      for (const [index, file] of files.entries()) {
        photos.set(slot, { done: index, total: files.length });
        deps.render();
        try {
          const bytes = new Uint8Array(await file.arrayBuffer());
          const fix = deps.lastFix();
          const next = await backend.addPhoto(taskId, item, bytes, fix === null ? null : { lat: fix.lat, lon: fix.lon });
          if (state.disposed) return;
          deps.apply(next);
        } catch (reason) {
          if (state.disposed) return;
          failed ??= BackendError.from(reason);
        }
      }
      busy.delete(key);
      photos.delete(slot);
      state.error = failed;
      deps.render();
      deps.after();
    })();
    start(run, key);
  }

  return {
    act,
    addPhotos,
    busy: (key) => busy.has(key),
    async whenIdle(except) {
      for (;;) {
        const others = [...running].filter(([, key]) => key !== except).map(([run]) => run);
        if (others.length === 0) return;
        await Promise.allSettled(others);
      }
    },
    photoProgress: (item) => photos.get(item ?? "") ?? null,
  };
}
