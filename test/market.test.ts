import { describe, expect, it } from "vitest";
import { datasetIdSchema, isCalendarDate } from "../src/market.js";

describe("datasetIdSchema", () => {
  const valid = { symbol: "btcusdt", interval: "1m", start_date: "2021-10-22", end_date: "2021-10-23" };

  it("upper-cases the symbol, lower-cases the market and defaults it to spot", () => {
    expect(datasetIdSchema.parse({ ...valid, market_type: "FUTURES" })).toEqual({ ...valid, symbol: "BTCUSDT", market_type: "futures" });
    expect(datasetIdSchema.parse(valid).market_type).toBe("spot");
  });

  it("keeps 1m (a minute) and 1M (a month) apart and refuses other spellings", () => {
    expect(datasetIdSchema.parse({ ...valid, interval: "1M" }).interval).toBe("1M");
    expect(datasetIdSchema.safeParse({ ...valid, interval: "1H" }).success).toBe(false);
    expect(datasetIdSchema.safeParse({ ...valid, interval: "2m" }).success).toBe(false);
  });

  it("refuses unreal dates, reversed ranges and odd symbols, naming each field", () => {
    const result = datasetIdSchema.safeParse({ symbol: "BTC/USDT", interval: "1m", start_date: "2021-02-30", end_date: "2021-13-01", market_type: "margin" });
    expect(result.success).toBe(false);
    const fields = result.error?.issues.map((issue) => issue.path[0]).sort();
    expect(fields).toEqual(["end_date", "market_type", "start_date", "symbol"]);
    expect(datasetIdSchema.safeParse({ ...valid, start_date: "2021-10-24" }).error?.issues[0]?.path).toEqual(["end_date"]);
  });

  it("accepts a one-day range and leap days", () => {
    expect(datasetIdSchema.safeParse({ ...valid, start_date: "2024-02-29", end_date: "2024-02-29" }).success).toBe(true);
    expect(isCalendarDate("2023-02-29")).toBe(false);
    expect(isCalendarDate("2021-1-01")).toBe(false);
  });
});
