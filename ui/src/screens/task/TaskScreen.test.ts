// @vitest-environment happy-dom
import { afterEach, describe, expect, it } from "vitest";
import { nextTick } from "vue";
import { BackendError } from "../../backend/backend";
import { I18n } from "../../i18n";
import { syncView } from "../../testing/views";
import { fixtureView, NOW, PHOTO_LICENCE, TASK_ID } from "./fixture";
import { allByTestId, byTestId, get, itemById, mount, TaskBackend, typeOnly, unmount } from "./testkit";

afterEach(unmount);

describe("task screen", () => {
  it("shows the task's header and opens on the overview", async () => {
    const { el, backend } = await mount();
    expect(backend.callsTo("taskView")).toEqual([[TASK_ID]]);
    expect(el.dataset.testid).toBe("task-screen");
    expect(el.dataset.taskId).toBe(TASK_ID);
    expect(el.dataset.status).toBe("in_progress");
    expect(get(el, "task-code").textContent).toBe("JX-2026-000007");
    expect(get(el, "task-subject").textContent).toBe("青溪县同心土菜馆");
    expect(get(el, "task-status").textContent).toBe("检查中");
    expect(get(el, "show-qr").textContent).toBe("亮码");
    expect(get(el, "return-comment").hidden).toBe(true);
    expect(get(el, "task-readonly").hidden).toBe(true);
    expect(get(el, "task-error").hidden).toBe(true);

    expect(get(el, "tab-overview").getAttribute("aria-selected")).toBe("true");
    expect(get(el, "panel-overview").hidden).toBe(false);
    for (const tab of ["checklist", "evidence", "findings", "signatures", "submit", "timeline"]) {
      expect(get(el, `tab-${tab}`).getAttribute("aria-selected")).toBe("false");
      expect(get(el, `panel-${tab}`).hidden).toBe(true);
    }
  });

  it("shows a loading state, then an error it can retry", async () => {
    const backend = new TaskBackend();
    backend.failNext("taskView", new BackendError("store.not_found", "没有任务 t-2026-000007"));
    const { el, screen } = await mount({ backend });
    expect(get(el, "task-load-error").textContent).toContain("本机没有该任务，请先同步。");
    expect(el.dataset.status).toBe("");
    get(el, "task-retry").click();
    await screen.settled();
    expect(byTestId(el, "task-load-error")).toBeNull();
    expect(el.dataset.status).toBe("in_progress");
  });

  it("goes back", async () => {
    const { el, backs } = await mount();
    get(el, "task-back").click();
    expect(backs).toEqual([1]);
  });

  it("switches tabs and keeps the choice across updates", async () => {
    const { el, screen } = await mount();
    get(el, "tab-checklist").click();
    await nextTick();
    expect(screen.tab).toBe("checklist");
    expect(get(el, "panel-checklist").hidden).toBe(false);
    expect(get(el, "panel-overview").hidden).toBe(true);
    expect(get(el, "tab-checklist").getAttribute("aria-selected")).toBe("true");

    get(itemById(el, "XFJY-TY-002"), "outcome-pass").click();
    await screen.settled();
    expect(screen.tab).toBe("checklist");
    expect(get(el, "panel-checklist").hidden).toBe(false);
  });

  it("renders the overview: business, window, departments, inspectors, trace", async () => {
    const { el } = await mount();
    const card = get(el, "subject-card");
    expect(card.textContent).toContain("青溪县同心土菜馆");
    expect(get(card, "subject-uscc").textContent).toBe("92360736MA36XJ6832");
    expect(get(card, "subject-address").textContent).toContain("滨江华府");
    expect(get(card, "subject-industry").textContent).toBe("餐饮服务");
    expect(get(card, "subject-risk").textContent).toBe("B 类（一般风险）");
    expect(get(card, "subject-legal-rep").textContent).toBe("郭志明");
    expect(get(el, "window-range").textContent).toBe("2026年11月27日 至 2026年12月4日");
    expect(get(el, "task-window").dataset.overdue).toBe("false");
    expect(get(el, "task-departments").textContent).toBe("青溪县市场监督管理局（牵头）青溪县消防救援大队");

    const inspectors = allByTestId(el, "inspector");
    expect(inspectors.map((i) => [i.dataset.person, i.dataset.checkedIn])).toEqual([
      ["I-001", "false"],
      ["I-005", "true"],
    ]);
    expect(get(inspectors[1]!, "inspector-check").textContent).toBe("2026年11月29日 09:20 已现场签到");
    expect(byTestId(inspectors[0]!, "check-in")).not.toBeNull();
    expect(byTestId(inspectors[1]!, "check-in")).toBeNull();

    const plot = get(el, "trace-plot");
    expect(plot.querySelector("polyline")?.getAttribute("points")?.split(" ")).toHaveLength(3);
    expect(byTestId(plot, "trace-subject")).not.toBeNull();
    expect(get(el, "trace-count").textContent).toBe("轨迹点 3 个");
  });

  it("highlights an overdue window", async () => {
    const view = fixtureView();
    view.window.due = NOW - 60_000;
    const { el } = await mount({ backend: new TaskBackend(view) });
    expect(get(el, "task-window").dataset.overdue).toBe("true");
    expect(get(el, "window-overdue").textContent).toBe("已逾期");
  });

  it("shows the supervisor's comment on a returned task", async () => {
    const view = fixtureView();
    view.status = "returned";
    view.return_comment = "缺少灭火器检查照片，请补充后重新提交。";
    const { el } = await mount({ backend: new TaskBackend(view) });
    const banner = get(el, "return-comment");
    expect(banner.hidden).toBe(false);
    expect(banner.textContent).toContain("缺少灭火器检查照片");
    expect(el.dataset.status).toBe("returned");
    expect(get(el, "task-status").textContent).toBe("已退回");
  });

  it("is read-only when the record may not change, with recording controls disabled", async () => {
    const view = fixtureView();
    view.status = "submitted";
    view.editable = false;
    const { el } = await mount({ backend: new TaskBackend(view) });
    expect(get(el, "task-readonly").hidden).toBe(false);
    expect(get(el, "task-readonly").textContent).toContain("已提交审核");
    expect(byTestId(el, "check-in")).toBeNull();
    const item = itemById(el, "XFJY-TY-001");
    for (const id of ["outcome-pass", "outcome-fail", "outcome-not_applicable", "item-note", "item-photo-input"]) {
      expect((get(item, id) as HTMLButtonElement).disabled, id).toBe(true);
    }
    expect(get<HTMLInputElement>(el, "task-photo-input").disabled).toBe(true);
    expect(get<HTMLButtonElement>(el, "finding-add").disabled).toBe(true);
    expect(get<HTMLButtonElement>(el, "transfer-add").disabled).toBe(true);
    expect(get<HTMLButtonElement>(el, "signature-save").disabled).toBe(true);
    expect(get<HTMLButtonElement>(el, "signature-refuse").disabled).toBe(true);
    expect(get<HTMLButtonElement>(el, "submit").disabled).toBe(true);
    for (const pick of allByTestId(el, "conflict-pick")) expect((pick as HTMLButtonElement).disabled).toBe(true);
  });

  it("opens the verification QR code", async () => {
    const { el, screen, backend } = await mount();
    const dialog = get(el, "qr-dialog");
    expect(dialog.hidden).toBe(true);
    get(el, "show-qr").click();
    await screen.settled();
    expect(dialog.hidden).toBe(false);
    expect(backend.callsTo("taskQr")).toEqual([[TASK_ID]]);
    const svg = get(dialog, "verify-qr").querySelector("svg");
    expect(svg).not.toBeNull();
    expect(svg?.querySelector("script")).toBeNull();
    expect(svg?.getAttribute("onload")).toBeNull();
    expect(get(dialog, "verify-url").textContent).toBe("https://verify.fieldloop.cn/v/Q7K2M9XPD4");
    get(dialog, "qr-close").click();
    await nextTick();
    expect(dialog.hidden).toBe(true);
  });

  it("shows a failed action in the error banner, in the UI's words with the message as details, and clears it after a success", async () => {
    const { el, screen, backend } = await mount();
    get(el, "tab-checklist").click();
    backend.failNext("answer", new BackendError("task.frozen", "task t-2026-000007 is submitted; its record is frozen"));
    get(itemById(el, "XFJY-TY-001"), "outcome-fail").click();
    await screen.settled();
    const banner = get(el, "task-error");
    expect(banner.hidden).toBe(false);
    expect(banner.getAttribute("role")).toBe("alert");
    expect(get(banner, "task-error-message").textContent).toBe("任务已提交或已办结，记录已锁定，不能再修改。");
    expect(get(banner, "task-error-detail").textContent).toContain("frozen");
    expect(itemById(el, "XFJY-TY-001").dataset.result).toBe("");

    backend.failNext("answer", new BackendError("store.sqlite", "database is locked"));
    get(itemById(el, "XFJY-TY-001"), "outcome-fail").click();
    await screen.settled();
    expect(get(banner, "task-error-message").textContent).toBe("本机数据库出错，请重启应用；如仍出错请联系管理员。");
    expect(get(banner, "task-error-detail").textContent).toBe("详细信息：database is locked（store.sqlite）");
    expect(get(banner, "task-error-detail").hidden).toBe(false);

    get(itemById(el, "XFJY-TY-001"), "outcome-fail").click();
    await screen.settled();
    expect(banner.hidden).toBe(true);
    expect(itemById(el, "XFJY-TY-001").dataset.result).toBe("fail");
  });

  it("disables an action's button while it runs", async () => {
    const { el, screen, backend } = await mount();
    const release = backend.hold();
    const fail = get<HTMLButtonElement>(itemById(el, "XFJY-TY-001"), "outcome-fail");
    fail.click();
    await nextTick();
    expect(fail.disabled).toBe(true);
    expect(get<HTMLButtonElement>(itemById(el, "XFJY-TY-002"), "outcome-fail").disabled).toBe(false);
    release();
    await screen.settled();
    expect(fail.disabled).toBe(false);
    expect(fail.getAttribute("aria-pressed")).toBe("true");
  });

  it("keeps what is being typed in another field when a new view arrives", async () => {
    const { el, screen } = await mount();
    get(el, "tab-checklist").click();
    const note = get<HTMLTextAreaElement>(itemById(el, "XFJY-TY-002"), "item-note");
    note.focus();
    typeOnly(note, "安全出口被杂物");
    const findingText = get<HTMLTextAreaElement>(el, "finding-description");
    findingText.value = "草稿";

    get(itemById(el, "XFJY-TY-001"), "outcome-pass").click();
    await screen.settled();
    expect(itemById(el, "XFJY-TY-001").dataset.result).toBe("pass");
    expect(get<HTMLTextAreaElement>(itemById(el, "XFJY-TY-002"), "item-note")).toBe(note);
    expect(note.value).toBe("安全出口被杂物");
    expect(findingText.value).toBe("草稿");
  });

  it("shows what a sync merged into the record", async () => {
    const backend = new TaskBackend();
    backend.sync = syncView({ phase: "synced", last_synced_at: NOW - 60_000 });
    const { el, screen } = await mount({ backend, syncPollMs: 10 });
    get(el, "tab-checklist").click();
    const note = get<HTMLTextAreaElement>(itemById(el, "XFJY-TY-002"), "item-note");
    note.focus();
    typeOnly(note, "正在输入");

    // Another tablet's work arrives: the supervisor returned the task.
    backend.view.status = "returned";
    backend.view.return_comment = "请补充灭火器照片";
    await new Promise((resolve) => setTimeout(resolve, 40));
    await screen.settled();
    expect(el.dataset.status).toBe("in_progress"); // no sync yet, nothing reloaded

    backend.sync = syncView({ phase: "synced", last_synced_at: NOW });
    for (let i = 0; i < 20 && el.dataset.status !== "returned"; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      await screen.settled();
    }
    expect(el.dataset.status).toBe("returned");
    expect(get(el, "return-comment").textContent).toContain("请补充灭火器照片");
    expect(screen.tab).toBe("checklist");
    expect(note.value).toBe("正在输入");
  });

  it("speaks English after a switch", async () => {
    const i18n = new I18n();
    const { el } = await mount({ i18n });
    i18n.setLang("en");
    await nextTick();
    expect(get(el, "tab-checklist").textContent).toContain("Checklist");
    expect(get(el, "task-status").textContent).toBe("In progress");
    expect(get(el, "subject-industry").textContent).toBe("Catering");
    expect(get(el, "task-departments").textContent).toContain("Market Regulation (lead)");
    expect(get(el, "show-qr").textContent).toBe("Show code");
  });

  it("lets go of object URLs when disposed", async () => {
    const { el, screen } = await mount();
    get(el, "tab-evidence").click();
    await screen.settled();
    const card = allByTestId(el, "evidence-card").find((c) => c.dataset.sha === PHOTO_LICENCE)!;
    const src = card.querySelector("img")!.getAttribute("src");
    expect(src).toMatch(/^blob:/);
    const revoked: string[] = [];
    const original = URL.revokeObjectURL;
    URL.revokeObjectURL = (url: string) => void revoked.push(url);
    try {
      unmount();
    } finally {
      URL.revokeObjectURL = original;
    }
    expect(revoked).toContain(src);
  });

  it("makes only the panel of the tab open when the task arrives", async () => {
    const backend = new TaskBackend();
    const release = backend.hold();
    const mounting = mount({ backend, lazyPanels: true });
    // The task has not arrived yet; the inspector opens the checklist meanwhile.
    document.querySelector<HTMLElement>("[data-testid='tab-checklist']")!.click();
    release();
    const { el, screen } = await mounting;
    expect(screen.tab).toBe("checklist");
    expect(allByTestId(el, "item").length).toBeGreaterThan(0);
    // The overview, never shown, is not made; it is the first time it opens.
    expect(get(el, "panel-overview").childElementCount).toBe(0);
    get(el, "tab-overview").click();
    await screen.settled();
    expect(get(el, "panel-overview").childElementCount).toBeGreaterThan(0);
  });

  it("makes a panel when its tab first opens, and keeps it", async () => {
    const { el, screen, backend } = await mount({ lazyPanels: true });
    // Opening the task makes the overview alone: no items, no thumbnails asked for.
    expect(get(el, "panel-overview").childElementCount).toBeGreaterThan(0);
    for (const tab of ["checklist", "evidence", "findings", "record", "signatures", "submit", "timeline"]) {
      expect(get(el, `panel-${tab}`).childElementCount, tab).toBe(0);
    }
    expect(allByTestId(el, "item")).toHaveLength(0);
    expect(backend.callsTo("blob")).toHaveLength(0);

    get(el, "tab-checklist").click();
    await screen.settled();
    const items = allByTestId(el, "item").length;
    expect(items).toBeGreaterThan(0);
    expect(backend.callsTo("blob").length).toBeGreaterThan(0);
    // What is typed in a panel stays when another tab opens and it comes back.
    const note = get<HTMLTextAreaElement>(itemById(el, "XFJY-TY-002"), "item-note");
    typeOnly(note, "二楼");
    get(el, "tab-overview").click();
    await screen.settled();
    get(el, "tab-checklist").click();
    await screen.settled();
    expect(allByTestId(el, "item")).toHaveLength(items);
    expect(get<HTMLTextAreaElement>(itemById(el, "XFJY-TY-002"), "item-note").value).toBe("二楼");

    // A panel that loads when shown (the timeline) loads the first time too.
    expect(backend.callsTo("taskHistory")).toHaveLength(0);
    get(el, "tab-timeline").click();
    await screen.settled();
    expect(backend.callsTo("taskHistory")).toEqual([[TASK_ID]]);
    expect(allByTestId(el, "timeline-entry").length).toBeGreaterThan(0);
  });
});
