import { describe, expect, it } from "vitest";
import { BackendError } from "../../backend/backend";
import { errorText, I18n } from "../../i18n";
import { errorWords, translator } from "./texts";

describe("errorWords", () => {
  it("uses the task screen's own words for the codes it has them for", () => {
    const i18n = new I18n();
    const t = translator(i18n);
    expect(errorWords(i18n, t, new BackendError("task.submit_blocked", "不能提交"))).toBe(
      "还有未完成的事项，暂不能提交。请查看“提交”页的清单。",
    );
    i18n.setLang("en");
    expect(errorWords(i18n, t, new BackendError("task.unknown_item", "no item X"))).toBe(
      "This checklist item was not found. Go back to the task list and open the task again.",
    );
  });

  it("falls back to the app's sentence for the code, never to the Rust message", () => {
    const i18n = new I18n();
    const t = translator(i18n);
    const error = new BackendError("policy.too_long", "text longer than 65536 bytes");
    expect(errorWords(i18n, t, error)).toBe(errorText(i18n, "policy.too_long"));
    expect(errorWords(i18n, t, BackendError.from({ code: "task.teleported", message: "gone" }))).toBe(
      "服务器返回了本应用无法识别的错误，请更新应用后重试。",
    );
  });
});
