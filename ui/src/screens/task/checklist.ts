// Checklist: one section per department (进一次门、查多项事), each item with
// big 合格 / 不合格 / 不涉及 buttons, a note, its legal basis one tap away, a
// camera button and the thumbnails of its evidence.

import type { Evidence } from "../../bindings/Evidence";
import type { ItemGroup } from "../../bindings/ItemGroup";
import type { ItemView } from "../../bindings/ItemView";
import type { Outcome } from "../../bindings/Outcome";
import { h } from "../../dom";
import { buttonProps, type Panel, type TaskCtx, takeFiles } from "./ctx";
import { type Part, reconcile } from "./keyed";
import { OUTCOMES, outcomeWord } from "./texts";

export function checklistPanel(ctx: TaskCtx): Panel {
  const summary = h("p", { class: "checklist-summary", testid: "checklist-summary" });
  const groups = h("div", { class: "dept-groups" });
  const parts = new Map<string, GroupPart>();
  const element = h("div", { class: "checklist" }, summary, groups);
  let evidence = new Map<string, Evidence>();

  return {
    element,
    update(view) {
      evidence = new Map(view.evidence.map((e) => [e.sha256, e]));
      const total = view.groups.reduce((n, g) => n + g.items.length, 0);
      const answered = view.groups.reduce((n, g) => n + g.answered, 0);
      summary.textContent = ctx.t("taskScreen.checklist.summary", { answered, total });
      reconcile(groups, parts, view.groups, (g) => g.department.code, () => groupPart(ctx, () => evidence));
    },
    dispose() {
      for (const part of parts.values()) part.dispose?.();
    },
  };
}

type GroupPart = Part<ItemGroup>;

function groupPart(ctx: TaskCtx, evidence: () => ReadonlyMap<string, Evidence>): GroupPart {
  const title = h("h3", { class: "dept-title" });
  const progress = h("span", { class: "dept-progress", testid: "dept-progress" });
  const list = h("ul", { class: "items" });
  const items = new Map<string, ItemPart>();
  const element = h("section", { class: "dept-group", testid: "dept-group" }, h("header", { class: "dept-header" }, title, progress), list);
  return {
    element,
    update(group) {
      element.dataset.dept = group.department.code;
      title.textContent = ctx.deptName(group.department);
      progress.textContent = ctx.t("taskScreen.checklist.progress", { answered: group.answered, total: group.items.length });
      progress.classList.toggle("is-complete", group.answered === group.items.length);
      reconcile(list, items, group.items, (i) => i.id, (i) => itemPart(ctx, i.id, evidence));
    },
    dispose() {
      for (const part of items.values()) part.dispose?.();
    },
  };
}

type ItemPart = Part<ItemView>;

/**
 * A text field of an item's answer (its measured value or its note), saved
 * when the inspector leaves it. The stored text replaces the field unless
 * the inspector has typed something not saved yet; while one save runs, the
 * next waits for it.
 */
function answerField<E extends HTMLInputElement | HTMLTextAreaElement>(
  ctx: TaskCtx,
  id: string,
  field: "note" | "value",
  element: E,
): { element: E; update(stored: string | null, editable: boolean): void } {
  /** The text as last saved or being saved; the field is left alone while it differs. */
  let saved = "";
  const key = `${field}:${id}`;

  function save(): void {
    if (!ctx.editable() || ctx.busy(key)) return;
    const text = element.value;
    if (text === saved) return;
    const before = saved;
    saved = text;
    const change = field === "note" ? { result: null, value: null, note: text } : { result: null, value: text, note: null };
    void ctx
      .act(
        key,
        () => ctx.backend.answer(ctx.taskId, id, change),
        (ok) => {
          if (!ok && saved === text) saved = before; // not saved: kept in the field, a later blur tries again
        },
      )
      .then((ok) => {
        // Typed on and left the field while the save ran: save the rest now.
        if (ok && document.activeElement !== element && element.value !== saved) save();
      });
  }
  element.addEventListener("change", save);
  element.addEventListener("blur", save);

  return {
    element,
    update(stored, editable) {
      if (!ctx.busy(key) && element.value === saved) {
        element.value = stored ?? "";
        saved = element.value;
      }
      element.disabled = !editable;
    },
  };
}

function itemPart(ctx: TaskCtx, id: string, evidence: () => ReadonlyMap<string, Evidence>): ItemPart {
  const { t } = ctx;
  let current: ItemView | null = null;

  const title = h("h4", { class: "item-title", testid: "item-title" });
  const requires = h("span", { class: "mark mark-evidence", testid: "item-requires-evidence" });
  const conflicted = h("button", {
    ...buttonProps("item-conflicted", "mark mark-conflict"),
    on: { click: () => ctx.showConflicts(["checklist", id]) },
  });
  const outcomes = new Map<Outcome, HTMLButtonElement>(
    OUTCOMES.map((outcome) => [
      outcome,
      h("button", {
        ...buttonProps(`outcome-${outcome}`, `outcome outcome-${outcome}`),
        on: { click: () => choose(outcome) },
      }),
    ]),
  );
  const note = answerField(ctx, id, "note", h("textarea", { class: "item-note", testid: "item-note", attrs: { rows: "2" } }));
  const value = answerField(
    ctx,
    id,
    "value",
    h("input", { class: "item-value text-input", testid: "item-value", attrs: { type: "text", autocomplete: "off" } }),
  );
  const basisToggle = h("button", {
    ...buttonProps("legal-basis-toggle", "link-button"),
    on: {
      click: () => {
        basis.hidden = !basis.hidden;
        basisToggle.setAttribute("aria-expanded", String(!basis.hidden));
        renderBasisToggle();
      },
    },
  });
  const basis = h("p", { class: "legal-basis", testid: "legal-basis", attrs: { id: `legal-basis-${cssId(id)}` } });
  basis.hidden = true;
  basisToggle.setAttribute("aria-expanded", "false");
  basisToggle.setAttribute("aria-controls", basis.id);

  const photoInput = h("input", {
    class: "visually-hidden",
    testid: "item-photo-input",
    attrs: { type: "file", accept: "image/*", capture: "environment", multiple: "" },
    on: { change: () => ctx.addPhotos(id, takeFiles(photoInput)) },
  });
  const photoLabel = h("span", { class: "photo-button-text" });
  const photoButton = h("label", { class: "btn photo-button" }, photoInput, photoLabel);
  const photoBusy = h("span", { class: "photo-busy", testid: "photo-busy", attrs: { role: "status" } });
  const thumbs = h("div", { class: "thumbs", testid: "item-thumbs" });
  const thumbParts = new Map<string, Part<Evidence>>();
  const noteLabel = h("span", { class: "field-label" });
  const valueLabel = h("span", { class: "field-label" });

  const element = h(
    "li",
    { class: "item", testid: "item" },
    h("div", { class: "item-head" }, title, h("div", { class: "item-marks" }, requires, conflicted)),
    h("div", { class: "outcomes", attrs: { role: "group" } }, ...outcomes.values()),
    h(
      "div",
      { class: "item-fields" },
      h("label", { class: "form-field item-value-field" }, valueLabel, value.element),
      h("label", { class: "form-field" }, noteLabel, note.element),
    ),
    h("div", { class: "item-basis" }, basisToggle, basis),
    h("div", { class: "item-evidence" }, photoButton, photoBusy, thumbs),
  );
  element.dataset.itemId = id;

  function choose(outcome: Outcome): void {
    if (current?.answer.result === outcome) return;
    void ctx.act(`answer:${id}`, () => ctx.backend.answer(ctx.taskId, id, { result: outcome, value: null, note: null }));
  }

  function renderBasisToggle(): void {
    basisToggle.textContent = t(basis.hidden ? "taskScreen.checklist.showBasis" : "taskScreen.checklist.hideBasis");
  }

  return {
    element,
    update(item) {
      current = item;
      const editable = ctx.editable();
      element.dataset.result = item.answer.result ?? "";
      element.classList.toggle("is-conflicted", item.conflicted);
      title.textContent = item.title;
      requires.hidden = !item.requires_evidence;
      requires.textContent = t("taskScreen.checklist.requiresEvidence");
      conflicted.hidden = !item.conflicted;
      conflicted.textContent = t("taskScreen.checklist.conflicted");
      const answering = ctx.busy(`answer:${id}`);
      for (const [outcome, button] of outcomes) {
        button.textContent = outcomeWord(t, outcome);
        button.setAttribute("aria-pressed", String(item.answer.result === outcome));
        button.disabled = !editable || answering;
      }

      note.update(item.answer.note, editable);
      note.element.placeholder = t("taskScreen.checklist.notePlaceholder");
      noteLabel.textContent = t("taskScreen.checklist.note");
      value.update(item.answer.value, editable);
      value.element.placeholder = t("taskScreen.checklist.valuePlaceholder");
      valueLabel.textContent = t("taskScreen.checklist.value");

      basis.textContent = item.legal_basis;
      renderBasisToggle();

      const progress = ctx.photoProgress(id);
      photoLabel.textContent = t("taskScreen.photo.take");
      photoInput.disabled = !editable || progress !== null;
      photoButton.classList.toggle("is-disabled", photoInput.disabled);
      photoBusy.hidden = progress === null;
      photoBusy.textContent = progress === null ? "" : t("taskScreen.photo.busy", { done: progress.done + 1, total: progress.total });

      const shown = item.evidence.map((sha) => evidence().get(sha)).filter((e): e is Evidence => e !== undefined);
      reconcile(thumbs, thumbParts, shown, (e) => e.sha256, () => thumbPart(ctx));
      thumbs.hidden = shown.length === 0;
    },
  };
}

/** A tappable thumbnail of a piece of evidence. */
export function thumbPart(ctx: TaskCtx): Part<Evidence> {
  const img = h("img", { class: "thumb-img", attrs: { alt: "", decoding: "async" } });
  const element = h("button", { ...buttonProps("evidence-thumb", "thumb"), on: { click: () => ctx.openEvidence(element.dataset.sha ?? "") } }, img);
  return {
    element,
    update(evidence) {
      element.dataset.sha = evidence.sha256;
      element.setAttribute("aria-label", ctx.t("taskScreen.evidence.open", { time: ctx.dateTime(evidence.taken_at) }));
      const sha = evidence.thumb_sha256 ?? (evidence.kind === "signature" ? evidence.sha256 : null);
      if (sha === null) ctx.blobs.detach(img);
      else ctx.blobs.attach(img, sha, evidence.thumb_sha256 === null ? evidence.mime : "image/jpeg");
    },
  };
}

/** A string usable in an element id. */
export function cssId(text: string): string {
  return text.replace(/[^A-Za-z0-9_-]/g, "_");
}
