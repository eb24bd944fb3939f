// The offline verifier: claims made here with a key pair generated in the
// test (the same layout as core/src/claim.rs) are checked with no network.
import * as ed from "@noble/ed25519";
import { sha256 } from "@noble/hashes/sha2.js";
import { describe, expect, it } from "vitest";
import { PREFIX, base45Decode, cborDecode, claimFromHash, verifyClaim } from "./claim";

const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

function base45Encode(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i += 2) {
    if (i + 1 < bytes.length) {
      let n = (bytes[i] ?? 0) * 256 + (bytes[i + 1] ?? 0);
      for (let k = 0; k < 3; k++) {
        out += ALPHABET[n % 45];
        n = Math.floor(n / 45);
      }
    } else {
      const n = bytes[i] ?? 0;
      out += (ALPHABET[n % 45] ?? "") + (ALPHABET[Math.floor(n / 45)] ?? "");
    }
  }
  return out;
}

function head(major: number, n: number): number[] {
  if (n < 24) return [(major << 5) | n];
  if (n < 256) return [(major << 5) | 24, n];
  if (n < 65536) return [(major << 5) | 25, n >> 8, n & 255];
  if (n < 2 ** 32) return [(major << 5) | 26, (n >>> 24) & 255, (n >> 16) & 255, (n >> 8) & 255, n & 255];
  const hi = Math.floor(n / 2 ** 32);
  const lo = n >>> 0;
  const word = (w: number) => [(w >>> 24) & 255, (w >> 16) & 255, (w >> 8) & 255, w & 255];
  return [(major << 5) | 27, ...word(hi), ...word(lo)];
}

type V = number | string | Uint8Array | V[] | [number, V][];
function enc(v: V, asMap = false): number[] {
  if (typeof v === "number") return v >= 0 ? head(0, v) : head(1, -1 - v);
  if (typeof v === "string") {
    const b = new TextEncoder().encode(v);
    return [...head(3, b.length), ...b];
  }
  if (v instanceof Uint8Array) return [...head(2, v.length), ...v];
  if (asMap) {
    const entries = v as [number, V][];
    return [...head(5, entries.length), ...entries.flatMap(([k, x]) => [...enc(k), ...enc(x)])];
  }
  return [...head(4, v.length), ...(v as V[]).flatMap((x) => enc(x))];
}

const NOW = 1_796_100_000_000;
const secret = ed.utils.randomSecretKey();
const publicKey = ed.getPublicKey(secret);
const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
const kid = sha256(publicKey).slice(0, 8);

function makeClaim(opts: { nbf?: number; exp?: number; key?: Uint8Array } = {}): string {
  const payload = Uint8Array.from(
    enc(
      [
        [1, 1],
        [2, "JX-2026-000001"],
        [3, "ABCDEFGHJKLMNPQRSTUV"],
        [4, "92360736MA36XJ6832"],
        [5, [["王磊", "36070012345"], ["李娜", "36070012346"]]],
        [6, [["SCJG", "市场监督管理局"]]],
        [7, opts.nbf ?? NOW - 1000],
        [8, opts.exp ?? NOW + 86_400_000],
        [9, NOW - 5000],
      ],
      true,
    ),
  );
  const message = Uint8Array.from([...new TextEncoder().encode("FL1"), ...kid, ...payload]);
  const sig = ed.sign(message, opts.key ?? secret);
  return PREFIX + base45Encode(Uint8Array.from(enc([kid, payload, sig])));
}

describe("the offline claim verifier", () => {
  it("says a claim signed by the county's key is valid, and reads it", () => {
    const v = verifyClaim(makeClaim(), hex(kid), hex(publicKey), NOW);
    expect(v.kind).toBe("valid");
    if (v.kind !== "valid") return;
    expect(v.claim.taskCode).toBe("JX-2026-000001");
    expect(v.claim.inspectors).toEqual([
      { name: "王磊", badge: "36070012345" },
      { name: "李娜", badge: "36070012346" },
    ]);
    expect(v.claim.departments[0]?.name).toBe("市场监督管理局");
  });

  it("says tampered when any character of the claim changes", () => {
    const text = makeClaim();
    let refused = 0;
    for (let i = PREFIX.length; i < text.length; i += 7) {
      const c = text[i] === "A" ? "B" : "A";
      const changed = text.slice(0, i) + c + text.slice(i + 1);
      const v = verifyClaim(changed, hex(kid), hex(publicKey), NOW);
      expect(v.kind, `at ${i}`).not.toBe("valid");
      refused++;
    }
    expect(refused).toBeGreaterThan(10);
    // A signature by another key under the county's key id: tampered.
    const other = makeClaim({ key: ed.utils.randomSecretKey() });
    expect(verifyClaim(other, hex(kid), hex(publicKey), NOW).kind).toBe("tampered");
  });

  it("says expired or not yet valid outside the window, unknown key for another county", () => {
    expect(verifyClaim(makeClaim({ exp: NOW - 1 }), hex(kid), hex(publicKey), NOW).kind).toBe("expired");
    expect(verifyClaim(makeClaim({ nbf: NOW + 1 }), hex(kid), hex(publicKey), NOW).kind).toBe("not_yet_valid");
    const stranger = ed.getPublicKey(ed.utils.randomSecretKey());
    expect(verifyClaim(makeClaim(), hex(sha256(stranger).slice(0, 8)), hex(stranger), NOW).kind).toBe("unknown_key");
    for (const bad of ["", "FL1:", "FL2:ABC", "FL1:!!", "FL1:A"]) {
      expect(verifyClaim(bad, hex(kid), hex(publicKey), NOW).kind, bad).toBe("malformed");
    }
  });

  it("reads the claim from a percent-encoded URL fragment", () => {
    const text = makeClaim();
    const hash = `#${encodeURIComponent(text)}`;
    expect(claimFromHash(hash)).toBe(text);
    expect(claimFromHash("#other")).toBeNull();
  });

  it("decodes base45 and CBOR strictly", () => {
    expect([...base45Decode("BB8")]).toEqual([65, 66]);
    expect(() => base45Decode("GGW")).toThrow();
    expect(cborDecode(Uint8Array.from([0x82, 0x01, 0x61, 0x61]))).toEqual([1, "a"]);
    expect(() => cborDecode(Uint8Array.from([0x01, 0x01]))).toThrow();
  });
});
