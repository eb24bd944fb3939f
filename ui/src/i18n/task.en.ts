// Texts of the task screen, in English. Same keys as task.zh.ts.

import type { taskZh } from "./task.zh";

export const taskEn: { readonly [K in keyof typeof taskZh]: string } = {
  "taskScreen.title": "Task",
};
