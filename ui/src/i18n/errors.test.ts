import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { BackendError, TRANSPORT_ERROR } from "../backend/backend";
import type { ErrorCode } from "../bindings/ErrorCode";
import { ERROR_CODES, errorText, isErrorCode, toErrorCode } from "./errors";
import { errorsEn } from "./errors.en";
import { errorsZh } from "./errors.zh";
import { I18n } from "./index";

/** The codes of the generated union, read as text: the type is gone at run time. */
function generatedCodes(): string[] {
  const source = readFileSync(new URL("../bindings/ErrorCode.ts", import.meta.url), "utf8");
  const union = /export type ErrorCode\s*=([^;]*);/.exec(source)?.[1];
  if (union === undefined) throw new Error("ErrorCode.ts has no `export type ErrorCode = …;`");
  // Nothing but string literals joined by `|`.
  expect(union.replace(/"[^"]*"/g, "").replace(/[\s|]/g, "")).toBe("");
  return [...union.matchAll(/"([^"]*)"/g)].map((m) => m[1]!);
}

const sorted = (codes: Iterable<string>) => [...codes].sort();

describe("error sentences", () => {
  const codes = generatedCodes();

  it("ErrorCode.ts lists the registry's codes, each once", () => {
    expect(codes.length).toBeGreaterThan(100);
    expect(new Set(codes).size).toBe(codes.length);
    for (const code of codes) expect(code, code).toMatch(/^[a-z]+\.[a-z_]+$/);
  });

  it("every code has a Chinese sentence, and there is none for another code", () => {
    expect(sorted(Object.keys(errorsZh))).toEqual(sorted(codes));
  });

  it("every code has an English sentence, and there is none for another code", () => {
    expect(sorted(Object.keys(errorsEn))).toEqual(sorted(codes));
  });

  it("the runtime list of codes is the generated union", () => {
    expect(sorted(ERROR_CODES)).toEqual(sorted(codes));
  });

  it("the Chinese sentences are in Chinese and the English ones hold no Han character", () => {
    for (const [code, text] of Object.entries(errorsZh)) expect(text, code).toMatch(/\p{Script=Han}/u);
    for (const [code, text] of Object.entries(errorsEn)) expect(text, code).not.toMatch(/\p{Script=Han}/u);
  });

  it("no sentence is empty or has a placeholder left to fill", () => {
    for (const [code, text] of [...Object.entries(errorsZh), ...Object.entries(errorsEn)]) {
      expect(text.trim(), code).not.toBe("");
      expect(text, code).toBe(text.trim());
      expect(text, code).not.toMatch(/\{\w*\}/);
    }
  });
});

describe("errorText", () => {
  it("gives the sentence for a code in Chinese, then in English after a switch", () => {
    const i18n = new I18n();
    expect(errorText(i18n, "auth.revoked")).toBe("本设备已被管理员停用，请联系管理员重新注册。");
    expect(errorText(i18n, "http.bad_json")).toBe("服务器拒绝了本应用的请求，请更新应用后重试。");
    i18n.setLang("en");
    expect(errorText(i18n, "auth.revoked")).toBe(
      "The administrator has switched this tablet off; ask them to enroll it again.",
    );
    expect(errorText(i18n, "http.bad_json")).toBe(
      "The server refused the app's request; update the app and try again.",
    );
  });

  it("has the words of server.unknown for a code from a payload it does not know", () => {
    const i18n = new I18n();
    expect(errorText(i18n, "sync.teleport" as ErrorCode)).toBe(errorText(i18n, "server.unknown"));
    expect(errorText(i18n, "toString" as ErrorCode)).toBe(errorText(i18n, "server.unknown"));
  });
});

describe("known codes", () => {
  it("are told apart from other strings, including the names of Object's members", () => {
    expect(isErrorCode("task.frozen")).toBe(true);
    expect(isErrorCode("task.not_allowed")).toBe(false);
    expect(isErrorCode("toString")).toBe(false);
    expect(toErrorCode("app.invalid")).toBe("server.unknown");
    expect(toErrorCode("ipc.failed")).toBe("ipc.failed");
  });
});

describe("BackendError.from", () => {
  it("keeps a known code and its message", () => {
    const error = BackendError.from({ code: "task.frozen", message: "frozen" });
    expect(error).toMatchObject({ code: "task.frozen", message: "frozen" });
  });

  it("turns a code it does not know into server.unknown, keeping the message", () => {
    const error = BackendError.from({ code: "task.teleported", message: "the task went elsewhere" });
    expect(error).toBeInstanceOf(BackendError);
    expect(error.code).toBe("server.unknown");
    expect(error.message).toBe("the task went elsewhere");
  });

  it("gives failures that are no command error the transport code", () => {
    expect(BackendError.from(new Error("gone"))).toMatchObject({ code: TRANSPORT_ERROR, message: "gone" });
    expect(BackendError.from("refused")).toMatchObject({ code: "ipc.failed", message: "refused" });
    const same = new BackendError("store.sqlite", "disk");
    expect(BackendError.from(same)).toBe(same);
  });
});
