// @vitest-environment happy-dom
import { type DOMWrapper, flushPromises, mount } from "@vue/test-utils";
import { ElMessage } from "element-plus";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createMemoryHistory } from "vue-router";
import App from "../App.vue";
import { consoleProvides } from "../context";
import { createConsoleRouter } from "../router";
import { type FakeAnswer, session, testConsole, EMPTY_DASHBOARD } from "../testing/fixtures";

const IMPORT = "POST /api/v1/console/import";

async function start(path: string, role: "supervisor" | "admin", routes: Record<string, FakeAnswer> = {}) {
  const { context, calls } = testConsole({ "GET /api/v1/console/dashboard": { body: EMPTY_DASHBOARD }, ...routes });
  context.session.value = session({ role });
  const router = createConsoleRouter(context, createMemoryHistory());
  await router.push(path);
  const wrapper = mount(App, { global: { plugins: [router], provide: consoleProvides(context), stubs: { EChart: true } }, attachTo: document.body });
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

const messages = () => [...document.body.querySelectorAll(".el-message")].map((m) => m.textContent?.trim() ?? "");
const imports = (calls: Awaited<ReturnType<typeof start>>["calls"]) => calls.filter((c) => c.method === "POST");

/** Chooses `file` in the native file input, as a browser does. */
async function choose(input: Omit<DOMWrapper<Element>, "exists">, file: File): Promise<void> {
  Object.defineProperty(input.element, "files", { value: [file], configurable: true });
  await input.trigger("change");
  await flushPromises();
}

const SUBJECTS_CSV = "uscc,name,address,industry,risk_class,lat,lon,legal_rep\n92330106MA27XXXXX1,西湖区鲜味餐馆,文三路 1 号,CY,B,30.27,120.13,王五\n";
const bytesOf = (text: string) => [...new TextEncoder().encode(text)];
const selectedKind = (wrapper: Awaited<ReturnType<typeof start>>["wrapper"]) =>
  wrapper.get('[data-testid="import-kind"]').text();
const submitDisabled = (wrapper: Awaited<ReturnType<typeof start>>["wrapper"]) =>
  wrapper.get('[data-testid="import-submit"]').attributes("disabled") !== undefined;

describe("ImportView", () => {
  it("is linked for an administrator, and hidden from a supervisor, who is sent to the dashboard", async () => {
    const admin = await start("/", "admin");
    await admin.wrapper.get('[data-testid="nav-import"]').trigger("click");
    await vi.waitFor(() => expect(admin.router.currentRoute.value.name).toBe("import"));
    await vi.waitFor(() => expect(admin.wrapper.find('[data-testid="import-file"]').exists()).toBe(true));
    expect(admin.wrapper.get('[data-testid="nav-import"]').text()).toBe("目录导入");
    cleanup?.();
    document.body.innerHTML = "";

    const { wrapper, router, calls } = await start("/import", "supervisor");
    expect(router.currentRoute.value.name).toBe("dashboard");
    expect(wrapper.find('[data-testid="nav-tasks"]').exists()).toBe(true);
    expect(wrapper.find('[data-testid="nav-import"]').exists()).toBe(false);
    expect(wrapper.find('[data-testid="import-file"]').exists()).toBe(false);
    await router.push("/import");
    expect(router.currentRoute.value.name).toBe("dashboard");
    expect(imports(calls)).toEqual([]);
  });

  it("takes kind and format from the file name, sends the file's bytes as they are, and shows the counts", async () => {
    const { wrapper, calls, context } = await start("/import", "admin", {
      [IMPORT]: { body: { kinds: [{ kind: "subjects", added: 2, updated: 1, unchanged: 7 }] } },
    });
    const directoryLoads = () => calls.filter((c) => c.method === "GET" && c.url.pathname.endsWith("/directory")).length;
    const loadsBefore = directoryLoads();
    expect(submitDisabled(wrapper)).toBe(true);
    expect(wrapper.get('[data-testid="import-file"]').attributes("accept")).toBe(".csv,.json");

    await choose(wrapper.get('[data-testid="import-file"]'), new File([SUBJECTS_CSV], "Subjects-2026.CSV"));
    expect(selectedKind(wrapper)).toContain("监管对象");
    expect(wrapper.get('[data-testid="import-format"]').text()).toBe("格式：CSV");
    expect(submitDisabled(wrapper)).toBe(false);

    await wrapper.get('[data-testid="import-submit"]').trigger("submit");
    await flushPromises();

    expect(imports(calls)).toHaveLength(1);
    const call = imports(calls)[0]!;
    expect(call.url.pathname).toBe("/api/v1/console/import");
    expect([...call.url.searchParams.entries()]).toEqual([
      ["kind", "subjects"],
      ["format", "csv"],
    ]);
    expect(call.headers["content-type"]).toBe("text/csv");
    expect(call.headers["x-csrf-token"]).toBe("csrf-token-1");
    expect(call.body).toBeNull();
    expect(call.bytes === null ? null : [...call.bytes]).toEqual(bytesOf(SUBJECTS_CSV));

    const rows = wrapper.findAll('[data-testid="import-result"]');
    expect(rows.map((r) => r.element.tagName)).toEqual(["TR"]);
    expect(rows.map((r) => r.attributes("data-kind"))).toEqual(["subjects"]);
    expect(rows[0]?.findAll("td").map((td) => td.text())).toEqual(["监管对象", "2", "1", "7"]);
    expect(messages()).toContain("已导入“监管对象”目录");
    expect(wrapper.find('[data-testid="import-refusal"]').exists()).toBe(false);
    // The other pages get the changed directory.
    await vi.waitFor(() => expect(directoryLoads()).toBe(loadsBefore + 1));
    await vi.waitFor(() => expect(context.directory.value?.departments).toHaveLength(2));
  });

  it("sends a JSON file as application/json under the kind chosen in the select", async () => {
    const json = '[{"code":"SCJG","name":"市场监管","name_en":"Market Regulation"}]';
    const { wrapper, calls } = await start("/import", "admin", {
      [IMPORT]: { body: { kinds: [{ kind: "departments", added: 0, updated: 0, unchanged: 1 }] } },
    });
    // A name that is no kind: nothing is guessed, the kind must be chosen.
    await choose(wrapper.get('[data-testid="import-file"]'), new File([json], "2026年名录.json"));
    expect(selectedKind(wrapper)).not.toContain("部门");
    await wrapper.get('[data-testid="import-submit"]').trigger("submit");
    await flushPromises();
    expect(imports(calls)).toEqual([]);
    expect(wrapper.get('[data-testid="import-file-error"]').text()).toBe("请选择目录类别。");

    await wrapper.get('[data-testid="import-kind"] .el-select__wrapper').trigger("click");
    await flushPromises();
    const option = document.body.querySelector<HTMLElement>('li[data-kind="departments"]');
    expect(option?.textContent?.trim()).toBe("部门");
    option?.click();
    await flushPromises();
    expect(selectedKind(wrapper)).toContain("部门");
    expect(wrapper.find('[data-testid="import-file-error"]').exists()).toBe(false);

    await wrapper.get('[data-testid="import-submit"]').trigger("submit");
    await flushPromises();
    expect(imports(calls)).toHaveLength(1);
    const call = imports(calls)[0]!;
    expect(call.url.searchParams.get("kind")).toBe("departments");
    expect(call.url.searchParams.get("format")).toBe("json");
    expect(call.headers["content-type"]).toBe("application/json");
    expect(call.bytes === null ? null : [...call.bytes]).toEqual(bytesOf(json));
    expect(wrapper.get('[data-kind="departments"][data-testid="import-result"]').findAll("td").map((td) => td.text())).toEqual([
      "部门",
      "0",
      "0",
      "1",
    ]);
  });

  it("refuses other extensions in the page, without a request", async () => {
    const { wrapper, calls } = await start("/import", "admin", { [IMPORT]: { body: { kinds: [] } } });
    await choose(wrapper.get('[data-testid="import-file"]'), new File(["a;b"], "subjects.xlsx"));
    expect(wrapper.get('[data-testid="import-file-error"]').text()).toBe("只能导入 .csv 或 .json 文件（subjects.xlsx）。");
    expect(submitDisabled(wrapper)).toBe(true);
    await wrapper.get('[data-testid="import-submit"]').trigger("submit");
    await flushPromises();
    expect(imports(calls)).toEqual([]);
  });

  it("lists every problem of a refused file by CSV line or JSON index, and says nothing was imported", async () => {
    const refusal = {
      code: "console.import_invalid",
      message: "导入文件有 3 处问题，未导入任何数据 (3 problems: nothing was imported)",
      count: 3,
      problems: [
        { line: 3, index: null, message: "统一社会信用代码格式不正确 (bad USCC)" },
        { line: 7, index: null, message: "行业 “XX” 不存在 (no industry 'XX')" },
        { line: null, index: 4, message: "缺少字段 name (missing field name)" },
      ],
    };
    const { wrapper, calls } = await start("/import", "admin", { [IMPORT]: { status: 422, body: refusal } });
    await choose(wrapper.get('[data-testid="import-file"]'), new File([SUBJECTS_CSV], "subjects.csv"));
    await wrapper.get('[data-testid="import-submit"]').trigger("submit");
    await flushPromises();

    expect(imports(calls)).toHaveLength(1);
    const alert = wrapper.get('[data-testid="import-refusal"]').text();
    // The page's own words in the page's language, not the server's bilingual sentence.
    expect(alert).toContain("文件未导入");
    expect(alert).not.toContain(refusal.message);
    expect(alert).toContain("共 3 处问题");
    expect(alert).toContain("未导入任何数据");
    const rows = wrapper.findAll('[data-testid="import-problem"]');
    expect(rows.map((r) => r.element.tagName)).toEqual(["TR", "TR", "TR"]);
    expect(rows.map((r) => r.attributes("data-line"))).toEqual(["3", "7", ""]);
    expect(rows.map((r) => r.attributes("data-index"))).toEqual(["", "", "4"]);
    expect(rows.map((r) => r.findAll("td").map((td) => td.text()))).toEqual([
      ["第 3 行", "统一社会信用代码格式不正确 (bad USCC)"],
      ["第 7 行", "行业 “XX” 不存在 (no industry 'XX')"],
      ["第 4 项（从 0 起）", "缺少字段 name (missing field name)"],
    ]);
    expect(wrapper.find('[data-testid="import-result"]').exists()).toBe(false);
    expect(messages().some((m) => m.startsWith("已导入"))).toBe(false);
  });

  it("says when only the first problems are listed", async () => {
    const { wrapper } = await start("/import", "admin", {
      [IMPORT]: {
        status: 422,
        body: { code: "console.import_invalid", message: "有问题", count: 250, problems: [{ line: 2, index: null, message: "x" }] },
      },
    });
    await choose(wrapper.get('[data-testid="import-file"]'), new File(["a"], "items.csv"));
    await wrapper.get('[data-testid="import-submit"]').trigger("submit");
    await flushPromises();
    expect(wrapper.get('[data-testid="import-refusal"]').text()).toContain("共 250 处问题（仅列出前 1 处）");
  });

  it("shows the server's message for any other refusal", async () => {
    const { wrapper } = await start("/import", "admin", {
      [IMPORT]: {
        status: 400,
        body: { code: "console.bad_query", message: "文件不是 UTF-8 编码 (the file is not UTF-8)" },
      },
    });
    await choose(wrapper.get('[data-testid="import-file"]'), new File(["a"], "teams.csv"));
    await wrapper.get('[data-testid="import-submit"]').trigger("submit");
    await flushPromises();
    expect(wrapper.get('[data-testid="import-error"]').text()).toContain("文件不是 UTF-8 编码 (the file is not UTF-8)");
    expect(wrapper.find('[data-testid="import-refusal"]').exists()).toBe(false);
    expect(wrapper.find('[data-testid="import-problem"]').exists()).toBe(false);
  });

  it("lists each kind's CSV header", async () => {
    const { wrapper } = await start("/import", "admin");
    const header = (kind: string) => wrapper.get(`dd[data-help-kind="${kind}"]`).text();
    expect(header("departments")).toBe("code,name,name_en");
    expect(header("teams")).toBe("id,name,kind,departments");
    expect(header("subjects")).toBe("uscc,name,address,industry,risk_class,lat,lon,legal_rep");
    expect(wrapper.get('dt[data-help-kind="handbooks"]').text()).toContain("一业一册");
  });
});
