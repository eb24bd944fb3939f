// Payloads of the console API (/api/v1/console/…), as the server sends them:
// generated from the server's Rust types by ts-rs (../../bindings, not edited
// by hand). Only the session (`SessionView`, not exported from Rust) and a few
// constants are written here.

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
export type { InspectionCount } from "../../bindings/InspectionCount";
export type { InspectorEntry } from "../../bindings/InspectorEntry";
export type { MapConfig } from "../../bindings/MapConfig";
export type { NewTaskAnswer } from "../../bindings/NewTaskAnswer";
export type { NewTaskRequest } from "../../bindings/NewTaskRequest";
export type { RecordView } from "../../bindings/RecordView";
export type { SubjectHit } from "../../bindings/SubjectHit";
export type { TaskPage } from "../../bindings/TaskPage";
export type { TaskSort } from "../../bindings/TaskSort";
export type { TeamEntry } from "../../bindings/TeamEntry";
export type { TimelineEntry } from "../../bindings/TimelineEntry";
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

/** The server's `UserView` (not exported to TypeScript by the server yet). */
export interface ConsoleUser {
  id: string;
  name: string;
  role: ConsoleRole;
  teams: string[];
}

/** The server's `SessionView`: who is signed in, and the token state-changing requests echo. */
export interface SessionView {
  user: ConsoleUser;
  csrf: string;
}

/** Decisions whose comment the server requires. */
export const COMMENT_REQUIRED: ReadonlySet<Decision> = new Set(["return", "cancel", "reopen"]);
