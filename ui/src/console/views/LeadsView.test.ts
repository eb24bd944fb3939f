// @vitest-environment happy-dom
import { flushPromises, mount } from "@vue/test-utils";
import { ElMessage } from "element-plus";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createMemoryHistory } from "vue-router";
import App from "../App.vue";
import { consoleProvides } from "../context";
import type { Lead, LeadView } from "../leads";
import { createConsoleRouter } from "../router";
import { type FakeAnswer, EMPTY_DASHBOARD, NOW, session, testConsole } from "../testing/fixtures";

function lead(fields: Partial<Lead> = {}): Lead {
  return {
    id: "XS-2026-000001",
    source: "hotline_12345",
    reference: "12345-0001",
    received_at: NOW - 3_600_000,
    uscc: "92330106MA27XXXXX1",
    subject_name: "西湖区鲜味餐馆",
    summary: "群众反映后厨卫生差",
    attachments: [],
    departments: ["SCJG"],
    criminal: false,
    state: "received",
    duplicate_of: null,
    answer: null,
    answered_at: null,
    tasks: [],
    source_task: null,
    source_transfer: null,
    package: null,
    updated_at: NOW - 3_600_000,
    ...fields,
  };
}

function view(l: Lead, actions: LeadView["actions"], events: LeadView["events"] = []): LeadView {
  return {
    lead: l,
    actions,
    events:
      events.length > 0 ? events : [{ kind: "received", by: "channel:hotline_12345", at: l.received_at, departments: l.departments }],
  };
}

async function start(routes: Record<string, FakeAnswer>) {
  const { context, calls } = testConsole({ "GET /api/v1/console/dashboard": { body: EMPTY_DASHBOARD }, ...routes });
  context.session.value = session({ departments: ["SCJG"] });
  const router = createConsoleRouter(context, createMemoryHistory());
  await router.push("/");
  const wrapper = mount(App, {
    global: { plugins: [router], provide: consoleProvides(context), stubs: { EChart: true } },
    attachTo: document.body,
  });
  await flushPromises();
  await wrapper.get('[data-testid="nav-leads"]').trigger("click");
  await vi.waitFor(() => expect(router.currentRoute.value.name).toBe("leads"));
  await flushPromises();
  return { wrapper, router, calls };
}

let cleanup: (() => void) | null = null;
afterEach(() => {
  cleanup?.();
  cleanup = null;
  ElMessage.closeAll();
  document.body.innerHTML = "";
});

const received = lead();
const criminal = lead({
  id: "XS-2026-000002",
  source: "tablet_transfer",
  reference: null,
  criminal: true,
  state: "received",
  departments: ["GA"],
  attachments: ["a".repeat(64)],
  source_task: "T-1",
  source_transfer: "LT-1",
});

describe("LeadsView", () => {
  it("lists the inbox with a row per lead and filters by state on the server", async () => {
    const { wrapper, calls } = await start({
      "GET /api/v1/console/leads": (call) => ({
        body: { rows: call.url.searchParams.get("state") === "answered" ? [] : [received, criminal] },
      }),
    });
    cleanup = () => wrapper.unmount();
    await vi.waitFor(() => expect(wrapper.findAll('[data-testid="lead-row"]')).toHaveLength(2));
    const rows = wrapper.findAll('[data-testid="lead-row"]');
    expect(rows.map((r) => r.attributes("data-lead-id"))).toEqual(["XS-2026-000001", "XS-2026-000002"]);
    expect(rows[0]?.text()).toContain("12345 热线");
    expect(rows[0]?.text()).toContain("市场监管");
    expect(rows[1]?.text()).toContain("涉嫌犯罪");

    await wrapper.get('[data-testid="leads-filter"] [data-state="answered"] input').setValue(true);
    await flushPromises();
    await vi.waitFor(() => expect(wrapper.find('[data-testid="leads-empty"]').exists()).toBe(true));
    const asked = calls.filter((c) => c.method === "GET" && c.url.pathname === "/api/v1/console/leads");
    expect(asked.at(-1)?.url.searchParams.get("state")).toBe("answered");
  });

  it("shows a lead's events and only the steps its state allows, and dispatches it", async () => {
    const dispatched = lead({ state: "dispatched", departments: ["SCJG", "XFJY"] });
    const { wrapper, calls } = await start({
      "GET /api/v1/console/leads": { body: { rows: [received] } },
      "GET /api/v1/console/leads/XS-2026-000001": { body: view(received, ["dispatch", "transfer", "duplicate"]) },
      "POST /api/v1/console/leads/XS-2026-000001/dispatch": {
        body: view(dispatched, ["transfer", "verify", "duplicate", "task"], [
          { kind: "received", by: "channel:hotline_12345", at: NOW - 3_600_000 },
          { kind: "dispatched", by: "S-1", at: NOW, departments: ["SCJG", "XFJY"] },
        ]),
      },
    });
    cleanup = () => wrapper.unmount();
    await vi.waitFor(() => expect(wrapper.find('[data-testid="lead-row"]').exists()).toBe(true));
    await wrapper.get('[data-testid="lead-row"]').trigger("click");
    await flushPromises();
    const detail = wrapper.get('[data-testid="lead-detail"]');
    expect(detail.attributes("data-state")).toBe("received");
    expect(wrapper.findAll('[data-testid="lead-event"]').map((e) => e.attributes("data-kind"))).toEqual(["received"]);
    expect(wrapper.find('[data-testid="lead-action-dispatch"]').exists()).toBe(true);
    expect(wrapper.find('[data-testid="lead-action-verify"]').exists()).toBe(false);
    expect(wrapper.find('[data-testid="lead-action-answer"]').exists()).toBe(false);
    expect(wrapper.find('[data-testid="lead-action-task"]').exists()).toBe(false);
    expect(wrapper.find('[data-testid="lead-action-package"]').exists()).toBe(false);

    await wrapper.get('[data-testid="lead-action-dispatch"]').trigger("click");
    // Nothing chosen: said, nothing sent.
    await wrapper.get('[data-testid="lead-step-confirm"]').trigger("click");
    await flushPromises();
    expect(wrapper.get('[data-testid="lead-step-error"]').text()).toContain("请至少选择一个部门");
    expect(calls.filter((c) => c.method === "POST")).toEqual([]);

    await wrapper.get('[data-testid="lead-step-departments"] [data-department="SCJG"] input').setValue(true);
    await wrapper.get('[data-testid="lead-step-departments"] [data-department="XFJY"] input').setValue(true);
    await wrapper.get('[data-testid="lead-step-confirm"]').trigger("click");
    await flushPromises();
    const posted = calls.filter((c) => c.method === "POST");
    expect(posted.map((c) => c.url.pathname)).toEqual(["/api/v1/console/leads/XS-2026-000001/dispatch"]);
    expect(posted[0]?.body).toEqual({ departments: ["SCJG", "XFJY"] });
    expect(posted[0]?.headers["x-csrf-token"]).toBe("csrf-token-1");
    expect(wrapper.get('[data-testid="lead-detail"]').attributes("data-state")).toBe("dispatched");
    expect(wrapper.findAll('[data-testid="lead-event"]').map((e) => e.attributes("data-kind"))).toEqual([
      "received",
      "dispatched",
    ]);
    expect(wrapper.find('[data-testid="lead-action-task"]').exists()).toBe(true);
    expect(wrapper.find('[data-testid="lead-step-form"]').exists()).toBe(false);
  });

  it("says why the server refused a step (409 console.state) and keeps the lead as it was", async () => {
    const verified = lead({ state: "verified" });
    const message = "线索 XS-2026-000001 处于“verified”状态，不能答复 answer";
    const { wrapper } = await start({
      "GET /api/v1/console/leads": { body: { rows: [verified] } },
      "GET /api/v1/console/leads/XS-2026-000001": { body: view(verified, ["handle", "answer", "duplicate"]) },
      "POST /api/v1/console/leads/XS-2026-000001/answer": { status: 409, body: { code: "console.state", message } },
    });
    cleanup = () => wrapper.unmount();
    await vi.waitFor(() => expect(wrapper.find('[data-testid="lead-row"]').exists()).toBe(true));
    await wrapper.get('[data-testid="lead-row"]').trigger("click");
    await flushPromises();
    await wrapper.get('[data-testid="lead-action-answer"]').trigger("click");
    await wrapper.get('[data-testid="lead-step-reply"]').setValue("已处理");
    await wrapper.get('[data-testid="lead-step-confirm"]').trigger("click");
    await flushPromises();
    expect(wrapper.get('[data-testid="lead-step-error"]').text()).not.toBe("");
    expect(wrapper.get('[data-testid="lead-detail"]').attributes("data-state")).toBe("verified");
  });

  it("starts a task for the lead's subject with the chosen items", async () => {
    const dispatched = lead({ state: "dispatched" });
    const withTask = lead({ state: "dispatched", tasks: ["T-9"] });
    const { wrapper, calls } = await start({
      "GET /api/v1/console/leads": { body: { rows: [dispatched] } },
      "GET /api/v1/console/leads/XS-2026-000001": { body: view(dispatched, ["transfer", "verify", "duplicate", "task"]) },
      "GET /api/v1/console/subjects": {
        body: [{ uscc: "92330106MA27XXXXX1", name: "西湖区鲜味餐馆", address: "", industry: "H62", risk_class: "B", inspections_this_year: 0 }],
      },
      "GET /api/v1/console/handbook/H62": {
        body: {
          industry: "H62",
          industry_name: "餐饮",
          departments: ["SCJG"],
          items: [
            { id: "SCJG-CY-001", title: "食品经营许可", department: "SCJG", requires_evidence: false },
            { id: "SCJG-CY-002", title: "从业人员健康证明", department: "SCJG", requires_evidence: false },
          ],
        },
      },
      "POST /api/v1/console/leads/XS-2026-000001/task": {
        body: { task: { id: "T-9", code: "JX-2026-000009" }, lead: view(withTask, ["transfer", "verify", "duplicate", "task"]) },
      },
    });
    cleanup = () => wrapper.unmount();
    await vi.waitFor(() => expect(wrapper.find('[data-testid="lead-row"]').exists()).toBe(true));
    await wrapper.get('[data-testid="lead-row"]').trigger("click");
    await flushPromises();
    await wrapper.get('[data-testid="lead-action-task"]').trigger("click");
    await flushPromises();
    await vi.waitFor(() => expect(wrapper.findAll('[data-testid="lead-task-item"]')).toHaveLength(2));
    await wrapper.get('[data-testid="lead-task-item"][data-item-id="SCJG-CY-002"] input').setValue(false);
    await wrapper.get('[data-testid="lead-task-team"] [data-team-id="T-DS-01"] input').setValue(true);
    await flushPromises();
    await wrapper.get('[data-testid="lead-task-inspectors"] [data-inspector-id="I-001"] input').setValue(true);
    await wrapper.get('[data-testid="lead-task-inspectors"] [data-inspector-id="I-002"] input').setValue(true);
    await wrapper.get('[data-testid="lead-task-start"]').setValue("2026-12-05");
    await wrapper.get('[data-testid="lead-task-end"]').setValue("2026-12-20");
    await wrapper.get('[data-testid="lead-task-confirm"]').trigger("click");
    await flushPromises();
    const posted = calls.filter((c) => c.method === "POST");
    expect(posted.map((c) => c.url.pathname)).toEqual(["/api/v1/console/leads/XS-2026-000001/task"]);
    expect(posted[0]?.body).toEqual({
      team: "T-DS-01",
      inspectors: ["I-001", "I-002"],
      items: ["SCJG-CY-001"],
      start: "2026-12-05",
      end: "2026-12-20",
    });
    expect(wrapper.get('[data-testid="lead-task-done"]').attributes("data-task-id")).toBe("T-9");
    expect(wrapper.get('[data-testid="lead-task-done"]').text()).toContain("JX-2026-000009");
  });

  it("downloads a criminal lead's evidence package and shows it as sent", async () => {
    const sha = "d".repeat(64);
    const sent = { ...criminal, package: { sha256: sha, stage: "sent" as const, at: NOW } };
    let packaged = false;
    const created: Blob[] = [];
    const createObjectURL = vi.fn((b: Blob) => {
      created.push(b);
      return "blob:package";
    });
    Object.assign(URL, { createObjectURL, revokeObjectURL: vi.fn() });
    const { wrapper, calls } = await start({
      "GET /api/v1/console/leads": { body: { rows: [criminal] } },
      "GET /api/v1/console/leads/XS-2026-000002": () => ({
        body: packaged
          ? view(sent, ["dispatch", "transfer", "duplicate", "package", "package_received"])
          : view(criminal, ["dispatch", "transfer", "duplicate", "package"]),
      }),
      "POST /api/v1/console/leads/XS-2026-000002/package": () => {
        packaged = true;
        return { status: 200, body: "PK-zip-bytes" };
      },
    });
    cleanup = () => wrapper.unmount();
    await vi.waitFor(() => expect(wrapper.find('[data-testid="lead-row"]').exists()).toBe(true));
    await wrapper.get('[data-testid="lead-row"]').trigger("click");
    await flushPromises();
    expect(wrapper.find('[data-testid="lead-action-package_received"]').exists()).toBe(false);
    await wrapper.get('[data-testid="lead-action-package"]').trigger("click");
    await flushPromises();
    await vi.waitFor(() => expect(wrapper.find('[data-testid="lead-package-sha"]').exists()).toBe(true));
    expect(wrapper.get('[data-testid="lead-package-sha"]').text()).toBe(sha);
    expect(created).toHaveLength(1);
    expect(calls.filter((c) => c.method === "POST").map((c) => c.headers["x-csrf-token"])).toEqual(["csrf-token-1"]);
    expect(wrapper.find('[data-testid="lead-action-package_received"]').exists()).toBe(true);
  });
});
