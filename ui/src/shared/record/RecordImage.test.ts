// @vitest-environment happy-dom
import { mount } from "@vue/test-utils";
import { defineComponent, h } from "vue";
import { describe, expect, it } from "vitest";
import { consoleProvides, recordContextOf } from "../../console/context";
import { PHOTO, PHOTO_THUMB, SIGNATURE, recordView, testConsole } from "../../console/testing/fixtures";
import { RECORD_CONTEXT, type RecordContext } from "./context";
import EvidenceGrid from "./EvidenceGrid.vue";
import RecordSignatures from "./RecordSignatures.vue";

/** A blob component as an app without addresses would give it: it records what it was asked to show. */
const Shown = defineComponent({
  props: { sha: { type: String, required: true }, mime: { type: String, required: true } },
  setup: (props) => () => h("img", { class: "app-blob", "data-blob": props.sha, "data-mime": props.mime }),
});

/** The console's record context with the app's blob component, and no blob addresses at all. */
function withBlobImage(): RecordContext {
  const { context } = testConsole({});
  return {
    ...recordContextOf(context),
    blobUrl(sha256) {
      throw new Error(`no address for ${sha256}`);
    },
    blobImage: Shown,
  };
}

describe("blob images in the record components", () => {
  it("are <img>s with the blob's address by default (the console)", () => {
    const { context } = testConsole({});
    const wrapper = mount(RecordSignatures, { props: { record: recordView() }, global: { provide: consoleProvides(context) } });
    const image = wrapper.get('[data-testid="signature-image"]');
    expect(image.element.tagName).toBe("IMG");
    expect(image.attributes("src")).toBe(`/api/v1/console/blobs/${SIGNATURE}`);
    expect(image.attributes("data-sha256")).toBe(SIGNATURE);
    expect(image.attributes("loading")).toBe("lazy");
    expect(wrapper.find(".app-blob").exists()).toBe(false);
  });

  it("go through the context's blobImage when it has one, attributes on its <img>", () => {
    const wrapper = mount(RecordSignatures, { props: { record: recordView() }, global: { provide: { [RECORD_CONTEXT]: withBlobImage() } } });
    const image = wrapper.get('[data-testid="signature-image"]');
    expect(image.classes()).toContain("app-blob");
    expect(image.attributes("data-blob")).toBe(SIGNATURE);
    expect(image.attributes("data-mime")).toBe("image/png");
    expect(image.attributes("data-sha256")).toBe(SIGNATURE);
    expect(image.attributes("alt")).toBe("I-001");
    expect(image.attributes("src")).toBeUndefined();
    expect(wrapper.findAll('[data-testid="record-signature"]')).toHaveLength(2);
  });

  it("show evidence thumbnails and the full picture through blobImage, without a download link", async () => {
    const record = recordView();
    const wrapper = mount(EvidenceGrid, {
      props: { evidence: record.evidence },
      global: { provide: { [RECORD_CONTEXT]: withBlobImage() } },
      attachTo: document.body,
    });
    const thumb = wrapper.get(`[data-testid="record-photo"][data-sha256="${PHOTO}"]`);
    expect(thumb.classes()).toContain("app-blob");
    // The tablet's thumbnail (a JPEG of its own), not the original.
    expect(thumb.attributes("data-blob")).toBe(PHOTO_THUMB);
    expect(thumb.attributes("data-mime")).toBe("image/jpeg");
    await wrapper.get(".evidence-open").trigger("click");
    await wrapper.vm.$nextTick();
    const full = document.body.querySelector<HTMLElement>(".evidence-full");
    expect(full?.classList.contains("app-blob")).toBe(true);
    expect(full?.dataset.blob).toBe(PHOTO);
    expect(document.body.querySelector('[data-testid="photo-sha256"]')?.textContent).toBe(PHOTO);
    expect(document.body.querySelector('[data-testid="photo-download"]')).toBeNull();
    wrapper.unmount();
  });
});
