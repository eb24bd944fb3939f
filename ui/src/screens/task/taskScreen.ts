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

import "./task.css";
import { type Backend, BackendError, type ErrorCode, type Fix, type TaskView } from "../../backend/backend";
import { formatDate, formatDateTime } from "../../dates";
import { h, replaceChildren } from "../../dom";
import type { I18n } from "../../i18n";
import type { Screen } from "../screen";
import { BlobUrls } from "./blobs";
import { checklistPanel } from "./checklist";
import { buttonProps, type Panel, type PhotoProgress, type TabName, TABS, type TaskCtx } from "./ctx";
import { evidencePanel, evidenceViewer } from "./evidence";
import { findingsPanel } from "./findings";
import { browserGeo, type GeoSource } from "./geo";
import { overviewPanel } from "./overview";
import { signaturesPanel } from "./signatures";
import { submitPanel } from "./submit";
import { errorWords, translator } from "./texts";
import { timelinePanel } from "./timeline";
import { TraceBuffer } from "./trace";

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

/** Error codes after which trace points are kept to be sent again. */
const RETRY_TRACE = (code: ErrorCode) => code === "ipc.failed" || code.startsWith("store.") || code.startsWith("app.store");

export function taskScreen(deps: TaskScreenDeps): TaskScreen {
  const { backend, i18n, taskId } = deps;
  const now = deps.now ?? Date.now;
  const timeZone = deps.timeZone;
  const geoSource = deps.geo ?? browserGeo({ now });
  const t = translator(i18n);

  const work = new Set<Promise<unknown>>();
  const track = (promise: Promise<unknown>): void => {
    work.add(promise);
    const done = () => work.delete(promise);
    promise.then(done, done);
  };

  let view: TaskView | null = null;
  let loadError: BackendError | null = null;
  let loads = 0;
  let tab: TabName = "overview";
  let error: BackendError | null = null;
  let disposed = false;
  const busy = new Set<string>();
  /** Actions under way, by key. */
  const running = new Map<Promise<unknown>, string>();
  const photos = new Map<string, PhotoProgress>();

  let stopGeo: (() => void) | null = null;
  let lastFix: Fix | null = null;
  let unavailable: string | null = null;
  let trace: TraceBuffer | null = null;
  let traceError: string | null = null;

  const blobs = new BlobUrls(backend, track);

  const ctx: TaskCtx = {
    i18n,
    t,
    backend,
    taskId,
    timeZone,
    blobs,
    now,
    act,
    busy: (key) => busy.has(key),
    async whenIdle(except) {
      for (;;) {
        const others = [...running].filter(([, key]) => key !== except).map(([run]) => run);
        if (others.length === 0) return;
        await Promise.allSettled(others);
      }
    },
    editable: () => view?.editable === true,
    addPhotos,
    photoProgress: (item) => photos.get(item ?? "") ?? null,
    lastFix: () => lastFix,
    showTab,
    openEvidence: (sha) => {
      viewer.open(sha);
      if (view !== null) viewer.update(view);
    },
    showConflicts(prefix) {
      showTab("submit");
      submit.revealConflict(prefix);
    },
    showItem(id) {
      showTab("checklist");
      const item = [...checklist.element.querySelectorAll<HTMLElement>('[data-testid="item"]')].find((e) => e.dataset.itemId === id);
      item?.scrollIntoView?.({ block: "center" });
      item?.querySelector<HTMLElement>("button:not([disabled])")?.focus({ preventScroll: true });
    },
    personName(id) {
      if (id === null) return t("taskScreen.unknownPerson");
      return view?.inspectors.find((i) => i.id === id)?.name ?? id;
    },
    deptName: (ref) => (i18n.lang === "en" ? ref.name_en : ref.name),
    dateTime: (ms) => formatDateTime(ms, i18n.locale, timeZone),
    date: (ms) => formatDate(ms, i18n.locale, timeZone),
    track,
  };

  // Top bar.
  const back = h("button", { ...buttonProps("task-back", "btn btn-back"), on: { click: () => deps.onBack() } });
  const code = h("span", { class: "task-code", testid: "task-code" });
  const subject = h("h2", { class: "task-subject", testid: "task-subject" });
  const status = h("span", { class: "badge", testid: "task-status" });
  const dirty = h("span", { class: "badge badge-dirty", testid: "task-dirty" });
  const showQr = h("button", { ...buttonProps("show-qr", "btn btn-qr"), on: { click: () => openQr() } });
  const topBar = h(
    "header",
    { class: "task-bar" },
    back,
    h("div", { class: "task-heading" }, h("div", { class: "task-heading-top" }, code, status, dirty), subject),
    showQr,
  );

  // Banners.
  const returnComment = h("div", { class: "banner banner-returned", testid: "return-comment", attrs: { role: "note" } });
  const readOnly = h("p", { class: "banner banner-readonly", testid: "task-readonly" });
  const errorText = h("p", { class: "banner-text", testid: "task-error-message" });
  const errorDetail = h("p", { class: "banner-detail", testid: "task-error-detail" });
  const errorClose = h("button", {
    ...buttonProps("task-error-dismiss", "btn btn-small"),
    on: {
      click: () => {
        error = null;
        render();
      },
    },
  });
  const errorBanner = h(
    "div",
    { class: "banner banner-error", testid: "task-error", attrs: { role: "alert" } },
    h("div", { class: "banner-body" }, errorText, errorDetail),
    errorClose,
  );

  // Tabs and panels.
  const viewer = evidenceViewer(ctx);
  const overview = overviewPanel(ctx, () => ({
    watching: stopGeo !== null,
    unavailable,
    accuracy: lastFix?.accuracy ?? null,
    traceError,
  }));
  const checklist = checklistPanel(ctx);
  const evidence = evidencePanel(ctx);
  const findings = findingsPanel(ctx);
  const signatures = signaturesPanel(ctx);
  const submit = submitPanel(ctx);
  const timeline = timelinePanel(ctx);
  const panels: Record<TabName, Panel> = { overview, checklist, evidence, findings, signatures, submit, timeline };

  const tabLabels = new Map<TabName, { label: HTMLElement; badge: HTMLElement }>();
  const tabButtons = new Map<TabName, HTMLButtonElement>();
  const panelBoxes = new Map<TabName, HTMLElement>();
  for (const name of TABS) {
    const label = h("span", { class: "tab-label" });
    const badge = h("span", { class: "tab-badge", testid: "tab-badge" });
    tabLabels.set(name, { label, badge });
    tabButtons.set(
      name,
      h(
        "button",
        {
          class: `tab tab-${name}`,
          testid: `tab-${name}`,
          attrs: { type: "button", role: "tab", id: `task-tab-${name}`, "aria-controls": `task-panel-${name}` },
          on: { click: () => showTab(name), keydown: (e) => onTabKey(e, name) },
        },
        label,
        badge,
      ),
    );
    panelBoxes.set(
      name,
      h(
        "div",
        { class: `panel panel-${name}`, testid: `panel-${name}`, attrs: { role: "tabpanel", id: `task-panel-${name}`, "aria-labelledby": `task-tab-${name}` } },
        panels[name].element,
      ),
    );
  }
  const tabBar = h("nav", { class: "tab-bar", attrs: { role: "tablist" } }, ...tabButtons.values());
  const state = h("div", { class: "task-state" });
  const content = h("div", { class: "task-content" }, tabBar, ...panelBoxes.values());

  // The verification QR code (亮码).
  const qrTitle = h("h2", { class: "overlay-title", attrs: { id: "qr-title" } });
  const qrHint = h("p", { class: "hint" });
  const qrBox = h("div", { class: "verify-qr", testid: "verify-qr" });
  const qrUrl = h("p", { class: "verify-url mono", testid: "verify-url" });
  const qrClose = h("button", { ...buttonProps("qr-close", "btn"), on: { click: () => closeQr() } });
  const qrDialog = h(
    "div",
    {
      class: "overlay",
      testid: "qr-dialog",
      attrs: { role: "dialog", "aria-modal": "true", "aria-labelledby": "qr-title" },
      on: { keydown: (e) => e.key === "Escape" && closeQr() },
    },
    h("div", { class: "overlay-body qr-body" }, h("header", { class: "overlay-head" }, qrTitle, qrClose), qrHint, qrBox, qrUrl),
  );
  qrDialog.hidden = true;

  const element = h("section", { class: "task-screen", testid: "task-screen" }, topBar, returnComment, readOnly, errorBanner, state, content, qrDialog, viewer.element);
  element.dataset.taskId = taskId;
  element.dataset.status = "";

  // ---- actions ----

  // Not `async`: callers chain on the very promise `settled()` waits for.
  function act(key: string, call: () => Promise<TaskView>, before?: (ok: boolean) => void): Promise<boolean> {
    if (disposed || busy.has(key)) return Promise.resolve(false);
    busy.add(key);
    render();
    const run = (async () => {
      let ok = false;
      try {
        const next = await call();
        if (disposed) return false;
        error = null;
        apply(next);
        ok = true;
      } catch (reason) {
        if (disposed) return false;
        error = BackendError.from(reason);
      } finally {
        busy.delete(key);
      }
      before?.(ok);
      render();
      if (tab === "timeline") void timeline.load();
      return ok;
    })();
    track(run);
    running.set(run, key);
    void run.then(() => running.delete(run));
    return run;
  }

  function addPhotos(item: string | null, files: readonly File[]): void {
    const slot = item ?? "";
    const key = `photo:${slot}`;
    if (files.length === 0 || busy.has(key) || disposed) return;
    busy.add(key);
    photos.set(slot, { done: 0, total: files.length });
    render();
    const run = (async () => {
      let failed: BackendError | null = null;
      for (const [index, file] of files.entries()) {
        photos.set(slot, { done: index, total: files.length });
        render();
        try {
          const bytes = new Uint8Array(await file.arrayBuffer());
          const fix = lastFix;
          const next = await backend.addPhoto(taskId, item, bytes, fix === null ? null : { lat: fix.lat, lon: fix.lon });
          if (disposed) return;
          apply(next);
        } catch (reason) {
          if (disposed) return;
          failed ??= BackendError.from(reason);
        }
      }
      busy.delete(key);
      photos.delete(slot);
      error = failed;
      render();
      if (tab === "timeline") void timeline.load();
    })();
    track(run);
    running.set(run, key);
    void run.then(() => running.delete(run));
  }

  async function sendTrace(fixes: Fix[]): Promise<boolean> {
    const call = backend.addTrace(taskId, fixes).then(
      (next) => {
        traceError = null;
        if (!disposed) {
          apply(next);
          render();
        }
        return true;
      },
      (reason: unknown) => {
        const failure = BackendError.from(reason);
        traceError = errorWords(i18n, t, failure);
        if (!disposed) render();
        return !RETRY_TRACE(failure.code);
      },
    );
    track(call);
    return call;
  }

  // ---- location ----

  function syncGeo(): void {
    const wanted = view?.editable === true && !disposed;
    if (wanted && stopGeo === null) {
      trace = new TraceBuffer(sendTrace, { batchSize: deps.traceBatchSize ?? 10, intervalMs: deps.traceIntervalMs ?? 15_000 });
      let stop: (() => void) | null = null;
      stopGeo = () => stop?.();
      stop = geoSource.start(onFix, onUnavailable);
    } else if (!wanted && stopGeo !== null) {
      stopGeo();
      stopGeo = null;
      const closing = trace?.close();
      if (closing !== undefined) track(closing);
      trace = null;
    }
  }

  function onFix(fix: Fix): void {
    if (disposed) return;
    const hadFix = lastFix !== null;
    lastFix = fix;
    const wasUnavailable = unavailable !== null;
    unavailable = null;
    trace?.push(fix);
    if (view !== null) overview.update(view);
    // The check-in hint and the photo locations change with the first fix only.
    if (!hadFix || wasUnavailable) render();
  }

  function onUnavailable(reason: string): void {
    if (disposed) return;
    unavailable = reason;
    if (view !== null) overview.update(view);
  }

  // ---- syncs ----

  const syncPollMs = deps.syncPollMs ?? 3_000;
  let syncTimer: ReturnType<typeof setTimeout> | undefined;
  let lastSynced: number | null | undefined;

  /** Reloads the task when a sync (by the sync bar or in the background) has merged something in. */
  function watchSyncs(): void {
    if (syncPollMs <= 0 || disposed) return;
    syncTimer = setTimeout(() => {
      backend.syncStatus().then(
        (sync) => {
          if (disposed) return;
          if (lastSynced !== undefined && sync.last_synced_at !== lastSynced) {
            void load();
            if (tab === "timeline") void timeline.load();
          }
          lastSynced = sync.last_synced_at;
          watchSyncs();
        },
        () => watchSyncs(),
      );
    }, syncPollMs);
  }

  // ---- QR ----

  function openQr(): void {
    qrDialog.hidden = false;
    replaceChildren(qrBox, h("p", { class: "hint", testid: "qr-loading", text: t("taskScreen.qr.loading") }));
    const load = backend.taskQr(taskId).then(
      (text) => {
        if (disposed) return;
        const svg = parseSvg(text);
        replaceChildren(qrBox, svg ?? h("p", { class: "form-error", testid: "qr-error", text: t("taskScreen.qr.error", { message: "SVG" }) }));
      },
      (reason: unknown) => {
        if (disposed) return;
        const words = errorWords(i18n, t, BackendError.from(reason));
        replaceChildren(qrBox, h("p", { class: "form-error", testid: "qr-error", text: t("taskScreen.qr.error", { message: words }) }));
      },
    );
    track(load);
    renderQr();
    qrClose.focus();
  }

  function closeQr(): void {
    qrDialog.hidden = true;
    showQr.focus();
  }

  function renderQr(): void {
    qrTitle.textContent = t("taskScreen.qr.title");
    qrHint.textContent = t("taskScreen.qr.hint");
    qrClose.textContent = t("taskScreen.close");
    qrUrl.textContent = view?.verify_url ?? "";
  }

  // ---- tabs ----

  function showTab(name: TabName): void {
    const changed = name !== tab;
    tab = name;
    renderTabs();
    // In a narrow window (or in English) the tab bar scrolls sideways: keep the open tab in sight.
    if (changed) tabButtons.get(name)?.scrollIntoView?.({ block: "nearest", inline: "nearest" });
    if (changed || name === "timeline") panels[name].shown?.();
  }

  function onTabKey(event: KeyboardEvent, name: TabName): void {
    const index = TABS.indexOf(name);
    const step = event.key === "ArrowRight" ? 1 : event.key === "ArrowLeft" ? -1 : 0;
    if (step === 0) return;
    event.preventDefault();
    const next = TABS[(index + step + TABS.length) % TABS.length]!;
    showTab(next);
    tabButtons.get(next)?.focus();
  }

  function renderTabs(): void {
    element.dataset.tab = tab;
    for (const name of TABS) {
      const selected = name === tab;
      const button = tabButtons.get(name)!;
      button.setAttribute("aria-selected", String(selected));
      button.tabIndex = selected ? 0 : -1;
      button.classList.toggle("is-selected", selected);
      panelBoxes.get(name)!.hidden = !selected;
    }
  }

  function renderTabLabels(v: TaskView): void {
    const total = v.groups.reduce((n, g) => n + g.items.length, 0);
    const answered = v.groups.reduce((n, g) => n + g.answered, 0);
    const badges: Record<TabName, string> = {
      overview: "",
      checklist: `${answered}/${total}`,
      evidence: String(v.evidence.filter((e) => e.withdrawn_at === null && e.kind !== "signature").length || ""),
      findings: String(v.findings.length + v.lead_transfers.length || ""),
      signatures: String(v.signatures.length || ""),
      submit: String(v.problems.length || ""),
      timeline: "",
    };
    for (const name of TABS) {
      const { label, badge } = tabLabels.get(name)!;
      label.textContent = t(`taskScreen.tab.${name}`);
      badge.textContent = badges[name];
      badge.hidden = badges[name] === "";
    }
    tabLabels.get("submit")!.badge.classList.toggle("is-alert", v.problems.length > 0);
    tabButtons.get("checklist")!.classList.toggle("has-conflict", v.conflicts.length > 0);
  }

  // ---- rendering ----

  function apply(next: TaskView): void {
    view = next;
    loadError = null;
    syncGeo();
  }

  function render(): void {
    if (disposed) return;
    const focused = document.activeElement;
    const scrolled = scrollPositions(element);

    back.textContent = t("taskScreen.back");
    back.setAttribute("aria-label", t("taskScreen.backLabel"));
    showQr.textContent = t("taskScreen.qr.button");
    renderQr();
    errorClose.textContent = t("taskScreen.error.dismiss");
    errorBanner.hidden = error === null;
    if (error !== null) {
      const words = errorWords(i18n, t, error);
      errorText.textContent = words;
      errorDetail.hidden = error.message === "" || error.message === words;
      errorDetail.textContent = t("taskScreen.error.detail", { message: error.message, code: error.code });
    }

    if (view === null) {
      element.dataset.status = "";
      content.hidden = true;
      returnComment.hidden = true;
      readOnly.hidden = true;
      showQr.disabled = true;
      status.hidden = true;
      dirty.hidden = true;
      replaceChildren(
        state,
        loadError === null
          ? h("p", { class: "state state-loading", testid: "task-loading", text: t("taskScreen.loading") })
          : h(
              "div",
              { class: "state state-error", testid: "task-load-error", attrs: { role: "alert" } },
              h("p", { class: "state-title", text: t("taskScreen.loadError") }),
              h("p", { class: "state-hint", text: errorWords(i18n, t, loadError) }),
              h("button", { ...buttonProps("task-retry", "button"), text: t("taskScreen.retry"), on: { click: () => void load() } }),
            ),
      );
      return;
    }

    const v = view;
    replaceChildren(state);
    content.hidden = false;
    element.dataset.status = v.status ?? "";
    element.dataset.editable = String(v.editable);
    code.textContent = v.code;
    subject.textContent = v.subject_name;
    status.hidden = false;
    status.className = `badge badge-${v.status ?? "unknown"}`;
    status.textContent = v.status === null ? t("taskScreen.statusUnknown") : i18n.t(`status.${v.status}`);
    dirty.hidden = !v.dirty;
    dirty.textContent = i18n.t("task.dirty");
    dirty.title = i18n.t("task.dirtyLabel");
    showQr.disabled = false;

    returnComment.hidden = v.return_comment === null;
    replaceChildren(
      returnComment,
      v.return_comment !== null && h("strong", { class: "banner-title", text: t("taskScreen.returned") }),
      v.return_comment !== null && h("p", { class: "banner-text", testid: "return-comment-text", text: v.return_comment }),
    );
    readOnly.hidden = v.editable;
    readOnly.textContent = v.editable ? "" : readOnlyText(v);

    renderTabLabels(v);
    renderTabs();
    for (const name of TABS) panels[name].update(v);
    viewer.update(v);

    restoreScroll(scrolled);
    if (focused instanceof HTMLElement && focused !== document.activeElement && focused.isConnected && !focused.closest("[hidden]")) {
      focused.focus({ preventScroll: true });
    }
  }

  function readOnlyText(v: TaskView): string {
    if (!v.inspectors.some((i) => i.me)) return t("taskScreen.readOnly.notMine");
    switch (v.status) {
      case "submitted":
        return t("taskScreen.readOnly.submitted");
      case "approved":
      case "published":
        return t("taskScreen.readOnly.approved");
      case "cancelled":
        return t("taskScreen.readOnly.cancelled");
      default:
        return t("taskScreen.readOnly.locked");
    }
  }

  function load(): Promise<void> {
    const mine = ++loads;
    if (view === null) {
      loadError = null;
      render();
    }
    const run = backend.taskView(taskId).then(
      (next) => {
        if (mine !== loads || disposed) return;
        apply(next);
        render();
      },
      (reason: unknown) => {
        if (mine !== loads || disposed) return;
        if (view === null) loadError = BackendError.from(reason);
        else error = BackendError.from(reason);
        render();
      },
    );
    track(run);
    return run;
  }

  const unsubscribe = i18n.onChange(() => render());
  renderTabs();
  render();
  void load();
  if (syncPollMs > 0) {
    void backend.syncStatus().then(
      (sync) => {
        lastSynced ??= sync.last_synced_at;
      },
      () => undefined,
    );
  }
  watchSyncs();

  return {
    element,
    get tab() {
      return tab;
    },
    showTab,
    refresh: load,
    async settled() {
      while (work.size > 0) await Promise.allSettled([...work]);
    },
    dispose() {
      if (disposed) return;
      // Send the last trace points before letting go.
      if (stopGeo !== null) {
        stopGeo();
        stopGeo = null;
      }
      if (trace !== null) track(trace.close());
      trace = null;
      disposed = true;
      clearTimeout(syncTimer);
      unsubscribe();
      for (const panel of Object.values(panels)) panel.dispose?.();
      blobs.dispose();
    },
  };
}

/** The QR code's SVG as an element, without scripts or event handlers; `null` when it is not SVG. */
function parseSvg(text: string): SVGSVGElement | null {
  try {
    const doc = new DOMParser().parseFromString(text, "image/svg+xml");
    const root = doc.documentElement;
    if (root === null || root.nodeName.toLowerCase() !== "svg" || doc.querySelector("parsererror") !== null) return null;
    for (const bad of root.querySelectorAll("script, foreignObject")) bad.remove();
    for (const node of [root, ...root.querySelectorAll("*")]) {
      for (const attr of [...node.attributes]) {
        if (attr.name.toLowerCase().startsWith("on") || /^\s*javascript:/i.test(attr.value)) node.removeAttribute(attr.name);
      }
    }
    const svg = document.importNode(root, true) as unknown as SVGSVGElement;
    svg.setAttribute("role", "img");
    return svg;
  } catch {
    return null;
  }
}

/** Scroll offsets of the screen's scrolling ancestors, to put back after an update. */
function scrollPositions(element: HTMLElement): [Element, number][] {
  const found: [Element, number][] = [];
  for (let node: Element | null = element; node !== null; node = node.parentElement) {
    if (node.scrollTop > 0) found.push([node, node.scrollTop]);
  }
  const page = document.scrollingElement;
  if (page !== null && page.scrollTop > 0 && !found.some(([n]) => n === page)) found.push([page, page.scrollTop]);
  return found;
}

function restoreScroll(positions: readonly [Element, number][]): void {
  for (const [node, top] of positions) if (node.scrollTop !== top) node.scrollTop = top;
}
