// @vitest-environment happy-dom
import { mount as mountComponent } from "@vue/test-utils";
import { afterEach, describe, expect, it, vi } from "vitest";
import { nextTick } from "vue";
import { BackendError, type SyncView } from "../backend/backend";
import { MemoryBackend } from "../backend/memory";
import type { Deps } from "../deps";
import { I18n } from "../i18n";
import { withDeps } from "../testing/mount";
import { NOW, TZ } from "../testing/rows";
import { syncView } from "../testing/views";
import SyncBar from "./SyncBar.vue";

/** The bar as the shell holds it: its root element, what it exposes, and a way to let go of it. */
function syncBar(deps: Deps & { pollMs?: number; onSynced?: () => void }) {
  const { pollMs, onSynced, ...provided } = deps;
  const mounted = mountComponent(SyncBar, {
    props: pollMs === undefined ? {} : { pollMs },
    ...(onSynced === undefined ? {} : { attrs: { onSynced } }),
    ...withDeps(provided),
  });
  const vm = mounted.vm;
  let mountedNow = true;
  return {
    element: mounted.element as HTMLElement,
    get view() {
      return vm.view;
    },
    refresh: () => vm.refresh(),
    settled: () => vm.settled(),
    dispose() {
      if (mountedNow) mounted.unmount();
      mountedNow = false;
    },
  };
}

let bar: ReturnType<typeof syncBar> | null = null;

afterEach(() => {
  bar?.dispose();
  bar = null;
  vi.useRealTimers();
});

const byTestId = (root: ParentNode, id: string) => root.querySelector<HTMLElement>(`[data-testid="${id}"]`);

async function mount(view: Partial<SyncView>, options: { lang?: "zh" | "en"; now?: () => number; onSynced?: () => void } = {}) {
  const backend = new MemoryBackend();
  backend.sync = syncView(view);
  const i18n = new I18n();
  if (options.lang !== undefined) i18n.setLang(options.lang);
  bar = syncBar({
    backend,
    i18n,
    now: options.now ?? (() => NOW),
    timeZone: TZ,
    pollMs: 60_000,
    ...(options.onSynced === undefined ? {} : { onSynced: options.onSynced }),
  });
  await bar.settled();
  const el = bar.element;
  const text = (id: string) => {
    const node = byTestId(el, id);
    return node === null || node.hidden ? null : node.textContent;
  };
  return { backend, i18n, bar, el, text, status: byTestId(el, "sync-status")! };
}

describe("sync status bar", () => {
  it("says when sync has not run yet, with nothing waiting", async () => {
    const { status, text, el } = await mount({ phase: "idle" });
    expect(status.dataset.phase).toBe("idle");
    expect(status.textContent).toBe("尚未同步");
    expect(text("sync-last")).toBeNull();
    expect(text("sync-waiting")).toBeNull();
    expect(byTestId(el, "sync-waiting")?.dataset.tasks).toBe("0");
    expect(text("sync-message")).toBeNull();
    expect(text("sync-retry")).toBeNull();
    expect(el.querySelector('[aria-live="polite"]')?.contains(status)).toBe(true);
  });

  it("shows when it last synced", async () => {
    const { status, text } = await mount({ phase: "synced", last_synced_at: NOW - 25 * 60_000 });
    expect(status.dataset.phase).toBe("synced");
    expect(status.textContent).toBe("已同步");
    expect(text("sync-last")).toBe("上次同步 09:35");
  });

  it("adds the date when the last sync was on another day", async () => {
    const { text } = await mount({ phase: "synced", last_synced_at: NOW - 24 * 3_600_000 }, { lang: "en" });
    expect(text("sync-last")).toBe("Last synced 28 Nov, 10:00");
  });

  it("counts the tasks and files waiting to upload", async () => {
    const { text, el, i18n } = await mount({ phase: "synced", last_synced_at: NOW, waiting_tasks: 2, waiting_uploads: 5 });
    expect(text("sync-waiting")).toBe("2 项任务 · 5 个文件待上传");
    expect(byTestId(el, "sync-waiting")?.dataset.tasks).toBe("2");
    expect(byTestId(el, "sync-waiting")?.dataset.files).toBe("5");
    i18n.setLang("en");
    await nextTick();
    expect(text("sync-waiting")).toBe("2 tasks · 5 files waiting to upload");
  });

  it("names only what waits", async () => {
    const { text } = await mount({ phase: "offline", waiting_tasks: 1 }, { lang: "en" });
    expect(text("sync-waiting")).toBe("1 task waiting to upload");
    bar?.dispose();
    const files = await mount({ phase: "offline", waiting_uploads: 1 }, { lang: "en" });
    expect(files.text("sync-waiting")).toBe("1 file waiting to upload");
  });

  it("shows progress while syncing", async () => {
    const { status, text, el } = await mount({ phase: "syncing", rounds: 3, uploaded: 4, uploads_left: 6 });
    expect(status.dataset.phase).toBe("syncing");
    expect(status.textContent).toBe("正在同步…");
    expect(text("sync-progress")).toBe("第 3 轮 · 文件：已上传 4 个，还剩 6 个");
    expect(el.dataset.phase).toBe("syncing");
  });

  it("leaves upload progress out while only documents sync", async () => {
    const { text } = await mount({ phase: "syncing", rounds: 1 }, { lang: "en" });
    expect(text("sync-progress")).toBe("Round 1");
  });

  it("says it is offline and counts down to the retry", async () => {
    let now = NOW;
    const offline = {
      phase: "offline" as const,
      code: "sync.network" as const,
      message: "无法连接服务器 http://10.0.0.2:7878：timeout",
      retry_in_ms: 30_000,
    };
    const { backend, status, text, bar } = await mount(offline, { lang: "en", now: () => now });
    expect(status.dataset.phase).toBe("offline");
    expect(status.textContent).toBe("Offline");
    expect(text("sync-message")).toBe("The server cannot be reached; check the network.");
    expect(text("sync-retry")).toBe("will retry in 30 s");
    expect(text("sync-progress")).toBeNull();

    now += 12_500;
    await bar.refresh();
    expect(text("sync-retry")).toBe("will retry in 18 s");
    now += 60_000;
    await bar.refresh();
    expect(text("sync-retry")).toBe("will retry shortly");

    // A new failure starts a new countdown.
    backend.sync = syncView({ ...offline, retry_in_ms: 61_000 });
    await bar.refresh();
    expect(text("sync-retry")).toBe("will retry in 61 s");
  });

  it("says why an upload stopped, in the UI's words, not the Rust message", async () => {
    const { text } = await mount({ phase: "offline", code: "upload.network", message: "the connection failed", retry_in_ms: 2_000 });
    expect(text("sync-message")).toBe("无法连接服务器，证据文件上传中断，网络恢复后将自动继续。");
    expect(text("sync-retry")).toBe("2 秒后自动重试");
  });

  it("shows the Rust message only for a failure without a code", async () => {
    const { text } = await mount({ phase: "offline", code: null, message: "上传中断", retry_in_ms: 2_000 });
    expect(text("sync-message")).toBe("上传中断");
  });

  it("says what needs attention", async () => {
    const revoked = await mount({ phase: "attention", code: "auth.revoked", message: "device revoked" });
    expect(revoked.status.dataset.phase).toBe("attention");
    expect(revoked.status.textContent).toBe("同步需要处理");
    expect(revoked.text("sync-message")).toBe("本设备已被管理员停用，请联系管理员重新注册。");
    bar?.dispose();

    const notEnrolled = await mount({ phase: "attention", code: "sync.not_enrolled", message: "x" }, { lang: "en" });
    expect(notEnrolled.text("sync-message")).toBe("This tablet is not enrolled yet; scan the enrollment QR code first.");
    bar?.dispose();

    const unknown = await mount({ phase: "attention", code: "server.unknown", message: "服务器拒绝了修改 (sync.teleport)" });
    expect(unknown.text("sync-message")).toBe("服务器返回了本应用无法识别的错误，请更新应用后重试。");
  });

  it("says when the server refused edits, which were kept aside", async () => {
    const synced = await mount({ phase: "synced", last_synced_at: 1, refused_tasks: ["t-1", "t-2"] });
    expect(synced.status.textContent).toBe("已同步");
    expect(synced.text("sync-message")).toBe("服务器拒绝了 2 项任务中的修改，已另存于这些任务的提交页");
    bar?.dispose();
    const en = await mount({ phase: "synced", last_synced_at: 1, refused_tasks: ["t-1"] }, { lang: "en" });
    expect(en.text("sync-message")).toBe("The server refused edits to 1 task; they are kept on its submit tab");
  });

  it("syncs now on request, then reads the status at once", async () => {
    const { backend, el, status, text } = await mount({ phase: "idle" });
    const button = byTestId(el, "sync-now") as HTMLButtonElement;
    expect(button.textContent).toBe("立即同步");
    backend.sync = syncView({ phase: "syncing", rounds: 1 });

    button.click();
    await nextTick();
    expect(button.disabled).toBe(true);
    await vi.waitFor(() => expect(status.dataset.phase).toBe("syncing"));
    expect(backend.calls.map((call) => call.method)).toEqual(["syncStatus", "syncNow", "syncStatus"]);
    expect(text("sync-progress")).toBe("第 1 轮");
  });

  it("reads the status every two seconds by default until disposed", async () => {
    vi.useFakeTimers();
    const backend = new MemoryBackend();
    bar = syncBar({ backend, i18n: new I18n() });
    await bar.settled();
    expect(backend.callsTo("syncStatus")).toHaveLength(1);

    backend.sync = syncView({ phase: "synced", last_synced_at: Date.now() });
    await vi.advanceTimersByTimeAsync(2_000);
    expect(backend.callsTo("syncStatus")).toHaveLength(2);
    expect(bar.view?.phase).toBe("synced");
    await vi.advanceTimersByTimeAsync(2_000);
    expect(backend.callsTo("syncStatus")).toHaveLength(3);

    bar.dispose();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(backend.callsTo("syncStatus")).toHaveLength(3);
  });

  it("tells when a sync has finished", async () => {
    const onSynced = vi.fn();
    const { backend, bar } = await mount({ phase: "synced", last_synced_at: NOW - 60_000 }, { onSynced });
    await bar.refresh();
    expect(onSynced).not.toHaveBeenCalled();

    backend.sync = syncView({ phase: "synced", last_synced_at: NOW });
    await bar.refresh();
    expect(onSynced).toHaveBeenCalledTimes(1);
  });

  it("says when the status cannot be read", async () => {
    const backend = new MemoryBackend();
    backend.failWith = new BackendError("ipc.failed", "gone");
    bar = syncBar({ backend, i18n: new I18n(), pollMs: 60_000 });
    await bar.settled();
    const status = byTestId(bar.element, "sync-status")!;
    expect(status.dataset.phase).toBe("unknown");
    expect(status.textContent).toBe("同步状态未知");
    expect(byTestId(bar.element, "sync-message")?.textContent).toBe("无法连接到应用后台。");
  });
});
