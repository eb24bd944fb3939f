// Checks a task document against the "Paths and types" table of docs/schema.md,
// read from the published doc itself, using Automerge's typed low-level view.
import { readFileSync } from "node:fs";
import * as A from "@automerge/automerge";
import type { TaskDoc } from "../src/client.js";

/** A schema path such as `checklist.<item id>.answer.result`, mapped to its allowed types. */
export type SchemaTable = Map<string, Set<string>>;

export function readSchemaTable(schemaMd: string): SchemaTable {
  const text = readFileSync(schemaMd, "utf8");
  const begin = text.indexOf("<!-- paths:begin -->");
  const end = text.indexOf("<!-- paths:end -->");
  if (begin < 0 || end < 0) throw new Error("docs/schema.md has no paths table");
  const table: SchemaTable = new Map();
  for (const line of text.slice(begin, end).split("\n")) {
    const m = /^\|\s*`([^`]+)`\s*\|\s*(.+?)\s*\|\s*$/.exec(line);
    if (!m) continue;
    const types = m[2]!.split("\\|").map((t) => t.trim());
    table.set(m[1]!, new Set(types));
  }
  return table;
}

/** Automerge datatype names as the schema table spells them. */
function schemaTypeName(datatype: string): string {
  return datatype === "boolean" ? "bool" : datatype;
}

export interface TypedValue {
  /** schema-normalised path: map keys under a `<...>` wildcard replaced, list items as `[]` */
  path: string;
  /** concrete path, for messages */
  at: string;
  type: string;
}

/** Every value in the document (all conflicting values too), with its Automerge type. */
export function typedValues(doc: TaskDoc, table: SchemaTable): TypedValue[] {
  const backend = A.getBackend(doc);
  const out: TypedValue[] = [];
  const wildcards = wildcardParents(table);

  const visit = (obj: A.ObjID, kind: "map" | "list", path: string, at: string): void => {
    const props: A.Prop[] =
      kind === "map" ? backend.keys(obj) : [...Array(backend.length(obj)).keys()];
    for (const prop of props) {
      const childPath =
        kind === "list"
          ? `${path}[]`
          : join(path, wildcards.get(path) ?? String(prop));
      const childAt = kind === "list" ? `${at}[${prop}]` : join(at, String(prop));
      for (const value of backend.getAll(obj, prop)) {
        const type = schemaTypeName(value[0]);
        out.push({ path: childPath, at: childAt, type });
        if (value[0] === "map" || value[0] === "list") visit(value[1] as A.ObjID, value[0], childPath, childAt);
      }
    }
  };
  visit("_root", "map", "", "");
  return out;
}

function join(path: string, key: string): string {
  return path === "" ? key : `${path}.${key}`;
}

/** Maps whose keys are ids (`actors.<actor hex>`): parent path → the placeholder segment. */
function wildcardParents(table: SchemaTable): Map<string, string> {
  const out = new Map<string, string>();
  for (const path of table.keys()) {
    const m = /^(.*?)\.?(<[^>]+>)$/.exec(path);
    if (m) out.set(m[1]!, m[2]!);
  }
  return out;
}

/** Human-readable violations of the table; empty when the document conforms. */
export function schemaViolations(doc: TaskDoc, table: SchemaTable): string[] {
  const problems: string[] = [];
  for (const v of typedValues(doc, table)) {
    const allowed = table.get(v.path);
    if (allowed === undefined) problems.push(`${v.at}: path ${v.path} is not in docs/schema.md`);
    else if (!allowed.has(v.type)) problems.push(`${v.at}: ${v.type}, schema says ${[...allowed].join(" | ")}`);
  }
  return problems;
}

/**
 * The document as plain JSON values. Automerge JS 3 reads a scalar `str` as an
 * ImmutableString object and a `uint` as a BigInt, so comparisons go through this
 * (uints become numbers).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function plain(doc: TaskDoc): Record<string, any> {
  const json = JSON.stringify(doc, (_key, value: unknown) => (typeof value === "bigint" ? Number(value) : value));
  return JSON.parse(json) as Record<string, unknown>;
}

/** The Automerge type of the value at a concrete path, e.g. ["window", "start"]. */
export function typeAt(doc: TaskDoc, path: A.Prop[]): string | undefined {
  const backend = A.getBackend(doc);
  let obj: A.ObjID = "_root";
  let value: ReturnType<typeof backend.getWithType> = null;
  for (const prop of path) {
    value = backend.getWithType(obj, prop);
    if (value === null) return undefined;
    obj = value[1] as A.ObjID;
  }
  return value === null ? undefined : schemaTypeName(value[0]);
}

/** Status fold over `events` (docs/schema.md, "Status"), enough to pick a task an inspector may edit. */
const TRANSITIONS: Record<string, { by: string[]; from: (string | null)[]; to: string; comment: boolean }> = {
  assigned: { by: ["supervisor", "admin"], from: [null], to: "assigned", comment: false },
  checked_in: { by: ["inspector"], from: ["assigned", "in_progress", "returned"], to: "in_progress", comment: false },
  submitted: { by: ["inspector"], from: ["in_progress", "returned"], to: "submitted", comment: false },
  returned: { by: ["supervisor"], from: ["submitted"], to: "returned", comment: true },
  approved: { by: ["supervisor"], from: ["submitted"], to: "approved", comment: false },
  published: { by: ["supervisor"], from: ["approved"], to: "published", comment: false },
  cancelled: {
    by: ["supervisor", "admin"],
    from: ["assigned", "in_progress", "submitted", "returned", "approved"],
    to: "cancelled",
    comment: true,
  },
  reopened: { by: ["admin"], from: ["published", "cancelled"], to: "returned", comment: true },
};

interface EventLike {
  kind: string;
  role: string;
  by: string;
  comment: string | null;
}

export function statusOf(doc: TaskDoc): string | null {
  const task = plain(doc) as { events: EventLike[]; inspectors: string[] };
  let status: string | null = null;
  for (const e of task.events) {
    const t = TRANSITIONS[e.kind];
    if (!t || !t.by.includes(e.role) || !t.from.includes(status)) continue;
    if (t.comment && !(e.comment && e.comment.length > 0)) continue;
    if ((e.kind === "checked_in" || e.kind === "submitted") && !task.inspectors.includes(e.by)) continue;
    status = t.to;
  }
  return status;
}
