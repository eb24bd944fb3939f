// When a task is due, and whether it is late.

import type { Status } from "../bindings/Status";
import type { TaskRow } from "../bindings/TaskRow";
import { calendarDay } from "../dates";

/** Statuses in which the inspection is over: nothing is due any more. */
export const CLOSED_STATUSES: readonly Status[] = ["approved", "published", "cancelled"];

/** Statuses in which something is still due: every status but the closed ones. */
export const OPEN_STATUSES: readonly Status[] = ["assigned", "in_progress", "submitted", "returned"];

export function isClosed(status: Status): boolean {
  return CLOSED_STATUSES.includes(status);
}

/** Overdue: past its due time and not approved, published or cancelled. */
export function isOverdue(row: Pick<TaskRow, "due" | "status">, nowMs: number): boolean {
  return Number(row.due) < nowMs && !isClosed(row.status);
}

/** A task due within this many calendar days gets a "days left" hint. */
export const DUE_SOON_DAYS = 3;

export type DueHint =
  | { kind: "overdue"; days: number }
  | { kind: "today" }
  | { kind: "soon"; days: number };

/**
 * What to say next to the due date of an open task: how many calendar days it
 * is late (0 when it fell due earlier today), due today, or due within
 * `DUE_SOON_DAYS` days. Nothing for closed tasks or ones due later.
 */
export function dueHint(
  row: Pick<TaskRow, "due" | "status">,
  nowMs: number,
  timeZone?: string,
): DueHint | null {
  if (isClosed(row.status)) return null;
  const due = Number(row.due);
  const days = calendarDay(due, timeZone) - calendarDay(nowMs, timeZone);
  if (due < nowMs) return { kind: "overdue", days: Math.max(0, -days) };
  if (days === 0) return { kind: "today" };
  if (days <= DUE_SOON_DAYS) return { kind: "soon", days };
  return null;
}
