// Language of the UI: Chinese by default, English on request, remembered in
// localStorage. All texts live in zh.ts and en.ts, and the sentences for error
// codes in errors.zh.ts and errors.en.ts (read through `errorText`, errors.ts);
// nothing else holds UI text.

import { en } from "./en";
import { type MessageKey, type Messages, zh } from "./zh";

export type { MessageKey, Messages };
export { errorText } from "./errors";

export type Lang = "zh" | "en";

export const LANGS: readonly Lang[] = ["zh", "en"];
export const MESSAGES: Readonly<Record<Lang, Messages>> = { zh, en };
/** BCP 47 tags for `<html lang>` (font choice for Han characters) and for Intl formats. */
export const LOCALES: Readonly<Record<Lang, string>> = { zh: "zh-CN", en: "en-GB" };

/** Where the chosen language is remembered. */
export const LANG_STORAGE_KEY = "fieldloop.lang";

/** The part of `Storage` the language choice needs (localStorage, or a fake in tests). */
export type LangStorage = Pick<Storage, "getItem" | "setItem">;

export type Params = Readonly<Record<string, string | number>>;

/** A key whose texts come as a `.one` / `.other` pair. */
export type PluralKey = {
  [K in MessageKey]: K extends `${infer Base}.one` ? (`${Base}.other` extends MessageKey ? Base : never) : never;
}[MessageKey];

export class I18n {
  #lang: Lang;
  readonly #storage: LangStorage | null;
  readonly #listeners = new Set<(lang: Lang) => void>();

  /** Starts in the remembered language, or Chinese. */
  constructor(storage: LangStorage | null = null) {
    this.#storage = storage;
    this.#lang = parseLang(readSafely(storage)) ?? "zh";
  }

  get lang(): Lang {
    return this.#lang;
  }

  get locale(): string {
    return LOCALES[this.#lang];
  }

  /** The text for `key` in the current language, with `{name}` placeholders filled. */
  t(key: MessageKey, params: Params = {}): string {
    return fill(MESSAGES[this.#lang][key], params);
  }

  /** The `.one` or `.other` text for `count`, by the language's plural rules. */
  plural(key: PluralKey, count: number, params: Params = {}): string {
    const form = new Intl.PluralRules(this.locale).select(count) === "one" ? "one" : "other";
    return this.t(`${key}.${form}` as MessageKey, { count, ...params });
  }

  /** The text for a key built at run time (`"dept." + code`), or `fallback` when there is none. */
  lookup(key: string, fallback: string): string {
    return isMessageKey(key) ? this.t(key) : fallback;
  }

  setLang(lang: Lang): void {
    if (lang === this.#lang) return;
    this.#lang = lang;
    try {
      this.#storage?.setItem(LANG_STORAGE_KEY, lang);
    } catch {
      // Storage full or denied: the choice lasts for this session only.
    }
    for (const listener of this.#listeners) listener(lang);
  }

  /** Switches between the two languages. */
  toggle(): void {
    this.setLang(this.#lang === "zh" ? "en" : "zh");
  }

  /** Calls `listener` after each change of language; returns the unsubscribe function. */
  onChange(listener: (lang: Lang) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}

export function isMessageKey(key: string): key is MessageKey {
  return Object.hasOwn(zh, key);
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

/** Replaces each `{name}` with `params.name`; unknown placeholders stay as they are. */
export function fill(template: string, params: Params): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) =>
    Object.hasOwn(params, name) ? String(params[name]) : whole,
  );
}
