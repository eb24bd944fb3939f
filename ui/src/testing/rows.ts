// Task rows for tests.

import type { TaskRow } from "../bindings/TaskRow";

/** 2026-11-29 10:00 in Beijing (UTC+8), the "now" of the tests. */
export const NOW = Date.UTC(2026, 10, 29, 2, 0);
export const DAY = 86_400_000;
export const TZ = "Asia/Shanghai";

export function row(fields: Partial<TaskRow> & Pick<TaskRow, "id">): TaskRow {
  return {
    code: `JX-2026-${fields.id.padStart(6, "0")}`,
    subject_name: "杭州示例餐饮管理有限公司",
    uscc: "91330106MA2KXXXX1X",
    status: "assigned",
    due: NOW + 5 * DAY,
    departments: ["SCJG"],
    dirty: false,
    ...fields,
  };
}

/** A small task list covering every status, one overdue and one returned task. */
export function sampleRows(): TaskRow[] {
  return [
    row({ id: "1", subject_name: "西湖区鲜味餐馆", uscc: "92330106MA27XXXXX1", status: "assigned", departments: ["SCJG", "XFJY"] }),
    row({ id: "2", subject_name: "钱塘化工仓储有限公司", status: "in_progress", due: NOW - 3 * DAY, departments: ["YJGL", "STHJ"], dirty: true }),
    row({ id: "3", subject_name: "拱墅区明远学校食堂", status: "returned", due: NOW + DAY, departments: ["SCJG", "JT"] }),
    row({ id: "4", subject_name: "滨江区晨光药房", status: "submitted", departments: ["WSJK"] }),
    row({ id: "5", subject_name: "余杭区绿源农资店", status: "approved", due: NOW - 10 * DAY, departments: ["SW"] }),
    row({ id: "6", subject_name: "上城区和平旅馆", status: "published", due: NOW - 20 * DAY, departments: ["GA", "XFJY"] }),
    row({ id: "7", subject_name: "临平区已注销商贸公司", status: "cancelled", due: NOW - 5 * DAY, departments: ["SCJG"] }),
  ];
}
