// The task list's filter (status chip + search text), the store query it
// becomes, and the order the rows are shown in.

import type { Status } from "../bindings/Status";
import type { TaskQuery } from "../bindings/TaskQuery";
import type { TaskRow } from "../bindings/TaskRow";
import { isClosed } from "./due";

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

export interface TaskFilter {
  status: StatusFilter;
  /** As typed in the search box. */
  text: string;
}

export const NO_FILTER: TaskFilter = { status: "all", text: "" };

export function isFiltered(filter: TaskFilter): boolean {
  return filter.status !== "all" || searchText(filter) !== null;
}

/** The search text the store gets: trimmed, inner runs of spaces collapsed, or null. */
export function searchText(filter: TaskFilter): string | null {
  const text = filter.text.trim().replace(/\s+/g, " ");
  return text === "" ? null : text;
}

/** The store query that gives the rows of `filter`. */
export function queryFor(filter: TaskFilter): TaskQuery {
  return { statuses: [...FILTER_STATUSES[filter.status]], department: null, text: searchText(filter), limit: null };
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
