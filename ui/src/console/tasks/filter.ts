// The task list's filter, and its two spellings: the page URL's query (so the
// dashboard can link to a filtered list and the browser's back button works)
// and the API's query string. Both use the API's parameter names; the URL leaves
// out what is at its default.

import type { Status } from "../../bindings/Status";
import { STATUSES, type TaskSort } from "../api/types";

/** Every order the server knows, each once (a `Record` so a new `TaskSort` must be added here). */
const SORTS: Readonly<Record<TaskSort, true>> = {
  due: true,
  "-due": true,
  code: true,
  "-code": true,
  subject: true,
  "-subject": true,
  status: true,
  "-status": true,
  updated: true,
  "-updated": true,
};
export const SORT_KEYS = Object.keys(SORTS) as readonly TaskSort[];
export type SortKey = TaskSort;

export const DEFAULT_PER_PAGE = 50;
export const MAX_PER_PAGE = 200;

export interface TaskFilter {
  /** Any of these statuses; empty: all. */
  status: Status[];
  department: string | null;
  team: string | null;
  inspector: string | null;
  /** Part of the subject's name, its USCC or the task code. */
  q: string;
  /** Due at or after (ms since the epoch). */
  due_from: number | null;
  /** Due at or before (ms since the epoch). */
  due_to: number | null;
  overdue: boolean;
  returned: boolean;
  rectification_due: boolean;
  /** true: joint tasks only; false: single-department only; null: both. */
  joint: boolean | null;
  /** Tasks whose window starts in this year (Beijing time), cancelled ones aside: the dashboard's "this year". */
  year: number | null;
  sort: SortKey | null;
  /** From 1. */
  page: number;
  per_page: number;
}

export function emptyFilter(): TaskFilter {
  return {
    status: [],
    department: null,
    team: null,
    inspector: null,
    q: "",
    due_from: null,
    due_to: null,
    overdue: false,
    returned: false,
    rectification_due: false,
    joint: null,
    year: null,
    sort: null,
    page: 1,
    per_page: DEFAULT_PER_PAGE,
  };
}

/** What vue-router's `route.query` is (and what a test can write by hand). */
export type QueryLike = Readonly<Record<string, string | null | (string | null)[] | undefined>>;

/** The filter a URL query asks for; values that make no sense are ignored. */
export function filterFromQuery(query: QueryLike): TaskFilter {
  const all = (name: string): string[] => {
    const value = query[name];
    if (value === undefined || value === null) return [];
    return (Array.isArray(value) ? value : [value]).filter((v): v is string => typeof v === "string");
  };
  const one = (name: string): string | null => {
    const first = all(name)[0];
    return first === undefined || first.trim() === "" ? null : first.trim();
  };
  const flag = (name: string): boolean => one(name) === "true";
  const int = (name: string): number | null => {
    const text = one(name);
    if (text === null || !/^-?\d+$/.test(text)) return null;
    const n = Number(text);
    return Number.isSafeInteger(n) ? n : null;
  };

  const filter = emptyFilter();
  const statuses = new Set(all("status").flatMap((s) => s.split(",")));
  filter.status = STATUSES.filter((s) => statuses.has(s));
  filter.department = one("department");
  filter.team = one("team");
  filter.inspector = one("inspector");
  filter.q = one("q") ?? "";
  filter.due_from = int("due_from");
  filter.due_to = int("due_to");
  filter.overdue = flag("overdue");
  filter.returned = flag("returned");
  filter.rectification_due = flag("rectification_due");
  const joint = one("joint");
  filter.joint = joint === "true" ? true : joint === "false" ? false : null;
  const year = int("year");
  filter.year = year !== null && year >= 2000 && year <= 2100 ? year : null;
  const sort = one("sort");
  filter.sort = SORT_KEYS.find((k) => k === sort) ?? null;
  const page = int("page");
  filter.page = page !== null && page >= 1 ? page : 1;
  const perPage = int("per_page");
  filter.per_page = perPage !== null && perPage >= 1 ? Math.min(perPage, MAX_PER_PAGE) : DEFAULT_PER_PAGE;
  return filter;
}

/** The URL query of a filter: only what differs from the default. */
export function filterToQuery(filter: TaskFilter): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  for (const [name, value] of filterToParams(filter, false)) {
    const had = query[name];
    query[name] = had === undefined ? value : Array.isArray(had) ? [...had, value] : [had, value];
  }
  return query;
}

/**
 * The API query string of a filter. With `paging`, page and per_page are always
 * there (the API's defaults are not assumed); without, only when not default.
 */
export function filterToParams(filter: TaskFilter, paging: boolean): URLSearchParams {
  const params = new URLSearchParams();
  for (const status of STATUSES.filter((s) => filter.status.includes(s))) params.append("status", status);
  if (filter.department !== null) params.set("department", filter.department);
  if (filter.team !== null) params.set("team", filter.team);
  if (filter.inspector !== null) params.set("inspector", filter.inspector);
  if (filter.q.trim() !== "") params.set("q", filter.q.trim());
  if (filter.due_from !== null) params.set("due_from", String(filter.due_from));
  if (filter.due_to !== null) params.set("due_to", String(filter.due_to));
  if (filter.overdue) params.set("overdue", "true");
  if (filter.returned) params.set("returned", "true");
  if (filter.rectification_due) params.set("rectification_due", "true");
  if (filter.joint !== null) params.set("joint", String(filter.joint));
  if (filter.year !== null) params.set("year", String(filter.year));
  if (filter.sort !== null) params.set("sort", filter.sort);
  if (paging || filter.page !== 1) params.set("page", String(filter.page));
  if (paging || filter.per_page !== DEFAULT_PER_PAGE) params.set("per_page", String(filter.per_page));
  return params;
}

/** Table columns (`prop`) that the server sorts by, and their sort key. */
const SORT_BY_PROP: Readonly<Record<string, "due" | "code" | "subject" | "status" | "updated">> = {
  code: "code",
  subject_name: "subject",
  status: "status",
  due: "due",
  updated_at: "updated",
};

/** The sort key for an el-table `sort-change` ({prop, order}); null: the server's default order. */
export function sortFromTable(prop: string | null | undefined, order: string | null | undefined): SortKey | null {
  const key = prop === null || prop === undefined ? undefined : SORT_BY_PROP[prop];
  if (key === undefined || (order !== "ascending" && order !== "descending")) return null;
  return order === "ascending" ? key : `-${key}`;
}

/** The el-table `default-sort` showing `sort`. */
export function tableSortOf(sort: SortKey | null): { prop: string; order: "ascending" | "descending" } | undefined {
  if (sort === null) return undefined;
  const key = sort.replace(/^-/, "");
  const prop = Object.keys(SORT_BY_PROP).find((p) => SORT_BY_PROP[p] === key);
  if (prop === undefined) return undefined;
  return { prop, order: sort.startsWith("-") ? "descending" : "ascending" };
}

/** The same filter on page 1 (any change of filter or sort starts from the first page). */
export function firstPage(filter: TaskFilter): TaskFilter {
  return { ...filter, page: 1 };
}
