import { describe, expect, it } from "vitest";
import { haversineMetres } from "./geo";

describe("haversineMetres", () => {
  it("is zero for the same point", () => {
    expect(haversineMetres({ lat: 30.27, lon: 120.13 }, { lat: 30.27, lon: 120.13 })).toBe(0);
  });

  it("gives about 111.2 km for one degree of latitude", () => {
    const d = haversineMetres({ lat: 30, lon: 120 }, { lat: 31, lon: 120 });
    expect(d).toBeGreaterThan(111_150);
    expect(d).toBeLessThan(111_250);
  });

  it("shrinks a degree of longitude with the cosine of the latitude", () => {
    const atEquator = haversineMetres({ lat: 0, lon: 120 }, { lat: 0, lon: 121 });
    const at60 = haversineMetres({ lat: 60, lon: 120 }, { lat: 60, lon: 121 });
    expect(at60 / atEquator).toBeCloseTo(0.5, 3);
  });

  it("measures a short distance within a few metres (Tian'anmen → Wangfujing, ~ 1.28 km)", () => {
    // 天安门 (39.9087, 116.3975) to 王府井 (39.9149, 116.4103): about 1.28 km.
    const d = haversineMetres({ lat: 39.9087, lon: 116.3975 }, { lat: 39.9149, lon: 116.4103 });
    expect(Math.round(d)).toBeGreaterThan(1_250);
    expect(Math.round(d)).toBeLessThan(1_310);
  });

  it("is symmetric", () => {
    const a = { lat: 22.54, lon: 114.06 };
    const b = { lat: 31.23, lon: 121.47 };
    expect(haversineMetres(a, b)).toBeCloseTo(haversineMetres(b, a), 6);
    // Shenzhen to Shanghai is about 1,200 km as the crow flies.
    expect(haversineMetres(a, b) / 1000).toBeGreaterThan(1_150);
    expect(haversineMetres(a, b) / 1000).toBeLessThan(1_250);
  });
});
