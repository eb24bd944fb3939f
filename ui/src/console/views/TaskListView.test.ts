// @vitest-environment happy-dom
import { flushPromises, mount } from "@vue/test-utils";
import { afterEach, describe, expect, it } from "vitest";
import { defineComponent, h } from "vue";
import { RouterView, createMemoryHistory } from "vue-router";
import { ElTable } from "element-plus";
import { consoleProvides } from "../context";
import { createConsoleRouter } from "../router";
import { type FakeCall, taskPage, taskRow, testConsole } from "../testing/fixtures";

const Host = defineComponent({ render: () => h(RouterView) });

async function mountAt(path: string) {
  const { context, calls } = testConsole({
    "GET /api/v1/console/tasks": (call: FakeCall) => ({
      body: taskPage(
        [taskRow("1"), taskRow("2", { status: "returned", overdue: true }), taskRow("3", { status: null })],
        call.url.searchParams.get("page") === "2" ? 120 : 120,
      ),
    }),
  });
  const router = createConsoleRouter(context, createMemoryHistory());
  await router.push(path);
  const wrapper = mount(Host, { global: { plugins: [router], provide: consoleProvides(context) }, attachTo: document.body });
  await flushPromises();
  const listCalls = () => calls.filter((c) => c.url.pathname === "/api/v1/console/tasks");
  return { wrapper, router, listCalls };
}

let unmount: (() => void) | null = null;
afterEach(() => {
  unmount?.();
  unmount = null;
});

describe("TaskListView", () => {
  it("asks the server for the filter in the URL and shows the rows and the total", async () => {
    const { wrapper, listCalls } = await mountAt("/tasks?status=submitted&overdue=true");
    unmount = () => wrapper.unmount();

    expect(listCalls()).toHaveLength(1);
    expect(listCalls()[0]?.url.search).toBe("?status=submitted&overdue=true&page=1&per_page=50");
    expect(wrapper.get('[data-testid="task-total"]').text()).toBe("120");
    const rows = wrapper.findAll('[data-testid="task-row"]');
    expect(rows.map((r) => r.attributes("data-task-id"))).toEqual(["1", "2", "3"]);
    expect(rows[0]?.element.tagName).toBe("TR");
    // A row's status, or "—" for a task without one.
    const status = rows.map((r) => r.get("[data-status]"));
    expect(status.map((s) => s.attributes("data-status"))).toEqual(["submitted", "returned", ""]);
    expect(status.map((s) => s.text())).toEqual(["待审核", "已退回", "—"]);
  });

  it("puts a status filter change in the URL and asks for it from page 1", async () => {
    const { wrapper, router, listCalls } = await mountAt("/tasks?status=submitted&page=3");
    unmount = () => wrapper.unmount();
    expect(listCalls()[0]?.url.searchParams.get("page")).toBe("3");

    await wrapper.get('[data-testid="task-filter-status"] [data-status="returned"] input').setValue(true);
    await flushPromises();

    expect(router.currentRoute.value.query).toEqual({ status: ["submitted", "returned"] });
    expect(listCalls()).toHaveLength(2);
    expect(listCalls()[1]?.url.search).toBe("?status=submitted&status=returned&page=1&per_page=50");
  });

  it("shows the dashboard's year as a filter of its own, which can be taken off", async () => {
    const { wrapper, router, listCalls } = await mountAt("/tasks?joint=true&year=2026");
    unmount = () => wrapper.unmount();
    expect(listCalls()[0]?.url.search).toBe("?joint=true&year=2026&page=1&per_page=50");
    const tag = wrapper.get('[data-testid="task-filter-year"]');
    expect(tag.attributes("data-year")).toBe("2026");
    expect(tag.text()).toContain("2026 年内开始");

    await tag.get(".el-tag__close").trigger("click");
    await flushPromises();
    expect(router.currentRoute.value.query).toEqual({ joint: "true" });
    expect(wrapper.find('[data-testid="task-filter-year"]').exists()).toBe(false);
  });

  it("sorts on the server when a column header asks for it", async () => {
    const { wrapper, router, listCalls } = await mountAt("/tasks?q=%E9%B2%9C%E5%91%B3");
    unmount = () => wrapper.unmount();

    wrapper.getComponent(ElTable).vm.$emit("sort-change", { column: null, prop: "due", order: "descending" });
    await flushPromises();
    expect(router.currentRoute.value.query).toEqual({ q: "鲜味", sort: "-due" });
    expect(listCalls().at(-1)?.url.search).toBe(`?q=${encodeURIComponent("鲜味")}&sort=-due&page=1&per_page=50`);

    wrapper.getComponent(ElTable).vm.$emit("sort-change", { column: null, prop: "subject_name", order: "ascending" });
    await flushPromises();
    expect(listCalls().at(-1)?.url.searchParams.get("sort")).toBe("subject");

    wrapper.getComponent(ElTable).vm.$emit("sort-change", { column: null, prop: "subject_name", order: null });
    await flushPromises();
    expect(listCalls().at(-1)?.url.searchParams.has("sort")).toBe(false);
  });

  it("searches on Enter and builds the export links from the same filter", async () => {
    const { wrapper, router, listCalls } = await mountAt("/tasks?department=SCJG");
    unmount = () => wrapper.unmount();

    const search = wrapper.get('input[data-testid="task-search"]');
    await search.setValue("JX-2026");
    await search.trigger("keyup", { key: "Enter" });
    await flushPromises();
    expect(router.currentRoute.value.query).toEqual({ department: "SCJG", q: "JX-2026" });
    expect(listCalls().at(-1)?.url.search).toBe("?department=SCJG&q=JX-2026&page=1&per_page=50");

    expect(wrapper.get('[data-testid="export-csv"]').attributes("href")).toBe(
      "/api/v1/console/tasks/export?department=SCJG&q=JX-2026&format=csv",
    );
    expect(wrapper.get('[data-testid="export-json"]').attributes("href")).toBe(
      "/api/v1/console/tasks/export?department=SCJG&q=JX-2026&format=json",
    );
  });

  it("follows the browser back to the previous filter", async () => {
    const { wrapper, router, listCalls } = await mountAt("/tasks?status=submitted");
    unmount = () => wrapper.unmount();
    await router.push("/tasks?status=approved");
    await flushPromises();
    router.back();
    await flushPromises();
    expect(router.currentRoute.value.query).toEqual({ status: "submitted" });
    expect(listCalls().map((c) => c.url.searchParams.getAll("status"))).toEqual([["submitted"], ["approved"], ["submitted"]]);
  });
});
