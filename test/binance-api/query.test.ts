import { describe, expect, it } from "vitest";
import { BinanceRequestError } from "../../src/binance-api/errors.js";
import { klinesQueryOf } from "../../src/binance-api/query.js";
import type { MarketType } from "../../src/market.js";

const query = (market: MarketType, params: Record<string, string>) => klinesQueryOf(market, new URLSearchParams(params));
/** The Binance code and message a query is refused with. */
const refusal = (market: MarketType, params: Record<string, string>) => {
  try {
    query(market, params);
  } catch (error) {
    if (error instanceof BinanceRequestError) return { code: error.binanceCode, msg: error.message };
    throw error;
  }
  throw new Error("not refused");
};

describe("klinesQueryOf", () => {
  it("reads Binance's parameters, with Binance's default limit", () => {
    expect(query("spot", { symbol: "BTCUSDT", interval: "1h", startTime: "1704067200000" })).toEqual({
      symbol: "BTCUSDT", interval: "1h", price: "trade", startTime: 1704067200000, endTime: null, limit: 500,
    });
    expect(query("futures", { symbol: "BTCUSDT", interval: "1M", endTime: "1704067200000", limit: "1500" })).toMatchObject({ endTime: 1704067200000, limit: 1500 });
  });

  it("reads index candles' pair where the other kinds read symbol, and refuses its absence by that name", () => {
    const params = new URLSearchParams({ pair: "BTCUSDT", interval: "1h" });
    expect(klinesQueryOf("futures", params, "index")).toMatchObject({ symbol: "BTCUSDT", price: "index" });
    expect(() => klinesQueryOf("futures", new URLSearchParams({ symbol: "BTCUSDT", interval: "1h" }), "index")).toThrow(
      "Mandatory parameter 'pair' was not sent, was empty/null, or malformed.",
    );
    expect(klinesQueryOf("futures", new URLSearchParams({ symbol: "BTCUSDT", interval: "1h" }), "mark")).toMatchObject({ symbol: "BTCUSDT", price: "mark" });
  });

  it("takes spot's timestamps in microseconds, as Binance does", () => {
    expect(query("spot", { symbol: "BTCUSDT", interval: "1m", startTime: "1704067200000000" }).startTime).toBe(1704067200000);
  });

  it("refuses what Binance refuses, in Binance's words", () => {
    expect(refusal("spot", { interval: "1h" })).toEqual({ code: -1102, msg: "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed." });
    expect(refusal("spot", { symbol: "btc usdt", interval: "1h" }).code).toBe(-1100);
    expect(refusal("spot", { symbol: "BTCUSDT" })).toEqual({ code: -1102, msg: "Mandatory parameter 'interval' was not sent, was empty/null, or malformed." });
    expect(refusal("spot", { symbol: "BTCUSDT", interval: "7m" })).toEqual({ code: -1120, msg: "Invalid interval." });
    expect(refusal("futures", { symbol: "BTCUSDT", interval: "1s" })).toEqual({ code: -1120, msg: "Invalid interval." });
    expect(refusal("spot", { symbol: "BTCUSDT", interval: "1h", limit: "1001" })).toEqual({ code: -1130, msg: "Data sent for parameter 'limit' is not valid." });
    expect(refusal("futures", { symbol: "BTCUSDT", interval: "1h", limit: "1501" }).code).toBe(-1130);
    expect(refusal("spot", { symbol: "BTCUSDT", interval: "1h", startTime: "12.5" }).code).toBe(-1100);
    expect(refusal("spot", { symbol: "BTCUSDT", interval: "1h", startTime: "2", endTime: "1" })).toEqual({ code: -1023, msg: "Start time is greater than end time." });
  });

  it("serves UTC's candles only: a time zone that moves them is refused, one that does not is taken", () => {
    expect(query("spot", { symbol: "BTCUSDT", interval: "1d", timeZone: "+00:00" }).interval).toBe("1d");
    expect(refusal("spot", { symbol: "BTCUSDT", interval: "1d", timeZone: "+08:00" }).code).toBe(-1130);
  });
});
