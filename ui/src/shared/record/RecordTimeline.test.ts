// @vitest-environment happy-dom
import { mount } from "@vue/test-utils";
import { describe, expect, it } from "vitest";
import { consoleProvides, recordContextOf } from "../../console/context";
import { NOW, testConsole, timeline } from "../../console/testing/fixtures";
import { RECORD_CONTEXT, type RecordTimelineEntry } from "./context";
import RecordTimeline from "./RecordTimeline.vue";

describe("RecordTimeline", () => {
  const mountTimeline = (entries: RecordTimelineEntry[] = timeline()) => {
    const { context } = testConsole({});
    return mount(RecordTimeline, {
      props: { entries, people: new Map([["I-001", "张伟"], ["I-002", "李娜"]]) },
      global: { provide: consoleProvides(context) },
    });
  };

  it("shows the device time and the server's receipt time of each change side by side, in Beijing time", () => {
    const rows = mountTimeline().findAll('[data-testid="timeline-entry"]');
    expect(rows).toHaveLength(2);
    const first = rows[0];
    // NOW is 16:00:00 Beijing; the change was made 4,000 s earlier and received 1,000 s earlier.
    expect(first?.get('[data-testid="timeline-device-time"]').text()).toBe("2026/12/03 14:53:20");
    expect(first?.get('[data-testid="timeline-received-at"]').text()).toBe("2026/12/03 15:43:20");
    expect(first?.get('[data-testid="timeline-device-time"]').attributes("data-ms")).toBe(String(NOW - 4_000_000));
    expect(first?.get('[data-testid="timeline-received-at"]').attributes("data-ms")).toBe(String(NOW - 1_000_000));
    expect(first?.text()).toContain("张伟");
    expect(first?.text()).toContain("签到");
    expect(first?.text()).toContain("D-0001");
  });

  it("marks a device clock ahead of the server's receipt", () => {
    const rows = mountTimeline().findAll('[data-testid="timeline-entry"]');
    expect(rows[0]?.find('[data-testid="timeline-clock-ahead"]').exists()).toBe(false);
    expect(rows[1]?.find('[data-testid="timeline-clock-ahead"]').exists()).toBe(true);
    expect(rows[1]?.text()).toContain("李娜");
  });

  it("says when the server has no receipt", () => {
    const [entry] = timeline();
    const rows = mountTimeline([{ ...entry!, received_at: null }]).findAll('[data-testid="timeline-entry"]');
    expect(rows[0]?.get('[data-testid="timeline-received-at"]').text()).toBe("未接收");
  });

  it("shows only the device time of entries without receipts (the tablet's own history)", () => {
    const [entry] = timeline();
    const { received_at: _received, device_id: _device, ...own } = entry!;
    const wrapper = mountTimeline([{ ...own, person: null, role: null }]);
    const rows = wrapper.findAll('[data-testid="timeline-entry"]');
    expect(rows).toHaveLength(1);
    expect(rows[0]?.get('[data-testid="timeline-time"]').text()).toBe("2026/12/03 14:53:20");
    expect(rows[0]?.find('[data-testid="timeline-received-at"]').exists()).toBe(false);
    expect(rows[0]?.find('[data-testid="timeline-clock-ahead"]').exists()).toBe(false);
    expect(rows[0]?.get('[data-testid="timeline-person"]').text()).toBe(entry!.actor.slice(0, 12));
    expect(wrapper.text()).not.toContain("服务器接收时间");
  });

  it("uses the app's own device time, role and unknown-person words when its context has them", () => {
    const [entry] = timeline();
    const { context } = testConsole({});
    const record = {
      ...recordContextOf(context),
      deviceTime: (ms: number) => `at ${ms}`,
      roleName: (role: string) => `role ${role}`,
      unknownPerson: () => "nobody",
    };
    const rows = mount(RecordTimeline, {
      props: { entries: [{ ...entry!, role: "inspector" as const }, { ...entry!, hash: "ff", person: null }] },
      global: { provide: { [RECORD_CONTEXT]: record } },
    }).findAll('[data-testid="timeline-entry"]');
    expect(rows[0]?.get('[data-testid="timeline-time"]').text()).toBe(`at ${entry!.at}`);
    expect(rows[0]?.get('[data-testid="timeline-role"]').text()).toBe("role inspector");
    expect(rows[1]?.get('[data-testid="timeline-person"]').text()).toBe("nobody");
  });
});
