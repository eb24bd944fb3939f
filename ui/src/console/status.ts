// How statuses look in the console: their order and colours (charts, tags).

import type { Status } from "../bindings/Status";

export const STATUS_COLOURS: Readonly<Record<Status, string>> = {
  assigned: "#909399",
  in_progress: "#409eff",
  submitted: "#e6a23c",
  returned: "#f56c6c",
  approved: "#67c23a",
  published: "#2e7d32",
  cancelled: "#c0c4cc",
};

export type TagType = "primary" | "success" | "info" | "warning" | "danger";

export const STATUS_TAGS: Readonly<Record<Status, TagType>> = {
  assigned: "info",
  in_progress: "primary",
  submitted: "warning",
  returned: "danger",
  approved: "success",
  published: "success",
  cancelled: "info",
};
