// Enrollment: the first screen of a tablet that is not enrolled yet. The
// inspector scans the enrollment QR code (a picture taken with the camera, or
// chosen from the gallery) or types the code and the server address, names
// the device, and enrolls. The shell then shows the task list.

import { type Backend, BackendError, type EnrollTarget, type Identity } from "../backend/backend";
import { h, replaceChildren } from "../dom";
import { errorText, type I18n } from "../i18n";
import type { Screen } from "./screen";

export interface EnrollDeps {
  backend: Backend;
  i18n: I18n;
  /** Called once the tablet is enrolled. */
  onEnrolled: (identity: Identity) => void;
}

export interface EnrollScreen extends Screen {
  /** Resolves once the latest action (hint, scan, enrollment) has been shown. */
  settled(): Promise<void>;
}

export const SERVER_PLACEHOLDER = "http://192.168.1.10:7878";

/** The text an enrollment QR code holds, as the server writes it (core's `EnrollTarget::link`). */
export function enrollLink(server: string, code: string): string {
  return `fieldloop://enroll?${new URLSearchParams({ server, code }).toString()}`;
}

type Note = { kind: "error"; text: string; code: string } | { kind: "info"; text: string } | null;

export function enrollScreen(deps: EnrollDeps): EnrollScreen {
  const { backend, i18n } = deps;

  let busy: "enrolling" | "scanning" | null = null;
  let note: Note = null;
  let latest: Promise<void> = Promise.resolve();
  let disposed = false;
  let deviceDefault = i18n.t("enroll.device.default");

  const field = (id: string, label: HTMLElement, control: HTMLElement, hint?: HTMLElement) =>
    h("div", { class: "form-field", attrs: { "data-field": id } }, label, control, hint);

  const code = h("textarea", {
    class: "form-input enroll-code",
    testid: "enroll-code",
    attrs: { id: "enroll-code", rows: "3", autocomplete: "off", autocapitalize: "characters", spellcheck: "false" },
    on: { input: () => clearError() },
  });
  const codeLabel = h("label", { class: "form-label", attrs: { for: "enroll-code" } });

  const image = h("input", {
    class: "visually-hidden",
    testid: "enroll-image",
    attrs: { id: "enroll-image", type: "file", accept: "image/*", capture: "environment" },
    on: { change: () => onPictureChosen() },
  });
  const imageLabel = h("span", { class: "enroll-image-text" });
  const imageButton = h(
    "label",
    { class: "button button-secondary enroll-image", attrs: { for: "enroll-image" } },
    h("span", { class: "enroll-image-icon", attrs: { "aria-hidden": "true" } }),
    imageLabel,
  );

  const server = h("input", {
    class: "form-input",
    testid: "enroll-server",
    attrs: {
      id: "enroll-server",
      type: "url",
      inputmode: "url",
      autocomplete: "off",
      autocapitalize: "off",
      spellcheck: "false",
      placeholder: SERVER_PLACEHOLDER,
      "aria-describedby": "enroll-server-hint",
    },
    on: { input: () => clearError() },
  });
  const serverLabel = h("label", { class: "form-label", attrs: { for: "enroll-server" } });
  const serverHint = h("p", { class: "form-hint", attrs: { id: "enroll-server-hint" } });

  const device = h("input", {
    class: "form-input",
    testid: "enroll-device",
    attrs: { id: "enroll-device", type: "text", autocomplete: "off", maxlength: "80", "aria-describedby": "enroll-device-hint" },
  });
  device.value = deviceDefault;
  const deviceLabel = h("label", { class: "form-label", attrs: { for: "enroll-device" } });
  const deviceHint = h("p", { class: "form-hint", attrs: { id: "enroll-device-hint" } });

  const submit = h("button", { class: "button enroll-submit", testid: "enroll-submit", attrs: { type: "submit" } });
  const noteBox = h("div", { class: "enroll-note" });
  const fields = h(
    "fieldset",
    { class: "enroll-fields" },
    field("code", codeLabel, code),
    h("div", { class: "enroll-scan" }, image, imageButton),
    field("server", serverLabel, server, serverHint),
    field("device", deviceLabel, device, deviceHint),
  );
  const title = h("h2", { class: "enroll-title" });
  const intro = h("p", { class: "enroll-intro" });
  const form = h(
    "form",
    { class: "enroll-form", attrs: { novalidate: "" }, on: { submit: (event) => onSubmit(event) } },
    title,
    intro,
    fields,
    noteBox,
    submit,
  );
  const element = h("section", { class: "enroll", testid: "enroll-screen" }, form);

  function onSubmit(event: Event): void {
    event.preventDefault();
    if (busy !== null) return;
    const text = code.value.trim();
    if (text === "") {
      note = { kind: "error", text: i18n.t("enroll.error.empty"), code: "enroll.empty" };
      render();
      code.focus();
      return;
    }
    const address = server.value.trim();
    const name = device.value.trim() === "" ? deviceDefault : device.value.trim();
    busy = "enrolling";
    note = null;
    render();
    latest = backend.enroll(text, address === "" ? null : address, name).then(
      (identity) => {
        busy = null;
        if (disposed) return;
        render();
        deps.onEnrolled(identity);
      },
      (reason: unknown) => {
        busy = null;
        if (disposed) return;
        const error = BackendError.from(reason);
        note = { kind: "error", text: enrollErrorText(i18n, error), code: error.code };
        render();
      },
    );
  }

  function onPictureChosen(): void {
    const file = image.files?.[0];
    if (file === undefined || busy !== null) return;
    latest = scan(file);
  }

  async function scan(file: File): Promise<void> {
    busy = "scanning";
    note = { kind: "info", text: i18n.t("enroll.image.reading") };
    render();
    let target: EnrollTarget | null = null;
    try {
      target = await backend.scanEnrollImage(new Uint8Array(await file.arrayBuffer()));
    } catch (reason) {
      const error = BackendError.from(reason);
      note = { kind: "error", text: enrollErrorText(i18n, error), code: error.code };
    }
    busy = null;
    // Let the same picture be chosen again.
    image.value = "";
    if (disposed) return;
    if (target !== null) {
      const address = target.server ?? server.value.trim();
      if (target.server !== null) server.value = target.server;
      code.value = address === "" ? target.code : enrollLink(address, target.code);
      note = { kind: "info", text: i18n.t("enroll.image.read") };
    }
    render();
  }

  function clearError(): void {
    if (note?.kind !== "error") return;
    note = null;
    render();
  }

  function render(): void {
    title.textContent = i18n.t("enroll.title");
    intro.textContent = i18n.t("enroll.intro");
    codeLabel.textContent = i18n.t("enroll.code.label");
    code.placeholder = i18n.t("enroll.code.placeholder");
    imageLabel.textContent = i18n.t("enroll.image.button");
    serverLabel.textContent = i18n.t("enroll.server.label");
    serverHint.textContent = i18n.t("enroll.server.hint");
    deviceLabel.textContent = i18n.t("enroll.device.label");
    deviceHint.textContent = i18n.t("enroll.device.hint");
    // The default name follows the language until the inspector types one.
    const nextDefault = i18n.t("enroll.device.default");
    if (device.value === deviceDefault) device.value = nextDefault;
    deviceDefault = nextDefault;

    fields.disabled = busy !== null;
    submit.disabled = busy !== null;
    submit.textContent = i18n.t(busy === "enrolling" ? "enroll.submitting" : "enroll.submit");
    form.setAttribute("aria-busy", String(busy !== null));

    if (note === null) {
      replaceChildren(noteBox);
    } else if (note.kind === "error") {
      replaceChildren(
        noteBox,
        h("p", {
          class: "enroll-error",
          testid: "enroll-error",
          text: note.text,
          attrs: { role: "alert", "data-code": note.code },
        }),
      );
    } else {
      replaceChildren(
        noteBox,
        h("p", { class: "enroll-info", testid: "enroll-info", text: note.text, attrs: { role: "status" } }),
      );
    }
  }

  const unsubscribe = i18n.onChange(render);
  render();
  latest = backend.enrollHint().then(
    (hint) => {
      if (hint !== null && code.value === "" && !disposed) code.value = hint;
    },
    () => {
      // No hint: the inspector scans or types the code.
    },
  );

  return {
    element,
    settled: () => latest,
    dispose() {
      disposed = true;
      unsubscribe();
    },
  };
}

/** The UI's words for an enrollment failure: the screen's own for a few codes, else the app's sentence. */
export function enrollErrorText(i18n: I18n, error: BackendError): string {
  switch (error.code) {
    case "sync.network":
      return i18n.t("enroll.error.network");
    case "qr.not_found":
      return i18n.t("enroll.error.no_qr");
    case "app.server_missing":
      return i18n.t("enroll.error.server_missing");
    case "app.bad_server_address":
      return i18n.t("enroll.error.bad_server_address");
    default:
      return errorText(i18n, error.code);
  }
}
