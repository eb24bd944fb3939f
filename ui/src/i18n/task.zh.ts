// Texts of the task screen, in Chinese. Spread into zh.ts; task.en.ts has the same keys.

export const taskZh = {
  "taskScreen.title": "任务",
} as const;
