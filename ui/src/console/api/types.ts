// Payloads of the console API (/api/v1/console/…), as the server sends them:
// generated from the server's Rust types by ts-rs (../../bindings, not edited
// by hand), the session's, the directory import's and the directory catalog's
// included. Only a few constants and narrower views of them are written here.

import type { Role } from "../../bindings/Role";
import type { Status } from "../../bindings/Status";

export type { ActiveRequest } from "../../bindings/ActiveRequest";
export type { CatalogList } from "../../bindings/CatalogList";
export type { CatalogPage } from "../../bindings/CatalogPage";
export type { ConflictKey } from "../../bindings/ConflictKey";
export type { ConflictList } from "../../bindings/ConflictList";
export type { ConflictRequest } from "../../bindings/ConflictRequest";
export type { ConflictRow } from "../../bindings/ConflictRow";
export type { ConsoleDirectory } from "../../bindings/ConsoleDirectory";
export type { ConsoleRecord } from "../../bindings/ConsoleRecord";
export type { ConsoleTaskRow } from "../../bindings/ConsoleTaskRow";
export type { Dashboard } from "../../bindings/Dashboard";
export type { DayWindow } from "../../bindings/DayWindow";
export type { Decision } from "../../bindings/Decision";
export type { DecisionRequest } from "../../bindings/DecisionRequest";
export type { DepartmentCount } from "../../bindings/DepartmentCount";
export type { Department } from "../../bindings/Department";
export type { DepartmentEntry } from "../../bindings/DepartmentEntry";
export type { DrawList } from "../../bindings/DrawList";
export type { DrawPreview } from "../../bindings/DrawPreview";
export type { DrawRequest } from "../../bindings/DrawRequest";
export type { DrawSummary } from "../../bindings/DrawSummary";
export type { DrawSummaryPlan } from "../../bindings/DrawSummaryPlan";
export type { DrawTask } from "../../bindings/DrawTask";
export type { EntropyRequest } from "../../bindings/EntropyRequest";
export type { EntropyValues } from "../../bindings/EntropyValues";
export type { Exclusion } from "../../bindings/Exclusion";
export type { FixedPlan } from "../../bindings/FixedPlan";
export type { Flag } from "../../bindings/Flag";
export type { FlagView } from "../../bindings/FlagView";
export type { GeoPoint } from "../../bindings/GeoPoint";
export type { Handbook } from "../../bindings/Handbook";
export type { HandbookItem } from "../../bindings/HandbookItem";
export type { HandbookView } from "../../bindings/HandbookView";
export type { ImportAnswer } from "../../bindings/ImportAnswer";
export type { ImportedKind } from "../../bindings/ImportedKind";
export type { ImportProblem } from "../../bindings/ImportProblem";
export type { ImportRefusal } from "../../bindings/ImportRefusal";
export type { Industry } from "../../bindings/Industry";
export type { InspectionCount } from "../../bindings/InspectionCount";
export type { Inspector } from "../../bindings/Inspector";
export type { InspectorEntry } from "../../bindings/InspectorEntry";
export type { Item } from "../../bindings/Item";
export type { LoginRequest } from "../../bindings/LoginRequest";
export type { MapConfig } from "../../bindings/MapConfig";
export type { NewTaskAnswer } from "../../bindings/NewTaskAnswer";
export type { NewTaskRequest } from "../../bindings/NewTaskRequest";
export type { PlanImportAnswer } from "../../bindings/PlanImportAnswer";
export type { PlanList } from "../../bindings/PlanList";
export type { PlanPreview } from "../../bindings/PlanPreview";
export type { PlanSpec } from "../../bindings/PlanSpec";
export type { PlanState } from "../../bindings/PlanState";
export type { PlanView } from "../../bindings/PlanView";
export type { PoolHashes } from "../../bindings/PoolHashes";
export type { PoolQuotas } from "../../bindings/PoolQuotas";
export type { PoolSizes } from "../../bindings/PoolSizes";
export type { Ratios } from "../../bindings/Ratios";
export type { RecordView } from "../../bindings/RecordView";
export type { RiskClass } from "../../bindings/RiskClass";
export type { SessionView } from "../../bindings/SessionView";
export type { Subject } from "../../bindings/Subject";
export type { SubjectFilter } from "../../bindings/SubjectFilter";
export type { SubjectHit } from "../../bindings/SubjectHit";
export type { TaskPage } from "../../bindings/TaskPage";
export type { TaskSort } from "../../bindings/TaskSort";
export type { Team } from "../../bindings/Team";
export type { TeamEntry } from "../../bindings/TeamEntry";
export type { TeamKind } from "../../bindings/TeamKind";
export type { TimelineEntry } from "../../bindings/TimelineEntry";
export type { Unstaffed } from "../../bindings/Unstaffed";
export type { UserView } from "../../bindings/UserView";
export type { Status };

import type { CatalogList } from "../../bindings/CatalogList";
import type { Decision } from "../../bindings/Decision";
import type { RiskClass } from "../../bindings/RiskClass";
import type { TeamKind } from "../../bindings/TeamKind";

export const STATUSES: readonly Status[] = [
  "assigned",
  "in_progress",
  "submitted",
  "returned",
  "approved",
  "published",
  "cancelled",
];

/** The roles a console user has (inspectors do not sign in to the console). */
export type ConsoleRole = Exclude<Role, "inspector">;

/**
 * The console role of a signed-in user (`UserView.role` is any `Role`, but the
 * server signs in supervisors and administrators only): anything but an
 * administrator gets a supervisor's view, never more.
 */
export function consoleRole(role: Role): ConsoleRole {
  return role === "admin" ? "admin" : "supervisor";
}

/** The directories the server imports (POST /import), in its order. */
export const IMPORT_KINDS = ["departments", "industries", "teams", "inspectors", "subjects", "items", "handbooks"] as const;
export type ImportKind = (typeof IMPORT_KINDS)[number];
export type ImportFormat = "csv" | "json";

/**
 * The directories the console lists one entry at a time (GET /catalog/{kind}):
 * the ones it imports (the assignment and `saveEntry`'s call of
 * `importDirectory` check that the two lists are the same).
 */
export type CatalogKind = CatalogList["kind"];
export const CATALOG_KINDS: readonly CatalogKind[] = IMPORT_KINDS;
/** One entry of a directory: `CatalogEntry<"teams">` is a `Team`; without a kind, any entry. */
export type CatalogEntry<K extends CatalogKind = CatalogKind> = Extract<CatalogList, { kind: K }>["rows"][number];
/** The most rows one catalog page holds (the server's default is 200). */
export const MAX_CATALOG_LIMIT = 500;

export const RISK_CLASSES: readonly RiskClass[] = ["A", "B", "C", "D"];
export const TEAM_KINDS: readonly TeamKind[] = ["township_squad", "county_team"];

/** Decisions whose comment the server requires. */
export const COMMENT_REQUIRED: ReadonlySet<Decision> = new Set(["return", "cancel", "reopen"]);
