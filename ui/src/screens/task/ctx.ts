// What the task screen's panels share: the current view, the words, and the
// one way to act on the record (every action goes through `act`, which
// disables its controls while it runs and shows errors in the banner).

import { inject, type InjectionKey, type ShallowRef } from "vue";
import type { Backend } from "../../backend/backend";
import type { DepartmentRef } from "../../bindings/DepartmentRef";
import type { Fix } from "../../bindings/Fix";
import type { TaskView } from "../../bindings/TaskView";
import type { I18n } from "../../i18n";
import type { BlobUrls } from "./blobs";
import type { GeoStatus } from "./location";
import type { Tr } from "./texts";

export const TABS = ["overview", "checklist", "evidence", "findings", "record", "signatures", "submit", "timeline"] as const;
export type TabName = (typeof TABS)[number];

export interface PhotoProgress {
  done: number;
  total: number;
}

export interface TaskCtx {
  readonly i18n: I18n;
  readonly t: Tr;
  readonly backend: Backend;
  readonly taskId: string;
  readonly timeZone: string | undefined;
  readonly blobs: BlobUrls;
  now(): number;
  /**
   * Runs one action on the record under `key` (its controls are disabled
   * meanwhile) and shows the TaskView it answers. Answers whether it succeeded;
   * failures are shown in the error banner. `before` runs with the outcome just
   * before the screen is updated (to keep or drop local state the update reads).
   */
  act(key: string, call: () => Promise<TaskView>, before?: (ok: boolean) => void): Promise<boolean>;
  /** An action under `key` is running. */
  busy(key: string): boolean;
  /** Resolves once no action is running but those under `except` (a submit waits for the saves before it). */
  whenIdle(except: string): Promise<void>;
  /** The record may be changed from this tablet now. */
  editable(): boolean;
  /** Adds photo files to the task (`item` null) or to an item, one after the other. */
  addPhotos(item: string | null, files: readonly File[]): void;
  photoProgress(item: string | null): PhotoProgress | null;
  /** The latest GPS fix, if any. */
  lastFix(): Fix | null;
  showTab(tab: TabName): void;
  /** Opens the full view of a piece of evidence. */
  openEvidence(sha: string): void;
  /** Shows the conflicts (submit tab), scrolled to the first one under `pathPrefix`. */
  showConflicts(pathPrefix: readonly string[]): void;
  /** Shows the checklist scrolled to an item. */
  showItem(id: string): void;
  personName(id: string | null): string;
  deptName(ref: DepartmentRef): string;
  dateTime(ms: number): string;
  date(ms: number): string;
  /** Lets `settled()` wait for this work. */
  track(work: Promise<unknown>): void;
}

/** What the task screen gives its Vue parts: the context, the view as a ref, and hooks of the panels. */
export interface TaskScope {
  readonly ctx: TaskCtx;
  /** The task as last answered; `null` until it has loaded. */
  readonly view: Readonly<ShallowRef<TaskView | null>>;
  /** The open tab. */
  readonly tab: Readonly<ShallowRef<TabName>>;
  /** Where the tablet is, as the overview says it. */
  geoStatus(): GeoStatus;
  /** A panel tells the screen what to call when its tab opens. */
  onShown(tab: TabName, shown: () => void): void;
}

export const TASK_SCOPE: InjectionKey<TaskScope> = Symbol("task");

/** The task screen's scope, for its parts. */
export function useTask(): TaskScope {
  const scope = inject(TASK_SCOPE, null);
  if (scope === null) throw new Error("not inside a task screen");
  return scope;
}

/** The files of a file input, and the input emptied so the same file can be picked again. */
export function takeFiles(input: HTMLInputElement): File[] {
  const files = [...(input.files ?? [])];
  try {
    input.value = "";
  } catch {
    // Some engines refuse to reset file inputs; picking the same file again then does nothing.
  }
  return files;
}
