import { describe, expect, it } from "vitest";
import { DAY, NOW, row, sampleRows } from "../testing/rows";
import { taskView } from "../testing/views";
import { BackendError, TRANSPORT_ERROR } from "./backend";
import { unavailableBackend } from "./index";
import { MemoryBackend } from "./memory";

function backend() {
  const memory = new MemoryBackend([row({ id: "1" })], [taskView({ id: "1" })]);
  memory.now = () => NOW;
  return memory;
}

describe("MemoryBackend", () => {
  it("answers copies of the stored view and records the calls", async () => {
    const memory = backend();
    const view = await memory.taskView("1");
    view.subject_name = "changed by a screen";
    expect((await memory.taskView("1")).subject_name).toBe("西湖区鲜味餐馆");
    expect(memory.calls).toEqual([
      { method: "taskView", args: ["1"] },
      { method: "taskView", args: ["1"] },
    ]);
    await expect(memory.taskView("9")).rejects.toMatchObject({ code: "store.not_found" });
  });

  it("checks the tablet's inspector in", async () => {
    const memory = backend();
    const view = await memory.checkIn("1", { lat: 30.2, lon: 120.1 });
    const me = view.inspectors.find((inspector) => inspector.me)!;
    expect(me.checked_in_at).toBe(NOW);
    expect(me.checked_in_location).toEqual({ lat: 30.2, lon: 120.1 });
    expect(view.status).toBe("in_progress");
    expect(view.dirty).toBe(true);
    expect(memory.rows[0]).toMatchObject({ status: "in_progress", dirty: true });
  });

  it("records answers, leaving null fields as they are", async () => {
    const memory = backend();
    await memory.answer("1", "SCJG-CY-001", { result: "fail", value: null, note: "过期" });
    const view = await memory.answer("1", "SCJG-CY-001", { result: null, value: "2026-01-01", note: null });
    expect(view.groups[0]!.items[0]!.answer).toEqual({ result: "fail", value: "2026-01-01", note: "过期" });
    expect(view.groups[0]!.answered).toBe(1);
    await expect(memory.answer("1", "nope", { result: "pass", value: null, note: null })).rejects.toMatchObject({
      code: "task.unknown_item",
    });
  });

  it("keeps photos and signatures as blobs, and withdraws evidence", async () => {
    const memory = backend();
    let view = await memory.addPhoto("1", "SCJG-CY-001", new Uint8Array([1, 2, 3]), null);
    const photo = view.evidence[0]!;
    expect(photo).toMatchObject({ kind: "photo", item: "SCJG-CY-001", bytes: 3 });
    expect(view.groups[0]!.items[0]!.evidence).toEqual([photo.sha256]);
    expect([...(await memory.blob(photo.sha256))]).toEqual([1, 2, 3]);

    view = await memory.setCaption("1", photo.sha256, "许可证");
    expect(view.evidence[0]!.caption).toBe("许可证");
    view = await memory.withdrawEvidence("1", photo.sha256, "拍错了");
    expect(view.evidence[0]).toMatchObject({ withdrawn_reason: "拍错了", withdrawn_at: NOW });
    expect(view.groups[0]!.items[0]!.evidence).toEqual([]);

    view = await memory.sign("1", "enterprise", "王五", new Uint8Array([9]));
    expect(view.signatures).toEqual([
      { role: "enterprise", signer: "王五", image: view.evidence[0]!.sha256, refused_reason: null, by: "I-001", at: NOW },
    ]);
    view = await memory.refuseToSign("1", "enterprise", "王五", "不同意");
    expect(view.signatures[1]).toMatchObject({ image: null, refused_reason: "不同意" });
  });

  it("submits only a task without problems", async () => {
    const memory = backend();
    memory.setProblems("1", [{ problem: { kind: "unanswered", item: "SCJG-CY-001" }, item_title: "x", message: "未作答" }]);
    await expect(memory.submit("1")).rejects.toMatchObject({ code: "task.submit_blocked", message: "未作答" });
    expect(memory.views.get("1")!.status).toBe("assigned");
    memory.setProblems("1", []);
    expect((await memory.submit("1")).status).toBe("submitted");
  });

  it("leaves the view unchanged when a change fails", async () => {
    const memory = backend();
    await expect(memory.resolveConflict("1", ["checklist", "x"], { kind: "pick", op: "1@a" })).rejects.toBeInstanceOf(
      BackendError,
    );
    expect(memory.views.get("1")!.dirty).toBe(false);
  });

  it("enrolls and reports sync", async () => {
    const memory = backend();
    expect(await memory.identity()).toBeNull();
    const who = await memory.enroll("K7P2M9QX4R", "http://s", "平板 1");
    expect(await memory.identity()).toEqual(who);
    expect((await memory.syncStatus()).phase).toBe("idle");
    await memory.syncNow();
    expect(memory.callsTo("syncNow")).toEqual([[]]);
  });

  it("lists tasks by department and due time, as the local store does", async () => {
    const memory = new MemoryBackend(sampleRows());
    const ids = async (query: Partial<Parameters<MemoryBackend["listTasks"]>[0]>) =>
      (await memory.listTasks({ statuses: [], department: null, text: null, due_before: null, limit: null, ...query })).map(
        (r) => r.id,
      );
    expect(await ids({ department: "XFJY" })).toEqual(["1", "6"]);
    expect(await ids({ due_before: NOW - 5 * DAY })).toEqual(["5", "6", "7"]);
    expect(await ids({ due_before: NOW + DAY })).toEqual(["2", "3", "5", "6", "7"]);
    expect(await ids({ department: "SCJG", due_before: NOW + DAY, statuses: ["returned"] })).toEqual(["3"]);
  });

  it("rejects every call with failWith", async () => {
    const memory = backend();
    memory.failWith = new BackendError("store.sqlite", "disk");
    await expect(memory.identity()).rejects.toBe(memory.failWith);
    await expect(memory.checkIn("1", null)).rejects.toBe(memory.failWith);
    expect(memory.views.get("1")!.inspectors[0]!.checked_in_at).toBeNull();
  });

  it("fails the next call to one method with failNext, and holds calls until released", async () => {
    const memory = backend();
    memory.failNext("taskView", new BackendError("server.busy", "busy"));
    await expect(memory.taskView("1")).rejects.toMatchObject({ code: "server.busy" });
    await expect(memory.taskView("1")).resolves.toMatchObject({ id: "1" });

    const release = memory.hold();
    let answered = false;
    const view = memory.taskView("1").then((v) => ((answered = true), v));
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(answered).toBe(false);
    expect(memory.callsTo("taskView")).toHaveLength(3);
    release();
    expect((await view).id).toBe("1");
  });

  it("keeps the problems it was given, refreshes what the view carries, and refuses what Rust refuses", async () => {
    const memory = backend();
    // The fresh task's problems as core reports them (testing/views.ts).
    const stated = structuredClone(memory.views.get("1")!.problems);
    expect(stated.map((p) => p.problem.kind)).toEqual(["too_few_checked_in", "unanswered", "unanswered", "enterprise_unsigned"]);

    let view = await memory.answer("1", "SCJG-CY-001", { result: "pass", value: null, note: null });
    // Core's rules are not played here: the problems stay as stated until the test sets them.
    expect(view.problems).toEqual(stated);
    expect(view.groups[0]!.answered).toBe(1);
    await expect(memory.addPhoto("1", null, new Uint8Array(), null)).rejects.toMatchObject({ code: "photo.empty" });
    view = await memory.addPhoto("1", "SCJG-CY-001", new Uint8Array([1]), null);
    await expect(memory.withdrawEvidence("1", view.evidence[0]!.sha256, " ")).rejects.toMatchObject({
      code: "task.reason_required",
    });
    expect(view.problems).toEqual(stated);
    expect(view.groups[0]!.items[0]!.evidence).toEqual([view.evidence[0]!.sha256]);

    // What Rust would report now: the answered item's problem is gone.
    const now = stated.filter((p) => !(p.problem.kind === "unanswered" && p.problem.item === "SCJG-CY-001"));
    memory.setProblems("1", now);
    expect((await memory.taskView("1")).problems).toEqual(now);
    expect(memory.callsTo("taskView")).toHaveLength(1);
    await expect(memory.submit("1")).rejects.toMatchObject({ code: "task.submit_blocked" });
    expect(() => memory.setProblems("9", [])).toThrow(BackendError);

    memory.setProblems("1", []);
    expect((await memory.submit("1")).status).toBe("submitted");
    await expect(memory.checkIn("1", null)).rejects.toMatchObject({ code: "task.frozen" });
  });

  it("keeps a picked conflict value and settles the conflict", async () => {
    const memory = backend();
    const path = ["checklist", "SCJG-CY-001", "answer", "result"];
    memory.views.get("1")!.conflicts = [
      {
        path,
        values: [
          { op: "1@a", value: "pass", actor: "a", person: "I-001", at: NOW },
          { op: "2@b", value: "fail", actor: "b", person: "I-002", at: NOW },
        ],
      },
    ];
    const view = await memory.resolveConflict("1", path, { kind: "pick", op: "2@b" });
    expect(view.groups[0]!.items[0]!.answer.result).toBe("fail");
    expect(view.conflicts).toEqual([]);
    expect(view.groups[0]!.items[0]!.conflicted).toBe(false);
  });
});

describe("MemoryBackend: the 笔录 and its print", () => {
  it("writes the fields the edits name and refuses what core's checks refuse", async () => {
    const memory = backend();
    const view = await memory.editRecordNotes("1", [
      { field: "place", value: " 后厨 " },
      { field: "started_at", value: NOW },
    ]);
    expect(view.record_notes.place).toBe("后厨");
    expect(view.record_notes.started_at).toBe(NOW);
    expect(view.record_notes.party_statement).toBe("");
    await expect(memory.editRecordNotes("1", [{ field: "party_statement", value: "字".repeat(2001) }])).rejects.toMatchObject({
      code: "task.record_notes",
    });
    await expect(memory.editRecordNotes("1", [{ field: "recorder", value: "I-999" }])).rejects.toMatchObject({ code: "task.record_notes" });
    await expect(memory.editRecordNotes("1", [{ field: "ended_at", value: NOW - 1 }])).rejects.toMatchObject({ code: "task.record_notes" });
    expect((await memory.taskView("1")).record_notes.place).toBe("后厨");
  });

  it("prints the same record to the same file, recorded once", async () => {
    const memory = backend();
    const first = await memory.printRecord("1");
    const again = await memory.printRecord("1");
    expect(again.sha256).toBe(first.sha256);
    expect(first.recorded).toBe(true);
    expect(again.recorded).toBe(false);
    expect(first.path).toMatch(/^\/data\/prints\/.+-[0-9a-f]{8}\.pdf$/);
    expect((await memory.taskView("1")).prints).toHaveLength(1);
  });
});

describe("unavailableBackend", () => {
  it("rejects every call with a transport error", async () => {
    const backend = unavailableBackend();
    await expect(backend.identity()).rejects.toMatchObject({ code: TRANSPORT_ERROR });
    await expect(backend.listTasks({ statuses: [], department: null, text: null, due_before: null, limit: null })).rejects.toBeInstanceOf(
      BackendError,
    );
    await expect(backend.syncNow()).rejects.toMatchObject({ code: TRANSPORT_ERROR });
    // It is no promise itself.
    expect(await Promise.resolve(backend)).toBe(backend);
  });
});
