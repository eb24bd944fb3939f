// Submit: open conflicts first (each value with who wrote it; keep one or
// write another), then what still stands in the way of submitting, then the
// submit button with a confirmation.

import type { Conflict } from "../../bindings/Conflict";
import type { ConflictValue } from "../../bindings/ConflictValue";
import type { ProblemView } from "../../bindings/ProblemView";
import type { TaskView } from "../../bindings/TaskView";
import { h, replaceChildren } from "../../dom";
import { errorText } from "../../i18n";
import { buttonProps, type Panel, type TaskCtx } from "./ctx";
import { type Part, reconcile } from "./keyed";
import { conflictFieldWords, conflictValueWords, isResultPath, OUTCOMES, outcomeWord } from "./texts";

export interface SubmitPanel extends Panel {
  /** Scrolls to the first conflict whose path starts with `prefix`. */
  revealConflict(prefix: readonly string[]): void;
}

export function submitPanel(ctx: TaskCtx): SubmitPanel {
  const { t } = ctx;
  const conflictsTitle = h("h3", { class: "card-title" });
  const conflictsIntro = h("p", { class: "hint" });
  const conflicts = h("div", { class: "conflicts", testid: "conflicts" });
  const conflictParts = new Map<string, Part<Conflict>>();
  const conflictsCard = h("section", { class: "card conflicts-card" }, conflictsTitle, conflictsIntro, conflicts);

  // Edits the server refused: set aside on this tablet, kept to be seen.
  const refusedTitle = h("h3", { class: "card-title" });
  const refusedIntro = h("p", { class: "hint" });
  const refusedList = h("ul", { class: "refused-edits", testid: "refused-edits" });
  const refusedCard = h("section", { class: "card refused-card", testid: "refused-card" }, refusedTitle, refusedIntro, refusedList);

  const checkTitle = h("h3", { class: "card-title" });
  const problems = h("ul", { class: "problems", testid: "problems" });
  const ready = h("p", { class: "notice notice-ok", testid: "submit-ready" });
  const done = h("p", { class: "notice", testid: "submit-done" });
  const submit = h("button", {
    ...buttonProps("submit", "btn btn-primary btn-large"),
    on: {
      click: () => {
        confirmBox.hidden = false;
        submit.hidden = true;
        confirm.focus();
      },
    },
  });
  const confirmText = h("p", { class: "confirm-text" });
  const confirm = h("button", {
    ...buttonProps("submit-confirm", "btn btn-primary btn-large"),
    on: {
      click: () => {
        // Saves still under way (a note saved as the inspector left it) go first.
        const send = async () => {
          await ctx.whenIdle("submit");
          return ctx.backend.submit(ctx.taskId);
        };
        void ctx.act("submit", send).then(() => {
          confirmBox.hidden = true;
          submit.hidden = false;
        });
      },
    },
  });
  const cancel = h("button", {
    ...buttonProps("submit-cancel", "btn btn-large"),
    on: {
      click: () => {
        confirmBox.hidden = true;
        submit.hidden = false;
        submit.focus();
      },
    },
  });
  const confirmBox = h("div", { class: "confirm-box", testid: "submit-confirm-box", attrs: { role: "alertdialog" } }, confirmText, h("div", { class: "form-actions" }, confirm, cancel));
  confirmBox.hidden = true;

  let view: TaskView | null = null;

  const element = h(
    "div",
    { class: "submit-panel" },
    refusedCard,
    conflictsCard,
    h("section", { class: "card" }, checkTitle, problems, ready, done, h("div", { class: "submit-row" }, submit, confirmBox)),
  );

  function problemRow(p: ProblemView, v: TaskView): HTMLElement {
    const problem = p.problem;
    let text: string;
    let go: (() => void) | null = null;
    switch (problem.kind) {
      case "too_few_checked_in":
        text = t("taskScreen.problem.too_few_checked_in", { have: problem.have, need: problem.need });
        go = () => ctx.showTab("overview");
        break;
      case "unanswered":
        text = t("taskScreen.problem.unanswered", { item: p.item_title ?? problem.item });
        go = () => ctx.showItem(problem.item);
        break;
      case "missing_evidence":
        text = t("taskScreen.problem.missing_evidence", { item: p.item_title ?? problem.item });
        go = () => ctx.showItem(problem.item);
        break;
      case "inspector_unsigned":
        text = t("taskScreen.problem.inspector_unsigned", { name: ctx.personName(problem.inspector) });
        go = () => ctx.showTab("signatures");
        break;
      case "enterprise_unsigned":
        text = t("taskScreen.problem.enterprise_unsigned");
        go = () => ctx.showTab("signatures");
        break;
      case "open_conflict": {
        const path = problem.path.split("/");
        text = t("taskScreen.problem.open_conflict", { field: conflictFieldWords(t, v, path) });
        go = () => api.revealConflict(path);
        break;
      }
      default:
        text = (p as ProblemView).message;
    }
    return h(
      "li",
      { class: `problem problem-${problem.kind}`, testid: "problem", attrs: { "data-kind": problem.kind } },
      h("span", { class: "problem-text", testid: "problem-text", text }),
      go !== null && h("button", { ...buttonProps("problem-go", "btn btn-small"), text: t("taskScreen.problem.go"), on: { click: go } }),
    );
  }

  const api: SubmitPanel = {
    element,
    update(next) {
      view = next;
      conflictsTitle.textContent = t("taskScreen.conflicts.title", { count: next.conflicts.length });
      conflictsIntro.textContent = t("taskScreen.conflicts.intro");
      conflictsCard.hidden = next.conflicts.length === 0;
      reconcile(conflicts, conflictParts, next.conflicts, (c) => c.path.join("/"), () => conflictPart(ctx, () => view));

      refusedCard.hidden = next.refused_edits.length === 0;
      refusedTitle.textContent = t("taskScreen.refused.title", { count: next.refused_edits.length });
      refusedIntro.textContent = t("taskScreen.refused.intro");
      replaceChildren(
        refusedList,
        ...next.refused_edits.map((edit) =>
          h(
            "li",
            { class: "refused-edit", testid: "refused-edit", attrs: { "data-code": edit.code } },
            h("span", { class: "refused-what", text: edit.message }),
            h("span", { class: "refused-when", text: t("taskScreen.refused.made", { time: ctx.dateTime(edit.made_at) }) }),
            h("span", { class: "refused-why", testid: "refused-why", text: errorText(ctx.i18n, edit.code) }),
          ),
        ),
      );

      checkTitle.textContent = t("taskScreen.submit.title");
      replaceChildren(problems, ...next.problems.map((p) => problemRow(p, next)));
      const closed = next.status === "submitted" || next.status === "approved" || next.status === "published";
      ready.hidden = next.problems.length > 0 || !next.editable;
      ready.textContent = t("taskScreen.submit.ready");
      done.hidden = !closed;
      done.textContent = next.status === null ? "" : t("taskScreen.submit.done", { status: ctx.i18n.t(`status.${next.status}`) });
      submit.textContent = t("taskScreen.submit.button");
      submit.disabled = next.problems.length > 0 || !next.editable || ctx.busy("submit");
      if (submit.disabled && !ctx.busy("submit")) {
        confirmBox.hidden = true;
        submit.hidden = false;
      }
      confirmText.textContent = t("taskScreen.submit.confirmText");
      confirm.textContent = t("taskScreen.submit.confirm");
      confirm.disabled = ctx.busy("submit") || !next.editable;
      cancel.textContent = t("taskScreen.cancel");
    },
    revealConflict(prefix) {
      const match = [...conflictParts.entries()].find(([key]) => {
        const path = key.split("/");
        return prefix.every((p, i) => path[i] === p);
      });
      const target = match?.[1].element ?? conflictsCard;
      target.scrollIntoView?.({ block: "center" });
      target.querySelector<HTMLElement>("button:not([disabled])")?.focus({ preventScroll: true });
    },
  };
  return api;
}

function conflictPart(ctx: TaskCtx, view: () => TaskView | null): Part<Conflict> {
  const { t } = ctx;
  const field = h("p", { class: "conflict-field", testid: "conflict-field" });
  const values = h("div", { class: "conflict-values" });
  const customLabel = h("span", { class: "field-label" });
  const customSave = h("button", { ...buttonProps("conflict-custom-save", "btn"), on: { click: () => saveCustom() } });
  const customRow = h("div", { class: "conflict-custom-row" });
  const element = h("div", { class: "conflict", testid: "conflict" }, field, values, customRow);
  let conflict: Conflict | null = null;
  let custom: HTMLInputElement | HTMLSelectElement | null = null;
  let customKind: "text" | "outcome" | null = null;
  const key = () => `conflict:${conflict?.path.join("/") ?? ""}`;

  function resolve(resolution: Parameters<typeof ctx.backend.resolveConflict>[2]): void {
    const path = conflict?.path;
    if (path === undefined) return;
    void ctx.act(key(), () => ctx.backend.resolveConflict(ctx.taskId, [...path], resolution));
  }

  function saveCustom(): void {
    if (conflict === null || custom === null) return;
    const text = custom.value.trim();
    if (customKind === "outcome") {
      if (text === "") return;
      resolve({ kind: "value", value: text });
      return;
    }
    // Numbers stay numbers when every value so far was one.
    const numeric = conflict.values.every((v) => typeof v.value === "number") && text !== "" && Number.isFinite(Number(text));
    resolve({ kind: "value", value: numeric ? Number(text) : text });
  }

  function valueButton(c: Conflict, v: ConflictValue): HTMLElement {
    const who = v.person === null ? t("taskScreen.conflicts.unknownDevice", { actor: v.actor.slice(0, 8) }) : ctx.personName(v.person);
    return h(
      "button",
      {
        ...buttonProps("conflict-pick", "btn conflict-pick"),
        attrs: { type: "button", "data-op": v.op },
        on: { click: () => resolve({ kind: "pick", op: v.op }) },
      },
      h("span", { class: "conflict-value", testid: "conflict-value", text: conflictValueWords(t, c.path, v.value) }),
      h("span", { class: "conflict-author", testid: "conflict-author", text: t("taskScreen.conflicts.by", { person: who }) }),
      v.at === null
        ? null
        : h("span", { class: "conflict-time", testid: "conflict-time", text: ctx.dateTime(v.at) }),
    );
  }

  return {
    element,
    update(c) {
      conflict = c;
      const v = view();
      element.dataset.path = c.path.join("/");
      field.textContent = v === null ? c.path.join(" / ") : conflictFieldWords(t, v, c.path);
      const disabled = !ctx.editable() || ctx.busy(key());
      replaceChildren(values, ...c.values.map((x) => valueButton(c, x)));
      for (const button of values.querySelectorAll("button")) button.disabled = disabled;

      const kind = isResultPath(c.path) ? "outcome" : "text";
      if (kind !== customKind) {
        customKind = kind;
        custom =
          kind === "outcome"
            ? h("select", { class: "select", testid: "conflict-custom" }, ...OUTCOMES.map((o) => h("option", { attrs: { value: o } })))
            : h("input", { class: "text-input", testid: "conflict-custom", attrs: { type: "text", maxlength: "2000" } });
        replaceChildren(customRow, h("label", { class: "form-field grow" }, customLabel, custom), customSave);
      }
      if (custom instanceof HTMLSelectElement) {
        for (const option of custom.options) option.textContent = outcomeWord(t, option.value as (typeof OUTCOMES)[number]);
      }
      customLabel.textContent = t(kind === "outcome" ? "taskScreen.conflicts.customOutcome" : "taskScreen.conflicts.custom");
      customSave.textContent = t("taskScreen.conflicts.customSave");
      if (custom !== null) custom.disabled = !ctx.editable();
      customSave.disabled = disabled;
    },
  };
}
