// The task screen: everything an inspector does with one task on site.
//
// A top bar (back, code, business, status, 亮码), banners (supervisor's
// return comment, read-only, errors), and seven tabs: overview (business,
// inspectors and check-in, GPS trace), checklist, evidence, findings and
// lead transfers, signatures, submit (conflicts and what blocks submitting),
// timeline (audit trail).
//
// Every action calls one Backend method, which answers the new TaskView; the
// screen updates in place from it (parts are keyed and kept), so the open
// tab, the scroll position and text being typed elsewhere survive.
//
// This module is the screen's shell: it loads the task, wires the parts
// together and renders them. The parts: header.ts (top bar and banners),
// tabs.ts (tab bar and panel boxes), qr.ts (the 亮码 dialog), actions.ts
// (running actions and tracking work), location.ts (GPS and trace),
// syncWatch.ts (reloading after a sync), keepPlace.ts (focus and scroll across
// updates), and one module per panel.

import "./task.css";
import { type Backend, BackendError, type TaskView } from "../../backend/backend";
import { formatDate, formatDateTime } from "../../dates";
import { h, replaceChildren } from "../../dom";
import type { I18n } from "../../i18n";
import type { Screen } from "../screen";
import { actions, Work } from "./actions";
import { BlobUrls } from "./blobs";
import { checklistPanel } from "./checklist";
import { buttonProps, type Panel, type TabName, TABS, type TaskCtx } from "./ctx";
import { evidencePanel, evidenceViewer } from "./evidence";
import { findingsPanel } from "./findings";
import { browserGeo, type GeoSource } from "./geo";
import { header } from "./header";
import { keepPlace } from "./keepPlace";
import { watchLocation } from "./location";
import { overviewPanel } from "./overview";
import { qrDialog } from "./qr";
import { signaturesPanel } from "./signatures";
import type { ScreenState } from "./state";
import { submitPanel } from "./submit";
import { watchSyncs } from "./syncWatch";
import { tabs } from "./tabs";
import { errorWords, translator } from "./texts";
import { timelinePanel } from "./timeline";

export type { TabName };

export interface TaskScreenDeps {
  backend: Backend;
  i18n: I18n;
  taskId: string;
  onBack: () => void;
  /** Milliseconds since the epoch; `Date.now` unless a test pins it. */
  now?: () => number;
  /** IANA time zone for dates and times; the device's unless a test pins it. */
  timeZone?: string;
  /** Where GPS fixes come from; the WebView's location service (and `fieldloop:fix` events) by default. */
  geo?: GeoSource;
  /** Send the trace once this many fixes wait (10). */
  traceBatchSize?: number;
  /** Send the trace at the latest this long after the first waiting fix (15 s). */
  traceIntervalMs?: number;
  /**
   * How often to ask whether a sync has happened, to show what it merged into the
   * record (3 s; 0: never, the shell calls `refresh` instead).
   */
  syncPollMs?: number;
}

export interface TaskScreen extends Screen {
  /** The open tab. */
  readonly tab: TabName;
  showTab(tab: TabName): void;
  /** Loads the task again (after a sync, say). */
  refresh(): Promise<void>;
  /** Resolves once every call under way has been answered and shown. */
  settled(): Promise<void>;
}

export function taskScreen(deps: TaskScreenDeps): TaskScreen {
  const { backend, i18n, taskId } = deps;
  const now = deps.now ?? Date.now;
  const timeZone = deps.timeZone;
  const t = translator(i18n);

  const state: ScreenState = { view: null, loadError: null, error: null, disposed: false };
  let loads = 0;
  const work = new Work();
  const track = work.track;
  const blobs = new BlobUrls(backend, track);
  const element = h("section", { class: "task-screen", testid: "task-screen" });

  const runner = actions({
    backend,
    taskId,
    state,
    work,
    apply,
    render,
    after: () => {
      if (tabBar.current === "timeline") void timeline.load();
    },
    lastFix: () => geo.lastFix(),
  });
  const geo = watchLocation({
    backend,
    taskId,
    i18n,
    t,
    geo: deps.geo ?? browserGeo({ now }),
    state,
    batchSize: deps.traceBatchSize ?? 10,
    intervalMs: deps.traceIntervalMs ?? 15_000,
    apply,
    render,
    track,
    changed: () => {
      if (state.view !== null) overview.update(state.view);
    },
  });

  const ctx: TaskCtx = {
    i18n,
    t,
    backend,
    taskId,
    timeZone,
    blobs,
    now,
    ...runner,
    editable: () => state.view?.editable === true,
    lastFix: () => geo.lastFix(),
    showTab: (name) => tabBar.show(name),
    openEvidence: (sha) => {
      viewer.open(sha);
      if (state.view !== null) viewer.update(state.view);
    },
    showConflicts(prefix) {
      tabBar.show("submit");
      submit.revealConflict(prefix);
    },
    showItem(id) {
      tabBar.show("checklist");
      const item = [...checklist.element.querySelectorAll<HTMLElement>('[data-testid="item"]')].find((e) => e.dataset.itemId === id);
      item?.scrollIntoView?.({ block: "center" });
      item?.querySelector<HTMLElement>("button:not([disabled])")?.focus({ preventScroll: true });
    },
    personName(id) {
      if (id === null) return t("taskScreen.unknownPerson");
      return state.view?.inspectors.find((i) => i.id === id)?.name ?? id;
    },
    deptName: (ref) => (i18n.lang === "en" ? ref.name_en : ref.name),
    dateTime: (ms) => formatDateTime(ms, i18n.locale, timeZone),
    date: (ms) => formatDate(ms, i18n.locale, timeZone),
    track,
  };

  const top = header({
    i18n,
    t,
    onBack: () => deps.onBack(),
    openQr: () => qr.open(),
    dismissError: () => {
      state.error = null;
      render();
    },
  });

  // Tabs and panels.
  const viewer = evidenceViewer(ctx);
  const overview = overviewPanel(ctx, () => geo.status());
  const checklist = checklistPanel(ctx);
  const evidence = evidencePanel(ctx);
  const findings = findingsPanel(ctx);
  const signatures = signaturesPanel(ctx);
  const submit = submitPanel(ctx);
  const timeline = timelinePanel(ctx);
  const panels: Record<TabName, Panel> = { overview, checklist, evidence, findings, signatures, submit, timeline };
  const tabBar = tabs(panels, t, element);
  const loadState = h("div", { class: "task-state" });
  const content = h("div", { class: "task-content" }, tabBar.bar, ...tabBar.boxes);

  const qr = qrDialog({ backend, taskId, i18n, t, state, track, closed: () => top.showQr.focus() });

  element.append(top.bar, ...top.banners, loadState, content, qr.element, viewer.element);
  element.dataset.taskId = taskId;
  element.dataset.status = "";

  function apply(next: TaskView): void {
    state.view = next;
    state.loadError = null;
    geo.sync();
  }

  function render(): void {
    if (state.disposed) return;
    const restorePlace = keepPlace(element);

    top.render(state.view, state.error);
    qr.render();

    if (state.view === null) {
      element.dataset.status = "";
      content.hidden = true;
      replaceChildren(
        loadState,
        state.loadError === null
          ? h("p", { class: "state state-loading", testid: "task-loading", text: t("taskScreen.loading") })
          : h(
              "div",
              { class: "state state-error", testid: "task-load-error", attrs: { role: "alert" } },
              h("p", { class: "state-title", text: t("taskScreen.loadError") }),
              h("p", { class: "state-hint", text: errorWords(i18n, t, state.loadError) }),
              h("button", { ...buttonProps("task-retry", "button"), text: t("taskScreen.retry"), on: { click: () => void load() } }),
            ),
      );
      return;
    }

    const v = state.view;
    replaceChildren(loadState);
    content.hidden = false;
    element.dataset.status = v.status ?? "";
    element.dataset.editable = String(v.editable);

    tabBar.renderLabels(v);
    tabBar.render();
    for (const name of TABS) panels[name].update(v);
    viewer.update(v);

    restorePlace();
  }

  function load(): Promise<void> {
    const mine = ++loads;
    if (state.view === null) {
      state.loadError = null;
      render();
    }
    const run = backend.taskView(taskId).then(
      (next) => {
        if (mine !== loads || state.disposed) return;
        apply(next);
        render();
      },
      (reason: unknown) => {
        if (mine !== loads || state.disposed) return;
        if (state.view === null) state.loadError = BackendError.from(reason);
        else state.error = BackendError.from(reason);
        render();
      },
    );
    track(run);
    return run;
  }

  const unsubscribe = i18n.onChange(() => render());
  tabBar.render();
  render();
  void load();
  const stopSyncs = watchSyncs(backend, deps.syncPollMs ?? 3_000, () => {
    void load();
    if (tabBar.current === "timeline") void timeline.load();
  });

  return {
    element,
    get tab() {
      return tabBar.current;
    },
    showTab: (name) => tabBar.show(name),
    refresh: load,
    settled: () => work.settled(),
    dispose() {
      if (state.disposed) return;
      // Send the last trace points before letting go.
      geo.stop();
      state.disposed = true;
      stopSyncs();
      unsubscribe();
      for (const panel of Object.values(panels)) panel.dispose?.();
      blobs.dispose();
    },
  };
}
