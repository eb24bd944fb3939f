import { describe, expect, it } from "vitest";
import type { Status } from "../bindings/Status";
import { DAY, NOW, row, sampleRows, TZ } from "../testing/rows";
import { dueHint, isOverdue } from "./due";
import { compareForList, FILTER_STATUSES, isFiltered, orderForList, queryFor, searchText, STATUS_FILTERS } from "./filter";

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
  it("asks for everything when nothing is chosen", () => {
    expect(queryFor({ status: "all", text: "" })).toEqual({ statuses: [], department: null, text: null, limit: null });
  });

  it("maps each chip to its statuses", () => {
    expect(queryFor({ status: "todo", text: "" }).statuses).toEqual(["assigned"]);
    expect(queryFor({ status: "returned", text: "" }).statuses).toEqual(["returned"]);
    expect(queryFor({ status: "done", text: "" }).statuses).toEqual(["approved", "published"]);
  });

  it("gives every status but cancelled a chip of its own", () => {
    const chipped = STATUS_FILTERS.flatMap((f) => FILTER_STATUSES[f]);
    expect(ALL_STATUSES.filter((s) => !chipped.includes(s))).toEqual(["cancelled"]);
  });

  it("sends the search text trimmed, and none when blank", () => {
    expect(queryFor({ status: "all", text: "  钱塘  化工 " }).text).toBe("钱塘 化工");
    expect(searchText({ status: "all", text: "   " })).toBeNull();
    expect(queryFor({ status: "done", text: "JX-2026" })).toEqual({
      statuses: ["approved", "published"],
      department: null,
      text: "JX-2026",
      limit: null,
    });
  });

  it("knows when a filter is set", () => {
    expect(isFiltered({ status: "all", text: " " })).toBe(false);
    expect(isFiltered({ status: "todo", text: "" })).toBe(true);
    expect(isFiltered({ status: "all", text: "x" })).toBe(true);
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
