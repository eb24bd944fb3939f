// The words for error codes: one sentence per code and language
// (errors.zh.ts, errors.en.ts), read through `errorText`. A screen with
// better words of its own for a few codes (the enrollment screen, the task
// screen) looks those up first and falls back to `errorText`. The Rust side's
// message is never shown in place of a sentence, only as details.

import type { ErrorCode } from "../bindings/ErrorCode";
import { errorsEn } from "./errors.en";
import { errorsZh } from "./errors.zh";
import type { I18n, Lang } from "./index";

export const ERROR_TEXTS: Readonly<Record<Lang, Readonly<Record<ErrorCode, string>>>> = { zh: errorsZh, en: errorsEn };

/** Every error code, in the registry's order (the catalog's type makes the list complete). */
export const ERROR_CODES: readonly ErrorCode[] = Object.keys(errorsZh) as ErrorCode[];

/** What a code this version of the app does not know becomes (the Rust side does the same). */
export const UNKNOWN_ERROR: ErrorCode = "server.unknown";

export function isErrorCode(value: string): value is ErrorCode {
  return Object.hasOwn(errorsZh, value);
}

/** A code as received: itself when known, else `server.unknown`. */
export function toErrorCode(value: string): ErrorCode {
  return isErrorCode(value) ? value : UNKNOWN_ERROR;
}

/**
 * The UI's sentence for `code` in the current language. Codes inside payloads (`SyncView`,
 * `RefusedEdit`) are not checked on arrival: one this version does not know gets the words
 * of `server.unknown`.
 */
export function errorText(i18n: I18n, code: ErrorCode): string {
  return ERROR_TEXTS[i18n.lang][toErrorCode(code)];
}
