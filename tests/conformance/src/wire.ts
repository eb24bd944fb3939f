// Wire format of the Fieldloop sync protocol, version 2 (docs/protocol.md, "Sync").
// CBOR maps with short text keys; defaults are left out when sending and
// read back as defaults when receiving.
import { createHash } from "node:crypto";
import { decode as cborDecode, encode as cborEncode } from "cborg";

export const PROTOCOL_VERSION = 2;
export const HASH_BYTES = 32;

export interface DocPush {
  /** task id */
  i: string;
  /** the client's current heads of the document */
  h: Uint8Array[];
  /** save_after(known); left out when empty */
  c?: Uint8Array;
}

export interface SyncRequest {
  v: number;
  /** feed position up to which every answer was applied */
  c: number;
  d?: DocPush[];
  /**
   * the paged-through mark of the last answer (its `cd`; `c` at first);
   * left out by a client older than `cd`, which is then paged by `c` alone
   */
  cd?: number;
}

export interface DocPull {
  i: string;
  h: Uint8Array[];
  c: Uint8Array;
  f: boolean;
  r: boolean;
}

export interface SyncAnswer {
  c: number;
  /** the new paged-through mark; only in an answer to a request with `cd` */
  cd: number | undefined;
  m: boolean;
  a: number[];
  ah: Uint8Array | undefined;
  d: DocPull[];
}

// Plain CBOR: objects as maps, Uint8Array as byte strings (major type 2).
// Keys keep the order they are written in (cborg sorts them by default), so
// {"v": 2, "c": 5} encodes as docs/protocol.md's example shows.
const keepOrder = (): number => 0;

/** Any value as plain CBOR (tests use it for deliberately malformed bodies). */
export function encodeCbor(value: unknown): Uint8Array {
  return cborEncode(value, { mapSorter: keepOrder });
}

export function encodeRequest(req: SyncRequest): Uint8Array {
  const body: Record<string, unknown> = { v: req.v, c: req.c };
  if (req.cd !== undefined) body.cd = req.cd;
  if (req.d && req.d.length > 0) {
    body.d = req.d.map((p) => {
      const push: Record<string, unknown> = { i: p.i, h: p.h };
      if (p.c && p.c.length > 0) push.c = p.c;
      return push;
    });
  }
  return encodeCbor(body);
}

/** Thrown when an answer does not have the documented shape. */
export class WireError extends Error {}

const ANSWER_KEYS = new Set(["c", "cd", "m", "a", "ah", "d"]);
const PULL_KEYS = new Set(["i", "h", "c", "f", "r"]);

export function decodeAnswer(bytes: Uint8Array): SyncAnswer {
  const raw: unknown = cborDecode(bytes);
  const obj = asMap(raw, "answer", ANSWER_KEYS);
  const c = asUint(obj.c, "answer.c");
  const cd = obj.cd === undefined ? undefined : asUint(obj.cd, "answer.cd");
  const a = optArray(obj.a, "answer.a").map((x) => {
    if (typeof x !== "number" || !Number.isInteger(x) || x < 0) {
      throw new WireError(`answer.a holds a non-uint ${String(x)}`);
    }
    return x;
  });
  const ah = obj.ah === undefined ? undefined : asBytes(obj.ah, "answer.ah");
  if (ah !== undefined && ah.length !== HASH_BYTES) {
    throw new WireError(`answer.ah has ${ah.length} bytes`);
  }
  return {
    c,
    cd,
    m: optBool(obj.m, "answer.m"),
    a,
    ah,
    d: optArray(obj.d, "answer.d").map(decodePull),
  };
}

function decodePull(raw: unknown, index: number): DocPull {
  const where = `answer.d[${index}]`;
  const obj = asMap(raw, where, PULL_KEYS);
  if (typeof obj.i !== "string") throw new WireError(`${where}.i must be text`);
  if (!Array.isArray(obj.h)) throw new WireError(`${where}.h is required`);
  const h = obj.h.map((x) => {
    const b = asBytes(x, `${where}.h[]`);
    if (b.length !== HASH_BYTES) throw new WireError(`${where}.h[] has ${b.length} bytes`);
    return b;
  });
  return {
    i: obj.i,
    h,
    c: obj.c === undefined ? new Uint8Array(0) : asBytes(obj.c, `${where}.c`),
    f: optBool(obj.f, `${where}.f`),
    r: optBool(obj.r, `${where}.r`),
  };
}

function asMap(raw: unknown, where: string, allowed: Set<string>): Record<string, unknown> {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw) || raw instanceof Uint8Array) {
    throw new WireError(`${where} must be a CBOR map`);
  }
  const obj = raw as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    if (!allowed.has(key)) throw new WireError(`${where} has an unknown key ${JSON.stringify(key)}`);
  }
  return obj;
}

function asUint(raw: unknown, where: string): number {
  if (typeof raw !== "number" || !Number.isInteger(raw) || raw < 0) {
    throw new WireError(`${where} must be a uint, got ${String(raw)}`);
  }
  return raw;
}

function asBytes(raw: unknown, where: string): Uint8Array {
  if (!(raw instanceof Uint8Array)) throw new WireError(`${where} must be a byte string`);
  return raw;
}

function optArray(raw: unknown, where: string): unknown[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) throw new WireError(`${where} must be an array`);
  return raw;
}

function optBool(raw: unknown, where: string): boolean {
  if (raw === undefined) return false;
  if (typeof raw !== "boolean") throw new WireError(`${where} must be a bool`);
  return raw;
}

/**
 * The ack hash (docs/protocol.md, "Ack hash"): SHA-256 over, for each acked
 * index in order, u32be(len(id)) ‖ id ‖ u32be(len(h)) ‖ h[0] ‖ h[1] ‖ …,
 * heads in the order the request listed them.
 */
export function ackHash(pushes: readonly DocPush[], acks: readonly number[]): Uint8Array {
  const sha = createHash("sha256");
  for (const index of acks) {
    const push = pushes[index];
    if (push === undefined) throw new RangeError(`ack index ${index} out of range`);
    const id = Buffer.from(push.i, "utf8");
    sha.update(u32be(id.length));
    sha.update(id);
    sha.update(u32be(push.h.length));
    for (const head of push.h) sha.update(head);
  }
  return new Uint8Array(sha.digest());
}

function u32be(n: number): Uint8Array {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n, 0);
  return b;
}

export function hexToBytes(hex: string): Uint8Array {
  return new Uint8Array(Buffer.from(hex, "hex"));
}

export function bytesToHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex");
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a).equals(Buffer.from(b));
}
