// The tablet's answer to what the shared read-only record components need
// (src/shared/record/context.ts): their `record.*` texts in the tablet's current
// language, the tablet's own formats (dates and times in the device's zone, role
// names, "unknown device"), department names from the task's view, and images
// through BlobImage (the tablet reads blobs through its Backend: no addresses).

import { type FunctionalComponent, type ShallowRef, h } from "vue";
import type { TaskView } from "../../bindings/TaskView";
import { MESSAGES as RECORD_MESSAGES, fill } from "../../console/i18n";
import BlobImage from "../../components/BlobImage.vue";
import type { Words } from "../../deps";
import type { RecordContext } from "../../shared/record/context";
import type { TaskCtx } from "./ctx";

export function tabletRecordContext(ctx: TaskCtx, words: Words, view: Readonly<ShallowRef<TaskView | null>>): RecordContext {
  /** A blob as an image, loaded once through the screen's BlobUrls (attributes go on the <img>). */
  const blobImage: FunctionalComponent<{ sha: string; mime: string }> = (props, { attrs }) =>
    h(BlobImage, { ...attrs, sha: props.sha, mime: props.mime, blobs: ctx.blobs });
  blobImage.props = ["sha", "mime"];
  blobImage.inheritAttrs = false;
  blobImage.displayName = "TabletBlobImage";
  return {
    // Reading the language first makes the components follow a language switch.
    t: (key, params = {}) => fill(RECORD_MESSAGES[words.lang.value][key], params),
    locale: () => words.locale.value,
    blobUrl() {
      // The tablet's blobs come through the Backend (blobImage below), never as addresses.
      throw new Error("the tablet has no blob URLs: show blobs with BlobImage");
    },
    blobImage,
    departmentName(code) {
      const found = view.value?.departments.find((d) => d.code === code);
      return found === undefined ? code : ctx.deptName(found);
    },
    date: (ms) => ctx.date(ms),
    dateTime: (ms) => ctx.dateTime(ms),
    deviceTime: (ms) => ctx.dateTime(ms),
    roleName: (role) => ctx.t(`taskScreen.role.${role}`),
    unknownPerson: () => ctx.t("taskScreen.timeline.unknownDevice"),
  };
}
