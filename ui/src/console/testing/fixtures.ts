// Records, rows and a fake fetch for the console's tests.

import { type ConsoleApi, ConsoleApi as Api } from "../api/http";
import type {
  CatalogEntry,
  CatalogKind,
  ConsoleDirectory,
  ConsoleRecord,
  ConsoleTaskRow,
  Dashboard,
  DrawPreview,
  DrawSummary,
  FixedPlan,
  PlanSpec,
  PlanView,
  RecordView,
  SessionView,
  TaskPage,
  TimelineEntry,
} from "../api/types";
import { CATALOG_KINDS } from "../api/types";
import { type ConsoleContext, createConsole } from "../context";
import { createI18n } from "../i18n";

/** 2026-12-03 08:00 UTC = 16:00 Beijing time. */
export const NOW = Date.UTC(2026, 11, 3, 8, 0, 0);
export const DAY = 86_400_000;

export const PHOTO = "a".repeat(64);
/** The thumbnail the tablet made of PHOTO (a blob of its own). */
export const PHOTO_THUMB = "c".repeat(64);
export const PHOTO_2 = "b".repeat(64);
export const SIGNATURE = "c".repeat(64);

/**
 * A submitted joint task: market regulation (2 items, answered, one with a
 * photo) and fire safety (1 item, unanswered and in conflict); two inspectors
 * checked in, one 120 m east of the registered location.
 */
export function recordView(fields: Partial<RecordView> = {}): RecordView {
  const scjg = { code: "SCJG", name: "市场监管", name_en: "Market Regulation" };
  const xfjy = { code: "XFJY", name: "消防救援", name_en: "Fire and Rescue" };
  const location = { lat: 30.27, lon: 120.13 };
  return {
    id: "T-1",
    code: "JX-2026-000001",
    status: "submitted",
    subject_name: "西湖区鲜味餐馆",
    uscc: "92330106MA27XXXXX1",
    address: "杭州市西湖区文三路 1 号",
    industry: "餐饮服务",
    risk_class: "B",
    legal_rep: "王五",
    location,
    window: { start: NOW - 5 * DAY, due: NOW + 5 * DAY },
    team: "T-DS-01",
    lead_department: "SCJG",
    departments: [scjg, xfjy],
    inspectors: [
      { id: "I-001", name: "张伟", me: false, checked_in_at: NOW - 2 * 3_600_000, checked_in_location: location },
      {
        id: "I-002",
        name: "李娜",
        me: false,
        checked_in_at: NOW - 2 * 3_600_000,
        // 120 m east at this latitude: 120 / (111_195 · cos 30.27°) degrees.
        checked_in_location: { lat: 30.27, lon: 120.13 + 120 / (111_195.08 * Math.cos((30.27 * Math.PI) / 180)) },
      },
    ],
    groups: [
      {
        department: scjg,
        items: [
          {
            id: "SCJG-CY-001",
            title: "食品经营许可证在有效期内",
            legal_basis: "《食品安全法》第三十五条",
            requires_evidence: true,
            answer: { result: "pass", value: null, note: "许可证有效期至 2028 年" },
            evidence: [PHOTO],
            conflicted: false,
          },
          {
            id: "SCJG-CY-003",
            title: "冷藏设备温度符合要求",
            legal_basis: "《食品经营过程卫生规范》",
            requires_evidence: false,
            answer: { result: "fail", value: "9.5 ℃", note: null },
            evidence: [],
            conflicted: false,
          },
        ],
        answered: 2,
      },
      {
        department: xfjy,
        items: [
          {
            id: "XFJY-01",
            title: "疏散通道畅通",
            legal_basis: "《消防法》第二十八条",
            requires_evidence: false,
            answer: { result: null, value: null, note: null },
            evidence: [],
            conflicted: true,
          },
        ],
        answered: 0,
      },
    ],
    evidence: [
      {
        sha256: PHOTO,
        kind: "photo",
        taken_at: NOW - 3_600_000,
        by: "I-001",
        location,
        caption: "许可证",
        mime: "image/jpeg",
        bytes: 812_000,
        thumb_sha256: PHOTO_THUMB,
        display_sha256: null,
        item: "SCJG-CY-001",
        withdrawn_at: null,
        withdrawn_by: null,
        withdrawn_reason: null,
      },
      {
        sha256: PHOTO_2,
        kind: "photo",
        taken_at: NOW - 3_500_000,
        by: "I-002",
        location,
        caption: null,
        mime: "image/jpeg",
        bytes: 700_000,
        thumb_sha256: null,
        display_sha256: null,
        item: null,
        withdrawn_at: NOW - 3_000_000,
        withdrawn_by: "I-002",
        withdrawn_reason: "拍错了",
      },
    ],
    trace: [
      { t: NOW - 7_000_000, lat: 30.2701, lon: 120.1301, accuracy: 8, by: "I-001" },
      { t: NOW - 6_900_000, lat: 30.2702, lon: 120.1302, accuracy: 6, by: "I-001" },
    ],
    findings: [
      {
        id: "F-1",
        item_id: "SCJG-CY-003",
        description: "冷藏柜温度 9.5 ℃，超过 8 ℃",
        severity: "major",
        rectification_order: "三日内维修冷藏设备",
        rectification_deadline: NOW + 3 * DAY,
        by: "I-001",
        at: NOW - 3_000_000,
      },
    ],
    lead_transfers: [
      {
        id: "L-1",
        to_department: "GA",
        summary: "疑似销售假冒食品",
        evidence: [],
        criminal: true,
        by: "I-001",
        at: NOW - 2_500_000,
      },
    ],
    signatures: [
      { role: "inspector", signer: "I-001", image: SIGNATURE, refused_reason: null, by: "I-001", at: NOW - 2_000_000 },
      { role: "enterprise", signer: "王五", image: null, refused_reason: "负责人不在场", by: "I-001", at: NOW - 2_000_000 },
    ],
    conflicts: [
      {
        path: ["checklist", "XFJY-01", "answer", "result"],
        values: [
          { value: "pass", op: "12@aa", actor: "aa".repeat(16), person: "I-001", at: NOW - 4_000_000 },
          { value: "fail", op: "13@bb", actor: "bb".repeat(16), person: "I-002", at: NOW - 3_900_000 },
        ],
      },
    ],
    problems: [],
    return_comment: null,
    events: [],
    verify_url: "https://verify.example/v/K7P2M9",
    editable: false,
    recheck_of: null,
    record_notes: {
      place: "",
      started_at: null,
      ended_at: null,
      party_present: "",
      party_role: "",
      legal_representative: "",
      recorder: "",
      witness: "",
      credentials_answer: "",
      rights_answer: "",
      recusal_answer: "",
      party_statement: "",
    },
    prints: [],
    badges: {},
    ...fields,
  };
}

export function timeline(): TimelineEntry[] {
  return [
    {
      hash: "h1",
      actor: "aa".repeat(16),
      person: "I-001",
      role: "inspector",
      at: NOW - 4_000_000,
      message: "签到",
      seq: 1,
      received_at: NOW - 1_000_000,
      device_id: "D-0001",
    },
    {
      // The device clock runs ten minutes ahead of the server.
      hash: "h2",
      actor: "bb".repeat(16),
      person: "I-002",
      role: "inspector",
      at: NOW + 600_000,
      message: "检查项 XFJY-01：不合格",
      seq: 7,
      received_at: NOW,
      device_id: "D-0002",
    },
  ];
}

export function consoleRecord(fields: Partial<RecordView> = {}): ConsoleRecord {
  return { record: recordView(fields), timeline: timeline(), flags: [] };
}

export function taskRow(id: string, fields: Partial<ConsoleTaskRow> = {}): ConsoleTaskRow {
  return {
    id,
    code: `JX-2026-${id.padStart(6, "0")}`,
    subject_name: "西湖区鲜味餐馆",
    uscc: "92330106MA27XXXXX1",
    status: "submitted",
    team: "T-DS-01",
    departments: ["SCJG", "XFJY"],
    lead_department: "SCJG",
    inspectors: ["I-001", "I-002"],
    window_start: NOW - 5 * DAY,
    due: NOW + 5 * DAY,
    updated_at: NOW - 3_600_000,
    joint: true,
    open_conflicts: 0,
    evidence: 3,
    findings: 1,
    rectification_due: null,
    overdue: false,
    ...fields,
  };
}

export function taskPage(rows: ConsoleTaskRow[], total = rows.length): TaskPage {
  return { total, page: 1, per_page: 50, rows };
}

/** A dashboard with nothing on it, for pages reached through the dashboard. */
export const EMPTY_DASHBOARD: Dashboard = {
  year: 2026,
  by_status: {},
  by_department: [],
  overdue: 0,
  returned: 0,
  rectification_due: 0,
  joint: 0,
  single: 0,
  inspections_per_subject: [],
};

export function session(fields: Partial<SessionView["user"]> = {}): SessionView {
  return { user: { id: "S-1", name: "陈主任", role: "supervisor", teams: ["T-DS-01"], departments: [], ...fields }, csrf: "csrf-token-1" };
}

/**
 * Two departments, two teams; three inspectors of the first team (one turned
 * off) and one of the second.
 */
export function directory(): ConsoleDirectory {
  return {
    departments: [
      { code: "SCJG", name: "市场监管", name_en: "Market Regulation" },
      { code: "XFJY", name: "消防救援", name_en: "Fire and Rescue" },
    ],
    teams: [
      { id: "T-DS-01", name: "东山镇综合执法队", departments: ["SCJG", "XFJY"] },
      { id: "T-XS-02", name: "西山镇综合执法队", departments: ["SCJG"] },
    ],
    inspectors: [
      { id: "I-001", name: "张伟", badge_no: "33010620001", department: "SCJG", team: "T-DS-01", active: true },
      { id: "I-002", name: "李娜", badge_no: "33010620002", department: "XFJY", team: "T-DS-01", active: true },
      { id: "I-003", name: "赵强", badge_no: "33010620003", department: "SCJG", team: "T-DS-01", active: false },
      { id: "I-004", name: "孙丽", badge_no: "33010620004", department: "SCJG", team: "T-XS-02", active: true },
    ],
  };
}

export interface FakeCall {
  method: string;
  url: URL;
  headers: Record<string, string>;
  /** A JSON body, parsed; null otherwise. */
  body: unknown;
  /** A body sent as it is (a Blob, say a file), byte for byte; null for JSON and no body. */
  bytes: Uint8Array | null;
}

export type FakeAnswer = { status?: number; body?: unknown } | ((call: FakeCall) => { status?: number; body?: unknown });

/**
 * A fetch that answers from `routes` ("GET /api/v1/console/session" → answer)
 * and records every call. Unknown routes answer 404 `{code: "http.not_found"}`.
 */
export function fakeFetch(routes: Record<string, FakeAnswer>): { fetch: typeof fetch; calls: FakeCall[] } {
  const calls: FakeCall[] = [];
  const fetchImpl = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const url = new URL(String(input), "http://console.test");
    const headers: Record<string, string> = {};
    new Headers(init?.headers).forEach((value, key) => {
      headers[key.toLowerCase()] = value;
    });
    const text = typeof init?.body === "string" ? init.body : null;
    const raw = init?.body;
    const blob = typeof raw === "object" && raw !== null && "arrayBuffer" in raw ? (raw as Blob) : null;
    const call: FakeCall = {
      method: init?.method ?? "GET",
      url,
      headers,
      body: text === null ? null : JSON.parse(text),
      bytes: blob === null ? null : new Uint8Array(await blob.arrayBuffer()),
    };
    calls.push(call);
    const route = routes[`${call.method} ${decodeURIComponent(url.pathname)}`];
    const answer =
      route === undefined
        ? { status: 404, body: { code: "http.not_found", message: "没有这个地址 (no such address)" } }
        : typeof route === "function"
          ? route(call)
          : route;
    const status = answer.status ?? 200;
    return new Response(status === 204 ? null : JSON.stringify(answer.body ?? null), {
      status,
      headers: { "Content-Type": "application/json" },
    });
  };
  return { fetch: fetchImpl as typeof fetch, calls };
}

/** A console context over a fake fetch, signed in as a supervisor unless `signedIn` is false. */
export function testConsole(
  routes: Record<string, FakeAnswer>,
  options: { signedIn?: boolean } = {},
): { context: ConsoleContext; api: ConsoleApi; calls: FakeCall[] } {
  const { fetch, calls } = fakeFetch({ "GET /api/v1/console/directory": { body: directory() }, ...routes });
  const api = new Api({ fetch });
  const context = createConsole(api, createI18n(null));
  if (options.signedIn !== false) {
    context.session.value = session();
    api.csrf = "csrf-token-1";
  }
  return { context, api, calls };
}

/** Each directory's entries as the catalog lists them, named as in `directory()`. */
export type CatalogRows = { [K in CatalogKind]: CatalogEntry<K>[] };

/**
 * Two departments, two industries, the two teams and four inspectors of
 * `directory()`, two subjects, three items (two of market regulation, one of
 * fire safety) and the catering handbook naming all three.
 */
export function catalog(): CatalogRows {
  return {
    departments: [
      { code: "SCJG", name: "市场监管", name_en: "Market Regulation" },
      { code: "XFJY", name: "消防救援", name_en: "Fire and Rescue" },
    ],
    industries: [
      { code: "CY", name: "餐饮服务", name_en: "Catering" },
      { code: "LS", name: "零售", name_en: "Retail" },
    ],
    teams: [
      { id: "T-DS-01", name: "东山镇综合执法队", kind: "township_squad", departments: ["SCJG", "XFJY"] },
      { id: "T-XS-02", name: "西山镇综合执法队", kind: "county_team", departments: ["SCJG"] },
    ],
    inspectors: directory().inspectors.map(({ id, name, badge_no, department, team }) => ({ id, name, badge_no, department, team })),
    subjects: [
      {
        uscc: "92330106MA27XXXXX1",
        name: "西湖区鲜味餐馆",
        address: "杭州市西湖区文三路 1 号",
        industry: "CY",
        risk_class: "B",
        location: { lat: 30.27, lon: 120.13 },
        legal_rep: "王五",
      },
      {
        uscc: "91330106MA28YYYYY2",
        name: "东山便利店",
        address: "东山镇中街 8 号",
        industry: "LS",
        risk_class: "D",
        location: { lat: 30.3, lon: 120.2 },
        legal_rep: "赵六",
      },
    ],
    items: [
      {
        id: "SCJG-CY-001",
        department: "SCJG",
        title: "食品经营许可证在有效期内",
        legal_basis: "《中华人民共和国食品安全法》第三十五条：国家对食品生产经营实行许可制度。从事食品生产、食品销售、餐饮服务，应当依法取得许可。",
        industries: ["CY"],
        requires_evidence: true,
      },
      {
        id: "SCJG-CY-003",
        department: "SCJG",
        title: "冷藏设备温度符合要求",
        legal_basis: "《食品经营过程卫生规范》",
        industries: ["CY"],
        requires_evidence: false,
      },
      { id: "XFJY-01", department: "XFJY", title: "疏散通道畅通", legal_basis: "《消防法》第二十八条", industries: [], requires_evidence: false },
    ],
    handbooks: [
      { industry: "CY", departments: ["SCJG", "XFJY"], lead_department: "SCJG", items: ["SCJG-CY-001", "SCJG-CY-003", "XFJY-01"] },
    ],
  };
}

/**
 * Routes answering `GET /catalog/{kind}` from `rows` as the server does: `q`
 * keeps the entries whose JSON holds it (a rough stand-in for the server's
 * key, name, USCC and address), `limit` (200 by default) cuts the list,
 * `total` counts every match.
 */
export function catalogRoutes(rows: CatalogRows = catalog()): Record<string, FakeAnswer> {
  const routes: Record<string, FakeAnswer> = {};
  for (const kind of CATALOG_KINDS) {
    routes[`GET /api/v1/console/catalog/${kind}`] = (call) => {
      const q = call.url.searchParams.get("q") ?? "";
      const limit = Number(call.url.searchParams.get("limit") ?? "200");
      const found = (rows[kind] as readonly CatalogEntry[]).filter((entry) => JSON.stringify(entry).includes(q));
      return { body: { total: found.length, list: { kind, rows: found.slice(0, limit) } } };
    };
  }
  return routes;
}

/** A joint plan of market regulation (lead) and fire safety: catering, 3 %/5 %/10 %/100 %, next week. */
export function planSpec(fields: Partial<PlanSpec> = {}): PlanSpec {
  return {
    name: "2027 年第一季度餐饮联合抽查",
    departments: ["SCJG", "XFJY"],
    lead_department: "SCJG",
    items: ["SCJG-CY-001", "XFJY-01"],
    filter: { industries: ["CY"], townships: [], classes: [] },
    ratios: { A: 300, B: 500, C: 1000, D: 10000 },
    inspectors_per_task: 2,
    teams: ["T-DS-01"],
    window: { start: "2026-12-07", due: "2027-01-06" },
    special_reason: null,
    recuse_same_township: false,
    entropy_sources: ["中国福利彩票双色球 2026年第142期（12月10日）开奖号码", "深圳证券交易所 2026-12-10 成份指数收盘点数"],
    ...fields,
  };
}

export const COMMITMENT = "ab12".repeat(16);

/** What fixing `spec` froze (by the supervisor S-2: S-1, who signs in in the tests, may enter the entropy). */
export function fixedPlan(id: string, spec: PlanSpec, fields: Partial<FixedPlan> = {}): FixedPlan {
  return {
    params: { id, spec, catalog: [] },
    pool_hashes: { A: "1".repeat(64), B: "2".repeat(64), C: "3".repeat(64), D: "4".repeat(64), inspectors: "5".repeat(64), recusals: "6".repeat(64) },
    pool_sizes: { A: 4, B: 12, C: 30, D: 6, inspectors: 9, excluded: 2 },
    commitment: COMMITMENT,
    fixed_by: "S-2",
    fixed_at: NOW - DAY,
    ...fields,
  };
}

/** A draft plan (`state: "fixed"` also fills `fixed`, without entropy). */
export function planView(id: string, fields: Partial<PlanView> = {}): PlanView {
  const spec = fields.spec ?? planSpec();
  const state = fields.state ?? "draft";
  return {
    id,
    spec,
    state,
    created_by: "S-1",
    created_at: NOW - 2 * DAY,
    updated_at: NOW - 2 * DAY,
    fixed: state === "draft" ? null : fixedPlan(id, spec),
    entropy: null,
    draw: null,
    ...fields,
  };
}

/**
 * A preview of two plans: P-1 (market regulation and fire safety) and P-2
 * (market regulation) both drew the restaurant, visited jointly; P-2 alone
 * drew the shop; P-1's second subject found no team.
 */
export function drawPreview(fields: Partial<DrawPreview> = {}): DrawPreview {
  const window = { start: "2026-12-07", due: "2027-01-06" };
  return {
    plans: [
      {
        id: "P-1",
        name: "餐饮联合抽查",
        sizes: { A: 4, B: 12, C: 30, D: 6, inspectors: 9, excluded: 2 },
        quotas: { A: 1, B: 1, C: 3, D: 6 },
        seed: "5e".repeat(32),
        excluded: [
          { uscc: "91330106MA2AAAAA11", name: "老街面馆", inspections: 2, limit: 2 },
          { uscc: "91330106MA2BBBBB22", name: "东山茶楼", inspections: 3, limit: 3 },
        ],
        saved_visits: 0,
      },
      {
        id: "P-2",
        name: "食品经营专项",
        sizes: { A: 2, B: 8, C: 20, D: 1, inspectors: 5, excluded: 0 },
        quotas: { A: 1, B: 1, C: 2, D: 1 },
        seed: "7f".repeat(32),
        excluded: [],
        saved_visits: 1,
      },
    ],
    tasks: [
      {
        uscc: "92330106MA27XXXXX1",
        name: "西湖区鲜味餐馆",
        plans: ["P-1", "P-2"],
        departments: ["SCJG", "XFJY"],
        lead_department: "SCJG",
        items: ["SCJG-CY-001", "XFJY-01", "SCJG-CY-003"],
        window,
        team: "T-DS-01",
        inspectors: ["I-001", "I-002"],
      },
      {
        uscc: "91330106MA28YYYYY2",
        name: "东山便利店",
        plans: ["P-2"],
        departments: ["SCJG"],
        lead_department: "SCJG",
        items: ["SCJG-CY-003"],
        window,
        team: "T-XS-02",
        inspectors: ["I-004", "I-001"],
      },
    ],
    unstaffed: [{ uscc: "91330106MA2CCCCC33", name: "西山农家乐", plans: ["P-1"], eligible: 1, needed: 2 }],
    selections: 4,
    visits: 2,
    split: [],
    ...fields,
  };
}

/** What committing `drawPreview()` answers. */
export function drawSummary(id: string, fields: Partial<DrawSummary> = {}): DrawSummary {
  const preview = drawPreview();
  return {
    id,
    at: NOW,
    by: "S-1",
    plans: preview.plans.map((p) => ({
      id: p.id,
      name: p.name,
      departments: ["SCJG"],
      window: { start: "2026-12-07", due: "2027-01-06" },
      sizes: p.sizes,
      quotas: p.quotas,
      seed: p.seed,
      commitment: COMMITMENT,
      pool_hashes: fixedPlan(p.id, planSpec()).pool_hashes,
      entropy_sources: ["双色球 2026142"],
      entropy_values: ["03 08 15 21 27 33 + 09"],
      special_reason: null,
    })),
    tasks: 2,
    unstaffed: 1,
    saved_visits: 1,
    ...fields,
  };
}
