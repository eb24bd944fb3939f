// The signed claim of 亮码检查, checked in the browser with no network:
// "FL1:" + base45(CBOR [kid, payload, sig]), sig = Ed25519("FL1" ‖ kid ‖ payload).
// Layout: docs/protocol.md, “Signed claim”; the Rust side is core/src/claim.rs.
import * as ed from "@noble/ed25519";
import { sha512 } from "@noble/hashes/sha2.js";

ed.hashes.sha512 = sha512;

export const PREFIX = "FL1:";
/** Longest claim text read (same bound as the server's MAX_CLAIM_CHARS). */
export const MAX_CLAIM_CHARS = 4096;
const CONTEXT = new TextEncoder().encode("FL1");
const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

export interface Claim {
  v: number;
  taskCode: string;
  verifyCode: string;
  uscc: string;
  inspectors: { name: string; badge: string }[];
  departments: { code: string; name: string }[];
  nbf: number;
  exp: number;
  iat: number;
}

export type Verdict =
  | { kind: "valid"; claim: Claim }
  | { kind: "tampered" }
  | { kind: "expired"; claim: Claim }
  | { kind: "not_yet_valid"; claim: Claim }
  | { kind: "unknown_key" }
  | { kind: "malformed"; detail: string };

class Malformed extends Error {}

export function base45Decode(text: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < text.length; i += 3) {
    const chunk = text.slice(i, i + 3);
    const d = [...chunk].map((c) => {
      const v = ALPHABET.indexOf(c);
      if (v < 0) throw new Malformed(`base45: character “${c}”`);
      return v;
    });
    if (d.length === 1) throw new Malformed("base45: length");
    const [a = 0, b = 0, c = 0] = d;
    const n = a + b * 45 + c * 2025;
    if (d.length === 3) {
      if (n > 0xffff) throw new Malformed("base45: value");
      out.push(n >> 8, n & 0xff);
    } else {
      if (n > 0xff) throw new Malformed("base45: value");
      out.push(n);
    }
  }
  return Uint8Array.from(out);
}

type Cbor = number | string | Uint8Array | Cbor[] | Map<Cbor, Cbor>;

/** Decodes one CBOR item (unsigned/negative ints, byte and text strings, arrays, maps) taking all of `bytes`. */
export function cborDecode(bytes: Uint8Array): Cbor {
  let at = 0;
  const need = (n: number) => {
    if (at + n > bytes.length) throw new Malformed("CBOR: truncated");
  };
  const length = (info: number): number => {
    if (info < 24) return info;
    const size = info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : info === 27 ? 8 : 0;
    if (!size) throw new Malformed("CBOR: indefinite or reserved length");
    need(size);
    let n = 0;
    for (let i = 0; i < size; i++) n = n * 256 + (bytes[at++] ?? 0);
    if (!Number.isSafeInteger(n)) throw new Malformed("CBOR: number too large");
    return n;
  };
  const item = (depth: number): Cbor => {
    if (depth > 8) throw new Malformed("CBOR: too deep");
    need(1);
    const head = bytes[at++] ?? 0;
    const major = head >> 5;
    const n = length(head & 31);
    switch (major) {
      case 0:
        return n;
      case 1:
        return -1 - n;
      case 2:
        need(n);
        return bytes.slice(at, (at += n));
      case 3: {
        need(n);
        const text = new TextDecoder("utf-8", { fatal: true }).decode(bytes.slice(at, at + n));
        at += n;
        return text;
      }
      case 4: {
        if (n > bytes.length) throw new Malformed("CBOR: list too long");
        const list: Cbor[] = [];
        for (let i = 0; i < n; i++) list.push(item(depth + 1));
        return list;
      }
      case 5: {
        if (n > bytes.length) throw new Malformed("CBOR: map too long");
        const map = new Map<Cbor, Cbor>();
        for (let i = 0; i < n; i++) map.set(item(depth + 1), item(depth + 1));
        return map;
      }
      default:
        throw new Malformed(`CBOR: major type ${major}`);
    }
  };
  const value = item(0);
  if (at !== bytes.length) throw new Malformed("CBOR: bytes after the item");
  return value;
}

function parseClaim(payload: Uint8Array): Claim {
  const m = cborDecode(payload);
  if (!(m instanceof Map)) throw new Malformed("payload is not a map");
  const text = (k: number) => {
    const v = m.get(k);
    if (typeof v !== "string") throw new Malformed(`key ${k}`);
    return v;
  };
  const int = (k: number) => {
    const v = m.get(k);
    if (typeof v !== "number") throw new Malformed(`key ${k}`);
    return v;
  };
  const pairs = (k: number): [string, string][] => {
    const v = m.get(k);
    if (!Array.isArray(v)) throw new Malformed(`key ${k}`);
    return v.map((p) => {
      if (!Array.isArray(p) || p.length !== 2 || typeof p[0] !== "string" || typeof p[1] !== "string") {
        throw new Malformed(`key ${k}`);
      }
      return [p[0], p[1]];
    });
  };
  if (int(1) !== 1) throw new Malformed(`version ${int(1)}`);
  return {
    v: 1,
    taskCode: text(2),
    verifyCode: text(3),
    uscc: text(4),
    inspectors: pairs(5).map(([name, badge]) => ({ name, badge })),
    departments: pairs(6).map(([code, name]) => ({ code, name })),
    nbf: int(7),
    exp: int(8),
    iat: int(9),
  };
}

export function hexToBytes(hex: string): Uint8Array {
  if (!/^([0-9a-f]{2})*$/i.test(hex)) throw new Malformed("hex");
  return Uint8Array.from(hex.match(/../g) ?? [], (b) => parseInt(b, 16));
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** The claim text a URL fragment carries (`#FL1:…`, percent-encoded), or null. */
export function claimFromHash(hash: string): string | null {
  const raw = hash.startsWith("#") ? hash.slice(1) : hash;
  let text: string;
  try {
    text = decodeURIComponent(raw);
  } catch {
    text = raw;
  }
  return text.startsWith(PREFIX) ? text : null;
}

/** Checks `text` against the county's key (`kid` and `publicKey`, hex) at `now` (ms). */
export function verifyClaim(text: string, kid: string, publicKey: string, now: number): Verdict {
  try {
    if (text.length > MAX_CLAIM_CHARS) throw new Malformed("too long");
    if (!text.startsWith(PREFIX)) throw new Malformed(`does not start with ${PREFIX}`);
    const env = cborDecode(base45Decode(text.slice(PREFIX.length)));
    if (!Array.isArray(env) || env.length !== 3 || !env.every((p) => p instanceof Uint8Array)) {
      throw new Malformed("envelope");
    }
    const [k, payload, sig] = env as [Uint8Array, Uint8Array, Uint8Array];
    if (k.length !== 8 || sig.length !== 64) throw new Malformed("envelope");
    if (!equal(k, hexToBytes(kid))) return { kind: "unknown_key" };
    const message = new Uint8Array(CONTEXT.length + k.length + payload.length);
    message.set(CONTEXT, 0);
    message.set(k, CONTEXT.length);
    message.set(payload, CONTEXT.length + k.length);
    let ok = false;
    try {
      ok = ed.verify(sig, message, hexToBytes(publicKey), { zip215: false });
    } catch {
      ok = false;
    }
    if (!ok) return { kind: "tampered" };
    const claim = parseClaim(payload);
    if (now < claim.nbf) return { kind: "not_yet_valid", claim };
    if (now > claim.exp) return { kind: "expired", claim };
    return { kind: "valid", claim };
  } catch (e) {
    return { kind: "malformed", detail: e instanceof Error ? e.message : String(e) };
  }
}
