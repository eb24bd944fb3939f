// @vitest-environment happy-dom
import { mount as mountComponent, type VueWrapper } from "@vue/test-utils";
import { afterEach, describe, expect, it, vi } from "vitest";
import { nextTick } from "vue";
import { BackendError } from "../backend/backend";
import { MemoryBackend } from "../backend/memory";
import type { Deps } from "../deps";
import { I18n } from "../i18n";
import { withDeps } from "../testing/mount";
import { DAY, NOW, row, sampleRows, TZ } from "../testing/rows";
import TaskList from "./TaskList.vue";

let wrapper: VueWrapper | null = null;

afterEach(() => {
  wrapper?.unmount();
  wrapper = null;
});

/** The list as the shell holds it: its element, its filter, and ways to reload and to wait for the latest load. */
function taskListScreen(deps: Deps & { searchDelayMs: number; onOpen?: (taskId: string) => void }) {
  const { searchDelayMs, onOpen, ...provided } = deps;
  const mounted = mountComponent(TaskList, {
    props: { searchDelayMs, ...(onOpen === undefined ? {} : { onOpen }) },
    ...withDeps(provided),
  });
  wrapper = mounted;
  const vm = mounted.vm;
  return {
    element: mounted.element as HTMLElement,
    get filter() {
      return vm.filter;
    },
    refresh: () => vm.refresh(),
    settled: () => vm.settled(),
  };
}

type TaskListScreen = ReturnType<typeof taskListScreen>;

/**
 * The list in a scroller 600 px high, as the shell's outlet holds it. happy-dom
 * lays nothing out: the scroller's height is stubbed, and rows keep their
 * estimated heights. `scrollTo` scrolls it as a finger would.
 */
function scrolledListScreen(backend: MemoryBackend) {
  const deps = withDeps({ backend, i18n: new I18n(), now: () => NOW, timeZone: TZ });
  const scroller = deps.attachTo as HTMLElement;
  scroller.style.overflowY = "auto";
  Object.defineProperty(scroller, "clientHeight", { configurable: true, value: 600 });
  const mounted = mountComponent(TaskList, { props: { searchDelayMs: 0 }, ...deps });
  wrapper = mounted;
  const vm = mounted.vm;
  return {
    element: mounted.element as HTMLElement,
    refresh: () => vm.refresh(),
    settled: () => vm.settled(),
    async scrollTo(top: number) {
      scroller.scrollTop = top;
      scroller.dispatchEvent(new Event("scroll"));
      await nextTick();
    },
  };
}

/** The ids of the rows in the page, and whether they run on without a gap. */
function inPage(root: ParentNode) {
  const ids = allByTestId(root, "task-row").map((r) => r.dataset.taskId);
  const consecutive = ids.every((id, i) => i === 0 || Number(id) === Number(ids[i - 1]) + 1);
  return { ids, consecutive };
}

async function mount(backend: MemoryBackend, i18n = new I18n(), onOpen?: (taskId: string) => void) {
  const screen = taskListScreen({
    backend,
    i18n,
    now: () => NOW,
    timeZone: TZ,
    searchDelayMs: 0,
    ...(onOpen === undefined ? {} : { onOpen }),
  });
  await screen.settled();
  return { screen, el: screen.element, i18n };
}

const byTestId = (root: ParentNode, id: string) => root.querySelector<HTMLElement>(`[data-testid="${id}"]`);
const allByTestId = (root: ParentNode, id: string) => [...root.querySelectorAll<HTMLElement>(`[data-testid="${id}"]`)];
const rowIds = (root: ParentNode) => allByTestId(root, "task-row").map((r) => r.dataset.taskId);
const select = (root: ParentNode, id: string) => byTestId(root, id) as HTMLSelectElement;
const options = (el: HTMLSelectElement) => [...el.options].map((o) => [o.value, o.textContent]);

/** Picks `value` in the select as a tap would, and waits for the rows. */
async function pick(screen: TaskListScreen, id: string, value: string) {
  const el = select(screen.element, id);
  el.value = value;
  el.dispatchEvent(new Event("change"));
  await screen.settled();
}

/** 29 Nov 2026 in Beijing plus `days`, its last millisecond. */
const endOfBeijingDay = (days: number) => Date.UTC(2026, 10, 29 + days, 16, 0) - 1;
const OPEN = ["assigned", "in_progress", "submitted", "returned"];

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
    expect(backend.queries.at(-1)).toEqual({ statuses: [], department: null, text: "药房", due_before: null, limit: null });
    expect(rowIds(el)).toEqual(["4"]);

    // Typing searches after the (here zero) delay, on the timer, not at once.
    vi.useFakeTimers();
    search.value = "92330106";
    search.dispatchEvent(new Event("input"));
    expect(backend.queries.at(-1)?.text).toBe("药房");
    await vi.advanceTimersByTimeAsync(1);
    vi.useRealTimers();
    await screen.settled();
    expect(rowIds(el)).toEqual(["1"]);

    byTestId(el, "task-search-clear")!.click();
    await screen.settled();
    expect(rowIds(el)).toHaveLength(7);
  });

  it("says when nothing matches, and when there is nothing at all", async () => {
    const { el, screen } = await mount(new MemoryBackend([]));
    expect(byTestId(el, "task-list-empty")?.textContent).toContain("暂无检查任务");
    expect(byTestId(el, "filters-clear")).toBeNull();

    byTestId(el, "filter-todo")!.click();
    await screen.settled();
    expect(byTestId(el, "task-list-empty")?.textContent).toContain("没有符合条件的任务");
    expect(byTestId(el, "filters-clear")?.textContent).toBe("清除筛选条件");
  });

  it("offers the departments of the tasks, by name, and filters by one", async () => {
    const backend = new MemoryBackend(sampleRows());
    const { el, screen } = await mount(backend);
    const departments = select(el, "filter-department");
    const offered = options(departments);
    // Every department of the rows, in the order of their names (pinyin in Chinese).
    expect(offered).toEqual([
      ["", "全部部门"],
      ["GA", "公安"],
      ["JT", "交通运输"],
      ["SW", "商务"],
      ["STHJ", "生态环境"],
      ["SCJG", "市场监管"],
      ["WSJK", "卫生健康"],
      ["XFJY", "消防救援"],
      ["YJGL", "应急管理"],
    ]);
    expect(departments.value).toBe("");

    await pick(screen, "filter-department", "SCJG");
    expect(backend.queries.at(-1)).toEqual({ statuses: [], department: "SCJG", text: null, due_before: null, limit: null });
    expect(screen.filter.department).toBe("SCJG");
    expect(rowIds(el)).toEqual(["3", "1", "7"]);
    expect(byTestId(el, "task-count")?.textContent).toBe("符合条件的任务 3 项");
    // The other departments stay on offer while the filter hides their tasks.
    expect(options(departments)).toEqual(offered);
    expect(departments.value).toBe("SCJG");

    await pick(screen, "filter-department", "");
    expect(backend.queries.at(-1)?.department).toBeNull();
    expect(rowIds(el)).toHaveLength(7);
    expect(byTestId(el, "task-count")?.textContent).toBe("共 7 项任务");
  });

  it("adds departments that arrive later, and shows codes without a name as they are", async () => {
    const backend = new MemoryBackend([row({ id: "1", departments: ["SCJG"] })]);
    const { el, screen } = await mount(backend);
    expect(options(select(el, "filter-department"))).toEqual([
      ["", "全部部门"],
      ["SCJG", "市场监管"],
    ]);
    backend.rows = [...backend.rows, row({ id: "2", departments: ["HSJ"] })];
    await screen.refresh();
    expect(options(select(el, "filter-department"))).toEqual([
      ["", "全部部门"],
      ["SCJG", "市场监管"],
      ["HSJ", "HSJ"],
    ]);
  });

  it("filters by due date, in the device's calendar days", async () => {
    const backend = new MemoryBackend(sampleRows());
    const { el, screen } = await mount(backend);
    expect(options(select(el, "filter-due"))).toEqual([
      ["any", "不限"],
      ["overdue", "已逾期"],
      ["today", "今天到期（含逾期）"],
      ["within3", "3 天内到期（含逾期）"],
      ["within7", "7 天内到期（含逾期）"],
    ]);
    expect(select(el, "filter-due").value).toBe("any");

    await pick(screen, "filter-due", "overdue");
    expect(backend.queries.at(-1)).toEqual({ statuses: OPEN, department: null, text: null, due_before: NOW - 1, limit: null });
    // Only the open task past its due time; not the approved, published or cancelled ones due earlier.
    expect(rowIds(el)).toEqual(["2"]);
    expect(byTestId(el, "task-count")?.textContent).toBe("符合条件的任务 1 项");

    await pick(screen, "filter-due", "today");
    expect(backend.queries.at(-1)?.due_before).toBe(endOfBeijingDay(0));
    expect(rowIds(el)).toEqual(["2"]);

    await pick(screen, "filter-due", "within3");
    expect(backend.queries.at(-1)).toEqual({ statuses: OPEN, department: null, text: null, due_before: endOfBeijingDay(3), limit: null });
    expect(rowIds(el)).toEqual(["2", "3"]);

    await pick(screen, "filter-due", "within7");
    expect(backend.queries.at(-1)?.due_before).toBe(endOfBeijingDay(7));
    expect(rowIds(el)).toEqual(["2", "3", "1", "4"]);

    await pick(screen, "filter-due", "any");
    expect(backend.queries.at(-1)).toEqual({ statuses: [], department: null, text: null, due_before: null, limit: null });
    expect(rowIds(el)).toHaveLength(7);
  });

  it("reads the due filter against the clock of each load", async () => {
    let now = NOW;
    const backend = new MemoryBackend([row({ id: "1", due: NOW + 2 * 3_600_000 })]); // 12:00 today in Beijing
    const screen = taskListScreen({ backend, i18n: new I18n(), now: () => now, timeZone: TZ, searchDelayMs: 0 });
    await screen.settled();
    await pick(screen, "filter-due", "overdue");
    expect(rowIds(screen.element)).toEqual([]);
    now = NOW + DAY;
    await screen.refresh();
    expect(backend.queries.at(-1)?.due_before).toBe(NOW + DAY - 1);
    expect(rowIds(screen.element)).toEqual(["1"]);
  });

  it("combines the status chip, the search, the department and the due date", async () => {
    const backend = new MemoryBackend(sampleRows());
    const { el, screen } = await mount(backend);
    byTestId(el, "filter-todo")!.click();
    await screen.settled();
    await pick(screen, "filter-department", "SCJG");
    await pick(screen, "filter-due", "within7");
    const search = byTestId(el, "task-search") as HTMLInputElement;
    search.value = "餐馆";
    search.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter" }));
    await screen.settled();
    expect(backend.queries.at(-1)).toEqual({
      statuses: ["assigned"],
      department: "SCJG",
      text: "餐馆",
      due_before: endOfBeijingDay(7),
      limit: null,
    });
    expect(rowIds(el)).toEqual(["1"]);
    expect(byTestId(el, "filter-todo")?.getAttribute("aria-pressed")).toBe("true");
    expect(select(el, "filter-department").value).toBe("SCJG");
    expect(select(el, "filter-due").value).toBe("within7");

    // A returned task is open too: overdue with the "returned" chip asks for returned tasks due before now.
    byTestId(el, "filter-returned")!.click();
    await pick(screen, "filter-due", "overdue");
    expect(backend.queries.at(-1)).toEqual({
      statuses: ["returned"],
      department: "SCJG",
      text: "餐馆",
      due_before: NOW - 1,
      limit: null,
    });
  });

  it("clears every filter from the empty state", async () => {
    const backend = new MemoryBackend(sampleRows());
    const { el, screen } = await mount(backend);
    const search = byTestId(el, "task-search") as HTMLInputElement;
    search.value = "钱塘";
    search.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter" }));
    await pick(screen, "filter-department", "YJGL");
    byTestId(el, "filter-done")!.click();
    await screen.settled();
    expect(rowIds(el)).toEqual([]);
    const asked = backend.queries.length;

    // Done tasks are never overdue: nothing to ask the store.
    await pick(screen, "filter-due", "overdue");
    expect(backend.queries.length).toBe(asked);
    const empty = byTestId(el, "task-list-empty")!;
    expect(empty.textContent).toContain("没有符合条件的任务");
    expect(byTestId(el, "task-count")?.textContent).toBe("符合条件的任务 0 项");

    byTestId(empty, "filters-clear")!.click();
    await screen.settled();
    expect(screen.filter).toEqual({ status: "all", text: "", department: null, due: "any" });
    expect(backend.queries.at(-1)).toEqual({ statuses: [], department: null, text: null, due_before: null, limit: null });
    expect(rowIds(el)).toHaveLength(7);
    expect(byTestId(el, "task-count")?.textContent).toBe("共 7 项任务");
    expect(search.value).toBe("");
    expect(byTestId(el, "task-search-clear")?.hidden).toBe(true);
    expect(byTestId(el, "filter-all")?.getAttribute("aria-pressed")).toBe("true");
    expect(select(el, "filter-department").value).toBe("");
    expect(select(el, "filter-due").value).toBe("any");
  });

  it("gives the pickers labels a screen reader can read", async () => {
    const { el } = await mount(new MemoryBackend(sampleRows()));
    expect(select(el, "filter-department").closest("label")?.textContent).toContain("部门");
    expect(select(el, "filter-due").closest("label")?.textContent).toContain("截止");
  });

  it("shows the error with its code and message, and retries", async () => {
    const backend = new MemoryBackend(sampleRows());
    backend.failWith = new BackendError("store.sqlite", "database disk image is malformed");
    const { el, screen } = await mount(backend);
    const error = byTestId(el, "task-list-error")!;
    expect(error.getAttribute("role")).toBe("alert");
    expect(error.textContent).toContain("无法加载任务列表");
    expect(byTestId(el, "task-list-error-message")?.textContent).toBe("本机数据库出错，请重启应用；如仍出错请联系管理员。");
    expect(error.textContent).toContain("store.sqlite");
    expect(byTestId(el, "task-list-error-detail")?.textContent).toBe("database disk image is malformed");

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
    await nextTick();
    expect(byTestId(el, "filter-todo")?.textContent).toBe("To do");
    expect(byTestId(el, "task-count")?.textContent).toBe("7 tasks");
    const late = el.querySelector<HTMLElement>('[data-task-id="2"]')!;
    expect(byTestId(late, "task-status")?.textContent).toBe("In progress");
    expect(byTestId(late, "task-due")?.textContent).toBe("26 Nov 2026");
    expect(byTestId(late, "task-due-hint")?.textContent).toBe("3 days overdue");
    expect(backend.queries.length).toBe(asked);
  });

  it("speaks English in the filters too, keeping what is chosen", async () => {
    const backend = new MemoryBackend(sampleRows());
    const { el, screen, i18n } = await mount(backend);
    await pick(screen, "filter-department", "XFJY");
    await pick(screen, "filter-due", "within7");
    const asked = backend.queries.length;
    i18n.setLang("en");
    await nextTick();
    const departments = select(el, "filter-department");
    expect(departments.options[0]?.textContent).toBe("All departments");
    expect(options(departments).find(([code]) => code === "XFJY")).toEqual(["XFJY", "Fire & Rescue"]);
    expect(departments.value).toBe("XFJY");
    expect(options(select(el, "filter-due")).map(([, text]) => text)).toEqual([
      "Any time",
      "Overdue",
      "By today (incl. overdue)",
      "Within 3 days (incl. overdue)",
      "Within 7 days (incl. overdue)",
    ]);
    expect(select(el, "filter-due").value).toBe("within7");
    expect(byTestId(el, "task-count")?.textContent).toBe("1 matching task");
    expect(backend.queries.length).toBe(asked);

    await pick(screen, "filter-department", "GA");
    expect(rowIds(el)).toEqual([]);
    expect(byTestId(el, "task-list-empty")?.textContent).toContain("No task matches these filters");
    expect(byTestId(el, "filters-clear")?.textContent).toBe("Clear filters");
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

  it("shows a long list from its first rows, with only the rows near the view in the page", async () => {
    const many = Array.from({ length: 1_000 }, (_, i) => row({ id: String(i + 1), due: NOW + (i + 1) * 60_000 }));
    const screen = scrolledListScreen(new MemoryBackend(many));
    // The rows on screen when they first appear.
    let first: { ids: (string | undefined)[]; count: string | null | undefined } | null = null;
    const observer = new MutationObserver(() => {
      if (first === null && allByTestId(screen.element, "task-row").length > 0) {
        first = { ids: rowIds(screen.element).slice(0, 3), count: byTestId(screen.element, "task-count")?.textContent };
      }
    });
    observer.observe(screen.element, { childList: true, subtree: true, characterData: true });
    await screen.settled();
    observer.disconnect();
    expect(first).toEqual({ ids: ["1", "2", "3"], count: "共 1000 项任务" });

    const top = inPage(screen.element);
    expect(top.ids[0]).toBe("1");
    expect(top.ids.length).toBeGreaterThan(3);
    expect(top.ids.length).toBeLessThan(100);
    expect(top.consecutive).toBe(true);
    const firstRow = allByTestId(screen.element, "task-row")[0]!;
    expect(firstRow.getAttribute("aria-posinset")).toBe("1");
    expect(firstRow.getAttribute("aria-setsize")).toBe("1000");

    // To the end: the last rows, the ones above stood in for by the list's padding.
    await screen.scrollTo(1_000_000);
    const end = inPage(screen.element);
    expect(end.ids.at(-1)).toBe("1000");
    expect(end.ids.length).toBeLessThan(100);
    expect(end.consecutive).toBe(true);
    expect(allByTestId(screen.element, "task-row").at(-1)?.getAttribute("aria-posinset")).toBe("1000");
    expect(parseFloat(byTestId(screen.element, "task-rows")!.style.paddingTop)).toBeGreaterThan(0);

    // And back.
    await screen.scrollTo(0);
    expect(inPage(screen.element).ids).toEqual(top.ids);
  });

  it("keeps a long list on screen, where it was, while it reloads", async () => {
    const many = Array.from({ length: 1_000 }, (_, i) => row({ id: String(i + 1), due: NOW + (i + 1) * 60_000 }));
    const backend = new MemoryBackend(many);
    const screen = scrolledListScreen(backend);
    await screen.settled();
    await screen.scrollTo(50_000);
    const before = inPage(screen.element);
    expect(before.ids).not.toContain("1");
    expect(before.ids.length).toBeGreaterThan(0);
    expect(before.ids.length).toBeLessThan(100);
    const list = byTestId(screen.element, "task-rows")!;
    const height = [list.style.paddingTop, list.style.paddingBottom];

    // A sync marked every task unsynced: the reload brings new rows.
    backend.rows = many.map((r) => ({ ...r, dirty: true }));
    const seen: number[] = [];
    const observer = new MutationObserver(() => seen.push(allByTestId(screen.element, "task-row").length));
    observer.observe(screen.element, { childList: true, subtree: true });
    await screen.refresh();
    observer.disconnect();
    expect(seen.length).toBeGreaterThan(0);
    expect(Math.min(...seen)).toBeGreaterThan(0);
    expect(inPage(screen.element).ids).toEqual(before.ids);
    expect([list.style.paddingTop, list.style.paddingBottom]).toEqual(height);
    const shown = allByTestId(screen.element, "task-row");
    expect(shown.map((r) => r.dataset.dirty)).toEqual(shown.map(() => "true"));
    expect(allByTestId(screen.element, "task-dirty")).toHaveLength(shown.length);
  });
});
