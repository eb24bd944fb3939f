// Where the inspector is. While the record may change (and the screen is
// open) the screen watches the GPS source: it keeps the latest fix (for the
// check-in and the photos' locations), says why there is none, and sends the
// fixes to the record as the visit's trace, in batches (trace.ts).

import { type Backend, BackendError, type ErrorCode, type Fix, type TaskView } from "../../backend/backend";
import type { I18n } from "../../i18n";
import type { GeoSource } from "./geo";
import type { ScreenState } from "./state";
import { errorWords, type Tr } from "./texts";
import { TraceBuffer } from "./trace";

/** What the overview says about positions. */
export interface GeoStatus {
  /** The location service is being watched (the task is editable). */
  watching: boolean;
  /** Why there are no positions, while there are none. */
  unavailable: string | null;
  /** Accuracy of the latest fix, in metres. */
  accuracy: number | null;
  /** Why the last trace points could not be recorded, if they could not. */
  traceError: string | null;
}

/** Error codes after which trace points are kept to be sent again. */
const RETRY_TRACE = (code: ErrorCode) => code === "ipc.failed" || code.startsWith("store.") || code.startsWith("app.store");

export interface LocationDeps {
  readonly backend: Backend;
  readonly taskId: string;
  readonly i18n: I18n;
  readonly t: Tr;
  readonly geo: GeoSource;
  readonly state: ScreenState;
  /** Send the trace once this many fixes wait. */
  readonly batchSize: number;
  /** Send the trace at the latest this long after the first waiting fix. */
  readonly intervalMs: number;
  /** Takes the view the backend answered to a trace. */
  apply(view: TaskView): void;
  render(): void;
  track(work: Promise<unknown>): void;
  /** The location status changed (the overview shows it). */
  changed(): void;
}

export interface LocationWatch {
  /** The latest fix, if any. */
  lastFix(): Fix | null;
  /** What the overview says about positions. */
  status(): GeoStatus;
  /** Watches the GPS while the task is editable and the screen open; stops otherwise. */
  sync(): void;
  /** Stops watching and sends the fixes still waiting (the screen is closing). */
  stop(): void;
}

export function watchLocation(deps: LocationDeps): LocationWatch {
  const { backend, taskId, i18n, t, state } = deps;
  let stopGeo: (() => void) | null = null;
  let lastFix: Fix | null = null;
  let unavailable: string | null = null;
  let trace: TraceBuffer | null = null;
  let traceError: string | null = null;

  async function sendTrace(fixes: Fix[]): Promise<boolean> {
    const call = backend.addTrace(taskId, fixes).then(
      (next) => {
        traceError = null;
        if (!state.disposed) {
          deps.apply(next);
          deps.render();
        }
        return true;
      },
      (reason: unknown) => {
        const failure = BackendError.from(reason);
        traceError = errorWords(i18n, t, failure);
        if (!state.disposed) deps.render();
        return !RETRY_TRACE(failure.code);
      },
    );
    deps.track(call);
    return call;
  }

  function onFix(fix: Fix): void {
    if (state.disposed) return;
    const hadFix = lastFix !== null;
    lastFix = fix;
    const wasUnavailable = unavailable !== null;
    unavailable = null;
    trace?.push(fix);
    deps.changed();
    // The check-in hint and the photo locations change with the first fix only.
    if (!hadFix || wasUnavailable) deps.render();
  }

  function onUnavailable(reason: string): void {
    if (state.disposed) return;
    unavailable = reason;
    deps.changed();
  }

  return {
    lastFix: () => lastFix,
    status: () => ({ watching: stopGeo !== null, unavailable, accuracy: lastFix?.accuracy ?? null, traceError }),
    sync() {
      const wanted = state.view?.editable === true && !state.disposed;
      if (wanted && stopGeo === null) {
        trace = new TraceBuffer(sendTrace, { batchSize: deps.batchSize, intervalMs: deps.intervalMs });
        let stop: (() => void) | null = null;
        stopGeo = () => stop?.();
        stop = deps.geo.start(onFix, onUnavailable);
      } else if (!wanted && stopGeo !== null) {
        stopGeo();
        stopGeo = null;
        const closing = trace?.close();
        if (closing !== undefined) deps.track(closing);
        trace = null;
      }
    },
    stop() {
      if (stopGeo !== null) {
        stopGeo();
        stopGeo = null;
      }
      if (trace !== null) deps.track(trace.close());
      trace = null;
    },
  };
}
