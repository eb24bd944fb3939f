import { describe, expect, it } from "vitest";
import { NO_FILTER, queryFor } from "../tasks/filter";
import { row } from "../testing/rows";
import { BackendError, TRANSPORT_ERROR } from "./backend";
import { type Invoke, type InvokeOptions, TauriBackend } from "./tauri";

interface Call {
  command: string;
  args: Record<string, unknown> | Uint8Array | undefined;
  headers?: Record<string, string>;
}

function recordingInvoke(answer: () => Promise<unknown> = () => Promise.resolve(null)) {
  const calls: Call[] = [];
  const invoke: Invoke = <T>(command: string, args?: Record<string, unknown> | Uint8Array, options?: InvokeOptions) => {
    calls.push(options === undefined ? { command, args } : { command, args, headers: options.headers });
    return answer() as Promise<T>;
  };
  return { calls, invoke };
}

const TASK = "T-2026-东山-01";

describe("TauriBackend", () => {
  it("calls the list_tasks command with the query", async () => {
    const rows = [row({ id: "1" })];
    const { calls, invoke } = recordingInvoke(() => Promise.resolve(rows));
    const query = queryFor(NO_FILTER)!;
    await expect(new TauriBackend(invoke).listTasks(query)).resolves.toEqual(rows);
    expect(calls).toEqual([{ command: "list_tasks", args: { query } }]);
  });

  it("turns a command's { code, message } into a BackendError", async () => {
    const { invoke } = recordingInvoke(() => Promise.reject({ code: "store.sqlite", message: "disk full" }));
    const error = await new TauriBackend(invoke).listTasks(queryFor(NO_FILTER)!).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendError);
    expect(error).toMatchObject({ code: "store.sqlite", message: "disk full" });
  });

  it("turns a code this version does not know into server.unknown, keeping the message", async () => {
    const { invoke } = recordingInvoke(() => Promise.reject({ code: "store.teleported", message: "moved elsewhere" }));
    const error = await new TauriBackend(invoke).listTasks(queryFor(NO_FILTER)!).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendError);
    expect(error).toMatchObject({ code: "server.unknown", message: "moved elsewhere" });
  });

  it("gives IPC failures (plain strings) a code of their own", async () => {
    const { invoke } = recordingInvoke(() => Promise.reject("invalid args `query` for command `list_tasks`"));
    const error = await new TauriBackend(invoke).listTasks(queryFor(NO_FILTER)!).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: TRANSPORT_ERROR, message: "invalid args `query` for command `list_tasks`" });
  });

  it("maps errors of file-carrying commands too", async () => {
    const { invoke } = recordingInvoke(() => Promise.reject({ code: "qr.not_found", message: "no QR code" }));
    const error = await new TauriBackend(invoke).scanEnrollImage(new Uint8Array([1])).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendError);
    expect(error).toMatchObject({ code: "qr.not_found" });
  });

  it("calls each task command with its arguments as camelCase keys", async () => {
    const { calls, invoke } = recordingInvoke();
    const backend = new TauriBackend(invoke);
    const finding = {
      item_id: "SCJG-CY-001",
      description: "冷库温度超标",
      severity: "major" as const,
      rectification_order: null,
      rectification_deadline: null,
    };
    const transfer = { to_department: "GA", summary: "疑似非法储存", criminal: true, evidence: ["ab"] };
    const fixes = [{ t: 1, lat: 30.1, lon: 120.2, accuracy: 5 }];
    const resolution = { kind: "pick" as const, op: "3@aa" };

    await backend.taskView(TASK);
    await backend.taskHistory(TASK);
    await backend.taskQr(TASK);
    await backend.checkIn(TASK, { lat: 30.25, lon: 120.16 });
    await backend.checkIn(TASK, null);
    await backend.answer(TASK, "SCJG-CY-001", { result: "fail", value: null, note: "无证" });
    await backend.setCaption(TASK, "ab12", "后厨");
    await backend.withdrawEvidence(TASK, "ab12", "拍错了");
    await backend.addTrace(TASK, fixes);
    await backend.addFinding(TASK, finding);
    await backend.addLeadTransfer(TASK, transfer);
    await backend.editRecordNotes(TASK, [{ field: "place", value: "后厨" }]);
    await backend.printRecord(TASK);
    await backend.refuseToSign(TASK, "enterprise", "李四", "不同意结论");
    await backend.resolveConflict(TASK, ["checklist", "X", "answer", "result"], resolution);
    await backend.submit(TASK);

    expect(calls).toEqual([
      { command: "task_view", args: { task: TASK } },
      { command: "task_history", args: { task: TASK } },
      { command: "task_qr", args: { task: TASK } },
      { command: "check_in", args: { task: TASK, location: { lat: 30.25, lon: 120.16 } } },
      { command: "check_in", args: { task: TASK, location: null } },
      { command: "answer", args: { task: TASK, item: "SCJG-CY-001", result: "fail", value: null, note: "无证" } },
      { command: "set_caption", args: { task: TASK, sha256: "ab12", caption: "后厨" } },
      { command: "withdraw_evidence", args: { task: TASK, sha256: "ab12", reason: "拍错了" } },
      { command: "add_trace", args: { task: TASK, fixes } },
      { command: "add_finding", args: { task: TASK, finding } },
      { command: "add_lead_transfer", args: { task: TASK, transfer } },
      { command: "edit_record_notes", args: { task: TASK, edits: [{ field: "place", value: "后厨" }] } },
      { command: "print_record", args: { task: TASK } },
      { command: "refuse_to_sign", args: { task: TASK, role: "enterprise", signer: "李四", reason: "不同意结论" } },
      { command: "resolve_conflict", args: { task: TASK, path: ["checklist", "X", "answer", "result"], resolution } },
      { command: "submit", args: { task: TASK } },
    ]);
  });

  it("sends a photo as the body, its other arguments as percent-encoded headers", async () => {
    const { calls, invoke } = recordingInvoke();
    const backend = new TauriBackend(invoke);
    const bytes = new Uint8Array([0xff, 0xd8, 0xff]);

    await backend.addPhoto(TASK, "SCJG-CY-001", bytes, { lat: 30.25, lon: -120.5 });
    await backend.addPhoto(TASK, null, bytes, null);

    expect(calls[0]).toEqual({
      command: "add_photo",
      args: bytes,
      headers: {
        "x-task": encodeURIComponent(TASK),
        "x-item": "SCJG-CY-001",
        "x-lat": "30.25",
        "x-lon": "-120.5",
      },
    });
    expect(calls[0]?.args).toBe(bytes);
    expect(calls[1]).toEqual({ command: "add_photo", args: bytes, headers: { "x-task": encodeURIComponent(TASK) } });
    // Header values are ASCII only.
    for (const value of Object.values(calls[0]?.headers ?? {})) expect(value).toMatch(/^[\x20-\x7e]*$/);
  });

  it("sends a signature as the body with task, role and signer headers", async () => {
    const { calls, invoke } = recordingInvoke();
    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47]);
    await new TauriBackend(invoke).sign(TASK, "enterprise", "王五 & 子", png);
    expect(calls).toEqual([
      {
        command: "sign",
        args: png,
        headers: { "x-task": encodeURIComponent(TASK), "x-role": "enterprise", "x-signer": "%E7%8E%8B%E4%BA%94%20%26%20%E5%AD%90" },
      },
    ]);
    expect(decodeURIComponent(calls[0]!.headers!["x-signer"]!)).toBe("王五 & 子");
  });

  it("answers a blob's bytes as a Uint8Array", async () => {
    const buffer = new Uint8Array([1, 2, 3]).buffer;
    const { calls, invoke } = recordingInvoke(() => Promise.resolve(buffer));
    const bytes = await new TauriBackend(invoke).blob("ab12");
    expect(bytes).toBeInstanceOf(Uint8Array);
    expect([...bytes]).toEqual([1, 2, 3]);
    expect(calls).toEqual([{ command: "blob", args: { sha256: "ab12" } }]);

    const fromArray = await new TauriBackend(recordingInvoke(() => Promise.resolve([4, 5])).invoke).blob("cd");
    expect([...fromArray]).toEqual([4, 5]);
  });

  it("calls the device commands", async () => {
    const identity = { person: "I-001", name: "张伟", team: "东山镇综合执法队", server: "http://s", device: "D-1" };
    const { calls, invoke } = recordingInvoke(() => Promise.resolve(identity));
    const backend = new TauriBackend(invoke);
    const picture = new Uint8Array([1, 2]);

    await expect(backend.identity()).resolves.toEqual(identity);
    await backend.enrollHint();
    await backend.scanEnrollImage(picture);
    await expect(backend.enroll("K7P2M9QX4R", "http://192.168.1.10:7878", "平板 1")).resolves.toEqual(identity);
    await backend.enroll("fieldloop://enroll?server=http://s&code=K7", null, "Tablet");
    await backend.syncStatus();
    await expect(backend.syncNow()).resolves.toBeUndefined();

    expect(calls).toEqual([
      { command: "identity", args: {} },
      { command: "enroll_hint", args: {} },
      { command: "scan_enroll_image", args: picture },
      { command: "enroll", args: { text: "K7P2M9QX4R", server: "http://192.168.1.10:7878", deviceName: "平板 1" } },
      { command: "enroll", args: { text: "fieldloop://enroll?server=http://s&code=K7", server: null, deviceName: "Tablet" } },
      { command: "sync_status", args: {} },
      { command: "sync_now", args: {} },
    ]);
  });
});
