// What the read-only record components need from the app around them: texts in
// the current language, the Intl locale, where blobs (photos) are fetched from
// and department names. The console provides it (console/context.ts); the
// tablet can provide its own.

import { type InjectionKey, inject } from "vue";
import type { MessageKey, Params } from "../../console/i18n";
import type { RecordView } from "../../console/api/types";

export interface RecordContext {
  t(key: MessageKey, params?: Params): string;
  locale(): string;
  /** The address of a blob (an original, or the thumbnail or display copy the tablet made, each a blob of its own). */
  blobUrl(sha256: string): string;
  /** The department's name in the current language; the code when unknown. */
  departmentName(code: string): string;
}

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

/** Whether a piece of evidence can be shown as a picture. */
export function isImage(mime: string): boolean {
  return mime.startsWith("image/");
}
