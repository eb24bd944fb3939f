// The task screen's words: its own catalog (i18n/task.zh.ts, task.en.ts),
// read through the app's I18n once the shell's catalogs include it, and
// directly from the task catalogs until then.

import type { BackendError } from "../../backend/backend";
import type { ErrorCode } from "../../bindings/ErrorCode";
import type { Outcome } from "../../bindings/Outcome";
import type { TaskView } from "../../bindings/TaskView";
import { errorText, fill, type I18n, isMessageKey, type Params } from "../../i18n";
import { taskEn } from "../../i18n/task.en";
import { type TaskKey, taskZh } from "../../i18n/task.zh";

export type { TaskKey };

/** Looks up a task screen text. */
export type Tr = (key: TaskKey, params?: Params) => string;

export function translator(i18n: I18n): Tr {
  return (key, params = {}) => {
    if (isMessageKey(key)) return i18n.t(key, params);
    return fill((i18n.lang === "en" ? taskEn : taskZh)[key], params);
  };
}

export function isTaskKey(key: string): key is TaskKey {
  return Object.hasOwn(taskZh, key);
}

/** The task screen's own words for a few error codes: they point to its tabs and its way back. */
const OWN_ERROR_WORDS: Partial<Record<ErrorCode, TaskKey>> = {
  "task.submit_blocked": "taskScreen.error.task.submit_blocked",
  "task.unknown_item": "taskScreen.error.task.unknown_item",
  "task.unknown_evidence": "taskScreen.error.task.unknown_evidence",
};

/** The screen's words for an error: its own for a few codes, else the app's sentence for the code. */
export function errorWords(i18n: I18n, t: Tr, error: BackendError): string {
  const own = OWN_ERROR_WORDS[error.code];
  return own === undefined ? errorText(i18n, error.code) : t(own);
}

export const OUTCOMES: readonly Outcome[] = ["pass", "fail", "not_applicable"];

export function outcomeWord(t: Tr, outcome: Outcome): string {
  return t(`taskScreen.outcome.${outcome}`);
}

export function itemTitle(view: TaskView, id: string): string | null {
  for (const group of view.groups) {
    const item = group.items.find((i) => i.id === id);
    if (item !== undefined) return item.title;
  }
  return null;
}

const ANSWER_FIELDS = ["result", "value", "note"] as const;
type AnswerField = (typeof ANSWER_FIELDS)[number];
const isAnswerField = (field: string | undefined): field is AnswerField =>
  (ANSWER_FIELDS as readonly (string | undefined)[]).includes(field);

/** What a conflicted field is, in words ("「餐具消毒」的检查结果"). */
export function conflictFieldWords(t: Tr, view: TaskView, path: readonly string[]): string {
  const [root, id, sub, field] = path;
  if (root === "checklist" && id !== undefined) {
    const item = itemTitle(view, id) ?? id;
    if (sub === "answer" && isAnswerField(field)) {
      return t("taskScreen.conflict.itemField", { item, field: t(`taskScreen.conflict.field.${field}`) });
    }
    return t("taskScreen.conflict.itemOther", { item, field: path.slice(2).join(" / ") });
  }
  if (root === "evidence" && id !== undefined && sub === "caption") {
    return t("taskScreen.conflict.evidenceCaption", { sha: id.slice(0, 8) });
  }
  return t("taskScreen.conflict.generic", { path: path.join(" / ") });
}

/** Whether a conflict is about an item's checklist result. */
export function isResultPath(path: readonly string[]): boolean {
  return path.length === 4 && path[0] === "checklist" && path[2] === "answer" && path[3] === "result";
}

/** One value of a conflicted field, in words. */
export function conflictValueWords(t: Tr, path: readonly string[], value: unknown): string {
  if (value === null || value === undefined || value === "") return t("taskScreen.conflict.empty");
  if (isResultPath(path) && (OUTCOMES as readonly unknown[]).includes(value)) return outcomeWord(t, value as Outcome);
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return JSON.stringify(value);
}
