// Timeline: the task's audit trail (全程留痕), newest first. Loaded when the
// tab opens and again after each action while it is open.

import { BackendError, type HistoryEntry } from "../../backend/backend";
import type { Role } from "../../bindings/Role";
import { h, replaceChildren } from "../../dom";
import { buttonProps, type Panel, type TaskCtx } from "./ctx";
import { errorWords } from "./texts";

export interface TimelinePanel extends Panel {
  /** Loads the history again. */
  load(): Promise<void>;
}

type State = { phase: "idle" } | { phase: "loading"; entries: HistoryEntry[] | null } | { phase: "ready"; entries: HistoryEntry[] } | { phase: "error"; error: BackendError };

export function timelinePanel(ctx: TaskCtx): TimelinePanel {
  const { t } = ctx;
  const title = h("h3", { class: "card-title" });
  const body = h("div", { class: "timeline-body", testid: "timeline" });
  const element = h("section", { class: "card timeline" }, title, body);
  let state: State = { phase: "idle" };
  let loads = 0;

  function entryRow(entry: HistoryEntry): HTMLElement {
    return h(
      "li",
      { class: "timeline-entry", testid: "timeline-entry", attrs: { "data-hash": entry.hash } },
      h("span", { class: "timeline-time", testid: "timeline-time", text: ctx.dateTime(entry.at) }),
      h(
        "span",
        { class: "timeline-who" },
        h("span", { class: "timeline-person", testid: "timeline-person", text: entry.person === null ? t("taskScreen.timeline.unknownDevice") : ctx.personName(entry.person) }),
        entry.role !== null && h("span", { class: "badge badge-role", testid: "timeline-role", text: roleWord(entry.role) }),
      ),
      h("span", { class: "timeline-message", testid: "timeline-message", text: entry.message }),
    );
  }

  function roleWord(role: Role): string {
    return t(`taskScreen.role.${role}`);
  }

  function render(): void {
    title.textContent = t("taskScreen.timeline.title");
    switch (state.phase) {
      case "idle":
        replaceChildren(body);
        break;
      case "loading":
        if (state.entries === null) {
          replaceChildren(body, h("p", { class: "empty-note", testid: "timeline-loading", text: t("taskScreen.timeline.loading") }));
        } else {
          body.setAttribute("aria-busy", "true");
        }
        break;
      case "error": {
        const words = errorWords(ctx.i18n, t, state.error);
        replaceChildren(
          body,
          h(
            "div",
            { class: "notice notice-error", testid: "timeline-error", attrs: { role: "alert" } },
            h("p", { text: t("taskScreen.timeline.error", { message: words }) }),
            h("button", { ...buttonProps("timeline-retry"), text: t("taskScreen.retry"), on: { click: () => void api.load() } }),
          ),
        );
        break;
      }
      case "ready": {
        body.removeAttribute("aria-busy");
        const entries = [...state.entries].sort((a, b) => b.at - a.at || b.seq - a.seq);
        replaceChildren(
          body,
          entries.length === 0
            ? h("p", { class: "empty-note", testid: "timeline-empty", text: t("taskScreen.timeline.empty") })
            : h("ol", { class: "timeline-list" }, ...entries.map(entryRow)),
        );
        break;
      }
    }
  }

  const api: TimelinePanel = {
    element,
    update() {
      render();
    },
    load() {
      const mine = ++loads;
      state = { phase: "loading", entries: state.phase === "ready" ? state.entries : null };
      render();
      const work = ctx.backend.taskHistory(ctx.taskId).then(
        (entries) => {
          if (mine !== loads) return;
          state = { phase: "ready", entries };
          render();
        },
        (reason: unknown) => {
          if (mine !== loads) return;
          state = { phase: "error", error: BackendError.from(reason) };
          render();
        },
      );
      ctx.track(work);
      return work;
    },
    shown() {
      void api.load();
    },
  };
  return api;
}
