// Which review actions a console user may take on a record, by its status and
// the user's role — the status rules of the design (returned, approved and
// published by a supervisor; cancelled by a supervisor or an admin, unless
// published; reopened by an admin, from published or cancelled). The server
// decides; this only chooses the buttons to show.

import type { Status } from "../bindings/Status";
import type { ConsoleRole, Decision } from "./api/types";

export function actionsFor(status: Status | null, role: ConsoleRole): Decision[] {
  if (status === null) return [];
  const actions: Decision[] = [];
  if (role === "supervisor") {
    if (status === "submitted") actions.push("return", "approve");
    if (status === "approved") actions.push("publish");
  }
  if (status !== "published" && status !== "cancelled") actions.push("cancel");
  if (role === "admin" && (status === "published" || status === "cancelled")) actions.push("reopen");
  return actions;
}
