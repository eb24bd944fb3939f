// @vitest-environment happy-dom
import { mount } from "@vue/test-utils";
import { describe, expect, it } from "vitest";
import { consoleProvides } from "../../console/context";
import { NOW, testConsole, timeline } from "../../console/testing/fixtures";
import RecordTimeline from "./RecordTimeline.vue";

describe("RecordTimeline", () => {
  const mountTimeline = (entries = timeline()) => {
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
});
