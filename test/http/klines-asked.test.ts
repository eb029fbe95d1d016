import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { metaKeyOf } from "../../src/cache/entries/objects.js";
import { partitionLeaseKey } from "../../src/counters/keys.js";
import type { ErrorEnvelope } from "../../src/http/envelope.js";
import { partitionEntryName } from "../../src/klines/leases.js";
import { fill, type FillAnswer } from "../../src/klines/fill.js";
import { partitionsOf } from "../../src/klines/plan.js";
import { deadlineIn } from "../../src/deadline.js";
import { datasetIdSchema } from "../../src/market.js";
import { startBinanceStandIn, type BinanceStandIn } from "../support/binance-standin.js";
import { testApp, type TestAppOptions } from "../support/app.js";
import { jsonOf } from "../support/json.js";

/**
 * The read-through where the answerer only reads (the klines function on Lambda): what a range lacks is asked of
 * the fill, the one writer, and served from the store once stored.
 */
const NOW = "2026-11-25T12:00:30.000Z";
const Q1 = { symbol: "BTCUSDT", interval: "1h", start_date: "2026-01-01", end_date: "2026-03-31", format: "csv" };
const klinesUrl = (query: Record<string, string>) => `/api/v1/klines?${new URLSearchParams(query)}`;

let standIn: BinanceStandIn;
beforeAll(async () => {
  standIn = await startBinanceStandIn({ now: () => Date.parse(NOW), unknownSymbols: ["NOPEUSDT"] });
});
afterAll(() => standIn.close());
beforeEach(() => standIn.reset());

const asked = (options: TestAppOptions = {}) => {
  const built = testApp({ binanceUrl: standIn.url, now: NOW, klinesFill: "asked", ...options });
  return { ...built, fill: built.fill as NonNullable<typeof built.fill> };
};
const upstream = () => standIn.requests["/api/v3/klines"] ?? 0;

describe("GET /api/v1/klines on a read-only store, filled by asking", () => {
  it("answers a cold range as the inline read-through does, writing nothing itself; a repeat asks nobody", async () => {
    const inline = testApp({ binanceUrl: standIn.url, now: NOW });
    const expected = await (await inline.app.request(klinesUrl(Q1))).text();
    standIn.reset();
    const { app, fill, store } = asked();

    const cold = await app.request(klinesUrl(Q1));

    expect(cold.status).toBe(200);
    expect(await cold.text()).toBe(expected);
    expect(cold.headers.get("X-Partitions-Fetched")).toBe("3");
    expect(Number(cold.headers.get("X-Upstream-Requests"))).toBe(upstream());
    expect(upstream()).toBeGreaterThan(0);
    expect(fill.asked).toHaveLength(1);
    expect(fill.asked[0]).toMatchObject({ symbol: "BTCUSDT", interval: "1h", start_date: "2026-01-01", end_date: "2026-03-31", market_type: "spot" });
    expect(fill.readOnly.writes).toEqual([]);
    // The fill wrote the months, where the reader reads them.
    expect(await store.get(metaKeyOf({ ...Q1, interval: "1h", market_type: "spot", start_date: "2026-02-01", end_date: "2026-02-28", folder: "partitions" }))).not.toBeNull();

    const before = upstream();
    const warm = await app.request(klinesUrl(Q1));

    expect(warm.status).toBe(200);
    expect(await warm.text()).toBe(expected);
    expect(warm.headers.get("X-Cache")).toBe("HIT");
    expect(upstream()).toBe(before);
    expect(fill.asked).toHaveLength(1);
    expect(fill.readOnly.writes).toEqual([]);
  });

  it("asks the fill for a price kind's range with its kind, and serves it as the inline read-through does", async () => {
    const query = { ...Q1, market_type: "futures", price: "mark" };
    const inline = testApp({ binanceUrl: standIn.url, now: NOW });
    const expected = await (await inline.app.request(klinesUrl(query))).text();
    standIn.reset();
    const { app, fill } = asked();

    const cold = await app.request(klinesUrl(query));

    expect(cold.status).toBe(200);
    expect(await cold.text()).toBe(expected);
    expect(fill.asked).toEqual([{ symbol: "BTCUSDT", interval: "1h", start_date: "2026-01-01", end_date: "2026-03-31", market_type: "futures", price: "mark" }]);
    expect(fill.readOnly.writes).toEqual([]);
    expect(standIn.requests["/fapi/v1/markPriceKlines"]).toBeGreaterThan(0);
    expect(standIn.requests["/fapi/v1/klines"]).toBeUndefined();

    const warm = await app.request(klinesUrl(query));
    expect(warm.headers.get("X-Cache")).toBe("HIT");
    expect(fill.asked).toHaveLength(1);
  });

  it("answers the fill's own errors as they are: a symbol Binance does not list is the same 4xx", async () => {
    const query = { ...Q1, symbol: "NOPEUSDT", format: "json" };
    const inline = await testApp({ binanceUrl: standIn.url, now: NOW }).app.request(klinesUrl(query));
    const { app, fill } = asked();

    const res = await app.request(klinesUrl(query));

    expect(inline.status).toBeGreaterThanOrEqual(400);
    expect(inline.status).toBeLessThan(500);
    expect(res.status).toBe(inline.status);
    expect((await jsonOf<ErrorEnvelope>(res)).error.code).toBe((await jsonOf<ErrorEnvelope>(inline)).error.code);
    expect(fill.asked).toHaveLength(1);
    expect(fill.readOnly.writes).toEqual([]);
  });

  it("does not ask again for months a fill is fetching: it looks for them, then answers 503 with how far they got", async () => {
    const built = asked();
    const id = datasetIdSchema.parse(Q1);
    const [january] = partitionsOf(id, Date.parse(NOW));
    // Another fill holds January's lease.
    expect(await built.leases.acquire(partitionLeaseKey(partitionEntryName(january!)), 60_000)).not.toBeNull();
    // February and March are stored already; January, whose fill is under way, is not.
    await built.fill.filler.klines.get({ ...id, start_date: "2026-02-01" }, {});
    standIn.reset();

    const res = await built.app.request(klinesUrl({ ...Q1, format: "json" }));

    expect(res.status).toBe(503);
    expect(Number(res.headers.get("Retry-After"))).toBeGreaterThan(0);
    const { error } = await jsonOf<ErrorEnvelope>(res);
    expect(error.code).toBe("UPSTREAM_UNAVAILABLE");
    expect(error.details).toMatchObject({ partitions: 3, partitions_stored: 2 });
    expect(built.fill.asked).toHaveLength(0);
    expect(upstream()).toBe(0);
  });

  it("answers 503 with when to ask again while Binance is down, and keeps what the fill proved", async () => {
    const { app, fill } = asked();
    standIn.set({ serverError: { count: Infinity, after: 1 } });

    const res = await app.request(klinesUrl({ ...Q1, format: "json" }));

    expect(res.status).toBe(503);
    expect(Number(res.headers.get("Retry-After"))).toBeGreaterThan(0);
    const { error } = await jsonOf<ErrorEnvelope>(res);
    expect(error.code).toBe("UPSTREAM_UNAVAILABLE");
    expect(error.details).toMatchObject({ partitions: 3, partitions_stored: 1 });
    expect(fill.asked).toHaveLength(1);
    expect(fill.readOnly.writes).toEqual([]);
  });

  it("answers 503 when the fill outlasts the request's time; the fill goes on, and the next request is served", async () => {
    let filling: Promise<FillAnswer> | undefined;
    const built = asked({
      klinesDeadlineMs: 100,
      // The fill runs to its end; its answer comes after the request's time is up.
      askFill: (request, signal) => {
        filling = fill(built.fill.filler.klines, request, deadlineIn(built.clock, 60_000));
        return new Promise((_, fail) => signal?.addEventListener("abort", () => fail(signal.reason as Error), { once: true }));
      },
    });

    const late = await built.app.request(klinesUrl({ ...Q1, format: "json" }));

    expect(late.status).toBe(503);
    expect(Number(late.headers.get("Retry-After"))).toBeGreaterThan(0);
    expect((await jsonOf<ErrorEnvelope>(late)).error.code).toBe("UPSTREAM_UNAVAILABLE");
    expect(await filling).toMatchObject({ ok: true, partitions: 3 });

    const next = await built.app.request(klinesUrl(Q1));

    expect(next.status).toBe(200);
    expect(next.headers.get("X-Cache")).toBe("HIT");
    expect(built.fill.readOnly.writes).toEqual([]);
  });

  it("answers 503 naming no internals when the fill cannot be asked, and logs why", async () => {
    const unreachable = new Error("connect ECONNREFUSED arn:aws:lambda:eu-west-1:123456789012:function:candle-cache-prod-fill");
    const { app, logs, fill } = asked({ askFill: () => Promise.reject(unreachable) });

    const res = await app.request(klinesUrl({ ...Q1, format: "json" }));

    expect(res.status).toBe(503);
    expect(Number(res.headers.get("Retry-After"))).toBeGreaterThan(0);
    const text = await res.text();
    expect(JSON.parse(text)).toMatchObject({ error: { code: "UPSTREAM_UNAVAILABLE", details: { partitions: 3, partitions_stored: 0 } } });
    expect(text).not.toContain("arn:");
    expect(text).not.toContain("ECONNREFUSED");
    expect(logs.find((line) => line.event === "klines_fill_not_asked")).toBeDefined();
    expect(upstream()).toBe(0);
    expect(fill.readOnly.writes).toEqual([]);
  });
});
