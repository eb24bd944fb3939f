// What every component of the tablet app gets from where the app is started
// (main.ts, or a test): the Backend, the I18n and the clock. A Vue plugin
// provides them; components take them with `useBackend`, `useI18n` and
// `useClock`. The Backend and the I18n are the plain objects of backend/ and
// i18n/; only the current language is made reactive here, so templates that
// call `t` render again when the language changes.

import { type App, computed, type ComputedRef, inject, type InjectionKey, type Plugin, type Ref, shallowRef } from "vue";
import type { Backend } from "./backend/backend";
import type { I18n, Lang, MessageKey, Params, PluralKey } from "./i18n";

export interface Deps {
  backend: Backend;
  i18n: I18n;
  /** Milliseconds since the epoch; `Date.now` unless a test pins it. */
  now?: () => number;
  /** IANA time zone for dates and times; the device's unless a test pins it. */
  timeZone?: string;
}

export interface Clock {
  now(): number;
  readonly timeZone: string | undefined;
}

export interface Words {
  readonly i18n: I18n;
  /** The current language; reading it makes a render or computed follow language changes. */
  readonly lang: Readonly<Ref<Lang>>;
  readonly locale: ComputedRef<string>;
  t(key: MessageKey, params?: Params): string;
  plural(key: PluralKey, count: number, params?: Params): string;
  lookup(key: string, fallback: string): string;
}

const BACKEND: InjectionKey<Backend> = Symbol("backend");
const WORDS: InjectionKey<Words> = Symbol("words");
const CLOCK: InjectionKey<Clock> = Symbol("clock");

/** The language of `i18n` as a ref, and `t` & co. reading it first; `stop` ends the subscription. */
export function wordsOf(i18n: I18n): { words: Words; stop: () => void } {
  const lang = shallowRef<Lang>(i18n.lang);
  const stop = i18n.onChange((next) => {
    lang.value = next;
  });
  /** Reads the language (so the caller follows it), then `text()`. */
  const following = <T>(text: () => T): T => {
    void lang.value;
    return text();
  };
  const words: Words = {
    i18n,
    lang,
    locale: computed(() => following(() => i18n.locale)),
    t: (key, params) => following(() => i18n.t(key, params)),
    plural: (key, count, params) => following(() => i18n.plural(key, count, params)),
    lookup: (key, fallback) => following(() => i18n.lookup(key, fallback)),
  };
  return { words, stop };
}

/** Provides `deps` to every component of `app`. */
export const fieldloop: Plugin<[Deps]> = {
  install(app: App, deps: Deps) {
    const { words, stop } = wordsOf(deps.i18n);
    app.provide(BACKEND, deps.backend);
    app.provide(WORDS, words);
    app.provide(CLOCK, { now: deps.now ?? (() => Date.now()), timeZone: deps.timeZone });
    app.onUnmount(stop);
  },
};

function need<T>(key: InjectionKey<T>, what: string): T {
  const found = inject(key, null);
  if (found === null) throw new Error(`no ${what} provided: install the fieldloop plugin`);
  return found;
}

export const useBackend = (): Backend => need(BACKEND, "Backend");
export const useI18n = (): Words => need(WORDS, "I18n");
export const useClock = (): Clock => need(CLOCK, "clock");
