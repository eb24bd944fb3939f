// Writing task documents as docs/schema.md requires, with Automerge JS 3.
import * as A from "@automerge/automerge";

/**
 * A scalar string (`str`). docs/schema.md, "Conventions": strings are never
 * Text — and Automerge JS 3 writes a plain JS string as collaborative Text.
 */
export const str = (s: string): A.ImmutableString => new A.ImmutableString(s);

/** `int` (times in ms). A plain JS number is written as int only when it is integral. */
export const int = (n: number): A.Int => new A.Int(n);

/** `uint` (counts and positions). */
export const uint = (n: number): A.Uint => new A.Uint(n);

/** `f64` (degrees, metres): also for integral values, e.g. lat 30. */
export const f64 = (n: number): A.Float64 => new A.Float64(n);

export type Scalar = A.ImmutableString | A.Int | A.Uint | A.Float64 | boolean | null;
export interface RecordValue {
  [key: string]: Scalar | RecordValue;
}

function isScalar(value: Scalar | RecordValue): value is Scalar {
  return (
    value === null ||
    typeof value !== "object" ||
    value instanceof A.ImmutableString ||
    value instanceof A.Int ||
    value instanceof A.Uint ||
    value instanceof A.Float64
  );
}

/**
 * Writes a record key by key into `target` (a map proxy inside A.change).
 * Automerge JS 3.5 turns an Int/Uint/Float64 *nested in an object literal*
 * into a map; only a direct assignment keeps the number type, so nested
 * maps are created empty and then filled, within the same change.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function fill(target: any, record: RecordValue): void {
  for (const [key, value] of Object.entries(record)) {
    if (isScalar(value)) {
      target[key] = value;
    } else {
      target[key] = {};
      fill(target[key], value);
    }
  }
}

/**
 * Appends a record to a record list (`events`, `trace`, …). docs/schema.md:
 * a new record is a map inserted whole, with every key (absent values null).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function appendRecord(list: any, record: RecordValue): void {
  list.push({});
  fill(list[list.length - 1], record);
}
