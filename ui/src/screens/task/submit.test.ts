// @vitest-environment happy-dom
import { afterEach, describe, expect, it } from "vitest";
import { nextTick } from "vue";
import { BackendError } from "../../backend/backend";
import { I18n } from "../../i18n";
import { CONFLICT_PATH, fixtureView, OP_FAIL, PHOTO_KITCHEN, TASK_ID } from "./fixture";
import { allByTestId, byTestId, get, itemById, mount, TaskBackend, type, unmount } from "./testkit";

afterEach(unmount);

/** The fixture with every problem fixed but the conflict, which is all Rust reports. */
function nearlyDone(): TaskBackend {
  const view = fixtureView();
  view.inspectors[0]!.checked_in_at = view.inspectors[1]!.checked_in_at;
  for (const group of view.groups) for (const item of group.items) item.answer.result ??= "not_applicable";
  // The kitchen photo supports the disputed item, whichever result is kept.
  view.evidence.find((e) => e.sha256 === PHOTO_KITCHEN)!.item = "SCJG-CY-001";
  // Both inspectors signed; the business refused.
  view.signatures = [
    ...view.inspectors.map((i, n) => ({ role: "inspector" as const, signer: i.id, image: `${n}`.repeat(64), refused_reason: null, by: i.id, at: 0 })),
    { role: "enterprise" as const, signer: view.legal_rep, image: null, refused_reason: "不同意", by: view.inspectors[0]!.id, at: 0 },
  ];
  view.problems = view.problems.filter((p) => p.problem.kind === "open_conflict");
  return new TaskBackend(view);
}

describe("conflicts", () => {
  it("shows each value with who wrote it, in words", async () => {
    const { el } = await mount();
    get(el, "tab-submit").click();
    const conflict = get(el, "conflict");
    expect(conflict.dataset.path).toBe(CONFLICT_PATH.join("/"));
    expect(get(conflict, "conflict-field").textContent).toBe("「餐具、饮具是否按要求清洗消毒，消毒设施设备是否正常运转」的检查结果");
    const picks = allByTestId(conflict, "conflict-pick");
    expect(picks[0]!.textContent).toMatch(/^合格由 钟志强 填写\d{4}年\d{1,2}月\d{1,2}日 \d{2}:\d{2}$/);
    expect(picks[1]!.textContent).toBe("不合格由 刘建华 填写");
  });

  it("keeps the picked value", async () => {
    const { el, screen, backend } = await mount();
    get(el, "tab-submit").click();
    expect(allByTestId(el, "problem").map((p) => p.dataset.kind)).toContain("open_conflict");
    // Once the conflict is settled, Rust no longer reports it.
    backend.setProblems(TASK_ID, backend.view.problems.filter((p) => p.problem.kind !== "open_conflict"));
    const pick = allByTestId(el, "conflict-pick").find((p) => p.dataset.op === OP_FAIL)!;
    pick.click();
    await screen.settled();
    expect(backend.callsTo("resolveConflict")).toEqual([[TASK_ID, CONFLICT_PATH, { kind: "pick", op: OP_FAIL }]]);
    expect(byTestId(el, "conflict")).toBeNull();
    expect(itemById(el, "SCJG-CY-001").dataset.result).toBe("fail");
    expect(get(itemById(el, "SCJG-CY-001"), "item-conflicted").hidden).toBe(true);
    expect(allByTestId(el, "problem").map((p) => p.dataset.kind)).not.toContain("open_conflict");
  });

  it("writes another value", async () => {
    const view = fixtureView();
    view.conflicts.push({
      path: ["checklist", "SCJG-SP-001", "answer", "note"],
      values: [
        { value: "许可证已公示", op: "3@aa", actor: "aa", person: "I-001", at: Date.UTC(2026, 5, 1, 2, 30) },
        { value: "许可证未公示", op: "5@bb", actor: "bb", person: null, at: null },
      ],
    });
    const { el, screen, backend } = await mount({ backend: new TaskBackend(view) });
    const conflict = allByTestId(el, "conflict").find((c) => c.dataset.path?.endsWith("/note"))!;
    expect(get(conflict, "conflict-field").textContent).toBe("「食品经营许可证（或仅销售预包装食品备案）是否在有效期内并在经营场所公示」的备注");
    expect(allByTestId(conflict, "conflict-author")[1]!.textContent).toBe("由 未知设备 bb 填写");
    // Each value says when it was written, where the document knows it.
    expect(allByTestId(conflict, "conflict-time").map((e) => e.textContent)).toHaveLength(1);
    expect(get(conflict, "conflict-time").textContent).toMatch(/10:30|2026/);
    type(get<HTMLInputElement>(conflict, "conflict-custom"), "许可证已公示，但已过期");
    get(conflict, "conflict-custom-save").click();
    await screen.settled();
    expect(backend.callsTo("resolveConflict")).toEqual([
      [TASK_ID, ["checklist", "SCJG-SP-001", "answer", "note"], { kind: "value", value: "许可证已公示，但已过期" }],
    ]);
    expect(allByTestId(el, "conflict")).toHaveLength(1);
  });

  it("offers the other results for a result conflict", async () => {
    const { el, screen, backend } = await mount();
    const custom = get<HTMLSelectElement>(get(el, "conflict"), "conflict-custom");
    expect([...custom.options].map((o) => o.textContent)).toEqual(["合格", "不合格", "不涉及"]);
    type(custom, "not_applicable");
    get(el, "conflict-custom-save").click();
    await screen.settled();
    expect(backend.callsTo("resolveConflict")[0]![2]).toEqual({ kind: "value", value: "not_applicable" });
  });

  it("says so when a colleague resolved it first", async () => {
    const { el, screen, backend } = await mount();
    backend.failNext("resolveConflict", new BackendError("task.no_conflict", "checklist/SCJG-CY-001/answer/result has no conflict"));
    allByTestId(el, "conflict-pick")[0]!.click();
    await screen.settled();
    expect(get(el, "task-error-message").textContent).toContain("该冲突已被处理");
  });
});

describe("submit", () => {
  it("explains each problem and keeps submit disabled", async () => {
    const { el } = await mount();
    get(el, "tab-submit").click();
    const problems = allByTestId(el, "problem");
    expect(problems.map((p) => p.dataset.kind)).toEqual([
      "too_few_checked_in",
      "missing_evidence",
      "unanswered",
      "unanswered",
      "inspector_unsigned",
      "enterprise_unsigned",
      "open_conflict",
    ]);
    expect(problems.map((p) => get(p, "problem-text").textContent)).toEqual([
      "现场签到的执法人员不足：已签到 1 人，至少需要 2 人。",
      "「餐具、饮具是否按要求清洗消毒，消毒设施设备是否正常运转」须拍照取证，请添加照片。",
      "「灭火器等消防器材是否按标准配置、完好有效并在有效期内」尚未选择检查结果。",
      "「疏散通道、安全出口是否畅通，有无占用、堵塞、封闭」尚未选择检查结果。",
      "执法人员刘建华尚未在笔录上签名。",
      "企业负责人尚未签名，也未记录拒签。",
      "「餐具、饮具是否按要求清洗消毒，消毒设施设备是否正常运转」的检查结果存在冲突，请选择保留的值。",
    ]);
    expect(get<HTMLButtonElement>(el, "submit").disabled).toBe(true);
    expect(get(el, "submit-ready").hidden).toBe(true);
    expect(get(el, "tab-submit").textContent).toContain("7");
  });

  it("takes the inspector to what needs doing", async () => {
    const { el, screen } = await mount();
    get(el, "tab-submit").click();
    const unanswered = allByTestId(el, "problem").find((p) => p.dataset.kind === "unanswered")!;
    get(unanswered, "problem-go").click();
    await nextTick();
    expect(screen.tab).toBe("checklist");
    expect(document.activeElement?.closest('[data-testid="item"]')).toBe(itemById(el, "XFJY-TY-001"));
  });

  it("is enabled once nothing is in the way, asks for confirmation, and submits", async () => {
    const { el, screen, backend } = await mount({ backend: nearlyDone() });
    get(el, "tab-submit").click();
    expect(allByTestId(el, "problem").map((p) => p.dataset.kind)).toEqual(["open_conflict"]);
    expect(get(el, "submit-ready").hidden).toBe(true);
    expect(get<HTMLButtonElement>(el, "submit").disabled).toBe(true);
    // Settling the conflict leaves nothing in the way: the view Rust answers to it has no problems.
    backend.setProblems(TASK_ID, []);
    allByTestId(el, "conflict-pick")[0]!.click();
    await screen.settled();
    expect(allByTestId(el, "problem")).toHaveLength(0);
    expect(get(el, "submit-ready").hidden).toBe(false);
    const submit = get<HTMLButtonElement>(el, "submit");
    expect(submit.disabled).toBe(false);

    submit.click();
    await nextTick();
    expect(backend.callsTo("submit")).toHaveLength(0);
    const confirm = get<HTMLButtonElement>(el, "submit-confirm");
    expect(confirm.closest("[hidden]")).toBeNull();
    get(el, "submit-cancel").click();
    await nextTick();
    expect(confirm.closest("[hidden]")).not.toBeNull();

    submit.click();
    confirm.click();
    await screen.settled();
    expect(backend.callsTo("submit")).toEqual([[TASK_ID]]);
    expect(el.dataset.status).toBe("submitted");
    expect(get(el, "task-status").textContent).toBe("已提交");
    expect(get(el, "task-readonly").hidden).toBe(false);
    expect(get<HTMLButtonElement>(el, "submit").disabled).toBe(true);
  });

  it("submits after a note still being saved", async () => {
    const backend = nearlyDone();
    backend.view.conflicts = [];
    backend.view.groups[0]!.items[1]!.conflicted = false;
    backend.setProblems(TASK_ID, []);
    const { el, screen } = await mount({ backend });
    const release = backend.hold();
    const note = get<HTMLTextAreaElement>(itemById(el, "SCJG-SP-001"), "item-note");
    type(note, "已责令三日内更换灭火器");
    get(el, "tab-submit").click();
    get(el, "submit").click();
    get(el, "submit-confirm").click();
    release();
    await screen.settled();
    expect(backend.calls.map((c) => c.method).filter((m) => m === "answer" || m === "submit")).toEqual(["answer", "submit"]);
    expect(el.dataset.status).toBe("submitted");
    expect(backend.view.groups[0]!.items[0]!.answer.note).toBe("已责令三日内更换灭火器");
  });

  it("explains a refused submit", async () => {
    const backend = nearlyDone();
    backend.view.conflicts = [];
    backend.view.groups[0]!.items[1]!.conflicted = false;
    backend.setProblems(TASK_ID, []);
    backend.failNext("submit", new BackendError("task.submit_blocked", "不能提交：签到执法人员不足"));
    const { el, screen } = await mount({ backend });
    get(el, "submit").click();
    get(el, "submit-confirm").click();
    await screen.settled();
    expect(get(el, "task-error-message").textContent).toContain("暂不能提交");
    expect(el.dataset.status).toBe("in_progress");
  });
});

describe("refused edits and signatures", () => {
  it("lists the edits the server refused, why, in the tablet's language", async () => {
    const view = fixtureView();
    view.refused_edits = [
      { change: "ab".repeat(32), message: "检查项 SCJG-CY-001：合格", made_at: 0, code: "policy.frozen", reason: "server sentence", refused_at: 0 },
      { change: "cd".repeat(32), message: "添加证据", made_at: 0, code: "server.unknown", reason: "服务器的原话 (policy.unheard_of)", refused_at: 0 },
    ];
    const { el } = await mount({ backend: new TaskBackend(view) });
    get(el, "tab-submit").click();
    expect(get(el, "refused-card").hidden).toBe(false);
    const why = allByTestId(el, "refused-why").map((w) => w.textContent);
    expect(why).toEqual(["任务已提交或已审核，不能再修改；如需修改请等待退回。", "服务器返回了本应用无法识别的错误，请更新应用后重试。"]);
    expect(allByTestId(el, "refused-edit")[0]!.textContent).toContain("检查项 SCJG-CY-001：合格");
  });

  it("names who has not signed and leads to the signatures tab", async () => {
    const view = fixtureView();
    view.problems = [
      { problem: { kind: "inspector_unsigned", inspector: view.inspectors[1]!.id }, item_title: null, message: "x" },
      { problem: { kind: "enterprise_unsigned" }, item_title: null, message: "x" },
    ];
    const { el } = await mount({ backend: new TaskBackend(view) });
    get(el, "tab-submit").click();
    expect(get(el, "refused-card").hidden).toBe(true);
    const texts = allByTestId(el, "problem-text").map((p) => p.textContent);
    expect(texts[0]).toMatch(/^执法人员.+尚未在笔录上签名。$/);
    expect(texts[0]).not.toContain(view.inspectors[1]!.id);
    expect(texts[1]).toBe("企业负责人尚未签名，也未记录拒签。");
    allByTestId(el, "problem-go")[1]!.click();
    await nextTick();
    expect(el.dataset.tab).toBe("signatures");
  });
});

describe("timeline", () => {
  it("loads when opened, newest first, and again after each action", async () => {
    const { el, screen, backend } = await mount();
    expect(backend.callsTo("taskHistory")).toHaveLength(0);
    get(el, "tab-timeline").click();
    await screen.settled();
    expect(backend.callsTo("taskHistory")).toEqual([[TASK_ID]]);
    const entries = allByTestId(el, "timeline-entry");
    expect(entries.map((e) => get(e, "timeline-message").textContent)).toEqual(["同步合并", "添加照片", "I-005 现场签到", "创建任务"]);
    expect(get(entries[0]!, "timeline-person").textContent).toBe("未知设备");
    expect(get(entries[1]!, "timeline-person").textContent).toBe("钟志强");
    expect(get(entries[1]!, "timeline-role").textContent).toBe("执法人员");
    expect(get(entries[3]!, "timeline-role").textContent).toBe("审核人员");
    expect(get(entries[1]!, "timeline-time").textContent).toBe("2026年11月29日 09:30");
    // Shown by the console's RecordTimeline: the device time only, the tablet has no receipts.
    expect(el.querySelector(".record-timeline")).not.toBeNull();
    expect(el.querySelector('[data-testid="timeline-received-at"]')).toBeNull();
    expect(get(el, "timeline").textContent).toContain("设备时间");
    expect(get(el, "timeline").textContent).not.toContain("服务器接收时间");

    backend.history.push({ hash: "05".repeat(32), actor: "ab", person: "I-001", role: "inspector", at: backend.now(), message: "现场签到", seq: 2 });
    get(el, "tab-overview").click();
    get(el, "tab-timeline").click();
    await screen.settled();
    expect(allByTestId(el, "timeline-entry")).toHaveLength(5);

    // An action while the timeline is open loads it again.
    screen.showTab("timeline");
    const before = backend.callsTo("taskHistory").length;
    const view = backend.view;
    view.groups[1]!.items[0]!.answer.result = null;
    get(itemById(el, "XFJY-TY-001"), "outcome-pass").click();
    await screen.settled();
    expect(backend.callsTo("taskHistory").length).toBe(before + 1);
  });

  it("shows an error it can retry", async () => {
    const { el, screen, backend } = await mount();
    backend.failNext("taskHistory", new BackendError("store.sqlite", "database is locked"));
    get(el, "tab-timeline").click();
    await screen.settled();
    expect(get(el, "timeline-error").textContent).toContain("无法加载记录：本机数据库出错，请重启应用；如仍出错请联系管理员。");
    expect(get(el, "timeline-error").textContent).not.toContain("database is locked");
    get(el, "timeline-retry").click();
    await screen.settled();
    expect(allByTestId(el, "timeline-entry")).toHaveLength(4);
  });

  it("speaks English", async () => {
    const i18n = new I18n();
    i18n.setLang("en");
    const { el, screen } = await mount({ i18n });
    get(el, "tab-timeline").click();
    await screen.settled();
    expect(get(allByTestId(el, "timeline-entry")[0]!, "timeline-person").textContent).toBe("Unknown device");
    expect(get(el, "timeline").textContent).toContain("Device time");
    expect(get(el, "tab-submit").textContent).toContain("Submit");
    expect(get(allByTestId(el, "problem")[0]!, "problem-text").textContent).toBe("Too few inspectors have checked in on site: 1, at least 2 needed.");
  });
});
