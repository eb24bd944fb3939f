// A realistic task for the task screen's tests: a joint inspection of a
// restaurant by market regulation (SCJG) and fire and rescue (XFJY), half
// done — one inspector checked in, two items answered, photos taken (one
// withdrawn), a finding, and a conflict over one item's result.
//
// Its `problems` (what blocks submitting) are stated explicitly: the
// MemoryBackend does not work them out from core's rules, so they stay as
// they are here until a test sets others (`MemoryBackend.setProblems`).

import type { HistoryEntry } from "../../bindings/HistoryEntry";
import type { TaskView } from "../../bindings/TaskView";

/** 2026-11-29 10:00 in Beijing (UTC+8), the "now" of the tests. */
export const NOW = Date.UTC(2026, 10, 29, 2, 0);
export const MINUTE = 60_000;
export const DAY = 86_400_000;
export const TZ = "Asia/Shanghai";

export const TASK_ID = "t-2026-000007";
export const ME = "I-001";
export const COLLEAGUE = "I-005";

/** A SHA-256 in hex made of one repeated byte, e.g. `sha("a1")`. */
export const sha = (byte: string): string => byte.repeat(32);

export const PHOTO_LICENCE = sha("a1");
export const PHOTO_KITCHEN = sha("b2");
export const PHOTO_WITHDRAWN = sha("c3");

const ACTOR_ME = "5f1c9a0e7d3b42a8b6e1c4d2f9a07b31";
const ACTOR_COLLEAGUE = "9e2d7b41c0a64f1e8d3b5a7c2e9f0d14";

export const CONFLICT_PATH = ["checklist", "SCJG-CY-001", "answer", "result"];
export const OP_PASS = `41@${ACTOR_ME}`;
export const OP_FAIL = `17@${ACTOR_COLLEAGUE}`;

export function fixtureView(): TaskView {
  return {
    id: TASK_ID,
    code: "JX-2026-000007",
    status: "in_progress",
    subject_name: "青溪县同心土菜馆",
    uscc: "92360736MA36XJ6832",
    address: "青溪县青溪大道滨江华府8栋12号店面",
    industry: "catering",
    risk_class: "B",
    legal_rep: "郭志明",
    location: { lat: 25.630446, lon: 115.344919 },
    window: { start: NOW - 2 * DAY, due: NOW + 5 * DAY },
    team: "T-QX-01",
    lead_department: "SCJG",
    departments: [
      { code: "SCJG", name: "青溪县市场监督管理局", name_en: "Market Regulation" },
      { code: "XFJY", name: "青溪县消防救援大队", name_en: "Fire and Rescue" },
    ],
    inspectors: [
      { id: ME, name: "钟志强", me: true, checked_in_at: null, checked_in_location: null },
      {
        id: COLLEAGUE,
        name: "刘建华",
        me: false,
        checked_in_at: NOW - 40 * MINUTE,
        checked_in_location: { lat: 25.63041, lon: 115.34489 },
      },
    ],
    groups: [
      {
        department: { code: "SCJG", name: "青溪县市场监督管理局", name_en: "Market Regulation" },
        answered: 2,
        items: [
          {
            id: "SCJG-SP-001",
            title: "食品经营许可证（或仅销售预包装食品备案）是否在有效期内并在经营场所公示",
            legal_basis: "《中华人民共和国食品安全法》第三十五条",
            requires_evidence: true,
            answer: { result: "pass", value: null, note: "许可证在有效期内，已在收银台上方公示" },
            evidence: [PHOTO_LICENCE],
            conflicted: false,
          },
          {
            id: "SCJG-CY-001",
            title: "餐具、饮具是否按要求清洗消毒，消毒设施设备是否正常运转",
            legal_basis: "《中华人民共和国食品安全法》第五十六条",
            requires_evidence: true,
            answer: { result: "pass", value: null, note: null },
            evidence: [],
            conflicted: true,
          },
        ],
      },
      {
        department: { code: "XFJY", name: "青溪县消防救援大队", name_en: "Fire and Rescue" },
        answered: 0,
        items: [
          {
            id: "XFJY-TY-001",
            title: "灭火器等消防器材是否按标准配置、完好有效并在有效期内",
            legal_basis: "《中华人民共和国消防法》第十六条",
            requires_evidence: true,
            answer: { result: null, value: null, note: null },
            evidence: [],
            conflicted: false,
          },
          {
            id: "XFJY-TY-002",
            title: "疏散通道、安全出口是否畅通，有无占用、堵塞、封闭",
            legal_basis: "《中华人民共和国消防法》第二十八条",
            requires_evidence: false,
            answer: { result: null, value: null, note: null },
            evidence: [],
            conflicted: false,
          },
        ],
      },
    ],
    evidence: [
      {
        sha256: PHOTO_KITCHEN,
        kind: "photo",
        taken_at: NOW - 12 * MINUTE,
        by: COLLEAGUE,
        location: { lat: 25.63046, lon: 115.34492 },
        caption: null,
        mime: "image/jpeg",
        bytes: 2_481_337,
        thumb_sha256: sha("b4"),
        display_sha256: sha("b5"),
        item: null,
        withdrawn_at: null,
        withdrawn_by: null,
        withdrawn_reason: null,
      },
      {
        sha256: PHOTO_WITHDRAWN,
        kind: "photo",
        taken_at: NOW - 20 * MINUTE,
        by: ME,
        location: null,
        caption: null,
        mime: "image/jpeg",
        bytes: 1_902_114,
        thumb_sha256: sha("c4"),
        display_sha256: sha("c5"),
        item: "SCJG-CY-001",
        withdrawn_at: NOW - 18 * MINUTE,
        withdrawn_by: ME,
        withdrawn_reason: "拍错对象",
      },
      {
        sha256: PHOTO_LICENCE,
        kind: "photo",
        taken_at: NOW - 30 * MINUTE,
        by: ME,
        location: { lat: 25.63044, lon: 115.34491 },
        caption: "食品经营许可证公示",
        mime: "image/jpeg",
        bytes: 3_120_554,
        thumb_sha256: sha("a4"),
        display_sha256: sha("a5"),
        item: "SCJG-SP-001",
        withdrawn_at: null,
        withdrawn_by: null,
        withdrawn_reason: null,
      },
    ],
    trace: [
      { t: NOW - 41 * MINUTE, lat: 25.63035, lon: 115.34475, accuracy: 12, by: COLLEAGUE },
      { t: NOW - 40 * MINUTE, lat: 25.63041, lon: 115.34489, accuracy: 8, by: COLLEAGUE },
      { t: NOW - 30 * MINUTE, lat: 25.63048, lon: 115.34497, accuracy: 6, by: COLLEAGUE },
    ],
    findings: [
      {
        id: "f3a9c1d27e4b8a60",
        item_id: "SCJG-SP-001",
        description: "后厨冷藏柜内发现 2 袋超过保质期的速冻水饺",
        severity: "minor",
        rectification_order: null,
        rectification_deadline: null,
        by: COLLEAGUE,
        at: NOW - 10 * MINUTE,
      },
    ],
    lead_transfers: [],
    signatures: [],
    conflicts: [
      {
        path: [...CONFLICT_PATH],
        values: [
          { value: "pass", op: OP_PASS, actor: ACTOR_ME, person: ME, at: NOW - 20 * MINUTE },
          { value: "fail", op: OP_FAIL, actor: ACTOR_COLLEAGUE, person: COLLEAGUE, at: null },
        ],
      },
    ],
    // Stated, not worked out (see above): what core's submit_problems reports for this task.
    problems: [
      {
        problem: { kind: "too_few_checked_in", have: 1, need: 2 },
        item_title: null,
        message: "签到执法人员不足：已签到 1 人，至少需要 2 人",
      },
      {
        problem: { kind: "missing_evidence", item: "SCJG-CY-001" },
        item_title: "餐具、饮具是否按要求清洗消毒，消毒设施设备是否正常运转",
        message: "检查项 SCJG-CY-001 需要上传证据（餐具、饮具是否按要求清洗消毒，消毒设施设备是否正常运转）",
      },
      {
        problem: { kind: "unanswered", item: "XFJY-TY-001" },
        item_title: "灭火器等消防器材是否按标准配置、完好有效并在有效期内",
        message: "检查项 XFJY-TY-001 尚未填写结果（灭火器等消防器材是否按标准配置、完好有效并在有效期内）",
      },
      {
        problem: { kind: "unanswered", item: "XFJY-TY-002" },
        item_title: "疏散通道、安全出口是否畅通，有无占用、堵塞、封闭",
        message: "检查项 XFJY-TY-002 尚未填写结果（疏散通道、安全出口是否畅通，有无占用、堵塞、封闭）",
      },
      {
        problem: { kind: "inspector_unsigned", inspector: COLLEAGUE },
        item_title: null,
        message: `执法人员 ${COLLEAGUE} 尚未签名`,
      },
      {
        problem: { kind: "enterprise_unsigned" },
        item_title: null,
        message: "企业负责人尚未签名，也未记录拒签",
      },
      {
        problem: { kind: "open_conflict", path: CONFLICT_PATH.join("/") },
        item_title: null,
        message: `${CONFLICT_PATH.join("/")} 存在未解决的冲突`,
      },
    ],
    return_comment: null,
    events: [
      { kind: "assigned", at: NOW - 3 * DAY, by: "S-001", role: "supervisor", comment: null, location: null },
      { kind: "checked_in", at: NOW - 40 * MINUTE, by: COLLEAGUE, role: "inspector", comment: null, location: { lat: 25.63041, lon: 115.34489 } },
    ],
    verify_url: "https://verify.fieldloop.cn/v/Q7K2M9XPD4",
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
    badges: { [ME]: "36070012345", [COLLEAGUE]: "36070012346" },
    dirty: true,
    refused_edits: [],
    known_departments: [],
  };
}

export function fixtureHistory(): HistoryEntry[] {
  return [
    { hash: "01".repeat(32), actor: "7a".repeat(16), person: "S-001", role: "supervisor", at: NOW - 3 * DAY, message: "创建任务", seq: 1 },
    { hash: "02".repeat(32), actor: ACTOR_COLLEAGUE, person: COLLEAGUE, role: "inspector", at: NOW - 40 * MINUTE, message: "I-005 现场签到", seq: 1 },
    { hash: "03".repeat(32), actor: ACTOR_ME, person: ME, role: "inspector", at: NOW - 30 * MINUTE, message: "添加照片", seq: 1 },
    { hash: "04".repeat(32), actor: "3c".repeat(16), person: null, role: null, at: NOW - 5 * MINUTE, message: "同步合并", seq: 4 },
  ];
}

/** A small QR-like SVG, as `taskQr` answers. */
export const QR_SVG =
  '<?xml version="1.0" encoding="UTF-8"?>\n' +
  '<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="232" height="232" viewBox="0 0 29 29" onload="alert(1)">' +
  '<script>alert(2)</script><rect width="29" height="29" fill="#ffffff"/>' +
  '<path fill="#000000" d="M4 4h7v1H4zM4 10h7v1H4zM4 4h1v7H4zM10 4h1v7h-1zM6 6h3v3H6zM18 4h7v7h-7zM4 18h7v7H4zM13 13h3v3h-3z"/></svg>\n';
