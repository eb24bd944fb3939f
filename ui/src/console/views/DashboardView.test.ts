// @vitest-environment happy-dom
import { flushPromises, mount } from "@vue/test-utils";
import { afterEach, describe, expect, it, vi } from "vitest";
import { defineComponent, h } from "vue";
import { RouterView, createMemoryHistory } from "vue-router";
import { consoleProvides } from "../context";
import { createConsoleRouter } from "../router";
import { taskPage, testConsole } from "../testing/fixtures";
import type { Dashboard } from "../api/types";

const Host = defineComponent({ render: () => h(RouterView) });

const dashboard: Dashboard = {
  year: 2026,
  by_status: { assigned: 4, submitted: 7, approved: 2 },
  by_department: [{ code: "SCJG", total: 13, by_status: { assigned: 4, submitted: 7, approved: 2 } }],
  overdue: 3,
  returned: 1,
  rectification_due: 5,
  joint: 9,
  single: 3,
  inspections_per_subject: [
    { inspections: 1, subjects: 10 },
    { inspections: 2, subjects: 1 },
  ],
};

let cleanup: (() => void) | null = null;
afterEach(() => {
  cleanup?.();
  cleanup = null;
});

describe("DashboardView", () => {
  it("shows each figure and links it to the filtered task list", async () => {
    const { context } = testConsole({
      "GET /api/v1/console/dashboard": { body: dashboard },
      "GET /api/v1/console/tasks": { body: taskPage([]) },
    });
    const router = createConsoleRouter(context, createMemoryHistory());
    await router.push("/");
    const wrapper = mount(Host, {
      global: { plugins: [router], provide: consoleProvides(context), stubs: { EChart: true } },
    });
    cleanup = () => wrapper.unmount();
    await vi.waitFor(() => expect(wrapper.find('[data-testid="dash-status-submitted"]').exists()).toBe(true));

    const count = (testid: string) => wrapper.get(`[data-testid="${testid}"] [data-testid="dash-count"]`).text();
    expect(count("dash-status-submitted")).toBe("7");
    expect(count("dash-status-returned")).toBe("0");
    expect(count("dash-overdue")).toBe("3");
    expect(count("dash-returned")).toBe("1");
    expect(count("dash-rectification-due")).toBe("5");
    expect(wrapper.get('[data-testid="dash-share"]').text()).toBe("75");
    expect(wrapper.find('[data-testid="dash-chart-status"]').exists()).toBe(true);
    expect(wrapper.find('[data-testid="dash-chart-departments"]').exists()).toBe(true);

    expect(wrapper.get('[data-testid="dash-status-submitted"]').attributes("href")).toBe("/tasks?status=submitted");
    expect(wrapper.get('[data-testid="dash-overdue"]').attributes("href")).toBe("/tasks?overdue=true");
    expect(wrapper.get('[data-testid="dash-rectification-due"]').attributes("href")).toBe("/tasks?rectification_due=true");
    // "This year" in the figure, and in the list it opens.
    expect(wrapper.get('[data-testid="dash-joint-share"]').attributes("href")).toBe("/tasks?joint=true&year=2026");
    expect(wrapper.get('[data-testid="dash-single"]').attributes("href")).toBe("/tasks?joint=false&year=2026");

    await wrapper.get('[data-testid="dash-returned"]').trigger("click");
    await flushPromises();
    await vi.waitFor(() => expect(router.currentRoute.value.fullPath).toBe("/tasks?returned=true"));
  });
});
