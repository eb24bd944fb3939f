// Signatures: the record's signatures and refusals (拒签), and the pad on
// which the inspectors and the business's representative sign.

import type { Signature } from "../../bindings/Signature";
import type { SignerRole } from "../../bindings/SignerRole";
import type { TaskView } from "../../bindings/TaskView";
import { h, replaceChildren } from "../../dom";
import { buttonProps, type Panel, type TaskCtx } from "./ctx";
import { signaturePad } from "./signaturePad";

export const SIGNER_ROLES: readonly SignerRole[] = ["inspector", "enterprise"];

export function signaturesPanel(ctx: TaskCtx): Panel {
  const { t } = ctx;
  let view: TaskView | null = null;
  /** The name the screen filled in; replaced when the role changes, unless the inspector typed another. */
  let autoName = "";

  const title = h("h3", { class: "card-title" });
  const list = h("ul", { class: "signature-list", testid: "signatures" });
  const empty = h("p", { class: "empty-note", testid: "signatures-empty" });
  const formTitle = h("h4", { class: "form-title" });
  const roleLabel = h("span", { class: "field-label" });
  const nameLabel = h("span", { class: "field-label" });
  const role = h(
    "select",
    { class: "select", testid: "signer-role", on: { change: () => fillName() } },
    ...SIGNER_ROLES.map((r) => h("option", { attrs: { value: r } })),
  );
  const name = h("input", { class: "text-input", testid: "signer-name", attrs: { type: "text", autocomplete: "off", maxlength: "100" } });
  const pad = signaturePad(t("taskScreen.signatures.padLabel"));
  const padHint = h("p", { class: "hint pad-hint" });
  const clear = h("button", { ...buttonProps("signature-clear", "btn"), on: { click: () => pad.clear() } });
  const save = h("button", { ...buttonProps("signature-save", "btn btn-primary"), on: { click: () => void sign() } });
  const refuseTitle = h("h4", { class: "form-title" });
  const refuseLabel = h("span", { class: "field-label" });
  const reason = h("textarea", { class: "text-input", testid: "refuse-reason", attrs: { rows: "2", maxlength: "1000" } });
  const refuse = h("button", { ...buttonProps("signature-refuse", "btn btn-danger-outline"), on: { click: () => refuseToSign() } });
  const error = h("p", { class: "form-error", testid: "signature-form-error", attrs: { role: "alert" } });
  error.hidden = true;
  pad.onChange(() => {
    if (!pad.isEmpty()) error.hidden = true;
  });

  const element = h(
    "div",
    { class: "signatures-panel" },
    h("section", { class: "card" }, title, list, empty),
    h(
      "section",
      { class: "card record-form", testid: "signature-form" },
      formTitle,
      h(
        "div",
        { class: "form-row" },
        h("label", { class: "form-field" }, roleLabel, role),
        h("label", { class: "form-field grow" }, nameLabel, name),
      ),
      padHint,
      pad.element,
      h("div", { class: "form-actions" }, clear, save),
      refuseTitle,
      h("label", { class: "form-field wide" }, refuseLabel, reason),
      h("div", { class: "form-actions" }, refuse),
      error,
    ),
  );

  function defaultName(r: SignerRole): string {
    if (view === null) return "";
    return r === "inspector" ? (view.inspectors.find((i) => i.me)?.name ?? "") : view.legal_rep;
  }

  function fillName(): void {
    if (name.value.trim() !== autoName.trim() && name.value.trim() !== "") return;
    autoName = defaultName(role.value as SignerRole);
    name.value = autoName;
  }

  /** Who signs, as the record names them: an inspector by id, anyone else by name. */
  function signer(): string {
    const typed = name.value.trim();
    if (role.value === "inspector" && view !== null) {
      const inspector = view.inspectors.find((i) => i.name === typed || i.id === typed);
      if (inspector !== undefined) return inspector.id;
    }
    return typed;
  }

  function fail(text: string, focus?: HTMLElement): void {
    error.textContent = text;
    error.hidden = false;
    focus?.focus();
  }

  async function sign(): Promise<void> {
    const who = signer();
    if (who === "") return fail(t("taskScreen.signatures.nameRequired"), name);
    if (pad.isEmpty()) return fail(t("taskScreen.signatures.padEmpty"));
    error.hidden = true;
    const signerRole = role.value as SignerRole;
    const ok = await ctx.act("sign", async () => ctx.backend.sign(ctx.taskId, signerRole, who, await pad.toPng()));
    if (ok) pad.clear();
  }

  function refuseToSign(): void {
    const who = signer();
    const text = reason.value.trim();
    if (who === "") return fail(t("taskScreen.signatures.nameRequired"), name);
    if (text === "") return fail(t("taskScreen.signatures.reasonRequired"), reason);
    error.hidden = true;
    const signerRole = role.value as SignerRole;
    void ctx.act("refuse", () => ctx.backend.refuseToSign(ctx.taskId, signerRole, who, text)).then((ok) => {
      if (ok) reason.value = "";
    });
  }

  return {
    element,
    update(next) {
      view = next;
      title.textContent = t("taskScreen.signatures.title");
      formTitle.textContent = t("taskScreen.signatures.new");
      roleLabel.textContent = t("taskScreen.signatures.role");
      nameLabel.textContent = t("taskScreen.signatures.name");
      for (const option of role.options) option.textContent = t(`taskScreen.signerRole.${option.value as SignerRole}`);
      padHint.textContent = t("taskScreen.signatures.padHint");
      pad.canvas.setAttribute("aria-label", t("taskScreen.signatures.padLabel"));
      clear.textContent = t("taskScreen.signatures.clear");
      save.textContent = t("taskScreen.signatures.save");
      refuseTitle.textContent = t("taskScreen.signatures.refuseTitle");
      refuseLabel.textContent = t("taskScreen.signatures.refuseReason");
      reason.placeholder = t("taskScreen.signatures.refusePlaceholder");
      refuse.textContent = t("taskScreen.signatures.refuse");
      fillName();

      const editable = ctx.editable();
      const busy = ctx.busy("sign") || ctx.busy("refuse");
      for (const control of [role, name, reason, clear]) control.disabled = !editable;
      save.disabled = !editable || busy;
      refuse.disabled = !editable || busy;
      pad.setDisabled(!editable);

      replaceChildren(list, ...next.signatures.map((s) => signatureRow(ctx, s)));
      empty.hidden = next.signatures.length > 0;
      empty.textContent = t("taskScreen.signatures.empty");
    },
    shown() {
      pad.fit();
    },
    dispose() {
      pad.dispose();
    },
  };
}

function signatureRow(ctx: TaskCtx, s: Signature): HTMLElement {
  const { t } = ctx;
  const refused = s.refused_reason !== null;
  let image: HTMLElement | null = null;
  if (s.image !== null) {
    const img = h("img", { class: "signature-img", testid: "signature-image", attrs: { alt: t("taskScreen.signatures.imageAlt", { name: ctx.personName(s.signer) }) } });
    ctx.blobs.attach(img, s.image, "image/png");
    image = h("button", { ...buttonProps("signature-open", "signature-frame"), on: { click: () => ctx.openEvidence(s.image!) } }, img);
  }
  return h(
    "li",
    { class: `signature${refused ? " is-refused" : ""}`, testid: "signature", attrs: { "data-role": s.role, "data-refused": String(refused) } },
    h(
      "div",
      { class: "signature-head" },
      h("span", { class: "badge badge-role", text: t(`taskScreen.signerRole.${s.role}`) }),
      h("span", { class: "signature-name", testid: "signature-signer", text: ctx.personName(s.signer) }),
      h("span", { class: "record-meta", text: ctx.dateTime(s.at) }),
    ),
    refused ? h("p", { class: "refusal", testid: "signature-refusal", text: t("taskScreen.signatures.refused", { reason: s.refused_reason! }) }) : image,
  );
}
