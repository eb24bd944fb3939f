// @vitest-environment happy-dom
import { mount } from "@vue/test-utils";
import { describe, expect, it, vi } from "vitest";
import { consoleProvides, recordContextOf } from "../../console/context";
import { NOW, SIGNATURE, recordView, testConsole } from "../../console/testing/fixtures";
import { RECORD_CONTEXT, type RecordContext } from "./context";
import RecordFindings from "./RecordFindings.vue";
import RecordSignatures from "./RecordSignatures.vue";
import RecordTransfers from "./RecordTransfers.vue";

const DAY = 86_400_000;

function consoleGlobal() {
  const { context } = testConsole({});
  return { provide: consoleProvides(context) };
}

/** The console's record context with an app's own date formats, as the tablet gives them. */
function withOwnDates(): RecordContext {
  const { context } = testConsole({});
  return { ...recordContextOf(context), date: (ms) => `day ${ms}`, dateTime: (ms) => `time ${ms}` };
}

describe("RecordSignatures", () => {
  it("lists signatures and refusals with who signed, refused or not", () => {
    const wrapper = mount(RecordSignatures, { props: { record: recordView() }, global: consoleGlobal() });
    const rows = wrapper.findAll('[data-testid="record-signature"]');
    expect(rows.map((r) => [r.attributes("data-role"), r.attributes("data-refused")])).toEqual([
      ["inspector", "false"],
      ["enterprise", "true"],
    ]);
    // An inspector by name, anyone else as the record names them.
    expect(rows.map((r) => r.get('[data-testid="signature-signer"]').text())).toEqual(["张伟", "王五"]);
    expect(rows[0]?.text()).toContain("执法人员 张伟");
    expect(rows[0]?.find('[data-testid="signature-refusal"]').exists()).toBe(false);
    expect(rows[1]?.get('[data-testid="signature-refusal"]').text()).toBe("拒签：负责人不在场");
    expect(rows[1]?.find('[data-testid="signature-image"]').exists()).toBe(false);
  });

  it("shows plain images without an open listener (the console)", () => {
    const wrapper = mount(RecordSignatures, { props: { record: recordView() }, global: consoleGlobal() });
    expect(wrapper.find('[data-testid="signature-open"]').exists()).toBe(false);
    expect(wrapper.find("button").exists()).toBe(false);
    expect(wrapper.get('[data-testid="signature-image"]').attributes("data-sha256")).toBe(SIGNATURE);
  });

  it("makes each image a button that opens it when someone listens (the tablet)", async () => {
    const open = vi.fn();
    const wrapper = mount(RecordSignatures, { props: { record: recordView(), onOpen: open }, global: consoleGlobal() });
    const buttons = wrapper.findAll('[data-testid="signature-open"]');
    // The refusal has no image to open.
    expect(buttons).toHaveLength(1);
    expect(buttons[0]?.get('[data-testid="signature-image"]').attributes("data-sha256")).toBe(SIGNATURE);
    await buttons[0]?.trigger("click");
    expect(open).toHaveBeenCalledWith(SIGNATURE);
  });

  it("shows times the app's way when its context has one", () => {
    const wrapper = mount(RecordSignatures, { props: { record: recordView() }, global: { provide: { [RECORD_CONTEXT]: withOwnDates() } } });
    expect(wrapper.get('[data-testid="record-signature"]').text()).toContain(`time ${NOW - 2_000_000}`);
  });
});

describe("RecordFindings", () => {
  it("shows each finding with its item, order and deadline, in Beijing time by default", () => {
    const wrapper = mount(RecordFindings, { props: { record: recordView() }, global: consoleGlobal() });
    const finding = wrapper.get('[data-testid="record-finding"]');
    expect(finding.attributes("data-severity")).toBe("major");
    expect(finding.text()).toContain("冷藏柜温度 9.5 ℃，超过 8 ℃");
    expect(finding.text()).toContain("较重");
    expect(finding.get('[data-testid="record-finding-order"]').text()).toBe("三日内维修冷藏设备");
    const deadline = finding.get('[data-testid="record-finding-deadline"]');
    expect(deadline.attributes("data-ms")).toBe(String(NOW + 3 * DAY));
    expect(deadline.text()).toBe("2026/12/06");
    expect(finding.text()).toContain("张伟");
    // The transfers are RecordTransfers'.
    expect(wrapper.find('[data-testid="record-transfer"]').exists()).toBe(false);
  });

  it("shows dates the app's way when its context has one", () => {
    const wrapper = mount(RecordFindings, { props: { record: recordView() }, global: { provide: { [RECORD_CONTEXT]: withOwnDates() } } });
    expect(wrapper.get('[data-testid="record-finding-deadline"]').text()).toBe(`day ${NOW + 3 * DAY}`);
    expect(wrapper.get('[data-testid="record-finding"]').text()).toContain(`time ${NOW - 3_000_000}`);
  });

  it("says when there is none", () => {
    const wrapper = mount(RecordFindings, { props: { record: recordView({ findings: [] }) }, global: consoleGlobal() });
    expect(wrapper.text()).toBe("未发现问题");
  });
});

describe("RecordTransfers", () => {
  it("shows each transfer, criminal referrals flagged, with the evidence that went with it", () => {
    const record = recordView();
    record.lead_transfers.push({ id: "L-2", to_department: "青溪县住建局", summary: "违规搭建", evidence: ["a".repeat(64)], criminal: false, by: "I-002", at: NOW });
    const wrapper = mount(RecordTransfers, { props: { record }, global: consoleGlobal() });
    const rows = wrapper.findAll('[data-testid="record-transfer"]');
    expect(rows.map((r) => [r.attributes("data-transfer-id"), r.attributes("data-criminal")])).toEqual([
      ["L-1", "true"],
      ["L-2", "false"],
    ]);
    expect(rows[0]?.get('[data-testid="record-transfer-criminal"]').text()).toBe("行刑衔接");
    expect(rows[0]?.find('[data-testid="record-transfer-evidence"]').exists()).toBe(false);
    expect(rows[1]?.find('[data-testid="record-transfer-criminal"]').exists()).toBe(false);
    // A department the directory does not know, as typed.
    expect(rows[1]?.text()).toContain("移送至 青溪县住建局");
    expect(rows[1]?.get('[data-testid="record-transfer-evidence"]').text()).toBe("随附证据 1 件");
    expect(rows[1]?.text()).toContain("李娜");
  });

  it("says when there is none", () => {
    const wrapper = mount(RecordTransfers, { props: { record: recordView({ lead_transfers: [] }) }, global: consoleGlobal() });
    expect(wrapper.text()).toBe("没有移送");
  });
});
