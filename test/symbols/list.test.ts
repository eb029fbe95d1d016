import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { UpstreamUnavailableError } from "../../src/errors.js";
import { toSymbolList } from "../../src/symbols/list.js";
import { createBinanceClient, type BinanceClient } from "../../src/upstream/binance.js";
import futuresFixture from "../fixtures/binance/futures_exchange_info.json" with { type: "json" };
import spotFixture from "../fixtures/binance/spot_exchange_info.json" with { type: "json" };
import { startBinanceStandIn, type BinanceStandIn } from "../support/binance-standin.js";

describe("toSymbolList on the recorded responses", () => {
  it("lists spot symbols with exactly symbol, baseAsset, quoteAsset and status", () => {
    expect(toSymbolList(spotFixture, "spot")).toStrictEqual([
      { symbol: "BTCUSDT", baseAsset: "BTC", quoteAsset: "USDT", status: "TRADING" },
      { symbol: "ETHUSDT", baseAsset: "ETH", quoteAsset: "USDT", status: "TRADING" },
    ]);
  });

  it("lists only perpetual futures by default, with their contract type", () => {
    expect(toSymbolList(futuresFixture, "futures")).toStrictEqual([
      { symbol: "BTCUSDT", baseAsset: "BTC", quoteAsset: "USDT", status: "TRADING", contractType: "PERPETUAL" },
      { symbol: "ETHUSDT", baseAsset: "ETH", quoteAsset: "USDT", status: "TRADING", contractType: "PERPETUAL" },
    ]);
  });

  it("includes the CURRENT_QUARTER contract when asked, beside its perpetual", () => {
    const list = toSymbolList(futuresFixture, "futures", { contractTypes: ["PERPETUAL", "CURRENT_QUARTER"] });

    expect(list.map((s) => `${s.symbol}:${s.contractType}`)).toEqual([
      "BTCUSDT:PERPETUAL",
      "BTCUSDT_220325:CURRENT_QUARTER",
      "ETHUSDT:PERPETUAL",
    ]);
  });

  it("lists an empty symbol array as an empty list", () => {
    expect(toSymbolList({ symbols: [] }, "futures")).toEqual([]);
  });

  it.each([
    ["null", null, "spot"],
    ["symbols not an array", { symbols: 42 }, "spot"],
    ["a symbol without status", { symbols: [{ symbol: "BTCUSDT", baseAsset: "BTC", quoteAsset: "USDT" }] }, "spot"],
    ["a futures symbol without contractType", spotFixture, "futures"],
  ] as const)("reports a response with %s as an upstream error", (_name, body, market) => {
    expect(() => toSymbolList(body, market)).toThrow(UpstreamUnavailableError);
    expect(() => toSymbolList(body, market)).toThrow(/exchangeInfo has an unexpected shape/);
  });
});

describe("symbol lists fetched from the stand-in", () => {
  let standIn: BinanceStandIn;
  let client: BinanceClient;
  beforeAll(async () => {
    standIn = await startBinanceStandIn();
    client = createBinanceClient({ spotUrl: standIn.url, futuresUrl: standIn.url, maxRetries: 0 });
  });
  afterAll(() => standIn.close());
  beforeEach(() => standIn.reset());

  const symbolsOf = async (market: "spot" | "futures", contractTypes?: string[]) =>
    toSymbolList(await client.exchangeInfo(market), market, { contractTypes }).map((s) => s.symbol);

  it("orders spot: BTC ETH BNB SOL ADA AVAX DOT MATIC LINK UNI first, the rest by symbol", async () => {
    expect(await symbolsOf("spot")).toEqual([
      "BTCUSDT",
      "ETHUSDT",
      "BNBUSDT",
      "SOLUSDT",
      "ADAUSDT",
      "AVAXUSDT",
      "DOTUSDT",
      "MATICUSDT",
      "LINKUSDT",
      "UNIUSDT",
      "1INCHUSDT",
      "AAVEUSDT",
      "XRPUSDT",
    ]);
  });

  it("orders futures without LINK and UNI among the first, perpetuals only", async () => {
    expect(await symbolsOf("futures")).toEqual([
      "BTCUSDT",
      "ETHUSDT",
      "BNBUSDT",
      "SOLUSDT",
      "1000SHIBUSDT",
      "LINKUSDT",
      "UNIUSDT",
      "XRPUSDT",
    ]);
  });

  it("adds the quarterly contracts asked for, each beside its base asset", async () => {
    expect(await symbolsOf("futures", ["PERPETUAL", "CURRENT_QUARTER"])).toEqual([
      "BTCUSDT",
      "BTCUSDT_220325",
      "ETHUSDT",
      "ETHUSDT_220325",
      "BNBUSDT",
      "SOLUSDT",
      "1000SHIBUSDT",
      "LINKUSDT",
      "UNIUSDT",
      "XRPUSDT",
    ]);
  });

  it("answers an empty list when the exchange lists no symbols", async () => {
    standIn.set({ emptySymbols: { count: 1 } });

    expect(await symbolsOf("spot")).toEqual([]);
  });

  it("turns a JSON answer of the wrong shape into an upstream error", async () => {
    standIn.set({ garbage: { count: 1, body: '{"symbols":"soon"}' } });

    await expect(symbolsOf("futures")).rejects.toThrow(/futures exchangeInfo has an unexpected shape at symbols/);
  });
});
