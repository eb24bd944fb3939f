// The app shell: a header (name, language switch) over the current screen.
// Later screens (task detail, checklist, camera, sync) are shown in the same
// outlet with `show`.

import markUrl from "./assets/mark.svg";
import type { Backend } from "./backend/backend";
import { h } from "./dom";
import { type I18n, LOCALES } from "./i18n";
import type { Screen } from "./screens/screen";
import { taskListScreen } from "./screens/taskList";

export interface AppDeps {
  backend: Backend;
  i18n: I18n;
  /** The document to set `lang` and title on; the global one by default. */
  document?: Document;
}

export interface App {
  readonly screen: Screen;
  show(screen: Screen): void;
}

export function startApp(root: HTMLElement, deps: AppDeps): App {
  const { backend, i18n } = deps;
  const doc = deps.document ?? document;

  const title = h("h1", { class: "app-title", testid: "app-title" });
  const langSwitch = h("button", {
    class: "lang-switch",
    testid: "lang-switch",
    attrs: { type: "button" },
    on: { click: () => i18n.toggle() },
  });
  const outlet = h("main", { class: "app-main" });
  root.replaceChildren(
    h(
      "header",
      { class: "app-header" },
      h("img", { class: "app-mark", attrs: { src: markUrl, alt: "", width: "36", height: "36" } }),
      title,
      langSwitch,
    ),
    outlet,
  );

  function renderChrome(): void {
    doc.documentElement.lang = i18n.locale;
    doc.title = `Fieldloop · ${i18n.t("app.title")}`;
    title.textContent = i18n.t("app.title");
    langSwitch.textContent = i18n.t("app.lang.switch");
    langSwitch.setAttribute("aria-label", i18n.t("app.lang.switchLabel"));
    // The switch names the other language, so it is set in that language's fonts.
    langSwitch.lang = LOCALES[i18n.lang === "zh" ? "en" : "zh"];
  }

  let screen: Screen = taskListScreen({ backend, i18n });
  outlet.append(screen.element);
  i18n.onChange(renderChrome);
  renderChrome();

  return {
    get screen() {
      return screen;
    },
    show(next: Screen) {
      screen.dispose();
      screen = next;
      outlet.replaceChildren(next.element);
    },
  };
}
