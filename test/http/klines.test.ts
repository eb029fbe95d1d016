import type { APIGatewayProxyResult } from "aws-lambda";
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it, vi } from "vitest";
import { csvToRows, type Row } from "../../src/csv/check.js";
import { type CacheInfo } from "../../src/cache/data-cache.js";
import { csvKeyOf, metaKeyOf } from "../../src/cache/entries/objects.js";
import { parseMeta } from "../../src/cache/entries/meta.js";
import type { ObjectStore } from "../../src/storage/types.js";
import type { Clock } from "../../src/clock.js";
import type { ErrorEnvelope, SuccessEnvelope } from "../../src/http/envelope.js";
import type { Metrics } from "../../src/http/metrics-format.js";
import { startBinanceStandIn, type BinanceStandIn } from "../support/binance-standin.js";
import { testApp, type TestAppOptions } from "../support/app.js";
import { jsonOf } from "../support/json.js";
import { httpApiEvent, stubLambdaS3Env } from "../support/lambda.js";
import { startLambdaStandIn, type InvokedHandler, type LambdaStandIn } from "../support/lambda-standin.js";
import { s3TestStore, S3_TEST_CREDENTIALS } from "../support/s3.js";

/** What every klines answer says of itself. */
interface KlinesFields {
  from: string;
  to: string;
  reaches_now: boolean;
  gaps: { from: string; to: string; missing: number; final: boolean }[];
}
/** A klines answer inline as JSON. */
type KlinesJson = SuccessEnvelope<{ meta: KlinesFields & { rows: number }; rows: Row[] }>;
/** A klines answer too big to answer inline: URLs of its partitions' CSVs. */
type KlinesParts = SuccessEnvelope<KlinesFields & { expires_in_seconds: number; parts: { start_date: string; end_date: string; rows: number; url: string }[] }>;

const NOW = "2026-11-25T12:00:30.000Z";
const SPOT = "/api/v3/klines";
const FUTURES = "/fapi/v1/klines";
const MAINTENANCE = { fromMs: Date.parse("2026-02-14T10:00:00Z"), toMs: Date.parse("2026-02-14T12:30:00Z") };
const LISTED_AT = Date.parse("2026-03-10T08:00:00Z");

const MONTH_END_MAINTENANCE = { fromMs: Date.parse("2023-08-31T22:00:00Z"), toMs: Date.parse("2023-09-01T02:00:00Z") };
const DELISTED_AT = Date.parse("2025-03-10T00:00:00Z");

let standIn: BinanceStandIn;
/** The clock of the app under test, which the stand-in shares (less `exchangeBehindMs`): no kline opens after its "now". */
let clock: Clock | null = null;
let exchangeBehindMs = 0;

beforeAll(async () => {
  standIn = await startBinanceStandIn({
    now: () => (clock ? clock.now().getTime() : Date.parse(NOW)) - exchangeBehindMs,
    listedAt: { NEWUSDT: LISTED_AT },
    maintenance: [MAINTENANCE, MONTH_END_MAINTENANCE],
    unknownSymbols: ["NOPEUSDT"],
    delistedAt: { OLDUSDT: DELISTED_AT },
  });
});
afterAll(() => standIn.close());
beforeEach(() => {
  standIn.reset();
  exchangeBehindMs = 0;
});

/** The app on a fresh folder, talking to the stand-in; its Binance client's waits move the clock instead of sleeping. */
function build(options: TestAppOptions = {}) {
  const sleeps: number[] = [];
  const built = testApp({
    binanceUrl: standIn.url,
    now: NOW,
    sleep: async (ms) => {
      sleeps.push(ms);
      built.clock.set(new Date(built.clock.now().getTime() + ms));
    },
    ...options,
  });
  clock = built.clock;
  return { ...built, sleeps };
}

type Query = { symbol: string; interval: string; start_date: string; end_date: string; market_type?: string; format?: string };
const klinesUrl = (query: Query) => `/api/v1/klines?${new URLSearchParams(query)}`;
/** Where the read-through keeps a month: its own folder of the cache, apart from the entries clients store. */
const partition = (id: Omit<Query, "format"> & { market_type?: "spot" | "futures" }) =>
  ({ market_type: "spot" as const, ...id, interval: id.interval as "1m", folder: "partitions" });
const partitionMeta = async (store: ObjectStore, id: Parameters<typeof partition>[0]) => {
  const bytes = await store.get(metaKeyOf(partition(id)));
  return bytes && parseMeta(bytes);
};
const klineCalls = () => standIn.served.filter((call) => call.path.endsWith("/klines"));
const upstream = () => (standIn.requests[SPOT] ?? 0) + (standIn.requests[FUTURES] ?? 0);
const utc = (text: string) => Date.parse(`${text}Z`);
const headersOf = (res: Response) => ({
  cache: res.headers.get("X-Cache"),
  cached: res.headers.get("X-Partitions-Cached"),
  fetched: res.headers.get("X-Partitions-Fetched"),
  upstream: res.headers.get("X-Upstream-Requests"),
  reachesNow: res.headers.get("X-Reaches-Now"),
});

async function csvRows(res: Response): Promise<string[]> {
  expect(res.status).toBe(200);
  const lines = (await res.text()).split("\n");
  expect(lines[0]).toBe("timestamp,open,high,low,close,volume,close_time,quote_volume,trades,taker_base,taker_quote,ignore");
  expect(lines.at(-1)).toBe("");
  return lines.slice(1, -1);
}

/** The timestamps of CSV rows, checked strictly increasing (oldest first, no duplicates). */
function timestamps(rows: string[]): string[] {
  const stamps = rows.map((row) => row.slice(0, 19));
  for (let i = 1; i < stamps.length; i++) expect(stamps[i]! > stamps[i - 1]!).toBe(true);
  return stamps;
}

const BTC_1M_Q1 = { symbol: "BTCUSDT", interval: "1m", start_date: "2025-01-01", end_date: "2025-02-28", format: "csv" };

describe("GET /api/v1/klines, read through month partitions", () => {
  it("fetches each month of a cold range once, page by page, and serves every closed candle", async () => {
    const { app } = build();

    const res = await app.request(klinesUrl(BTC_1M_Q1));

    const stamps = timestamps(await csvRows(res));
    expect(stamps).toHaveLength(59 * 1440);
    expect(stamps[0]).toBe("2025-01-01 00:00:00");
    expect(stamps.at(-1)).toBe("2025-02-28 23:59:00");
    // January is 44,640 candles: 45 pages of at most 1000; February 40,320: 41 pages.
    expect(headersOf(res)).toEqual({ cache: "MISS", cached: "0", fetched: "2", upstream: "86", reachesNow: "false" });
    const calls = klineCalls();
    expect(calls).toHaveLength(86);
    expect(new Set(calls.map((call) => call.query.startTime)).size).toBe(86);
    const firsts = calls.filter((call) => call.query.startTime === String(utc("2025-01-01T00:00:00")) || call.query.startTime === String(utc("2025-02-01T00:00:00")));
    expect(firsts.map((call) => call.query.endTime).sort()).toEqual([String(utc("2025-02-01T00:00:00") - 1), String(utc("2025-03-01T00:00:00") - 1)]);
    for (const call of calls) expect(call.query).toMatchObject({ symbol: "BTCUSDT", interval: "1m", limit: "1000" });
  });

  it("answers the same request again without a single upstream request", async () => {
    const { app } = build();
    const query = { ...BTC_1M_Q1, interval: "5m" };
    const cold = await (await app.request(klinesUrl(query))).text();
    standIn.reset();

    const res = await app.request(klinesUrl(query));

    expect(await res.text()).toBe(cold);
    expect(headersOf(res)).toEqual({ cache: "HIT", cached: "2", fetched: "0", upstream: "0", reachesNow: "false" });
    expect(upstream()).toBe(0);
  });

  it("fetches only the new months of an overlapping wider range", async () => {
    const { app } = build();
    await app.request(klinesUrl({ ...BTC_1M_Q1, interval: "15m" }));
    standIn.reset();

    const res = await app.request(klinesUrl({ ...BTC_1M_Q1, interval: "15m", start_date: "2025-01-15", end_date: "2025-04-10" }));

    const stamps = timestamps(await csvRows(res));
    expect(stamps[0]).toBe("2025-01-15 00:00:00");
    expect(stamps.at(-1)).toBe("2025-04-10 23:45:00");
    expect(stamps).toHaveLength(86 * 96);
    expect(headersOf(res)).toMatchObject({ cache: "PARTIAL", cached: "2", fetched: "2" });
    const starts = klineCalls().map((call) => Number(call.query.startTime));
    expect(Math.min(...starts)).toBe(utc("2025-03-01T00:00:00"));
    expect(starts.every((start) => start < utc("2025-05-01T00:00:00"))).toBe(true);
  });

  it("stores and serves closed candles only, then grows the current month by its tail", async () => {
    const { app, clock, store } = build();
    const query = { symbol: "ETHUSDT", interval: "5m", start_date: "2026-11-24", end_date: "2026-11-30", format: "csv" };

    const first = await app.request(klinesUrl(query));

    const stamps = timestamps(await csvRows(first));
    // 12:00 is still forming at 12:00:30: the last candle served is 11:55.
    expect(stamps.at(-1)).toBe("2026-11-25 11:55:00");
    expect(stamps).toHaveLength(288 + 144);
    expect(headersOf(first)).toMatchObject({ cache: "MISS", reachesNow: "true" });
    const november = { symbol: "ETHUSDT", interval: "5m", start_date: "2026-11-01", end_date: "2026-11-30" };
    const meta = await partitionMeta(store, november);
    expect(meta).toMatchObject({ rows: 24 * 288 + 144, complete: false, last_open: "2026-11-25 11:55:00", resume_from: "2026-11-25 12:00:00" });
    const stored = new TextDecoder().decode((await store.get(csvKeyOf(partition(november))))!);
    expect(stored.trimEnd().split("\n").at(-1)).toMatch(/^2026-11-25 11:55:00,/);

    standIn.reset();
    clock.set("2026-11-25T14:00:30.000Z");
    const second = await app.request(klinesUrl(query));

    const grown = timestamps(await csvRows(second));
    expect(grown).toHaveLength(288 + 168);
    expect(grown.slice(0, stamps.length)).toEqual(stamps);
    expect(headersOf(second)).toEqual({ cache: "PARTIAL", cached: "0", fetched: "1", upstream: "1", reachesNow: "true" });
    expect(klineCalls().map((call) => call.query.startTime)).toEqual([String(utc("2026-11-25T12:00:00"))]);
    expect(await partitionMeta(store, november)).toMatchObject({ rows: 24 * 288 + 168, last_open: "2026-11-25 13:55:00" });

    standIn.reset();
    const again = await app.request(klinesUrl(query));
    expect(headersOf(again)).toMatchObject({ cache: "HIT", upstream: "0" });
  });

  it("does not store a candle that closed less than the settle time ago", async () => {
    const { app, store } = build({ now: "2026-11-25T13:00:01.000Z" });

    const res = await app.request(klinesUrl({ symbol: "ETHUSDT", interval: "1h", start_date: "2026-11-25", end_date: "2026-11-25" }));

    // The 12:00 candle closed 1 ms under 2 s ago.
    expect((await jsonOf<KlinesJson>(res)).data.rows.at(-1)?.timestamp).toBe("2026-11-25T11:00:00.000Z");
    const november = { symbol: "ETHUSDT", interval: "1h", start_date: "2026-11-01", end_date: "2026-11-30" };
    expect(await partitionMeta(store, november)).toMatchObject({ last_open: "2026-11-25 11:00:00", resume_from: "2026-11-25 12:00:00" });
  });

  it("makes one upstream fetch for 50 identical concurrent misses", async () => {
    const { app } = build();
    const query = { symbol: "SOLUSDT", interval: "5m", start_date: "2025-06-01", end_date: "2025-06-30", format: "csv" };

    const answers = await Promise.all(Array.from({ length: 50 }, () => Promise.resolve(app.request(klinesUrl(query)))));

    const bodies = await Promise.all(answers.map((res) => res.text()));
    expect(new Set(bodies).size).toBe(1);
    expect(bodies[0]!.split("\n")).toHaveLength(30 * 288 + 2);
    // 8,640 candles: 9 pages, fetched once.
    expect(upstream()).toBe(9);
    expect(answers.reduce((sum, res) => sum + Number(res.headers.get("X-Upstream-Requests")), 0)).toBe(9);
    expect(answers.every((res) => res.headers.get("X-Partitions-Fetched") === "1")).toBe(true);
  });

  it("waits out a 429 in the middle of a paging run for its Retry-After", async () => {
    const { app, sleeps } = build();
    standIn.set({ rateLimited: { count: 1, retryAfterSeconds: 7, after: 3 } });

    const res = await app.request(klinesUrl({ symbol: "SOLUSDT", interval: "5m", start_date: "2025-07-01", end_date: "2025-07-31", format: "csv" }));

    expect(timestamps(await csvRows(res))).toHaveLength(31 * 288);
    expect(sleeps).toEqual([7_000]);
    expect(upstream()).toBe(10);
    expect(res.headers.get("X-Upstream-Requests")).toBe("10");
  });

  it("stops all upstream work at a 418, keeps the complete months, serves what is cached, and says until when", async () => {
    const { app, clock, store } = build();
    const query = { symbol: "BNBUSDT", interval: "1h", start_date: "2025-01-01", end_date: "2025-06-30" };
    standIn.set({ banned: { count: Infinity, retryAfterSeconds: 120, after: 2 } });

    const res = await app.request(klinesUrl(query));

    expect(res.status).toBe(503);
    expect(res.headers.get("Retry-After")).toBe("120");
    const body = await jsonOf<ErrorEnvelope>(res);
    expect(body.error.code).toBe("UPSTREAM_UNAVAILABLE");
    expect(body.error.details).toMatchObject({ retry_at: "2026-11-25T12:02:30.000Z", partitions: 6, partitions_stored: 2 });
    // Six months of 744 or fewer: six one-page passes, three at a time; the third answer is the 418.
    expect(upstream()).toBe(3);
    const stored = (await store.list()).filter((object) => object.key.endsWith("_meta.json"));
    expect(stored).toHaveLength(2);

    const other = await app.request(klinesUrl({ ...query, symbol: "XRPUSDT" }));
    expect(other.status).toBe(503);
    expect(upstream()).toBe(3);

    const metas = await Promise.all(stored.map(async (object) => parseMeta((await store.get(object.key))!)!));
    const cachedMonth = metas.map((meta) => meta.start_date).sort()[0]!;
    const hit = await app.request(klinesUrl({ ...query, start_date: cachedMonth, end_date: cachedMonth }));
    expect(hit.status).toBe(200);
    expect(hit.headers.get("X-Cache")).toBe("HIT");

    standIn.reset();
    clock.set("2026-11-25T12:02:30.000Z");
    const after = await app.request(klinesUrl(query));
    expect(after.status).toBe(200);
    expect(headersOf(after)).toMatchObject({ cache: "PARTIAL", cached: "2", fetched: "4", upstream: "4" });
    expect((await jsonOf<KlinesJson>(after)).data.rows).toHaveLength(181 * 24);
  });

  it("answers 503 on a failure in the middle and stores no half month", async () => {
    const { app, store } = build();
    const query = { symbol: "ADAUSDT", interval: "5m", start_date: "2025-03-01", end_date: "2025-03-31", format: "csv" };
    standIn.set({ serverError: { count: Infinity, after: 4 } });

    const res = await app.request(klinesUrl(query));

    expect(res.status).toBe(503);
    expect((await jsonOf<ErrorEnvelope>(res)).error.code).toBe("UPSTREAM_UNAVAILABLE");
    expect(await store.list()).toEqual([]);
    standIn.reset();
    const retry = await app.request(klinesUrl(query));
    expect(timestamps(await csvRows(retry))).toHaveLength(31 * 288);
    expect(upstream()).toBe(9);
  });

  it("keeps the months completed before a failure, and later fetches only the others", async () => {
    const { app, store } = build();
    const query = { symbol: "ADAUSDT", interval: "1h", start_date: "2025-01-01", end_date: "2025-06-30" };
    // Six one-page months, three at a time: the fifth request fails, and every one after it.
    standIn.set({ serverError: { count: Infinity, after: 4 } });

    const res = await app.request(klinesUrl(query));

    expect(res.status).toBe(503);
    const metas = await Promise.all(
      (await store.list()).filter((object) => object.key.endsWith("_meta.json")).map(async (object) => parseMeta((await store.get(object.key))!)!),
    );
    expect(metas).toHaveLength(4);
    for (const meta of metas) expect(meta).toMatchObject({ complete: true, rows: (Date.parse(`${meta.end_date}T00:00:00Z`) - Date.parse(`${meta.start_date}T00:00:00Z`)) / 3_600_000 + 24 });
    standIn.reset();
    const retry = await app.request(klinesUrl(query));
    expect((await jsonOf<KlinesJson>(retry)).data.rows).toHaveLength(181 * 24);
    expect(headersOf(retry)).toMatchObject({ cache: "PARTIAL", cached: "4", fetched: "2", upstream: "2" });
  });

  it("reports a maintenance gap and never fills it", async () => {
    const { app } = build();

    const res = await app.request(klinesUrl({ symbol: "BTCUSDT", interval: "1h", start_date: "2026-02-13", end_date: "2026-02-15" }));

    expect(res.status).toBe(200);
    expect(res.headers.get("X-Gaps")).toBe("1");
    const { data } = await jsonOf<KlinesJson>(res);
    expect(data.meta).toMatchObject({ rows: 69, reaches_now: false });
    expect(data.meta.gaps).toEqual([{ from: "2026-02-14T10:00:00.000Z", to: "2026-02-14T13:00:00.000Z", missing: 3, final: true }]);
    const stamps = data.rows.map((row) => row.timestamp);
    expect(stamps).not.toContain("2026-02-14T11:00:00.000Z");
    expect(stamps[stamps.indexOf("2026-02-14T09:00:00.000Z") + 1]).toBe("2026-02-14T13:00:00.000Z");
  });

  it("stores the months before a listing as complete and empty, and does not ask again", async () => {
    const { app, store } = build();
    const query = { symbol: "NEWUSDT", interval: "1h", start_date: "2026-01-15", end_date: "2026-03-31" };

    const res = await app.request(klinesUrl(query));

    const { data } = await jsonOf<KlinesJson>(res);
    expect(data.rows[0]?.timestamp).toBe("2026-03-10T08:00:00.000Z");
    expect(data.rows).toHaveLength(22 * 24 - 8);
    expect(data.meta.gaps).toEqual([]);
    const february = { symbol: "NEWUSDT", interval: "1h", start_date: "2026-02-01", end_date: "2026-02-28" };
    expect(await partitionMeta(store, february)).toMatchObject({ rows: 0, complete: true, first_open: null, gaps: [] });

    standIn.reset();
    const again = await app.request(klinesUrl(query));
    expect(headersOf(again)).toMatchObject({ cache: "HIT", upstream: "0" });
  });

  it("answers the same candles as JSON and as CSV", async () => {
    const { app } = build();
    const query = { symbol: "LINKUSDT", interval: "4h", start_date: "2025-09-20", end_date: "2025-10-10" };

    const json = await jsonOf<KlinesJson>(await app.request(klinesUrl(query)));
    const csv = await (await app.request(klinesUrl({ ...query, format: "csv" }))).text();

    expect(json.data.rows).toHaveLength(21 * 6);
    expect(json.data.rows).toEqual(csvToRows(csv));
    expect(json.data.meta).toMatchObject({ symbol: "LINKUSDT", from: "2025-09-20T00:00:00.000Z", to: "2025-10-11T00:00:00.000Z", rows: 126 });
    expect(Object.keys(json.data.rows[0]!)).toEqual(["timestamp", "open", "high", "low", "close", "volume", "close_time", "quote_volume", "trades", "taker_base", "taker_quote", "ignore"]);
  });

  it("fetches adjacent months of large candles in one request, and futures from /fapi/v1 in pages of 1500", async () => {
    const { app } = build();

    const daily = await app.request(klinesUrl({ symbol: "BTCUSDT", interval: "1d", start_date: "2024-01-01", end_date: "2025-12-31" }));
    expect((await jsonOf<KlinesJson>(daily)).data.rows).toHaveLength(731);
    expect(headersOf(daily)).toMatchObject({ fetched: "24", upstream: "1" });

    const futures = await app.request(klinesUrl({ symbol: "BTCUSDT", interval: "1m", start_date: "2025-02-01", end_date: "2025-02-01", market_type: "futures" }));
    expect(futures.headers.get("X-Upstream-Requests")).toBe("27");
    expect(standIn.requests[FUTURES]).toBe(27);
    expect(klineCalls().filter((call) => call.path === FUTURES).every((call) => call.query.limit === "1500")).toBe(true);
  });

  it("keeps partitions in a folder of their own: info lists them as kept until replaced; a client's entry of the same month is untouched", async () => {
    const { app, store } = build();
    const january = { symbol: "DOTUSDT", interval: "1h", start_date: "2025-01-01", end_date: "2025-01-31" };
    const clientCsv = "timestamp,open,close\n2025-01-01 00:00:00,1.5,1.6\n";
    const put = await app.request(`/api/v1/backtest/cache/data?${new URLSearchParams(january)}`, {
      method: "PUT",
      headers: { "Content-Type": "text/csv" },
      body: clientCsv,
    });
    expect(put.status).toBe(201);
    const clientObjects = async () => Promise.all([store.get(csvKeyOf({ ...january, interval: "1h", market_type: "spot" })), store.get(metaKeyOf({ ...january, interval: "1h", market_type: "spot" }))]);
    const before = await clientObjects();

    const res = await app.request(klinesUrl({ ...january, end_date: "2025-03-31" }));

    expect((await jsonOf<KlinesJson>(res)).data.rows).toHaveLength(90 * 24);
    expect(await clientObjects()).toEqual(before);
    expect(Buffer.from(before[0]!).toString()).toBe(clientCsv);
    const hit = await app.request(`/api/v1/backtest/cache/data?${new URLSearchParams({ ...january, format: "csv" })}`);
    expect(await hit.text()).toBe(clientCsv);
    const info = (await jsonOf<SuccessEnvelope<CacheInfo>>(await app.request("/api/v1/backtest/cache/info"))).data;
    const byFolder = (folder: string) => info.cache_entries.filter((entry) => entry.folder === folder);
    expect(byFolder("").map((entry) => [entry.start_date, entry.retention, entry.rows])).toEqual([["2025-01-01", "rule", 1]]);
    expect(byFolder("partitions").map((entry) => [entry.start_date, entry.retention, entry.expires_at]).sort()).toEqual([
      ["2025-01-01", "until_replaced", null],
      ["2025-02-01", "until_replaced", null],
      ["2025-03-01", "until_replaced", null],
    ]);
    // The client's DELETE of that month is the client's entry only.
    expect((await app.request(`/api/v1/backtest/cache/data?${new URLSearchParams(january)}`, { method: "DELETE" })).status).toBe(200);
    standIn.reset();
    const again = await app.request(klinesUrl({ ...january, end_date: "2025-03-31" }));
    expect(headersOf(again)).toMatchObject({ cache: "HIT", upstream: "0" });
  });

  it("serves 1s candles from day partitions", async () => {
    const { app } = build();

    const res = await app.request(klinesUrl({ symbol: "BTCUSDT", interval: "1s", start_date: "2025-05-05", end_date: "2025-05-05", format: "csv" }));

    expect(timestamps(await csvRows(res))).toHaveLength(86_400);
    expect(headersOf(res)).toMatchObject({ fetched: "1", upstream: "87" });
  });
});

describe("GET /api/v1/klines: complete by evidence, never by silence", () => {
  const FEBRUARY = { symbol: "BTCUSDT", interval: "1h", start_date: "2024-02-01", end_date: "2024-02-29" };

  it("retries a transient empty page within the request, and stores the month complete", async () => {
    const { app, store } = build();
    standIn.set({ emptyPages: { count: 1 } });

    const res = await app.request(klinesUrl(FEBRUARY));

    const { data } = await jsonOf<KlinesJson>(res);
    expect(data.rows).toHaveLength(29 * 24);
    expect(data.meta.gaps).toEqual([]);
    // The empty page, the question of where the next candle is (it is right there), then the page again.
    expect(headersOf(res)).toMatchObject({ cache: "MISS", upstream: "3" });
    expect(await partitionMeta(store, FEBRUARY)).toMatchObject({ complete: true, rows: 29 * 24, gaps: [] });
  });

  it("reports candles that stay missing as a gap that is not final, keeps the month incomplete, and heals it after the recheck period", async () => {
    const { app, store, clock } = build();
    standIn.set({ emptyPages: { count: Infinity } });

    const res = await app.request(klinesUrl(FEBRUARY));

    expect(res.status).toBe(200);
    expect(res.headers.get("X-Gaps")).toBe("1");
    const { data } = await jsonOf<KlinesJson>(res);
    expect(data.rows).toEqual([]);
    expect(data.meta.gaps).toEqual([{ from: "2024-02-01T00:00:00.000Z", to: "2024-03-01T00:00:00.000Z", missing: 29 * 24, final: false }]);
    // Three passes, each: the page, where the next candle is, the symbol's latest candle. Bounded, and no sleep past them.
    expect(upstream()).toBe(9);
    expect(await partitionMeta(store, FEBRUARY)).toMatchObject({ complete: false, rows: 0, resume_from: "2024-02-01 00:00:00" });

    // Within KLINES_RECHECK_SECONDS the month is served as it is, gap and all, without asking again.
    standIn.reset();
    clock.set(new Date(clock.now().getTime() + 3599_000));
    const soon = await app.request(klinesUrl(FEBRUARY));
    expect(soon.headers.get("X-Gaps")).toBe("1");
    expect(headersOf(soon)).toMatchObject({ cache: "HIT", upstream: "0" });

    clock.set(new Date(clock.now().getTime() + 1000));
    const later = await app.request(klinesUrl(FEBRUARY));
    expect((await jsonOf<KlinesJson>(later)).data.rows).toHaveLength(29 * 24);
    expect(later.headers.get("X-Gaps")).toBe("0");
    expect(await partitionMeta(store, FEBRUARY)).toMatchObject({ complete: true, rows: 29 * 24 });
  });

  it("fetches again from where a short page stopped, and finds every candle", async () => {
    const { app, store } = build();
    const query = { symbol: "ETHUSDT", interval: "1m", start_date: "2024-02-01", end_date: "2024-02-29", format: "csv" };
    standIn.set({ shortPages: { count: 1, keep: 400, after: 5 } });

    const res = await app.request(klinesUrl(query));

    expect(timestamps(await csvRows(res))).toHaveLength(29 * 1440);
    expect(res.headers.get("X-Gaps")).toBe("0");
    expect(await partitionMeta(store, { ...query, interval: "1m" })).toMatchObject({ complete: true, rows: 29 * 1440 });
  });

  it("proves a gap across a month's end by the next candle the exchange has, and stores both months complete", async () => {
    const { app, store } = build();
    const query = { symbol: "BTCUSDT", interval: "1h", start_date: "2023-08-01", end_date: "2023-09-30" };

    const res = await app.request(klinesUrl(query));

    const { data } = await jsonOf<KlinesJson>(res);
    expect(data.meta.gaps).toEqual([{ from: "2023-08-31T22:00:00.000Z", to: "2023-09-01T02:00:00.000Z", missing: 4, final: true }]);
    expect(data.rows).toHaveLength(61 * 24 - 4);
    expect(await partitionMeta(store, { ...query, end_date: "2023-08-31" })).toMatchObject({ complete: true, gaps: [["2023-08-31 22:00:00", "2023-09-01 00:00:00"]] });
    expect(await partitionMeta(store, { ...query, start_date: "2023-09-01" })).toMatchObject({ complete: true, gaps: [["2023-09-01 00:00:00", "2023-09-01 02:00:00"]] });
    standIn.reset();
    expect(headersOf(await app.request(klinesUrl(query)))).toMatchObject({ cache: "HIT", upstream: "0" });
  });

  it("stores the months after a symbol stopped trading as complete, once they have ended", async () => {
    const { app, store } = build();
    const query = { symbol: "OLDUSDT", interval: "1h", start_date: "2025-03-01", end_date: "2025-04-30" };

    const res = await app.request(klinesUrl(query));

    const { data } = await jsonOf<KlinesJson>(res);
    expect(data.rows).toHaveLength(9 * 24);
    expect(data.rows.at(-1)?.timestamp).toBe("2025-03-09T23:00:00.000Z");
    expect(data.meta.gaps).toEqual([]);
    expect(await partitionMeta(store, { ...query, end_date: "2025-03-31" })).toMatchObject({ complete: true, rows: 9 * 24 });
    expect(await partitionMeta(store, { ...query, start_date: "2025-04-01" })).toMatchObject({ complete: true, rows: 0 });
    standIn.reset();
    expect(headersOf(await app.request(klinesUrl(query)))).toMatchObject({ cache: "HIT", upstream: "0" });
  });

  it("asks for a symbol's first candle once, and remembers it", async () => {
    const { app } = build();
    const listing = () => klineCalls().filter((call) => call.query.startTime === "0");

    await app.request(klinesUrl({ symbol: "NEWUSDT", interval: "1h", start_date: "2026-01-01", end_date: "2026-03-31" }));
    expect(listing()).toHaveLength(1);
    expect(listing()[0]?.query).toMatchObject({ symbol: "NEWUSDT", limit: "1" });
    await app.request(klinesUrl({ symbol: "NEWUSDT", interval: "1h", start_date: "2025-10-01", end_date: "2025-12-31" }));
    expect(listing()).toHaveLength(1);
  });

  it("never stores a candle the exchange is still forming when the service's clock runs ahead of the exchange's", async () => {
    const { app, store } = build();
    // The exchange is 10 minutes behind: at the service's 12:00:30 its 11:50 candle is still forming.
    exchangeBehindMs = 10 * 60_000;
    const query = { symbol: "ETHUSDT", interval: "5m", start_date: "2026-11-25", end_date: "2026-11-25", format: "csv" };

    const stamps = timestamps(await csvRows(await app.request(klinesUrl(query))));

    expect(stamps.at(-1)).toBe("2026-11-25 11:45:00");
    const november = { ...query, start_date: "2026-11-01", end_date: "2026-11-30" };
    expect(await partitionMeta(store, november)).toMatchObject({ last_open: "2026-11-25 11:45:00", resume_from: "2026-11-25 11:50:00" });
    const csv = new TextDecoder().decode((await store.get(csvKeyOf(partition(november))))!);
    expect(csv).not.toContain("2026-11-25 11:50:00");
  });
});

describe("GET /api/v1/klines: a hole inside one page is final only on a narrow answer", () => {
  const FEBRUARY = { symbol: "XRPUSDT", interval: "1h", start_date: "2024-02-01", end_date: "2024-02-29" };
  const narrowCalls = () => klineCalls().filter((call) => call.query.endTime !== String(utc("2024-03-01T00:00:00") - 1));

  it("asks for a stretch a page left out, from its start to its end, and stores the month whole", async () => {
    const { app, store } = build();
    const hole = { fromMs: utc("2024-02-10T10:00:00"), toMs: utc("2024-02-10T14:00:00") };
    standIn.set({ holedPages: { count: Infinity, ...hole } });

    const res = await app.request(klinesUrl(FEBRUARY));

    const { data } = await jsonOf<KlinesJson>(res);
    expect(data.rows).toHaveLength(29 * 24);
    expect(data.meta.gaps).toEqual([]);
    expect(headersOf(res)).toMatchObject({ cache: "MISS", upstream: "2" });
    expect(narrowCalls().map((call) => call.query)).toEqual([
      { symbol: "XRPUSDT", interval: "1h", startTime: String(hole.fromMs), endTime: String(hole.toMs - 1), limit: "1000" },
    ]);
    expect(await partitionMeta(store, FEBRUARY)).toMatchObject({ complete: true, rows: 29 * 24, gaps: [] });
  });

  it("takes a narrow answer's word for a maintenance gap: one request more, and the gap is final", async () => {
    const { app, store } = build();
    const query = { symbol: "XRPUSDT", interval: "1h", start_date: "2026-02-01", end_date: "2026-02-28" };

    const res = await app.request(klinesUrl(query));

    const { data } = await jsonOf<KlinesJson>(res);
    expect(data.meta.gaps).toEqual([{ from: "2026-02-14T10:00:00.000Z", to: "2026-02-14T13:00:00.000Z", missing: 3, final: true }]);
    expect(headersOf(res)).toMatchObject({ cache: "MISS", upstream: "2" });
    expect(klineCalls()[1]?.query).toMatchObject({ startTime: String(utc("2026-02-14T10:00:00")), endTime: String(utc("2026-02-14T13:00:00") - 1) });
    expect(await partitionMeta(store, query)).toMatchObject({ complete: true, gaps: [["2026-02-14 10:00:00", "2026-02-14 13:00:00"]] });
  });
});

describe("GET /api/v1/klines: bounded work", () => {
  it("answers 503 UPSTREAM_INVALID to a cursor that does not move, after two requests, storing nothing", async () => {
    const { app, store, logs } = build();
    standIn.set({ stuckCursor: { count: Infinity } });

    const res = await app.request(klinesUrl({ symbol: "BTCUSDT", interval: "1m", start_date: "2024-03-01", end_date: "2024-03-31" }));

    expect(res.status).toBe(503);
    const body = await jsonOf<ErrorEnvelope>(res);
    expect(body.error.code).toBe("UPSTREAM_INVALID");
    expect(upstream()).toBe(2);
    expect(await store.list()).toEqual([]);
    expect(logs.find((line) => line.event === "request_failed")).toMatchObject({ code: "UPSTREAM_INVALID" });
  });

  it("does not sleep through a Retry-After longer than the request has left: 503 with Retry-After, the months done kept", async () => {
    const { app, store, sleeps, clock } = build({ klinesDeadlineMs: 10_000 });
    const query = { symbol: "LTCUSDT", interval: "1h", start_date: "2025-01-01", end_date: "2025-06-30" };
    standIn.set({ rateLimited: { count: 1, retryAfterSeconds: 20, after: 3 } });

    const res = await app.request(klinesUrl(query));

    expect(res.status).toBe(503);
    expect(res.headers.get("Retry-After")).toBe("20");
    const body = await jsonOf<ErrorEnvelope>(res);
    expect(body.error.code).toBe("UPSTREAM_UNAVAILABLE");
    // Three months went before the 429; a pass already under way when it came may have finished too.
    const stored = (await store.list()).filter((object) => object.key.endsWith("_meta.json")).length;
    expect(stored).toBeGreaterThanOrEqual(3);
    expect(body.error.details).toMatchObject({ partitions: 6, partitions_stored: stored, upstream_requests: upstream() });
    expect(body.error.message).toMatch(/request id/);
    expect(sleeps).toEqual([]);

    // Binance's pause holds until its Retry-After has passed; then the request goes on from where it stopped.
    standIn.reset();
    expect((await app.request(klinesUrl(query))).status).toBe(503);
    expect(upstream()).toBe(0);
    clock.set(new Date(clock.now().getTime() + 20_000));
    const again = await app.request(klinesUrl(query));
    const rest = String(6 - stored);
    expect(headersOf(again)).toMatchObject({ cache: "PARTIAL", cached: String(stored), fetched: rest, upstream: rest });
  });

  it("does not wait for the weight window past the request's deadline", async () => {
    const { app, sleeps } = build({ klinesDeadlineMs: 10_000, binanceOptions: { weightSoftLimit1m: { spot: 4 } } });

    const res = await app.request(klinesUrl({ symbol: "LTCUSDT", interval: "1m", start_date: "2024-05-01", end_date: "2024-05-31" }));

    // Two pages reach the soft limit; the next would wait 29.5 s for the next minute, and 10 s is all there is.
    expect(res.status).toBe(503);
    expect(res.headers.get("Retry-After")).toBe("30");
    expect(sleeps).toEqual([]);
    expect(upstream()).toBe(2);
  });

  it("ends a request whose answers are slow at its deadline, not at Lambda's", async () => {
    const { app } = build({ klinesDeadlineMs: 300 });
    standIn.set({ slow: { count: Infinity, delayMs: 1_000 } });

    const res = await app.request(klinesUrl({ symbol: "LTCUSDT", interval: "1h", start_date: "2024-06-01", end_date: "2024-06-30" }));

    expect(res.status).toBe(503);
    expect(res.headers.get("Retry-After")).toBe("1");
    expect((await jsonOf<ErrorEnvelope>(res)).error.details).toMatchObject({ partitions: 1, partitions_stored: 0 });
  });
});

describe("GET /api/v1/klines: counted", () => {
  it("counts hits, partial answers, misses and upstream requests per market, shown by /api/v1/metrics", async () => {
    const { app } = build();
    const query = { symbol: "AVAXUSDT", interval: "1h", start_date: "2025-01-01", end_date: "2025-01-31" };
    await app.request(klinesUrl(query));
    await app.request(klinesUrl(query));
    await app.request(klinesUrl({ ...query, end_date: "2025-02-28" }));
    await app.request(klinesUrl({ ...query, market_type: "futures" }));

    const metrics = (await jsonOf<SuccessEnvelope<Metrics>>(await app.request("/api/v1/metrics"))).data;

    expect(metrics.caches.klines_spot).toEqual({ hits: 1, partial: 1, misses: 1, hit_ratio: 0.3333 });
    expect(metrics.caches.klines_futures).toEqual({ hits: 0, partial: 0, misses: 1, hit_ratio: 0 });
    expect(metrics.klines_upstream_requests).toEqual({ spot: 2, futures: 1 });
    expect(metrics.counters).toMatchObject({ "metrics:cache_hit:klines_spot": 1, "metrics:cache_partial:klines_spot": 1, "metrics:cache_miss:klines_spot": 1 });
  });
});

describe("GET /api/v1/klines: counting never holds up an answer", () => {
  it("answers a miss, a hit and a failure while every counter increment hangs", async () => {
    const counted: string[] = [];
    const { app } = build({ counters: { increment: (key) => (counted.push(key), new Promise(() => {})), read: async () => ({}) } });
    const query = { symbol: "AVAXUSDT", interval: "1h", start_date: "2024-01-01", end_date: "2024-01-31" };

    expect((await app.request(klinesUrl(query))).status).toBe(200);
    expect((await app.request(klinesUrl(query))).status).toBe(200);
    standIn.set({ stuckCursor: { count: Infinity } });
    expect((await app.request(klinesUrl({ ...query, interval: "1m" }))).status).toBe(503);

    expect(counted).toEqual(expect.arrayContaining(["metrics:cache_miss:klines_spot", "metrics:cache_hit:klines_spot", "metrics:upstream_requests:klines_spot"]));
  });
});

describe("GET /api/v1/klines, bad requests", () => {
  it.each([
    ["no symbol", { interval: "1h", start_date: "2025-01-01", end_date: "2025-01-02" }, "symbol"],
    ["an unknown interval", { symbol: "BTCUSDT", interval: "2m", start_date: "2025-01-01", end_date: "2025-01-02" }, "interval"],
    ["end before start", { symbol: "BTCUSDT", interval: "1h", start_date: "2025-01-02", end_date: "2025-01-01" }, "end_date"],
    ["a date that is not one", { symbol: "BTCUSDT", interval: "1h", start_date: "2025-02-30", end_date: "2025-03-01" }, "start_date"],
    ["a start in the future", { symbol: "BTCUSDT", interval: "1h", start_date: "2026-11-26", end_date: "2026-11-27" }, "start_date"],
    ["a start before Binance", { symbol: "BTCUSDT", interval: "1d", start_date: "2016-01-01", end_date: "2018-01-01" }, "start_date"],
    ["ten years of 1s candles", { symbol: "BTCUSDT", interval: "1s", start_date: "2016-11-01", end_date: "2026-11-01" }, "end_date"],
    ["367 days of 1m candles", { symbol: "BTCUSDT", interval: "1m", start_date: "2024-01-01", end_date: "2025-01-01" }, "end_date"],
    ["a bad format", { symbol: "BTCUSDT", interval: "1h", start_date: "2025-01-01", end_date: "2025-01-02", format: "xml" }, "format"],
    ["1s candles of futures", { symbol: "BTCUSDT", interval: "1s", start_date: "2025-01-01", end_date: "2025-01-01", market_type: "futures" }, "interval"],
    ["a bad market", { symbol: "BTCUSDT", interval: "1h", start_date: "2025-01-01", end_date: "2025-01-02", market_type: "options" }, "market_type"],
  ])("answers 400 VALIDATION_ERROR for %s, naming the field, without asking Binance", async (_, query, field) => {
    const { app } = build();

    const res = await app.request(`/api/v1/klines?${new URLSearchParams(query)}`);

    expect(res.status).toBe(400);
    const body = await jsonOf<ErrorEnvelope>(res);
    expect(body.error.code).toBe("VALIDATION_ERROR");
    expect(body.error.issues?.map((issue) => issue.field)).toContain(field);
    expect(upstream()).toBe(0);
  });

  it("answers 400 for a symbol Binance does not list, and stores nothing", async () => {
    const { app, store } = build();

    const res = await app.request(klinesUrl({ symbol: "NOPEUSDT", interval: "1h", start_date: "2025-01-01", end_date: "2025-03-31" }));

    expect(res.status).toBe(400);
    expect((await jsonOf<ErrorEnvelope>(res)).error.issues).toEqual([{ field: "symbol", message: "is not a symbol Binance spot lists" }]);
    expect(await store.list()).toEqual([]);
  });

  it("takes an end_date in the future as up to now", async () => {
    const { app } = build();

    const res = await app.request(klinesUrl({ symbol: "BTCUSDT", interval: "1h", start_date: "2026-11-20", end_date: "2027-12-31" }));

    expect(res.status).toBe(200);
    expect(res.headers.get("X-Reaches-Now")).toBe("true");
    const { data } = await jsonOf<KlinesJson>(res);
    expect(data.rows).toHaveLength(5 * 24 + 12);
    expect(data.rows.at(-1)?.timestamp).toBe("2026-11-25T11:00:00.000Z");
  });
});

describe("GET /api/v1/klines on Lambda, with S3", () => {
  const LAMBDA_TOKEN = "lambda-write-token";
  type Handler = (event: unknown, lambdaContext?: unknown) => Promise<APIGatewayProxyResult>;
  let handler: Handler;
  let lambda: LambdaStandIn;

  /** The deployed shape: functions/klines.ts built from the environment serverless.yml gives it, on a real bucket. */
  beforeAll(async () => {
    clock = null;
    const s3 = await s3TestStore({ prefix: "cache/data" });
    stubLambdaS3Env(s3.bucket, inject("s3Endpoint"), S3_TEST_CREDENTIALS);
    vi.stubEnv("BINANCE_SPOT_URL", standIn.url);
    vi.stubEnv("BINANCE_FUTURES_URL", standIn.url);
    // A month of 1h candles is about 90 KB: one fits inline, three do not.
    vi.stubEnv("INLINE_MAX_MB", String(150_000 / 2 ** 20));
    vi.stubEnv("LOG_LEVEL", "silent");
    // Deployed, fetching from Binance needs the token.
    vi.stubEnv("CACHE_API_TOKEN", LAMBDA_TOKEN);
    vi.resetModules();
    // The klines function only reads: it invokes the fill function (here through a loopback Invoke API).
    const fill = (await import("../../functions/fill.js")).handler as InvokedHandler;
    lambda = await startLambdaStandIn({ "candle-cache-test-fill": fill });
    vi.stubEnv("FILL_FUNCTION_NAME", "candle-cache-test-fill");
    vi.stubEnv("LAMBDA_ENDPOINT", lambda.url);
    handler = (await import("../../functions/klines.js")).handler as Handler;
  });
  afterAll(async () => {
    vi.unstubAllEnvs();
    await lambda.close();
  });

  const query = { symbol: "XRPUSDT", interval: "1h", start_date: "2025-01-15", end_date: "2025-03-10" };
  const headers = { Authorization: `Bearer ${LAMBDA_TOKEN}` };

  it("answers a range over INLINE_MAX_MB with presigned URLs of its month partitions, which read into the same candles", async () => {
    const res = await handler(httpApiEvent("GET", "/api/v1/klines", { query, headers }));

    expect(res.statusCode).toBe(200);
    expect(res.headers?.["x-cache"]).toBe("MISS");
    const { data } = JSON.parse(res.body) as KlinesParts;
    expect(data).toMatchObject({ ...query, market_type: "spot", from: "2025-01-15 00:00:00", to: "2025-03-11 00:00:00", reaches_now: false, gaps: [] });
    expect(data.parts.map((part: { start_date: string; end_date: string; rows: number }) => [part.start_date, part.end_date, part.rows])).toEqual([
      ["2025-01-01", "2025-01-31", 744],
      ["2025-02-01", "2025-02-28", 672],
      ["2025-03-01", "2025-03-31", 744],
    ]);
    // What the README's five lines of pandas do: read each part, concatenate, trim to [from, to).
    const rows: string[] = [];
    for (const part of data.parts) {
      const download = await fetch(part.url);
      expect(download.status).toBe(200);
      rows.push(...(await download.text()).trimEnd().split("\n").slice(1));
    }
    const trimmed = rows.filter((row) => row.slice(0, 19) >= data.from && row.slice(0, 19) < data.to);
    const local = build().app;
    const expected = await csvRows(await local.request(klinesUrl({ ...query, format: "csv" })));
    expect(trimmed).toEqual(expected);
    clock = null;

    standIn.reset();
    const again = await handler(httpApiEvent("GET", "/api/v1/klines", { query: { ...query, format: "csv" }, headers }));
    expect(again.headers?.["x-cache"]).toBe("HIT");
    expect((JSON.parse(again.body) as KlinesParts).data.parts).toHaveLength(3);
    expect(upstream()).toBe(0);
  });

  it("answers a short range of a cached month inline", async () => {
    const res = await handler(httpApiEvent("GET", "/api/v1/klines", { query: { ...query, start_date: "2025-02-10", end_date: "2025-02-10" } }));
    // A hit needs no token.

    expect(res.statusCode).toBe(200);
    expect((JSON.parse(res.body) as KlinesJson).data.rows).toHaveLength(24);
  });

  it("gives a request the function's remaining time less a margin, and answers 503 with Retry-After before Lambda's timeout", async () => {
    standIn.set({ slow: { count: Infinity, delayMs: 2_000 } });
    const lambdaContext = { awsRequestId: "req-1", getRemainingTimeInMillis: () => 3_500 };

    const res = await handler(httpApiEvent("GET", "/api/v1/klines", { query: { ...query, symbol: "TRXUSDT" }, headers }), lambdaContext);

    expect(res.statusCode).toBe(503);
    expect(res.headers?.["retry-after"]).toBe("1");
    expect((JSON.parse(res.body) as ErrorEnvelope).error).toMatchObject({ code: "UPSTREAM_UNAVAILABLE", details: { partitions: 3, partitions_stored: 0 } });
  });
});
