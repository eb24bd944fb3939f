import { describe, expect, it } from "vitest";
import { formatOf, kindOf } from "./importFile";

describe("import file names", () => {
  it("takes the format from the extension, in any case, and nothing else", () => {
    expect(formatOf("subjects.csv")).toBe("csv");
    expect(formatOf("SUBJECTS.CSV")).toBe("csv");
    expect(formatOf("items.2026.json")).toBe("json");
    expect(formatOf("subjects.xlsx")).toBeNull();
    expect(formatOf("subjects.csv.txt")).toBeNull();
    expect(formatOf("csv")).toBeNull();
    expect(formatOf(".csv")).toBeNull();
  });

  it("guesses the kind when the name starts with one, as the server's importer does", () => {
    expect(kindOf("subjects.csv")).toBe("subjects");
    expect(kindOf("Subjects-2026.CSV")).toBe("subjects");
    expect(kindOf("items_v2.json")).toBe("items");
    expect(kindOf("handbooks.2026.json")).toBe("handbooks");
    expect(kindOf("C:\\data\\teams.csv")).toBe("teams");
    expect(kindOf("subjectsall.csv")).toBeNull();
    expect(kindOf("my-subjects.csv")).toBeNull();
    expect(kindOf("名录.csv")).toBeNull();
  });
});
