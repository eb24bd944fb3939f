// @vitest-environment happy-dom
import { describe, expect, it } from "vitest";
import { startApp } from "./app";
import { MemoryBackend } from "./backend/memory";
import { I18n, LANG_STORAGE_KEY } from "./i18n";
import { sampleRows } from "./testing/rows";

describe("app shell", () => {
  it("starts in Chinese and switches to English, remembering the choice", () => {
    window.localStorage.clear();
    const root = document.createElement("div");
    const i18n = new I18n(window.localStorage);
    startApp(root, { backend: new MemoryBackend(sampleRows()), i18n });

    const langSwitch = root.querySelector<HTMLButtonElement>('[data-testid="lang-switch"]')!;
    const title = root.querySelector('[data-testid="app-title"]')!;
    expect(document.documentElement.lang).toBe("zh-CN");
    expect(title.textContent).toBe("综合监管 · 现场检查");
    expect(langSwitch.textContent).toBe("English");

    langSwitch.click();
    expect(document.documentElement.lang).toBe("en-GB");
    expect(title.textContent).toBe("Joint Inspection · Field");
    expect(langSwitch.textContent).toBe("中文");
    expect(window.localStorage.getItem(LANG_STORAGE_KEY)).toBe("en");
    expect(new I18n(window.localStorage).lang).toBe("en");
  });

  it("mounts the task list", () => {
    const root = document.createElement("div");
    const app = startApp(root, { backend: new MemoryBackend(), i18n: new I18n() });
    expect(root.querySelector('[data-testid="task-list-screen"]')).toBe(app.screen.element);
  });
});
