// @vitest-environment happy-dom
import { DOMWrapper, flushPromises, mount } from "@vue/test-utils";
import { ElMessage } from "element-plus";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createMemoryHistory } from "vue-router";
import App from "../App.vue";
import type { ConflictRow, DrawPreview, DrawRequest, DrawTask } from "../api/types";
import { consoleProvides } from "../context";
import { createConsoleRouter } from "../router";
import {
  EMPTY_DASHBOARD,
  type FakeAnswer,
  type FakeCall,
  NOW,
  drawPreview,
  drawSummary,
  planSpec,
  planView,
  testConsole,
} from "../testing/fixtures";

const JOINT = "92330106MA27XXXXX1";
const entropy = { values: ["03 08 15 21 27 33 + 09"], entered_by: "S-3", entered_at: NOW };
const PLANS = {
  plans: [
    planView("P-1", { state: "fixed", entropy, spec: planSpec({ name: "餐饮联合抽查" }) }),
    planView("P-2", { state: "fixed", entropy, spec: planSpec({ name: "食品经营专项", departments: ["SCJG"], lead_department: "SCJG" }) }),
    planView("P-4", { state: "fixed", spec: planSpec({ name: "消防季度抽查" }) }),
    planView("P-5", { spec: planSpec({ name: "草稿" }) }),
    planView("P-0", { state: "drawn", entropy, draw: "D-0" }),
  ],
};

/** The preview the server would make for `request`: the joint visit splits into one per plan when undone. */
function previewOf(request: DrawRequest): DrawPreview {
  const base = drawPreview();
  if (!request.split.includes(JOINT)) return base;
  const [joint, ...rest] = base.tasks as [DrawTask, ...DrawTask[]];
  const alone: DrawTask[] = [
    { ...joint, plans: ["P-1"] },
    { ...joint, plans: ["P-2"], departments: ["SCJG"], items: ["SCJG-CY-003"] },
  ];
  return { ...base, tasks: [...alone, ...rest], visits: 3, split: request.split, plans: base.plans.map((p) => ({ ...p, saved_visits: 0 })) };
}

async function start(routes: Record<string, FakeAnswer> = {}, path = "/draws") {
  const { context, calls } = testConsole({
    "GET /api/v1/console/dashboard": { body: EMPTY_DASHBOARD },
    "GET /api/v1/console/plans": { body: PLANS },
    "GET /api/v1/console/draws": { body: { draws: [] } },
    "GET /api/v1/console/conflicts": { body: { conflicts: [] } },
    "POST /api/v1/console/draws/preview": (call) => ({ body: previewOf(call.body as DrawRequest) }),
    ...routes,
  });
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
});

const page = () => new DOMWrapper(document.body);
const previews = (calls: FakeCall[]) => calls.filter((c) => c.method === "POST" && c.url.pathname === "/api/v1/console/draws/preview");
const commits = (calls: FakeCall[]) => calls.filter((c) => c.method === "POST" && c.url.pathname === "/api/v1/console/draws");
const taskRows = () => page().findAll('[data-testid="draw-task"]');

async function click(css: string): Promise<void> {
  await page().get(css).trigger("click");
  await flushPromises();
}
async function pickAndPreview(...ids: string[]): Promise<void> {
  for (const id of ids) await page().get(`[data-testid="draw-plan"][data-plan-id="${id}"] input`).setValue(true);
  await flushPromises();
  await click('[data-testid="draw-preview"]');
  await vi.waitFor(() => expect(page().find('[data-testid="draw-result"]').exists()).toBe(true));
}

describe("DrawsView", () => {
  it("offers the fixed plans that have their entropy, and says why the others cannot be drawn", async () => {
    const { wrapper, router } = await start({}, "/");
    expect(wrapper.get('[data-testid="nav-draws"]').text()).toBe("随机抽取");
    await wrapper.get('[data-testid="nav-draws"]').trigger("click");
    await vi.waitFor(() => expect(router.currentRoute.value.name).toBe("draws"));
    await vi.waitFor(() => expect(page().findAll('[data-testid="draw-plan"]')).toHaveLength(3));

    const offered = page().findAll('[data-testid="draw-plan"]');
    expect(offered.map((p) => [p.attributes("data-plan-id"), p.attributes("data-ready")])).toEqual([
      ["P-1", "true"],
      ["P-2", "true"],
      ["P-4", "false"],
    ]);
    expect(page().get('[data-plan-id="P-4"] input').attributes("disabled")).toBeDefined();
    expect(page().get('[data-testid="draw-plan-reason"]').text()).toContain("尚未录入随机数");
    expect(page().get('[data-testid="draw-drafts"]').text()).toContain("另有 1 个草稿计划须先锁定");
    expect(page().get('[data-testid="draw-preview"]').attributes("disabled")).toBeDefined();
  });

  it("previews: per-plan pools and quotas, left-out subjects, and a joint visit with its plans", async () => {
    const { calls } = await start();
    await pickAndPreview("P-1", "P-2");

    expect(previews(calls)).toHaveLength(1);
    expect(previews(calls)[0]?.body).toEqual({ plans: ["P-1", "P-2"], split: [] });
    expect(previews(calls)[0]?.headers["x-csrf-token"]).toBe("csrf-token-1");

    const card = page().get('[data-testid="draw-plan-card"][data-plan-id="P-1"]');
    expect(card.findAll('[data-testid="pool-size"]').map((c) => c.text())).toEqual(["4", "12", "30", "6"]);
    expect(card.findAll('[data-testid="pool-quota"]').map((c) => c.text())).toEqual(["1", "1", "3", "6"]);
    expect(card.get('[data-testid="draw-excluded"]').attributes("data-count")).toBe("2");
    expect(card.get('[data-testid="draw-excluded"] summary').text()).toBe("已达年度检查上限，未纳入抽取：2 户");
    expect(card.findAll('[data-testid="draw-excluded-row"]').map((r) => r.attributes("data-uscc"))).toEqual([
      "91330106MA2AAAAA11",
      "91330106MA2BBBBB22",
    ]);
    expect(card.get('[data-testid="draw-seed"]').text()).toBe("5e".repeat(32));
    const other = page().get('[data-testid="draw-plan-card"][data-plan-id="P-2"]');
    expect(other.get('[data-testid="draw-saved"]').text()).toBe("联合检查减少入企 1 次");
    expect(page().get('[data-testid="draw-summary"]').text()).toBe("共抽中 4 户次，需入企 2 次，其中联合检查 1 次，减少入企 1 次。");

    await vi.waitFor(() => expect(taskRows()).toHaveLength(2));
    const joint = page().get(`[data-testid="draw-task"][data-uscc="${JOINT}"]`);
    expect(joint.attributes("data-joint")).toBe("true");
    expect(joint.get('[data-testid="draw-task-joint"]').text()).toBe("联合");
    expect(joint.get('[data-testid="draw-task-plans"]').text()).toBe("餐饮联合抽查、食品经营专项");
    expect(joint.text()).toContain("东山镇综合执法队");
    expect(joint.text()).toContain("张伟、李娜");
    expect(joint.text()).toContain("2026-12-07 – 2027-01-06");
    const single = page().get('[data-testid="draw-task"][data-uscc="91330106MA28YYYYY2"]');
    expect(single.attributes("data-joint")).toBe("false");
    expect(single.find('[data-testid="draw-split"]').exists()).toBe(false);

    const unstaffed = page().get('[data-testid="draw-unstaffed-row"]');
    expect(unstaffed.attributes("data-uscc")).toBe("91330106MA2CCCCC33");
    expect(unstaffed.text()).toContain("符合条件的执法人员 1/2");
  });

  it("undoes a merge with a new preview whose split names the subject, and merges it again", async () => {
    const { calls } = await start();
    await pickAndPreview("P-1", "P-2");
    await vi.waitFor(() => expect(taskRows()).toHaveLength(2));

    await click(`[data-testid="draw-task"][data-uscc="${JOINT}"] [data-testid="draw-split"]`);
    expect(previews(calls)).toHaveLength(2);
    expect(previews(calls)[1]?.body).toEqual({ plans: ["P-1", "P-2"], split: [JOINT] });
    await vi.waitFor(() => expect(taskRows()).toHaveLength(3));
    expect(taskRows().map((r) => r.attributes("data-joint"))).toEqual(["false", "false", "false"]);
    expect(page().get('[data-testid="draw-split-item"]').attributes("data-uscc")).toBe(JOINT);
    expect(page().findAll('[data-testid="draw-merge"]')).toHaveLength(2);

    await click('[data-testid="draw-merge"]');
    expect(previews(calls)[2]?.body).toEqual({ plans: ["P-1", "P-2"], split: [] });
    await vi.waitFor(() => expect(taskRows()).toHaveLength(2));
    expect(page().find('[data-testid="draw-split-list"]').exists()).toBe(false);
  });

  it("commits exactly what was previewed, after a confirmation, and links the public page, record and pools", async () => {
    let draws: ReturnType<typeof drawSummary>[] = [];
    const { calls } = await start({
      "POST /api/v1/console/draws": () => {
        draws = [drawSummary("D-7")];
        return { status: 201, body: draws[0] };
      },
      "GET /api/v1/console/draws": () => ({ body: { draws } }),
    });
    await pickAndPreview("P-1", "P-2");
    await click(`[data-testid="draw-task"][data-uscc="${JOINT}"] [data-testid="draw-split"]`);
    await vi.waitFor(() => expect(taskRows()).toHaveLength(3));

    await click('[data-testid="draw-commit"]');
    expect(commits(calls)).toEqual([]);
    expect(page().get('[data-testid="commit-dialog"]').text()).toContain("将按预览为 2 个计划创建 3 项检查任务");
    await click('[data-testid="commit-dialog-confirm"]');

    expect(commits(calls)).toHaveLength(1);
    expect(commits(calls)[0]?.body).toEqual({ plans: ["P-1", "P-2"], split: [JOINT] });
    const done = page().get('[data-testid="draw-done"]');
    expect(done.attributes("data-draw-id")).toBe("D-7");
    expect(done.get('[data-testid="draw-public-link"]').attributes("href")).toBe("/public/draws/D-7");
    expect(done.get('[data-testid="draw-record-link"]').attributes("href")).toBe("/api/v1/public/draws/D-7/record.json");
    expect(done.get('[data-testid="draw-pools-link"]').attributes("href")).toBe("/api/v1/console/draws/D-7/pools");
    expect(page().find('[data-testid="draw-result"]').exists()).toBe(false);

    // The list of committed draws has it, with the same links; the plans are asked for again.
    await vi.waitFor(() => expect(page().findAll('[data-testid="draws-row"]').map((r) => r.attributes("data-draw-id"))).toEqual(["D-7"]));
    const row = page().get('[data-testid="draws-row"][data-draw-id="D-7"]');
    expect(row.get('[data-testid="draws-public-link"]').attributes("href")).toBe("/public/draws/D-7");
    expect(row.text()).toContain("餐饮联合抽查、食品经营专项");
    expect(calls.filter((c) => c.method === "GET" && c.url.pathname === "/api/v1/console/plans")).toHaveLength(2);
  });

  it("says why a preview was refused (409 console.state)", async () => {
    const message = "计划 P-1 须已锁定、已录入随机数且尚未抽取 (plan P-1 must be fixed, have its entropy, and not be drawn yet)";
    await start({ "POST /api/v1/console/draws/preview": { status: 409, body: { code: "console.state", message } } });
    await page().get('[data-testid="draw-plan"][data-plan-id="P-1"] input').setValue(true);
    await click('[data-testid="draw-preview"]');
    const error = page().get('[data-testid="draw-error"]').text();
    expect(error).toContain("所选计划须已锁定、已录入随机数且尚未抽取");
    expect(error).toContain(message);
    expect(page().find('[data-testid="draw-result"]').exists()).toBe(false);
  });
});

describe("ConflictsPanel", () => {
  const row: ConflictRow = { inspector: "I-002", uscc: "91330106MA28YYYYY2", reason: "配偶经营", declared_by: "S-1", declared_at: NOW };

  it("declares a conflict and withdraws one through their endpoints", async () => {
    const { calls } = await start({
      "GET /api/v1/console/conflicts": { body: { conflicts: [row] } },
      "POST /api/v1/console/conflicts": (call) => ({ body: { ...(call.body as object), declared_by: "S-1", declared_at: NOW } }),
      "POST /api/v1/console/conflicts/delete": { status: 204 },
    });
    await vi.waitFor(() => expect(page().findAll('[data-testid="conflict-row"]')).toHaveLength(1));
    const first = page().get('[data-testid="conflict-row"]');
    expect([first.attributes("data-inspector"), first.attributes("data-uscc")]).toEqual(["I-002", "91330106MA28YYYYY2"]);
    expect(first.text()).toContain("李娜");
    expect(first.text()).toContain("配偶经营");

    // Nothing is sent without an inspector and a well-formed USCC.
    await click('[data-testid="conflict-add"]');
    expect(calls.filter((c) => c.url.pathname === "/api/v1/console/conflicts" && c.method === "POST")).toEqual([]);

    const select = page().get('[data-testid="conflict-inspector"]');
    await select.get(".el-select__wrapper").trigger("click");
    await flushPromises();
    const list = document.getElementById(select.get("input").attributes("aria-controls") ?? "");
    list?.querySelector<HTMLElement>('li[data-value="I-001"]')?.click();
    await flushPromises();
    await page().get('input[data-testid="conflict-uscc"]').setValue("92330106ma27xxxxx1");
    await page().get('input[data-testid="conflict-reason"]').setValue(" 亲属经营 ");
    await click('[data-testid="conflict-add"]');

    const declared = calls.filter((c) => c.url.pathname === "/api/v1/console/conflicts" && c.method === "POST");
    expect(declared).toHaveLength(1);
    expect(declared[0]?.body).toEqual({ inspector: "I-001", uscc: "92330106MA27XXXXX1", reason: "亲属经营" });
    expect(declared[0]?.headers["x-csrf-token"]).toBe("csrf-token-1");
    await vi.waitFor(() => expect(page().findAll('[data-testid="conflict-row"]')).toHaveLength(2));

    await click('[data-testid="conflict-row"][data-inspector="I-002"] [data-testid="conflict-withdraw"]');
    const withdrawn = calls.filter((c) => c.url.pathname === "/api/v1/console/conflicts/delete");
    expect(withdrawn).toHaveLength(1);
    expect(withdrawn[0]?.method).toBe("POST");
    expect(withdrawn[0]?.body).toEqual({ inspector: "I-002", uscc: "91330106MA28YYYYY2" });
    await vi.waitFor(() => expect(page().findAll('[data-testid="conflict-row"]').map((r) => r.attributes("data-inspector"))).toEqual(["I-001"]));
  });
});
