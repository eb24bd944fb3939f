// A signature pad: a canvas drawn on with a finger, a glove, a stylus or a
// mouse (pointer events), sized to its box at the device's pixel ratio. The
// strokes are kept, so the pad can be redrawn after the box changes size.

import { h } from "../../dom";

export interface SignaturePad {
  readonly element: HTMLElement;
  readonly canvas: HTMLCanvasElement;
  isEmpty(): boolean;
  clear(): void;
  /** Sizes the canvas to its box (call after it becomes visible or the box changes). */
  fit(): void;
  setDisabled(disabled: boolean): void;
  /** The drawing as PNG bytes. */
  toPng(): Promise<Uint8Array>;
  /** Called after each stroke and after `clear`. */
  onChange(listener: () => void): void;
  dispose(): void;
}

interface Point {
  x: number;
  y: number;
}

export const LINE_WIDTH = 3;
const INK = "#0b1f3a";

export function signaturePad(label: string): SignaturePad {
  const canvas = h("canvas", {
    class: "signature-canvas",
    testid: "signature-pad",
    attrs: { role: "img", "aria-label": label },
  });
  const element = h("div", { class: "signature-box" }, canvas);
  const strokes: Point[][] = [];
  let current: Point[] | null = null;
  let activePointer: number | null = null;
  let disabled = false;
  let cssWidth = 0;
  let cssHeight = 0;
  const listeners: (() => void)[] = [];

  const context = (): CanvasRenderingContext2D | null => {
    try {
      return canvas.getContext("2d");
    } catch {
      return null;
    }
  };

  function style(ctx: CanvasRenderingContext2D): void {
    ctx.lineWidth = LINE_WIDTH;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.strokeStyle = INK;
    ctx.fillStyle = INK;
  }

  function drawStroke(ctx: CanvasRenderingContext2D, stroke: readonly Point[]): void {
    const first = stroke[0];
    if (first === undefined) return;
    if (stroke.length === 1) {
      ctx.beginPath();
      ctx.arc(first.x, first.y, LINE_WIDTH / 2, 0, Math.PI * 2);
      ctx.fill();
      return;
    }
    ctx.beginPath();
    ctx.moveTo(first.x, first.y);
    for (const p of stroke.slice(1)) ctx.lineTo(p.x, p.y);
    ctx.stroke();
  }

  function redraw(): void {
    const ctx = context();
    if (ctx === null) return;
    ctx.clearRect(0, 0, cssWidth, cssHeight);
    style(ctx);
    for (const stroke of strokes) drawStroke(ctx, stroke);
  }

  function fit(): void {
    const rect = canvas.getBoundingClientRect();
    if (rect.width === 0 || rect.height === 0) return;
    if (rect.width === cssWidth && rect.height === cssHeight) return;
    cssWidth = rect.width;
    cssHeight = rect.height;
    const ratio = Math.min(globalThis.devicePixelRatio || 1, 3);
    canvas.width = Math.round(cssWidth * ratio);
    canvas.height = Math.round(cssHeight * ratio);
    context()?.setTransform(ratio, 0, 0, ratio, 0, 0);
    redraw();
  }

  function pointOf(event: PointerEvent): Point {
    const rect = canvas.getBoundingClientRect();
    return { x: event.clientX - rect.left, y: event.clientY - rect.top };
  }

  function changed(): void {
    for (const listener of listeners) listener();
  }

  canvas.addEventListener("pointerdown", (event) => {
    if (disabled || activePointer !== null) return;
    if (event.pointerType === "mouse" && event.button !== 0) return;
    event.preventDefault();
    fit();
    activePointer = event.pointerId;
    try {
      canvas.setPointerCapture(event.pointerId);
    } catch {
      // Capture is a nicety: strokes leaving the box end there.
    }
    current = [pointOf(event)];
    strokes.push(current);
    const ctx = context();
    if (ctx !== null) {
      style(ctx);
      drawStroke(ctx, current);
    }
  });

  canvas.addEventListener("pointermove", (event) => {
    if (current === null || event.pointerId !== activePointer) return;
    event.preventDefault();
    const events = typeof event.getCoalescedEvents === "function" ? event.getCoalescedEvents() : [];
    const points = (events.length > 0 ? events : [event]).map(pointOf);
    const ctx = context();
    for (const point of points) {
      const last = current[current.length - 1]!;
      current.push(point);
      if (ctx !== null) {
        style(ctx);
        ctx.beginPath();
        ctx.moveTo(last.x, last.y);
        ctx.lineTo(point.x, point.y);
        ctx.stroke();
      }
    }
  });

  const end = (event: PointerEvent) => {
    if (event.pointerId !== activePointer) return;
    activePointer = null;
    current = null;
    changed();
  };
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);

  const observer = typeof ResizeObserver === "function" ? new ResizeObserver(() => fit()) : null;
  observer?.observe(canvas);

  return {
    element,
    canvas,
    isEmpty: () => strokes.length === 0,
    clear() {
      strokes.length = 0;
      current = null;
      activePointer = null;
      redraw();
      changed();
    },
    fit,
    setDisabled(value) {
      disabled = value;
      element.classList.toggle("is-disabled", value);
      canvas.setAttribute("aria-disabled", String(value));
    },
    toPng() {
      fit();
      return new Promise<Uint8Array>((resolve, reject) => {
        canvas.toBlob((blob) => {
          if (blob === null) {
            reject(new Error("the signature pad could not be turned into a PNG"));
            return;
          }
          blob.arrayBuffer().then((buffer) => resolve(new Uint8Array(buffer)), reject);
        }, "image/png");
      });
    },
    onChange(listener) {
      listeners.push(listener);
    },
    dispose() {
      observer?.disconnect();
    },
  };
}
