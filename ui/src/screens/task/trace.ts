// The GPS trace of the inspection: fixes are sent to the record in batches
// (so a walk round the premises is not one change per second), and the trace
// is plotted (plotGeometry; components/TracePlot.vue draws it) with the
// subject's registered location.

import type { Fix } from "../../bindings/Fix";
import type { GeoPoint } from "../../bindings/GeoPoint";

export interface TraceBufferOptions {
  /** Send once this many fixes are waiting. */
  batchSize: number;
  /** Send at the latest this long after the first waiting fix. */
  intervalMs: number;
  /** At most this many fixes wait while sending fails; the oldest are dropped. */
  maxWaiting?: number;
}

/**
 * Collects fixes and hands them to `send` in batches. `send` answers whether
 * the batch is done with (`true`) or should be tried again later (`false`).
 */
export class TraceBuffer {
  readonly #send: (fixes: Fix[]) => Promise<boolean>;
  readonly #options: Required<TraceBufferOptions>;
  #waiting: Fix[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #sending: Promise<void> | null = null;
  #closed = false;

  constructor(send: (fixes: Fix[]) => Promise<boolean>, options: TraceBufferOptions) {
    this.#send = send;
    this.#options = { maxWaiting: 1_000, ...options };
  }

  get waiting(): number {
    return this.#waiting.length;
  }

  push(fix: Fix): void {
    if (this.#closed) return;
    this.#waiting.push(fix);
    if (this.#waiting.length > this.#options.maxWaiting) this.#waiting.splice(0, this.#waiting.length - this.#options.maxWaiting);
    if (this.#waiting.length >= this.#options.batchSize) void this.flush();
    else this.#arm();
  }

  /** Sends what is waiting now. Resolves when that send is over. */
  flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#sending !== null) return this.#sending;
    if (this.#waiting.length === 0) return Promise.resolve();
    const batch = this.#waiting;
    this.#waiting = [];
    this.#sending = this.#send(batch)
      .catch(() => false)
      .then((done) => {
        if (!done) this.#waiting = [...batch, ...this.#waiting].slice(-this.#options.maxWaiting);
        this.#sending = null;
        if (this.#closed) return;
        if (done && this.#waiting.length >= this.#options.batchSize) void this.flush();
        else if (this.#waiting.length > 0) this.#arm();
      });
    return this.#sending;
  }

  /** Sends what is waiting and stops. */
  close(): Promise<void> {
    const last = this.flush();
    this.#closed = true;
    clearTimeout(this.#timer);
    return last;
  }

  #arm(): void {
    if (this.#timer !== undefined || this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.flush();
    }, this.#options.intervalMs);
  }
}

export interface PlotSize {
  width: number;
  height: number;
  padding: number;
}

export const DEFAULT_PLOT_SIZE: PlotSize = { width: 320, height: 200, padding: 14 };

/** Where a trace plot draws its parts, in the box's coordinates. */
export interface PlotGeometry {
  /** The polyline's `points`, or `null` without points. */
  line: string | null;
  /** The last point. */
  last: [number, number] | null;
  /** The registered location. */
  subject: [number, number] | null;
}

/**
 * The trace plotted into the box: the line through `points`, the last one,
 * and `subject` (the registered location), scaled together with north up and
 * equal scale on both axes.
 */
export function plotGeometry(
  points: readonly GeoPoint[],
  subject: GeoPoint | null,
  size: PlotSize = DEFAULT_PLOT_SIZE,
): PlotGeometry {
  const { width, height, padding } = size;
  const all = subject === null ? [...points] : [...points, subject];
  if (all.length === 0) return { line: null, last: null, subject: null };

  const midLat = all.reduce((sum, p) => sum + p.lat, 0) / all.length;
  const kx = Math.cos((midLat * Math.PI) / 180);
  const xs = all.map((p) => p.lon * kx);
  const ys = all.map((p) => p.lat);
  const [minX, maxX, minY, maxY] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  // At least ~20 m across, so one point or a standing inspector is not blown up to the whole box.
  const span = Math.max(maxX - minX, maxY - minY, 0.0002);
  const scale = Math.min(width - 2 * padding, height - 2 * padding) / span;
  const cx = (minX + maxX) / 2;
  const cy = (minY + maxY) / 2;
  const project = (p: GeoPoint): [number, number] => [
    round(width / 2 + (p.lon * kx - cx) * scale),
    round(height / 2 - (p.lat - cy) * scale),
  ];

  const coords = points.map(project);
  return {
    line: coords.length === 0 ? null : coords.map(([x, y]) => `${x},${y}`).join(" "),
    last: coords.at(-1) ?? null,
    subject: subject === null ? null : project(subject),
  };
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}
