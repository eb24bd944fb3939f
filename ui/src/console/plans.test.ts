import { describe, expect, it } from "vitest";
import {
  basisPointsOf,
  blankPlanForm,
  defaultWindow,
  formOfSpec,
  listOf,
  percentOf,
  planProblems,
  readinessOf,
  specOf,
  withSplit,
  withoutSplit,
} from "./plans";
import { NOW, planSpec, planView } from "./testing/fixtures";

describe("plan ratios", () => {
  it("shows basis points as percent and reads percent back", () => {
    expect([300, 500, 1000, 10000, 250, 1, 10, 0].map(percentOf)).toEqual(["3", "5", "10", "100", "2.5", "0.01", "0.1", "0"]);
    expect(["3", "2.5", "0.01", "100", " 7.25 ", "12%", "1,5", "0"].map(basisPointsOf)).toEqual([300, 250, 1, 10000, 725, 1200, 150, 0]);
  });

  it("refuses what is not a percent from 0 to 100 with at most two decimals", () => {
    expect(["", "abc", "-1", "100.01", "101", "0.001", "1e2", "."].map(basisPointsOf)).toEqual([null, null, null, null, null, null, null, null]);
  });
});

describe("a new plan", () => {
  it("starts next week (Monday, Beijing) for a month, with the default ratios and two inspectors", () => {
    // NOW is Thursday 2026-12-03, 16:00 in Beijing.
    expect(defaultWindow(NOW)).toEqual({ start: "2026-12-07", due: "2027-01-06" });
    // A Monday (Beijing) starts the Monday after.
    expect(defaultWindow(Date.UTC(2026, 11, 6, 17, 0)).start).toBe("2026-12-14");
    const form = blankPlanForm(NOW);
    expect(form.ratios).toEqual({ A: "3", B: "5", C: "10", D: "100" });
    expect(form.inspectors_per_task).toBe(2);
    expect(form.entropy_sources).toEqual([""]);
    expect(form.special).toBe(false);
  });
});

describe("plan form ⇄ spec", () => {
  it("gives back the same spec", () => {
    const spec = planSpec({ special_reason: "投诉集中", filter: { industries: ["CY", "LS"], townships: ["东山镇"], classes: ["A", "C"] } });
    expect(specOf(formOfSpec(spec))).toEqual(spec);
  });

  it("sends ratios in basis points, lists split, texts trimmed, and no reason unless special", () => {
    const form = { ...formOfSpec(planSpec()), name: "  计划  ", industries: "CY，LS、 CY", townships: "", special: false, special_reason: "留着" };
    form.ratios = { A: "2.5", B: "5", C: "12.75", D: "100" };
    const spec = specOf(form);
    expect(spec?.ratios).toEqual({ A: 250, B: 500, C: 1275, D: 10000 });
    expect(spec?.name).toBe("计划");
    expect(spec?.filter.industries).toEqual(["CY", "LS"]);
    expect(spec?.filter.townships).toEqual([]);
    expect(spec?.special_reason).toBeNull();
    expect(specOf({ ...form, ratios: { ...form.ratios, B: "x" } })).toBeNull();
    expect(listOf(" a, b;c  d ")).toEqual(["a", "b", "c", "d"]);
  });

  it("names each field's problem", () => {
    const departmentOf = (id: string) => ({ "SCJG-CY-001": "SCJG", "XFJY-01": "XFJY" })[id];
    expect(planProblems(formOfSpec(planSpec()), departmentOf)).toEqual({});
    const blank = blankPlanForm(NOW);
    expect(Object.keys(planProblems(blank, departmentOf)).sort()).toEqual(["departments", "entropy_sources", "items", "name", "teams"]);
    const bad = {
      ...formOfSpec(planSpec()),
      departments: ["SCJG"],
      lead_department: "XFJY",
      ratios: { A: "3", B: "500", C: "10", D: "-" },
      due: "2026-12-01",
      special: true,
      special_reason: " ",
    };
    expect(planProblems(bad, departmentOf)).toEqual({
      lead_department: { key: "plans.check.lead" },
      items: { key: "plans.check.itemDepartments", params: { items: "XFJY-01" } },
      ratios: { key: "plans.check.ratios", params: { classes: "B、D" } },
      window: { key: "plans.check.windowOrder" },
      special_reason: { key: "plans.check.specialReason" },
    });
  });
});

describe("draws", () => {
  it("says which plans can be drawn", () => {
    expect(readinessOf(planView("P-1"))).toBe("draft");
    expect(readinessOf(planView("P-1", { state: "fixed" }))).toBe("no_entropy");
    expect(readinessOf(planView("P-1", { state: "fixed", entropy: { values: ["1"], entered_by: "S-1", entered_at: NOW } }))).toBe("ready");
    expect(readinessOf(planView("P-1", { state: "drawn" }))).toBe("drawn");
  });

  it("adds and takes off undone merges", () => {
    expect(withSplit(["B"], "A")).toEqual(["A", "B"]);
    expect(withSplit(["A"], "A")).toEqual(["A"]);
    expect(withoutSplit(["A", "B"], "A")).toEqual(["B"]);
  });
});
