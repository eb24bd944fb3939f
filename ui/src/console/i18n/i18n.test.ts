import { describe, expect, it } from "vitest";
import { en } from "./en";
import { LANG_STORAGE_KEY, createI18n } from "./index";
import { zh } from "./zh";

const placeholders = (text: string): string[] => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1] ?? "").sort();

describe("console texts", () => {
  it("has the same keys in both languages", () => {
    expect(Object.keys(en).sort()).toEqual(Object.keys(zh).sort());
  });

  it("has the same placeholders in both languages", () => {
    for (const key of Object.keys(zh) as (keyof typeof zh)[]) {
      expect(placeholders(en[key]), key).toEqual(placeholders(zh[key]));
    }
  });

  it("starts in Chinese, remembers a switch under fieldloop.lang, and starts in the remembered language", () => {
    const store = new Map<string, string>();
    const storage = { getItem: (k: string) => store.get(k) ?? null, setItem: (k: string, v: string) => void store.set(k, v) };
    const i18n = createI18n(storage);
    expect(i18n.lang.value).toBe("zh");
    expect(i18n.t("login.submit")).toBe("登录");
    i18n.toggle();
    expect(i18n.t("login.submit")).toBe("Sign in");
    expect(store.get(LANG_STORAGE_KEY)).toBe("en");
    expect(createI18n(storage).lang.value).toBe("en");
  });

  it("fills placeholders", () => {
    expect(createI18n(null).t("new.created", { code: "JX-2026-000009" })).toBe("已创建任务 JX-2026-000009");
  });
});
