// @vitest-environment happy-dom
import { mount as mountComponent } from "@vue/test-utils";
import { describe, expect, it } from "vitest";
import { BackendError } from "../backend/backend";
import { MemoryBackend } from "../backend/memory";
import { I18n } from "../i18n";
import { withDeps } from "../testing/mount";
import { NOW, TZ } from "../testing/rows";
import { syncView } from "../testing/views";
import WipeScreen from "./WipeScreen.vue";

const byTestId = (root: ParentNode, id: string) => root.querySelector<HTMLElement>(`[data-testid="${id}"]`);
const allByTestId = (root: ParentNode, id: string) => [...root.querySelectorAll<HTMLElement>(`[data-testid="${id}"]`)];

function mount(backend: MemoryBackend, lang: "zh" | "en" = "zh") {
  const i18n = new I18n();
  i18n.setLang(lang);
  let done = 0;
  const mounted = mountComponent(WipeScreen, {
    attrs: { onDone: () => (done += 1) },
    ...withDeps({ backend, i18n, now: () => NOW, timeZone: TZ }),
  });
  return { mounted, el: mounted.element as HTMLElement, done: () => done };
}

describe("WipeScreen", () => {
  it("names the unsynced work, erases the tablet without waiting for a tap, then offers to enroll again", async () => {
    const backend = new MemoryBackend();
    backend.sync = syncView({ phase: "attention", code: "auth.revoked", message: "revoked" });
    backend.unsynced = { tasks: [{ code: "JC-2026-0007", subject_name: "青溪镇老街饭店" }], uploads: 3 };
    const { mounted, el, done } = mount(backend);
    await mounted.vm.settled();

    expect(backend.wiped).toBe(true);
    // Read before the wipe, so that the list is the tablet's last word.
    const order = backend.calls.map((c) => c.method).filter((m) => m === "unsyncedWork" || m === "wipeIfRevoked");
    expect(order[0]).toBe("unsyncedWork");
    expect(order).toContain("wipeIfRevoked");
    expect(el.getAttribute("data-phase")).toBe("done");
    expect(allByTestId(el, "wipe-lost-task").map((li) => li.textContent?.replace(/\s+/g, " ").trim())).toEqual([
      "JC-2026-0007 青溪镇老街饭店",
    ]);
    expect(byTestId(el, "wipe-uploads")?.textContent?.trim()).toBe("另有 3 个证据文件未上传。");
    byTestId(el, "wipe-enroll")?.click();
    expect(done()).toBe(1);
    mounted.unmount();
  });

  it("says when nothing was lost, in English too", async () => {
    const backend = new MemoryBackend();
    backend.sync = syncView({ phase: "attention", code: "auth.revoked", message: "revoked" });
    const { mounted, el } = mount(backend, "en");
    await mounted.vm.settled();
    expect(byTestId(el, "wipe-nothing-lost")?.textContent?.trim()).toBe("All work had reached the server: nothing was lost.");
    expect(byTestId(el, "wipe-phase")?.textContent?.trim()).toBe(
      "The tasks, evidence and enrollment on this tablet have been erased.",
    );
    mounted.unmount();
  });

  it("says a failed erase as a sentence and offers no way on", async () => {
    const backend = new MemoryBackend();
    backend.sync = syncView({ phase: "attention", code: "auth.revoked", message: "revoked" });
    backend.failNext("wipeIfRevoked", new BackendError("app.wipe_failed", "disk"));
    const { mounted, el } = mount(backend);
    await mounted.vm.settled();
    expect(el.getAttribute("data-phase")).toBe("failed");
    expect(byTestId(el, "wipe-phase")?.textContent).toContain("未能全部清除");
    expect(byTestId(el, "wipe-enroll")).toBeNull();
    mounted.unmount();
  });
});
