import { describe, expect, it } from "vitest";
import type { Status } from "../bindings/Status";
import { DAY, NOW, row, sampleRows, TZ } from "../testing/rows";
import { dueHint, isClosed, isOverdue, OPEN_STATUSES } from "./due";
import {
  compareForList,
  FILTER_STATUSES,
  isFiltered,
  NO_FILTER,
  orderForList,
  queryFor,
  searchText,
  STATUS_FILTERS,
  type TaskFilter,
} from "./filter";

const ALL_STATUSES: Status[] = ["assigned", "in_progress", "submitted", "returned", "approved", "published", "cancelled"];

describe("overdue rule", () => {
  it("is past due and not approved, published or cancelled", () => {
    const past = NOW - 1;
    expect(ALL_STATUSES.filter((status) => isOverdue({ status, due: past }, NOW))).toEqual([
      "assigned",
      "in_progress",
      "submitted",
      "returned",
    ]);
  });

  it("is not overdue at or before the due time", () => {
    expect(isOverdue({ status: "assigned", due: NOW }, NOW)).toBe(false);
    expect(isOverdue({ status: "assigned", due: NOW + DAY }, NOW)).toBe(false);
  });
});

describe("dueHint", () => {
  const at = (due: number, status: Status = "assigned") => dueHint({ due, status }, NOW, TZ);

  it("counts calendar days overdue", () => {
    expect(at(NOW - 3 * DAY)).toEqual({ kind: "overdue", days: 3 });
    expect(at(NOW - 60_000)).toEqual({ kind: "overdue", days: 0 });
  });

  it("says today, or how many days are left when that is soon", () => {
    expect(at(NOW + 60_000)).toEqual({ kind: "today" });
    expect(at(NOW + 2 * DAY)).toEqual({ kind: "soon", days: 2 });
    expect(at(NOW + 10 * DAY)).toBeNull();
  });

  it("says nothing for closed tasks", () => {
    expect(at(NOW - 3 * DAY, "approved")).toBeNull();
    expect(at(NOW + DAY, "cancelled")).toBeNull();
  });
});

describe("filter → store query", () => {
  const clock = { nowMs: NOW, timeZone: TZ };
  const query = (filter: Partial<TaskFilter>) => queryFor({ ...NO_FILTER, ...filter }, clock);
  /** The last millisecond of the day `days` days after 29 Nov 2026 in Beijing (UTC+8). */
  const endOfBeijingDay = (days: number) => Date.UTC(2026, 10, 29 + days, 16, 0) - 1;

  it("asks for everything when nothing is chosen", () => {
    expect(queryFor(NO_FILTER, clock)).toEqual({ statuses: [], department: null, text: null, due_before: null, limit: null });
  });

  it("maps each chip to its statuses", () => {
    expect(query({ status: "todo" })?.statuses).toEqual(["assigned"]);
    expect(query({ status: "returned" })?.statuses).toEqual(["returned"]);
    expect(query({ status: "done" })?.statuses).toEqual(["approved", "published"]);
  });

  it("gives every status but cancelled a chip of its own", () => {
    const chipped = STATUS_FILTERS.flatMap((f) => FILTER_STATUSES[f]);
    expect(ALL_STATUSES.filter((s) => !chipped.includes(s))).toEqual(["cancelled"]);
  });

  it("sends the search text trimmed, and none when blank", () => {
    expect(query({ text: "  钱塘  化工 " })?.text).toBe("钱塘 化工");
    expect(searchText({ ...NO_FILTER, text: "   " })).toBeNull();
    expect(query({ status: "done", text: "JX-2026" })).toEqual({
      statuses: ["approved", "published"],
      department: null,
      text: "JX-2026",
      due_before: null,
      limit: null,
    });
  });

  it("sends the department code", () => {
    expect(query({ department: "SCJG" })).toEqual({ statuses: [], department: "SCJG", text: null, due_before: null, limit: null });
  });

  it("asks for open tasks due before now when overdue is chosen", () => {
    expect(query({ due: "overdue" })).toEqual({
      statuses: ["assigned", "in_progress", "submitted", "returned"],
      department: null,
      text: null,
      due_before: NOW - 1,
      limit: null,
    });
    // Exactly as the rows' own overdue marker has it.
    const rows = [row({ id: "1", due: NOW - 1 }), row({ id: "2", due: NOW }), row({ id: "3", due: NOW - DAY, status: "approved" })];
    const q = query({ due: "overdue" })!;
    const shown = rows.filter((r) => q.statuses.includes(r.status) && r.due <= q.due_before!);
    expect(shown.map((r) => r.id)).toEqual(rows.filter((r) => isOverdue(r, NOW)).map((r) => r.id));
  });

  it("asks for open tasks due by the end of a calendar day in the time zone", () => {
    expect(query({ due: "today" })?.due_before).toBe(endOfBeijingDay(0));
    expect(query({ due: "within3" })?.due_before).toBe(endOfBeijingDay(3));
    expect(query({ due: "within7" })?.due_before).toBe(endOfBeijingDay(7));
    expect(query({ due: "today" })?.statuses).toEqual(OPEN_STATUSES);
    // Another time zone, another day: 10:00 in Beijing is 02:00 UTC.
    expect(queryFor({ ...NO_FILTER, due: "today" }, { nowMs: NOW, timeZone: "UTC" })?.due_before).toBe(
      Date.UTC(2026, 10, 30) - 1,
    );
  });

  it("matches the due hints: due within 3 days is what says 3 days left or less", () => {
    const cutoff = query({ due: "within3" })!.due_before!;
    expect(dueHint({ due: cutoff, status: "assigned" }, NOW, TZ)).toEqual({ kind: "soon", days: 3 });
    expect(dueHint({ due: cutoff + 1, status: "assigned" }, NOW, TZ)).toBeNull();
  });

  it("combines a due filter with the chip's open statuses", () => {
    expect(query({ status: "todo", due: "overdue", department: "XFJY", text: "餐馆" })).toEqual({
      statuses: ["assigned"],
      department: "XFJY",
      text: "餐馆",
      due_before: NOW - 1,
      limit: null,
    });
    expect(query({ status: "returned", due: "within7" })?.statuses).toEqual(["returned"]);
  });

  it("asks nothing when no task can match: closed tasks are never due", () => {
    expect(query({ status: "done", due: "overdue" })).toBeNull();
    expect(query({ status: "done", due: "today" })).toBeNull();
    expect(query({ status: "done", due: "any" })).not.toBeNull();
  });

  it("knows when a filter is set", () => {
    expect(isFiltered(NO_FILTER)).toBe(false);
    expect(isFiltered({ ...NO_FILTER, text: " " })).toBe(false);
    expect(isFiltered({ ...NO_FILTER, status: "todo" })).toBe(true);
    expect(isFiltered({ ...NO_FILTER, text: "x" })).toBe(true);
    expect(isFiltered({ ...NO_FILTER, department: "SCJG" })).toBe(true);
    expect(isFiltered({ ...NO_FILTER, due: "overdue" })).toBe(true);
  });

});

describe("open statuses", () => {
  it("are every status that is not closed", () => {
    expect(ALL_STATUSES.filter((s) => !isClosed(s))).toEqual(OPEN_STATUSES);
  });
});

describe("row order", () => {
  it("puts open tasks first, soonest due on top, then closed ones, latest first", () => {
    const rows = sampleRows();
    expect(orderForList(rows).map((r) => r.id)).toEqual(["2", "3", "1", "4", "7", "5", "6"]);
  });

  it("breaks ties by task code", () => {
    const x = row({ id: "2", due: NOW });
    const y = row({ id: "1", due: NOW });
    expect([x, y].sort(compareForList).map((r) => r.code)).toEqual(["JX-2026-000001", "JX-2026-000002"]);
  });
});
