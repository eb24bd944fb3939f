// @vitest-environment happy-dom
import { flushPromises, mount } from "@vue/test-utils";
import { shallowRef } from "vue";
import { describe, expect, it } from "vitest";
import type { TaskView } from "../../bindings/TaskView";
import { PHOTO, PHOTO_THUMB, SIGNATURE, recordView } from "../../console/testing/fixtures";
import { MemoryBackend } from "../../backend/memory";
import { wordsOf } from "../../deps";
import { I18n } from "../../i18n";
import { RECORD_CONTEXT } from "../../shared/record/context";
import EvidenceGrid from "../../shared/record/EvidenceGrid.vue";
import RecordSignatures from "../../shared/record/RecordSignatures.vue";
import { BlobUrls } from "./blobs";
import type { TaskCtx } from "./ctx";
import { tabletRecordContext } from "./recordContext";

/** The tablet's record context over a MemoryBackend holding `blobs`; `asked` lists the blobs read through it. */
function tablet(blobs: Record<string, Uint8Array>) {
  const backend = new MemoryBackend();
  for (const [sha, bytes] of Object.entries(blobs)) backend.blobs.set(sha, bytes);
  const asked: string[] = [];
  const read = backend.blob.bind(backend);
  backend.blob = (sha) => {
    asked.push(sha);
    return read(sha);
  };
  const urls = new BlobUrls(backend, () => {});
  const i18n = new I18n();
  // Only what the record context reads of the task's context.
  const ctx = {
    blobs: urls,
    t: (key: string) => key,
    dateTime: (ms: number) => String(ms),
    deptName: (d: { name: string }) => d.name,
  } as unknown as TaskCtx;
  const context = tabletRecordContext(ctx, wordsOf(i18n).words, shallowRef<TaskView | null>(null));
  return { context, asked, urls };
}

describe("the tablet's record context", () => {
  it("has a blobImage: the shared components show blobs through BlobImage, read through the Backend", async () => {
    const { context, asked, urls } = tablet({ [SIGNATURE]: new Uint8Array([137, 80, 78, 71]) });
    expect(context.blobImage).toBeDefined();
    expect(() => context.blobUrl(SIGNATURE)).toThrow();
    const wrapper = mount(RecordSignatures, { props: { record: recordView() }, global: { provide: { [RECORD_CONTEXT]: context } } });
    await flushPromises();
    const image = wrapper.get('[data-testid="signature-image"]');
    expect(image.element.tagName).toBe("IMG");
    expect(image.attributes("data-sha256")).toBe(SIGNATURE);
    expect(image.attributes("alt")).toBe("I-001");
    // BlobImage's object URL, never an address.
    expect(image.attributes("src")).toMatch(/^blob:/);
    expect((image.element as HTMLImageElement).dataset.blob).toBe(SIGNATURE);
    expect(asked).toEqual([SIGNATURE]);
    urls.dispose();
  });

  it("shows evidence thumbnails from the tablet's thumbnail blob, and marks a blob it does not have as missing", async () => {
    const { context, asked, urls } = tablet({ [PHOTO_THUMB]: new Uint8Array([255, 216, 255]) });
    const record = recordView();
    const wrapper = mount(EvidenceGrid, { props: { evidence: record.evidence }, global: { provide: { [RECORD_CONTEXT]: context } } });
    await flushPromises();
    const photos = wrapper.findAll('[data-testid="record-photo"]');
    expect(photos.map((p) => p.attributes("data-sha256"))).toEqual([PHOTO, record.evidence[1]!.sha256]);
    expect(photos[0]!.attributes("src")).toMatch(/^blob:/);
    expect(photos[0]!.attributes("data-blob")).toBe(PHOTO_THUMB);
    // The second photo has no thumbnail and its original is not on this tablet.
    expect(photos[1]!.attributes("src")).toBeUndefined();
    expect(photos[1]!.classes()).toContain("is-missing");
    expect(asked).toEqual([PHOTO_THUMB, record.evidence[1]!.sha256]);
    urls.dispose();
  });
});
