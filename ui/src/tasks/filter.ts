// The task list's filter (status chip, search text, department, due date),
// the store query it becomes, and the order the rows are shown in.

import type { Status } from "../bindings/Status";
import type { TaskQuery } from "../bindings/TaskQuery";
import type { TaskRow } from "../bindings/TaskRow";
import { endOfDay } from "../dates";
import { isClosed, OPEN_STATUSES } from "./due";

/** The status chips, in the order shown. */
export const STATUS_FILTERS = ["all", "todo", "in_progress", "submitted", "returned", "done"] as const;
export type StatusFilter = (typeof STATUS_FILTERS)[number];

/** The statuses each chip shows; empty = every status. */
export const FILTER_STATUSES: Readonly<Record<StatusFilter, readonly Status[]>> = {
  all: [],
  todo: ["assigned"],
  in_progress: ["in_progress"],
  submitted: ["submitted"],
  returned: ["returned"],
  done: ["approved", "published"],
};

/** The due-date choices, in the order shown. */
export const DUE_FILTERS = ["any", "overdue", "today", "within3", "within7"] as const;
export type DueFilter = (typeof DUE_FILTERS)[number];

/**
 * For the "due by" choices: the last calendar day (0 = today) whose tasks they
 * show. They set only an upper bound, so overdue tasks are included.
 */
export const DUE_WITHIN_DAYS: Readonly<Record<Exclude<DueFilter, "any" | "overdue">, number>> = {
  today: 0,
  within3: 3,
  within7: 7,
};

export interface TaskFilter {
  status: StatusFilter;
  /** As typed in the search box. */
  text: string;
  /** A department code (`SCJG`), or null for every department. */
  department: string | null;
  due: DueFilter;
}

export const NO_FILTER: TaskFilter = { status: "all", text: "", department: null, due: "any" };

export function isFiltered(filter: TaskFilter): boolean {
  return filter.status !== "all" || searchText(filter) !== null || filter.department !== null || filter.due !== "any";
}

/** The search text the store gets: trimmed, inner runs of spaces collapsed, or null. */
export function searchText(filter: TaskFilter): string | null {
  const text = filter.text.trim().replace(/\s+/g, " ");
  return text === "" ? null : text;
}

/** The clock a due filter is read against. */
export interface Clock {
  /** Milliseconds since the epoch. */
  nowMs: number;
  /** IANA time zone of the calendar days; the device's when absent. */
  timeZone?: string | undefined;
}

/**
 * The store query that gives the rows of `filter`, or null when no task can
 * match it.
 *
 * A due filter shows open tasks only, as closed ones have nothing due (see
 * `CLOSED_STATUSES`): with the "all" chip it asks for the open statuses, with
 * another chip for that chip's open statuses, and "done" leaves none, so
 * nothing matches. "Overdue" is due before now (`isOverdue`); the others are
 * due by the end of a calendar day in `clock.timeZone`.
 */
export function queryFor(filter: TaskFilter, clock: Clock = { nowMs: Date.now() }): TaskQuery | null {
  const chip = FILTER_STATUSES[filter.status];
  let statuses: Status[] = [...chip];
  if (filter.due !== "any") {
    statuses = chip.length === 0 ? [...OPEN_STATUSES] : chip.filter((status) => !isClosed(status));
    if (statuses.length === 0) return null; // an empty list would mean every status
  }
  return {
    statuses,
    department: filter.department,
    text: searchText(filter),
    due_before: dueBefore(filter.due, clock),
    limit: null,
  };
}

/** The `due_before` of a due filter: the last millisecond a shown task may be due at. */
export function dueBefore(due: DueFilter, { nowMs, timeZone }: Clock): number | null {
  switch (due) {
    case "any":
      return null;
    case "overdue":
      // Overdue is due strictly before now; `due_before` includes its bound.
      return nowMs - 1;
    default:
      return endOfDay(nowMs, DUE_WITHIN_DAYS[due], timeZone);
  }
}

/** The rows in the order the list shows them (see `compareForList`). */
export function orderForList(rows: readonly TaskRow[]): TaskRow[] {
  return [...rows].sort(compareForList);
}

/**
 * Open tasks first, the one due soonest on top (so overdue ones lead); then
 * closed tasks, the most recently due first. Ties go by task code.
 */
export function compareForList(a: TaskRow, b: TaskRow): number {
  const aClosed = isClosed(a.status);
  const bClosed = isClosed(b.status);
  if (aClosed !== bClosed) return aClosed ? 1 : -1;
  const byDue = aClosed ? Number(b.due) - Number(a.due) : Number(a.due) - Number(b.due);
  return byDue !== 0 ? byDue : a.code.localeCompare(b.code);
}
