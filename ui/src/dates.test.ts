import { describe, expect, it } from "vitest";
import { calendarDay, dateInputValue, endOfDateInput, endOfDay, formatClock, formatDate, formatDateTime, startOfDay } from "./dates";
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

describe("startOfDay and endOfDay", () => {
  it("find the first and last millisecond of a calendar day in the time zone", () => {
    const day = calendarDay(NOW, TZ); // 29 Nov 2026
    expect(startOfDay(day, TZ)).toBe(Date.UTC(2026, 10, 28, 16, 0)); // 00:00 in Beijing
    expect(endOfDay(NOW, 0, TZ)).toBe(Date.UTC(2026, 10, 29, 16, 0) - 1); // 23:59:59.999 in Beijing
    expect(endOfDay(NOW, 3, TZ)).toBe(Date.UTC(2026, 11, 2, 16, 0) - 1);
    expect(endOfDay(NOW, 0, "UTC")).toBe(Date.UTC(2026, 10, 30) - 1);
    expect(calendarDay(endOfDay(NOW, 7, TZ), TZ)).toBe(day + 7);
    expect(calendarDay(endOfDay(NOW, 7, TZ) + 1, TZ)).toBe(day + 8);
  });

  it("follow the clocks when they change", () => {
    // London goes back from BST (UTC+1) to GMT at 02:00 on 25 Oct 2026: that day has 25 hours.
    const autumn = Date.UTC(2026, 9, 25, 12, 0);
    expect(startOfDay(calendarDay(autumn, "Europe/London"), "Europe/London")).toBe(Date.UTC(2026, 9, 24, 23, 0));
    expect(endOfDay(autumn, 0, "Europe/London")).toBe(Date.UTC(2026, 9, 26, 0, 0) - 1);
    // Santiago jumps from 00:00 (UTC−4) to 01:00 (UTC−3) on 6 Sep 2026: that day starts at 01:00.
    const spring = Date.UTC(2026, 8, 6, 12, 0);
    expect(startOfDay(calendarDay(spring, "America/Santiago"), "America/Santiago")).toBe(Date.UTC(2026, 8, 6, 4, 0));
    expect(endOfDay(spring, -1, "America/Santiago")).toBe(Date.UTC(2026, 8, 6, 4, 0) - 1);
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

describe("formatDateTime", () => {
  it("writes the date and the time of day", () => {
    expect(formatDateTime(NOW, "zh-CN", TZ)).toBe(`${formatDate(NOW, "zh-CN", TZ)} ${formatClock(NOW, NOW, "zh-CN", TZ)}`);
    expect(formatDateTime(NOW, "en-GB", TZ)).toBe(`${formatDate(NOW, "en-GB", TZ)}, ${formatClock(NOW, NOW, "en-GB", TZ)}`);
  });
});

describe("date inputs", () => {
  it("name the local day and end at its last millisecond, across a clock change", () => {
    expect(dateInputValue(NOW, TZ)).toBe("2026-11-29");
    expect(endOfDateInput("2026-11-29", TZ)).toBe(endOfDay(NOW, 0, TZ));
    expect(endOfDateInput("2026-10-25", "Europe/London")).toBe(Date.UTC(2026, 9, 25, 23, 59, 59, 999));
    expect(endOfDateInput("2026-10-24", "Europe/London")).toBe(Date.UTC(2026, 9, 24, 22, 59, 59, 999));
    expect(endOfDateInput("2026-13-01", TZ)).toBeNull();
  });
});
