import { describe, expect, it } from "vitest";
import { axisOf, monthMs, monthsBetween, yearsOf } from "../../../web/admin/months.js";

describe("the coverage picture's months", () => {
  it("lists every month between two, across years, both ends included", () => {
    expect(monthsBetween("2020-11", "2021-02")).toEqual(["2020-11", "2020-12", "2021-01", "2021-02"]);
    expect(monthsBetween("2021-02", "2021-02")).toEqual(["2021-02"]);
    expect(monthsBetween("2021-03", "2021-02")).toEqual([]);
    expect(monthsBetween("garbage", "2021-02")).toEqual([]);
    expect(monthsBetween("2000-01", "2100-01", 24)).toHaveLength(24);
  });

  it("spans the axis from the earliest first month to the latest last one, leaving out series that hold nothing", () => {
    const axis = axisOf([
      { first_month: "2021-03", last_month: "2021-04" },
      { first_month: null, last_month: null },
      { first_month: "2020-12", last_month: "2021-01" },
    ]);
    expect(axis).toEqual(["2020-12", "2021-01", "2021-02", "2021-03", "2021-04"]);
    expect(axisOf([{ first_month: null, last_month: null }])).toEqual([]);
  });

  it("labels each year over its months", () => {
    expect(yearsOf(["2020-11", "2020-12", "2021-01"])).toEqual([
      { year: "2020", months: 2 },
      { year: "2021", months: 1 },
    ]);
  });

  it("reads a month as its first instant, UTC", () => {
    expect(monthMs("2021-12", 1)).toBe(Date.UTC(2022, 0, 1));
    expect(monthMs("2021-13x")).toBeNaN();
  });
});
