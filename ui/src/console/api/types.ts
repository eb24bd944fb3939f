// Payloads of the console API (/api/v1/console/…), as the server sends them:
// generated from the server's Rust types by ts-rs (../../bindings, not edited
// by hand), the session's and the directory import's included. Only a few
// constants and narrower views of them are written here.

import type { Role } from "../../bindings/Role";
import type { Status } from "../../bindings/Status";

export type { ActiveRequest } from "../../bindings/ActiveRequest";
export type { ConsoleDirectory } from "../../bindings/ConsoleDirectory";
export type { ConsoleRecord } from "../../bindings/ConsoleRecord";
export type { ConsoleTaskRow } from "../../bindings/ConsoleTaskRow";
export type { Dashboard } from "../../bindings/Dashboard";
export type { Decision } from "../../bindings/Decision";
export type { DecisionRequest } from "../../bindings/DecisionRequest";
export type { DepartmentCount } from "../../bindings/DepartmentCount";
export type { DepartmentEntry } from "../../bindings/DepartmentEntry";
export type { Flag } from "../../bindings/Flag";
export type { FlagView } from "../../bindings/FlagView";
export type { HandbookItem } from "../../bindings/HandbookItem";
export type { HandbookView } from "../../bindings/HandbookView";
export type { ImportAnswer } from "../../bindings/ImportAnswer";
export type { ImportedKind } from "../../bindings/ImportedKind";
export type { ImportProblem } from "../../bindings/ImportProblem";
export type { ImportRefusal } from "../../bindings/ImportRefusal";
export type { InspectionCount } from "../../bindings/InspectionCount";
export type { InspectorEntry } from "../../bindings/InspectorEntry";
export type { LoginRequest } from "../../bindings/LoginRequest";
export type { MapConfig } from "../../bindings/MapConfig";
export type { NewTaskAnswer } from "../../bindings/NewTaskAnswer";
export type { NewTaskRequest } from "../../bindings/NewTaskRequest";
export type { RecordView } from "../../bindings/RecordView";
export type { SessionView } from "../../bindings/SessionView";
export type { SubjectHit } from "../../bindings/SubjectHit";
export type { TaskPage } from "../../bindings/TaskPage";
export type { TaskSort } from "../../bindings/TaskSort";
export type { TeamEntry } from "../../bindings/TeamEntry";
export type { TimelineEntry } from "../../bindings/TimelineEntry";
export type { UserView } from "../../bindings/UserView";
export type { Status };

import type { Decision } from "../../bindings/Decision";

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

/** Decisions whose comment the server requires. */
export const COMMENT_REQUIRED: ReadonlySet<Decision> = new Set(["return", "cancel", "reopen"]);
