// The app shell: a header (mark, title, who the tablet is enrolled as, the
// sync status bar, language switch) over the current screen.
//
// Routing: the enrollment screen while the tablet is not enrolled, else the
// task list; a tapped task opens the task screen, whose back action returns
// to the list (kept meanwhile, with its filter and scroll position) and
// reloads it.

import markUrl from "./assets/mark.svg";
import { type Backend, BackendError, type Identity } from "./backend/backend";
import { h, replaceChildren } from "./dom";
import { errorText, type I18n, LOCALES } from "./i18n";
import { enrollScreen } from "./screens/enroll";
import type { Screen } from "./screens/screen";
import { type SyncBar, syncBar } from "./screens/syncBar";
import { type TaskListScreen, taskListScreen } from "./screens/taskList";

/** Makes the screen of one task; `onBack` returns to the task list. */
export type TaskScreenFactory = (taskId: string, onBack: () => void) => Screen;

export interface AppDeps {
  backend: Backend;
  i18n: I18n;
  /** The task screen (main.ts passes the real one; tests pass their own). */
  openTask: TaskScreenFactory;
  /** The document to set `lang` and title on; the global one by default. */
  document?: Document;
  /** Milliseconds since the epoch; `Date.now` unless a test pins it. */
  now?: () => number;
  /** IANA time zone for dates; the device's unless a test pins it. */
  timeZone?: string;
  /** Pause between two reads of the sync status. */
  syncPollMs?: number;
}

export interface App {
  readonly screen: Screen;
  /** Who the tablet is enrolled as, once known. */
  readonly identity: Identity | null;
  /** Resolves once the first screen (enrollment or task list) is shown. */
  ready(): Promise<void>;
  /** Shows the task screen of `taskId`. */
  openTask(taskId: string): void;
  /** Back to the task list, reloaded. */
  showTaskList(): void;
  show(screen: Screen): void;
  /** Lets go of every screen, the sync bar's polling and the listeners. */
  dispose(): void;
}

export function startApp(root: HTMLElement, deps: AppDeps): App {
  const { backend, i18n } = deps;
  const doc = deps.document ?? document;
  const pinned = {
    ...(deps.now === undefined ? {} : { now: deps.now }),
    ...(deps.timeZone === undefined ? {} : { timeZone: deps.timeZone }),
  };

  const title = h("h1", { class: "app-title", testid: "app-title" });
  const who = h("p", { class: "app-identity", testid: "identity" });
  who.hidden = true;
  const langSwitch = h("button", {
    class: "lang-switch",
    testid: "lang-switch",
    attrs: { type: "button" },
    on: { click: () => i18n.toggle() },
  });
  const syncSlot = h("div", { class: "app-sync" });
  syncSlot.hidden = true;
  const outlet = h("main", { class: "app-main" });
  root.replaceChildren(
    h(
      "header",
      { class: "app-header" },
      h(
        "div",
        { class: "app-bar" },
        h("img", { class: "app-mark", attrs: { src: markUrl, alt: "", width: "36", height: "36" } }),
        h("div", { class: "app-heading" }, title, who),
        langSwitch,
      ),
      syncSlot,
    ),
    outlet,
  );

  let identity: Identity | null = null;
  let screen: Screen = startingScreen();
  /** The task list, kept while a task is open. */
  let list: TaskListScreen | null = null;
  let listScroll = 0;
  let bar: SyncBar | null = null;
  let disposed = false;
  outlet.append(screen.element);

  function renderChrome(): void {
    doc.documentElement.lang = i18n.locale;
    doc.title = `Fieldloop · ${i18n.t("app.title")}`;
    title.textContent = i18n.t("app.title");
    langSwitch.textContent = i18n.t("app.lang.switch");
    langSwitch.setAttribute("aria-label", i18n.t("app.lang.switchLabel"));
    // The switch names the other language, so it is set in that language's fonts.
    langSwitch.lang = LOCALES[i18n.lang === "zh" ? "en" : "zh"];
    who.hidden = identity === null;
    if (identity !== null) {
      const team = identity.team_name ?? identity.team;
      who.textContent =
        team === null || team === ""
          ? identity.name
          : i18n.t("app.identity", { name: identity.name, team });
      who.title = i18n.t("app.identityLabel");
    }
  }

  /** Replaces the screen; the kept task list is only hidden, any other screen is let go. */
  function mount(next: Screen): void {
    if (screen !== list) screen.dispose();
    screen = next;
    outlet.replaceChildren(next.element);
  }

  function dropList(): void {
    if (list !== null && list !== screen) list.dispose();
    list = null;
  }

  function start(): Promise<void> {
    return backend.identity().then(
      (found) => {
        if (disposed) return;
        if (found === null) showEnroll();
        else enrolled(found);
      },
      (reason: unknown) => {
        if (!disposed) mount(startErrorScreen(BackendError.from(reason)));
      },
    );
  }

  function showEnroll(): void {
    dropList();
    mount(enrollScreen({ backend, i18n, onEnrolled: enrolled }));
  }

  function enrolled(person: Identity): void {
    identity = person;
    renderChrome();
    if (bar === null) {
      bar = syncBar({
        backend,
        i18n,
        ...pinned,
        ...(deps.syncPollMs === undefined ? {} : { pollMs: deps.syncPollMs }),
        // New tasks may have arrived: reload the list if it is on screen.
        onSynced: () => {
          if (list !== null && screen === list) void list.refresh();
        },
      });
      syncSlot.replaceChildren(bar.element);
      syncSlot.hidden = false;
    }
    showTaskList();
  }

  function showTaskList(): void {
    if (list === null) {
      list = taskListScreen({ backend, i18n, ...pinned, onOpen: openTask });
      mount(list);
      return;
    }
    if (screen === list) {
      void list.refresh();
      return;
    }
    mount(list);
    outlet.scrollTop = listScroll;
    void list.refresh();
  }

  function openTask(taskId: string): void {
    if (screen === list) listScroll = outlet.scrollTop;
    mount(deps.openTask(taskId, showTaskList));
    outlet.scrollTop = 0;
  }

  function startingScreen(): Screen {
    const text = h("p", { class: "state state-loading", testid: "app-starting" });
    const render = () => {
      text.textContent = i18n.t("app.starting");
    };
    const unsubscribe = i18n.onChange(render);
    render();
    return { element: text, dispose: unsubscribe };
  }

  function startErrorScreen(error: BackendError): Screen {
    const element = h("div", { class: "state state-error", testid: "app-error", attrs: { role: "alert" } });
    const render = () =>
      replaceChildren(
        element,
        h("p", { class: "state-title", text: i18n.t("app.error.title") }),
        h("p", { class: "state-hint", testid: "app-error-message", text: errorText(i18n, error.code) }),
        h("p", { class: "state-code", text: i18n.t("taskList.error.code", { code: error.code }) }),
        h("button", {
          class: "button",
          testid: "app-retry",
          text: i18n.t("app.retry"),
          attrs: { type: "button" },
          on: { click: () => void (latest = start()) },
        }),
      );
    const unsubscribe = i18n.onChange(render);
    render();
    return { element, dispose: unsubscribe };
  }

  const unsubscribe = i18n.onChange(renderChrome);
  renderChrome();
  let latest = start();

  return {
    get screen() {
      return screen;
    },
    get identity() {
      return identity;
    },
    ready: () => latest,
    openTask,
    showTaskList,
    show(next: Screen) {
      dropList();
      mount(next);
    },
    dispose() {
      disposed = true;
      dropList();
      screen.dispose();
      bar?.dispose();
      unsubscribe();
    },
  };
}
