import { describe, expect, it, vi } from "vitest";
import { fakeFetch, session } from "../testing/fixtures";
import { ConsoleApi, ConsoleApiError, ImportRefusedError, NETWORK_ERROR } from "./http";
import { emptyFilter } from "../tasks/filter";
import { consoleRecord, planSpec } from "../testing/fixtures";

describe("ConsoleApi", () => {
  it("signs in, keeps the CSRF token and sends it with every request but GETs", async () => {
    const { fetch, calls } = fakeFetch({
      "POST /api/v1/console/login": { body: session() },
      "GET /api/v1/console/dashboard": { body: { year: 2026 } },
      "POST /api/v1/console/tasks/T-1/review": { body: consoleRecord() },
    });
    const api = new ConsoleApi({ fetch });

    const signedIn = await api.login("chen", "secret");
    expect(signedIn.user.name).toBe("陈主任");
    expect(calls[0]?.body).toEqual({ user: "chen", password: "secret" });
    expect(calls[0]?.headers["x-csrf-token"]).toBeUndefined();

    await api.dashboard();
    expect(calls[1]?.method).toBe("GET");
    expect(calls[1]?.headers["x-csrf-token"]).toBeUndefined();

    await api.review("T-1", "return", "照片不清楚");
    expect(calls[2]?.method).toBe("POST");
    expect(calls[2]?.headers["x-csrf-token"]).toBe("csrf-token-1");
    expect(calls[2]?.headers["content-type"]).toBe("application/json");
    expect(calls[2]?.body).toEqual({ action: "return", comment: "照片不清楚" });
  });

  it("sends cookies along (credentials same-origin)", async () => {
    const inner = fakeFetch({ "GET /api/v1/console/session": { body: session() } });
    const spy = vi.fn(inner.fetch);
    await new ConsoleApi({ fetch: spy }).session();
    expect(spy.mock.calls[0]?.[1]?.credentials).toBe("same-origin");
  });

  it("turns a {code, message} answer into a ConsoleApiError", async () => {
    const { fetch } = fakeFetch({
      "POST /api/v1/console/tasks/T-1/review": {
        status: 409,
        body: { code: "task.status_transition", message: "任务已审核通过 (already approved)" },
      },
    });
    const api = new ConsoleApi({ fetch });
    const error = await api.review("T-1", "approve", null).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConsoleApiError);
    expect(error).toMatchObject({ code: "task.status_transition", status: 409, message: "任务已审核通过 (already approved)" });
    expect((error as ConsoleApiError).sessionLost).toBe(false);
  });

  it("makes up a code for an error answer that is not JSON", async () => {
    const fetchHtml = (async () => new Response("<h1>Bad Gateway</h1>", { status: 502 })) as typeof fetch;
    const error = await new ConsoleApi({ fetch: fetchHtml }).dashboard().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "http.502", status: 502 });
  });

  it("reports a network failure with its own code", async () => {
    const fetchDown = (async () => {
      throw new TypeError("Failed to fetch");
    }) as typeof fetch;
    const error = await new ConsoleApi({ fetch: fetchDown }).dashboard().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: NETWORK_ERROR, status: 0 });
  });

  it("on a 401 without a session, calls onSessionLost and forgets the CSRF token", async () => {
    const { fetch } = fakeFetch({
      "POST /api/v1/console/login": { body: session() },
      "GET /api/v1/console/tasks/T-1": {
        status: 401,
        body: { code: "console.session_expired", message: "登录已过期 (session expired)" },
      },
      "POST /api/v1/console/tasks": { body: { id: "T-9", code: "JX-2026-000009" } },
    });
    const lost = vi.fn();
    const api = new ConsoleApi({ fetch, onSessionLost: lost });
    await api.login("chen", "secret");
    expect(api.csrf).toBe("csrf-token-1");

    const error = await api.record("T-1").catch((e: unknown) => e);
    expect((error as ConsoleApiError).sessionLost).toBe(true);
    expect(lost).toHaveBeenCalledTimes(1);
    expect(lost.mock.calls[0]?.[0]).toBe(error);
    expect(api.csrf).toBeNull();
  });

  it("does not treat a wrong password as a lost session", async () => {
    const { fetch } = fakeFetch({
      "POST /api/v1/console/login": { status: 401, body: { code: "console.bad_login", message: "用户名或密码不正确" } },
    });
    const lost = vi.fn();
    const error = await new ConsoleApi({ fetch, onSessionLost: lost }).login("chen", "wrong").catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "console.bad_login", status: 401 });
    expect(lost).not.toHaveBeenCalled();
  });

  it("answers null for a 204", async () => {
    const { fetch, calls } = fakeFetch({ "POST /api/v1/console/logout": { status: 204 } });
    const api = new ConsoleApi({ fetch });
    api.csrf = "t";
    await expect(api.logout()).resolves.toBeUndefined();
    expect(calls[0]?.headers["x-csrf-token"]).toBe("t");
    expect(api.csrf).toBeNull();
  });

  it("builds URLs under the configured base: list, export, blobs", async () => {
    const { fetch, calls } = fakeFetch({ "GET /api/v1/console/tasks": { body: { total: 0, page: 1, per_page: 50, rows: [] } } });
    const api = new ConsoleApi({ fetch, baseUrl: "http://127.0.0.1:7878/" });
    const filter = { ...emptyFilter(), status: ["submitted" as const], overdue: true, page: 3 };

    await api.tasks(filter);
    expect(calls[0]?.url.origin).toBe("http://127.0.0.1:7878");
    expect(calls[0]?.url.search).toBe("?status=submitted&overdue=true&page=3&per_page=50");

    expect(api.exportUrl(filter, "csv")).toBe(
      "http://127.0.0.1:7878/api/v1/console/tasks/export?status=submitted&overdue=true&format=csv",
    );
    expect(api.blobUrl("ab".repeat(32))).toBe(`http://127.0.0.1:7878/api/v1/console/blobs/${"ab".repeat(32)}`);
    expect(api.blobUrl("ab".repeat(32), "t 1")).toBe(
      `http://127.0.0.1:7878/api/v1/console/blobs/${"ab".repeat(32)}?task=t+1`,
    );
  });

  it("turns an inspector off with the CSRF token, and reports a refusal", async () => {
    const { fetch, calls } = fakeFetch({
      "POST /api/v1/console/inspectors/I-001/active": { status: 204 },
      "POST /api/v1/console/inspectors/I-404/active": {
        status: 404,
        body: { code: "console.not_found", message: "没有执法人员 I-404 (no inspector I-404)" },
      },
    });
    const api = new ConsoleApi({ fetch });
    api.csrf = "csrf-token-1";

    await expect(api.setInspectorActive("I-001", false)).resolves.toBeUndefined();
    expect(calls[0]?.method).toBe("POST");
    expect(calls[0]?.body).toEqual({ active: false });
    expect(calls[0]?.headers["x-csrf-token"]).toBe("csrf-token-1");

    const error = await api.setInspectorActive("I-404", true).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "console.not_found", status: 404 });
    expect(calls[1]?.body).toEqual({ active: true });
  });

  it("imports a directory file: its bytes as the body, its content type, kind and format in the query", async () => {
    const { fetch, calls } = fakeFetch({
      "POST /api/v1/console/import": { body: { kinds: [{ kind: "teams", added: 1, updated: 0, unchanged: 0 }] } },
    });
    const api = new ConsoleApi({ fetch });
    api.csrf = "csrf-token-1";
    const csv = "id,name,kind,departments\nT-1,东山镇,town,SCJG;XFJY\n";
    const answer = await api.importDirectory("teams", "csv", new Blob([csv]));
    expect(answer.kinds).toEqual([{ kind: "teams", added: 1, updated: 0, unchanged: 0 }]);
    expect(calls[0]?.method).toBe("POST");
    expect(calls[0]?.url.pathname).toBe("/api/v1/console/import");
    expect(calls[0]?.url.search).toBe("?kind=teams&format=csv");
    expect(calls[0]?.headers["content-type"]).toBe("text/csv");
    expect(calls[0]?.headers["x-csrf-token"]).toBe("csrf-token-1");
    expect([...(calls[0]?.bytes ?? [])]).toEqual([...new TextEncoder().encode(csv)]);

    await api.importDirectory("items", "json", new Blob(["[]"]));
    expect(calls[1]?.url.search).toBe("?kind=items&format=json");
    expect(calls[1]?.headers["content-type"]).toBe("application/json");
  });

  it("throws an ImportRefusedError with the problems of a refused import, a plain error otherwise", async () => {
    const refusal = {
      code: "console.import_invalid",
      message: "2 处问题 (2 problems)",
      count: 2,
      problems: [
        { line: 4, index: null, message: "bad" },
        { line: null, index: 0, message: "worse" },
      ],
    };
    const { fetch } = fakeFetch({ "POST /api/v1/console/import": { status: 422, body: refusal } });
    const error = await new ConsoleApi({ fetch }).importDirectory("subjects", "csv", new Blob(["x"])).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ImportRefusedError);
    expect((error as ImportRefusedError).refusal).toEqual(refusal);
    expect((error as ImportRefusedError).status).toBe(422);

    const other = fakeFetch({
      "POST /api/v1/console/import": { status: 413, body: { code: "http.too_large", message: "too large" } },
    });
    const tooLarge = await new ConsoleApi({ fetch: other.fetch }).importDirectory("subjects", "csv", new Blob(["x"])).catch((e: unknown) => e);
    expect(tooLarge).toBeInstanceOf(ConsoleApiError);
    expect(tooLarge).not.toBeInstanceOf(ImportRefusedError);
    expect((tooLarge as ConsoleApiError).code).toBe("http.too_large");
  });

  it("lists a directory: GET /catalog/{kind} with q and limit, and answers the page", async () => {
    const page = {
      total: 7,
      list: { kind: "inspectors", rows: [{ id: "I-001", name: "张伟", badge_no: "33010620001", department: "SCJG", team: "T-DS-01" }] },
    };
    const { fetch, calls } = fakeFetch({ "GET /api/v1/console/catalog/inspectors": { body: page } });
    const api = new ConsoleApi({ fetch });
    api.csrf = "csrf-token-1";

    await expect(api.catalog("inspectors", "张 伟&", 50)).resolves.toEqual(page);
    expect(calls[0]?.method).toBe("GET");
    expect(calls[0]?.url.pathname).toBe("/api/v1/console/catalog/inspectors");
    expect([...(calls[0]?.url.searchParams.entries() ?? [])]).toEqual([
      ["q", "张 伟&"],
      ["limit", "50"],
    ]);
    expect(calls[0]?.headers["x-csrf-token"]).toBeUndefined();

    // Neither given: the server's defaults.
    await api.catalog("inspectors");
    expect(calls[1]?.url.search).toBe("");
    await api.catalog("inspectors", "", 500);
    expect(calls[2]?.url.search).toBe("?limit=500");
  });

  it("reports a refused listing (an administrators' page)", async () => {
    const { fetch } = fakeFetch({
      "GET /api/v1/console/catalog/teams": {
        status: 403,
        body: { code: "console.forbidden", message: "只有管理员可以管理目录 (only an administrator may manage directories)" },
      },
    });
    const error = await new ConsoleApi({ fetch }).catalog("teams").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConsoleApiError);
    expect(error).toMatchObject({ code: "console.forbidden", status: 403 });
  });

  it("saves one entry as a one-element JSON array through the importer", async () => {
    const { fetch, calls } = fakeFetch({
      "POST /api/v1/console/import": { body: { kinds: [{ kind: "teams", added: 0, updated: 1, unchanged: 0 }] } },
    });
    const api = new ConsoleApi({ fetch });
    api.csrf = "csrf-token-1";
    const team = { id: "T-DS-01", name: "东山镇综合执法队", kind: "township_squad" as const, departments: ["SCJG", "XFJY"] };

    const answer = await api.saveEntry("teams", team);
    expect(answer.kinds).toEqual([{ kind: "teams", added: 0, updated: 1, unchanged: 0 }]);
    expect(calls[0]?.method).toBe("POST");
    expect(calls[0]?.url.pathname).toBe("/api/v1/console/import");
    expect(calls[0]?.url.search).toBe("?kind=teams&format=json");
    expect(calls[0]?.headers["content-type"]).toBe("application/json");
    expect(calls[0]?.headers["x-csrf-token"]).toBe("csrf-token-1");
    expect(JSON.parse(new TextDecoder().decode(calls[0]?.bytes ?? new Uint8Array()))).toEqual([team]);
  });

  it("throws the importer's refusal of a saved entry, with its problems", async () => {
    const refusal = {
      code: "console.import_invalid",
      message: "1 处问题 (1 problem)",
      count: 1,
      problems: [{ line: null, index: 0, message: "统一社会信用代码校验位不正确 (bad check digit)" }],
    };
    const { fetch } = fakeFetch({ "POST /api/v1/console/import": { status: 422, body: refusal } });
    const subject = {
      uscc: "91330106MA28YYYYY3",
      name: "东山超市",
      address: "东山镇中街 9 号",
      industry: "LS",
      risk_class: "C" as const,
      location: { lat: 30.31, lon: 120.21 },
      legal_rep: "钱七",
    };
    const error = await new ConsoleApi({ fetch }).saveEntry("subjects", subject).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ImportRefusedError);
    expect((error as ImportRefusedError).refusal).toEqual(refusal);
  });

  it("calls the plan, draw and conflict endpoints with their methods, and links the public pages outside the console API", async () => {
    const { fetch, calls } = fakeFetch({
      "PUT /api/v1/console/plans/P 1": { body: {} },
      "DELETE /api/v1/console/plans/P 1": { status: 204 },
      "POST /api/v1/console/plans/P 1/fix": { body: {} },
      "POST /api/v1/console/plans/P 1/entropy": { body: {} },
      "POST /api/v1/console/draws/preview": { body: {} },
      "POST /api/v1/console/draws": { status: 201, body: {} },
      "POST /api/v1/console/conflicts/delete": { status: 204 },
    });
    const api = new ConsoleApi({ fetch, baseUrl: "http://server:7878/" });
    api.csrf = "csrf-token-1";
    await api.updatePlan("P 1", planSpec());
    await api.deletePlan("P 1");
    await api.fixPlan("P 1");
    await api.enterEntropy("P 1", ["a", "b"]);
    await api.previewDraw({ plans: ["P 1"], split: [] });
    await api.commitDraw({ plans: ["P 1"], split: ["92330106MA27XXXXX1"] });
    await api.withdrawConflict({ inspector: "I-1", uscc: "92330106MA27XXXXX1" });
    expect(calls.map((c) => `${c.method} ${c.url.pathname}`)).toEqual([
      "PUT /api/v1/console/plans/P%201",
      "DELETE /api/v1/console/plans/P%201",
      "POST /api/v1/console/plans/P%201/fix",
      "POST /api/v1/console/plans/P%201/entropy",
      "POST /api/v1/console/draws/preview",
      "POST /api/v1/console/draws",
      "POST /api/v1/console/conflicts/delete",
    ]);
    expect(calls.every((c) => c.headers["x-csrf-token"] === "csrf-token-1")).toBe(true);
    expect(calls[3]?.body).toEqual({ values: ["a", "b"] });
    expect(calls[6]?.body).toEqual({ inspector: "I-1", uscc: "92330106MA27XXXXX1" });

    expect(api.planPoolsUrl("P-1")).toBe("http://server:7878/api/v1/console/plans/P-1/pools");
    expect(api.drawPoolsUrl("D-1")).toBe("http://server:7878/api/v1/console/draws/D-1/pools");
    expect(api.publicDrawUrl("D-1")).toBe("http://server:7878/public/draws/D-1");
    expect(api.publicRecordUrl("D-1")).toBe("http://server:7878/api/v1/public/draws/D-1/record.json");
  });
});
