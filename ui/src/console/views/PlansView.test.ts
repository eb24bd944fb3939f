// @vitest-environment happy-dom
import { DOMWrapper, flushPromises, mount } from "@vue/test-utils";
import { ElMessage } from "element-plus";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createMemoryHistory } from "vue-router";
import App from "../App.vue";
import type { PlanSpec, PlanView } from "../api/types";
import { consoleProvides } from "../context";
import { createConsoleRouter } from "../router";
import {
  COMMITMENT,
  EMPTY_DASHBOARD,
  type FakeAnswer,
  type FakeCall,
  NOW,
  fixedPlan,
  planSpec,
  planView,
  testConsole,
} from "../testing/fixtures";

const PLANS = "GET /api/v1/console/plans";

async function start(routes: Record<string, FakeAnswer> = {}, path = "/plans") {
  const { context, calls } = testConsole({ "GET /api/v1/console/dashboard": { body: EMPTY_DASHBOARD }, ...routes });
  const router = createConsoleRouter(context, createMemoryHistory());
  await router.push(path);
  const wrapper = mount(App, {
    global: { plugins: [router], provide: consoleProvides(context), stubs: { EChart: true } },
    attachTo: document.body,
  });
  await flushPromises();
  cleanup = () => wrapper.unmount();
  return { wrapper, router, calls, context };
}

let cleanup: (() => void) | null = null;
afterEach(() => {
  cleanup?.();
  cleanup = null;
  ElMessage.closeAll();
  document.body.innerHTML = "";
  vi.useRealTimers();
});

/** The page and its dialogs (which Element Plus puts at the end of <body>). */
const page = () => new DOMWrapper(document.body);
const posts = (calls: FakeCall[], path: string) => calls.filter((c) => c.method !== "GET" && c.url.pathname === path);
const rowOf = (id: string) => page().get(`[data-testid="plan-row"][data-plan-id="${id}"]`);
function shown(testid: string): boolean {
  const overlay = document.body.querySelector(`[data-testid="${testid}"]`)?.closest<HTMLElement>(".el-overlay");
  return overlay !== null && overlay !== undefined && overlay.style.display !== "none";
}

async function type(testid: string, text: string): Promise<void> {
  await page().get(`input[data-testid="${testid}"]`).setValue(text);
  await flushPromises();
}
async function check(css: string): Promise<void> {
  await page().get(`${css} input`).setValue(true);
  await flushPromises();
}
async function click(testid: string): Promise<void> {
  await page().get(`[data-testid="${testid}"]`).trigger("click");
  await flushPromises();
}

describe("PlansView", () => {
  it("is in the navigation and lists the plans with their state", async () => {
    const entered = { values: ["1", "2"], entered_by: "S-1", entered_at: NOW };
    const { wrapper, router } = await start(
      {
        [PLANS]: {
          body: {
            plans: [
              planView("P-3", { spec: planSpec({ name: "草稿计划", departments: ["SCJG"], lead_department: "SCJG" }) }),
              planView("P-2", { state: "fixed" }),
              planView("P-1", { state: "drawn", entropy: entered, draw: "D-1" }),
            ],
          },
        },
      },
      "/",
    );
    expect(wrapper.get('[data-testid="nav-plans"]').text()).toBe("抽查计划");
    await wrapper.get('[data-testid="nav-plans"]').trigger("click");
    await vi.waitFor(() => expect(router.currentRoute.value.name).toBe("plans"));
    await vi.waitFor(() => expect(page().findAll('[data-testid="plan-row"]')).toHaveLength(3));

    expect(page().findAll('[data-testid="plan-row"]').map((r) => r.attributes("data-state"))).toEqual(["draft", "fixed", "drawn"]);
    expect(rowOf("P-3").get('[data-testid="plan-state"]').text()).toBe("草稿");
    expect(rowOf("P-2").get('[data-testid="plan-state"]').text()).toBe("已锁定");
    expect(rowOf("P-2").get('[data-testid="plan-entropy-state"]').text()).toBe("待录入随机数");
    expect(rowOf("P-1").get('[data-testid="plan-state"]').text()).toBe("已抽取");
    // Buttons by state.
    expect(rowOf("P-3").find('[data-testid="plan-fix"]').exists()).toBe(true);
    expect(rowOf("P-3").find('[data-testid="plan-pools"]').exists()).toBe(false);
    expect(rowOf("P-2").find('[data-testid="plan-edit"]').exists()).toBe(false);
    expect(rowOf("P-2").find('[data-testid="plan-entropy"]').exists()).toBe(true);
    expect(rowOf("P-2").get('[data-testid="plan-pools"]').attributes("href")).toBe("/api/v1/console/plans/P-2/pools");
    expect(rowOf("P-1").find('[data-testid="plan-entropy"]').exists()).toBe(false);
    // Fixed plans show their pools and commitment.
    expect(rowOf("P-2").get('[data-testid="plan-sizes"]').text()).toBe("A 4 · B 12 · C 30 · D 6");
    expect(rowOf("P-2").get('[data-testid="plan-commitment"]').text()).toBe(COMMITMENT);
    expect(rowOf("P-2").text()).toContain("市场监管、消防救援");
    expect(rowOf("P-2").text()).toContain("联合");
  });

  it("creates a plan: the form's fields become exactly a PlanSpec, ratios in basis points", async () => {
    vi.useFakeTimers({ now: NOW, toFake: ["Date"] });
    let created: PlanView | null = null;
    const { calls } = await start({
      [PLANS]: { body: { plans: [] } },
      "GET /api/v1/console/handbook/CY": {
        body: {
          industry: "CY",
          lead_department: "SCJG",
          departments: ["SCJG", "XFJY"],
          items: [
            { id: "SCJG-CY-001", department: "SCJG", title: "食品经营许可证在有效期内", legal_basis: "" },
            { id: "SCJG-CY-003", department: "SCJG", title: "冷藏设备温度符合要求", legal_basis: "" },
            { id: "XFJY-01", department: "XFJY", title: "疏散通道畅通", legal_basis: "" },
          ],
        },
      },
      "POST /api/v1/console/plans": (call) => {
        created = planView("P-9", { spec: call.body as PlanSpec });
        return { status: 201, body: created };
      },
    });
    await click("plan-new");
    expect(shown("plan-form")).toBe(true);

    // Saving an empty form says what is missing and sends nothing.
    await click("plan-save");
    expect(posts(calls, "/api/v1/console/plans")).toEqual([]);
    await vi.waitFor(() =>
      expect(page().findAll('[data-testid="plan-form"] .el-form-item__error').map((e) => e.text())).toEqual([
        "请填写计划名称",
        "请至少选择一个部门",
        "请至少选择一项检查事项",
        "请至少选择一支执法队伍",
        "须写明 1–8 个随机数来源，且不能留空",
      ]),
    );

    await type("plan-name", "  2027 年第一季度餐饮联合抽查 ");
    await check('[data-testid="plan-departments"] [data-department="SCJG"]');
    await check('[data-testid="plan-departments"] [data-department="XFJY"]');
    await check('[data-testid="plan-lead"] [data-department="XFJY"]');
    await type("plan-handbook", "CY");
    await click("plan-handbook-load");
    expect(page().get('[data-testid="plan-handbook-note"]').text()).toBe("已载入 3 项，勾选了所选部门的 3 项");
    // Unchecks one.
    await page().get('[data-testid="plan-item"][data-item-id="SCJG-CY-003"] input').setValue(false);
    await type("plan-industries", "CY、LS");
    await check('[data-testid="plan-classes"] [data-class="B"]');
    await check('[data-testid="plan-classes"] [data-class="C"]');
    await type("plan-ratio-B", "2.5");
    await type("plan-ratio-C", "12.25");
    await check('[data-testid="plan-teams"] [data-team-id="T-DS-01"]');
    await type("plan-entropy-source-0", "中国福利彩票双色球 2026年第142期（12月10日）开奖号码");
    await click("plan-entropy-add");
    await type("plan-entropy-source-1", "深证成指 2026-12-10 收盘点数");
    await page().get('[data-testid="plan-recuse"]').trigger("click");
    await flushPromises();
    await click("plan-save");

    const sent = posts(calls, "/api/v1/console/plans");
    expect(sent).toHaveLength(1);
    expect(sent[0]?.headers["x-csrf-token"]).toBe("csrf-token-1");
    expect(sent[0]?.body).toEqual({
      name: "2027 年第一季度餐饮联合抽查",
      departments: ["SCJG", "XFJY"],
      lead_department: "XFJY",
      items: ["SCJG-CY-001", "XFJY-01"],
      filter: { industries: ["CY", "LS"], townships: [], classes: ["B", "C"] },
      ratios: { A: 300, B: 250, C: 1225, D: 10000 },
      inspectors_per_task: 2,
      teams: ["T-DS-01"],
      window: { start: "2026-12-07", due: "2027-01-06" },
      special_reason: null,
      recuse_same_township: true,
      entropy_sources: ["中国福利彩票双色球 2026年第142期（12月10日）开奖号码", "深证成指 2026-12-10 收盘点数"],
    });
    await vi.waitFor(() => expect(shown("plan-form")).toBe(false));
    expect(rowOf("P-9").attributes("data-state")).toBe("draft");
  });

  it("edits a draft with its values in the form, in percent", async () => {
    const spec = planSpec({ ratios: { A: 250, B: 500, C: 1000, D: 10000 }, special_reason: "投诉集中" });
    const { calls } = await start({
      [PLANS]: { body: { plans: [planView("P-3", { spec })] } },
      "PUT /api/v1/console/plans/P-3": (call) => ({ body: planView("P-3", { spec: call.body as PlanSpec }) }),
    });
    await rowOf("P-3").get('[data-testid="plan-edit"]').trigger("click");
    await flushPromises();
    expect((page().get('input[data-testid="plan-ratio-A"]').element as HTMLInputElement).value).toBe("2.5");
    expect((page().get('input[data-testid="plan-special-reason"]').element as HTMLInputElement).value).toBe("投诉集中");
    await type("plan-ratio-D", "50");
    await click("plan-save");
    const put = posts(calls, "/api/v1/console/plans/P-3")[0];
    expect(put?.method).toBe("PUT");
    expect(put?.body).toEqual({ ...spec, ratios: { A: 250, B: 500, C: 1000, D: 5000 } });
  });

  it("fixes a draft after a confirmation and shows its commitment and pool hashes", async () => {
    const draft = planView("P-3");
    const { calls } = await start({
      [PLANS]: { body: { plans: [draft] } },
      "POST /api/v1/console/plans/P-3/fix": { body: { ...draft, state: "fixed", fixed: fixedPlan("P-3", draft.spec, { fixed_by: "S-1" }) } },
    });
    expect(rowOf("P-3").find('[data-testid="plan-commitment"]').exists()).toBe(false);
    await rowOf("P-3").get('[data-testid="plan-fix"]').trigger("click");
    await flushPromises();
    expect(shown("fix-dialog")).toBe(true);
    expect(page().get('[data-testid="fix-dialog"]').text()).toContain("不能再修改或删除");
    expect(posts(calls, "/api/v1/console/plans/P-3/fix")).toEqual([]);

    await click("fix-dialog-confirm");
    expect(posts(calls, "/api/v1/console/plans/P-3/fix")).toHaveLength(1);
    await vi.waitFor(() => expect(shown("fix-dialog")).toBe(false));
    expect(rowOf("P-3").attributes("data-state")).toBe("fixed");
    expect(rowOf("P-3").get('[data-testid="plan-commitment"]').text()).toBe(COMMITMENT);
    expect(rowOf("P-3").get('[data-testid="plan-state"]').text()).toBe("已锁定");

    // The row opens to the whole record of what was fixed.
    await rowOf("P-3").get(".el-table__expand-icon").trigger("click");
    await flushPromises();
    const details = page().get('[data-testid="plan-details"][data-plan-id="P-3"]');
    expect(details.get('[data-testid="plan-detail-commitment"]').text()).toBe(COMMITMENT);
    expect(details.findAll('[data-testid="plan-detail-hash"]').map((h) => h.attributes("data-part"))).toEqual([
      "A",
      "B",
      "C",
      "D",
      "inspectors",
      "recusals",
    ]);
    expect(details.get('[data-testid="plan-detail-hash"][data-part="recusals"]').text()).toContain("6".repeat(64));
    expect(details.get('[data-testid="pool-size"][data-class="C"]').text()).toBe("30");
    expect(details.get('[data-testid="pool-ratio"][data-class="A"]').text()).toBe("3 %");
  });

  it("enters the entropy, one value per named source", async () => {
    const plan = planView("P-2", { state: "fixed" });
    const { calls } = await start({
      [PLANS]: { body: { plans: [plan] } },
      "POST /api/v1/console/plans/P-2/entropy": (call) => ({
        body: { ...plan, entropy: { values: (call.body as { values: string[] }).values, entered_by: "S-1", entered_at: NOW } },
      }),
    });
    await rowOf("P-2").get('[data-testid="plan-entropy"]').trigger("click");
    await flushPromises();
    expect(shown("entropy-dialog")).toBe(true);
    expect(page().get('[data-testid="entropy-rule"]').text()).toContain("随机数须由锁定计划者以外的另一人录入");
    expect(page().get('[data-testid="entropy-source-0"]').text()).toContain("双色球 2026年第142期");
    expect(page().get('[data-testid="entropy-source-1"]').text()).toContain("深圳证券交易所");
    expect(page().find('[data-testid="entropy-value-2"]').exists()).toBe(false);

    await type("entropy-value-0", " 03 08 15 21 27 33 + 09 ");
    await click("entropy-submit");
    expect(page().get('[data-testid="entropy-missing"]').text()).toBe("请为每个来源填写公布的结果。");
    expect(posts(calls, "/api/v1/console/plans/P-2/entropy")).toEqual([]);

    await type("entropy-value-1", "11234.56");
    await click("entropy-submit");
    const sent = posts(calls, "/api/v1/console/plans/P-2/entropy");
    expect(sent).toHaveLength(1);
    expect(sent[0]?.body).toEqual({ values: ["03 08 15 21 27 33 + 09", "11234.56"] });
    await vi.waitFor(() => expect(shown("entropy-dialog")).toBe(false));
    expect(rowOf("P-2").get('[data-testid="plan-entropy-state"]').attributes("data-entered")).toBe("true");
    expect(rowOf("P-2").find('[data-testid="plan-entropy"]').exists()).toBe(false);
  });

  it("says why the server refused the entropy (409 console.state), with the server's own words", async () => {
    const message = "随机数须由锁定计划者（S-1）以外的另一人录入 (the entropy must be typed in by someone other than S-1, who fixed the plan)";
    const { calls } = await start({
      [PLANS]: { body: { plans: [planView("P-2", { state: "fixed" })] } },
      "POST /api/v1/console/plans/P-2/entropy": { status: 409, body: { code: "console.state", message } },
    });
    await rowOf("P-2").get('[data-testid="plan-entropy"]').trigger("click");
    await flushPromises();
    await type("entropy-value-0", "1");
    await type("entropy-value-1", "2");
    await click("entropy-submit");
    expect(posts(calls, "/api/v1/console/plans/P-2/entropy")).toHaveLength(1);
    const error = page().get('[data-testid="entropy-error"]').text();
    expect(error).toContain("无法录入随机数：随机数须由锁定计划者以外的另一人录入，每个计划只能录入一次，且计划须已锁定。");
    expect(error).toContain(message);
    expect(shown("entropy-dialog")).toBe(true);
  });

  it("tells who fixed the plan that someone else must enter its entropy", async () => {
    const plan = planView("P-2", { state: "fixed", fixed: fixedPlan("P-2", planSpec(), { fixed_by: "S-1" }) });
    await start({ [PLANS]: { body: { plans: [plan] } } });
    await rowOf("P-2").get('[data-testid="plan-entropy"]').trigger("click");
    await flushPromises();
    expect(page().get('[data-testid="entropy-same-person"]').text()).toContain("您锁定了此计划，随机数须由另一人录入");
    expect(page().get('[data-testid="entropy-submit"]').attributes("disabled")).toBeDefined();
  });

  it("imports a file of plans, and shows the server's message when it refuses one", async () => {
    const message = "第 2 个计划 (plan 2): 没有部门 XX (departments: no department XX)";
    let refuse = true;
    const { calls } = await start({
      [PLANS]: { body: { plans: [] } },
      "POST /api/v1/console/plans/import": () =>
        refuse
          ? { status: 422, body: { code: "console.bad_input", message } }
          : { status: 201, body: { created: [planView("P-5"), planView("P-6")] } },
    });
    const file = () => new File([JSON.stringify([planSpec(), planSpec({ departments: ["XX"] })])], "plans.json", { type: "application/json" });
    const input = page().get('[data-testid="plan-import-file"]');
    const choose = async (chosen: File) => {
      Object.defineProperty(input.element, "files", { value: [chosen], configurable: true });
      await input.trigger("change");
      await flushPromises();
    };

    await choose(file());
    const sent = posts(calls, "/api/v1/console/plans/import");
    expect(sent).toHaveLength(1);
    expect(sent[0]?.headers["content-type"]).toBe("application/json");
    expect(JSON.parse(new TextDecoder().decode(sent[0]?.bytes ?? new Uint8Array()))).toHaveLength(2);
    await vi.waitFor(() => expect(page().get('[data-testid="plan-import-error"]').text()).toContain(message));
    expect(page().findAll('[data-testid="plan-row"]')).toHaveLength(0);

    // Not a list: refused here.
    await choose(new File(['{"name": "x"}'], "one.json"));
    expect(posts(calls, "/api/v1/console/plans/import")).toHaveLength(1);
    expect(page().get('[data-testid="plan-import-error"]').text()).toContain("不是计划数组");

    refuse = false;
    await choose(file());
    await vi.waitFor(() => expect(page().findAll('[data-testid="plan-row"]').map((r) => r.attributes("data-plan-id"))).toEqual(["P-5", "P-6"]));
    expect(page().find('[data-testid="plan-import-error"]').exists()).toBe(false);
  });

  it("deletes a draft after a confirmation", async () => {
    const { calls } = await start({
      [PLANS]: { body: { plans: [planView("P-3"), planView("P-4")] } },
      "DELETE /api/v1/console/plans/P-3": { status: 204 },
    });
    await rowOf("P-3").get('[data-testid="plan-delete"]').trigger("click");
    await flushPromises();
    await click("delete-dialog-confirm");
    expect(posts(calls, "/api/v1/console/plans/P-3").map((c) => c.method)).toEqual(["DELETE"]);
    await vi.waitFor(() => expect(page().findAll('[data-testid="plan-row"]').map((r) => r.attributes("data-plan-id"))).toEqual(["P-4"]));
  });
});
