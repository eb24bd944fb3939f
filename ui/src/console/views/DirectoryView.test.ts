// @vitest-environment happy-dom
import { DOMWrapper, flushPromises, mount } from "@vue/test-utils";
import { ElMessage } from "element-plus";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createMemoryHistory } from "vue-router";
import App from "../App.vue";
import { consoleProvides } from "../context";
import { createConsoleRouter } from "../router";
import { type FakeAnswer, type FakeCall, catalog, catalogRoutes, session, testConsole, EMPTY_DASHBOARD } from "../testing/fixtures";

const IMPORT = "POST /api/v1/console/import";

async function start(path: string, role: "supervisor" | "admin", routes: Record<string, FakeAnswer> = {}) {
  const { context, calls } = testConsole({ "GET /api/v1/console/dashboard": { body: EMPTY_DASHBOARD }, ...catalogRoutes(), ...routes });
  context.session.value = session({ role });
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

type Wrapper = Awaited<ReturnType<typeof start>>["wrapper"];

/** The page and the dialog (which Element Plus puts at the end of <body>). */
const page = () => new DOMWrapper(document.body);
const posts = (calls: FakeCall[]) => calls.filter((c) => c.method === "POST");
const catalogCalls = (calls: FakeCall[], kind: string) =>
  calls.filter((c) => c.method === "GET" && c.url.pathname === `/api/v1/console/catalog/${kind}`);
const directoryLoads = (calls: FakeCall[]) => calls.filter((c) => c.method === "GET" && c.url.pathname === "/api/v1/console/directory").length;
/** The JSON a save sent (the importer's body, sent as a file). */
const sent = (call: FakeCall | undefined): unknown =>
  call === undefined || call.bytes === null ? undefined : JSON.parse(new TextDecoder().decode(call.bytes));
const messages = () => [...document.body.querySelectorAll(".el-message")].map((m) => m.textContent?.trim() ?? "");

const rows = (wrapper: Wrapper) => wrapper.findAll('[data-testid="directory-row"]');
const keys = (wrapper: Wrapper) => rows(wrapper).map((r) => r.attributes("data-key"));
/** A row's cells, without the last (its edit button). */
const cells = (wrapper: Wrapper, key: string) =>
  wrapper
    .get(`[data-testid="directory-row"][data-key="${key}"]`)
    .findAll("td")
    .map((td) => td.text())
    .slice(0, -1);

async function openTab(wrapper: Wrapper, kind: string, count: number): Promise<void> {
  await wrapper.get(`#tab-${kind}`).trigger("click");
  await vi.waitFor(() => expect(rows(wrapper)).toHaveLength(count));
}

const field = (name: string) => page().get(`[data-testid="directory-field-${name}"]`);
/** The dialog is there and its overlay not hidden (Element Plus keeps a closed dialog, hidden). */
function dialogShown(): boolean {
  const overlay = document.body.querySelector('[data-testid="directory-dialog"]')?.closest<HTMLElement>(".el-overlay");
  return overlay !== null && overlay !== undefined && overlay.style.display !== "none";
}
/** The messages under the dialog's fields (Element Plus shows them a moment after they are set). */
const fieldErrors = () =>
  [...document.body.querySelectorAll('[data-testid="directory-dialog"] .el-form-item__error')].map((e) => e.textContent?.trim() ?? "");

async function type(name: string, text: string): Promise<void> {
  await field(name).setValue(text);
  await flushPromises();
}

/** Types into a number field (its test id is on its root) and leaves it, as a browser does. */
async function typeNumber(name: string, text: string): Promise<void> {
  const input = field(name).get("input");
  await input.setValue(text);
  await input.trigger("change");
  await flushPromises();
}

/** Opens a select of the dialog and clicks the option of `value` (a second click on a multiple select's option takes it away). */
async function choose(name: string, value: string): Promise<void> {
  const select = field(name);
  await select.get(".el-select__wrapper").trigger("click");
  await flushPromises();
  const list = document.getElementById(select.get("input").attributes("aria-controls") ?? "");
  const option = list?.querySelector<HTMLElement>(`li[data-value="${value}"]`);
  expect(option, `${name}: ${value}`).toBeTruthy();
  option?.click();
  await flushPromises();
}

async function save(): Promise<void> {
  await page().get('[data-testid="directory-save"]').trigger("click");
  await flushPromises();
}

describe("DirectoryView", () => {
  it("is linked for an administrator, and hidden from a supervisor, who is sent to the dashboard", async () => {
    const admin = await start("/", "admin");
    expect(admin.wrapper.get('[data-testid="nav-directory"]').text()).toBe("目录管理");
    await admin.wrapper.get('[data-testid="nav-directory"]').trigger("click");
    await vi.waitFor(() => expect(admin.router.currentRoute.value.name).toBe("directory"));
    await vi.waitFor(() => expect(rows(admin.wrapper)).toHaveLength(2));
    cleanup?.();
    document.body.innerHTML = "";

    const { wrapper, router, calls } = await start("/directory", "supervisor");
    expect(router.currentRoute.value.name).toBe("dashboard");
    expect(wrapper.find('[data-testid="nav-directory"]').exists()).toBe(false);
    expect(wrapper.find('[data-testid="directory-tabs"]').exists()).toBe(false);
    expect(calls.filter((c) => c.url.pathname.includes("/catalog/"))).toEqual([]);
  });

  it("lists each tab's rows from the catalog, with the names of what they refer to", async () => {
    const { wrapper, calls } = await start("/directory", "admin");
    const panes = wrapper.findAll('[data-testid^="directory-tab-"]');
    expect(panes.map((p) => p.attributes("data-testid"))).toEqual([
      "directory-tab-departments",
      "directory-tab-industries",
      "directory-tab-teams",
      "directory-tab-inspectors",
      "directory-tab-subjects",
      "directory-tab-items",
      "directory-tab-handbooks",
    ]);
    expect(wrapper.findAll('[data-testid="directory-tabs"] .el-tabs__item').map((tab) => tab.text())).toEqual([
      "部门",
      "行业",
      "队伍",
      "执法人员",
      "监管对象",
      "监管事项",
      "一业一册",
    ]);

    await vi.waitFor(() => expect(keys(wrapper)).toEqual(["SCJG", "XFJY"]));
    expect(rows(wrapper).map((r) => r.element.tagName)).toEqual(["TR", "TR"]);
    expect(cells(wrapper, "XFJY")).toEqual(["XFJY", "消防救援", "Fire and Rescue"]);
    expect(wrapper.get('[data-testid="directory-total"]').text()).toBe("共 2 条");
    expect(catalogCalls(calls, "departments")[0]?.url.search).toBe("?limit=200");
    expect(wrapper.findAll('[data-testid="directory-edit"]')).toHaveLength(2);

    await openTab(wrapper, "teams", 2);
    expect(cells(wrapper, "T-DS-01")).toEqual(["T-DS-01", "东山镇综合执法队", "乡镇综合执法队", "市场监管、消防救援"]);
    expect(cells(wrapper, "T-XS-02")).toEqual(["T-XS-02", "西山镇综合执法队", "县级联合检查组", "市场监管"]);

    await openTab(wrapper, "inspectors", 4);
    expect(keys(wrapper)).toEqual(["I-001", "I-002", "I-003", "I-004"]);
    expect(cells(wrapper, "I-002")).toEqual(["I-002", "李娜", "33010620002", "消防救援", "东山镇综合执法队"]);

    await openTab(wrapper, "subjects", 2);
    expect(cells(wrapper, "91330106MA28YYYYY2")).toEqual(["91330106MA28YYYYY2", "东山便利店", "D", "零售", "东山镇中街 8 号"]);

    await openTab(wrapper, "items", 3);
    const basis = cells(wrapper, "SCJG-CY-001")[3] ?? "";
    expect(cells(wrapper, "SCJG-CY-001").slice(0, 3)).toEqual(["SCJG-CY-001", "市场监管", "食品经营许可证在有效期内"]);
    expect([...basis]).toHaveLength(40);
    expect(basis.endsWith("…")).toBe(true);
    expect(cells(wrapper, "XFJY-01")[3]).toBe("《消防法》第二十八条");

    await openTab(wrapper, "handbooks", 1);
    expect(cells(wrapper, "CY")).toEqual(["CY", "餐饮服务", "市场监管", "3 项"]);
    expect(wrapper.get('[data-testid="directory-total"]').text()).toBe("共 1 条");

    // Back to a tab seen before: its rows are still there, not asked for again.
    await openTab(wrapper, "departments", 2);
    expect(catalogCalls(calls, "departments").filter((c) => c.url.searchParams.get("limit") === "200")).toHaveLength(1);
  });

  it("says when only the first rows are shown", async () => {
    const { wrapper } = await start("/directory", "admin", {
      "GET /api/v1/console/catalog/inspectors": { body: { total: 250, list: { kind: "inspectors", rows: catalog().inspectors } } },
    });
    await openTab(wrapper, "inspectors", 4);
    expect(wrapper.get('[data-testid="directory-total"]').text()).toBe("共 250 条，仅显示前 4 条，请用搜索缩小范围");
  });

  it("searches with q after a pause, and at once on Enter", async () => {
    const { wrapper, calls } = await start("/directory", "admin");
    await openTab(wrapper, "subjects", 2);
    const search = wrapper.get('input[data-testid="directory-search"]');
    expect(search.attributes("placeholder")).toBe("按名称、统一社会信用代码或地址搜索");

    await search.setValue("便利");
    expect(catalogCalls(calls, "subjects")).toHaveLength(1);
    await vi.waitFor(() => expect(keys(wrapper)).toEqual(["91330106MA28YYYYY2"]));
    expect(catalogCalls(calls, "subjects").at(-1)?.url.search).toBe(`?q=${encodeURIComponent("便利")}&limit=200`);
    expect(wrapper.get('[data-testid="directory-total"]').text()).toBe("共 1 条");

    await search.setValue("  92330106  ");
    await search.trigger("keyup", { key: "Enter" });
    await flushPromises();
    expect(catalogCalls(calls, "subjects").at(-1)?.url.searchParams.get("q")).toBe("92330106");
    expect(keys(wrapper)).toEqual(["92330106MA27XXXXX1"]);
  });

  it("edits an inspector: the form shows the entry, the key stays, the save sends exactly the entry and reloads", async () => {
    const { wrapper, calls, context } = await start("/directory", "admin", {
      [IMPORT]: { body: { kinds: [{ kind: "inspectors", added: 0, updated: 1, unchanged: 0 }] } },
    });
    await openTab(wrapper, "inspectors", 4);
    await wrapper.get('[data-key="I-002"] [data-testid="directory-edit"]').trigger("click");
    await flushPromises();

    expect(dialogShown()).toBe(true);
    expect(page().get('[data-testid="directory-dialog"] .el-dialog__title').text()).toBe("编辑执法人员：I-002");
    expect((field("id").element as HTMLInputElement).value).toBe("I-002");
    expect(field("id").attributes("readonly")).toBeDefined();
    expect((field("name").element as HTMLInputElement).value).toBe("李娜");
    expect(field("name").attributes("readonly")).toBeUndefined();
    expect((field("badge_no").element as HTMLInputElement).value).toBe("33010620002");
    expect(field("department").text()).toBe("消防救援");
    expect(field("team").text()).toBe("东山镇综合执法队");

    await type("name", "  李娜娜 ");
    await type("badge_no", "33010620099");
    await choose("team", "T-XS-02");
    expect(field("team").text()).toBe("西山镇综合执法队");
    const inspectorLoads = catalogCalls(calls, "inspectors").length;
    const directoryBefore = directoryLoads(calls);
    await save();

    expect(posts(calls)).toHaveLength(1);
    const post = posts(calls)[0];
    expect(post?.url.pathname).toBe("/api/v1/console/import");
    expect([...(post?.url.searchParams.entries() ?? [])]).toEqual([
      ["kind", "inspectors"],
      ["format", "json"],
    ]);
    expect(post?.headers["content-type"]).toBe("application/json");
    expect(post?.headers["x-csrf-token"]).toBe("csrf-token-1");
    expect(sent(post)).toEqual([{ id: "I-002", name: "李娜娜", badge_no: "33010620099", department: "XFJY", team: "T-XS-02" }]);

    await vi.waitFor(() => expect(dialogShown()).toBe(false));
    expect(messages()).toContain("已保存");
    expect(catalogCalls(calls, "inspectors")).toHaveLength(inspectorLoads + 1);
    // The other pages get the changed names.
    await vi.waitFor(() => expect(directoryLoads(calls)).toBe(directoryBefore + 1));
    await vi.waitFor(() => expect(context.directory.value).not.toBeNull());
  });

  it("shows a refusal's problems in the dialog and keeps it open with what was typed", async () => {
    const refusal = {
      code: "console.import_invalid",
      message: "导入文件有 2 处问题，未导入任何数据 (2 problems: nothing was imported)",
      count: 2,
      problems: [
        { line: null, index: 0, message: "执法队伍 “T-XX” 不存在 (no team 'T-XX')" },
        { line: null, index: 0, message: "执法证号重复 (the badge number is taken)" },
      ],
    };
    const { wrapper, calls } = await start("/directory", "admin", { [IMPORT]: { status: 422, body: refusal } });
    await openTab(wrapper, "inspectors", 4);
    await wrapper.get('[data-key="I-001"] [data-testid="directory-edit"]').trigger("click");
    await flushPromises();
    await type("badge_no", "33010620002");
    const inspectorLoads = catalogCalls(calls, "inspectors").length;
    await save();

    expect(posts(calls)).toHaveLength(1);
    expect(dialogShown()).toBe(true);
    const problems = page().get('[data-testid="directory-problems"]');
    expect(problems.findAll("li").map((li) => li.text())).toEqual([
      "执法队伍 “T-XX” 不存在 (no team 'T-XX')",
      "执法证号重复 (the badge number is taken)",
    ]);
    expect(page().get('[data-testid="directory-dialog"]').text()).toContain(refusal.message);
    expect(page().get('[data-testid="directory-dialog"]').text()).toContain("共 2 处问题，未保存");
    expect((field("badge_no").element as HTMLInputElement).value).toBe("33010620002");
    expect((field("name").element as HTMLInputElement).value).toBe("张伟");
    expect(messages()).not.toContain("已保存");
    expect(catalogCalls(calls, "inspectors")).toHaveLength(inspectorLoads);
  });

  it("shows any other failure in the dialog", async () => {
    const { wrapper } = await start("/directory", "admin", {
      [IMPORT]: { status: 403, body: { code: "console.forbidden", message: "只有管理员可以导入目录 (only an administrator may import)" } },
    });
    await openTab(wrapper, "departments", 2);
    await wrapper.get('[data-key="SCJG"] [data-testid="directory-edit"]').trigger("click");
    await flushPromises();
    await save();
    expect(dialogShown()).toBe(true);
    expect(page().get('[data-testid="directory-save-error"]').text()).toBe("只有管理员可以导入目录 (only an administrator may import)");
    expect(page().find('[data-testid="directory-problems"]').exists()).toBe(false);
  });

  it("checks required fields and a USCC in the page, without calling the server", async () => {
    const { wrapper, calls } = await start("/directory", "admin", { [IMPORT]: { body: { kinds: [] } } });
    await openTab(wrapper, "inspectors", 4);
    await wrapper.get('[data-testid="directory-add"]').trigger("click");
    await flushPromises();
    expect(page().get('[data-testid="directory-dialog"] .el-dialog__title').text()).toBe("新增执法人员");
    expect(field("id").attributes("readonly")).toBeUndefined();
    await type("id", "I-005");
    await type("badge_no", "33010620005");
    await choose("department", "SCJG");
    await choose("team", "T-DS-01");
    await save();
    expect(posts(calls).map(sent)).toEqual([]);
    await vi.waitFor(() => expect(fieldErrors()).toEqual(["姓名不能为空"]));
    expect(dialogShown()).toBe(true);

    // A name of spaces is no name either.
    await type("name", "   ");
    await save();
    expect(posts(calls).map(sent)).toEqual([]);
    await vi.waitFor(() => expect(fieldErrors()).toEqual(["姓名不能为空"]));

    cleanup?.();
    document.body.innerHTML = "";
    const second = await start("/directory", "admin", { [IMPORT]: { body: { kinds: [] } } });
    await openTab(second.wrapper, "subjects", 2);
    await second.wrapper.get('[data-testid="directory-add"]').trigger("click");
    await flushPromises();
    await type("uscc", "91330106ma28yyyyy");
    expect((field("uscc").element as HTMLInputElement).value).toBe("91330106MA28YYYYY");
    await type("name", "东山超市");
    await type("address", "东山镇中街 9 号");
    await type("legal_rep", "钱七");
    await choose("industry", "LS");
    await choose("risk_class", "C");
    await typeNumber("lat", "30.31");
    await typeNumber("lon", "120.21");
    await save();
    expect(posts(second.calls).map(sent)).toEqual([]);
    await vi.waitFor(() => expect(fieldErrors()).toEqual(["统一社会信用代码应为 18 位（现为 17 位）"]));

    await type("uscc", "91330106MA28YYYYI3");
    await save();
    expect(posts(second.calls).map(sent)).toEqual([]);
    await vi.waitFor(() => expect(fieldErrors()).toEqual(["统一社会信用代码只能由数字和除 I、O、S、V、Z 以外的大写字母组成"]));

    await type("uscc", "91330106ma28zzzzz3");
    await save();
    await vi.waitFor(() => expect(fieldErrors()).toEqual(["统一社会信用代码只能由数字和除 I、O、S、V、Z 以外的大写字母组成"]));
    await type("uscc", "91330106ma28yyyyy3");
    await save();
    await vi.waitFor(() => expect(fieldErrors()).toEqual([]));
    expect(sent(posts(second.calls)[0])).toEqual([
      {
        uscc: "91330106MA28YYYYY3",
        name: "东山超市",
        address: "东山镇中街 9 号",
        industry: "LS",
        risk_class: "C",
        location: { lat: 30.31, lon: 120.21 },
        legal_rep: "钱七",
      },
    ]);
  });

  it("does not add a handbook whose lead department is not among its departments", async () => {
    const { wrapper, calls } = await start("/directory", "admin", {
      [IMPORT]: { body: { kinds: [{ kind: "handbooks", added: 1, updated: 0, unchanged: 0 }] } },
    });
    await openTab(wrapper, "handbooks", 1);
    await wrapper.get('[data-testid="directory-add"]').trigger("click");
    await flushPromises();
    await choose("industry", "LS");
    await choose("departments", "SCJG");
    await choose("lead_department", "XFJY");
    await choose("items", "SCJG-CY-003");
    await save();
    expect(posts(calls).map(sent)).toEqual([]);
    await vi.waitFor(() => expect(fieldErrors()).toEqual(["牵头部门必须是涉及部门之一"]));

    // A handbook offers its departments' items only.
    const itemsList = document.getElementById(field("items").get("input").attributes("aria-controls") ?? "");
    expect([...(itemsList?.querySelectorAll("li[data-value]") ?? [])].map((li) => li.getAttribute("data-value"))).toEqual([
      "SCJG-CY-001",
      "SCJG-CY-003",
    ]);

    await choose("lead_department", "SCJG");
    await save();
    await vi.waitFor(() => expect(fieldErrors()).toEqual([]));
    expect(posts(calls)).toHaveLength(1);
    expect(posts(calls)[0]?.url.searchParams.get("kind")).toBe("handbooks");
    expect(sent(posts(calls)[0])).toEqual([
      { industry: "LS", departments: ["SCJG"], lead_department: "SCJG", items: ["SCJG-CY-003"] },
    ]);
    await vi.waitFor(() => expect(dialogShown()).toBe(false));
  });
});
