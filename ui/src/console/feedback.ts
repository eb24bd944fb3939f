// 亮码检查 in the console: the businesses' feedback and a task's verify code,
// as the server's Rust types (sync-server/src/console/feedback.rs) send them
// (generated into ../bindings by ts-rs).

import type { FeedbackView } from "../bindings/FeedbackView";

export type { FeedbackList } from "../bindings/FeedbackList";
export type { FeedbackView } from "../bindings/FeedbackView";
export type { Revocation } from "../bindings/Revocation";
export type { RevokeRequest } from "../bindings/RevokeRequest";
export type { TaskVerify } from "../bindings/TaskVerify";

/** The longest revocation reason the server takes (MAX_REVOKE_REASON_CHARS). */
export const MAX_REVOKE_REASON_CHARS = 500;

/** Feedback the dashboard lists. */
export const DASHBOARD_FEEDBACK_ROWS = 10;

/** Feedback that needs a supervisor's look: no badge shown, rights not told, money asked, or a rating of 2 or less. */
export function alarming(f: FeedbackView): boolean {
  return !f.badge_shown || !f.rights_told || f.money_asked || f.rating <= 2;
}
