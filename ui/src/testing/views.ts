// Task views, identities and sync states for tests.

import type { Identity } from "../bindings/Identity";
import type { SyncView } from "../bindings/SyncView";
import type { TaskView } from "../bindings/TaskView";
import { DAY, NOW } from "./rows";

export function identity(fields: Partial<Identity> = {}): Identity {
  return {
    person: "I-001",
    name: "张伟",
    team: "T-DS-01",
    team_name: "东山镇综合执法队",
    server: "http://192.168.1.10:7878",
    device: "D-0001",
    ...fields,
  };
}

export function syncView(fields: Partial<SyncView> = {}): SyncView {
  return {
    phase: "idle",
    last_synced_at: null,
    waiting_tasks: 0,
    waiting_uploads: 0,
    rounds: 0,
    uploaded: 0,
    uploads_left: 0,
    code: null,
    message: null,
    retry_in_ms: null,
    retry_at: null,
    refused_tasks: [],
    ...fields,
  };
}

/**
 * A task of two inspectors (the tablet's one first) with one department of two
 * items, nothing done yet. Its `problems` are what core reports for that state
 * (nobody checked in, both items unanswered, no enterprise signature); the
 * MemoryBackend keeps them as given, so a test that changes what they depend
 * on states the new ones (`problems` here, or `MemoryBackend.setProblems`).
 */
export function taskView(fields: Partial<TaskView> & Pick<TaskView, "id">): TaskView {
  const emptyAnswer = { result: null, value: null, note: null };
  const licence = "食品经营许可证在有效期内";
  const health = "从业人员持有效健康证明";
  return {
    code: `JX-2026-${fields.id.padStart(6, "0")}`,
    status: "assigned",
    subject_name: "西湖区鲜味餐馆",
    uscc: "92330106MA27XXXXX1",
    address: "杭州市西湖区文三路 1 号",
    industry: "餐饮服务",
    risk_class: "B",
    legal_rep: "王五",
    location: { lat: 30.27, lon: 120.13 },
    window: { start: NOW - DAY, due: NOW + 5 * DAY },
    team: "东山镇综合执法队",
    lead_department: "SCJG",
    departments: [{ code: "SCJG", name: "市场监管", name_en: "Market Regulation" }],
    inspectors: [
      { id: "I-001", name: "张伟", me: true, checked_in_at: null, checked_in_location: null },
      { id: "I-002", name: "李娜", me: false, checked_in_at: null, checked_in_location: null },
    ],
    groups: [
      {
        department: { code: "SCJG", name: "市场监管", name_en: "Market Regulation" },
        items: [
          {
            id: "SCJG-CY-001",
            title: licence,
            legal_basis: "《食品安全法》第三十五条",
            requires_evidence: true,
            answer: { ...emptyAnswer },
            evidence: [],
            conflicted: false,
          },
          {
            id: "SCJG-CY-002",
            title: health,
            legal_basis: "《食品安全法》第四十五条",
            requires_evidence: false,
            answer: { ...emptyAnswer },
            evidence: [],
            conflicted: false,
          },
        ],
        answered: 0,
      },
    ],
    evidence: [],
    trace: [],
    findings: [],
    lead_transfers: [],
    signatures: [],
    conflicts: [],
    problems: [
      { problem: { kind: "too_few_checked_in", have: 0, need: 2 }, item_title: null, message: "签到执法人员不足：已签到 0 人，至少需要 2 人" },
      { problem: { kind: "unanswered", item: "SCJG-CY-001" }, item_title: licence, message: `检查项 SCJG-CY-001 尚未填写结果（${licence}）` },
      { problem: { kind: "unanswered", item: "SCJG-CY-002" }, item_title: health, message: `检查项 SCJG-CY-002 尚未填写结果（${health}）` },
      { problem: { kind: "enterprise_unsigned" }, item_title: null, message: "企业负责人尚未签名，也未记录拒签" },
    ],
    return_comment: null,
    events: [],
    verify_url: `https://verify.fieldloop.cn/v/${fields.id}`,
    editable: true,
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
    dirty: false,
    refused_edits: [],
    known_departments: [],
    ...fields,
  };
}
