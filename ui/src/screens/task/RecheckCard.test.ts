// @vitest-environment happy-dom
import { afterEach, describe, expect, it, vi } from "vitest";
import type { RecheckOf } from "../../bindings/RecheckOf";
import { I18n } from "../../i18n";
import { fixtureView, NOW } from "./fixture";
import { allByTestId, byTestId, get, mount, TaskBackend, unmount } from "./testkit";

afterEach(unmount);

const DAY = 86_400_000;
const hex = (seed: string) => seed.repeat(64).slice(0, 64);
const ORIGINAL = hex("e7");
const THUMB = hex("e8");
const NOT_FETCHED = hex("e9");

function recheckOf(photos = true): RecheckOf {
  return {
    rectification: "R-1",
    task_id: "t-original",
    task_code: "JX-2026-000003",
    finding: {
      id: "F-1",
      item_id: "SCJG-CY-001",
      description: "后厨灭火器已过期",
      severity: "major",
      rectification_order: "三日内更换灭火器",
      rectification_deadline: NOW - 2 * DAY,
      by: "I-001",
      at: NOW - 30 * DAY,
    },
    item_title: "消防器材完好有效",
    photos: photos
      ? [
          { sha256: ORIGINAL, thumb_sha256: THUMB, display_sha256: null, mime: "image/jpeg", caption: "整改前", taken_at: NOW - 30 * DAY },
          { sha256: NOT_FETCHED, thumb_sha256: null, display_sha256: null, mime: "image/jpeg", caption: null, taken_at: NOW - 30 * DAY },
        ]
      : [],
  };
}

async function open(recheck: RecheckOf | null, i18n?: I18n) {
  const backend = new TaskBackend({ ...fixtureView(), recheck_of: recheck });
  // The thumbnail was fetched by the sync; the other photo was not.
  backend.blobs.set(THUMB, new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 1]));
  const mounted = await mount({ backend, ...(i18n === undefined ? {} : { i18n }) });
  get(mounted.el, "tab-checklist").click();
  await mounted.screen.settled();
  await new Promise((resolve) => setTimeout(resolve, 0));
  return mounted;
}

describe("re-check card", () => {
  it("shows the original finding, its order and deadline, and its photos beside the checklist", async () => {
    const { el } = await open(recheckOf());
    const card = get(get(el, "panel-checklist"), "recheck-card");
    expect(card.closest(".checklist")?.classList.contains("is-recheck")).toBe(true);
    expect(get(card, "recheck-task").textContent).toContain("JX-2026-000003");
    expect(get(card, "recheck-description").textContent).toContain("后厨灭火器已过期");
    expect(get(card, "recheck-description").textContent).toContain("一般");
    expect(get(card, "recheck-order").textContent).toBe("三日内更换灭火器");
    expect(get(card, "recheck-deadline").textContent?.trim()).not.toBe("—");
    expect(card.textContent).toContain("消防器材完好有效");
    expect(get(card, "recheck-rule").textContent).toContain("合格");

    const photos = allByTestId(card, "recheck-photo");
    expect(photos.map((p) => p.dataset.sha)).toEqual([ORIGINAL, NOT_FETCHED]);
    const [fetched, missing] = photos.map((p) => p.querySelector("img")!);
    // The fetched thumbnail is shown; the photo not fetched yet is marked missing.
    expect(fetched!.getAttribute("src")).toMatch(/^blob:/);
    expect(fetched!.dataset["blob"]).toBe(THUMB);
    await vi.waitFor(() => expect(missing!.classList.contains("is-missing")).toBe(true));
    expect(photos[0]!.textContent).toContain("整改前");
    // The checklist is still there beside it.
    expect(allByTestId(el, "item").length).toBeGreaterThan(0);
  });

  it("says when the finding had no photos, and is absent on an ordinary task", async () => {
    const { el } = await open(recheckOf(false));
    expect(get(el, "recheck-no-photos").textContent).toBe("原问题没有附照片。");
    unmount();
    const plain = await open(null);
    expect(byTestId(plain.el, "recheck-card")).toBeNull();
    expect(plain.el.querySelector(".checklist")?.classList.contains("is-recheck")).toBe(false);
  });

  it("speaks English", async () => {
    const i18n = new I18n();
    i18n.setLang("en");
    const { el } = await open(recheckOf(), i18n);
    expect(get(el, "recheck-card").textContent).toContain("Re-check: the original finding");
    expect(get(el, "recheck-task").textContent).toContain("Original task JX-2026-000003");
  });
});
