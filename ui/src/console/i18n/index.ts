// The console's language: Chinese by default, English on request, remembered in
// localStorage under the same key as the tablet's (`fieldloop.lang`). The current
// language is a Vue ref, so every `t()` in a template re-renders when it changes.

import { type Ref, ref } from "vue";
import { en } from "./en";
import { type MessageKey, type Messages, zh } from "./zh";

export type { MessageKey, Messages };

export type Lang = "zh" | "en";
export const LANGS: readonly Lang[] = ["zh", "en"];
export const MESSAGES: Readonly<Record<Lang, Messages>> = { zh, en };
/** BCP 47 tags for `<html lang>` and for Intl formats. */
export const LOCALES: Readonly<Record<Lang, string>> = { zh: "zh-CN", en: "en-GB" };
/** Where the chosen language is remembered (shared with the tablet app). */
export const LANG_STORAGE_KEY = "fieldloop.lang";

export type Params = Readonly<Record<string, string | number>>;
export type LangStorage = Pick<Storage, "getItem" | "setItem">;

export interface ConsoleI18n {
  readonly lang: Ref<Lang>;
  /** The Intl locale of the current language. */
  locale(): string;
  /** The text for `key` in the current language, with `{name}` placeholders filled. */
  t(key: MessageKey, params?: Params): string;
  setLang(lang: Lang): void;
  toggle(): void;
}

export function createI18n(storage: LangStorage | null = null): ConsoleI18n {
  const lang = ref<Lang>(parseLang(readSafely(storage)) ?? "zh");
  const setLang = (next: Lang): void => {
    if (next === lang.value) return;
    lang.value = next;
    try {
      storage?.setItem(LANG_STORAGE_KEY, next);
    } catch {
      // Storage full or denied: the choice lasts for this page only.
    }
  };
  return {
    lang,
    locale: () => LOCALES[lang.value],
    t: (key, params = {}) => fill(MESSAGES[lang.value][key], params),
    setLang,
    toggle: () => setLang(lang.value === "zh" ? "en" : "zh"),
  };
}

export function isMessageKey(key: string): key is MessageKey {
  return Object.hasOwn(zh, key);
}

/** Replaces each `{name}` with `params.name`; unknown placeholders stay as they are. */
export function fill(template: string, params: Params): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) =>
    Object.hasOwn(params, name) ? String(params[name]) : whole,
  );
}

function parseLang(value: string | null): Lang | null {
  return LANGS.find((lang) => lang === value) ?? null;
}

function readSafely(storage: LangStorage | null): string | null {
  try {
    return storage?.getItem(LANG_STORAGE_KEY) ?? null;
  } catch {
    return null;
  }
}
