import { describe, expect, it } from "vitest";
import {
  DEFAULT_PER_PAGE,
  emptyFilter,
  filterFromQuery,
  filterToParams,
  filterToQuery,
  sortFromTable,
  tableSortOf,
} from "./filter";

describe("task filter ⇄ URL query", () => {
  it("an empty query is the empty filter, and the empty filter an empty query", () => {
    expect(filterFromQuery({})).toEqual(emptyFilter());
    expect(filterToQuery(emptyFilter())).toEqual({});
  });

  it("reads what the dashboard links ask for", () => {
    expect(filterFromQuery({ status: "submitted" }).status).toEqual(["submitted"]);
    expect(filterFromQuery({ overdue: "true" }).overdue).toBe(true);
    expect(filterFromQuery({ returned: "true" }).returned).toBe(true);
    expect(filterFromQuery({ rectification_due: "true" }).rectification_due).toBe(true);
    expect(filterFromQuery({ joint: "true" }).joint).toBe(true);
    expect(filterFromQuery({ joint: "false" }).joint).toBe(false);
    expect(filterFromQuery({ joint: "true", year: "2026" })).toMatchObject({ joint: true, year: 2026 });
    expect(filterFromQuery({ department: "SCJG", status: "approved" })).toMatchObject({
      department: "SCJG",
      status: ["approved"],
    });
  });

  it("takes several statuses, repeated or comma-separated, in the canonical order, and drops unknown ones", () => {
    expect(filterFromQuery({ status: ["returned", "submitted"] }).status).toEqual(["submitted", "returned"]);
    expect(filterFromQuery({ status: "approved,assigned,bogus" }).status).toEqual(["assigned", "approved"]);
  });

  it("ignores values that make no sense", () => {
    const f = filterFromQuery({ page: "0", per_page: "9999", sort: "price", due_from: "soon", joint: "maybe", overdue: "yes", year: "1066" });
    expect(f.page).toBe(1);
    expect(f.per_page).toBe(200);
    expect(f.sort).toBeNull();
    expect(f.due_from).toBeNull();
    expect(f.joint).toBeNull();
    expect(f.overdue).toBe(false);
    expect(f.year).toBeNull();
  });

  it("round-trips every field through the URL", () => {
    const filter = {
      ...emptyFilter(),
      status: ["submitted" as const, "returned" as const],
      department: "SCJG",
      team: "T-DS-01",
      inspector: "I-002",
      q: "鲜味",
      due_from: 1_700_000_000_000,
      due_to: 1_800_000_000_000,
      overdue: true,
      returned: true,
      rectification_due: true,
      joint: false,
      year: 2026,
      sort: "-due" as const,
      page: 4,
      per_page: 100,
    };
    const query = filterToQuery(filter);
    expect(query).toEqual({
      status: ["submitted", "returned"],
      department: "SCJG",
      team: "T-DS-01",
      inspector: "I-002",
      q: "鲜味",
      due_from: "1700000000000",
      due_to: "1800000000000",
      overdue: "true",
      returned: "true",
      rectification_due: "true",
      joint: "false",
      year: "2026",
      sort: "-due",
      page: "4",
      per_page: "100",
    });
    expect(filterFromQuery(query)).toEqual(filter);
  });

  it("gives the API page and per_page always, the URL only when not default", () => {
    const params = filterToParams({ ...emptyFilter(), q: "  餐馆 " }, true);
    expect(params.toString()).toBe(`q=${encodeURIComponent("餐馆")}&page=1&per_page=${DEFAULT_PER_PAGE}`);
    expect(filterToParams(emptyFilter(), false).toString()).toBe("");
  });

  it("maps table sorting to sort keys and back", () => {
    expect(sortFromTable("due", "descending")).toBe("-due");
    expect(sortFromTable("subject_name", "ascending")).toBe("subject");
    expect(sortFromTable("updated_at", "descending")).toBe("-updated");
    expect(sortFromTable("due", null)).toBeNull();
    expect(sortFromTable("evidence", "ascending")).toBeNull();
    expect(tableSortOf("-updated")).toEqual({ prop: "updated_at", order: "descending" });
    expect(tableSortOf("code")).toEqual({ prop: "code", order: "ascending" });
    expect(tableSortOf(null)).toBeUndefined();
  });
});
