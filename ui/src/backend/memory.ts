// An in-memory `Backend` for tests: it answers from a list of rows the way the
// local store does (status, department, text on subject name / USCC / code,
// limit) and records every query it was asked.

import type { Backend, BackendError, TaskQuery, TaskRow } from "./backend";

export class MemoryBackend implements Backend {
  rows: TaskRow[];
  /** Every query received, in order. */
  readonly queries: TaskQuery[] = [];
  /** When set, every call rejects with it. */
  failWith: BackendError | null = null;

  constructor(rows: TaskRow[] = []) {
    this.rows = rows;
  }

  async listTasks(query: TaskQuery): Promise<TaskRow[]> {
    this.queries.push(query);
    if (this.failWith) throw this.failWith;
    const text = query.text?.trim().toLowerCase() ?? "";
    const found = this.rows.filter(
      (row) =>
        (query.statuses.length === 0 || query.statuses.includes(row.status)) &&
        (query.department === null || row.departments.includes(query.department)) &&
        (text === "" ||
          [row.subject_name, row.uscc, row.code].some((field) => field.toLowerCase().includes(text))),
    );
    return query.limit === null ? found : found.slice(0, query.limit);
  }
}

