// @vitest-environment happy-dom
// 亮码检查 in the console: the dashboard's feedback panel and a task's verify panel
// (revoking the code), against a fake server.
import { flushPromises, mount } from "@vue/test-utils";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createMemoryHistory } from "vue-router";
import { consoleProvides } from "../context";
import type { FeedbackList, FeedbackView, TaskVerify } from "../feedback";
import { createConsoleRouter } from "../router";
import { testConsole } from "../testing/fixtures";
import FeedbackPanel from "./FeedbackPanel.vue";
import TaskVerifyPanel from "./TaskVerifyPanel.vue";

const good: FeedbackView = {
  task_id: "t-1",
  task_code: "JX-2026-000001",
  subject_name: "西湖区鲜味餐馆",
  team: "T-DS-01",
  departments: ["SCJG"],
  rating: 5,
  badge_shown: true,
  rights_told: true,
  money_asked: false,
  comment: "态度很好",
  received_at: 1_780_272_000_000,
};
const bad: FeedbackView = { ...good, task_id: "t-2", task_code: "JX-2026-000002", rating: 1, money_asked: true, comment: "索要烟酒" };

let cleanup: (() => void) | null = null;
afterEach(() => {
  cleanup?.();
  cleanup = null;
});

describe("FeedbackPanel", () => {
  it("shows the counts and each response, marking the alarming ones", async () => {
    const list: FeedbackList = { total: 2, average: 3, badge_not_shown: 0, rights_not_told: 0, money_asked: 1, rows: [bad, good] };
    const { context } = testConsole({ "GET /api/v1/console/feedback": { body: list } });
    const router = createConsoleRouter(context, createMemoryHistory());
    const wrapper = mount(FeedbackPanel, { global: { plugins: [router], provide: consoleProvides(context) } });
    cleanup = () => wrapper.unmount();
    await vi.waitFor(() => expect(wrapper.findAll('[data-testid="feedback-row"]')).toHaveLength(2));
    expect(wrapper.get('[data-testid="feedback-total"]').text()).toContain("2");
    expect(wrapper.get('[data-testid="feedback-average"]').text()).toContain("3.0");
    expect(wrapper.get('[data-testid="feedback-money-asked"]').text()).toContain("1");
    const rows = wrapper.findAll('[data-testid="feedback-row"]');
    expect(rows[0]?.attributes("data-alarming")).toBe("true");
    expect(rows[0]?.text()).toContain("索要烟酒");
    expect(rows[1]?.attributes("data-alarming")).toBe("false");
  });

  it("says when there is none, and shows a failure as a sentence", async () => {
    const empty: FeedbackList = { total: 0, average: null, badge_not_shown: 0, rights_not_told: 0, money_asked: 0, rows: [] };
    const { context } = testConsole({ "GET /api/v1/console/feedback": { body: empty } });
    const router = createConsoleRouter(context, createMemoryHistory());
    const wrapper = mount(FeedbackPanel, { global: { plugins: [router], provide: consoleProvides(context) } });
    cleanup = () => wrapper.unmount();
    await vi.waitFor(() => expect(wrapper.find('[data-testid="feedback-empty"]').exists()).toBe(true));

    const failing = testConsole({ "GET /api/v1/console/feedback": { status: 500, body: { code: "server.internal", message: "服务器内部错误" } } });
    const other = mount(FeedbackPanel, { global: { plugins: [router], provide: consoleProvides(failing.context) } });
    await vi.waitFor(() => expect(other.find('[data-testid="feedback-error"]').exists()).toBe(true));
    other.unmount();
  });
});

describe("TaskVerifyPanel", () => {
  it("revokes the code with a reason and then shows who revoked it", async () => {
    const live: TaskVerify = {
      verify_code: "ABCDEFGHJKLMNPQRSTUV",
      path: "/v/ABCDEFGHJKLMNPQRSTUV",
      valid_until: 1_790_000_000_000,
      revoked: null,
      feedback: null,
      signed: true,
    };
    const { context, calls } = testConsole({
      "GET /api/v1/console/tasks/t-1/verify": { body: live },
      "POST /api/v1/console/tasks/t-1/verify-code/revoke": (call) => ({
        body: { ...live, revoked: { by: "S-001", reason: (call.body as { reason: string }).reason, at: 1_780_272_000_000 } },
      }),
    });
    const wrapper = mount(TaskVerifyPanel, { props: { id: "t-1" }, global: { provide: consoleProvides(context) } });
    cleanup = () => wrapper.unmount();
    await vi.waitFor(() => expect(wrapper.find('[data-testid="verify-code"]').exists()).toBe(true));
    expect(wrapper.get('[data-testid="verify-code"]').text()).toBe("ABCDEFGHJKLMNPQRSTUV");
    expect(wrapper.get('[data-testid="verify-link"]').attributes("href")).toBe("/v/ABCDEFGHJKLMNPQRSTUV");
    expect(wrapper.get('[data-testid="verify-signed"]').attributes("data-signed")).toBe("true");
    expect(wrapper.find('[data-testid="verify-no-feedback"]').exists()).toBe(true);

    await wrapper.get('[data-testid="verify-revoke"]').trigger("click");
    const confirm = wrapper.get('[data-testid="verify-revoke-confirm"]');
    expect(confirm.attributes("disabled")).toBeDefined();
    await wrapper.get('[data-testid="verify-revoke-reason"]').setValue("执法证遗失");
    await wrapper.get('[data-testid="verify-revoke-confirm"]').trigger("click");
    await flushPromises();
    await vi.waitFor(() => expect(wrapper.find('[data-testid="verify-revoked"]').exists()).toBe(true));
    expect(wrapper.get('[data-testid="verify-revoked"]').text()).toContain("执法证遗失");
    const post = calls.find((c) => c.method === "POST");
    expect(post?.body).toEqual({ reason: "执法证遗失" });
    expect(post?.headers["X-CSRF-Token"] ?? post?.headers["x-csrf-token"]).toBe("csrf-token-1");
  });
});
