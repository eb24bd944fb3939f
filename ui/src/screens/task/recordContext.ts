// The tablet's answer to what the shared read-only record components need
// (src/shared/record/context.ts): their `record.*` texts in the tablet's current
// language, the tablet's own formats (device time in the device's zone, role
// names, "unknown device"), and department names from the task's view.

import type { ShallowRef } from "vue";
import type { TaskView } from "../../bindings/TaskView";
import { MESSAGES as RECORD_MESSAGES, fill } from "../../console/i18n";
import type { Words } from "../../deps";
import type { RecordContext } from "../../shared/record/context";
import type { TaskCtx } from "./ctx";

export function tabletRecordContext(ctx: TaskCtx, words: Words, view: Readonly<ShallowRef<TaskView | null>>): RecordContext {
  return {
    // Reading the language first makes the components follow a language switch.
    t: (key, params = {}) => fill(RECORD_MESSAGES[words.lang.value][key], params),
    locale: () => words.locale.value,
    blobUrl() {
      // The tablet's blobs come through the Backend (BlobImage), never as addresses.
      throw new Error("the tablet has no blob URLs: show blobs with BlobImage");
    },
    departmentName(code) {
      const found = view.value?.departments.find((d) => d.code === code);
      return found === undefined ? code : ctx.deptName(found);
    },
    deviceTime: (ms) => ctx.dateTime(ms),
    roleName: (role) => ctx.t(`taskScreen.role.${role}`),
    unknownPerson: () => ctx.t("taskScreen.timeline.unknownDevice"),
  };
}
