// A Fieldloop sync client written from docs/protocol.md alone.
import * as A from "@automerge/automerge";
import {
  PROTOCOL_VERSION,
  ackHash,
  bytesEqual,
  bytesToHex,
  decodeAnswer,
  encodeRequest,
  hexToBytes,
  type DocPull,
  type DocPush,
  type SyncAnswer,
  type SyncRequest,
} from "./wire.js";

export * from "./wire.js";

export interface Enrollment {
  device_id: string;
  token: string;
  actor: string;
  person: string;
  team: string;
}

/** A 4xx/5xx answer: `{code, message}` as JSON (docs/protocol.md, "Transport"). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
    readonly contentType: string | null,
  ) {
    super(`${status} ${code}: ${detail}`);
  }
}

async function apiError(res: Response): Promise<ApiError> {
  const contentType = res.headers.get("content-type");
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return new ApiError(res.status, "<not json>", text, contentType);
  }
  const { code, message } = (body ?? {}) as { code?: unknown; message?: unknown };
  if (typeof code !== "string" || typeof message !== "string") {
    return new ApiError(res.status, "<no code>", text, contentType);
  }
  return new ApiError(res.status, code, message, contentType);
}

export async function enroll(server: string, code: string, deviceName = "conformance"): Promise<Enrollment> {
  const res = await fetch(`${server}/api/v1/enroll`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ code, device_name: deviceName }),
  });
  if (res.status !== 200) throw await apiError(res);
  const body = (await res.json()) as Enrollment;
  for (const key of ["device_id", "token", "actor", "person", "team"] as const) {
    if (typeof body[key] !== "string") throw new Error(`enroll answer lacks ${key}`);
  }
  return body;
}

/** One POST /api/v1/sync with a raw body; returns the raw answer body. */
export async function postSync(
  server: string,
  token: string,
  body: Uint8Array,
  contentType = "application/cbor",
): Promise<Uint8Array> {
  const res = await fetch(`${server}/api/v1/sync`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": contentType },
    body: body as Uint8Array<ArrayBuffer>,
  });
  if (res.status !== 200) throw await apiError(res);
  return new Uint8Array(await res.arrayBuffer());
}

/** What one request/answer round did. */
export interface Round {
  request: SyncRequest;
  requestBody: Uint8Array;
  requestBytes: number;
  answer: SyncAnswer;
  answerBody: Uint8Array;
  answerBytes: number;
  /** task ids whose pushes were acked (after the ack hash matched) */
  acked: string[];
  /** null when `a` was empty, else whether `ah` matched our own hash */
  ackHashOk: boolean | null;
  pulls: DocPull[];
}

export interface SyncStats {
  rounds: number;
  bytesSent: number;
  bytesReceived: number;
  log: Round[];
}

export type Heads = A.Heads;
// Task documents are dynamic; the tests address them by path.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type TaskDoc = A.Doc<Record<string, any>>;

const MAX_PUSHES = 500; // docs/protocol.md: "at most 500" DocPushes per request
const MAX_ROUNDS = 1000;

export interface ReplicaOptions {
  /**
   * Send the paged-through mark `cd` (default true). False behaves as a
   * client older than `cd`: its requests carry no `cd`, so the server pages
   * it by `c` alone and answers no `cd` (docs/protocol.md, "Sync").
   */
  sendMark?: boolean;
}

export class Replica {
  readonly docs = new Map<string, TaskDoc>();
  /** heads the server is known to hold, per document */
  readonly known = new Map<string, Heads>();
  /** documents that may hold changes the server lacks */
  readonly dirty = new Set<string>();
  /** `c`: the feed position up to which every answer was applied */
  cursor = 0;
  /**
   * `cd`: the paged-through mark — besides every feed entry up to `cursor`,
   * this replica holds whole every document whose latest feed entry is at or
   * before it. Set together with `cursor`, from one answer (its `cd`, or its
   * `c` when it has none).
   */
  done = 0;
  /** whether requests carry `cd` */
  readonly sendMark: boolean;

  constructor(
    readonly server: string,
    readonly enrollment: Enrollment,
    options: ReplicaOptions = {},
  ) {
    this.sendMark = options.sendMark ?? true;
  }

  get actor(): string {
    return this.enrollment.actor;
  }

  doc(id: string): TaskDoc {
    const doc = this.docs.get(id);
    if (doc === undefined) throw new Error(`no document ${id}`);
    return doc;
  }

  heads(id: string): Heads {
    return A.getHeads(this.doc(id));
  }

  /** A local edit, made with the enrolled actor. */
  change(id: string, fn: A.ChangeFn<unknown>, message?: string): void {
    const doc = this.doc(id);
    const next = message === undefined ? A.change(doc, fn) : A.change(doc, { message }, fn);
    this.docs.set(id, next);
    this.dirty.add(id);
  }

  /** Replaces a document wholesale (tests use it to inject or undo changes). */
  replace(id: string, doc: TaskDoc): void {
    this.docs.set(id, doc);
    this.dirty.add(id);
    this.markCleanIfSynced(id);
  }

  async sync(): Promise<SyncStats> {
    const stats: SyncStats = { rounds: 0, bytesSent: 0, bytesReceived: 0, log: [] };
    for (;;) {
      if (stats.rounds >= MAX_ROUNDS) throw new Error(`sync did not settle in ${MAX_ROUNDS} rounds`);
      const round = await this.round();
      stats.rounds += 1;
      stats.bytesSent += round.requestBytes;
      stats.bytesReceived += round.answerBytes;
      stats.log.push(round);
      if (!round.answer.m && this.dirty.size === 0) return stats;
    }
  }

  /** One request and the application of its answer. */
  async round(): Promise<Round> {
    const request = this.buildRequest();
    const body = encodeRequest(request);
    const answerBody = await postSync(this.server, this.enrollment.token, body);
    const answer = decodeAnswer(answerBody);
    const { acked, ackHashOk } = this.apply(request, answer);
    return {
      request,
      requestBody: body,
      requestBytes: body.length,
      answer,
      answerBody,
      answerBytes: answerBody.length,
      acked,
      ackHashOk,
      pulls: answer.d,
    };
  }

  buildRequest(): SyncRequest {
    const pushes: DocPush[] = [];
    for (const id of this.dirty) {
      if (pushes.length >= MAX_PUSHES) break;
      const doc = this.doc(id);
      const c = A.saveSince(doc, this.known.get(id) ?? []);
      if (c.length === 0) continue;
      pushes.push({ i: id, h: A.getHeads(doc).map(hexToBytes), c });
    }
    const request: SyncRequest = { v: PROTOCOL_VERSION, c: this.cursor };
    if (this.sendMark) request.cd = this.done;
    if (pushes.length > 0) request.d = pushes;
    return request;
  }

  /** docs/protocol.md, "What the client does", step 2. */
  apply(request: SyncRequest, answer: SyncAnswer): { acked: string[]; ackHashOk: boolean | null } {
    const pushes = request.d ?? [];
    const ackHashOk = answer.a.length === 0 ? null : this.acksValid(pushes, answer);
    const acked: string[] = [];
    if (ackHashOk) {
      for (const index of answer.a) {
        const push = pushes[index]!;
        this.known.set(push.i, push.h.map(bytesToHex));
        acked.push(push.i);
      }
    }
    for (const pull of answer.d) this.applyPull(pull);
    for (const id of [...this.dirty]) this.markCleanIfSynced(id);
    // `c` and `cd` only ever move together, from one answer; a server that
    // sent no `cd` (an answer to a request without it) pages by `c` alone.
    this.cursor = answer.c;
    this.done = answer.cd ?? answer.c;
    return { acked, ackHashOk };
  }

  /**
   * Acks count only if every index is in range (and ascending, as documented)
   * and `ah` equals the hash computed from *this* request's pushes
   * (docs/protocol.md, "Ack hash"); otherwise `a`, and only `a`, is ignored.
   */
  private acksValid(pushes: readonly DocPush[], answer: SyncAnswer): boolean {
    if (answer.ah === undefined) return false;
    for (let k = 0; k < answer.a.length; k++) {
      const index = answer.a[k]!;
      if (index >= pushes.length) return false;
      if (k > 0 && index <= answer.a[k - 1]!) return false;
    }
    return bytesEqual(ackHash(pushes, answer.a), answer.ah);
  }

  private applyPull(pull: DocPull): void {
    const local = this.docs.get(pull.i);
    if (pull.f) {
      const remote = A.load<unknown>(pull.c, { actor: this.actor });
      // merge() freezes its arguments; the merged result stays editable.
      this.docs.set(pull.i, local === undefined ? remote : A.merge(local, remote));
    } else if (pull.c.length > 0) {
      if (local === undefined) {
        throw new Error(`delta for ${pull.i}, which this replica never had (the server should send f)`);
      }
      this.docs.set(pull.i, A.loadIncremental(local, pull.c));
    } else if (local === undefined) {
      this.docs.set(pull.i, A.init({ actor: this.actor }));
    }
    const heads = pull.h.map(bytesToHex);
    if (pull.r) {
      // The server lacked our changes' dependencies and applied nothing:
      // push the whole document again next round.
      this.known.set(pull.i, []);
      this.dirty.add(pull.i);
    } else {
      const doc = this.doc(pull.i);
      if (!A.hasHeads(doc, heads)) {
        throw new Error(`after applying the pull of ${pull.i} the replica lacks the server's heads`);
      }
      this.known.set(pull.i, heads);
    }
  }

  private markCleanIfSynced(id: string): void {
    const doc = this.docs.get(id);
    if (doc === undefined) return;
    if (A.saveSince(doc, this.known.get(id) ?? []).length === 0) this.dirty.delete(id);
  }
}

/** The request a client with nothing to push sends, encoded (`done`: its `cd`, if it sends one). */
export function idleRequestBytes(cursor: number, done?: number): Uint8Array {
  return encodeRequest(done === undefined ? { v: PROTOCOL_VERSION, c: cursor } : { v: PROTOCOL_VERSION, c: cursor, cd: done });
}
