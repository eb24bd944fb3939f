import { describe, expect, it } from "vitest";
import { calendarDay, formatClock, formatDate } from "./dates";
import { NOW, TZ } from "./testing/rows";

describe("formatDate", () => {
  it("writes Chinese and English dates in the given time zone", () => {
    expect(formatDate(NOW, "zh-CN", TZ)).toBe("2026年11月29日");
    expect(formatDate(NOW, "en-GB", TZ)).toBe("29 Nov 2026");
  });

  it("uses the local calendar day, not the UTC one", () => {
    const earlyMorningBeijing = Date.UTC(2026, 10, 28, 17, 30); // 01:30 on the 29th in Beijing
    expect(formatDate(earlyMorningBeijing, "zh-CN", TZ)).toBe("2026年11月29日");
    expect(formatDate(earlyMorningBeijing, "zh-CN", "UTC")).toBe("2026年11月28日");
  });
});

describe("calendarDay", () => {
  it("counts whole days in the time zone", () => {
    const lateEvening = Date.UTC(2026, 10, 29, 15, 59); // 23:59 in Beijing
    const nextMorning = Date.UTC(2026, 10, 29, 16, 1); // 00:01 next day in Beijing
    expect(calendarDay(nextMorning, TZ) - calendarDay(lateEvening, TZ)).toBe(1);
    expect(calendarDay(lateEvening, TZ) - calendarDay(NOW, TZ)).toBe(0);
  });
});

describe("formatClock", () => {
  it("writes the time of day, with the date when it is another day", () => {
    const earlier = NOW - 3 * 3_600_000 - 55 * 60_000; // 06:05 in Beijing
    expect(formatClock(earlier, NOW, "zh-CN", TZ)).toBe("06:05");
    expect(formatClock(earlier, NOW, "en-GB", TZ)).toBe("06:05");
    const yesterday = NOW - 20 * 3_600_000; // 14:00 on the 28th in Beijing
    expect(formatClock(yesterday, NOW, "zh-CN", TZ)).toBe("11月28日 14:00");
    expect(formatClock(yesterday, NOW, "en-GB", TZ)).toBe("28 Nov, 14:00");
  });
});
