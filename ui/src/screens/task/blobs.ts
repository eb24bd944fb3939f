// Images of the task (thumbnails, display copies, signatures): loaded by the
// web view from the app's blob scheme where the backend has one; else as
// object URLs, each blob asked for once, kept while the screen is open and
// revoked when it closes.

import type { Backend } from "../../backend/backend";
import type { Evidence } from "../../bindings/Evidence";

/** The image that stands for a piece of evidence in a list: its thumbnail, or a signature itself; null when it has none. */
function thumbOf(e: Evidence): { sha: string; mime: string } | null {
  if (e.thumb_sha256 !== null) return { sha: e.thumb_sha256, mime: "image/jpeg" };
  return e.kind === "signature" ? { sha: e.sha256, mime: e.mime } : null;
}

export class BlobUrls {
  readonly #backend: Backend;
  readonly #track: (work: Promise<unknown>) => void;
  readonly #loading = new Map<string, Promise<string | null>>();
  readonly #ready = new Map<string, string>();
  #disposed = false;

  constructor(backend: Backend, track: (work: Promise<unknown>) => void) {
    this.#backend = backend;
    this.#track = track;
  }

  /** Shows blob `sha` in `img` once it is loaded; marks the image missing if it cannot be. */
  attach(img: HTMLImageElement, sha: string, mime = ""): void {
    if (img.dataset.blob === sha && img.getAttribute("src") !== null) return;
    img.dataset.blob = sha;
    img.classList.remove("is-missing");
    const src = this.#backend.blobSrc(sha);
    if (src !== null) {
      // The web view loads it itself. One it cannot load is marked missing
      // and asked for again the next time it is shown.
      img.onerror = () => {
        if (img.dataset.blob !== sha) return;
        img.classList.add("is-missing");
        img.removeAttribute("src");
      };
      img.src = src;
      return;
    }
    img.onerror = null;
    const ready = this.#ready.get(sha);
    if (ready !== undefined) {
      img.src = ready;
      return;
    }
    img.removeAttribute("src");
    void this.#load(sha, mime).then((url) => {
      if (img.dataset.blob !== sha) return;
      if (url === null) img.classList.add("is-missing");
      else img.src = url;
    });
  }

  /** Shows `e`'s thumbnail (see `thumbOf`) in `img`, or clears it when there is none. */
  attachThumb(img: HTMLImageElement, e: Evidence): void {
    const thumb = thumbOf(e);
    if (thumb === null) this.detach(img);
    else this.attach(img, thumb.sha, thumb.mime);
  }

  /** Clears `img` (no image to show). */
  detach(img: HTMLImageElement): void {
    img.onerror = null;
    delete img.dataset.blob;
    img.removeAttribute("src");
  }

  #load(sha: string, mime: string): Promise<string | null> {
    let loading = this.#loading.get(sha);
    if (loading === undefined) {
      loading = this.#backend.blob(sha).then(
        (bytes) => {
          if (this.#disposed) return null;
          const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], mime === "" ? {} : { type: mime }));
          this.#ready.set(sha, url);
          return url;
        },
        () => {
          // Not on this tablet (yet): ask again the next time it is shown.
          this.#loading.delete(sha);
          return null;
        },
      );
      this.#loading.set(sha, loading);
      this.#track(loading);
    }
    return loading;
  }

  dispose(): void {
    this.#disposed = true;
    for (const url of this.#ready.values()) URL.revokeObjectURL(url);
    this.#ready.clear();
    this.#loading.clear();
  }
}
