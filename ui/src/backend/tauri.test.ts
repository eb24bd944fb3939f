import { describe, expect, it } from "vitest";
import { NO_FILTER, queryFor } from "../tasks/filter";
import { row } from "../testing/rows";
import { BackendError, TRANSPORT_ERROR } from "./backend";
import { type Invoke, TauriBackend } from "./tauri";

function recordingInvoke(answer: () => Promise<unknown>) {
  const calls: { command: string; args: Record<string, unknown> | undefined }[] = [];
  const invoke: Invoke = <T>(command: string, args?: Record<string, unknown>) => {
    calls.push({ command, args });
    return answer() as Promise<T>;
  };
  return { calls, invoke };
}

describe("TauriBackend", () => {
  it("calls the list_tasks command with the query", async () => {
    const rows = [row({ id: "1" })];
    const { calls, invoke } = recordingInvoke(() => Promise.resolve(rows));
    const query = queryFor(NO_FILTER);
    await expect(new TauriBackend(invoke).listTasks(query)).resolves.toEqual(rows);
    expect(calls).toEqual([{ command: "list_tasks", args: { query } }]);
  });

  it("turns a command's { code, message } into a BackendError", async () => {
    const { invoke } = recordingInvoke(() => Promise.reject({ code: "store.io", message: "disk full" }));
    const error = await new TauriBackend(invoke).listTasks(queryFor(NO_FILTER)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendError);
    expect(error).toMatchObject({ code: "store.io", message: "disk full" });
  });

  it("gives IPC failures (plain strings) a code of their own", async () => {
    const { invoke } = recordingInvoke(() => Promise.reject("invalid args `query` for command `list_tasks`"));
    const error = await new TauriBackend(invoke).listTasks(queryFor(NO_FILTER)).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: TRANSPORT_ERROR, message: "invalid args `query` for command `list_tasks`" });
  });
});
