import { tableFromIPC } from "apache-arrow";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { metaKeyOf } from "../../src/cache/entries/objects.js";
import type { ErrorEnvelope } from "../../src/http/envelope.js";
import { PRICE_KIND_SPECS, type PriceKind } from "../../src/price-kinds.js";
import { startBinanceStandIn, type BinanceStandIn } from "../support/binance-standin.js";
import { testApp } from "../support/app.js";

/**
 * Futures' mark, index and premium-index candles, read through like trade candles: from Binance's own endpoints and
 * archive folders of each kind, kept in a folder of their own, fetched once.
 */
const NOW = "2024-06-15T12:30:30.000Z";
const RANGE = { symbol: "BTCUSDT", interval: "1h", start_date: "2024-03-01", end_date: "2024-04-30", market_type: "futures", format: "csv" };
const klinesUrl = (query: Record<string, string>) => `/api/v1/klines?${new URLSearchParams(query)}`;
const KINDS: { price: Exclude<PriceKind, "trade">; path: string; param: string }[] = [
  { price: "mark", path: "/fapi/v1/markPriceKlines", param: "symbol" },
  { price: "index", path: "/fapi/v1/indexPriceKlines", param: "pair" },
  { price: "premium", path: "/fapi/v1/premiumIndexKlines", param: "symbol" },
];

let standIn: BinanceStandIn;
beforeAll(async () => {
  standIn = await startBinanceStandIn({ now: () => Date.parse(NOW) });
});
afterAll(() => standIn.close());
beforeEach(() => standIn.reset());

/** Binance's candles of the kind with open times in [from, to), straight from the stand-in (its log put back). */
async function binanceRows(path: string, param: string, interval: string, fromMs: number, toMs: number): Promise<unknown[][]> {
  const rows: unknown[][] = [];
  const before = standIn.served.length;
  for (let start = fromMs; start < toMs; ) {
    const query = new URLSearchParams({ [param]: "BTCUSDT", interval, startTime: String(start), endTime: String(toMs - 1), limit: "1500" });
    const page = (await (await fetch(`${standIn.url}${path}?${query}`)).json()) as unknown[][];
    if (page.length === 0) break;
    rows.push(...page);
    start = (page.at(-1)?.[0] as number) + 1;
  }
  standIn.served.splice(before);
  return rows;
}

/** A stored CSV row's first six fields as numbers: what Binance's row says, as the original stores it. */
const numbersOf = (line: string) => line.split(",").slice(1, 6).map(Number);

describe.each(KINDS)("GET /api/v1/klines?price=$price", ({ price, path, param }) => {
  it("reads the kind's candles through from its own endpoint, keeps them in its own folder, and answers a repeat from the cache", async () => {
    const { app, store } = testApp({ binanceUrl: standIn.url, now: NOW });
    const expected = await binanceRows(path, param, "1h", Date.parse("2024-03-01T00:00:00Z"), Date.parse("2024-05-01T00:00:00Z"));
    expect(expected).toHaveLength((31 + 30) * 24);

    const cold = await app.request(klinesUrl({ ...RANGE, price }));

    expect(cold.status, await cold.clone().text()).toBe(200);
    expect(cold.headers.get("X-Cache")).toBe("MISS");
    const lines = (await cold.text()).trimEnd().split("\n");
    expect(lines[0]).toBe("timestamp,open,high,low,close,volume,close_time,quote_volume,trades,taker_base,taker_quote,ignore");
    expect(lines.slice(1).map(numbersOf)).toEqual(expected.map((row) => row.slice(1, 6).map(Number)));
    // Only the kind's endpoint was asked, never trade candles'.
    expect(Object.keys(standIn.requests).filter((asked) => asked.includes("lines"))).toEqual([path]);
    const folder = PRICE_KIND_SPECS[price].partitionsFolder;
    const april = { symbol: "BTCUSDT", interval: "1h" as const, start_date: "2024-04-01", end_date: "2024-04-30", market_type: "futures" as const };
    expect(await store.get(metaKeyOf({ ...april, folder }))).not.toBeNull();
    expect(await store.get(metaKeyOf({ ...april, folder: "partitions" }))).toBeNull();

    standIn.reset();
    const warm = await app.request(klinesUrl({ ...RANGE, price }));
    expect(warm.status).toBe(200);
    expect(warm.headers.get("X-Cache")).toBe("HIT");
    expect(warm.headers.get("X-Upstream-Requests")).toBe("0");
    expect(standIn.served).toEqual([]);
    expect((await warm.text()).trimEnd().split("\n")).toEqual(lines);
    // The same candles as a Feather file (the Arrow IPC file format), from the cache alone.
    const feather = new Uint8Array(await (await app.request(klinesUrl({ ...RANGE, price, format: "feather" }))).arrayBuffer());
    expect(Buffer.from(feather.subarray(-6)).toString("latin1")).toBe("ARROW1");
    expect(tableFromIPC(feather).numRows).toBe(lines.length - 1);
    expect(standIn.served).toEqual([]);

    // Trade candles of the same range are another series: fetched from /fapi/v1/klines, not these.
    const trade = await app.request(klinesUrl(RANGE));
    expect(trade.status).toBe(200);
    expect(trade.headers.get("X-Cache")).toBe("MISS");
    expect((await trade.text()).trimEnd().split("\n").slice(1)).not.toEqual(lines.slice(1));
  });

  it("takes a cold month of 1m candles from the kind's archive folder, checked as trade candles' files are", async () => {
    const { app } = testApp({ binanceUrl: standIn.url, archiveUrl: standIn.url, now: NOW });
    const query = { ...RANGE, interval: "1m", start_date: "2024-02-01", end_date: "2024-02-29", price };

    const cold = await app.request(klinesUrl(query));

    expect(cold.status).toBe(200);
    expect(cold.headers.get("X-Archive-Files")).toBe("1");
    expect(standIn.served.filter((asked) => asked.path.startsWith("/data/")).map((asked) => asked.path)).toContain(
      `/data/futures/um/monthly/${PRICE_KIND_SPECS[price].archiveFolder}/BTCUSDT/1m/BTCUSDT-1m-2024-02.zip`,
    );
    const lines = (await cold.text()).trimEnd().split("\n").slice(1);
    expect(lines).toHaveLength(29 * 1440);
    const expected = await binanceRows(path, param, "1m", Date.parse("2024-02-01T00:00:00Z"), Date.parse("2024-03-01T00:00:00Z"));
    expect(lines.map(numbersOf)).toEqual(expected.map((row) => row.slice(1, 6).map(Number)));
  });

  it("counts its answers apart from trade candles'", async () => {
    const { app, counters } = testApp({ binanceUrl: standIn.url, now: NOW });
    await app.request(klinesUrl({ ...RANGE, price }));
    await app.request(klinesUrl({ ...RANGE, price }));
    const keys = [`metrics:cache_miss:klines_futures_${price}`, `metrics:cache_hit:klines_futures_${price}`, "metrics:cache_miss:klines_futures"];
    // Counting is never waited for by the answer: wait for it here.
    await expect.poll(() => counters.read(keys)).toEqual({ [keys[0] as string]: 1, [keys[1] as string]: 1, [keys[2] as string]: 0 });
  });
});

describe("GET /api/v1/klines?price= refused", () => {
  it.each([
    [{ ...RANGE, market_type: "spot", price: "mark" }, "futures only"],
    [{ ...RANGE, price: "last" }, "must be one of trade mark index premium"],
  ])("%o: 400 on price", async (query, message) => {
    const { app } = testApp({ binanceUrl: standIn.url, now: NOW });
    const answer = await app.request(klinesUrl(query));
    expect(answer.status).toBe(400);
    const body = (await answer.json()) as ErrorEnvelope;
    expect(body.error.code).toBe("VALIDATION_ERROR");
    expect(body.error.issues?.find((issue) => issue.field === "price")?.message).toContain(message);
    expect(standIn.served).toEqual([]);
  });

  it("price given twice: 400", async () => {
    const { app } = testApp({ binanceUrl: standIn.url, now: NOW });
    const answer = await app.request(`${klinesUrl(RANGE)}&price=mark&price=index`);
    expect(answer.status).toBe(400);
  });
});
