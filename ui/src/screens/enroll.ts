// What the enrollment screen (EnrollScreen.vue) says and builds, apart from
// its component: the server placeholder, the link a QR code holds, and the
// words for enrollment failures.

import type { BackendError } from "../backend/backend";
import { errorText, type I18n } from "../i18n";

export const SERVER_PLACEHOLDER = "http://192.168.1.10:7878";

/**
 * The text an enrollment QR code holds, as the server writes it (core's
 * `EnrollTarget::pinned_link`): the server, the code, and the server key
 * pins the tablet will trust.
 */
export function enrollLink(server: string, code: string, pins: readonly string[] = []): string {
  const query = new URLSearchParams({ server, code });
  for (const pin of pins) query.append("pin", pin);
  return `fieldloop://enroll?${query.toString()}`;
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
