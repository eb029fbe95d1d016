import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { tableFromIPC } from "apache-arrow";
import { setTimeout as delay } from "node:timers/promises";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { fixedClock } from "../../src/clock.js";
import { createMemoryLeases } from "../../src/counters/memory.js";
import { createFsStore } from "../../src/storage/fs.js";
import { metaKeyOf } from "../../src/cache/entries/objects.js";
import type { ErrorEnvelope } from "../../src/http/envelope.js";
import { startBinanceStandIn, type BinanceStandIn, type FundingRecord } from "../support/binance-standin.js";
import { testApp } from "../support/app.js";
import { tempDir } from "../support/fixtures.js";

/**
 * GET /api/v1/funding: a USD-M symbol's funding rates read through month entries, each month fetched once and kept
 * when proven complete by evidence (a record after it, or the symbol's history ending before it), never by counting.
 */
const NOW = "2024-06-15T12:30:30.000Z";
const HOUR = 3_600_000;
const fundingUrl = (query: Record<string, string>) => `/api/v1/funding?${new URLSearchParams(query)}`;
const RANGE = { symbol: "BTCUSDT", start_date: "2024-01-01", end_date: "2024-04-30" };
const ms = (iso: string) => Date.parse(iso);

let standIn: BinanceStandIn;
let options: Parameters<typeof startBinanceStandIn>[0] = {};
beforeAll(async () => {
  standIn = await startBinanceStandIn({
    now: () => nowMs,
    fundingCadence: {
      // 8 h, then 4 h from March, then 1 h from April 10: a cadence that changes inside the range.
      ETHUSDT: [
        { fromMs: 0, hours: 8 },
        { fromMs: ms("2024-03-01T00:00:00Z"), hours: 4 },
        { fromMs: ms("2024-04-10T00:00:00Z"), hours: 1 },
      ],
    },
    listedAt: { NEWUSDT: ms("2024-02-10T08:00:00Z") },
    delistedAt: { OLDUSDT: ms("2024-03-10T00:00:00Z") },
    unknownSymbols: ["NOPEUSDT"],
    ...options,
  });
});
afterAll(() => standIn.close());
let nowMs = ms(NOW);
beforeEach(() => {
  standIn.reset();
  nowMs = ms(NOW);
  options = {};
});

/** Binance's records of the symbol with times in [fromMs, toMs), straight from the stand-in (its log put back). */
async function binanceRecords(symbol: string, fromMs: number, toMs: number): Promise<FundingRecord[]> {
  const records: FundingRecord[] = [];
  const before = standIn.served.length;
  for (let start = fromMs; start < toMs; ) {
    const query = new URLSearchParams({ symbol, startTime: String(start), endTime: String(toMs - 1), limit: "1000" });
    const page = (await (await fetch(`${standIn.url}/fapi/v1/fundingRate?${query}`)).json()) as FundingRecord[];
    if (page.length === 0) break;
    records.push(...page);
    start = (page.at(-1) as FundingRecord).fundingTime + 1;
  }
  standIn.served.splice(before);
  return records;
}

/** A stored CSV line of a record, as the native CSV answer writes it. */
const lineOf = (record: FundingRecord) => {
  const time = new Date(record.fundingTime).toISOString().replace("T", " ").replace("Z", "");
  return `${time},${record.symbol},${record.fundingRate},${record.markPrice}`;
};

const fundingRequests = () => standIn.requests["/fapi/v1/fundingRate"] ?? 0;

describe("GET /api/v1/funding", () => {
  it("reads a range's funding rates through, keeps each month in the funding folder, and answers a repeat from the cache", async () => {
    const { app, store, deriver } = testApp({ binanceUrl: standIn.url, now: NOW });
    const expected = await binanceRecords("BTCUSDT", ms("2024-01-01T00:00:00Z"), ms("2024-05-01T00:00:00Z"));
    expect(expected).toHaveLength((31 + 29 + 31 + 30) * 3);
    standIn.reset();

    const cold = await app.request(fundingUrl({ ...RANGE, format: "csv" }));

    expect(cold.status, await cold.clone().text()).toBe(200);
    expect(cold.headers.get("X-Cache")).toBe("MISS");
    const lines = (await cold.text()).trimEnd().split("\n");
    expect(lines[0]).toBe("funding_time,symbol,funding_rate,mark_price");
    expect(lines.slice(1)).toEqual(expected.map(lineOf));
    // One page of 1,000 reaches past April: the record after each month proves it complete.
    expect(fundingRequests()).toBe(1);
    const april = { symbol: "BTCUSDT", interval: "1M" as const, start_date: "2024-04-01", end_date: "2024-04-30", market_type: "futures" as const };
    const stored = await store.get(metaKeyOf({ ...april, folder: "funding" }));
    const meta = JSON.parse(Buffer.from(stored ?? new Uint8Array()).toString("utf8")) as { funding?: { complete: boolean } };
    expect(meta.funding?.complete).toBe(true);
    // No derived forms are made for funding months: no answer reads them (a month is a few KB, converted per request).
    await deriver.idle();
    expect((await store.list("funding/")).filter((object) => !/(\.csv|_meta\.json)$/.test(object.key))).toEqual([]);

    standIn.reset();
    const warm = await app.request(fundingUrl({ ...RANGE, format: "csv" }));
    expect(warm.headers.get("X-Cache")).toBe("HIT");
    expect(warm.headers.get("X-Upstream-Requests")).toBe("0");
    expect(standIn.served).toEqual([]);
    expect((await warm.text()).trimEnd().split("\n")).toEqual(lines);

    // Counted apart from candles, as the metrics endpoint shows them.
    const metrics = (await (await app.request("/api/v1/metrics")).json()) as { data: { caches: Record<string, { hits: number; misses: number }>; counters: Record<string, number> } };
    expect(metrics.data.caches.funding_futures).toMatchObject({ hits: 1, misses: 1 });
    expect(metrics.data.counters["metrics:upstream_requests:funding_futures"]).toBe(1);
    expect(metrics.data.caches.klines_futures).toMatchObject({ hits: 0, misses: 0 });
  });

  it("keeps every record across a cadence that changes (8 h, 4 h, 1 h), judged by evidence, not by counting", async () => {
    const { app } = testApp({ binanceUrl: standIn.url, now: NOW });
    const expected = await binanceRecords("ETHUSDT", ms("2024-02-01T00:00:00Z"), ms("2024-05-01T00:00:00Z"));
    expect(new Set(expected.slice(1).map((record, at) => (record.fundingTime - (expected[at] as FundingRecord).fundingTime) / HOUR))).toEqual(new Set([8, 4, 1]));

    const res = await app.request(fundingUrl({ symbol: "ETHUSDT", start_date: "2024-02-01", end_date: "2024-04-30", format: "csv" }));

    expect(res.status).toBe(200);
    expect((await res.text()).trimEnd().split("\n").slice(1)).toEqual(expected.map(lineOf));
    standIn.reset();
    const again = await app.request(fundingUrl({ symbol: "ETHUSDT", start_date: "2024-02-01", end_date: "2024-04-30" }));
    expect(again.headers.get("X-Upstream-Requests")).toBe("0");
  });

  it("answers json, parquet and arrow typed: funding_time a UTC instant, rate and mark price numbers", async () => {
    const { app } = testApp({ binanceUrl: standIn.url, now: NOW });
    const expected = await binanceRecords("BTCUSDT", ms("2024-03-01T00:00:00Z"), ms("2024-03-03T00:00:00Z"));
    const range = { symbol: "btcusdt", start_date: "2024-03-01", end_date: "2024-03-02" };

    const json = (await (await app.request(fundingUrl(range))).json()) as { data: { meta: { symbol: string; rows: number }; rows: Record<string, unknown>[] } };
    expect(json.data.meta).toMatchObject({ symbol: "BTCUSDT", market_type: "futures", rows: 6, reaches_now: false, unproven: [] });
    expect(json.data.rows).toEqual(
      expected.map((record) => ({
        funding_time: new Date(record.fundingTime).toISOString(),
        symbol: "BTCUSDT",
        funding_rate: Number(record.fundingRate),
        mark_price: Number(record.markPrice),
      })),
    );

    const parquet = await app.request(fundingUrl({ ...range, format: "parquet" }));
    expect(parquet.status).toBe(200);
    const path = join(tempDir(), "funding.parquet");
    writeFileSync(path, Buffer.from(await parquet.arrayBuffer()));
    const duck = await (await DuckDBInstance.create(":memory:")).connect();
    const described = (await duck.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet('${path}')`)).getRowObjectsJS();
    const read = (await duck.runAndReadAll(`SELECT epoch_ms(funding_time) AS t, funding_rate, mark_price FROM read_parquet('${path}') ORDER BY t`)).getRowObjectsJS();
    duck.closeSync();
    expect(described.map((column) => [column.column_name, column.column_type])).toEqual([
      ["funding_time", "TIMESTAMP WITH TIME ZONE"],
      ["symbol", "VARCHAR"],
      ["funding_rate", "DOUBLE"],
      ["mark_price", "DOUBLE"],
    ]);
    expect(read.map((row) => [Number(row.t), row.funding_rate, row.mark_price])).toEqual(
      expected.map((record) => [record.fundingTime, Number(record.fundingRate), Number(record.markPrice)]),
    );

    const arrow = tableFromIPC(new Uint8Array(await (await app.request(fundingUrl({ ...range, format: "arrow" }))).arrayBuffer()));
    expect(arrow.schema.fields.map((field) => [field.name, String(field.type)])).toEqual([
      ["funding_time", "Timestamp<MILLISECOND, UTC>"],
      ["symbol", "Utf8"],
      ["funding_rate", "Float64"],
      ["mark_price", "Float64"],
    ]);
    expect(arrow.numRows).toBe(6);

    // Feather (the Arrow IPC file format): the same table.
    const feather = new Uint8Array(await (await app.request(fundingUrl({ ...range, format: "feather" }))).arrayBuffer());
    expect(Buffer.from(feather.subarray(0, 6)).toString("latin1")).toBe("ARROW1");
    const fromFile = tableFromIPC(feather);
    expect(fromFile.schema.fields.map(String)).toEqual(arrow.schema.fields.map(String));
    expect(fromFile.numRows).toBe(6);
  });

  it("grows the month that reaches now by its tail, at most once per whole hour however often it is asked", async () => {
    const { app, clock } = testApp({ binanceUrl: standIn.url, now: NOW });
    const range = { symbol: "ETHUSDT", start_date: "2024-06-01", end_date: "2024-06-30", format: "csv" };
    const first = await app.request(fundingUrl(range));
    expect(first.headers.get("X-Reaches-Now")).toBe("true");
    const rows = (await first.text()).trimEnd().split("\n").slice(1);
    // ETHUSDT settles every hour from April 10: the last record published by 12:30 UTC is 12:00's.
    expect(rows.at(-1)).toMatch(/^2024-06-15 12:00:00\.000,ETHUSDT,/);

    standIn.reset();
    clock.set("2024-06-15T12:50:00.000Z");
    const sameHour = await app.request(fundingUrl(range));
    expect(sameHour.headers.get("X-Upstream-Requests")).toBe("0");

    nowMs = ms("2024-06-15T13:01:30.000Z");
    clock.set("2024-06-15T13:01:30.000Z");
    const nextHour = await app.request(fundingUrl(range));
    expect(Number(nextHour.headers.get("X-Upstream-Requests"))).toBeGreaterThan(0);
    const grown = (await nextHour.text()).trimEnd().split("\n").slice(1);
    expect(grown.slice(0, rows.length)).toEqual(rows);
    expect(grown.at(-1)).toMatch(/^2024-06-15 13:00:00\.000,ETHUSDT,/);
  });

  it("proves months before a listing empty by the records after them, and months after a delisting by the history's end", async () => {
    const { app } = testApp({ binanceUrl: standIn.url, now: NOW });
    const listed = await app.request(fundingUrl({ symbol: "NEWUSDT", start_date: "2024-01-01", end_date: "2024-02-29", format: "csv" }));
    const listedRows = (await listed.text()).trimEnd().split("\n").slice(1);
    expect(listedRows[0]).toMatch(/^2024-02-10 08:00:00\.000,NEWUSDT,/);
    const delisted = await app.request(fundingUrl({ symbol: "OLDUSDT", start_date: "2024-03-01", end_date: "2024-05-31", format: "csv" }));
    expect(delisted.status).toBe(200);
    expect((await delisted.clone().text()).trimEnd().split("\n").at(-1)).toMatch(/^2024-03-09 16:00:00\.000,OLDUSDT,/);

    standIn.reset();
    for (const query of [
      { symbol: "NEWUSDT", start_date: "2024-01-01", end_date: "2024-02-29" },
      { symbol: "OLDUSDT", start_date: "2024-03-01", end_date: "2024-05-31" },
    ]) {
      const again = await app.request(fundingUrl(query));
      expect(again.headers.get("X-Upstream-Requests")).toBe("0");
      expect(((await again.json()) as { data: { meta: { unproven: unknown[] } } }).data.meta.unproven).toEqual([]);
    }
  });

  it("stores nothing as complete from empty or cut pages: asks again, or says which months are unproven", async () => {
    const { app, clock } = testApp({ binanceUrl: standIn.url, now: NOW });
    const expected = await binanceRecords("BTCUSDT", ms("2024-01-01T00:00:00Z"), ms("2024-05-01T00:00:00Z"));

    standIn.set({ shortPages: { count: 1, keep: 10 } });
    const cut = await app.request(fundingUrl({ ...RANGE, format: "csv" }));
    expect((await cut.text()).trimEnd().split("\n").slice(1)).toEqual(expected.map(lineOf));

    const other = { symbol: "ETHUSDT", start_date: "2024-01-01", end_date: "2024-01-31" };
    standIn.set({ emptyPages: { count: 100 } });
    const empty = await app.request(fundingUrl(other));
    expect(empty.status).toBe(200);
    const body = (await empty.json()) as { data: { meta: { unproven: unknown[]; rows: number } } };
    expect(body.data.meta.rows).toBe(0);
    expect(body.data.meta.unproven).toEqual([{ from: "2024-01-01T00:00:00.000Z", to: "2024-02-01T00:00:00.000Z" }]);
    expect(empty.headers.get("Cache-Control")).not.toMatch(/immutable/);

    // Asked again once the recheck time has passed: the evidence is there now.
    standIn.reset();
    clock.set("2024-06-15T13:40:00.000Z");
    nowMs = ms("2024-06-15T13:40:00.000Z");
    const later = await app.request(fundingUrl({ ...other, format: "csv" }));
    const expectedJan = await binanceRecords("ETHUSDT", ms("2024-01-01T00:00:00Z"), ms("2024-02-01T00:00:00Z"));
    expect((await later.text()).trimEnd().split("\n").slice(1)).toEqual(expectedJan.map(lineOf));
  });

  it("waits out a 429's Retry-After, and at a 418 keeps the months proven so far, answers 503 with until when, and asks nothing more", async () => {
    const sleeps: number[] = [];
    const { app, store } = testApp({ binanceUrl: standIn.url, now: NOW, sleep: async (ms) => void sleeps.push(ms), binanceOptions: { random: () => 0 } });
    standIn.set({ rateLimited: { count: 1, retryAfterSeconds: 3 } });
    const waited = await app.request(fundingUrl({ ...RANGE, format: "csv" }));
    expect(waited.status).toBe(200);
    expect(sleeps).toContain(3000);

    // Small pages, so a long range costs several: the ban comes at the second.
    standIn.reset();
    standIn.set({ banned: { count: Infinity, retryAfterSeconds: 120, after: 1 } });
    const range = { symbol: "ETHUSDT", start_date: "2024-04-10", end_date: "2024-06-14" };
    const banned = await app.request(fundingUrl(range));
    expect(banned.status).toBe(503);
    expect(banned.headers.get("Retry-After")).toBe("120");
    expect(((await banned.json()) as ErrorEnvelope).error.code).toBe("UPSTREAM_UNAVAILABLE");
    // April 10 to now at 1 h is 1,580 records: the first page of 1,000 proved April complete, and April alone is kept.
    const kept = (await store.list("funding/")).filter((object) => object.key.endsWith("_meta.json"));
    const metas = await Promise.all(kept.map(async (object) => JSON.parse(Buffer.from((await store.get(object.key))!).toString()) as { symbol: string; start_date: string }));
    expect(metas.filter((meta) => meta.symbol === "ETHUSDT").map((meta) => meta.start_date)).toEqual(["2024-04-01"]);
    const asked = fundingRequests();
    const again = await app.request(fundingUrl(range));
    expect(again.status).toBe(503);
    expect(fundingRequests()).toBe(asked);
  });

  it("answers 413 with what to do when an answer is over what is answered inline (Lambda's 6 MB), and the CSV when it fits", async () => {
    const { app } = testApp({ binanceUrl: standIn.url, now: NOW, inlineMaxBytes: 20_000 });
    const big = await app.request(fundingUrl(RANGE));
    expect(big.status).toBe(413);
    const body = (await big.json()) as ErrorEnvelope;
    expect(body.error.code).toBe("PAYLOAD_TOO_LARGE");
    expect(body.error.message).toContain("shorter range");
    const csv = await app.request(fundingUrl({ ...RANGE, start_date: "2024-04-01", format: "csv" }));
    expect(csv.status).toBe(200);
  });

  it("fetches a month once across containers: a second one waits on the month's lease and serves what the first stored", async () => {
    const shared = { leases: createMemoryLeases({ clock: fixedClock(NOW) }), store: createFsStore({ baseDir: tempDir() }) };
    const first = testApp({ binanceUrl: standIn.url, now: NOW, ...shared });
    const second = testApp({ binanceUrl: standIn.url, now: NOW, ...shared, sleep: (ms) => delay(ms) });
    standIn.set({ slow: { count: 1, delayMs: 300 } });

    const asked = first.app.request(fundingUrl({ ...RANGE, format: "csv" }));
    await vi.waitFor(() => expect(fundingRequests()).toBe(1));
    const waited = await second.app.request(fundingUrl({ ...RANGE, format: "csv" }));
    const fetched = await asked;

    expect(fetched.status).toBe(200);
    expect(waited.status).toBe(200);
    expect(waited.headers.get("X-Upstream-Requests")).toBe("0");
    expect(await waited.text()).toBe(await fetched.text());
    expect(fundingRequests()).toBe(1);
  });

  it("refuses bad input with 400 and the fields, a symbol Binance does not list by its field, and a cold range without the token with 401", async () => {
    const { app } = testApp({ binanceUrl: standIn.url, now: NOW, cacheApiToken: "secret" });
    const cases: [Record<string, string>, string[]][] = [
      [{ start_date: "2024-01-01", end_date: "2024-01-31" }, ["symbol"]],
      [{ symbol: "BTCUSDT", start_date: "2024-02-01", end_date: "2024-01-31" }, ["end_date"]],
      [{ symbol: "BTCUSDT", start_date: "2024-07-01", end_date: "2024-07-31" }, ["start_date"]],
      [{ symbol: "BTC/USDT", start_date: "2024-01-01", end_date: "2024-02-30" }, ["end_date", "symbol"]],
    ];
    for (const [query, fields] of cases) {
      const res = await app.request(fundingUrl(query), { headers: { Authorization: "Bearer secret" } });
      expect(res.status).toBe(400);
      const body = (await res.json()) as ErrorEnvelope;
      expect(body.error.code).toBe("VALIDATION_ERROR");
      expect(body.error.issues?.map((issue) => issue.field).sort()).toEqual(fields);
    }
    const unknown = await app.request(fundingUrl({ symbol: "NOPEUSDT", start_date: "2024-01-01", end_date: "2024-01-31" }), {
      headers: { Authorization: "Bearer secret" },
    });
    expect(unknown.status, await unknown.clone().text()).toBe(400);
    expect(((await unknown.json()) as ErrorEnvelope).error.issues).toEqual([{ field: "symbol", message: "is not a symbol Binance futures lists" }]);
    const cold = await app.request(fundingUrl(RANGE));
    expect(cold.status).toBe(401);
    expect(fundingRequests()).toBe(1);
  });
});
