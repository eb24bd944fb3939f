// What every console view shares: the API client, the language, the signed-in
// session and the directory (departments, teams, inspectors), handed down with
// provide/inject so tests can mount a view with a fake API.

import { type App, type InjectionKey, type Ref, inject, ref } from "vue";
import { RECORD_CONTEXT, type RecordContext } from "../shared/record/context";
import { ConsoleApiError, type ConsoleApi } from "./api/http";
import type { ConsoleDirectory, SessionView } from "./api/types";
import { type ConsoleI18n, isMessageKey } from "./i18n";

export interface ConsoleContext {
  readonly api: ConsoleApi;
  readonly i18n: ConsoleI18n;
  readonly session: Ref<SessionView | null>;
  readonly directory: Ref<ConsoleDirectory | null>;
  /** Forgets the session and what it could see (after sign-out, or when the server dropped it). */
  forgetSession(): void;
  /** Loads the directory once per session; null when it cannot be had. */
  loadDirectory(): Promise<ConsoleDirectory | null>;
  /** The sentence to show for a failure: the console's own words for the code, else the server's message. */
  errorText(error: unknown): string;
  /** The department's name in the current language; the code when unknown. */
  departmentName(code: string): string;
  teamName(id: string): string;
  inspectorName(id: string): string;
}

export const CONSOLE: InjectionKey<ConsoleContext> = Symbol("fieldloop.console");

export function useConsole(): ConsoleContext {
  const context = inject(CONSOLE, null);
  if (context === null) throw new Error("console views need a ConsoleContext (provideConsole)");
  return context;
}

export function createConsole(api: ConsoleApi, i18n: ConsoleI18n): ConsoleContext {
  const session = ref<SessionView | null>(null);
  const directory = ref<ConsoleDirectory | null>(null);
  let loading: Promise<ConsoleDirectory | null> | null = null;

  const context: ConsoleContext = {
    api,
    i18n,
    session,
    directory,
    forgetSession() {
      session.value = null;
      directory.value = null;
    },
    loadDirectory() {
      if (directory.value !== null) return Promise.resolve(directory.value);
      loading ??= api
        .directory()
        .then((d) => {
          directory.value = d;
          return d;
        })
        .catch(() => null)
        .finally(() => {
          loading = null;
        });
      return loading;
    },
    errorText(error) {
      if (error instanceof ConsoleApiError) {
        const key = `error.${error.code}`;
        return isMessageKey(key) ? i18n.t(key) : error.message;
      }
      return error instanceof Error ? error.message : String(error);
    },
    departmentName(code) {
      const d = directory.value?.departments.find((x) => x.code === code);
      if (d === undefined) return code;
      return i18n.lang.value === "zh" ? d.name : d.name_en;
    },
    teamName(id) {
      return directory.value?.teams.find((x) => x.id === id)?.name ?? id;
    },
    inspectorName(id) {
      return directory.value?.inspectors.find((x) => x.id === id)?.name ?? id;
    },
  };
  return context;
}

/** The record components' context, answered from the console's. */
export function recordContextOf(context: ConsoleContext): RecordContext {
  return {
    t: (key, params) => context.i18n.t(key, params),
    locale: () => context.i18n.locale(),
    blobUrl: (sha256) => context.api.blobUrl(sha256),
    departmentName: (code) => context.departmentName(code),
  };
}

/** Makes `context` (and the record components' context) available to every component of `app`. */
export function provideConsole(app: App, context: ConsoleContext): void {
  app.provide(CONSOLE, context);
  app.provide(RECORD_CONTEXT, recordContextOf(context));
}

/** The same, as `global.provide` for @vue/test-utils' mount. */
export function consoleProvides(context: ConsoleContext): Record<symbol, unknown> {
  return { [CONSOLE]: context, [RECORD_CONTEXT]: recordContextOf(context) };
}
