// The directory editor's entries (views/DirectoryView.vue): the table's cells
// of each kind, and one flat form for every kind whose fields keep the
// entries' names (`badge_no`, `lead_department`), filled from an entry and
// turned back into exactly one entry of its kind. Also the checks the page
// makes before anything is sent; the server checks the rest (a USCC's check
// digit, unknown codes, whose items a handbook names).

import type { CatalogEntry, CatalogKind, CatalogList, Item, RiskClass, TeamKind } from "./api/types";
import type { MessageKey, Params } from "./i18n";
import { IMPORT_HEADERS } from "./importFile";

/** An entry with its kind: a switch on `kind` narrows `entry`. */
export type CatalogRow = { [K in CatalogKind]: { kind: K; entry: CatalogEntry<K> } }[CatalogKind];

/** Every field of every kind; a kind uses those `FORM_FIELDS` lists. */
export interface EntryForm {
  code: string;
  id: string;
  uscc: string;
  name: string;
  name_en: string;
  kind: TeamKind | "";
  departments: string[];
  badge_no: string;
  department: string;
  team: string;
  address: string;
  industry: string;
  risk_class: RiskClass | "";
  lat: number | null;
  lon: number | null;
  legal_rep: string;
  title: string;
  legal_basis: string;
  industries: string[];
  requires_evidence: boolean;
  lead_department: string;
  items: string[];
}
export type FormField = keyof EntryForm;

/**
 * The fields of each kind, in the dialog's order, the key first: the importer's
 * CSV columns (a form field is named after its column).
 */
export const FORM_FIELDS: Readonly<Record<CatalogKind, readonly FormField[]>> = IMPORT_HEADERS;

/** The field that names an entry: a row with the same key is replaced. */
export const KEY_FIELDS: Readonly<Record<CatalogKind, "code" | "id" | "uscc" | "industry">> = {
  departments: "code",
  industries: "code",
  teams: "id",
  inspectors: "id",
  subjects: "uscc",
  items: "id",
  handbooks: "industry",
};

/** Fields that may stay empty: an item's industries (none: every industry) and a switch. */
const OPTIONAL: ReadonlySet<FormField> = new Set<FormField>(["industries", "requires_evidence"]);

export function isOptional(field: FormField): boolean {
  return OPTIONAL.has(field);
}

export function blankForm(): EntryForm {
  return {
    code: "",
    id: "",
    uscc: "",
    name: "",
    name_en: "",
    kind: "",
    departments: [],
    badge_no: "",
    department: "",
    team: "",
    address: "",
    industry: "",
    risk_class: "",
    lat: null,
    lon: null,
    legal_rep: "",
    title: "",
    legal_basis: "",
    industries: [],
    requires_evidence: false,
    lead_department: "",
    items: [],
  };
}

export function keyOf(row: CatalogRow): string {
  switch (row.kind) {
    case "departments":
    case "industries":
      return row.entry.code;
    case "teams":
    case "inspectors":
    case "items":
      return row.entry.id;
    case "subjects":
      return row.entry.uscc;
    case "handbooks":
      return row.entry.industry;
  }
}

/** The form showing `row` (lists copied: editing the form leaves the row as it is). */
export function formOf(row: CatalogRow): EntryForm {
  const form = blankForm();
  switch (row.kind) {
    case "departments":
    case "industries": {
      const { code, name, name_en } = row.entry;
      return { ...form, code, name, name_en };
    }
    case "teams": {
      const { id, name, kind, departments } = row.entry;
      return { ...form, id, name, kind, departments: [...departments] };
    }
    case "inspectors": {
      const { id, name, badge_no, department, team } = row.entry;
      return { ...form, id, name, badge_no, department, team };
    }
    case "subjects": {
      const { uscc, name, address, industry, risk_class, location, legal_rep } = row.entry;
      return { ...form, uscc, name, address, industry, risk_class, lat: location.lat, lon: location.lon, legal_rep };
    }
    case "items": {
      const { id, department, title, legal_basis, industries, requires_evidence } = row.entry;
      return { ...form, id, department, title, legal_basis, industries: [...industries], requires_evidence };
    }
    case "handbooks": {
      const { industry, departments, lead_department, items } = row.entry;
      return { ...form, industry, departments: [...departments], lead_department, items: [...items] };
    }
  }
}

/** A USCC as the server reads it: no spaces around, upper case. */
export function normalUscc(text: string): string {
  return text.trim().toUpperCase();
}

/**
 * The entry of `kind` the form describes, its texts trimmed and nothing but
 * the kind's fields; null while a choice or a number the entry needs is
 * missing (the form's checks say which).
 */
export function entryOf(kind: CatalogKind, form: EntryForm): CatalogRow | null {
  const s = (text: string) => text.trim();
  switch (kind) {
    case "departments":
      return { kind, entry: { code: s(form.code), name: s(form.name), name_en: s(form.name_en) } };
    case "industries":
      return { kind, entry: { code: s(form.code), name: s(form.name), name_en: s(form.name_en) } };
    case "teams":
      if (form.kind === "") return null;
      return { kind, entry: { id: s(form.id), name: s(form.name), kind: form.kind, departments: [...form.departments] } };
    case "inspectors":
      return {
        kind,
        entry: { id: s(form.id), name: s(form.name), badge_no: s(form.badge_no), department: form.department, team: form.team },
      };
    case "subjects":
      if (form.risk_class === "" || form.lat === null || form.lon === null) return null;
      return {
        kind,
        entry: {
          uscc: normalUscc(form.uscc),
          name: s(form.name),
          address: s(form.address),
          industry: form.industry,
          risk_class: form.risk_class,
          location: { lat: form.lat, lon: form.lon },
          legal_rep: s(form.legal_rep),
        },
      };
    case "items":
      return {
        kind,
        entry: {
          id: s(form.id),
          department: form.department,
          title: s(form.title),
          legal_basis: s(form.legal_basis),
          industries: [...form.industries],
          requires_evidence: form.requires_evidence,
        },
      };
    case "handbooks":
      return {
        kind,
        entry: {
          industry: form.industry,
          departments: [...form.departments],
          lead_department: form.lead_department,
          items: [...form.items],
        },
      };
  }
}

/** What is wrong with a field, as a message key and its placeholders (`{field}` is the view's). */
export interface Check {
  key: MessageKey;
  params: Params;
}

/** The characters of a USCC (GB 32100-2015): digits and capitals but I, O, S, V and Z. */
const USCC_CHARS = /^[0-9A-HJ-NPQRTUWXY]*$/;

/** What the page can tell of a USCC (the server checks the division code and the check digit). */
export function usccCheck(text: string): Check | null {
  const uscc = normalUscc(text);
  if (uscc.length !== 18) return { key: "directory.check.usccLength", params: { length: uscc.length } };
  if (!USCC_CHARS.test(uscc)) return { key: "directory.check.usccCharacters", params: {} };
  return null;
}

function empty(value: EntryForm[FormField]): boolean {
  if (typeof value === "string") return value.trim() === "";
  if (Array.isArray(value)) return value.length === 0;
  return value === null;
}

/**
 * The first problem of one field of a `kind` form, or null. `items` are the
 * supervision items the page knows, to tell a handbook's items of other
 * departments (items it does not know are left to the server).
 */
export function fieldCheck(kind: CatalogKind, field: FormField, form: EntryForm, items: readonly Item[]): Check | null {
  if (!OPTIONAL.has(field) && empty(form[field])) return { key: "directory.check.required", params: {} };
  switch (field) {
    case "uscc":
      return usccCheck(form.uscc);
    case "lat":
      return form.lat !== null && Math.abs(form.lat) > 90 ? { key: "directory.check.latitude", params: {} } : null;
    case "lon":
      return form.lon !== null && Math.abs(form.lon) > 180 ? { key: "directory.check.longitude", params: {} } : null;
    case "lead_department":
      return kind === "handbooks" && !form.departments.includes(form.lead_department)
        ? { key: "directory.check.lead", params: {} }
        : null;
    case "items": {
      if (kind !== "handbooks") return null;
      const outside = form.items.filter((id) => {
        const item = items.find((i) => i.id === id);
        return item !== undefined && !form.departments.includes(item.department);
      });
      return outside.length === 0 ? null : { key: "directory.check.itemDepartments", params: { items: outside.join("、") } };
    }
    default:
      return null;
  }
}

/** How the table names what an entry refers to. */
export interface Names {
  department(code: string): string;
  industry(code: string): string;
  team(id: string): string;
  teamKind(kind: TeamKind): string;
  itemCount(count: number): string;
}

export interface Column {
  label: MessageKey;
  minWidth: number;
  /** Codes in a monospaced font. */
  mono?: true;
}

/** The table's columns of each kind; `cellsOf` gives a row's texts in the same order. */
export const COLUMNS: Readonly<Record<CatalogKind, readonly Column[]>> = {
  departments: [
    { label: "directory.field.code", minWidth: 120, mono: true },
    { label: "directory.field.name", minWidth: 160 },
    { label: "directory.field.name_en", minWidth: 200 },
  ],
  industries: [
    { label: "directory.field.code", minWidth: 120, mono: true },
    { label: "directory.field.name", minWidth: 160 },
    { label: "directory.field.name_en", minWidth: 200 },
  ],
  teams: [
    { label: "directory.field.id", minWidth: 120, mono: true },
    { label: "directory.field.name", minWidth: 180 },
    { label: "directory.field.kind", minWidth: 150 },
    { label: "directory.field.departments", minWidth: 220 },
  ],
  inspectors: [
    { label: "directory.field.id", minWidth: 100, mono: true },
    { label: "directory.field.personName", minWidth: 100 },
    { label: "directory.field.badge_no", minWidth: 140, mono: true },
    { label: "directory.field.department", minWidth: 140 },
    { label: "directory.field.team", minWidth: 180 },
  ],
  subjects: [
    { label: "directory.field.uscc", minWidth: 190, mono: true },
    { label: "directory.field.name", minWidth: 180 },
    { label: "directory.field.risk_class", minWidth: 110 },
    { label: "directory.field.industry", minWidth: 120 },
    { label: "directory.field.address", minWidth: 220 },
  ],
  items: [
    { label: "directory.field.id", minWidth: 130, mono: true },
    { label: "directory.field.department", minWidth: 120 },
    { label: "directory.field.title", minWidth: 220 },
    { label: "directory.field.legal_basis", minWidth: 220 },
  ],
  handbooks: [
    { label: "directory.field.industry", minWidth: 120, mono: true },
    { label: "directory.col.industryName", minWidth: 140 },
    { label: "directory.field.lead_department", minWidth: 140 },
    { label: "directory.col.itemCount", minWidth: 100 },
  ],
};

/** How much of an item's legal basis the table shows. */
export const LEGAL_BASIS_SHOWN = 40;

/** `text`, cut to `max` characters with an ellipsis. */
export function shorten(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join("")}…`;
}

/** The texts of a row's cells, in `COLUMNS` order. */
export function cellsOf(row: CatalogRow, names: Names): string[] {
  switch (row.kind) {
    case "departments":
    case "industries":
      return [row.entry.code, row.entry.name, row.entry.name_en];
    case "teams":
      return [
        row.entry.id,
        row.entry.name,
        names.teamKind(row.entry.kind),
        row.entry.departments.map((d) => names.department(d)).join("、"),
      ];
    case "inspectors":
      return [
        row.entry.id,
        row.entry.name,
        row.entry.badge_no,
        names.department(row.entry.department),
        names.team(row.entry.team),
      ];
    case "subjects":
      return [row.entry.uscc, row.entry.name, row.entry.risk_class, names.industry(row.entry.industry), row.entry.address];
    case "items":
      return [
        row.entry.id,
        names.department(row.entry.department),
        row.entry.title,
        shorten(row.entry.legal_basis, LEGAL_BASIS_SHOWN),
      ];
    case "handbooks":
      return [
        row.entry.industry,
        names.industry(row.entry.industry),
        names.department(row.entry.lead_department),
        names.itemCount(row.entry.items.length),
      ];
  }
}

/** A page's rows, each with its kind. */
export function rowsOf(list: CatalogList): CatalogRow[] {
  switch (list.kind) {
    case "departments":
      return list.rows.map((entry): CatalogRow => ({ kind: "departments", entry }));
    case "industries":
      return list.rows.map((entry): CatalogRow => ({ kind: "industries", entry }));
    case "teams":
      return list.rows.map((entry): CatalogRow => ({ kind: "teams", entry }));
    case "inspectors":
      return list.rows.map((entry): CatalogRow => ({ kind: "inspectors", entry }));
    case "subjects":
      return list.rows.map((entry): CatalogRow => ({ kind: "subjects", entry }));
    case "items":
      return list.rows.map((entry): CatalogRow => ({ kind: "items", entry }));
    case "handbooks":
      return list.rows.map((entry): CatalogRow => ({ kind: "handbooks", entry }));
  }
}
