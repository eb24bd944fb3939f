// Evidence: every photo and signature of the task (withdrawn ones greyed, with
// their reason: 全程留痕), a camera button for photos of the whole task, and
// the full view of one piece with its caption and withdrawal.

import type { Evidence } from "../../bindings/Evidence";
import type { TaskView } from "../../bindings/TaskView";
import { h, replaceChildren } from "../../dom";
import { buttonProps, type Panel, type TaskCtx, takeFiles } from "./ctx";
import { type Part, reconcile } from "./keyed";
import { itemTitle } from "./texts";

export function evidencePanel(ctx: TaskCtx): Panel {
  const { t } = ctx;
  const input = h("input", {
    class: "visually-hidden",
    testid: "task-photo-input",
    attrs: { type: "file", accept: "image/*", capture: "environment", multiple: "" },
    on: { change: () => ctx.addPhotos(null, takeFiles(input)) },
  });
  const inputText = h("span", { class: "photo-button-text" });
  const inputLabel = h("label", { class: "btn btn-primary photo-button" }, input, inputText);
  const busy = h("span", { class: "photo-busy", testid: "photo-busy", attrs: { role: "status" } });
  const count = h("p", { class: "evidence-count", testid: "evidence-count" });
  const grid = h("div", { class: "evidence-grid", testid: "evidence-grid" });
  const empty = h("p", { class: "empty-note", testid: "evidence-empty" });
  const cards = new Map<string, Part<Evidence>>();
  let view: TaskView | null = null;

  return {
    element: h("div", { class: "evidence" }, h("div", { class: "panel-toolbar" }, inputLabel, busy, count), grid, empty),
    update(next) {
      view = next;
      const progress = ctx.photoProgress(null);
      inputText.textContent = t("taskScreen.evidence.addPhoto");
      input.disabled = !ctx.editable() || progress !== null;
      inputLabel.classList.toggle("is-disabled", input.disabled);
      busy.hidden = progress === null;
      busy.textContent = progress === null ? "" : t("taskScreen.photo.busy", { done: progress.done + 1, total: progress.total });
      const live = next.evidence.filter((e) => e.withdrawn_at === null).length;
      count.textContent = t("taskScreen.evidence.count", { count: live, withdrawn: next.evidence.length - live });
      reconcile(grid, cards, next.evidence, (e) => e.sha256, () => evidenceCard(ctx, () => view));
      empty.hidden = next.evidence.length > 0;
      empty.textContent = t("taskScreen.evidence.empty");
    },
  };
}

function evidenceCard(ctx: TaskCtx, view: () => TaskView | null): Part<Evidence> {
  const { t } = ctx;
  const img = h("img", { class: "card-img", attrs: { alt: "", decoding: "async" } });
  const meta = h("div", { class: "card-meta" });
  const element = h(
    "button",
    { ...buttonProps("evidence-card", "evidence-card"), on: { click: () => ctx.openEvidence(element.dataset.sha ?? "") } },
    h("div", { class: "card-frame" }, img),
    meta,
  );
  return {
    element,
    update(e) {
      const withdrawn = e.withdrawn_at !== null;
      element.dataset.sha = e.sha256;
      element.dataset.kind = e.kind;
      element.dataset.withdrawn = String(withdrawn);
      element.classList.toggle("is-withdrawn", withdrawn);
      const sha = e.thumb_sha256 ?? (e.kind === "signature" ? e.sha256 : null);
      if (sha === null) ctx.blobs.detach(img);
      else ctx.blobs.attach(img, sha, e.thumb_sha256 === null ? e.mime : "image/jpeg");
      const item = e.item === null ? null : (itemTitle(view() ?? emptyView, e.item) ?? e.item);
      replaceChildren(
        meta,
        h("span", { class: `badge badge-kind badge-${e.kind}`, text: t(`taskScreen.evidence.kind.${e.kind}`) }),
        h("span", { class: "card-time", text: ctx.dateTime(e.taken_at) }),
        h("span", { class: "card-by", text: ctx.personName(e.by) }),
        e.caption !== null && h("span", { class: "card-caption", testid: "evidence-card-caption", text: e.caption }),
        item !== null && h("span", { class: "card-item", text: t("taskScreen.evidence.forItem", { item }) }),
        withdrawn &&
          h("span", { class: "card-withdrawn", testid: "evidence-withdrawn", text: t("taskScreen.evidence.withdrawnBecause", { reason: e.withdrawn_reason ?? "" }) }),
      );
    },
  };
}

const emptyView = { groups: [] } as unknown as TaskView;

export interface EvidenceViewer {
  readonly element: HTMLElement;
  open(sha: string): void;
  close(): void;
  readonly openSha: string | null;
  update(view: TaskView): void;
}

/** The full view of one piece of evidence, over the screen. */
export function evidenceViewer(ctx: TaskCtx): EvidenceViewer {
  const { t } = ctx;
  let sha: string | null = null;
  let savedCaption = "";
  let opener: HTMLElement | null = null;

  const img = h("img", { class: "viewer-img", testid: "evidence-image", attrs: { alt: "" } });
  const meta = h("dl", { class: "viewer-meta" });
  const heading = h("h2", { class: "viewer-title", attrs: { id: "evidence-viewer-title" } });
  const captionLabel = h("span", { class: "field-label" });
  const caption = h("input", {
    class: "text-input",
    testid: "evidence-caption",
    attrs: { type: "text", maxlength: "500" },
    on: { keydown: (e) => e.key === "Enter" && saveCaption() },
  });
  const captionSave = h("button", { ...buttonProps("evidence-caption-save"), on: { click: () => saveCaption() } });
  const withdraw = h("button", {
    ...buttonProps("evidence-withdraw", "btn btn-danger-outline"),
    on: {
      click: () => {
        withdrawBox.hidden = false;
        withdraw.hidden = true;
        reason.focus();
      },
    },
  });
  const reasonLabel = h("span", { class: "field-label" });
  const reason = h("textarea", { class: "text-input", testid: "withdraw-reason", attrs: { rows: "2" } });
  const reasonNote = h("p", { class: "form-error", testid: "withdraw-error", attrs: { role: "alert" } });
  const confirm = h("button", { ...buttonProps("withdraw-confirm", "btn btn-danger"), on: { click: () => doWithdraw() } });
  const cancel = h("button", {
    ...buttonProps("withdraw-cancel", "btn"),
    on: {
      click: () => {
        withdrawBox.hidden = true;
        withdraw.hidden = false;
        reasonNote.hidden = true;
      },
    },
  });
  const withdrawBox = h("div", { class: "withdraw-box" }, h("label", { class: "form-field" }, reasonLabel, reason), reasonNote, h("div", { class: "form-actions" }, confirm, cancel));
  const withdrawnNote = h("p", { class: "notice notice-warn", testid: "viewer-withdrawn" });
  const close = h("button", { ...buttonProps("evidence-close", "btn viewer-close"), on: { click: () => api.close() } });
  const captionRow = h("div", { class: "caption-row" }, h("label", { class: "form-field grow" }, captionLabel, caption), captionSave);

  const element = h(
    "div",
    {
      class: "overlay",
      testid: "evidence-viewer",
      attrs: { role: "dialog", "aria-modal": "true", "aria-labelledby": "evidence-viewer-title" },
      on: { keydown: (e) => e.key === "Escape" && api.close() },
    },
    h(
      "div",
      { class: "overlay-body viewer" },
      h("header", { class: "overlay-head" }, heading, close),
      h("div", { class: "viewer-frame" }, img),
      meta,
      withdrawnNote,
      captionRow,
      withdraw,
      withdrawBox,
    ),
  );
  element.hidden = true;
  withdrawBox.hidden = true;
  reasonNote.hidden = true;

  function saveCaption(): void {
    const current = sha;
    if (current === null) return;
    const typed = caption.value;
    const before = savedCaption;
    savedCaption = typed;
    void ctx.act(
      `caption:${current}`,
      () => ctx.backend.setCaption(ctx.taskId, current, typed.trim()),
      (ok) => {
        if (!ok && savedCaption === typed) savedCaption = before; // not saved: keep the typed text
      },
    );
  }

  function doWithdraw(): void {
    const current = sha;
    if (current === null) return;
    const text = reason.value.trim();
    if (text === "") {
      reasonNote.hidden = false;
      reasonNote.textContent = t("taskScreen.evidence.reasonRequired");
      reason.focus();
      return;
    }
    reasonNote.hidden = true;
    void ctx.act(`withdraw:${current}`, () => ctx.backend.withdrawEvidence(ctx.taskId, current, text)).then((ok) => {
      if (!ok) return;
      reason.value = "";
      withdrawBox.hidden = true;
    });
  }

  const api: EvidenceViewer = {
    element,
    get openSha() {
      return sha;
    },
    open(next) {
      if (sha !== next) {
        caption.value = "";
        savedCaption = "";
        reason.value = "";
        withdrawBox.hidden = true;
        reasonNote.hidden = true;
      }
      opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
      sha = next;
      element.hidden = false;
      element.dataset.sha = next;
      close.focus();
    },
    close() {
      sha = null;
      element.hidden = true;
      delete element.dataset.sha;
      ctx.blobs.detach(img);
      if (opener?.isConnected) opener.focus();
      opener = null;
    },
    update(view) {
      heading.textContent = t("taskScreen.evidence.viewerTitle");
      close.textContent = t("taskScreen.close");
      captionLabel.textContent = t("taskScreen.evidence.caption");
      captionSave.textContent = t("taskScreen.save");
      withdraw.textContent = t("taskScreen.evidence.withdraw");
      reasonLabel.textContent = t("taskScreen.evidence.withdrawReason");
      reason.placeholder = t("taskScreen.evidence.withdrawPlaceholder");
      confirm.textContent = t("taskScreen.evidence.withdrawConfirm");
      cancel.textContent = t("taskScreen.cancel");
      if (sha === null) return;
      const e = view.evidence.find((x) => x.sha256 === sha);
      if (e === undefined) {
        api.close();
        return;
      }
      const withdrawn = e.withdrawn_at !== null;
      element.dataset.withdrawn = String(withdrawn);
      const display = e.display_sha256 ?? (e.kind === "signature" ? e.sha256 : e.thumb_sha256);
      if (display === null) ctx.blobs.detach(img);
      else ctx.blobs.attach(img, display, e.display_sha256 === null ? e.mime : "image/jpeg");
      img.alt = e.caption ?? t(`taskScreen.evidence.kind.${e.kind}`);

      const item = e.item === null ? null : (itemTitle(view, e.item) ?? e.item);
      replaceChildren(
        meta,
        metaRow(t("taskScreen.evidence.kindLabel"), t(`taskScreen.evidence.kind.${e.kind}`)),
        metaRow(t("taskScreen.evidence.takenAt"), ctx.dateTime(e.taken_at)),
        metaRow(t("taskScreen.evidence.by"), ctx.personName(e.by)),
        metaRow(
          t("taskScreen.evidence.location"),
          e.location === null ? t("taskScreen.evidence.noLocation") : `${e.location.lat.toFixed(6)}, ${e.location.lon.toFixed(6)}`,
        ),
        item !== null && metaRow(t("taskScreen.evidence.item"), item),
        metaRow(t("taskScreen.evidence.sha"), e.sha256.slice(0, 16), "mono"),
      );
      withdrawnNote.hidden = !withdrawn;
      withdrawnNote.textContent = withdrawn
        ? t("taskScreen.evidence.withdrawnInfo", {
            reason: e.withdrawn_reason ?? "",
            by: ctx.personName(e.withdrawn_by),
            time: ctx.dateTime(e.withdrawn_at!),
          })
        : "";

      const stored = e.caption ?? "";
      if (!ctx.busy(`caption:${e.sha256}`) && caption.value === savedCaption) {
        caption.value = stored;
        savedCaption = stored;
      }
      const editable = ctx.editable() && !withdrawn;
      caption.disabled = !editable;
      captionSave.disabled = !editable || ctx.busy(`caption:${e.sha256}`);
      withdraw.hidden = withdrawn || !withdrawBox.hidden;
      withdraw.disabled = !editable;
      if (withdrawn) withdrawBox.hidden = true;
      reason.disabled = !editable;
      confirm.disabled = !editable || ctx.busy(`withdraw:${e.sha256}`);
    },
  };
  return api;
}

function metaRow(label: string, value: string, className = ""): HTMLElement {
  return h("div", { class: `meta-row ${className}`.trim() }, h("dt", { text: label }), h("dd", { text: value }));
}
