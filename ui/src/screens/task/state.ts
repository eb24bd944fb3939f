// What the task screen knows at a given moment, shared by the modules that
// make it up (TaskScreen.vue wires them together): the view last answered,
// what went wrong, and whether the screen has been closed.

import type { BackendError, TaskView } from "../../backend/backend";

export interface ScreenState {
  /** The task as the backend last answered it; `null` until it has loaded. */
  view: TaskView | null;
  /** Why the task could not be loaded, while there is no view. */
  loadError: BackendError | null;
  /** The last failed action or reload, shown in the error banner until dismissed or followed by a success. */
  error: BackendError | null;
  /** The screen was disposed: answers arriving now are dropped. */
  disposed: boolean;
}
