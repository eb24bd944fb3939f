// The top of the task screen: the bar (back, code, business, status, unsynced
// mark, 亮码) and the banners under it (the supervisor's return comment, why
// the record is read-only, the last failed action with its details).

import type { BackendError, TaskView } from "../../backend/backend";
import { h, replaceChildren } from "../../dom";
import type { I18n } from "../../i18n";
import { buttonProps } from "./ctx";
import { errorWords, type Tr } from "./texts";

export interface HeaderDeps {
  readonly i18n: I18n;
  readonly t: Tr;
  onBack(): void;
  openQr(): void;
  /** The error banner was closed. */
  dismissError(): void;
}

export interface Header {
  /** The top bar. */
  readonly bar: HTMLElement;
  /** The banners, in order. */
  readonly banners: readonly HTMLElement[];
  /** The 亮码 button (focus returns to it when the dialog closes). */
  readonly showQr: HTMLButtonElement;
  /** Shows the task (none while it loads) and the failed action, if any. */
  render(view: TaskView | null, error: BackendError | null): void;
}

export function header(deps: HeaderDeps): Header {
  const { i18n, t } = deps;

  const back = h("button", { ...buttonProps("task-back", "btn btn-back"), on: { click: () => deps.onBack() } });
  const code = h("span", { class: "task-code", testid: "task-code" });
  const subject = h("h2", { class: "task-subject", testid: "task-subject" });
  const status = h("span", { class: "badge", testid: "task-status" });
  const dirty = h("span", { class: "badge badge-dirty", testid: "task-dirty" });
  const showQr = h("button", { ...buttonProps("show-qr", "btn btn-qr"), on: { click: () => deps.openQr() } });
  const bar = h(
    "header",
    { class: "task-bar" },
    back,
    h("div", { class: "task-heading" }, h("div", { class: "task-heading-top" }, code, status, dirty), subject),
    showQr,
  );

  const returnComment = h("div", { class: "banner banner-returned", testid: "return-comment", attrs: { role: "note" } });
  const readOnly = h("p", { class: "banner banner-readonly", testid: "task-readonly" });
  const errorText = h("p", { class: "banner-text", testid: "task-error-message" });
  const errorDetail = h("p", { class: "banner-detail", testid: "task-error-detail" });
  const errorClose = h("button", { ...buttonProps("task-error-dismiss", "btn btn-small"), on: { click: () => deps.dismissError() } });
  const errorBanner = h(
    "div",
    { class: "banner banner-error", testid: "task-error", attrs: { role: "alert" } },
    h("div", { class: "banner-body" }, errorText, errorDetail),
    errorClose,
  );

  function renderError(error: BackendError | null): void {
    errorClose.textContent = t("taskScreen.error.dismiss");
    errorBanner.hidden = error === null;
    if (error === null) return;
    const words = errorWords(i18n, t, error);
    errorText.textContent = words;
    errorDetail.hidden = error.message === "" || error.message === words;
    errorDetail.textContent = t("taskScreen.error.detail", { message: error.message, code: error.code });
  }

  function renderTask(v: TaskView): void {
    code.textContent = v.code;
    subject.textContent = v.subject_name;
    status.hidden = false;
    status.className = `badge badge-${v.status ?? "unknown"}`;
    status.textContent = v.status === null ? t("taskScreen.statusUnknown") : i18n.t(`status.${v.status}`);
    dirty.hidden = !v.dirty;
    dirty.textContent = i18n.t("task.dirty");
    dirty.title = i18n.t("task.dirtyLabel");
    showQr.disabled = false;

    returnComment.hidden = v.return_comment === null;
    replaceChildren(
      returnComment,
      v.return_comment !== null && h("strong", { class: "banner-title", text: t("taskScreen.returned") }),
      v.return_comment !== null && h("p", { class: "banner-text", testid: "return-comment-text", text: v.return_comment }),
    );
    readOnly.hidden = v.editable;
    readOnly.textContent = v.editable ? "" : readOnlyText(v);
  }

  function readOnlyText(v: TaskView): string {
    if (!v.inspectors.some((i) => i.me)) return t("taskScreen.readOnly.notMine");
    switch (v.status) {
      case "submitted":
        return t("taskScreen.readOnly.submitted");
      case "approved":
      case "published":
        return t("taskScreen.readOnly.approved");
      case "cancelled":
        return t("taskScreen.readOnly.cancelled");
      default:
        return t("taskScreen.readOnly.locked");
    }
  }

  return {
    bar,
    banners: [returnComment, readOnly, errorBanner],
    showQr,
    render(view, error) {
      back.textContent = t("taskScreen.back");
      back.setAttribute("aria-label", t("taskScreen.backLabel"));
      showQr.textContent = t("taskScreen.qr.button");
      renderError(error);
      if (view !== null) {
        renderTask(view);
        return;
      }
      returnComment.hidden = true;
      readOnly.hidden = true;
      showQr.disabled = true;
      status.hidden = true;
      dirty.hidden = true;
    },
  };
}
