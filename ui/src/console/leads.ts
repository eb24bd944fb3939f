// Leads (案源线索): the payloads of /api/v1/console/leads as the server's Rust
// types (sync-server/src/leads.rs, leads/console.rs) send them, and what the
// inbox shows of them.

export type Channel =
  | "hotline_12345"
  | "internet_plus"
  | "grid"
  | "association"
  | "media"
  | "console"
  | "tablet_transfer";

export type LeadState = "received" | "dispatched" | "transferred" | "verified" | "handled" | "answered" | "duplicate";

export type PackageStage = "sent" | "received" | "accepted";

export interface PackageStatus {
  sha256: string;
  stage: PackageStage;
  at: number;
}

export interface Lead {
  id: string;
  source: Channel;
  reference: string | null;
  received_at: number;
  uscc: string | null;
  subject_name: string;
  summary: string;
  attachments: string[];
  departments: string[];
  criminal: boolean;
  state: LeadState;
  duplicate_of: string | null;
  answer: string | null;
  answered_at: number | null;
  tasks: string[];
  source_task: string | null;
  source_transfer: string | null;
  package: PackageStatus | null;
  updated_at: number;
}

export type LeadEventKind =
  | "received"
  | "dispatched"
  | "transferred"
  | "verified"
  | "handled"
  | "answered"
  | "duplicate_linked"
  | "task_started"
  | "package_sent"
  | "package_received"
  | "package_accepted";

export interface LeadEvent {
  kind: LeadEventKind;
  by: string;
  at: number;
  departments?: string[];
  note?: string;
  task?: string;
  duplicate_of?: string;
  sha256?: string;
}

/** The steps the server says the lead's state allows. */
export type LeadAction =
  | "dispatch"
  | "transfer"
  | "verify"
  | "handle"
  | "answer"
  | "duplicate"
  | "task"
  | "package"
  | "package_received"
  | "package_accepted";

export interface LeadView {
  lead: Lead;
  events: LeadEvent[];
  actions: LeadAction[];
}

export interface LeadList {
  rows: Lead[];
}

export interface NewLeadRequest {
  source?: Channel;
  reference?: string;
  uscc?: string;
  subject_name: string;
  summary: string;
  attachments?: string[];
  departments?: string[];
  criminal?: boolean;
}

export interface LeadStepRequest {
  departments?: string[];
  department?: string;
  reply?: string;
  of?: string;
  sha256?: string;
  note?: string;
}

export interface LeadTaskRequest {
  items: string[];
  team: string;
  inspectors: string[];
  start: string;
  end: string;
}

export interface LeadTaskAnswer {
  task: { id: string; code: string };
  lead: LeadView;
}

/** A downloaded evidence package and its SHA-256 (from `X-Package-Sha256`). */
export interface LeadPackage {
  blob: Blob;
  sha256: string;
}

/** The inbox's state filter, `all` first. */
export const LEAD_FILTERS = ["all", "received", "dispatched", "transferred", "verified", "handled", "answered", "duplicate"] as const;
export type LeadFilter = (typeof LEAD_FILTERS)[number];

/** The step buttons, in the order they are shown. */
export const STEP_ACTIONS: readonly LeadAction[] = [
  "dispatch",
  "transfer",
  "verify",
  "handle",
  "answer",
  "duplicate",
  "package_received",
  "package_accepted",
];

/** Whether a step asks for something in a dialog (all do but verify and handle, which take an optional note). */
export function stepNeeds(action: LeadAction): "departments" | "department" | "reply" | "of" | "sha256" | "note" {
  switch (action) {
    case "dispatch":
      return "departments";
    case "transfer":
      return "department";
    case "answer":
      return "reply";
    case "duplicate":
      return "of";
    case "package_received":
    case "package_accepted":
      return "sha256";
    default:
      return "note";
  }
}

/** Whether the lead is closed (answered or a duplicate). */
export function isClosed(lead: Lead): boolean {
  return lead.state === "answered" || lead.state === "duplicate";
}
