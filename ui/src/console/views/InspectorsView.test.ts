// @vitest-environment happy-dom
import { flushPromises, mount } from "@vue/test-utils";
import { ElMessage } from "element-plus";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createMemoryHistory } from "vue-router";
import App from "../App.vue";
import { consoleProvides } from "../context";
import { createConsoleRouter } from "../router";
import { type FakeAnswer, directory, session, testConsole, EMPTY_DASHBOARD } from "../testing/fixtures";

async function start(path: string, role: "supervisor" | "admin", routes: Record<string, FakeAnswer> = {}) {
  const { context, calls } = testConsole({ "GET /api/v1/console/dashboard": { body: EMPTY_DASHBOARD }, ...routes });
  context.session.value = session({ role });
  const router = createConsoleRouter(context, createMemoryHistory());
  await router.push(path);
  const wrapper = mount(App, { global: { plugins: [router], provide: consoleProvides(context), stubs: { EChart: true } }, attachTo: document.body });
  await flushPromises();
  return { wrapper, router, calls, context };
}

let cleanup: (() => void) | null = null;
afterEach(() => {
  cleanup?.();
  cleanup = null;
  ElMessage.closeAll();
  document.body.innerHTML = "";
});

const SWITCH = "[data-inspector-id='I-001'] [data-testid='inspector-active']";
const messages = () => [...document.body.querySelectorAll(".el-message")].map((m) => m.textContent?.trim() ?? "");
const posts = (calls: Awaited<ReturnType<typeof start>>["calls"]) => calls.filter((c) => c.method === "POST");

describe("InspectorsView", () => {
  it("is linked for an administrator and lists every inspector with badge, department and team", async () => {
    const { wrapper, router } = await start("/", "admin");
    cleanup = () => wrapper.unmount();
    await wrapper.get('[data-testid="nav-inspectors"]').trigger("click");
    await vi.waitFor(() => expect(router.currentRoute.value.name).toBe("inspectors"));
    await vi.waitFor(() => expect(wrapper.findAll('[data-testid="inspector-row"]')).toHaveLength(4));

    const rows = wrapper.findAll('[data-testid="inspector-row"]');
    expect(rows.map((r) => r.element.tagName)).toEqual(["TR", "TR", "TR", "TR"]);
    expect(rows.map((r) => r.attributes("data-inspector-id"))).toEqual(["I-001", "I-002", "I-003", "I-004"]);
    const cells = (index: number) => rows[index]?.findAll("td").map((td) => td.text()) ?? [];
    expect(cells(1).slice(0, 4)).toEqual(["李娜", "33010620002", "消防救援", "东山镇综合执法队"]);
    expect(cells(3).slice(0, 4)).toEqual(["孙丽", "33010620004", "市场监管", "西山镇综合执法队"]);
    expect(rows.map((r) => r.get('[data-testid="inspector-active"]').attributes("data-active"))).toEqual([
      "true",
      "true",
      "false",
      "true",
    ]);
  });

  it("hides the link from a supervisor and sends them to the dashboard", async () => {
    const { wrapper, router, calls } = await start("/inspectors", "supervisor");
    cleanup = () => wrapper.unmount();
    expect(router.currentRoute.value.name).toBe("dashboard");
    expect(wrapper.find('[data-testid="nav-tasks"]').exists()).toBe(true);
    expect(wrapper.find('[data-testid="nav-inspectors"]').exists()).toBe(false);
    expect(wrapper.find('[data-testid="inspector-row"]').exists()).toBe(false);

    await router.push("/inspectors");
    expect(router.currentRoute.value.name).toBe("dashboard");
    expect(posts(calls)).toEqual([]);
  });

  it("turns an inspector off with a click on the switch, and says so", async () => {
    const { wrapper, calls, context } = await start("/inspectors", "admin", {
      "POST /api/v1/console/inspectors/I-001/active": { status: 204 },
    });
    cleanup = () => wrapper.unmount();
    await vi.waitFor(() => expect(wrapper.find(SWITCH).exists()).toBe(true));

    // The test id sits on the switch's visible root, which takes the click (its input is hidden).
    const toggle = wrapper.get(SWITCH);
    expect(toggle.element.tagName).toBe("DIV");
    expect(toggle.classes()).toContain("el-switch");
    await toggle.trigger("click");
    await flushPromises();

    expect(posts(calls)).toHaveLength(1);
    expect(posts(calls)[0]?.url.pathname).toBe("/api/v1/console/inspectors/I-001/active");
    expect(posts(calls)[0]?.body).toEqual({ active: false });
    expect(posts(calls)[0]?.headers["x-csrf-token"]).toBe("csrf-token-1");
    expect(wrapper.get(SWITCH).attributes("data-active")).toBe("false");
    expect(wrapper.get(`${SWITCH} input`).attributes("aria-checked")).toBe("false");
    expect(messages()).toContain("已停用执法人员 张伟");
    // The other pages see it too (a new task offers active inspectors only).
    expect(context.directory.value?.inspectors.find((i) => i.id === "I-001")?.active).toBe(false);

    // And on again.
    await wrapper.get("[data-inspector-id='I-003'] [data-testid='inspector-active']").trigger("click");
    await flushPromises();
    expect(posts(calls)).toHaveLength(2);
    expect(posts(calls)[1]?.url.pathname).toBe("/api/v1/console/inspectors/I-003/active");
    expect(posts(calls)[1]?.body).toEqual({ active: true });
  });

  it("puts the switch back and shows the server's message when it refuses", async () => {
    const { wrapper, calls } = await start("/inspectors", "admin", {
      "POST /api/v1/console/inspectors/I-001/active": {
        status: 403,
        body: { code: "console.forbidden", message: "只有管理员可以停用或启用执法人员 (only an administrator may)" },
      },
    });
    cleanup = () => wrapper.unmount();
    await vi.waitFor(() => expect(wrapper.find(SWITCH).exists()).toBe(true));

    await wrapper.get(SWITCH).trigger("click");
    await flushPromises();

    expect(posts(calls)).toHaveLength(1);
    expect(wrapper.get(SWITCH).attributes("data-active")).toBe("true");
    expect(wrapper.get(`${SWITCH} input`).attributes("aria-checked")).toBe("true");
    expect(messages()).toContain("只有管理员可以停用或启用执法人员 (only an administrator may)");
  });

  it("says when the directory cannot be had, and tries again on request", async () => {
    let answers = 0;
    const { wrapper } = await start("/inspectors", "admin", {
      "GET /api/v1/console/directory": () =>
        ++answers === 1
          ? { status: 503, body: { code: "server.busy", message: "服务器繁忙 (busy)" } }
          : { body: directory() },
    });
    cleanup = () => wrapper.unmount();
    expect(wrapper.get('[data-testid="inspectors-error"]').text()).toContain("服务器繁忙 (busy)");
    expect(wrapper.find('[data-testid="inspector-row"]').exists()).toBe(false);

    await wrapper.get('[data-testid="inspectors-error"] button').trigger("click");
    await flushPromises();
    expect(wrapper.find('[data-testid="inspectors-error"]').exists()).toBe(false);
    await vi.waitFor(() => expect(wrapper.findAll('[data-testid="inspector-row"]')).toHaveLength(4));
  });
});
