// `Backend` over Tauri IPC: each method is one command of src-tauri/src/commands/.

import { invoke } from "@tauri-apps/api/core";
import { type Backend, BackendError, type TaskQuery, type TaskRow } from "./backend";

/** The signature of `invoke` from `@tauri-apps/api/core`; replaceable in tests. */
export type Invoke = <T>(command: string, args?: Record<string, unknown>) => Promise<T>;

export class TauriBackend implements Backend {
  readonly #invoke: Invoke;

  constructor(call: Invoke = invoke) {
    this.#invoke = call;
  }

  listTasks(query: TaskQuery): Promise<TaskRow[]> {
    return this.#call<TaskRow[]>("list_tasks", { query });
  }

  async #call<T>(command: string, args: Record<string, unknown>): Promise<T> {
    try {
      return await this.#invoke<T>(command, args);
    } catch (reason) {
      throw BackendError.from(reason);
    }
  }
}
