// Helpers for the task screen's tests: mounting the screen on a MemoryBackend
// holding the fixture task, finding elements by test id, and a GPS source
// driven by hand.

import { mount as mountComponent, type VueWrapper } from "@vue/test-utils";
import { MemoryBackend } from "../../backend/memory";
import type { Fix } from "../../bindings/Fix";
import type { HistoryEntry } from "../../bindings/HistoryEntry";
import type { TaskView } from "../../bindings/TaskView";
import { I18n } from "../../i18n";
import { withDeps } from "../../testing/mount";
import { identity } from "../../testing/views";
import { fixtureHistory, fixtureView, ME, NOW, QR_SVG, TASK_ID, TZ } from "./fixture";
import type { GeoSource } from "./geo";
import type { TabName } from "./ctx";
import TaskScreen from "./TaskScreen.vue";

export const byTestId = (root: ParentNode, id: string): HTMLElement | null => root.querySelector<HTMLElement>(`[data-testid="${id}"]`);
export const allByTestId = (root: ParentNode, id: string): HTMLElement[] => [...root.querySelectorAll<HTMLElement>(`[data-testid="${id}"]`)];

/** The element with test id `id` under `root`; fails the test when there is none. */
export function get<T extends HTMLElement = HTMLElement>(root: ParentNode, id: string): T {
  const found = byTestId(root, id);
  if (found === null) throw new Error(`no element with data-testid="${id}"`);
  return found as T;
}

export function itemById(root: ParentNode, id: string): HTMLElement {
  const found = allByTestId(root, "item").find((e) => e.dataset.itemId === id);
  if (found === undefined) throw new Error(`no item ${id}`);
  return found;
}

/**
 * The MemoryBackend the task screen's tests run on: it holds `view` (the
 * fixture task by default) with its history, QR code and the image blobs of
 * its evidence, the tablet enrolled as the fixture's inspector, at `NOW`.
 * The view's problems are the ones it was given; a test whose steps would
 * change what Rust reports sets the new ones with `setProblems(TASK_ID, …)`.
 */
export class TaskBackend extends MemoryBackend {
  readonly #task: string;

  constructor(view: TaskView = fixtureView()) {
    super([], [view]);
    this.#task = view.id;
    this.now = () => NOW;
    this.enrolled = identity({ person: ME, name: "钟志强", team: "T-QX-01", team_name: "青溪县联合检查一组", server: null, device: null });
    this.histories.set(view.id, fixtureHistory());
    this.qrs.set(view.id, QR_SVG);
    for (const evidence of view.evidence) {
      for (const sha of [evidence.sha256, evidence.thumb_sha256, evidence.display_sha256]) {
        if (sha !== null) this.blobs.set(sha, new Uint8Array([0xff, 0xd8, 0xff, 0xe0, sha.length]));
      }
    }
  }

  /** The stored view of the task (each change stores a new one: read it again after a change). */
  get view(): TaskView {
    return this.views.get(this.#task)!;
  }

  /** The stored history of the task. */
  get history(): HistoryEntry[] {
    return this.histories.get(this.#task)!;
  }
}

/** A GPS source the test feeds by hand. */
export class ManualGeo implements GeoSource {
  onFix: ((fix: Fix) => void) | null = null;
  onUnavailable: ((reason: string) => void) | null = null;
  starts = 0;
  stops = 0;

  start(onFix: (fix: Fix) => void, onUnavailable: (reason: string) => void): () => void {
    this.starts += 1;
    this.onFix = onFix;
    this.onUnavailable = onUnavailable;
    return () => {
      this.stops += 1;
      this.onFix = null;
      this.onUnavailable = null;
    };
  }

  fix(lat: number, lon: number, accuracy = 5, t = NOW): void {
    this.onFix?.({ t, lat, lon, accuracy });
  }

  fail(reason = "denied"): void {
    this.onUnavailable?.(reason);
  }
}

/** The task screen as its tests drive it (what TaskScreen.vue exposes). */
export interface Screen {
  readonly tab: TabName;
  showTab(tab: TabName): void;
  refresh(): Promise<void>;
  settled(): Promise<void>;
}

export interface Mounted {
  screen: Screen;
  el: HTMLElement;
  backend: TaskBackend;
  i18n: I18n;
  backs: number[];
}

export interface MountOptions {
  backend?: TaskBackend;
  i18n?: I18n;
  taskId?: string;
  now?: () => number;
  /** `null`: the default (browser) GPS source; a ManualGeo when absent. */
  geo?: GeoSource | null;
  traceBatchSize?: number;
  traceIntervalMs?: number;
  syncPollMs?: number;
  /** Keep the app's way: a panel is made when its tab first opens. */
  lazyPanels?: boolean;
}

let current: VueWrapper | null = null;

/** Mounts the task screen; `geo: null` uses the default (browser) GPS source, a ManualGeo is used otherwise. */
export async function mount(options: MountOptions = {}): Promise<Mounted> {
  const { geo, backend: given, i18n: givenI18n, now, taskId, lazyPanels, ...rest } = options;
  const backend = given ?? new TaskBackend();
  const i18n = givenI18n ?? new I18n();
  const backs: number[] = [];
  unmount();
  const wrapper = mountComponent(TaskScreen, {
    props: {
      taskId: taskId ?? TASK_ID,
      syncPollMs: 0,
      ...rest,
      ...(geo === null ? {} : { geo: geo ?? new ManualGeo() }),
    },
    attrs: { onBack: () => backs.push(1) },
    ...withDeps({ backend, i18n, now: now ?? (() => NOW), timeZone: TZ }),
  });
  current = wrapper;
  const vm = wrapper.vm;
  // The app makes a panel when its tab first opens; these tests read every
  // panel's content, so all are made (lazyPanels keeps the app's way).
  if (lazyPanels !== true) vm.makeAllPanels();
  const screen: Screen = {
    get tab() {
      return vm.tab;
    },
    showTab: (tab) => vm.showTab(tab),
    refresh: () => vm.refresh(),
    settled: () => vm.settled(),
  };
  await screen.settled();
  return { screen, el: wrapper.element as HTMLElement, backend, i18n, backs };
}

/** Unmounts the screen of the last `mount` (call in afterEach). */
export function unmount(): void {
  current?.unmount();
  current = null;
  document.body.replaceChildren();
}

export function click(el: HTMLElement): void {
  el.click();
}

/** Types `text` into a field the way a user does: value, input event, change event. */
export function type(el: HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement, text: string): void {
  el.value = text;
  el.dispatchEvent(new Event("input", { bubbles: true }));
  el.dispatchEvent(new Event("change", { bubbles: true }));
}

/** Sets a field's value without change events (as while still typing). */
export function typeOnly(el: HTMLInputElement | HTMLTextAreaElement, text: string): void {
  el.value = text;
  el.dispatchEvent(new Event("input", { bubbles: true }));
}

/** Picks files in a file input. */
export function pickFiles(input: HTMLInputElement, files: File[]): void {
  Object.defineProperty(input, "files", { configurable: true, value: files });
  input.dispatchEvent(new Event("change", { bubbles: true }));
}

export function jpeg(name = "photo.jpg", bytes = [0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]): File {
  return new File([new Uint8Array(bytes)], name, { type: "image/jpeg" });
}
