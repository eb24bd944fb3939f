// @vitest-environment happy-dom
import { mount } from "@vue/test-utils";
import { describe, expect, it } from "vitest";
import { consoleProvides } from "../../console/context";
import { PHOTO, PHOTO_2, PHOTO_THUMB, recordView, testConsole } from "../../console/testing/fixtures";
import RecordChecklist from "./RecordChecklist.vue";
import EvidenceGrid from "./EvidenceGrid.vue";

function mountChecklist(record = recordView()) {
  const { context } = testConsole({});
  return {
    context,
    wrapper: mount(RecordChecklist, { props: { record }, global: { provide: consoleProvides(context) } }),
  };
}

describe("RecordChecklist", () => {
  it("shows one group per department, in order, with its items", () => {
    const { wrapper } = mountChecklist();
    const groups = wrapper.findAll('[data-testid="record-group"]');
    expect(groups.map((g) => g.attributes("data-department"))).toEqual(["SCJG", "XFJY"]);
    expect(groups[0]?.findAll('[data-testid="record-item"]').map((i) => i.attributes("data-item-id"))).toEqual([
      "SCJG-CY-001",
      "SCJG-CY-003",
    ]);
    expect(groups[1]?.findAll('[data-testid="record-item"]').map((i) => i.attributes("data-item-id"))).toEqual(["XFJY-01"]);
    expect(groups[0]?.text()).toContain("已填写 2 / 2");
    expect(groups[0]?.text()).toContain("牵头");
    expect(groups[1]?.text()).not.toContain("牵头");
  });

  it("shows each item's answer, measured value, note and legal basis", () => {
    const { wrapper } = mountChecklist();
    const item = (id: string) => wrapper.get(`[data-item-id="${id}"]`);

    expect(item("SCJG-CY-001").get('[data-testid="item-result"]').attributes("data-result")).toBe("pass");
    expect(item("SCJG-CY-001").get('[data-testid="item-result"]').text()).toBe("合格");
    expect(item("SCJG-CY-001").get('[data-testid="item-note"]').text()).toBe("许可证有效期至 2028 年");
    expect(item("SCJG-CY-001").text()).toContain("《食品安全法》第三十五条");

    expect(item("SCJG-CY-003").get('[data-testid="item-result"]').text()).toBe("不合格");
    expect(item("SCJG-CY-003").get('[data-testid="item-value"]').text()).toBe("9.5 ℃");
    expect(item("SCJG-CY-003").find('[data-testid="item-note"]').exists()).toBe(false);

    expect(item("XFJY-01").get('[data-testid="item-result"]').attributes("data-result")).toBe("none");
    expect(item("XFJY-01").text()).toContain("存在冲突");
  });

  it("shows the item's own evidence as lazy thumbnails from the blob address", () => {
    const { wrapper } = mountChecklist();
    const photos = wrapper.get('[data-item-id="SCJG-CY-001"]').findAll('[data-testid="item-photo"]');
    expect(photos).toHaveLength(1);
    expect(photos[0]?.attributes("data-sha256")).toBe(PHOTO);
    // The thumbnail the tablet made and uploaded, not the original.
    expect(photos[0]?.attributes("src")).toBe(`/api/v1/console/blobs/${PHOTO_THUMB}`);
    expect(photos[0]?.attributes("loading")).toBe("lazy");
    // The withdrawn photo is attached to no item and never appears in the checklist.
    expect(wrapper.find(`[data-sha256="${PHOTO_2}"]`).exists()).toBe(false);
  });

  it("speaks English when switched, department names from the directory", async () => {
    const { wrapper, context } = mountChecklist();
    await context.loadDirectory();
    context.i18n.setLang("en");
    await wrapper.vm.$nextTick();
    expect(wrapper.get('[data-item-id="SCJG-CY-001"] [data-testid="item-result"]').text()).toBe("Pass");
    expect(wrapper.get('[data-department="XFJY"] h3').text()).toContain("Fire and Rescue");
  });
});

describe("EvidenceGrid", () => {
  it("opens the full picture with its SHA-256 and a link to the original", async () => {
    const { context } = testConsole({});
    const record = recordView();
    const wrapper = mount(EvidenceGrid, {
      props: { evidence: record.evidence },
      global: { provide: consoleProvides(context) },
      attachTo: document.body,
    });
    expect(wrapper.findAll('[data-testid="record-photo"]').map((p) => p.attributes("data-sha256"))).toEqual([PHOTO, PHOTO_2]);
    expect(wrapper.text()).toContain("已撤回");

    await wrapper.get(`[data-sha256="${PHOTO}"]`).trigger("click");
    await wrapper.vm.$nextTick();
    const sha = document.body.querySelector('[data-testid="photo-sha256"]');
    expect(sha?.textContent).toBe(PHOTO);
    const link = document.body.querySelector<HTMLAnchorElement>('[data-testid="photo-download"]');
    expect(link?.getAttribute("href")).toBe(`/api/v1/console/blobs/${PHOTO}`);
    wrapper.unmount();
  });

  it("captions a photo with what was typed, and a signature with its signer's name", () => {
    const { context } = testConsole({});
    const record = recordView();
    const photo = record.evidence[0]!;
    const signature = { ...photo, sha256: "d".repeat(64), kind: "signature" as const, caption: "I-002", mime: "image/png" };
    const wrapper = mount(EvidenceGrid, {
      props: { evidence: [photo, signature], people: new Map([["I-002", "李娜"]]) },
      global: { provide: consoleProvides(context) },
    });
    expect(wrapper.findAll('[data-testid="evidence-caption"]').map((c) => c.text())).toEqual(["许可证", "李娜"]);
  });
});
