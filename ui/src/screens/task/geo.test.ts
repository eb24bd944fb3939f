// @vitest-environment happy-dom
import { mount as mountComponent } from "@vue/test-utils";
import { afterEach, describe, expect, it } from "vitest";
import { nextTick } from "vue";
import { BackendError } from "../../backend/backend";
import type { Fix } from "../../bindings/Fix";
import { fixtureView, NOW, TASK_ID } from "./fixture";
import { browserGeo, FIX_EVENT } from "./geo";
import { byTestId, get, ManualGeo, mount, TaskBackend, unmount } from "./testkit";
import TracePlot from "../../components/TracePlot.vue";
import type { GeoPoint } from "../../bindings/GeoPoint";
import { TraceBuffer } from "./trace";

/** The trace plot's SVG, as TracePlot.vue draws it. */
function tracePlot(points: GeoPoint[], subject: GeoPoint | null, label: string): SVGSVGElement {
  return mountComponent(TracePlot, { props: { points, subject, label } }).element as SVGSVGElement;
}

afterEach(unmount);

const inject = (detail: unknown) => window.dispatchEvent(new CustomEvent(FIX_EVENT, { detail }));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("browserGeo", () => {
  it("reports no location service, and takes injected fixes", () => {
    const fixes: Fix[] = [];
    const reasons: string[] = [];
    const stop = browserGeo({ geolocation: null, now: () => NOW }).start((f) => fixes.push(f), (r) => reasons.push(r));
    expect(reasons).toEqual(["unsupported"]);
    inject({ lat: 25.63, lon: 115.34, accuracy: 7 });
    inject({ lat: "north", lon: 1 });
    inject({ lat: 91, lon: 1, accuracy: 1 });
    expect(fixes).toEqual([{ t: NOW, lat: 25.63, lon: 115.34, accuracy: 7 }]);
    stop();
    inject({ lat: 1, lon: 1, accuracy: 1 });
    expect(fixes).toHaveLength(1);
  });

  it("watches the location service and stops watching", () => {
    let success: PositionCallback | null = null;
    let failure: PositionErrorCallback | null | undefined = null;
    const cleared: number[] = [];
    const geolocation = {
      watchPosition: (ok: PositionCallback, err?: PositionErrorCallback | null) => {
        success = ok;
        failure = err;
        return 42;
      },
      clearWatch: (id: number) => void cleared.push(id),
      getCurrentPosition: () => undefined,
    } as unknown as Geolocation;
    const fixes: Fix[] = [];
    const reasons: string[] = [];
    const stop = browserGeo({ geolocation }).start((f) => fixes.push(f), (r) => reasons.push(r));
    success!({ timestamp: NOW, coords: { latitude: 25.6, longitude: 115.3, accuracy: 12 } } as GeolocationPosition);
    failure!({ code: 1, message: "denied" } as GeolocationPositionError);
    expect(fixes).toEqual([{ t: NOW, lat: 25.6, lon: 115.3, accuracy: 12 }]);
    expect(reasons).toEqual(["denied"]);
    stop();
    expect(cleared).toEqual([42]);
  });
});

describe("location on the task screen", () => {
  it("says when the tablet cannot locate itself, clears it on an injected fix, and checks in with the last fix", async () => {
    // No `geo`: the default browser source (happy-dom has no location service).
    const { el, screen, backend } = await mount({ geo: null });
    const unavailable = get(el, "location-unavailable");
    expect(unavailable.textContent).toContain("本设备无法定位，可继续检查");
    expect(get(el, "check-in-hint").textContent).toBe("暂无定位，签到将不记录位置。");

    inject({ lat: 25.63045, lon: 115.3449, accuracy: 9 });
    inject({ lat: 25.6305, lon: 115.34495, accuracy: 6 });
    await nextTick();
    expect(byTestId(el, "location-unavailable")).toBeNull();
    expect(get(el, "gps-status").textContent).toBe("已定位（精度约 6 米）");
    expect(get(el, "check-in-hint").textContent).toBe("签到时将记录当前位置。");

    get(el, "check-in").click();
    await screen.settled();
    expect(backend.callsTo("checkIn")).toEqual([[TASK_ID, { lat: 25.6305, lon: 115.34495 }]]);
    const me = el.querySelector<HTMLElement>('[data-testid="inspector"][data-person="I-001"]')!;
    expect(me.dataset.checkedIn).toBe("true");
    expect(byTestId(el, "check-in")).toBeNull();
  });

  it("lets the inspector check in without a position", async () => {
    const geo = new ManualGeo();
    const { el, screen, backend } = await mount({ geo });
    geo.fail("denied");
    await nextTick();
    expect(get(el, "location-unavailable").textContent).toContain("定位权限被拒绝");
    get(el, "check-in").click();
    await screen.settled();
    expect(backend.callsTo("checkIn")).toEqual([[TASK_ID, null]]);
    expect(get(el, "inspector-check").textContent).toContain("已签到（无定位）");
  });

  it("disables check-in while it runs", async () => {
    const { el, screen, backend } = await mount();
    const release = backend.hold();
    const button = get<HTMLButtonElement>(el, "check-in");
    button.click();
    await nextTick();
    expect(button.disabled).toBe(true);
    button.click();
    release();
    await screen.settled();
    expect(backend.callsTo("checkIn")).toHaveLength(1);
  });

  it("does not watch the position of a task it cannot change", async () => {
    const view = fixtureView();
    view.editable = false;
    view.status = "approved";
    const geo = new ManualGeo();
    const { el } = await mount({ geo, backend: new TaskBackend(view) });
    expect(geo.starts).toBe(0);
    expect(byTestId(el, "location-unavailable")).toBeNull();
  });

  it("sends the trace in batches, after a pause, and when the screen closes", async () => {
    const geo = new ManualGeo();
    const { el, screen, backend } = await mount({ geo, traceBatchSize: 3, traceIntervalMs: 40 });
    geo.fix(25.6301, 115.3441, 5, NOW + 1000);
    geo.fix(25.6302, 115.3442, 5, NOW + 2000);
    expect(backend.callsTo("addTrace")).toHaveLength(0);
    geo.fix(25.6303, 115.3443, 5, NOW + 3000);
    await screen.settled();
    expect(backend.callsTo("addTrace")).toEqual([
      [
        TASK_ID,
        [
          { t: NOW + 1000, lat: 25.6301, lon: 115.3441, accuracy: 5 },
          { t: NOW + 2000, lat: 25.6302, lon: 115.3442, accuracy: 5 },
          { t: NOW + 3000, lat: 25.6303, lon: 115.3443, accuracy: 5 },
        ],
      ],
    ]);
    expect(get(el, "trace-count").textContent).toBe("轨迹点 6 个");

    geo.fix(25.6304, 115.3444, 5, NOW + 4000);
    await sleep(80);
    await screen.settled();
    expect(backend.callsTo("addTrace")).toHaveLength(2);
    expect(backend.callsTo("addTrace")[1]![1]).toHaveLength(1);

    geo.fix(25.6305, 115.3445, 5, NOW + 5000);
    unmount();
    expect(geo.stops).toBe(1);
    await sleep(0);
    expect(backend.callsTo("addTrace")).toHaveLength(3);
    expect(backend.callsTo("addTrace")[2]![1]).toEqual([{ t: NOW + 5000, lat: 25.6305, lon: 115.3445, accuracy: 5 }]);
  });

  it("keeps trace points whose sending failed and sends them again", async () => {
    const geo = new ManualGeo();
    const { el, screen, backend } = await mount({ geo, traceBatchSize: 2, traceIntervalMs: 30 });
    backend.failNext("addTrace", new BackendError("ipc.failed", "the app backend did not answer"));
    geo.fix(25.6301, 115.3441);
    geo.fix(25.6302, 115.3442);
    await screen.settled();
    expect(get(el, "trace-error").hidden).toBe(false);
    expect(get(el, "task-error").hidden).toBe(true); // trace trouble does not interrupt the inspector
    await sleep(60);
    await screen.settled();
    expect(backend.callsTo("addTrace")).toHaveLength(2);
    expect(backend.callsTo("addTrace")[1]![1]).toHaveLength(2);
    expect(get(el, "trace-error").hidden).toBe(true);
  });
});

describe("TraceBuffer", () => {
  it("sends every batchSize fixes, or after the interval", async () => {
    const sent: Fix[][] = [];
    const buffer = new TraceBuffer(async (fixes) => (sent.push(fixes), true), { batchSize: 10, intervalMs: 20 });
    for (let i = 0; i < 12; i++) buffer.push({ t: i, lat: 1, lon: 1, accuracy: 1 });
    await sleep(0);
    expect(sent.map((b) => b.length)).toEqual([10]);
    expect(buffer.waiting).toBe(2);
    await sleep(40);
    expect(sent.map((b) => b.length)).toEqual([10, 2]);
    await buffer.close();
    buffer.push({ t: 99, lat: 1, lon: 1, accuracy: 1 });
    expect(buffer.waiting).toBe(0);
  });

  it("drops the oldest fixes beyond the limit while sending fails", async () => {
    const buffer = new TraceBuffer(async () => false, { batchSize: 2, intervalMs: 10_000, maxWaiting: 3 });
    for (let i = 0; i < 5; i++) buffer.push({ t: i, lat: 1, lon: 1, accuracy: 1 });
    await sleep(0);
    expect(buffer.waiting).toBe(3);
    await buffer.close();
  });
});

describe("tracePlot", () => {
  it("scales the trace and the registered location into the box", () => {
    const svg = tracePlot(
      [
        { lat: 25.63, lon: 115.344 },
        { lat: 25.631, lon: 115.345 },
      ],
      { lat: 25.6305, lon: 115.3445 },
      "trace",
    );
    const points = svg.querySelector("polyline")!.getAttribute("points")!.split(" ").map((p) => p.split(",").map(Number));
    expect(points).toHaveLength(2);
    for (const [x, y] of points) {
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThanOrEqual(320);
      expect(y).toBeGreaterThanOrEqual(0);
      expect(y).toBeLessThanOrEqual(200);
    }
    // North is up: the second point lies further north, so higher in the box.
    expect(points[1]![1]).toBeLessThan(points[0]![1]!);
    const subject = svg.querySelector('[data-testid="trace-subject"]')!;
    expect(Number(subject.getAttribute("cx"))).toBeCloseTo(160, 0);
  });

  it("draws an empty box without points", () => {
    expect(tracePlot([], null, "trace").querySelector("polyline")).toBeNull();
  });
});
