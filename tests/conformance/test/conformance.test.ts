// Conformance of the real fieldloop-server against docs/protocol.md and docs/schema.md.
import { createHash, randomBytes } from "node:crypto";
import { resolve } from "node:path";
import * as A from "@automerge/automerge";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ApiError,
  Replica,
  ackHash,
  bytesToHex,
  enroll,
  hexToBytes,
  idleRequestBytes,
  postSync,
  decodeAnswer,
  encodeCbor,
  encodeRequest,
  type Enrollment,
  type Round,
  type SyncRequest,
  type SyncStats,
  type TaskDoc,
  WireError,
} from "../src/client.js";
import { appendRecord, f64, int, str } from "../src/task.js";
import { REPO_DIR, issueCode, startServer, type RunningServer } from "./server.js";
import { plain, readSchemaTable, schemaViolations, statusOf, typeAt, type SchemaTable } from "./schema.js";

const TEAM = "T-QX-01";
const DEMO_TASKS = 36;
const FEED_PAGE = 5;

let server: RunningServer;
let schema: SchemaTable;
const devices = new Map<string, Replica>();

beforeAll(async () => {
  schema = readSchemaTable(resolve(REPO_DIR, "docs/schema.md"));
  server = await startServer(["--demo", "--feed-page", String(FEED_PAGE)]);
}, 120_000);

afterAll(async () => {
  await server?.stop();
});

/** A device for the person, enrolled and fully synced once (memoised across scenarios). */
async function device(person: string): Promise<Replica> {
  let replica = devices.get(person);
  if (replica === undefined) {
    const enrollment = await enroll(server.url, await issueCode(server, person), `${person} conformance`);
    replica = new Replica(server.url, enrollment);
    await replica.sync();
    devices.set(person, replica);
  }
  return replica;
}

async function refusal(promise: Promise<unknown>): Promise<ApiError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw err;
  }
  throw new Error("expected the server to refuse the request");
}

function sorted(heads: readonly string[]): string[] {
  return [...heads].sort();
}

/** The manual CBOR encoding of a uint (RFC 8949 §3.1), independent of the library. */
function cborUint(n: number): number[] {
  if (n < 24) return [n];
  if (n < 0x100) return [0x18, n];
  if (n < 0x10000) return [0x19, n >> 8, n & 0xff];
  throw new Error("cursor too large for this test");
}

/** Tasks all the persons inspect and an inspector may still edit (not frozen), by id. */
function openTasks(replica: Replica, persons: string[]): string[] {
  return [...replica.docs.entries()]
    .filter(([, doc]) => persons.every((p) => (plain(doc).inspectors as string[]).includes(p)))
    .filter(([, doc]) => ["assigned", "in_progress", "returned"].includes(statusOf(doc) ?? ""))
    .map(([id]) => id)
    .sort();
}

function sharedOpenTask(replica: Replica, persons: string[]): string {
  const candidates = openTasks(replica, persons);
  if (candidates.length === 0) throw new Error(`no open task shared by ${persons.join(", ")}`);
  return candidates[0]!;
}

/** The device's first change to a task: its own `actors` entry (docs/schema.md, "Who creates what"). */
function registerActor(replica: Replica, task: string): void {
  replica.change(task, (d: any) => {
    if (!d.actors[replica.actor]) {
      d.actors[replica.actor] = { person: str(replica.enrollment.person), role: str("inspector") };
    }
  });
}

/** Checklist item ids of a task, in their `order`. */
function itemsInOrder(doc: TaskDoc): string[] {
  const checklist = plain(doc).checklist as Record<string, { order: number }>;
  return Object.keys(checklist).sort((a, b) => checklist[a]!.order - checklist[b]!.order);
}

function conflictingValues(doc: TaskDoc, item: string, key: string): string[] {
  const conflicts = A.getConflicts(doc.checklist[item].answer, key) ?? {};
  return Object.values(conflicts).map(String).sort();
}

// --- Scenario 1 ------------------------------------------------------------

describe("1. enrollment", () => {
  it("accepts a good code and answers the documented fields", async () => {
    const code = await issueCode(server, "I-001");
    const e: Enrollment = await enroll(server.url, code, "张伟的平板");
    expect(e.device_id).toMatch(/^D-/);
    expect(e.token).toMatch(/^[0-9a-f]{64}$/);
    expect(e.actor).toMatch(/^[0-9a-f]{32}$/);
    expect(e.person).toBe("I-001");
    expect(e.team).toBe(TEAM);
    devices.set("I-001", new Replica(server.url, e));

    // a used code is refused like a wrong one
    const used = await refusal(enroll(server.url, code));
    expect(used.status).toBe(400);
    expect(used.code, used.message).toBe("enroll.bad_code");
    expect(used.contentType).toMatch(/json/);
  });

  it("refuses a wrong code with 400 enroll.bad_code (JSON)", async () => {
    const err = await refusal(enroll(server.url, "AAAAAAAAAA"));
    expect(err.status).toBe(400);
    expect(err.code, err.message).toBe("enroll.bad_code");
    expect(err.contentType).toMatch(/json/);
    expect(err.detail.length).toBeGreaterThan(0);
  });

  it("ignores case, spaces and dashes in the code", async () => {
    const code = await issueCode(server, "I-003");
    const mangled = code.toLowerCase().replace(/(.{3})/g, "$1- ");
    const e = await enroll(server.url, mangled);
    expect(e.person).toBe("I-003");
    devices.set("I-003", new Replica(server.url, e));
  });
});

// --- Scenario 2 ------------------------------------------------------------

describe("2. a fresh device syncs every task in pages", () => {
  let stats: SyncStats;
  let replica: Replica;

  beforeAll(async () => {
    replica = devices.get("I-001") ?? (await device("I-001"));
    if (replica.cursor === 0) {
      stats = await replica.sync();
      devices.set("I-001", replica);
    }
  });

  it("takes several rounds with `m` set until the last", () => {
    expect(stats, "device I-001 was already synced (scenario 1 failed?)").toBeDefined();
    expect(stats.rounds).toBeGreaterThanOrEqual(Math.ceil(DEMO_TASKS / FEED_PAGE));
    const more = stats.log.map((r) => r.answer.m);
    expect(more.slice(0, -1).every((m) => m)).toBe(true);
    expect(more.at(-1)).toBe(false);
    for (const round of stats.log) {
      expect(round.request.d ?? []).toHaveLength(0);
      expect(round.pulls.length).toBeLessThanOrEqual(FEED_PAGE);
      expect(round.answer.a).toHaveLength(0);
      expect(round.answer.ah).toBeUndefined();
    }
    // the cursor only moves forward
    const cursors = stats.log.map((r) => r.answer.c);
    expect([...cursors].sort((a, b) => a - b)).toEqual(cursors);
  });

  it("delivers every task once, whole, at the heads the server announced", () => {
    const pulls = stats.log.flatMap((r) => r.pulls);
    expect(new Set(pulls.map((p) => p.i)).size).toBe(DEMO_TASKS);
    expect(pulls).toHaveLength(DEMO_TASKS);
    expect(replica.docs.size).toBe(DEMO_TASKS);
    for (const pull of pulls) {
      expect(pull.f, `${pull.i} whole`).toBe(true);
      expect(pull.r).toBe(false);
      const announced = sorted(pull.h.map(bytesToHex));
      expect(sorted(A.getHeads(A.load(pull.c))), `${pull.i} loads at its heads`).toEqual(announced);
      expect(sorted(replica.heads(pull.i))).toEqual(announced);
      expect(sorted(replica.known.get(pull.i)!)).toEqual(announced);
    }
    expect(replica.dirty.size).toBe(0);
  });

  it("sends documents that follow docs/schema.md", () => {
    for (const [id, doc] of replica.docs) {
      expect(schemaViolations(doc, schema), id).toEqual([]);
      expect(plain(doc).team).toBe(TEAM);
      expect(plain(doc).id).toBe(id);
      expect(statusOf(doc), `${id} has a status`).not.toBeNull();
    }
    const [id, doc] = [...replica.docs.entries()][0]!;
    const item = itemsInOrder(doc)[0]!;
    const spot: [A.Prop[], string][] = [
      [["schema"], "uint"],
      [["window", "start"], "int"],
      [["window", "due"], "int"],
      [["code"], "str"],
      [["id"], "str"],
      [["kind"], "str"],
      [["subject", "name"], "str"],
      [["subject", "location", "lat"], "f64"],
      [["inspectors", 0], "str"],
      [["events", 0, "kind"], "str"],
      [["events", 0, "at"], "int"],
      [["actors"], "map"],
      [["checklist", item, "order"], "uint"],
      [["checklist", item, "requires_evidence"], "bool"],
      [["checklist", item, "answer", "result"], "null"],
      [["checklist", item, "evidence"], "list"],
    ];
    for (const [path, type] of spot) expect(typeAt(doc, path), `${id}: ${path.join(".")}`).toBe(type);
  });
});

// --- Scenario 3 ------------------------------------------------------------

describe("3. nothing to push, nothing new", () => {
  it("is one round trip of the documented bytes (a client older than `cd`)", async () => {
    // docs/protocol.md, "Examples": {"v": 2, "c": N} and {"c": N}
    const replica = await device("I-001");
    const cursor = replica.cursor;
    const request = [0xa2, 0x61, 0x76, 0x02, 0x61, 0x63, ...cborUint(cursor)];
    const answer = [0xa1, 0x61, 0x63, ...cborUint(cursor)];
    const body = await postSync(server.url, replica.enrollment.token, new Uint8Array(request));
    expect([...body]).toEqual(answer);
    expect([...idleRequestBytes(cursor)]).toEqual(request);
  });

  it("is one round trip of {v, c, cd} and {c, cd} with the mark", async () => {
    const replica = await device("I-001");
    const cursor = replica.cursor;
    expect(replica.done, "after a sync with m = false, cd equals c").toBe(cursor);
    const stats = await replica.sync();
    expect(stats.rounds).toBe(1);
    const [round] = stats.log;
    // {"v": 2, "c": N, "cd": N}: the keys as this client writes them
    const request = [0xa3, 0x61, 0x76, 0x02, 0x61, 0x63, ...cborUint(cursor), 0x62, 0x63, 0x64, ...cborUint(cursor)];
    expect([...round!.requestBody]).toEqual(request);
    // {"c": N, "cd": N}, keys in any order
    expect(round!.answer).toMatchObject({ c: cursor, cd: cursor, m: false, a: [], d: [] });
    const n = cborUint(cursor).length;
    expect(round!.answerBytes).toBe(1 + (2 + n) + (3 + n));
    expect(stats.bytesSent).toBe(request.length);
    expect(replica.cursor).toBe(cursor);
    expect(replica.done).toBe(cursor);
  });

  it("matches the byte example at feed position 5 exactly", () => {
    expect(bytesToHex(encodeRequest({ v: 2, c: 5 }))).toBe("a2617602616305");
  });
});

// --- Scenario 4 ------------------------------------------------------------

let sharedTask: string;

describe("4. an inspector's edit", () => {
  let a: Replica;
  let b: Replica;
  let item: string;
  let headsA: string[];
  let cursorBefore: number;
  let pushRound: Round;

  it("computes the ack hash as the doc's example does", () => {
    const H = randomBytes(32);
    const expected = createHash("sha256")
      .update(Buffer.from([0, 0, 0, 1, 0x74, 0, 0, 0, 1]))
      .update(H)
      .digest();
    expect(bytesToHex(ackHash([{ i: "t", h: [H] }], [0]))).toBe(expected.toString("hex"));
  });

  it("is written as docs/schema.md prescribes", async () => {
    a = await device("I-001");
    b = await device("I-002");
    sharedTask = sharedOpenTask(a, ["I-001", "I-002"]);
    item = itemsInOrder(a.doc(sharedTask))[0]!;

    // The device's first change registers its own `actors` entry; an event
    // is a whole map with every key; answers go into the existing answer map.
    a.change(sharedTask, (d: any) => {
      d.actors[a.actor] = { person: str(a.enrollment.person), role: str("inspector") };
      appendRecord(d.events, {
        kind: str("checked_in"),
        at: int(Date.now()),
        by: str(a.enrollment.person),
        role: str("inspector"),
        comment: null,
        location: { lat: f64(30), lon: f64(118.25) },
      });
    });
    a.change(sharedTask, (d: any) => {
      d.checklist[item].answer.result = str("pass");
      d.checklist[item].answer.note = str("灭火器在有效期内");
    });
    expect(schemaViolations(a.doc(sharedTask), schema)).toEqual([]);
    expect(typeAt(a.doc(sharedTask), ["events", plain(a.doc(sharedTask)).events.length - 1, "location", "lat"])).toBe("f64");
    expect(statusOf(a.doc(sharedTask))).toBe("in_progress");
  });

  it("is pushed and acked, with an ack hash that matches the request", async () => {
    cursorBefore = a.cursor;
    headsA = sorted(a.heads(sharedTask));
    const stats = await a.sync();
    expect(stats.rounds).toBe(1);
    pushRound = stats.log[0]!;
    expect(pushRound.request.d).toHaveLength(1);
    expect(pushRound.request.d![0]!.i).toBe(sharedTask);
    expect(pushRound.answer.a).toEqual([0]);
    expect(pushRound.ackHashOk).toBe(true);
    expect(pushRound.acked).toEqual([sharedTask]);
    // an acked push has no DocPull
    expect(pushRound.pulls.map((p) => p.i)).not.toContain(sharedTask);
    expect(sorted(a.known.get(sharedTask)!)).toEqual(headsA);
    expect(a.dirty.size).toBe(0);
  });

  it("ignores the acks of that answer when applied to another request (stale answer)", () => {
    const other: SyncRequest = {
      v: 2,
      c: cursorBefore,
      d: [{ i: sharedTask, h: [randomBytes(32)], c: new Uint8Array([0]) }],
    };
    const probe = new Replica(server.url, a.enrollment);
    expect(probe.apply(other, { ...pushRound.answer, d: [] })).toEqual({ acked: [], ackHashOk: false });
    expect(probe.known.size).toBe(0);
  });

  it("moves the cursor past the push's own feed entry (docs: c 5 → 6)", () => {
    // docs/protocol.md, "Examples": a push at c = 5, all accepted, nothing
    // else new, is answered {"c": 6, "a": [0], "ah": …}.
    expect(pushRound.answer.c).toBe(cursorBefore + 1);
  });

  it("leaves nothing new for the device that pushed it (its own change is not echoed)", async () => {
    // docs/protocol.md, "Cost": nothing to push and nothing new is {v: 2, c: N} → {c: N}.
    const cursor = a.cursor;
    const stats = await a.sync();
    expect(stats.rounds).toBe(1);
    expect(stats.log[0]!.pulls.map((p) => p.i), "own change echoed").toEqual([]);
    expect(stats.log[0]!.answer.c).toBe(cursor);
  });

  it("reaches a second device (I-002) as a delta at the same heads", async () => {
    const statsB = await b.sync();
    const pulls = statsB.log.flatMap((r) => r.pulls).filter((p) => p.i === sharedTask);
    expect(pulls).toHaveLength(1);
    expect(pulls[0]!.f, "a device that has the task gets a delta").toBe(false);
    expect(sorted(pulls[0]!.h.map(bytesToHex))).toEqual(headsA);
    expect(sorted(b.heads(sharedTask))).toEqual(headsA);
    const docB = b.doc(sharedTask);
    const viewB = plain(docB);
    expect(viewB.actors[a.actor]).toEqual({ person: "I-001", role: "inspector" });
    expect(viewB.events.at(-1)).toMatchObject({ kind: "checked_in", by: "I-001", role: "inspector", comment: null });
    expect(typeAt(docB, ["events", viewB.events.length - 1, "at"])).toBe("int");
    expect(viewB.checklist[item].answer.result).toBe("pass");
    expect(schemaViolations(docB, schema)).toEqual([]);
  });
});

// --- Scenario 5 ------------------------------------------------------------

describe("5. concurrent edits of one value", () => {
  it("converge to the same heads and keep both values as a conflict", async () => {
    const a = await device("I-001");
    const b = await device("I-002");
    const task = sharedTask ?? sharedOpenTask(a, ["I-001", "I-002"]);
    const item = itemsInOrder(a.doc(task))[1]!;

    a.change(task, (d: any) => {
      if (!d.actors[a.actor]) d.actors[a.actor] = { person: str("I-001"), role: str("inspector") };
      d.checklist[item].answer.result = str("fail");
    });
    b.change(task, (d: any) => {
      if (!d.actors[b.actor]) d.actors[b.actor] = { person: str("I-002"), role: str("inspector") };
      d.checklist[item].answer.result = str("not_applicable");
    });

    const first = await a.sync();
    expect(first.log[0]!.acked).toEqual([task]);

    // B's push meets A's change on the server: no ack, a DocPull with the merge
    const second = await b.sync();
    const round = second.log[0]!;
    expect(round.answer.a).toEqual([]);
    const pull = round.pulls.find((p) => p.i === task)!;
    expect(pull, "B's push answered by a DocPull").toBeDefined();
    expect(pull.f).toBe(false);
    expect(pull.r).toBe(false);
    expect(pull.h).toHaveLength(2);
    const serverHeads = sorted(pull.h.map(bytesToHex));
    expect(sorted(b.heads(task))).toEqual(serverHeads);

    await a.sync();
    await a.sync();
    await b.sync();
    expect(sorted(a.heads(task))).toEqual(serverHeads);
    expect(sorted(b.heads(task))).toEqual(serverHeads);

    const both = ["fail", "not_applicable"];
    expect(conflictingValues(a.doc(task), item, "result")).toEqual(both);
    expect(conflictingValues(b.doc(task), item, "result")).toEqual(both);
    expect(plain(a.doc(task)).checklist[item].answer.result).toBe(plain(b.doc(task)).checklist[item].answer.result);

    // The server's own view: a device that has never seen the task loads it whole.
    const c = devices.get("I-003") ?? (await device("I-003"));
    await c.sync();
    expect(sorted(c.heads(task))).toEqual(serverHeads);
    expect(conflictingValues(c.doc(task), item, "result")).toEqual(both);
    expect(schemaViolations(c.doc(task), schema)).toEqual([]);
  });
});

// --- Scenario 6 ------------------------------------------------------------

describe("6. refusals", () => {
  /** Sync with nothing to push, asserting the server stored nothing since `cursor`. */
  async function expectNothingStored(replica: Replica, cursor: number): Promise<void> {
    const stats = await replica.sync();
    expect(stats.rounds).toBe(1);
    expect(stats.log[0]!.request.d).toBeUndefined();
    expect(stats.log[0]!.answer.c).toBe(cursor);
    expect(stats.log[0]!.pulls).toEqual([]);
  }

  /** Runs `edit` on a copy of the task, expects the push refused, then undoes it locally. */
  async function refusedPush(replica: Replica, task: string, edit: (doc: TaskDoc) => TaskDoc): Promise<ApiError> {
    const saved = A.save(replica.doc(task));
    const cursor = replica.cursor;
    replica.replace(task, edit(A.load(saved, { actor: replica.actor })));
    expect(replica.dirty.has(task)).toBe(true);
    const err = await refusal(replica.sync());
    expect(replica.cursor, "a refused request moves nothing").toBe(cursor);
    replica.replace(task, A.load(saved, { actor: replica.actor }));
    expect(replica.dirty.size).toBe(0);
    await expectNothingStored(replica, cursor);
    return err;
  }

  it("refuses a bad token with 401 auth.bad_token", async () => {
    const body = encodeRequest({ v: 2, c: 0 });
    const err = await refusal(postSync(server.url, "0".repeat(64), body));
    expect(err.status).toBe(401);
    expect(err.code, err.message).toBe("auth.bad_token");
    expect(err.contentType).toMatch(/json/);
  });

  it("refuses a change by another actor with 403 sync.actor_mismatch and stores nothing", async () => {
    const a = await device("I-001");
    const task = sharedTask ?? sharedOpenTask(a, ["I-001", "I-002"]);
    const item = itemsInOrder(a.doc(task))[0]!;
    const foreign = randomBytes(16).toString("hex");
    const err = await refusedPush(a, task, (doc) =>
      A.change(A.clone(doc, { actor: foreign }), (d: any) => {
        d.checklist[item].answer.note = str("forged");
      }),
    );
    expect(err.status).toBe(403);
    expect(err.code, err.message).toBe("sync.actor_mismatch");
    const b = await device("I-002");
    const cursorB = b.cursor;
    await expectNothingStored(b, cursorB);
  });

  it("refuses a wrong Content-Type with 415 sync.content_type", async () => {
    const a = await device("I-001");
    const body = encodeRequest({ v: 2, c: a.cursor });
    const err = await refusal(postSync(server.url, a.enrollment.token, body, "application/json"));
    expect(err.status).toBe(415);
    expect(err.code, err.message).toBe("sync.content_type");
    expect(err.contentType).toMatch(/json/);
  });

  it("refuses collaborative Text (a plain JS string) with 422 policy.bad_value", async () => {
    const a = await device("I-001");
    const task = sharedTask ?? sharedOpenTask(a, ["I-001", "I-002"]);
    const item = itemsInOrder(a.doc(task))[0]!;
    const err = await refusedPush(a, task, (doc) =>
      A.change(doc, (d: any) => {
        d.checklist[item].answer.note = "a Text object, not a str";
      }),
    );
    expect(err.status).toBe(422);
    expect(err.code, err.message).toBe("policy.bad_value");
  });

  it("refuses an inspector's `approved` event with 403 policy.event_not_allowed", async () => {
    const a = await device("I-001");
    const task = sharedTask ?? sharedOpenTask(a, ["I-001", "I-002"]);
    const err = await refusedPush(a, task, (doc) =>
      A.change(doc, (d: any) => {
        appendRecord(d.events, {
          kind: str("approved"),
          at: int(Date.now()),
          by: str("I-001"),
          role: str("inspector"),
          comment: null,
          location: null,
        });
      }),
    );
    expect(err.status).toBe(403);
    expect(err.code, err.message).toBe("policy.event_not_allowed");
  });

  // docs/protocol.md, "Transport": every error is JSON {code, message} with a 4xx/5xx status.
  async function expectJsonError(res: Response, status: number): Promise<{ code: string; message: string }> {
    expect(res.status).toBe(status);
    const text = await res.text();
    expect(res.headers.get("content-type"), `body: ${text}`).toMatch(/json/);
    const body = JSON.parse(text) as { code: unknown; message: unknown };
    expect(typeof body.code).toBe("string");
    expect(typeof body.message).toBe("string");
    return body as { code: string; message: string };
  }

  it("refuses a sync without Authorization with a 401 JSON error", async () => {
    const res = await fetch(`${server.url}/api/v1/sync`, {
      method: "POST",
      headers: { "content-type": "application/cbor" },
      body: encodeRequest({ v: 2, c: 0 }) as Uint8Array<ArrayBuffer>,
    });
    const body = await expectJsonError(res, 401);
    // docs name auth.bad_token and auth.revoked only
    expect(["auth.bad_token", "auth.missing"]).toContain(body.code);
  });

  it("refuses a body over 32 MiB with 413 as a JSON error", async () => {
    const a = await device("I-001");
    const res = await fetch(`${server.url}/api/v1/sync`, {
      method: "POST",
      headers: { authorization: `Bearer ${a.enrollment.token}`, "content-type": "application/cbor" },
      body: new Uint8Array(32 * 1024 * 1024 + 1),
    });
    await expectJsonError(res, 413);
  });

  it("refuses an enrollment body without device_name with a JSON error", async () => {
    const code = await issueCode(server, "I-002");
    const res = await fetch(`${server.url}/api/v1/enroll`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ code }),
    });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    await expectJsonError(res, res.status);
  });

  it("refuses malformed bodies with the documented 400 codes", async () => {
    const a = await device("I-001");
    const token = a.enrollment.token;
    const send = (body: unknown): Promise<ApiError> =>
      refusal(postSync(server.url, token, encodeCbor(body)));

    const version = await send({ v: 1, c: 0 });
    expect([version.status, version.code]).toEqual([400, "sync.version"]);
    const unknownKey = await send({ v: 2, c: 0, x: 1 });
    expect([unknownKey.status, unknownKey.code]).toEqual([400, "sync.bad_message"]);
    const task = sharedTask ?? [...a.docs.keys()][0]!;
    const shortHash = await send({ v: 2, c: 0, d: [{ i: task, h: [new Uint8Array(31)] }] });
    expect([shortHash.status, shortHash.code]).toEqual([400, "sync.bad_hash"]);
    const twice = { i: task, h: a.heads(task).map(hexToBytes) };
    const duplicate = await send({ v: 2, c: 0, d: [twice, twice] });
    expect([duplicate.status, duplicate.code]).toEqual([400, "sync.duplicate_doc"]);
    const garbage = await send({ v: 2, c: 0, d: [{ i: task, h: a.heads(task).map(hexToBytes), c: new Uint8Array([1, 2, 3]) }] });
    expect([garbage.status, garbage.code]).toEqual([400, "sync.bad_changes"]);
    await expectNothingStored(a, a.cursor);
  });
});

// --- Scenario 7 ------------------------------------------------------------

describe("7. acks of several pushes, and recovery with `r`", () => {
  it("acks two pushes of one request with one ack hash over both", async () => {
    const a = await device("I-001");
    const tasks = openTasks(a, ["I-001"]).filter((t) => t !== sharedTask).slice(0, 2);
    expect(tasks).toHaveLength(2);
    for (const t of tasks) registerActor(a, t);
    const stats = await a.sync();
    const round = stats.log[0]!;
    expect(round.request.d!.map((p) => p.i).sort()).toEqual([...tasks].sort());
    expect(round.answer.a).toEqual([0, 1]);
    expect(round.ackHashOk).toBe(true);
    // the hash binds the order: swapped pushes give another hash
    const swapped = [...round.request.d!].reverse();
    expect(bytesToHex(ackHash(swapped, [0, 1]))).not.toBe(bytesToHex(round.answer.ah!));
    for (const t of tasks) expect(sorted(a.known.get(t)!)).toEqual(sorted(a.heads(t)));
  });

  it("acks a push of heads alone (`c` left out) when the server holds them", async () => {
    const a = await device("I-001");
    const task = [...a.docs.keys()].sort()[0]!;
    const request: SyncRequest = { v: 2, c: a.cursor, d: [{ i: task, h: a.heads(task).map(hexToBytes) }] };
    const answer = decodeAnswer(await postSync(server.url, a.enrollment.token, encodeRequest(request)));
    expect(answer.a).toEqual([0]);
    expect(bytesToHex(answer.ah!)).toBe(bytesToHex(ackHash(request.d!, [0])));
  });

  it("answers `r` (whole document) when it lacks the dependencies, and takes the re-push", async () => {
    const a = await device("I-001");
    const task = openTasks(a, ["I-001"]).filter((t) => t !== sharedTask).slice(2)[0]!;
    registerActor(a, task);
    const unknownToServer = a.heads(task);
    const item = itemsInOrder(a.doc(task))[0]!;
    a.change(task, (d: any) => {
      d.checklist[item].answer.note = str("needs the change before it");
    });
    // Pretend the server holds the first change (as after a restore from backup).
    a.known.set(task, unknownToServer);
    const stats = await a.sync();
    expect(stats.rounds).toBe(2);
    const [first, second] = stats.log;
    const pull = first!.pulls.find((p) => p.i === task)!;
    expect(pull.r).toBe(true);
    expect(pull.f).toBe(true);
    expect(first!.answer.a).toEqual([]);
    expect(second!.request.d![0]!.i).toBe(task);
    // the second push is the whole document: known was reset to empty
    expect(sorted(A.getHeads(A.load(second!.request.d![0]!.c!)))).toEqual(sorted(a.heads(task)));
    expect(second!.acked).toEqual([task]);

    const c = devices.get("I-003") ?? (await device("I-003"));
    await c.sync();
    expect(sorted(c.heads(task))).toEqual(sorted(a.heads(task)));
    expect(plain(c.doc(task)).checklist[item].answer.note).toBe("needs the change before it");
  });
});

// --- Scenario 8 ------------------------------------------------------------

/**
 * The pages docs/protocol.md ("What the server does", steps 5-6) prescribes
 * for a client whose `c` and `cd` are at `start`, when the feed after it is
 * `feed` (task ids, one entry each, in feed order) and nothing else changes.
 */
function expectedPages(feed: readonly string[], page: number, withMark: boolean): string[][] {
  // a document's first entry at index >= from, for each document with one
  const firstFrom = (from: number): Map<string, number> => {
    const first = new Map<string, number>();
    for (let k = from; k < feed.length; k++) if (!first.has(feed[k]!)) first.set(feed[k]!, k);
    return first;
  };
  const latest = new Map<string, number>();
  feed.forEach((id, k) => latest.set(id, k));
  const inOrder = (entries: Map<string, number>): string[] =>
    [...entries.entries()].sort((x, y) => x[1] - y[1]).map(([id]) => id);

  const pages: string[][] = [];
  let c = 0; // feed[0..c) is at or before the cursor
  let cd = 0; // feed[0..cd) is at or before the mark
  for (;;) {
    const order = withMark
      ? inOrder(new Map([...latest].filter(([, k]) => k >= Math.max(c, cd)))) // by latest entry after cd
      : inOrder(firstFrom(c)); // by first entry after c
    const taken = order.slice(0, page);
    pages.push(taken);
    if (order.length <= page) return pages;
    if (withMark) cd = latest.get(taken.at(-1)!)! + 1; // c stays
    else c = firstFrom(c).get(order[page]!)!; // just before the first left out
  }
}

describe("8. paging by the paged-through mark `cd`", () => {
  const PASSES = 2;
  let editor: Replica;
  let withMark: Replica;
  let withoutMark: Replica;
  let tasks: string[];
  let start: { c: number; cd: number };
  /** the task of each feed entry the edits added, in order */
  const feed: string[] = [];
  const editRounds: Round[] = [];
  let marked: SyncStats;
  let unmarked: SyncStats;

  /** every round: `cd` in the answer exactly when the request had it */
  function expectMarkEchoed(rounds: readonly Round[], sent: boolean): void {
    for (const [k, round] of rounds.entries()) {
      expect(round.request.cd !== undefined, `round ${k}: request cd`).toBe(sent);
      expect(round.answer.cd !== undefined, `round ${k}: answer cd`).toBe(sent);
    }
  }

  it("decodes an answer's `cd` only as a uint, and still refuses unknown keys", () => {
    expect(decodeAnswer(encodeCbor({ c: 7, cd: 5 }))).toMatchObject({ c: 7, cd: 5 });
    expect(decodeAnswer(encodeCbor({ c: 7 })).cd).toBeUndefined();
    for (const bad of [-1, 1.5, "5", new Uint8Array([5]), true, null, [5]]) {
      expect(() => decodeAnswer(encodeCbor({ c: 7, cd: bad })), `cd = ${String(bad)}`).toThrow(WireError);
    }
    expect(() => decodeAnswer(encodeCbor({ c: 7, cd: 5, x: 1 }))).toThrow(WireError);
    // a request carries `cd` only when the client has one
    expect(bytesToHex(encodeRequest({ v: 2, c: 5, cd: 5 }))).toBe("a3617602616305626364" + "05");
  });

  it("pages a fresh device with `cd`: `c` stays at 0 until the last page, each task once", async () => {
    editor = await device("I-001");
    const reader = (await device("I-002")).enrollment;
    // Two more replicas of the I-002 device (they only read): one pages by the
    // mark, one behaves as a client older than `cd`.
    withMark = new Replica(server.url, reader);
    withoutMark = new Replica(server.url, reader, { sendMark: false });
    const fresh = await withMark.sync();
    await withoutMark.sync();
    await editor.sync();

    expectMarkEchoed(fresh.log, true);
    expect(fresh.rounds).toBe(Math.ceil(DEMO_TASKS / FEED_PAGE));
    const pulls = fresh.log.flatMap((r) => r.pulls);
    expect(pulls).toHaveLength(DEMO_TASKS);
    expect(new Set(pulls.map((p) => p.i)).size).toBe(DEMO_TASKS);
    for (const round of fresh.log.slice(0, -1)) {
      expect(round.answer.m).toBe(true);
      expect(round.answer.c, "c stays put while m is true").toBe(0);
      expect(round.answer.cd!).toBeGreaterThan(round.request.cd!);
    }
    const last = fresh.log.at(-1)!;
    expect(last.answer.m).toBe(false);
    expect(last.answer.cd, "cd equals c when m is false").toBe(last.answer.c);
    expect(withMark.cursor).toBe(editor.cursor);
    expect(withMark.done).toBe(withMark.cursor);
    expect(withoutMark.cursor).toBe(editor.cursor);
    start = { c: withMark.cursor, cd: withMark.done };
  });

  it("edits tasks in turn, each edit pushed at once (the feed interleaves them)", async () => {
    const person = editor.enrollment.person;
    tasks = openTasks(editor, [person]).slice(0, 2 * FEED_PAGE + 1);
    expect(tasks.length, "open tasks of I-001").toBeGreaterThan(FEED_PAGE);
    for (let pass = 0; pass < PASSES; pass++) {
      for (const [k, task] of tasks.entries()) {
        // an inspector may append trace points (docs/schema.md, "Who may write what")
        editor.change(task, (d: any) => {
          if (!d.actors[editor.actor]) {
            d.actors[editor.actor] = { person: str(person), role: str("inspector") };
          }
          appendRecord(d.trace, {
            t: int(Date.now()),
            lat: f64(30 + pass / 100),
            lon: f64(118 + k / 100),
            accuracy: f64(5),
            by: str(person),
          });
        });
        const stats = await editor.sync();
        expect(stats.rounds).toBe(1);
        const round = stats.log[0]!;
        expect(round.acked).toEqual([task]);
        expect(round.pulls, "nothing else changed meanwhile").toEqual([]);
        expect(round.answer.cd).toBe(round.answer.c);
        editRounds.push(round);
        feed.push(task);
      }
    }
    expectMarkEchoed(editRounds, true);
    for (const task of tasks) expect(schemaViolations(editor.doc(task), schema), task).toEqual([]);
  });

  it("sends a device back with `cd` each task once, one page per feed page", async () => {
    expect(withMark.cursor).toBe(start.c);
    marked = await withMark.sync();
    expectMarkEchoed(marked.log, true);
    expect(marked.rounds).toBe(Math.ceil(tasks.length / FEED_PAGE));
    expect(marked.log.map((r) => r.pulls.map((p) => p.i))).toEqual(expectedPages(feed, FEED_PAGE, true));

    const pulls = marked.log.flatMap((r) => r.pulls);
    expect(pulls.map((p) => p.i).sort()).toEqual([...tasks].sort());
    for (const pull of pulls) {
      expect(pull.f, `${pull.i}: a delta`).toBe(false);
      expect(sorted(pull.h.map(bytesToHex)), pull.i).toEqual(sorted(editor.heads(pull.i)));
    }
    for (const [k, round] of marked.log.entries()) {
      expect(round.request.c, "the request sends the last answer's c").toBe(start.c);
      if (k > 0) expect(round.request.cd).toBe(marked.log[k - 1]!.answer.cd);
      if (round.answer.m) {
        expect(round.answer.c, `round ${k}: c stays put while m is true`).toBe(start.c);
        expect(round.answer.cd!, `round ${k}: cd moves on`).toBeGreaterThan(round.request.cd!);
        expect(round.answer.cd!).toBeLessThanOrEqual(editor.cursor);
      }
    }
    const last = marked.log.at(-1)!;
    expect(last.answer.m).toBe(false);
    expect(last.answer.c).toBe(editor.cursor);
    expect(last.answer.cd).toBe(last.answer.c);
    expect(withMark.done).toBe(withMark.cursor);
    for (const task of tasks) expect(sorted(withMark.heads(task)), task).toEqual(sorted(editor.heads(task)));
  });

  it("sends a device older than `cd` the same heads, but tasks again on later pages", async () => {
    expect(withoutMark.cursor).toBe(start.c);
    unmarked = await withoutMark.sync();
    expectMarkEchoed(unmarked.log, false);
    expect(unmarked.log.map((r) => r.pulls.map((p) => p.i))).toEqual(expectedPages(feed, FEED_PAGE, false));
    expect(unmarked.rounds).toBeGreaterThan(marked.rounds);

    const pulls = unmarked.log.flatMap((r) => r.pulls);
    expect(new Set(pulls.map((p) => p.i))).toEqual(new Set(tasks));
    expect(pulls.length, "some task is sent again").toBeGreaterThan(tasks.length);
    for (const pull of pulls) expect(pull.f, `${pull.i}: a delta`).toBe(false);
    // the cursor moves on with each page
    for (const round of unmarked.log.slice(0, -1)) {
      expect(round.answer.m).toBe(true);
      expect(round.answer.c).toBeGreaterThan(round.request.c);
    }
    expect(unmarked.log.at(-1)!.answer.m).toBe(false);
    expect(withoutMark.cursor).toBe(editor.cursor);
    for (const task of tasks) expect(sorted(withoutMark.heads(task)), task).toEqual(sorted(editor.heads(task)));
  });

  it("leaves both with nothing new", async () => {
    for (const replica of [withMark, withoutMark]) {
      const stats = await replica.sync();
      expect(stats.rounds).toBe(1);
      expect(stats.log[0]!.pulls).toEqual([]);
      expect(stats.log[0]!.answer.c).toBe(editor.cursor);
    }
  });
});

// --- Scenario 9 (last: it blocks enrollment from this address for a minute) --

describe("9. enrollment rate limit", () => {
  it("answers 429 enroll.rate_limited within ten attempts in a minute, as JSON", async () => {
    // docs/protocol.md: every attempt counts, ten per address per minute. The
    // enrollments of the earlier scenarios (one per device, plus scenario 1's
    // refused codes) count too, so the limit may come sooner than ten; it must
    // never come later.
    const statuses: number[] = [];
    for (let attempt = 0; attempt < 12; attempt++) {
      const err = await refusal(enroll(server.url, "ZZZZZZZZZZ"));
      statuses.push(err.status);
      if (err.status === 429) {
        expect(err.code, err.message).toBe("enroll.rate_limited");
        expect(err.contentType).toMatch(/json/);
        break;
      }
      expect(err.code, err.message).toBe("enroll.bad_code");
    }
    const seen = `statuses: ${statuses.join(" ")}`;
    expect(statuses.at(-1), seen).toBe(429);
    expect(statuses.filter((s) => s === 400).length, seen).toBeLessThanOrEqual(10);
    // and the next attempt right away is refused too
    const again = await refusal(enroll(server.url, "ZZZZZZZZZZ"));
    expect(again.status).toBe(429);
  });
});
