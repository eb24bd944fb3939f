import { describe, expect, it } from "vitest";
import { consoleRole } from "./api/types";
import { actionsFor } from "./review";

describe("actionsFor", () => {
  it("lets a supervisor return or approve a submitted record, and cancel it", () => {
    expect(actionsFor("submitted", "supervisor")).toEqual(["return", "approve", "cancel"]);
  });
  it("lets a supervisor publish an approved record", () => {
    expect(actionsFor("approved", "supervisor")).toEqual(["publish", "cancel"]);
  });
  it("lets only an admin reopen a published or cancelled task", () => {
    expect(actionsFor("published", "supervisor")).toEqual([]);
    expect(actionsFor("published", "admin")).toEqual(["reopen"]);
    expect(actionsFor("cancelled", "admin")).toEqual(["reopen"]);
  });
  it("offers an admin no review decisions", () => {
    expect(actionsFor("submitted", "admin")).toEqual(["cancel"]);
  });
  it("offers nothing without a status", () => {
    expect(actionsFor(null, "admin")).toEqual([]);
  });
});

describe("consoleRole", () => {
  it("gives an administrator's view to administrators only", () => {
    expect(consoleRole("admin")).toBe("admin");
    expect(consoleRole("supervisor")).toBe("supervisor");
    expect(consoleRole("inspector")).toBe("supervisor");
  });
});
