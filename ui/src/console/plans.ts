// Plans and draws (双随机、一公开): the plan form ⇄ PlanSpec (ratios typed as
// percent, sent in basis points: 300 = 3 %), a new plan's defaults, the
// checks the page makes before saving (the server checks the rest: unknown
// codes, whose items a department has), which plans a draw may take, and the
// subjects whose joint visit a draw undoes (`split`).

import type { DrawTask, PlanSpec, PlanView, Ratios, RiskClass } from "./api/types";
import { RISK_CLASSES } from "./api/types";
import type { MessageKey, Params } from "./i18n";

/** Inspectors per task, and the entropy sources a plan may name (the server's bounds). */
export const MIN_INSPECTORS = 2;
export const MAX_INSPECTORS = 8;
export const MAX_ENTROPY_SOURCES = 8;
/** Basis points of 100 %. */
export const FULL_RATIO = 10_000;
/** A new plan's ratios: A 3 %, B 5 %, C 10 %, D 100 % (信用+双随机: the riskier, the more often). */
export const DEFAULT_RATIOS: Readonly<Ratios> = { A: 300, B: 500, C: 1000, D: FULL_RATIO };

const DAY_MS = 86_400_000;
const BEIJING_OFFSET_MS = 8 * 3_600_000;

/** The plan form: what PlanSpec holds, with ratios as typed percent and lists as typed text. */
export interface PlanForm {
  name: string;
  departments: string[];
  lead_department: string;
  items: string[];
  /** Industry codes, separated by commas, 、 or spaces (empty: every industry). */
  industries: string;
  /** Townships, separated the same way (empty: every township). */
  townships: string;
  classes: RiskClass[];
  /** Percent per class, as typed ("3", "2.5", "0.25"). */
  ratios: Record<RiskClass, string>;
  inspectors_per_task: number;
  teams: string[];
  start: string;
  due: string;
  /** A special plan (专项), exempt from the yearly over-inspection limit. */
  special: boolean;
  special_reason: string;
  recuse_same_township: boolean;
  entropy_sources: string[];
}
export type PlanField = keyof PlanForm;

/** Basis points as percent text: 300 → "3", 250 → "2.5", 1 → "0.01". */
export function percentOf(basisPoints: number): string {
  const whole = Math.floor(basisPoints / 100);
  const rest = basisPoints % 100;
  if (rest === 0) return String(whole);
  return `${whole}.${String(rest).padStart(2, "0").replace(/0$/, "")}`;
}

/** Percent text as basis points ("3" → 300, "2.5" → 250); null unless 0–100 with at most 2 decimals. */
export function basisPointsOf(percent: string): number | null {
  const match = /^(\d{1,3})(?:[.,](\d{1,2}))?$/.exec(percent.trim().replace(/%$/, "").trim());
  if (match === null) return null;
  const value = Number(match[1]) * 100 + Number((match[2] ?? "").padEnd(2, "0"));
  return value > FULL_RATIO ? null : value;
}

/** "YYYY-MM-DD" plus `days` (negative: minus). */
function addDays(day: string, days: number, months = 0): string {
  const [y, m, d] = day.split("-").map(Number);
  return new Date(Date.UTC(y ?? 1970, (m ?? 1) - 1 + months, (d ?? 1) + days)).toISOString().slice(0, 10);
}

/** A new plan's window: from the Monday of next week (Beijing days) for a month. */
export function defaultWindow(now: number): { start: string; due: string } {
  const today = new Date(now + BEIJING_OFFSET_MS);
  const toMonday = (8 - today.getUTCDay()) % 7 || 7;
  const start = new Date(now + BEIJING_OFFSET_MS + toMonday * DAY_MS).toISOString().slice(0, 10);
  return { start, due: addDays(start, -1, 1) };
}

/** A new plan: A 3 %, B 5 %, C 10 %, D 100 %; two inspectors; next week for a month; one source to name. */
export function blankPlanForm(now: number): PlanForm {
  const window = defaultWindow(now);
  return {
    name: "",
    departments: [],
    lead_department: "",
    items: [],
    industries: "",
    townships: "",
    classes: [],
    ratios: { A: percentOf(DEFAULT_RATIOS.A), B: percentOf(DEFAULT_RATIOS.B), C: percentOf(DEFAULT_RATIOS.C), D: percentOf(DEFAULT_RATIOS.D) },
    inspectors_per_task: MIN_INSPECTORS,
    teams: [],
    start: window.start,
    due: window.due,
    special: false,
    special_reason: "",
    recuse_same_township: false,
    entropy_sources: [""],
  };
}

/** The form of a stored plan. */
export function formOfSpec(spec: PlanSpec): PlanForm {
  return {
    name: spec.name,
    departments: [...spec.departments],
    lead_department: spec.lead_department,
    items: [...spec.items],
    industries: spec.filter.industries.join(", "),
    townships: spec.filter.townships.join(", "),
    classes: [...spec.filter.classes],
    ratios: { A: percentOf(spec.ratios.A), B: percentOf(spec.ratios.B), C: percentOf(spec.ratios.C), D: percentOf(spec.ratios.D) },
    inspectors_per_task: spec.inspectors_per_task,
    teams: [...spec.teams],
    start: spec.window.start,
    due: spec.window.due,
    special: spec.special_reason !== null,
    special_reason: spec.special_reason ?? "",
    recuse_same_township: spec.recuse_same_township,
    entropy_sources: spec.entropy_sources.length === 0 ? [""] : [...spec.entropy_sources],
  };
}

/** A typed list: split on commas (also full-width), 、, semicolons and white space; empty parts dropped. */
export function listOf(text: string): string[] {
  const seen = new Set<string>();
  for (const part of text.split(/[,，、;；\s]+/)) if (part !== "") seen.add(part);
  return [...seen];
}

/** Exactly a PlanSpec (the server refuses unknown fields); null while a ratio is not a percent. */
export function specOf(form: PlanForm): PlanSpec | null {
  const ratios: Partial<Ratios> = {};
  for (const c of RISK_CLASSES) {
    const bp = basisPointsOf(form.ratios[c]);
    if (bp === null) return null;
    ratios[c] = bp;
  }
  return {
    name: form.name.trim(),
    departments: [...form.departments],
    lead_department: form.lead_department,
    items: [...form.items],
    filter: {
      industries: listOf(form.industries),
      townships: listOf(form.townships),
      classes: RISK_CLASSES.filter((c) => form.classes.includes(c)),
    },
    ratios: { A: ratios.A ?? 0, B: ratios.B ?? 0, C: ratios.C ?? 0, D: ratios.D ?? 0 },
    inspectors_per_task: form.inspectors_per_task,
    teams: [...form.teams],
    window: { start: form.start, due: form.due },
    special_reason: form.special ? form.special_reason.trim() : null,
    recuse_same_township: form.recuse_same_township,
    entropy_sources: form.entropy_sources.map((s) => s.trim()),
  };
}

/** A problem with a field: its message key and what fills it. */
export interface FieldProblem {
  key: MessageKey;
  params?: Params;
}

/** The fields the form shows problems under. */
export type CheckedField = "name" | "departments" | "lead_department" | "items" | "ratios" | "inspectors_per_task" | "teams" | "window" | "special_reason" | "entropy_sources";

/**
 * What is wrong with the form before it is sent, by field. `departmentOf`
 * says an item's department (undefined for an item the page does not know:
 * the server checks it).
 */
export function planProblems(form: PlanForm, departmentOf: (item: string) => string | undefined): Partial<Record<CheckedField, FieldProblem>> {
  const problems: Partial<Record<CheckedField, FieldProblem>> = {};
  if (form.name.trim() === "") problems.name = { key: "plans.check.name" };
  if (form.departments.length === 0) problems.departments = { key: "plans.check.departments" };
  else if (!form.departments.includes(form.lead_department)) problems.lead_department = { key: "plans.check.lead" };
  if (form.items.length === 0) problems.items = { key: "plans.check.items" };
  else {
    const outside = form.items.filter((id) => {
      const d = departmentOf(id);
      return d !== undefined && !form.departments.includes(d);
    });
    if (outside.length > 0) problems.items = { key: "plans.check.itemDepartments", params: { items: outside.join("、") } };
  }
  const badRatios = RISK_CLASSES.filter((c) => basisPointsOf(form.ratios[c]) === null);
  if (badRatios.length > 0) problems.ratios = { key: "plans.check.ratios", params: { classes: badRatios.join("、") } };
  const n = form.inspectors_per_task;
  if (!Number.isInteger(n) || n < MIN_INSPECTORS || n > MAX_INSPECTORS) {
    problems.inspectors_per_task = { key: "plans.check.inspectors", params: { min: MIN_INSPECTORS, max: MAX_INSPECTORS } };
  }
  if (form.teams.length === 0) problems.teams = { key: "plans.check.teams" };
  if (form.start === "" || form.due === "") problems.window = { key: "plans.check.window" };
  else if (form.due < form.start) problems.window = { key: "plans.check.windowOrder" };
  if (form.special && form.special_reason.trim() === "") problems.special_reason = { key: "plans.check.specialReason" };
  const sources = form.entropy_sources;
  if (sources.length === 0 || sources.length > MAX_ENTROPY_SOURCES || sources.some((s) => s.trim() === "")) {
    problems.entropy_sources = { key: "plans.check.entropy", params: { max: MAX_ENTROPY_SOURCES } };
  }
  return problems;
}

/** Whether a plan can go into a draw, and if not, why. */
export type Readiness = "ready" | "no_entropy" | "draft" | "drawn";

export function readinessOf(plan: PlanView): Readiness {
  if (plan.state === "drawn") return "drawn";
  if (plan.state === "draft" || plan.fixed === null) return "draft";
  return plan.entropy === null ? "no_entropy" : "ready";
}

/** A task serving several plans: one visit for several departments' checks (进一次门、查多项事). */
export function isJoint(task: Pick<DrawTask, "plans">): boolean {
  return task.plans.length > 1;
}

/** `split` with `uscc` added (its joint visit undone), sorted, once. */
export function withSplit(split: readonly string[], uscc: string): string[] {
  return [...new Set([...split, uscc])].sort();
}

/** `split` without `uscc` (its plans visit together again). */
export function withoutSplit(split: readonly string[], uscc: string): string[] {
  return split.filter((u) => u !== uscc);
}
