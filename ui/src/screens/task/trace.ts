// The GPS trace of the inspection: fixes are sent to the record in batches
// (so a walk round the premises is not one change per second), and the trace
// is drawn as a small plot with the subject's registered location.

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

const SVG = "http://www.w3.org/2000/svg";

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string>): SVGElementTagNameMap[K] {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) element.setAttribute(name, value);
  return element;
}

export interface PlotSize {
  width: number;
  height: number;
  padding: number;
}

const DEFAULT_SIZE: PlotSize = { width: 320, height: 200, padding: 14 };

/**
 * The trace as an SVG plot: a polyline of `points`, a dot for the last one
 * and a ring for `subject` (the registered location), scaled together into
 * the box with north up and equal scale on both axes.
 */
export function tracePlot(
  points: readonly GeoPoint[],
  subject: GeoPoint | null,
  label: string,
  size: PlotSize = DEFAULT_SIZE,
): SVGSVGElement {
  const { width, height, padding } = size;
  const root = svg("svg", {
    viewBox: `0 0 ${width} ${height}`,
    class: "trace-svg",
    role: "img",
    "aria-label": label,
    preserveAspectRatio: "xMidYMid meet",
  });
  root.append(svg("rect", { x: "0", y: "0", width: String(width), height: String(height), class: "trace-bg" }));

  const all = subject === null ? [...points] : [...points, subject];
  if (all.length === 0) return root;

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

  if (points.length > 0) {
    const coords = points.map(project);
    root.append(
      svg("polyline", {
        points: coords.map(([x, y]) => `${x},${y}`).join(" "),
        class: "trace-line",
        "data-testid": "trace-line",
        fill: "none",
      }),
    );
    const [lx, ly] = coords[coords.length - 1]!;
    root.append(svg("circle", { cx: String(lx), cy: String(ly), r: "5", class: "trace-last", "data-testid": "trace-last" }));
  }
  if (subject !== null) {
    const [sx, sy] = project(subject);
    root.append(svg("circle", { cx: String(sx), cy: String(sy), r: "7", class: "trace-subject", "data-testid": "trace-subject" }));
  }
  return root;
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}
