// What the import page reads from a directory file's name, the same way as the
// server's `fieldloop-server import`: the format from the extension (.csv or
// .json, any case), the kind from the start of the name (`subjects.csv`,
// `subjects-2026.json`, `Items_v2.CSV`). And the CSV header of each kind.

import { IMPORT_KINDS, type ImportFormat, type ImportKind } from "./api/types";

/** The largest file the server imports at once (8 MiB). */
export const MAX_IMPORT_BYTES = 8 * 1024 * 1024;

/** The format of a file by its extension; null for any other extension. */
export function formatOf(name: string): ImportFormat | null {
  const dot = name.lastIndexOf(".");
  if (dot <= 0) return null;
  const ext = name.slice(dot + 1).toLowerCase();
  return ext === "csv" || ext === "json" ? ext : null;
}

/** The kind a file holds by its name: the stem is the kind, or starts with it and `-`, `_` or `.`. */
export function kindOf(name: string): ImportKind | null {
  const base = name.slice(Math.max(name.lastIndexOf("/"), name.lastIndexOf("\\")) + 1);
  const dot = base.lastIndexOf(".");
  const stem = (dot <= 0 ? base : base.slice(0, dot)).toLowerCase();
  return (
    IMPORT_KINDS.find((kind) => {
      if (!stem.startsWith(kind)) return false;
      const rest = stem.slice(kind.length);
      return rest === "" || rest.startsWith("-") || rest.startsWith("_") || rest.startsWith(".");
    }) ?? null
  );
}

/** The CSV columns of each kind, as the server's importer names them (all required, any order). */
export const IMPORT_HEADERS = {
  departments: ["code", "name", "name_en"],
  industries: ["code", "name", "name_en"],
  teams: ["id", "name", "kind", "departments"],
  inspectors: ["id", "name", "badge_no", "department", "team"],
  subjects: ["uscc", "name", "address", "industry", "risk_class", "lat", "lon", "legal_rep"],
  items: ["id", "department", "title", "legal_basis", "industries", "requires_evidence"],
  handbooks: ["industry", "departments", "lead_department", "items"],
} as const satisfies Readonly<Record<ImportKind, readonly string[]>>;
