import { describe, expect, it } from "vitest";
import { CATALOG_KINDS } from "./api/types";
import {
  type CatalogRow,
  FORM_FIELDS,
  KEY_FIELDS,
  type Names,
  blankForm,
  cellsOf,
  entryOf,
  fieldCheck,
  formOf,
  keyOf,
  rowsOf,
  shorten,
  usccCheck,
} from "./directoryEntry";
import { catalog } from "./testing/fixtures";

const rowsOfEveryKind = (): CatalogRow[] => {
  const rows = catalog();
  return CATALOG_KINDS.flatMap((kind) => {
    switch (kind) {
      case "departments":
        return rowsOf({ kind, rows: rows.departments });
      case "industries":
        return rowsOf({ kind, rows: rows.industries });
      case "teams":
        return rowsOf({ kind, rows: rows.teams });
      case "inspectors":
        return rowsOf({ kind, rows: rows.inspectors });
      case "subjects":
        return rowsOf({ kind, rows: rows.subjects });
      case "items":
        return rowsOf({ kind, rows: rows.items });
      case "handbooks":
        return rowsOf({ kind, rows: rows.handbooks });
    }
  });
};

describe("directory entries", () => {
  it("turn into a form and back into exactly the same entry, for every kind", () => {
    const rows = rowsOfEveryKind();
    expect(new Set(rows.map((r) => r.kind))).toEqual(new Set(CATALOG_KINDS));
    for (const row of rows) {
      const form = formOf(row);
      expect(entryOf(row.kind, form), `${row.kind} ${keyOf(row)}`).toEqual(row);
      expect(form[KEY_FIELDS[row.kind]]).toBe(keyOf(row));
      expect(FORM_FIELDS[row.kind][0]).toBe(KEY_FIELDS[row.kind]);
    }
  });

  it("leave the row alone when the form's lists change", () => {
    const row: CatalogRow = { kind: "handbooks", entry: catalog().handbooks[0]! };
    const form = formOf(row);
    form.items.pop();
    form.departments.push("GA");
    expect(row.entry.items).toHaveLength(3);
    expect(row.entry.departments).toEqual(["SCJG", "XFJY"]);
  });

  it("are made of trimmed texts, an upper-case USCC, and no fields of other kinds", () => {
    const form = { ...blankForm(), id: " I-9 ", name: " 周八 ", badge_no: "1", department: "SCJG", team: "T-1", title: "x", uscc: "y" };
    expect(entryOf("inspectors", form)).toEqual({
      kind: "inspectors",
      entry: { id: "I-9", name: "周八", badge_no: "1", department: "SCJG", team: "T-1" },
    });
    const subject = { ...blankForm(), uscc: " 91330106ma28yyyyy3 ", risk_class: "A" as const, lat: 0, lon: -1 };
    const made = entryOf("subjects", subject);
    expect(made?.kind === "subjects" ? [made.entry.uscc, made.entry.location] : null).toEqual(["91330106MA28YYYYY3", { lat: 0, lon: -1 }]);
    // Without a risk class or a position there is no subject yet.
    expect(entryOf("subjects", { ...subject, lat: null })).toBeNull();
    expect(entryOf("subjects", { ...subject, risk_class: "" })).toBeNull();
    expect(entryOf("teams", { ...blankForm(), id: "T", name: "n", departments: ["SCJG"] })).toBeNull();
  });

  it("check required fields, but not an item's industries nor its switch", () => {
    const form = blankForm();
    expect(fieldCheck("items", "title", form, [])?.key).toBe("directory.check.required");
    expect(fieldCheck("items", "industries", form, [])).toBeNull();
    expect(fieldCheck("items", "requires_evidence", form, [])).toBeNull();
    expect(fieldCheck("teams", "departments", form, [])?.key).toBe("directory.check.required");
    expect(fieldCheck("subjects", "lat", form, [])?.key).toBe("directory.check.required");
    expect(fieldCheck("subjects", "lat", { ...form, lat: 0 }, [])).toBeNull();
    expect(fieldCheck("subjects", "lat", { ...form, lat: 90.5 }, [])?.key).toBe("directory.check.latitude");
    expect(fieldCheck("subjects", "lon", { ...form, lon: -180.5 }, [])?.key).toBe("directory.check.longitude");
    expect(fieldCheck("departments", "name", { ...form, name: " \t" }, [])?.key).toBe("directory.check.required");
  });

  it("check a USCC's length and characters (the server checks the rest)", () => {
    expect(usccCheck("91330106MA28YYYYY3")).toBeNull();
    expect(usccCheck(" 91330106ma28yyyyy3 ")).toBeNull();
    expect(usccCheck("91330106MA28YYYYY")).toEqual({ key: "directory.check.usccLength", params: { length: 17 } });
    expect(usccCheck("91330106MA28YYYYY33")).toEqual({ key: "directory.check.usccLength", params: { length: 19 } });
    for (const bad of ["I", "O", "S", "V", "Z", "-", "中"]) {
      expect(usccCheck(`91330106MA28YYYY${bad}3`)?.key, bad).toBe("directory.check.usccCharacters");
    }
  });

  it("check that a handbook's lead department and items belong to its departments", () => {
    const items = catalog().items;
    const form = { ...blankForm(), industry: "LS", departments: ["SCJG"], lead_department: "XFJY", items: ["SCJG-CY-003"] };
    expect(fieldCheck("handbooks", "lead_department", form, items)?.key).toBe("directory.check.lead");
    expect(fieldCheck("handbooks", "lead_department", { ...form, lead_department: "SCJG" }, items)).toBeNull();
    expect(fieldCheck("handbooks", "items", form, items)).toBeNull();
    expect(fieldCheck("handbooks", "items", { ...form, items: ["SCJG-CY-003", "XFJY-01", "UNKNOWN-1"] }, items)).toEqual({
      key: "directory.check.itemDepartments",
      params: { items: "XFJY-01" },
    });
  });

  it("fill the table's cells with names, a team's kind, a count and a shortened legal basis", () => {
    const names: Names = {
      department: (code) => `dept:${code}`,
      industry: (code) => `ind:${code}`,
      team: (id) => `team:${id}`,
      teamKind: (kind) => `kind:${kind}`,
      itemCount: (count) => `${count} items`,
    };
    const cells = Object.fromEntries(rowsOfEveryKind().map((row) => [`${row.kind}/${keyOf(row)}`, cellsOf(row, names)]));
    expect(cells["teams/T-DS-01"]).toEqual(["T-DS-01", "东山镇综合执法队", "kind:township_squad", "dept:SCJG、dept:XFJY"]);
    expect(cells["inspectors/I-004"]).toEqual(["I-004", "孙丽", "33010620004", "dept:SCJG", "team:T-XS-02"]);
    expect(cells["subjects/92330106MA27XXXXX1"]).toEqual(["92330106MA27XXXXX1", "西湖区鲜味餐馆", "B", "ind:CY", "杭州市西湖区文三路 1 号"]);
    expect(cells["handbooks/CY"]).toEqual(["CY", "ind:CY", "dept:SCJG", "3 items"]);
    expect(cells["items/XFJY-01"]).toEqual(["XFJY-01", "dept:XFJY", "疏散通道畅通", "《消防法》第二十八条"]);
    expect(shorten("一二三四五", 5)).toBe("一二三四五");
    expect(shorten("一二三四五六", 5)).toBe("一二三四…");
  });
});
