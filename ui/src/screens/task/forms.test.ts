// @vitest-environment happy-dom
import { afterEach, describe, expect, it } from "vitest";
import { nextTick } from "vue";
import { BackendError } from "../../backend/backend";
import { DAY, fixtureView, NOW, PHOTO_KITCHEN, PHOTO_LICENCE, PHOTO_WITHDRAWN, TASK_ID } from "./fixture";
import { allByTestId, byTestId, get, jpeg, mount, pickFiles, TaskBackend, type, unmount } from "./testkit";

afterEach(unmount);

/** 2026-12-10 23:59:59.999 in Beijing. */
const DEC_10_END = Date.UTC(2026, 11, 10, 15, 59, 59, 999);

describe("findings", () => {
  it("lists the findings", async () => {
    const { el } = await mount();
    get(el, "tab-findings").click();
    const findings = allByTestId(el, "record-finding");
    expect(findings).toHaveLength(1);
    expect(findings[0]!.dataset.severity).toBe("minor");
    expect(findings[0]!.textContent).toContain("超过保质期的速冻水饺");
    expect(findings[0]!.textContent).toContain("刘建华");
    expect(findings[0]!.textContent).toContain("食品经营许可证");
  });

  it("needs a description", async () => {
    const { el, backend } = await mount();
    get(el, "finding-add").click();
    await nextTick();
    expect(get(el, "finding-form-error").hidden).toBe(false);
    expect(get(el, "finding-form-error").textContent).toBe("请填写问题描述。");
    expect(backend.callsTo("addFinding")).toHaveLength(0);
  });

  it("needs both a rectification order and its deadline, or neither", async () => {
    const { el, backend } = await mount();
    type(get<HTMLTextAreaElement>(el, "finding-description"), "灭火器压力不足");
    type(get<HTMLTextAreaElement>(el, "finding-order"), "更换灭火器");
    get(el, "finding-add").click();
    await nextTick();
    expect(get(el, "finding-form-error").textContent).toContain("须同时填写整改要求和整改期限");

    type(get<HTMLTextAreaElement>(el, "finding-order"), "");
    type(get<HTMLInputElement>(el, "finding-deadline"), "2026-12-10");
    get(el, "finding-add").click();
    await nextTick();
    expect(get(el, "finding-form-error").textContent).toContain("须同时填写整改要求和整改期限");
    expect(backend.callsTo("addFinding")).toHaveLength(0);
  });

  it("refuses a deadline in the past", async () => {
    const { el, backend } = await mount();
    type(get<HTMLTextAreaElement>(el, "finding-description"), "灭火器压力不足");
    type(get<HTMLTextAreaElement>(el, "finding-order"), "更换灭火器");
    type(get<HTMLInputElement>(el, "finding-deadline"), "2026-11-28");
    get(el, "finding-add").click();
    await nextTick();
    expect(get(el, "finding-form-error").textContent).toBe("整改期限不能早于今天。");
    expect(backend.callsTo("addFinding")).toHaveLength(0);
    expect(get<HTMLInputElement>(el, "finding-deadline").min).toBe("2026-11-29");
  });

  it("adds a finding with its order, deadline at the end of the local day, and clears the form", async () => {
    const { el, screen, backend } = await mount();
    type(get<HTMLTextAreaElement>(el, "finding-description"), "  灭火器压力不足  ");
    type(get<HTMLSelectElement>(el, "finding-severity"), "major");
    type(get<HTMLSelectElement>(el, "finding-item"), "XFJY-TY-001");
    type(get<HTMLTextAreaElement>(el, "finding-order"), "更换或充装灭火器");
    type(get<HTMLInputElement>(el, "finding-deadline"), "2026-12-10");
    get(el, "finding-add").click();
    await screen.settled();
    expect(backend.callsTo("addFinding")).toEqual([
      [
        TASK_ID,
        {
          item_id: "XFJY-TY-001",
          description: "灭火器压力不足",
          severity: "major",
          rectification_order: "更换或充装灭火器",
          rectification_deadline: DEC_10_END,
        },
      ],
    ]);
    expect(get(el, "finding-form-error").hidden).toBe(true);
    expect(get<HTMLTextAreaElement>(el, "finding-description").value).toBe("");
    expect(get<HTMLSelectElement>(el, "finding-item").value).toBe("");
    expect(get<HTMLInputElement>(el, "finding-deadline").value).toBe("");
    const added = allByTestId(el, "record-finding")[1]!;
    expect(added.dataset.severity).toBe("major");
    expect(get(added, "record-finding-order").textContent).toContain("更换或充装灭火器");
    expect(get(added, "record-finding-deadline").textContent).toContain("2026年12月10日");
  });

  it("keeps the form when adding fails", async () => {
    const { el, screen, backend } = await mount();
    backend.failNext("addFinding", new BackendError("task.not_an_inspector", "not an inspector"));
    type(get<HTMLTextAreaElement>(el, "finding-description"), "灭火器压力不足");
    get(el, "finding-add").click();
    await screen.settled();
    expect(get(el, "task-error-message").textContent).toContain("您没有权限");
    expect(get<HTMLTextAreaElement>(el, "finding-description").value).toBe("灭火器压力不足");
  });
});

describe("lead transfers", () => {
  it("suggests the departments of the directory the server sent, once synced", async () => {
    const view = fixtureView();
    view.known_departments = [{ code: "ZJ", name: "青溪县住房和城乡建设局（新名称）", name_en: "Housing" }];
    const { el } = await mount({ backend: new TaskBackend(view) });
    const dept = get<HTMLInputElement>(el, "transfer-dept");
    const list = document.getElementById(dept.getAttribute("list")!)!;
    const names = [...list.querySelectorAll("option")].map((o) => o.value);
    expect(names).toContain("青溪县住房和城乡建设局（新名称）");
    // The UI's own names are only for a tablet that has no directory yet.
    expect(names).not.toContain("公安");
  });

  it("suggests departments, sends what is typed, and clears the form", async () => {
    const { el, screen, backend } = await mount();
    const dept = get<HTMLInputElement>(el, "transfer-dept");
    const list = document.getElementById(dept.getAttribute("list")!)!;
    const names = [...list.querySelectorAll("option")].map((o) => o.value);
    expect(names).toContain("青溪县消防救援大队");
    expect(names).toContain("公安");

    get(el, "transfer-add").click();
    await nextTick();
    expect(get(el, "transfer-form-error").textContent).toBe("请填写接收部门。");
    type(dept, "青溪县公安局治安大队");
    get(el, "transfer-add").click();
    await nextTick();
    expect(get(el, "transfer-form-error").textContent).toBe("请填写线索摘要。");

    type(get<HTMLTextAreaElement>(el, "transfer-summary"), "发现疑似非法储存液化石油气钢瓶 12 只");
    get<HTMLInputElement>(el, "transfer-criminal").click();
    const evidence = allByTestId(el, "transfer-evidence") as HTMLInputElement[];
    expect(evidence.map((e) => e.dataset.sha)).toEqual([PHOTO_KITCHEN, PHOTO_LICENCE]);
    evidence[0]!.click();
    get(el, "transfer-add").click();
    await screen.settled();
    expect(backend.callsTo("addLeadTransfer")).toEqual([
      [TASK_ID, { to_department: "青溪县公安局治安大队", summary: "发现疑似非法储存液化石油气钢瓶 12 只", criminal: true, evidence: [PHOTO_KITCHEN] }],
    ]);
    const transfers = allByTestId(el, "record-transfer");
    expect(transfers).toHaveLength(1);
    expect(transfers[0]!.dataset.criminal).toBe("true");
    expect(transfers[0]!.textContent).toContain("行刑衔接");
    expect(get(transfers[0]!, "record-transfer-evidence").textContent).toContain("随附证据 1 件");
    expect(dept.value).toBe("");
    expect(get<HTMLInputElement>(el, "transfer-criminal").checked).toBe(false);
    expect((allByTestId(el, "transfer-evidence") as HTMLInputElement[]).every((e) => !e.checked)).toBe(true);
  });
});

describe("signatures", () => {
  it("fills in the signer by role", async () => {
    const { el } = await mount();
    get(el, "tab-signatures").click();
    const role = get<HTMLSelectElement>(el, "signer-role");
    const name = get<HTMLInputElement>(el, "signer-name");
    expect(role.value).toBe("inspector");
    expect(name.value).toBe("钟志强");
    type(role, "enterprise");
    expect(name.value).toBe("郭志明");
    type(name, "郭志明（委托人：王芳）");
    type(role, "inspector");
    expect(name.value).toBe("郭志明（委托人：王芳）");
  });

  it("refuses to save an empty pad", async () => {
    const { el, backend } = await mount();
    get(el, "signature-save").click();
    await nextTick();
    expect(get(el, "signature-form-error").textContent).toBe("签名板是空的，请先签名。");
    expect(backend.callsTo("sign")).toHaveLength(0);
  });

  it("saves what was drawn, the inspector by id", async () => {
    const { el, screen, backend } = await mount();
    get(el, "tab-signatures").click();
    const pad = get<HTMLCanvasElement>(el, "signature-pad");
    pad.dispatchEvent(new PointerEvent("pointerdown", { pointerId: 1, clientX: 10, clientY: 10, pointerType: "touch", bubbles: true }));
    pad.dispatchEvent(new PointerEvent("pointermove", { pointerId: 1, clientX: 40, clientY: 30, pointerType: "touch", bubbles: true }));
    pad.dispatchEvent(new PointerEvent("pointerup", { pointerId: 1, clientX: 40, clientY: 30, pointerType: "touch", bubbles: true }));
    get(el, "signature-save").click();
    await screen.settled();
    const calls = backend.callsTo("sign");
    expect(calls).toHaveLength(1);
    expect(calls[0]!.slice(0, 3)).toEqual([TASK_ID, "inspector", "I-001"]);
    expect(calls[0]![3]).toBeInstanceOf(Uint8Array);
    const signature = get(el, "record-signature");
    expect(signature.dataset.role).toBe("inspector");
    expect(signature.dataset.refused).toBe("false");
    expect(get(signature, "signature-signer").textContent).toBe("钟志强");
    expect(get(signature, "signature-image").getAttribute("src")).toMatch(/^blob:/);

    // The signature opens in the full-screen viewer.
    const sha = get(signature, "signature-image").dataset.sha256!;
    get(signature, "signature-open").click();
    await screen.settled();
    const viewer = get(el, "evidence-viewer");
    expect(viewer.hidden).toBe(false);
    expect(viewer.dataset.sha).toBe(sha);
    get(viewer, "evidence-close").click();
    await nextTick();

    // The pad was cleared: saving again needs a new signature.
    get(el, "signature-save").click();
    await nextTick();
    expect(get(el, "signature-form-error").hidden).toBe(false);
  });

  it("records a refusal with its reason", async () => {
    const { el, screen, backend } = await mount();
    type(get<HTMLSelectElement>(el, "signer-role"), "enterprise");
    get(el, "signature-refuse").click();
    await nextTick();
    expect(get(el, "signature-form-error").textContent).toBe("请填写拒签原因。");
    type(get<HTMLTextAreaElement>(el, "refuse-reason"), "当事人对检查结果有异议，拒绝签字");
    get(el, "signature-refuse").click();
    await screen.settled();
    expect(backend.callsTo("refuseToSign")).toEqual([[TASK_ID, "enterprise", "郭志明", "当事人对检查结果有异议，拒绝签字"]]);
    const signature = get(el, "record-signature");
    expect(signature.dataset.role).toBe("enterprise");
    expect(signature.dataset.refused).toBe("true");
    expect(get(signature, "signature-refusal").textContent).toBe("拒签：当事人对检查结果有异议，拒绝签字");
    expect(get<HTMLTextAreaElement>(el, "refuse-reason").value).toBe("");
  });

  it("explains a refused signature image", async () => {
    const { el, screen, backend } = await mount();
    backend.failNext("sign", new BackendError("app.bad_signature", "签名图片无效：Unsupported(…)（请重新签名）"));
    const pad = get<HTMLCanvasElement>(el, "signature-pad");
    pad.dispatchEvent(new PointerEvent("pointerdown", { pointerId: 2, clientX: 5, clientY: 5, pointerType: "mouse", button: 0 }));
    pad.dispatchEvent(new PointerEvent("pointerup", { pointerId: 2, clientX: 5, clientY: 5, pointerType: "mouse" }));
    get(el, "signature-save").click();
    await screen.settled();
    expect(get(el, "task-error-message").textContent).toBe("签名图片无效，请清除后重新签名。");
  });
});

describe("evidence", () => {
  it("shows every piece, withdrawn ones greyed with their reason", async () => {
    const { el } = await mount();
    get(el, "tab-evidence").click();
    const cards = allByTestId(el, "evidence-card");
    expect(cards.map((c) => [c.dataset.sha, c.dataset.withdrawn])).toEqual([
      [PHOTO_KITCHEN, "false"],
      [PHOTO_WITHDRAWN, "true"],
      [PHOTO_LICENCE, "false"],
    ]);
    expect(get(cards[1]!, "evidence-withdrawn").textContent).toBe("已撤回：拍错对象");
    expect(cards[1]!.classList.contains("is-withdrawn")).toBe(true);
    expect(get(el, "evidence-count").textContent).toBe("有效证据 2 件，已撤回 1 件");
  });

  it("adds a photo of the whole task", async () => {
    const { el, screen, backend } = await mount();
    pickFiles(get<HTMLInputElement>(el, "task-photo-input"), [jpeg()]);
    await screen.settled();
    expect(backend.callsTo("addPhoto")[0]!.slice(0, 2)).toEqual([TASK_ID, null]);
    expect(allByTestId(el, "evidence-card")).toHaveLength(4);
  });

  it("opens a piece, saves its caption and closes", async () => {
    const { el, screen, backend } = await mount();
    get(el, "tab-evidence").click();
    allByTestId(el, "evidence-card").find((c) => c.dataset.sha === PHOTO_LICENCE)!.click();
    await screen.settled();
    const viewer = get(el, "evidence-viewer");
    expect(viewer.hidden).toBe(false);
    expect(get(viewer, "evidence-image").getAttribute("src")).toMatch(/^blob:/);
    const caption = get<HTMLInputElement>(viewer, "evidence-caption");
    expect(caption.value).toBe("食品经营许可证公示");
    type(caption, "许可证正本（收银台）");
    get(viewer, "evidence-caption-save").click();
    await screen.settled();
    expect(backend.callsTo("setCaption")).toEqual([[TASK_ID, PHOTO_LICENCE, "许可证正本（收银台）"]]);
    expect(caption.value).toBe("许可证正本（收银台）");
    get(viewer, "evidence-close").click();
    await nextTick();
    expect(viewer.hidden).toBe(true);
  });

  it("withdraws a piece only with a reason", async () => {
    const { el, screen, backend } = await mount();
    allByTestId(el, "evidence-card").find((c) => c.dataset.sha === PHOTO_KITCHEN)!.click();
    const viewer = get(el, "evidence-viewer");
    const reason = get<HTMLTextAreaElement>(viewer, "withdraw-reason");
    expect(reason.closest(".withdraw-box")?.hasAttribute("hidden")).toBe(true);
    get(viewer, "evidence-withdraw").click();
    await nextTick();
    expect(reason.closest(".withdraw-box")?.hasAttribute("hidden")).toBe(false);
    get(viewer, "withdraw-confirm").click();
    await nextTick();
    expect(get(viewer, "withdraw-error").textContent).toBe("请填写撤回原因。");
    expect(backend.callsTo("withdrawEvidence")).toHaveLength(0);
    type(reason, "照片模糊，已重拍");
    get(viewer, "withdraw-confirm").click();
    await screen.settled();
    expect(backend.callsTo("withdrawEvidence")).toEqual([[TASK_ID, PHOTO_KITCHEN, "照片模糊，已重拍"]]);
    expect(get(viewer, "viewer-withdrawn").hidden).toBe(false);
    expect(get(viewer, "viewer-withdrawn").textContent).toContain("照片模糊，已重拍");
    expect(get(viewer, "evidence-withdraw").hidden).toBe(true);
    const card = allByTestId(el, "evidence-card").find((c) => c.dataset.sha === PHOTO_KITCHEN)!;
    expect(card.dataset.withdrawn).toBe("true");
  });

  it("shows a missing image as missing", async () => {
    const backend = new TaskBackend();
    backend.blobs.delete("b4".repeat(32));
    const { el } = await mount({ backend });
    const card = allByTestId(el, "evidence-card").find((c) => c.dataset.sha === PHOTO_KITCHEN)!;
    expect(card.querySelector("img")!.classList.contains("is-missing")).toBe(true);
    expect(byTestId(el, "task-error")!.hidden).toBe(true);
  });
});

describe("dates", () => {
  it("a deadline is the end of the day in the pinned time zone", async () => {
    const { endOfDateInput, dateInputValue } = await import("../../dates");
    expect(endOfDateInput("2026-12-10", "Asia/Shanghai")).toBe(DEC_10_END);
    expect(endOfDateInput("2026-12-10", "UTC")).toBe(Date.UTC(2026, 11, 10, 23, 59, 59, 999));
    expect(endOfDateInput("2026-02-30", "UTC")).toBeNull();
    expect(endOfDateInput("soon", "UTC")).toBeNull();
    expect(dateInputValue(NOW + DAY, "Asia/Shanghai")).toBe("2026-11-30");
  });
});
