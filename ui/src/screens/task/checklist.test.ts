// @vitest-environment happy-dom
import { afterEach, describe, expect, it } from "vitest";
import { nextTick } from "vue";
import { BackendError } from "../../backend/backend";
import { CONFLICT_PATH, PHOTO_LICENCE, sha, TASK_ID } from "./fixture";
import { allByTestId, byTestId, get, itemById, jpeg, ManualGeo, mount, pickFiles, type, unmount } from "./testkit";

afterEach(unmount);

describe("checklist", () => {
  it("groups the items by department with their progress", async () => {
    const { el } = await mount();
    get(el, "tab-checklist").click();
    const groups = allByTestId(el, "dept-group");
    expect(groups.map((g) => g.dataset.dept)).toEqual(["SCJG", "XFJY"]);
    expect(groups[0]!.textContent).toContain("青溪县市场监督管理局");
    expect(get(groups[0]!, "dept-progress").textContent).toBe("2/2");
    expect(get(groups[1]!, "dept-progress").textContent).toBe("0/2");
    expect(get(el, "checklist-summary").textContent).toBe("已检查 2 / 4 项");
    expect(get(el, "tab-checklist").textContent).toContain("2/4");

    const items = allByTestId(el, "item");
    expect(items.map((i) => [i.dataset.itemId, i.dataset.result])).toEqual([
      ["SCJG-SP-001", "pass"],
      ["SCJG-CY-001", "pass"],
      ["XFJY-TY-001", ""],
      ["XFJY-TY-002", ""],
    ]);
    const licence = itemById(el, "SCJG-SP-001");
    expect(get(licence, "item-title").textContent).toContain("食品经营许可证");
    expect(get(licence, "item-requires-evidence").hidden).toBe(false);
    expect(get(itemById(el, "XFJY-TY-002"), "item-requires-evidence").hidden).toBe(true);
    expect(get(licence, "outcome-pass").getAttribute("aria-pressed")).toBe("true");
    expect(get(licence, "outcome-fail").getAttribute("aria-pressed")).toBe("false");
    expect(get(licence, "outcome-pass").textContent).toBe("合格");
    expect(get(licence, "outcome-fail").textContent).toBe("不合格");
    expect(get(licence, "outcome-not_applicable").textContent).toBe("不涉及");
    expect(get<HTMLTextAreaElement>(licence, "item-note").value).toBe("许可证在有效期内，已在收银台上方公示");
  });

  it("answers an item and shows the stored result", async () => {
    const { el, screen, backend } = await mount();
    const item = itemById(el, "XFJY-TY-001");
    get(item, "outcome-fail").click();
    await screen.settled();
    expect(backend.callsTo("answer")).toEqual([[TASK_ID, "XFJY-TY-001", { result: "fail", value: null, note: null }]]);
    expect(itemById(el, "XFJY-TY-001")).toBe(item);
    expect(item.dataset.result).toBe("fail");
    expect(get(item, "outcome-fail").getAttribute("aria-pressed")).toBe("true");
    expect(get(item, "outcome-pass").getAttribute("aria-pressed")).toBe("false");
    expect(get(allByTestId(el, "dept-group")[1]!, "dept-progress").textContent).toBe("1/2");

    get(item, "outcome-fail").click();
    await screen.settled();
    expect(backend.callsTo("answer")).toHaveLength(1); // already the answer
  });

  it("saves the note when it changes", async () => {
    const { el, screen, backend } = await mount();
    const note = get<HTMLTextAreaElement>(itemById(el, "XFJY-TY-002"), "item-note");
    type(note, "二楼安全出口堆放纸箱");
    note.dispatchEvent(new Event("blur"));
    await screen.settled();
    expect(backend.callsTo("answer")).toEqual([[TASK_ID, "XFJY-TY-002", { result: null, value: null, note: "二楼安全出口堆放纸箱" }]]);
    expect(backend.view.groups[1]!.items[1]!.answer.note).toBe("二楼安全出口堆放纸箱");
    expect(note.value).toBe("二楼安全出口堆放纸箱");
  });

  it("saves a measured value on its own, leaving the note alone", async () => {
    const { el, screen, backend } = await mount();
    const value = get<HTMLInputElement>(itemById(el, "XFJY-TY-002"), "item-value");
    type(value, "0.8 MPa");
    value.dispatchEvent(new Event("blur"));
    await screen.settled();
    expect(backend.callsTo("answer")).toEqual([[TASK_ID, "XFJY-TY-002", { result: null, value: "0.8 MPa", note: null }]]);
    expect(backend.view.groups[1]!.items[1]!.answer.value).toBe("0.8 MPa");
    expect(value.value).toBe("0.8 MPa");
    expect(get<HTMLTextAreaElement>(itemById(el, "XFJY-TY-002"), "item-note").value).toBe(
      backend.view.groups[1]!.items[1]!.answer.note ?? "",
    );
  });

  it("keeps an unsaved note after a failed save and saves it on the next blur", async () => {
    const { el, screen, backend } = await mount();
    const note = get<HTMLTextAreaElement>(itemById(el, "XFJY-TY-002"), "item-note");
    backend.failNext("answer", new BackendError("store.sqlite", "disk I/O error"));
    type(note, "通道畅通");
    await screen.settled();
    expect(note.value).toBe("通道畅通");
    expect(get(el, "task-error").hidden).toBe(false);
    note.dispatchEvent(new Event("blur"));
    await screen.settled();
    expect(backend.callsTo("answer")).toHaveLength(2);
    expect(backend.view.groups[1]!.items[1]!.answer.note).toBe("通道畅通");
  });

  it("saves a note typed on while its previous save was running", async () => {
    const { el, screen, backend } = await mount();
    const note = get<HTMLTextAreaElement>(itemById(el, "XFJY-TY-002"), "item-note");
    const release = backend.hold();
    type(note, ""); // nothing to save
    type(note, "安全出口");
    note.dispatchEvent(new Event("blur"));
    type(note, "安全出口畅通，指示标志完好");
    note.dispatchEvent(new Event("blur"));
    release();
    await screen.settled();
    expect(backend.callsTo("answer").map((c) => (c[2] as { note: string }).note)).toEqual(["安全出口", "安全出口畅通，指示标志完好"]);
    expect(backend.view.groups[1]!.items[1]!.answer.note).toBe("安全出口畅通，指示标志完好");
    expect(note.value).toBe("安全出口畅通，指示标志完好");
  });

  it("shows the legal basis one tap away", async () => {
    const { el } = await mount();
    const item = itemById(el, "XFJY-TY-001");
    const basis = get(item, "legal-basis");
    const toggle = get(item, "legal-basis-toggle");
    expect(basis.hidden).toBe(true);
    expect(toggle.getAttribute("aria-expanded")).toBe("false");
    toggle.click();
    await nextTick();
    expect(basis.hidden).toBe(false);
    expect(basis.textContent).toBe("《中华人民共和国消防法》第十六条");
    expect(toggle.getAttribute("aria-expanded")).toBe("true");
    toggle.click();
    await nextTick();
    expect(basis.hidden).toBe(true);
  });

  it("has a camera input per item", async () => {
    const { el } = await mount();
    const input = get<HTMLInputElement>(itemById(el, "XFJY-TY-001"), "item-photo-input");
    expect(input.type).toBe("file");
    expect(input.accept).toBe("image/*");
    expect(input.getAttribute("capture")).toBe("environment");
    expect(input.closest("label")?.textContent).toContain("拍照/选图");
  });

  it("adds photos to an item, with a busy state, and shows their thumbnails", async () => {
    const geo = new ManualGeo();
    const { el, screen, backend } = await mount({ geo });
    geo.fix(25.6305, 115.3449, 4);
    const item = itemById(el, "XFJY-TY-001");
    const release = backend.hold();
    pickFiles(get<HTMLInputElement>(item, "item-photo-input"), [jpeg("a.jpg"), jpeg("b.jpg", [0xff, 0xd8, 9])]);
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(get(item, "photo-busy").hidden).toBe(false);
    expect(get(item, "photo-busy").textContent).toBe("正在处理第 1/2 张照片…");
    expect(get<HTMLInputElement>(item, "item-photo-input").disabled).toBe(true);
    release();
    await screen.settled();

    const calls = backend.callsTo("addPhoto");
    expect(calls).toHaveLength(2);
    expect(calls[0]!.slice(0, 2)).toEqual([TASK_ID, "XFJY-TY-001"]);
    expect([...(calls[0]![2] as Uint8Array)]).toEqual([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]);
    expect(calls[0]![3]).toEqual({ lat: 25.6305, lon: 115.3449 });
    expect(get(item, "photo-busy").hidden).toBe(true);
    const thumbs = allByTestId(item, "evidence-thumb");
    expect(thumbs).toHaveLength(2);
    for (const thumb of thumbs) expect(thumb.querySelector("img")?.getAttribute("src")).toMatch(/^blob:/);
  });

  it("says why a photo was refused", async () => {
    const { el, screen, backend } = await mount();
    backend.failNext("addPhoto", new BackendError("photo.unsupported", "this file is not a JPEG, PNG or WebP photo (it looks like HEIC)"));
    pickFiles(get<HTMLInputElement>(itemById(el, "XFJY-TY-001"), "item-photo-input"), [jpeg("x.heic")]);
    await screen.settled();
    expect(get(el, "task-error-message").textContent).toContain("不支持该图片格式");
    expect(get(el, "task-error-detail").textContent).toContain("HEIC");
  });

  it("loads each thumbnail once and opens the evidence viewer from it", async () => {
    const { el, screen, backend } = await mount();
    const thumb = get(itemById(el, "SCJG-SP-001"), "evidence-thumb");
    expect(thumb.dataset.sha).toBe(PHOTO_LICENCE);
    expect(backend.callsTo("blob").filter(([s]) => s === sha("a4"))).toHaveLength(1);
    thumb.click();
    await screen.settled();
    const viewer = get(el, "evidence-viewer");
    expect(viewer.hidden).toBe(false);
    expect(viewer.dataset.sha).toBe(PHOTO_LICENCE);
    expect(backend.callsTo("blob").some(([s]) => s === sha("a5"))).toBe(true);
  });

  it("marks a conflicted item and jumps to its conflict", async () => {
    const { el, screen } = await mount();
    get(el, "tab-checklist").click();
    const item = itemById(el, "SCJG-CY-001");
    const mark = get(item, "item-conflicted");
    expect(mark.hidden).toBe(false);
    expect(get(itemById(el, "SCJG-SP-001"), "item-conflicted").hidden).toBe(true);
    mark.click();
    await nextTick();
    expect(screen.tab).toBe("submit");
    const conflict = allByTestId(el, "conflict").find((c) => c.dataset.path === CONFLICT_PATH.join("/"));
    expect(conflict).toBeDefined();
    expect(document.activeElement?.closest('[data-testid="conflict"]')).toBe(conflict);
  });

  it("jumps to a conflict on a submit panel not yet made", async () => {
    const { el, screen } = await mount({ lazyPanels: true });
    get(el, "tab-checklist").click();
    await screen.settled();
    expect(get(el, "panel-submit").childElementCount).toBe(0);
    get(itemById(el, "SCJG-CY-001"), "item-conflicted").click();
    await nextTick();
    expect(screen.tab).toBe("submit");
    const conflict = allByTestId(el, "conflict").find((c) => c.dataset.path === CONFLICT_PATH.join("/"));
    expect(conflict).toBeDefined();
    expect(document.activeElement?.closest('[data-testid="conflict"]')).toBe(conflict);
  });

  it("shows items without evidence without thumbnails", async () => {
    const { el } = await mount();
    expect(byTestId(itemById(el, "XFJY-TY-001"), "evidence-thumb")).toBeNull();
  });
});
