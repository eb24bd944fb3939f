// @vitest-environment happy-dom
import { mount, type VueWrapper } from "@vue/test-utils";
import { afterEach, describe, expect, it } from "vitest";
import { defineComponent, h, nextTick, onUnmounted } from "vue";
import App from "./App.vue";
import EnrollScreen from "./screens/EnrollScreen.vue";
import TaskList from "./screens/TaskList.vue";
import { BackendError } from "./backend/backend";
import { MemoryBackend } from "./backend/memory";
import { I18n, LANG_STORAGE_KEY } from "./i18n";
import { withDeps } from "./testing/mount";
import { NOW, sampleRows, TZ } from "./testing/rows";
import { identity, syncView } from "./testing/views";

const byTestId = (root: ParentNode, id: string) => root.querySelector<HTMLElement>(`[data-testid="${id}"]`);
const allByTestId = (root: ParentNode, id: string) => [...root.querySelectorAll<HTMLElement>(`[data-testid="${id}"]`)];
const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

let apps: VueWrapper[] = [];

afterEach(() => {
  // Stops the sync bar's polling.
  for (const app of apps) app.unmount();
  apps = [];
});

/** A stand-in for the task screen, recording what the shell asked of it. */
function fakeTaskScreens() {
  const opened: { taskId: string; onBack: () => void; disposed: boolean }[] = [];
  const taskScreen = defineComponent({
    props: { taskId: { type: String, required: true } },
    emits: ["back"],
    setup(props, { emit }) {
      const record = { taskId: props.taskId, onBack: () => emit("back"), disposed: false };
      opened.push(record);
      onUnmounted(() => {
        record.disposed = true;
      });
      return () => h("section", { "data-testid": "fake-task-screen", "data-task-id": props.taskId });
    },
  });
  return { opened, taskScreen };
}

async function start(backend: MemoryBackend, extra: { i18n?: I18n } = {}) {
  const tasks = fakeTaskScreens();
  const i18n = extra.i18n ?? new I18n();
  const wrapper = mount(App, {
    props: { taskScreen: tasks.taskScreen, syncPollMs: 60_000 },
    ...withDeps({ backend, i18n, now: () => NOW, timeZone: TZ }),
  });
  apps.push(wrapper);
  const app = wrapper.vm;
  await app.ready();
  await tick();
  const root: HTMLElement = (wrapper.element as Element).parentElement!;
  return { root, app, wrapper, i18n, ...tasks };
}

function enrolledBackend() {
  const backend = new MemoryBackend(sampleRows());
  backend.enrolled = identity();
  return backend;
}

describe("app shell", () => {
  it("starts in Chinese and switches to English, remembering the choice", async () => {
    window.localStorage.clear();
    const { root } = await start(enrolledBackend(), { i18n: new I18n(window.localStorage) });

    const langSwitch = byTestId(root, "lang-switch") as HTMLButtonElement;
    const title = byTestId(root, "app-title")!;
    expect(document.documentElement.lang).toBe("zh-CN");
    expect(title.textContent).toBe("综合监管 · 现场检查");
    expect(langSwitch.textContent).toBe("English");

    langSwitch.click();
    expect(document.documentElement.lang).toBe("en-GB");
    await nextTick();
    expect(title.textContent).toBe("Joint Inspection · Field");
    expect(langSwitch.textContent).toBe("中文");
    expect(window.localStorage.getItem(LANG_STORAGE_KEY)).toBe("en");
    expect(new I18n(window.localStorage).lang).toBe("en");
  });

  it("shows the enrollment screen while the tablet is not enrolled", async () => {
    const backend = new MemoryBackend(sampleRows());
    const { root, app, wrapper } = await start(backend);
    expect(app.mode).toBe("enroll");
    expect(byTestId(root, "enroll-screen")).toBe(wrapper.findComponent(EnrollScreen).element);
    expect(byTestId(root, "task-list-screen")).toBeNull();
    expect(byTestId(root, "identity")?.hidden).toBe(true);
    // No sync bar, and no status polling, before enrollment.
    expect(byTestId(root, "sync-bar")).toBeNull();
    expect(backend.callsTo("syncStatus")).toHaveLength(0);
  });

  it("shows the task list once enrolled, with who the tablet is and the sync bar", async () => {
    const backend = new MemoryBackend(sampleRows());
    const { root, app, wrapper } = await start(backend);

    (byTestId(root, "enroll-code") as HTMLTextAreaElement).value = "K7P2M9QX4R";
    (byTestId(root, "enroll-server") as HTMLInputElement).value = "http://192.168.1.10:7878";
    byTestId(root, "enroll-submit")!.click();
    await tick();
    await tick();
    await nextTick();

    expect(app.identity?.name).toBe("张伟");
    expect(app.mode).toBe("list");
    expect(byTestId(root, "task-list-screen")).toBe(wrapper.findComponent(TaskList).element);
    expect(byTestId(root, "identity")?.textContent).toBe("张伟 · 东山镇综合执法队");
    expect(byTestId(root, "identity")?.hidden).toBe(false);
    expect(byTestId(root, "sync-status")).not.toBeNull();
    expect(backend.callsTo("enroll")).toEqual([["K7P2M9QX4R", "http://192.168.1.10:7878", "平板 1"]]);
  });

  it("goes straight to the task list on an enrolled tablet", async () => {
    const backend = enrolledBackend();
    backend.sync = syncView({ phase: "synced", last_synced_at: NOW - 5 * 60_000 });
    const { root, app, wrapper } = await start(backend);
    expect(app.mode).toBe("list");
    expect(byTestId(root, "task-list-screen")).toBe(wrapper.findComponent(TaskList).element);
    expect(allByTestId(root, "task-row")).toHaveLength(7);
    expect(byTestId(root, "identity")?.textContent).toBe("张伟 · 东山镇综合执法队");
    expect(byTestId(root, "sync-status")?.dataset.phase).toBe("synced");
  });

  it("names the inspector alone when the identity has no team", async () => {
    const backend = enrolledBackend();
    backend.enrolled = identity({ team: null, team_name: null });
    const { root } = await start(backend);
    expect(byTestId(root, "identity")?.textContent).toBe("张伟");
  });

  it("opens a tapped task and comes back to the reloaded list", async () => {
    const backend = enrolledBackend();
    const { root, app, wrapper, opened } = await start(backend);
    const list = wrapper.findComponent(TaskList).vm.$;

    const link = root.querySelector<HTMLAnchorElement>('[data-task-id="3"] [data-testid="task-open"]')!;
    expect(link.tagName).toBe("A");
    link.click();
    await nextTick();

    expect(opened.map((o) => o.taskId)).toEqual(["3"]);
    expect(byTestId(root, "fake-task-screen")?.dataset.taskId).toBe("3");
    expect(byTestId(root, "task-list-screen")).toBeNull();

    const listed = backend.queries.length;
    backend.rows = backend.rows.filter((row) => row.id !== "1");
    await nextTick();
    opened[0]!.onBack();
    await tick();
    await nextTick();

    expect(opened[0]!.disposed).toBe(true);
    expect(wrapper.findComponent(TaskList).vm.$).toBe(list); // the same list instance, with its filter
    expect(app.mode).toBe("list");
    expect(byTestId(root, "fake-task-screen")).toBeNull();
    expect(backend.queries.length).toBe(listed + 1);
    expect(allByTestId(root, "task-row")).toHaveLength(6);
  });

  it("keeps the list's filter while a task is open", async () => {
    const { root, opened } = await start(enrolledBackend());
    byTestId(root, "filter-returned")!.click();
    await tick();
    expect(allByTestId(root, "task-row").map((row) => row.dataset.taskId)).toEqual(["3"]);

    byTestId(root, "task-open")!.click();
    await nextTick();
    opened[0]!.onBack();
    await tick();
    await nextTick();
    expect(byTestId(root, "filter-returned")?.getAttribute("aria-pressed")).toBe("true");
    expect(allByTestId(root, "task-row").map((row) => row.dataset.taskId)).toEqual(["3"]);
  });

  it("reloads the list when a sync brings news", async () => {
    const backend = enrolledBackend();
    backend.sync = syncView({ phase: "synced", last_synced_at: NOW - 3_600_000 });
    const { root } = await start(backend);
    expect(allByTestId(root, "task-row")).toHaveLength(7);

    backend.rows = backend.rows.slice(0, 2);
    backend.sync = syncView({ phase: "synced", last_synced_at: NOW });
    byTestId(root, "sync-now")!.click();
    await tick();
    await tick();
    await nextTick();
    expect(allByTestId(root, "task-row")).toHaveLength(2);
  });

  it("says so, and retries, when the tablet's identity cannot be read", async () => {
    const backend = enrolledBackend();
    backend.failWith = new BackendError("app.store_unavailable", "poisoned");
    const { root, app, wrapper } = await start(backend);
    expect(byTestId(root, "app-error")?.getAttribute("role")).toBe("alert");
    expect(byTestId(root, "app-error-message")?.textContent).toBe("本机数据暂时不可用，请重启应用后重试。");

    backend.failWith = null;
    byTestId(root, "app-retry")!.click();
    await app.ready();
    await tick();
    await nextTick();
    expect(app.mode).toBe("list");
    expect(byTestId(root, "task-list-screen")).toBe(wrapper.findComponent(TaskList).element);
  });
});
