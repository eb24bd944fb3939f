// @vitest-environment happy-dom
import { afterEach, describe, expect, it } from "vitest";
import { BackendError } from "../backend/backend";
import { MemoryBackend } from "../backend/memory";
import { I18n } from "../i18n";
import { NOW, sampleRows, TZ } from "../testing/rows";
import { type TaskListScreen, taskListScreen } from "./taskList";

let screen: TaskListScreen | null = null;

afterEach(() => {
  screen?.dispose();
  screen = null;
});

async function mount(backend: MemoryBackend, i18n = new I18n(), onOpen?: (taskId: string) => void) {
  screen = taskListScreen({
    backend,
    i18n,
    now: () => NOW,
    timeZone: TZ,
    searchDelayMs: 0,
    ...(onOpen === undefined ? {} : { onOpen }),
  });
  document.body.replaceChildren(screen.element);
  await screen.settled();
  return { screen, el: screen.element, i18n };
}

const byTestId = (root: ParentNode, id: string) => root.querySelector<HTMLElement>(`[data-testid="${id}"]`);
const allByTestId = (root: ParentNode, id: string) => [...root.querySelectorAll<HTMLElement>(`[data-testid="${id}"]`)];
const rowIds = (root: ParentNode) => allByTestId(root, "task-row").map((r) => r.dataset.taskId);

describe("task list", () => {
  it("shows every task, in Chinese, open ones first", async () => {
    const { el } = await mount(new MemoryBackend(sampleRows()));
    expect(rowIds(el)).toEqual(["2", "3", "1", "4", "7", "5", "6"]);
    expect(byTestId(el, "task-count")?.textContent).toBe("共 7 项任务");

    const late = allByTestId(el, "task-row")[0]!;
    expect(byTestId(late, "task-code")?.textContent).toBe("JX-2026-000002");
    expect(byTestId(late, "task-subject")?.textContent).toBe("钱塘化工仓储有限公司");
    expect(byTestId(late, "task-status")?.textContent).toBe("检查中");
    expect(byTestId(late, "task-departments")?.textContent).toBe("应急管理生态环境");
    expect(byTestId(late, "task-due")?.textContent).toBe("2026年11月26日");
    expect(byTestId(late, "task-due-hint")?.textContent).toBe("已逾期 3 天");
    expect(byTestId(late, "task-dirty")?.textContent).toBe("未同步");
    expect(late.dataset.overdue).toBe("true");
    expect(late.classList.contains("is-overdue")).toBe(true);
  });

  it("marks returned tasks and leaves closed ones unmarked", async () => {
    const { el } = await mount(new MemoryBackend(sampleRows()));
    const returned = el.querySelector<HTMLElement>('[data-task-id="3"]')!;
    expect(returned.classList.contains("is-returned")).toBe(true);
    expect(byTestId(returned, "task-status")?.textContent).toBe("已退回");
    expect(byTestId(returned, "task-dirty")).toBeNull();

    const approved = el.querySelector<HTMLElement>('[data-task-id="5"]')!;
    expect(approved.dataset.overdue).toBe("false");
    expect(byTestId(approved, "task-due-hint")).toBeNull();
  });

  it("shows a department code it has no name for as it is", async () => {
    const backend = new MemoryBackend([{ ...sampleRows()[0]!, departments: ["HSJ"] }]);
    const { el } = await mount(backend);
    expect(byTestId(el, "task-departments")?.textContent).toBe("HSJ");
  });

  it("filters by status chip", async () => {
    const backend = new MemoryBackend(sampleRows());
    const { el, screen } = await mount(backend);
    const done = byTestId(el, "filter-done")!;
    expect(done.getAttribute("aria-pressed")).toBe("false");

    done.click();
    await screen.settled();
    expect(done.getAttribute("aria-pressed")).toBe("true");
    expect(byTestId(el, "filter-all")?.getAttribute("aria-pressed")).toBe("false");
    expect(backend.queries.at(-1)?.statuses).toEqual(["approved", "published"]);
    expect(rowIds(el)).toEqual(["5", "6"]);

    byTestId(el, "filter-returned")!.click();
    await screen.settled();
    expect(rowIds(el)).toEqual(["3"]);
  });

  it("searches by subject name, USCC or code", async () => {
    const backend = new MemoryBackend(sampleRows());
    const { el, screen } = await mount(backend);
    const search = byTestId(el, "task-search") as HTMLInputElement;

    search.value = " 药房 ";
    search.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter" }));
    await screen.settled();
    expect(backend.queries.at(-1)).toEqual({ statuses: [], department: null, text: "药房", limit: null });
    expect(rowIds(el)).toEqual(["4"]);

    search.value = "92330106";
    search.dispatchEvent(new Event("input"));
    await new Promise((resolve) => setTimeout(resolve, 5));
    await screen.settled();
    expect(rowIds(el)).toEqual(["1"]);

    byTestId(el, "task-search-clear")!.click();
    await screen.settled();
    expect(rowIds(el)).toHaveLength(7);
  });

  it("says when nothing matches, and when there is nothing at all", async () => {
    const { el, screen } = await mount(new MemoryBackend([]));
    expect(byTestId(el, "task-list-empty")?.textContent).toContain("暂无检查任务");

    byTestId(el, "filter-todo")!.click();
    await screen.settled();
    expect(byTestId(el, "task-list-empty")?.textContent).toContain("没有符合条件的任务");
  });

  it("shows the error with its message and retries", async () => {
    const backend = new MemoryBackend(sampleRows());
    backend.failWith = new BackendError("store.corrupt", "database disk image is malformed");
    const { el, screen } = await mount(backend);
    const error = byTestId(el, "task-list-error")!;
    expect(error.getAttribute("role")).toBe("alert");
    expect(error.textContent).toContain("无法加载任务列表");
    expect(byTestId(el, "task-list-error-message")?.textContent).toBe("database disk image is malformed");
    expect(error.textContent).toContain("store.corrupt");
    expect(byTestId(el, "task-list-error-detail")).toBeNull();

    backend.failWith = null;
    byTestId(el, "task-list-retry")!.click();
    await screen.settled();
    expect(byTestId(el, "task-list-error")).toBeNull();
    expect(rowIds(el)).toHaveLength(7);
  });

  it("uses its own words for error codes it knows", async () => {
    const backend = new MemoryBackend();
    backend.failWith = new BackendError("store.open", "无法打开或写入本机数据库 /data/fieldloop.sqlite3：disk I/O error");
    const { el } = await mount(backend);
    expect(byTestId(el, "task-list-error-message")?.textContent).toBe("无法打开本机数据库，请检查存储空间后重启应用。");
    expect(byTestId(el, "task-list-error-detail")?.textContent).toContain("disk I/O error");
  });

  it("shows only the answer to the latest query", async () => {
    const backend = new MemoryBackend(sampleRows());
    const { el, screen } = await mount(backend);
    byTestId(el, "filter-todo")!.click();
    byTestId(el, "filter-submitted")!.click();
    await screen.settled();
    expect(rowIds(el)).toEqual(["4"]);
  });

  it("speaks English after a switch, without asking the store again", async () => {
    const backend = new MemoryBackend(sampleRows());
    const { el, i18n } = await mount(backend);
    const asked = backend.queries.length;
    i18n.setLang("en");
    expect(byTestId(el, "filter-todo")?.textContent).toBe("To do");
    expect(byTestId(el, "task-count")?.textContent).toBe("7 tasks");
    const late = el.querySelector<HTMLElement>('[data-task-id="2"]')!;
    expect(byTestId(late, "task-status")?.textContent).toBe("In progress");
    expect(byTestId(late, "task-due")?.textContent).toBe("26 Nov 2026");
    expect(byTestId(late, "task-due-hint")?.textContent).toBe("3 days overdue");
    expect(backend.queries.length).toBe(asked);
  });

  it("makes each row a link that opens its task", async () => {
    const opened: string[] = [];
    const { el } = await mount(new MemoryBackend(sampleRows()), new I18n(), (id) => opened.push(id));
    const links = allByTestId(el, "task-open");
    expect(links).toHaveLength(7);
    const returned = el.querySelector<HTMLElement>('[data-task-id="3"]')!;
    const link = byTestId(returned, "task-open") as HTMLAnchorElement;
    expect(link.tagName).toBe("A");
    expect(link.getAttribute("href")).toBe("#task/3");
    expect(link.contains(byTestId(returned, "task-subject"))).toBe(true);

    const click = new MouseEvent("click", { bubbles: true, cancelable: true });
    link.dispatchEvent(click);
    expect(click.defaultPrevented).toBe(true);
    expect(opened).toEqual(["3"]);
  });

  it("has no links without a way to open tasks", async () => {
    const { el } = await mount(new MemoryBackend(sampleRows()));
    expect(allByTestId(el, "task-open")).toHaveLength(0);
  });
});
