// The sync status bar under the header: where sync stands in words, when the
// tablet last synced, what waits to be uploaded, the progress of a sync under
// way, why sync is offline or needs attention, and a "sync now" button.
//
// It asks the backend for the status every two seconds (the sync itself runs
// on its own thread on the Rust side; this only reads its status line).

import { type Backend, BackendError, type ErrorCode, type SyncView } from "../backend/backend";
import { formatClock } from "../dates";
import { h } from "../dom";
import { errorText, type I18n } from "../i18n";
import type { Screen } from "./screen";

export interface SyncBarDeps {
  backend: Backend;
  i18n: I18n;
  /** Pause between two status reads. */
  pollMs?: number;
  /** Milliseconds since the epoch; `Date.now` unless a test pins it. */
  now?: () => number;
  /** IANA time zone for times; the device's unless a test pins it. */
  timeZone?: string;
  /** Called when a sync has finished after the bar started (new tasks may be in the store). */
  onSynced?: () => void;
}

export interface SyncBar extends Screen {
  /** The last status read, `null` before the first one or after a failed read. */
  readonly view: SyncView | null;
  /** Reads the status now. */
  refresh(): Promise<void>;
  /** Resolves once the latest read has been shown. */
  settled(): Promise<void>;
}

export const SYNC_POLL_MS = 2_000;

export function syncBar(deps: SyncBarDeps): SyncBar {
  const { backend, i18n } = deps;
  const now = deps.now ?? Date.now;
  const pollMs = deps.pollMs ?? SYNC_POLL_MS;

  let view: SyncView | null = null;
  let readError: BackendError | null = null;
  let nowError: BackendError | null = null;
  let asking = false;
  let disposed = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let reads = 0;
  let latest: Promise<void> = Promise.resolve();
  /** The offline retry, counted down here: the status says how long from when it failed. */
  let retry: { key: string; at: number } | null = null;

  const dot = h("span", { class: "sync-dot", attrs: { "aria-hidden": "true" } });
  const status = h("span", { class: "sync-status", testid: "sync-status", attrs: { "data-phase": "unknown" } });
  const message = h("span", { class: "sync-message", testid: "sync-message" });
  // The countdown changes at every read: outside the live region, so it is not read out each time.
  const retryIn = h("span", { class: "sync-retry", testid: "sync-retry" });
  const last = h("span", { class: "sync-last", testid: "sync-last" });
  const progress = h("span", { class: "sync-progress", testid: "sync-progress" });
  const waiting = h("span", { class: "sync-waiting", testid: "sync-waiting" });
  const button = h("button", {
    class: "sync-now",
    testid: "sync-now",
    attrs: { type: "button" },
    on: { click: () => void syncNow() },
  });
  const element = h(
    "div",
    { class: "sync-bar", testid: "sync-bar", attrs: { role: "region" } },
    h("div", { class: "sync-state", attrs: { "aria-live": "polite" } }, dot, status, message),
    retryIn,
    h("div", { class: "sync-facts" }, last, progress, waiting),
    button,
  );

  function schedule(): void {
    clearTimeout(timer);
    if (!disposed) timer = setTimeout(() => void refresh(), pollMs);
  }

  function refresh(): Promise<void> {
    const mine = ++reads;
    latest = backend.syncStatus().then(
      (next) => {
        if (mine !== reads || disposed) return;
        const before = view;
        view = next;
        readError = null;
        render();
        if (before !== null && next.last_synced_at !== null && next.last_synced_at !== before.last_synced_at) {
          deps.onSynced?.();
        }
      },
      (reason: unknown) => {
        if (mine !== reads || disposed) return;
        view = null;
        readError = BackendError.from(reason);
        render();
      },
    );
    // The next read waits for this one, so slow reads never pile up.
    void latest.finally(() => {
      if (mine === reads) schedule();
    });
    return latest;
  }

  async function syncNow(): Promise<void> {
    asking = true;
    nowError = null;
    render();
    try {
      await backend.syncNow();
    } catch (reason) {
      nowError = BackendError.from(reason);
    }
    asking = false;
    if (disposed) return;
    await refresh();
  }

  function render(): void {
    element.setAttribute("aria-label", i18n.t("sync.label"));
    button.textContent = i18n.t("sync.now");
    button.setAttribute("aria-label", i18n.t("sync.nowLabel"));
    // Asking while a sync runs is harmless (the Rust side only wakes its sync thread).
    button.disabled = asking;

    const phase = view?.phase ?? "unknown";
    element.dataset.phase = phase;
    status.dataset.phase = phase;
    // When the last sync ended (ms since the epoch), for scripts and tests that wait for a new one.
    status.dataset.lastSynced = String(view?.last_synced_at ?? 0);
    show(status, i18n.t(`sync.phase.${phase}`));

    show(message, messageText());
    if (view?.phase !== "offline") retry = null;
    show(retryIn, view?.phase === "offline" ? retryText(view) : "");
    show(
      last,
      view?.last_synced_at == null
        ? ""
        : i18n.t("sync.lastSynced", { time: formatClock(view.last_synced_at, now(), i18n.locale, deps.timeZone) }),
    );
    show(progress, view?.phase === "syncing" ? progressText(view) : "");
    show(waiting, view === null ? "" : waitingText(view));
    waiting.dataset.tasks = String(view?.waiting_tasks ?? 0);
    waiting.dataset.files = String(view?.waiting_uploads ?? 0);
  }

  function messageText(): string {
    if (nowError !== null) return reasonText(nowError.code, nowError.message);
    if (readError !== null) return reasonText(readError.code, readError.message);
    if (view === null) return "";
    if (view.phase === "offline" || view.phase === "attention") return reasonText(view.code, view.message);
    if (view.phase === "synced" && view.refused_tasks.length > 0) {
      return i18n.plural("sync.refused", view.refused_tasks.length);
    }
    return "";
  }

  /** The words for a failure: the sentence for its code; the Rust side's message only when there is no code. */
  function reasonText(code: ErrorCode | null, message: string | null): string {
    return code === null ? (message ?? "") : errorText(i18n, code);
  }

  function retryText(offline: SyncView): string {
    if (offline.retry_in_ms === null) {
      retry = null;
      return "";
    }
    const key = `${offline.code}|${offline.message}|${offline.retry_in_ms}`;
    // The Rust side says when the retry is due; older answers only how long after the failure.
    if (retry?.key !== key) retry = { key, at: offline.retry_at ?? now() + offline.retry_in_ms };
    const seconds = Math.ceil((retry.at - now()) / 1000);
    return seconds > 0 ? i18n.t("sync.retryIn", { seconds }) : i18n.t("sync.retrySoon");
  }

  function progressText(syncing: SyncView): string {
    const parts = [i18n.t("sync.progress", { rounds: syncing.rounds })];
    if (syncing.uploaded > 0 || syncing.uploads_left > 0) {
      parts.push(i18n.t("sync.progress.uploads", { uploaded: syncing.uploaded, left: syncing.uploads_left }));
    }
    return parts.join(" · ");
  }

  function waitingText(status: SyncView): string {
    const parts: string[] = [];
    if (status.waiting_tasks > 0) parts.push(i18n.plural("sync.waiting.tasks", status.waiting_tasks));
    if (status.waiting_uploads > 0) parts.push(i18n.plural("sync.waiting.files", status.waiting_uploads));
    return parts.length === 0 ? "" : i18n.t("sync.waiting", { what: parts.join(" · ") });
  }

  const unsubscribe = i18n.onChange(render);
  render();
  void refresh();

  return {
    element,
    get view() {
      return view;
    },
    refresh,
    settled: () => latest,
    dispose() {
      disposed = true;
      clearTimeout(timer);
      unsubscribe();
    },
  };
}

/** Sets the text only when it changed, so live regions speak only of changes. */
function show(element: HTMLElement, text: string): void {
  if (element.textContent !== text) element.textContent = text;
  element.hidden = text === "";
}
