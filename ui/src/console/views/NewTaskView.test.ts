// @vitest-environment happy-dom
import { flushPromises, mount } from "@vue/test-utils";
import { afterEach, describe, expect, it, vi } from "vitest";
import { defineComponent, h } from "vue";
import { RouterView, createMemoryHistory } from "vue-router";
import { consoleProvides } from "../context";
import { createConsoleRouter } from "../router";
import { type FakeCall, consoleRecord, testConsole } from "../testing/fixtures";
import type { NewTaskRequest, SubjectHit } from "../api/types";

const Host = defineComponent({ render: () => h(RouterView) });

const hits: SubjectHit[] = [
  {
    uscc: "92330106MA27XXXXX1",
    name: "西湖区鲜味餐馆",
    address: "文三路 1 号",
    industry: "餐饮服务",
    risk_class: "B",
    location: { lat: 30.27, lon: 120.13 },
    inspections_this_year: 0,
  },
  {
    uscc: "91330106MA28YYYYY2",
    name: "文三路便利店",
    address: "文三路 9 号",
    industry: "餐饮服务",
    risk_class: "C",
    location: { lat: 30.28, lon: 120.12 },
    inspections_this_year: 2,
  },
];

async function open() {
  const { context, calls } = testConsole({
    "GET /api/v1/console/subjects": (call: FakeCall) => ({
      body: hits.filter((s) => s.name.includes(call.url.searchParams.get("q") ?? "")),
    }),
    "GET /api/v1/console/handbook/餐饮服务": {
      body: {
        industry: "餐饮服务",
        lead_department: "SCJG",
        departments: ["SCJG", "XFJY"],
        items: [
          { id: "SCJG-CY-001", department: "SCJG", title: "食品经营许可证在有效期内", legal_basis: "《食品安全法》第三十五条" },
          { id: "XFJY-01", department: "XFJY", title: "疏散通道畅通", legal_basis: "《消防法》第二十八条" },
        ],
      },
    },
    "POST /api/v1/console/tasks": { body: { id: "T-9", code: "JX-2026-000009" } },
    "GET /api/v1/console/tasks/T-9": { body: consoleRecord({ id: "T-9" }) },
    "GET /api/v1/console/config": { body: { tile_url: null, tile_attribution: null } },
  });
  const router = createConsoleRouter(context, createMemoryHistory());
  await router.push("/new");
  const wrapper = mount(Host, { global: { plugins: [router], provide: consoleProvides(context) }, attachTo: document.body });
  await vi.waitFor(() => expect(wrapper.find('[data-testid="new-subject"]').exists()).toBe(true));
  await flushPromises();
  return { wrapper, calls, router };
}

let cleanup: (() => void) | null = null;
afterEach(() => {
  cleanup?.();
  cleanup = null;
  document.body.innerHTML = "";
});

async function search(wrapper: Awaited<ReturnType<typeof open>>["wrapper"], q: string) {
  const input = wrapper.get('input[data-testid="new-subject"]');
  await input.setValue(q);
  await input.trigger("keyup", { key: "Enter" });
  await flushPromises();
}

describe("NewTaskView", () => {
  it("warns when the chosen business was already inspected this year, not otherwise", async () => {
    const { wrapper } = await open();
    cleanup = () => wrapper.unmount();

    await search(wrapper, "鲜味");
    await wrapper.get('[data-testid="new-subject-option"][data-uscc="92330106MA27XXXXX1"]').trigger("click");
    await flushPromises();
    expect(wrapper.find('[data-testid="new-warning"]').exists()).toBe(false);

    await search(wrapper, "便利店");
    await wrapper.get('[data-testid="new-subject-option"][data-uscc="91330106MA28YYYYY2"]').trigger("click");
    await flushPromises();
    expect(wrapper.get('[data-testid="new-warning"]').text()).toContain("2 次");
  });

  it("creates the task from the handbook's items, the team and two inspectors", async () => {
    const { wrapper, calls, router } = await open();
    cleanup = () => wrapper.unmount();

    await search(wrapper, "鲜味");
    await wrapper.get('[data-testid="new-subject-option"]').trigger("click");
    await flushPromises();
    expect(wrapper.findAll('[data-testid="new-item"]').map((i) => i.attributes("data-item-id"))).toEqual(["SCJG-CY-001", "XFJY-01"]);

    // The supervisor's only team is chosen already; its active inspectors are offered,
    // each with the department they are certified for; one is not enough.
    expect(wrapper.get('[data-testid="new-team"] [data-team-id="T-DS-01"] input').element).toHaveProperty("checked", true);
    const offered = wrapper.findAll('[data-testid="new-inspectors"] [data-inspector-id]');
    expect(offered.map((i) => i.attributes("data-inspector-id"))).toEqual(["I-001", "I-002"]);
    expect(offered[1]?.text()).toContain("消防救援");
    await wrapper.get('[data-inspector-id="I-001"] input').setValue(true);
    await wrapper.get("form").trigger("submit");
    await flushPromises();
    expect(wrapper.get('[data-testid="new-missing"]').text()).toContain("至少选择 2 名执法人员");
    expect(calls.some((c) => c.method === "POST")).toBe(false);

    await wrapper.get('[data-inspector-id="I-002"] input').setValue(true);
    await wrapper.get("form").trigger("submit");
    await flushPromises();

    const post = calls.find((c) => c.method === "POST" && c.url.pathname === "/api/v1/console/tasks");
    // Exactly the fields of a NewTaskRequest: the server refuses unknown ones.
    const body = post?.body as NewTaskRequest;
    expect(Object.keys(body).sort()).toEqual(["end", "inspectors", "items", "start", "team", "uscc"]);
    expect(body).toMatchObject({
      uscc: "92330106MA27XXXXX1",
      items: ["SCJG-CY-001", "XFJY-01"],
      team: "T-DS-01",
      inspectors: ["I-001", "I-002"],
    });
    expect(body.start).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(body.end).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    await vi.waitFor(() => expect(router.currentRoute.value.fullPath).toBe("/tasks/T-9"));
  });
});
