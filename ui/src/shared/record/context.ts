// What the read-only record components need from the app around them: texts in
// the current language, the Intl locale, where blobs (photos) are fetched from
// and department names. The console provides it (console/context.ts); the
// tablet provides its own (screens/task/recordContext.ts), with the optional
// members below where it shows things its own way.

import { type Component, type InjectionKey, inject } from "vue";
import { formatDate, formatDateTime } from "../format";
import type { MessageKey, Params } from "../../console/i18n";
import type { HistoryEntry } from "../../bindings/HistoryEntry";
import type { Role } from "../../bindings/Role";
import type { RecordView, TimelineEntry } from "../../console/api/types";

export interface RecordContext {
  t(key: MessageKey, params?: Params): string;
  locale(): string;
  /** The address of a blob (an original, or the thumbnail or display copy the tablet made, each a blob of its own). */
  blobUrl(sha256: string): string;
  /**
   * Optional: the component that shows a blob as an image, for an app that has no
   * blob addresses (the tablet: its BlobImage, reading blobs through the Backend).
   * Props `sha` and `mime`; attributes (alt, class, data-testid, …) go on its <img>.
   * When present, images are shown through it and `blobUrl` is not called for them
   * (links to download originals, which need an address, are left out); by default
   * an <img> with `blobUrl`.
   */
  blobImage?: Component<{ sha: string; mime: string }>;
  /** The department's name in the current language; the code when unknown. */
  departmentName(code: string): string;
  /** Optional: a date as the app shows it (a rectification deadline); by default the Beijing date. */
  date?(ms: number): string;
  /** Optional: a time to the minute as the app shows it (when something was recorded); by default Beijing time. */
  dateTime?(ms: number): string;
  /** Optional: a device time as the app shows it; by default Beijing time to the second. */
  deviceTime?(ms: number): string;
  /** Optional: the role's name in the current language; by default the role's code. */
  roleName?(role: Role): string;
  /** Optional: who made a change whose person the record does not know; by default the device's actor id, shortened. */
  unknownPerson?(actor: string): string;
}

/** A change of a record's history: the server's (with its receipt) or the tablet's own (no receipt fields at all). */
export type RecordTimelineEntry = HistoryEntry & Partial<Pick<TimelineEntry, "received_at" | "device_id">>;

export const RECORD_CONTEXT: InjectionKey<RecordContext> = Symbol("fieldloop.record");

export function useRecordContext(): RecordContext {
  const context = inject(RECORD_CONTEXT, null);
  if (context === null) throw new Error("record components need a RecordContext (provide RECORD_CONTEXT)");
  return context;
}

/** Person id → name, for the people a record knows (its inspectors). */
export function peopleOf(record: Pick<RecordView, "inspectors">): ReadonlyMap<string, string> {
  return new Map(record.inspectors.map((i) => [i.id, i.name]));
}

/** The name of `id` when known, else the id itself. */
export function personName(people: ReadonlyMap<string, string>, id: string | null | undefined): string {
  if (id === null || id === undefined) return "";
  return people.get(id) ?? id;
}

/** `ms` as a date: the app's way (`date`) when it has one, else the Beijing date. */
export function dateOf(ctx: RecordContext, ms: number): string {
  return ctx.date?.(ms) ?? formatDate(ms, ctx.locale());
}

/** `ms` as a time to the minute: the app's way (`dateTime`) when it has one, else Beijing time. */
export function dateTimeOf(ctx: RecordContext, ms: number): string {
  return ctx.dateTime?.(ms) ?? formatDateTime(ms, ctx.locale());
}

/** Whether a piece of evidence can be shown as a picture. */
export function isImage(mime: string): boolean {
  return mime.startsWith("image/");
}
