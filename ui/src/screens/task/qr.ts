// The verification QR code (亮码): a dialog with the code the Rust side draws
// for the task (an SVG, cleaned of scripts before it is shown) and the address
// it stands for, which anyone on site can open to check the inspection.

import { type Backend, BackendError } from "../../backend/backend";
import { h, replaceChildren } from "../../dom";
import type { I18n } from "../../i18n";
import { buttonProps } from "./ctx";
import type { ScreenState } from "./state";
import { errorWords, type Tr } from "./texts";

export interface QrDeps {
  readonly backend: Backend;
  readonly taskId: string;
  readonly i18n: I18n;
  readonly t: Tr;
  readonly state: ScreenState;
  track(work: Promise<unknown>): void;
  /** The dialog was closed (focus goes back to the button that opened it). */
  closed(): void;
}

export interface QrDialog {
  readonly element: HTMLElement;
  /** Shows the dialog and loads the code. */
  open(): void;
  render(): void;
}

export function qrDialog(deps: QrDeps): QrDialog {
  const { backend, taskId, i18n, t, state } = deps;
  const title = h("h2", { class: "overlay-title", attrs: { id: "qr-title" } });
  const hint = h("p", { class: "hint" });
  const box = h("div", { class: "verify-qr", testid: "verify-qr" });
  const url = h("p", { class: "verify-url mono", testid: "verify-url" });
  const close = h("button", { ...buttonProps("qr-close", "btn"), on: { click: () => closeQr() } });
  const element = h(
    "div",
    {
      class: "overlay",
      testid: "qr-dialog",
      attrs: { role: "dialog", "aria-modal": "true", "aria-labelledby": "qr-title" },
      on: { keydown: (e) => e.key === "Escape" && closeQr() },
    },
    h("div", { class: "overlay-body qr-body" }, h("header", { class: "overlay-head" }, title, close), hint, box, url),
  );
  element.hidden = true;

  function closeQr(): void {
    element.hidden = true;
    deps.closed();
  }

  function render(): void {
    title.textContent = t("taskScreen.qr.title");
    hint.textContent = t("taskScreen.qr.hint");
    close.textContent = t("taskScreen.close");
    url.textContent = state.view?.verify_url ?? "";
  }

  function open(): void {
    element.hidden = false;
    replaceChildren(box, h("p", { class: "hint", testid: "qr-loading", text: t("taskScreen.qr.loading") }));
    const load = backend.taskQr(taskId).then(
      (text) => {
        if (state.disposed) return;
        const svg = parseSvg(text);
        replaceChildren(box, svg ?? h("p", { class: "form-error", testid: "qr-error", text: t("taskScreen.qr.error", { message: "SVG" }) }));
      },
      (reason: unknown) => {
        if (state.disposed) return;
        const words = errorWords(i18n, t, BackendError.from(reason));
        replaceChildren(box, h("p", { class: "form-error", testid: "qr-error", text: t("taskScreen.qr.error", { message: words }) }));
      },
    );
    deps.track(load);
    render();
    close.focus();
  }

  return { element, open, render };
}

/** The QR code's SVG as an element, without scripts or event handlers; `null` when it is not SVG. */
function parseSvg(text: string): SVGSVGElement | null {
  try {
    const doc = new DOMParser().parseFromString(text, "image/svg+xml");
    const root = doc.documentElement;
    if (root === null || root.nodeName.toLowerCase() !== "svg" || doc.querySelector("parsererror") !== null) return null;
    for (const bad of root.querySelectorAll("script, foreignObject")) bad.remove();
    for (const node of [root, ...root.querySelectorAll("*")]) {
      for (const attr of [...node.attributes]) {
        if (attr.name.toLowerCase().startsWith("on") || /^\s*javascript:/i.test(attr.value)) node.removeAttribute(attr.name);
      }
    }
    const svg = document.importNode(root, true) as unknown as SVGSVGElement;
    svg.setAttribute("role", "img");
    return svg;
  } catch {
    return null;
  }
}
