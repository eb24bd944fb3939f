import { describe, expect, it } from "vitest";
import { beijingDay, beijingDayEnd, beijingDayStart, formatDateTime, formatDateTimeSeconds } from "./format";

describe("Beijing time", () => {
  // 2026-12-03 17:30:05 UTC is 2026-12-04 01:30:05 in Beijing.
  const ms = Date.UTC(2026, 11, 3, 17, 30, 5);

  it("shows times in Asia/Shanghai whatever the machine's zone", () => {
    expect(formatDateTime(ms, "zh-CN")).toBe("2026/12/04 01:30");
    expect(formatDateTimeSeconds(ms, "zh-CN")).toBe("2026/12/04 01:30:05");
    expect(formatDateTime(ms, "en-GB")).toBe("04/12/2026, 01:30");
  });

  it("maps days to and from Beijing midnights", () => {
    expect(beijingDay(ms)).toBe("2026-12-04");
    expect(beijingDayStart("2026-12-04")).toBe(Date.UTC(2026, 11, 3, 16, 0, 0));
    expect(beijingDayEnd("2026-12-04")).toBe(Date.UTC(2026, 11, 4, 16, 0, 0) - 1);
    expect(beijingDay(beijingDayStart("2026-12-04") ?? 0)).toBe("2026-12-04");
    expect(beijingDayStart("2026-02-30")).toBeNull();
    expect(beijingDayStart("tomorrow")).toBeNull();
  });
});
