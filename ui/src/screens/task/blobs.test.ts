// @vitest-environment happy-dom
import { describe, expect, it } from "vitest";
import { MemoryBackend } from "../../backend/memory";
import { BlobUrls } from "./blobs";

const SHA = "a".repeat(64);

/** The tablet app's way: a backend whose images the web view loads from a URL; `read` lists the blobs asked for as bytes. */
class SchemeBackend extends MemoryBackend {
  readonly read: string[] = [];

  override blobSrc(sha256: string): string {
    return `fieldloop-blob://localhost/${sha256}`;
  }

  override blob(sha256: string): Promise<Uint8Array> {
    this.read.push(sha256);
    return super.blob(sha256);
  }
}

describe("the task's images", () => {
  it("are loaded by the web view from the backend's URL, with no bytes through the page", () => {
    const backend = new SchemeBackend();
    const urls = new BlobUrls(backend, () => {});
    const img = document.createElement("img");
    urls.attach(img, SHA, "image/jpeg");
    expect(img.getAttribute("src")).toBe(`fieldloop-blob://localhost/${SHA}`);
    expect(img.dataset.blob).toBe(SHA);
    expect(backend.read).toEqual([]);
  });

  it("mark an image the web view could not load as missing, and ask for it again the next time it is shown", () => {
    const urls = new BlobUrls(new SchemeBackend(), () => {});
    const img = document.createElement("img");
    urls.attach(img, SHA);
    img.dispatchEvent(new Event("error"));
    expect(img.classList.contains("is-missing")).toBe(true);
    expect(img.getAttribute("src")).toBeNull();

    urls.attach(img, SHA);
    expect(img.classList.contains("is-missing")).toBe(false);
    expect(img.getAttribute("src")).toBe(`fieldloop-blob://localhost/${SHA}`);
  });

  it("do not mark the image of another blob missing when an earlier one fails late", () => {
    const urls = new BlobUrls(new SchemeBackend(), () => {});
    const img = document.createElement("img");
    urls.attach(img, SHA);
    const failed = img.onerror;
    urls.attach(img, "b".repeat(64));
    // The first load's failure arrives after the image was given the second blob.
    failed?.call(img, new Event("error"));
    expect(img.classList.contains("is-missing")).toBe(false);
    expect(img.getAttribute("src")).toBe(`fieldloop-blob://localhost/${"b".repeat(64)}`);
  });

  it("come as object URLs from the bytes where the backend has no URL", async () => {
    const backend = new MemoryBackend();
    backend.blobs.set(SHA, new Uint8Array([0xff, 0xd8, 0xff]));
    const urls = new BlobUrls(backend, () => {});
    const img = document.createElement("img");
    urls.attach(img, SHA, "image/jpeg");
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(img.getAttribute("src")).toMatch(/^blob:/);
  });
});
