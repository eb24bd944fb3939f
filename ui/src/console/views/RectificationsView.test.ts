// @vitest-environment happy-dom
import { flushPromises, mount } from "@vue/test-utils";
import { ElMessage } from "element-plus";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createMemoryHistory } from "vue-router";
import App from "../App.vue";
import { consoleProvides } from "../context";
import type { Rectification } from "../rectifications";
import { createConsoleRouter } from "../router";
import { type FakeAnswer, EMPTY_DASHBOARD, session, testConsole } from "../testing/fixtures";

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 11, 20, 4);

function rect(id: string, state: Rectification["state"], deadline: number, extra: Partial<Rectification> = {}): Rectification {
  return {
    id,
    task_id: `T-${id}`,
    task_code: `JX-2026-0000${id}`,
    team: "T-EAST",
    departments: ["XFJY"],
    lead_department: "XFJY",
    uscc: "92360736MA36XJ6832",
    subject_name: `青溪小吃店 ${id}`,
    finding_id: `F-${id}`,
    item_id: "XF-01",
    item_title: "灭火器在有效期内",
    description: `灭火器过期 ${id}`,
    severity: "major",
    order: "更换灭火器",
    deadline,
    ordered_at: NOW - 30 * DAY,
    state,
    overdue: deadline <= NOW,
    recheck_task: null,
    recheck_code: null,
    closed_at: null,
    updated_at: NOW - DAY,
    ...extra,
  };
}

async function start(routes: Record<string, FakeAnswer>, path = "/rectifications") {
  const { context, calls } = testConsole({ "GET /api/v1/console/dashboard": { body: EMPTY_DASHBOARD }, ...routes });
  context.session.value = session({ role: "supervisor" });
  const router = createConsoleRouter(context, createMemoryHistory());
  await router.push(path);
  const wrapper = mount(App, { global: { plugins: [router], provide: consoleProvides(context), stubs: { EChart: true } }, attachTo: document.body });
  await flushPromises();
  cleanup = () => wrapper.unmount();
  return { wrapper, router, calls };
}

let cleanup: (() => void) | null = null;
afterEach(() => {
  cleanup?.();
  cleanup = null;
  ElMessage.closeAll();
  document.body.innerHTML = "";
});

const messages = () => [...document.body.querySelectorAll(".el-message")].map((m) => m.textContent?.trim() ?? "");
const ids = (wrapper: Awaited<ReturnType<typeof start>>["wrapper"]) =>
  wrapper.findAll('[data-testid="rect-row"]').map((r) => r.attributes("data-rect-id"));

describe("RectificationsView", () => {
  it("is linked from the navigation and lists due ones first, highlighted, with a re-check button", async () => {
    const list = {
      now: NOW,
      rows: [
        rect("1", "ordered", NOW + 5 * DAY),
        rect("2", "rectified", NOW - 20 * DAY, { recheck_task: "T-R2", recheck_code: "JX-2026-000099", closed_at: NOW - DAY }),
        rect("3", "due", NOW - 2 * DAY),
        rect("4", "not_rectified", NOW - 9 * DAY, { recheck_task: "T-R4", recheck_code: "JX-2026-000098" }),
        rect("5", "due", NOW - 8 * DAY),
      ],
    };
    const { wrapper, router } = await start({ "GET /api/v1/console/rectifications": { body: list } }, "/");
    await wrapper.get('[data-testid="nav-rectifications"]').trigger("click");
    await vi.waitFor(() => expect(router.currentRoute.value.name).toBe("rectifications"));
    await vi.waitFor(() => expect(ids(wrapper)).toHaveLength(5));

    expect(ids(wrapper)).toEqual(["5", "3", "4", "1", "2"]);
    const rows = wrapper.findAll('[data-testid="rect-row"]');
    expect(rows.map((r) => r.element.tagName)).toEqual(["TR", "TR", "TR", "TR", "TR"]);
    expect(rows.map((r) => r.get('[data-testid="rect-state"]').attributes("data-state"))).toEqual([
      "due",
      "due",
      "not_rectified",
      "ordered",
      "rectified",
    ]);
    expect(rows[0]?.classes()).toContain("rect-due");
    expect(rows[0]?.get('[data-testid="rect-state"]').text()).toBe("已到期");
    expect(rows[0]?.text()).toContain("灭火器过期 5");
    expect(rows[0]?.text()).toContain("更换灭火器");
    expect(wrapper.text()).toContain("2 项已到整改期限，待复查");
    // Due and ordered ones can be re-checked; the others link their re-check task.
    expect(rows.map((r) => r.find('[data-testid="rect-recheck"]').exists())).toEqual([true, true, false, true, false]);
    expect(rows[0]?.get('[data-testid="rect-recheck"]').text()).toBe("发起复查");
    expect(rows[2]?.get('[data-testid="rect-recheck-task"]').text()).toBe("JX-2026-000098");
  });

  it("starts a re-check with one click and shows the row as being re-checked", async () => {
    const due = rect("3", "due", NOW - 2 * DAY);
    const { wrapper, calls } = await start({
      "GET /api/v1/console/rectifications": { body: { now: NOW, rows: [due] } },
      "POST /api/v1/console/rectifications/3/recheck": {
        body: {
          task_id: "T-NEW",
          task_code: "JX-2026-000100",
          rectification: { ...due, state: "rechecking", recheck_task: "T-NEW", recheck_code: "JX-2026-000100" },
        },
      },
    });
    await vi.waitFor(() => expect(ids(wrapper)).toEqual(["3"]));
    await wrapper.get('[data-testid="rect-recheck"]').trigger("click");
    await flushPromises();

    const posts = calls.filter((c) => c.method === "POST");
    expect(posts).toHaveLength(1);
    expect(posts[0]?.url.pathname).toBe("/api/v1/console/rectifications/3/recheck");
    expect(posts[0]?.body).toEqual({});
    expect(posts[0]?.headers["x-csrf-token"]).toBe("csrf-token-1");
    expect(messages()).toContain("已发起复查任务 JX-2026-000100");
    expect(wrapper.get('[data-testid="rect-state"]').attributes("data-state")).toBe("rechecking");
    expect(wrapper.find('[data-testid="rect-recheck"]').exists()).toBe(false);
    expect(wrapper.get('[data-testid="rect-recheck-task"]').text()).toBe("JX-2026-000100");
  });

  it("says in words why a second re-check was refused, and reloads", async () => {
    let gets = 0;
    const { wrapper } = await start({
      "GET /api/v1/console/rectifications": () => {
        gets += 1;
        return { body: { now: NOW, rows: [rect("3", gets === 1 ? "due" : "rechecking", NOW - DAY)] } };
      },
      "POST /api/v1/console/rectifications/3/recheck": {
        status: 409,
        body: { code: "rectify.state", message: "整改记录 3 已在复查中 (being re-checked)" },
      },
    });
    await vi.waitFor(() => expect(ids(wrapper)).toEqual(["3"]));
    await wrapper.get('[data-testid="rect-recheck"]').trigger("click");
    await flushPromises();
    expect(messages()).toContain("该整改已有进行中的复查任务，或已复查完毕，不能再发起复查。请刷新后再看。");
    expect(gets).toBe(2);
    expect(wrapper.get('[data-testid="rect-state"]').attributes("data-state")).toBe("rechecking");
  });

  it("asks the server for one state when filtered, and says when nothing is due", async () => {
    const { wrapper, calls } = await start({
      "GET /api/v1/console/rectifications": (call) => ({
        body: { now: NOW, rows: call.url.searchParams.get("state") === "rectified" ? [rect("2", "rectified", NOW - DAY)] : [] },
      }),
    });
    expect(wrapper.find('[data-testid="rect-empty-due"]').exists()).toBe(true);
    expect(calls.filter((c) => c.url.pathname.endsWith("/rectifications"))[0]?.url.search).toBe("");

    await wrapper.get('[data-testid="rect-filter"]').trigger("click");
    await flushPromises();
    const option = [...document.body.querySelectorAll(".el-select-dropdown__item")].find((o) => o.textContent?.trim() === "已整改");
    expect(option).toBeDefined();
    (option as HTMLElement).click();
    await flushPromises();
    await vi.waitFor(() => expect(ids(wrapper)).toEqual(["2"]));
    const last = calls.filter((c) => c.url.pathname.endsWith("/rectifications")).at(-1);
    expect(last?.url.searchParams.get("state")).toBe("rectified");
  });

  it("shows the server's error and tries again on request", async () => {
    let answers = 0;
    const { wrapper } = await start({
      "GET /api/v1/console/rectifications": () => {
        answers += 1;
        return answers === 1
          ? { status: 500, body: { code: "server.internal", message: "服务器内部错误 (internal error)" } }
          : { body: { now: NOW, rows: [rect("1", "ordered", NOW + DAY)] } };
      },
    });
    expect(wrapper.get('[data-testid="rect-error"]').text()).toContain("服务器内部错误");
    await wrapper.get('[data-testid="rect-error"] button').trigger("click");
    await flushPromises();
    expect(wrapper.find('[data-testid="rect-error"]').exists()).toBe(false);
    expect(ids(wrapper)).toEqual(["1"]);
  });
});
