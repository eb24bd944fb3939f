// @vitest-environment happy-dom
import { afterEach, describe, expect, it } from "vitest";
import { nextTick } from "vue";
import { BackendError } from "../../backend/backend";
import { I18n } from "../../i18n";
import { COLLEAGUE, fixtureView, ME, MINUTE, NOW, TASK_ID, TZ } from "./fixture";
import { dateTimeInputValue, editsBetween, noticeQuestions, parseDateTimeInput, prefilled } from "./recordNotes";
import { allByTestId, get, mount, TaskBackend, type, unmount } from "./testkit";

afterEach(unmount);

function answer(el: HTMLElement, field: string): HTMLInputElement {
  const found = allByTestId(el, "notes-answer").find((e) => e.dataset.field === field);
  if (found === undefined) throw new Error(`no answer ${field}`);
  return found as HTMLInputElement;
}

async function openRecord() {
  const mounted = await mount();
  get(mounted.el, "tab-record").click();
  await nextTick();
  return mounted;
}

describe("the record tab (笔录)", () => {
  it("pre-fills the place, legal representative, recorder, start and the usual answers for the inspector to confirm", async () => {
    const { el } = await openRecord();
    const view = fixtureView();
    expect(get<HTMLInputElement>(el, "notes-place").value).toBe(view.address);
    expect(get<HTMLInputElement>(el, "notes-legal-rep").value).toBe("郭志明");
    expect(get<HTMLSelectElement>(el, "notes-recorder").value).toBe(ME);
    // The colleague checked in 40 minutes ago: the inspection started then.
    expect(get<HTMLInputElement>(el, "notes-started-at").value).toBe(dateTimeInputValue(NOW - 40 * MINUTE, TZ));
    expect(get<HTMLInputElement>(el, "notes-started-at").value).toBe("2026-11-29T09:20");
    expect(get<HTMLInputElement>(el, "notes-ended-at").value).toBe("");
    expect(answer(el, "credentials_answer").value).toBe("看清楚了");
    expect(answer(el, "rights_answer").value).toBe("清楚");
    expect(answer(el, "recusal_answer").value).toBe("不申请回避");
    expect(get(el, "notes-prefill-hint").textContent).toContain("请宣读告知事项");
    expect(get(el, "record-notes").dataset.dirty).toBe("true");
  });

  it("shows the three scripted notices word for word, naming the agency and the inspectors", async () => {
    const { el } = await openRecord();
    const questions = allByTestId(el, "notes-question").map((q) => q.textContent?.trim());
    expect(questions).toEqual([
      "1. 我们是青溪县市场监督管理局的执法人员钟志强、刘建华，这是我们的执法证件（出示执法证件），你是否看清楚？",
      "2. 依法你（单位）有陈述、申辩的权利，同时负有如实回答询问、协助检查的义务，不得拒绝、阻挠检查。你是否听清楚？",
      "3. 检查人员与你（单位）有直接利害关系或者其他关系可能影响公正执法的，你有申请回避的权利。你是否申请回避？",
    ]);
  });

  it("saves only the fields that differ from the stored record, the pre-fills confirmed", async () => {
    const { el, screen, backend } = await openRecord();
    type(get<HTMLInputElement>(el, "notes-party-present"), "  郭志明 ");
    type(get<HTMLInputElement>(el, "notes-party-role"), "店长");
    type(answer(el, "recusal_answer"), "不申请");
    type(get<HTMLTextAreaElement>(el, "notes-statement"), "对检查结果无异议");
    type(get<HTMLInputElement>(el, "notes-ended-at"), "2026-11-29T10:30");
    get(el, "notes-save").click();
    await screen.settled();
    const calls = backend.callsTo("editRecordNotes");
    expect(calls).toHaveLength(1);
    expect(calls[0]![0]).toBe(TASK_ID);
    expect(calls[0]![1]).toEqual([
      { field: "place", value: fixtureView().address },
      { field: "started_at", value: NOW - 40 * MINUTE },
      { field: "ended_at", value: Date.UTC(2026, 10, 29, 2, 30) },
      { field: "party_present", value: "郭志明" },
      { field: "party_role", value: "店长" },
      { field: "legal_representative", value: "郭志明" },
      { field: "recorder", value: ME },
      { field: "credentials_answer", value: "看清楚了" },
      { field: "rights_answer", value: "清楚" },
      { field: "recusal_answer", value: "不申请" },
      { field: "party_statement", value: "对检查结果无异议" },
    ]);
    expect(backend.view.record_notes.party_statement).toBe("对检查结果无异议");
    expect(get(el, "record-notes").dataset.dirty).toBe("false");
    expect(get<HTMLButtonElement>(el, "notes-save").disabled).toBe(true);
    expect(allByTestId(el, "notes-prefill-hint")).toHaveLength(0);

    // A second save sends only what changed since.
    type(get<HTMLInputElement>(el, "notes-witness"), "李四");
    await nextTick();
    get(el, "notes-save").click();
    await screen.settled();
    expect(backend.callsTo("editRecordNotes")[1]![1]).toEqual([{ field: "witness", value: "李四" }]);
  });

  it("keeps what the inspector typed when another tablet's fields arrive", async () => {
    const { el, screen, backend } = await openRecord();
    type(get<HTMLInputElement>(el, "notes-party-role"), "店长");
    // A colleague's statement arrives with a sync.
    backend.views.set(TASK_ID, { ...backend.view, record_notes: { ...backend.view.record_notes, party_statement: "无异议", witness: "王五" } });
    await screen.refresh();
    await screen.settled();
    expect(get<HTMLTextAreaElement>(el, "notes-statement").value).toBe("无异议");
    expect(get<HTMLInputElement>(el, "notes-witness").value).toBe("王五");
    expect(get<HTMLInputElement>(el, "notes-party-role").value).toBe("店长");
    get(el, "notes-save").click();
    await screen.settled();
    const sent = backend.callsTo("editRecordNotes")[0]![1] as { field: string }[];
    expect(sent.map((e) => e.field)).not.toContain("party_statement");
    expect(sent.map((e) => e.field)).not.toContain("witness");
    expect(backend.view.record_notes.party_statement).toBe("无异议");
  });

  it("refuses an end before the start without calling the tablet", async () => {
    const { el, screen, backend } = await openRecord();
    type(get<HTMLInputElement>(el, "notes-ended-at"), "2026-11-29T09:00");
    get(el, "notes-save").click();
    await screen.settled();
    expect(get(el, "notes-error").hidden).toBe(false);
    expect(get(el, "notes-error").textContent).toBe("检查结束时间不能早于开始时间。");
    expect(backend.callsTo("editRecordNotes")).toHaveLength(0);
  });

  it("shows the tablet's refusal in the banner and keeps the form", async () => {
    const { el, screen, backend } = await openRecord();
    backend.failNext("editRecordNotes", new BackendError("task.record_notes", "the record's party_statement is 2001 characters"));
    type(get<HTMLTextAreaElement>(el, "notes-statement"), "陈述");
    get(el, "notes-save").click();
    await screen.settled();
    expect(get(el, "task-error").textContent).toContain("笔录填写有误");
    expect(get<HTMLTextAreaElement>(el, "notes-statement").value).toBe("陈述");
    expect(get(el, "record-notes").dataset.dirty).toBe("true");
  });

  it("is read-only once the task cannot be edited, and can still be printed", async () => {
    const view = fixtureView();
    view.editable = false;
    view.status = "submitted";
    const { el, screen, backend } = await mount({ backend: new TaskBackend(view) });
    get(el, "tab-record").click();
    await nextTick();
    expect(get<HTMLInputElement>(el, "notes-place").disabled).toBe(true);
    expect(get<HTMLButtonElement>(el, "notes-save").disabled).toBe(true);
    get(el, "print-record").click();
    await screen.settled();
    expect(backend.callsTo("editRecordNotes")).toHaveLength(0);
    expect(get(el, "print-result").dataset.recorded).toBe("false");
  });

  it("saves the form, prints the record and shows where the PDF is", async () => {
    const { el, screen, backend } = await openRecord();
    type(get<HTMLTextAreaElement>(el, "notes-statement"), "无异议");
    get(el, "print-record").click();
    await screen.settled();
    expect(backend.callsTo("editRecordNotes")).toHaveLength(1);
    expect(backend.callsTo("printRecord")).toEqual([[TASK_ID]]);
    const path = get(el, "print-path").textContent ?? "";
    expect(path).toMatch(/^\/data\/prints\/JX-2026-000007-[0-9a-f]{8}\.pdf$/);
    expect(get(el, "print-result").dataset.recorded).toBe("true");
    expect(allByTestId(el, "print-entry")).toHaveLength(1);
    expect(get(el, "print-entry").textContent).toContain("钟志强");
    expect(get(el, "tab-record").textContent).toContain("1");
  });

  it("speaks English when asked, the notices staying in Chinese as printed", async () => {
    const i18n = new I18n();
    i18n.setLang("en");
    const { el } = await mount({ i18n });
    get(el, "tab-record").click();
    await nextTick();
    expect(get(el, "tab-record").textContent).toContain("Record");
    expect(get(el, "notes-save").textContent).toContain("Save the record");
    expect(get(el, "print-record").textContent).toContain("Print record");
    expect(allByTestId(el, "notes-question")[2]!.textContent).toContain("你是否申请回避？");
  });
});

describe("the record's logic", () => {
  it("converts datetime-local values in the tablet's time zone", () => {
    const ms = Date.UTC(2026, 10, 29, 2, 30);
    expect(dateTimeInputValue(ms, TZ)).toBe("2026-11-29T10:30");
    expect(parseDateTimeInput("2026-11-29T10:30", TZ)).toBe(ms);
    expect(parseDateTimeInput("2026-11-29T10:30", "UTC")).toBe(Date.UTC(2026, 10, 29, 10, 30));
    expect(parseDateTimeInput("yesterday", TZ)).toBeNull();
    expect(dateTimeInputValue(null, TZ)).toBe("");
  });

  it("asks nothing of fields left as stored", () => {
    const view = fixtureView();
    view.record_notes = { ...prefilled(view) };
    expect(editsBetween(view.record_notes, prefilled(view))).toEqual([]);
    expect(noticeQuestions("", [COLLEAGUE]).credentials_answer).toContain("我们是本机关的执法人员I-005");
  });
});
