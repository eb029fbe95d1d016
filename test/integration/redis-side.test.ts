import type { ScheduledEvent } from "aws-lambda";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { Redis } from "@upstash/redis";
import type { DatasetId, MarketType } from "../../src/market.js";
import { fixedClock } from "../../src/clock.js";
import { datasetKey } from "../../src/cache/entries/key.js";
import { loadConfig } from "../../src/app/config.js";
import { createDeps, type Deps } from "../../src/app/deps.js";
import { createApp } from "../../src/http/all-routes.js";
import type { ErrorEnvelope, SuccessEnvelope } from "../../src/http/envelope.js";
import type { Metrics } from "../../src/http/metrics-format.js";
import { startRedisStack, type RedisStack } from "../../dev/redis-server.js";
import { silentLog } from "../../src/log.js";
import type { SymbolInfo } from "../../src/symbols/list.js";
import { startBinanceStandIn, type BinanceStandIn } from "../support/binance-standin.js";
import { BTC_SPOT, ETH_FUTURES, tempDir } from "../support/fixtures.js";
import { dataUrl } from "../support/app.js";
import { jsonOf } from "../support/json.js";

/** What the symbols endpoint answers. */
type SymbolList = SuccessEnvelope<{ market: MarketType; count: number; symbols: SymbolInfo[] }>;

/**
 * The Redis side as deployed: deps.ts picks the Upstash drivers from the environment, which talk to a real
 * redis-server through the Upstash REST bridge; Binance is the loopback stand-in.
 */
let stack: RedisStack;
let binance: BinanceStandIn;
let redis: Redis;

beforeAll(async () => {
  stack = await startRedisStack();
  binance = await startBinanceStandIn({ now: () => Date.parse(NOW) });
  redis = new Redis({ url: stack.upstashUrl, token: stack.upstashToken, automaticDeserialization: false });
});
afterAll(async () => {
  await binance.close();
  await stack.stop();
});
beforeEach(async () => {
  binance.reset();
  await redis.flushdb();
});

function build(env: Record<string, string> = {}, clock = fixedClock(NOW)): Deps & { app: ReturnType<typeof createApp> } {
  const config = loadConfig({
    CACHE_DIR: tempDir({ withPythonCache: true }),
    UPSTASH_REDIS_REST_URL: stack.upstashUrl,
    UPSTASH_REDIS_REST_TOKEN: stack.upstashToken,
    BINANCE_SPOT_URL: binance.url,
    BINANCE_FUTURES_URL: binance.url,
    BINANCE_TIMEOUT_MS: "2000",
    COUNTERS_TIMEOUT_MS: "500",
    ...env,
  });
  const deps = createDeps(config, { runtime: "local", log: silentLog, clock });
  return { ...deps, app: createApp(deps) };
}

const get = async (key: string) => redis.get<string>(key);
const NOW = "2026-11-25T12:00:00.000Z";

describe("data cache counters", () => {
  it("counts 200 concurrent hits and misses exactly, per market", async () => {
    // Exactness, not the drop-on-timeout rule, is under test: a loaded CI machine may take longer than 500 ms
    // for one batch of 100 INCRs through the bridge.
    const { app } = build({ COUNTERS_TIMEOUT_MS: "10000" });
    const requests = Array.from({ length: 200 }, (_, i) => {
      if (i % 4 === 0) return dataUrl(ETH_FUTURES);
      if (i % 4 === 1) return dataUrl({ ...ETH_FUTURES, symbol: "XRPUSDT" });
      return dataUrl(i % 2 === 0 ? BTC_SPOT : { ...BTC_SPOT, symbol: "XRPUSDT" });
    });
    const statuses = await Promise.all(requests.map(async (url) => (await app.request(url)).status));
    expect(statuses.filter((s) => s === 200)).toHaveLength(100);
    expect(await get("metrics:cache_hit:data_futures")).toBe("50");
    expect(await get("metrics:cache_miss:data_futures")).toBe("50");
    expect(await get("metrics:cache_hit:data_spot")).toBe("50");
    expect(await get("metrics:cache_miss:data_spot")).toBe("50");
  });
});

describe("symbol lists", () => {
  it("misses once, then hits from cache:symbols:<market>:v1 with its TTL, last_good and last_refresh_ts", async () => {
    const { app } = build();
    const first = await app.request("/api/v1/symbols/spot");
    expect(first.status).toBe(200);
    expect(first.headers.get("X-Cache")).toBe("MISS");
    const body = await jsonOf<SymbolList>(first);
    expect(body.data.symbols[0]).toEqual({ symbol: "BTCUSDT", baseAsset: "BTC", quoteAsset: "USDT", status: "TRADING" });
    const second = await app.request("/api/v1/symbols/spot");
    expect(second.headers.get("X-Cache")).toBe("HIT");
    expect((await jsonOf<SymbolList>(second)).data).toEqual(body.data);

    expect(binance.requests["/api/v3/exchangeInfo"]).toBe(1);
    expect(await get("metrics:cache_miss:symbols_spot")).toBe("1");
    expect(await get("metrics:cache_hit:symbols_spot")).toBe("1");
    const ttl = await redis.ttl("cache:symbols:spot:v1");
    expect(ttl).toBeGreaterThan(590);
    expect(ttl).toBeLessThanOrEqual(600);
    expect(await redis.ttl("cache:symbols:spot:last_good")).toBe(-1);
    expect(JSON.parse((await get("cache:symbols:spot:last_good")) as string)).toEqual(body.data.symbols);
    expect(Number(await get("metrics:spot_symbols_cache:last_refresh_ts"))).toBe(Date.parse(NOW) / 1000);
  });

  it("serves futures perpetuals by default, and other contract types from the cached list of every one", async () => {
    const { app } = build();
    const perpetual = (await jsonOf<SymbolList>(await app.request("/api/v1/symbols/futures"))).data.symbols;
    expect(perpetual.every((s) => s.contractType === "PERPETUAL")).toBe(true);
    const res = await app.request("/api/v1/symbols/futures?contract_types=PERPETUAL,CURRENT_QUARTER");
    expect(res.headers.get("X-Cache")).toBe("HIT");
    const both = (await jsonOf<SymbolList>(res)).data.symbols;
    expect(both.some((s) => s.contractType === "CURRENT_QUARTER")).toBe(true);
    expect(new Set(both.map((s) => s.contractType))).toEqual(new Set(["PERPETUAL", "CURRENT_QUARTER"]));
    expect(both.filter((s) => s.contractType === "PERPETUAL")).toEqual(perpetual);
    const quarters = await app.request("/api/v1/symbols/futures?contract_types=NEXT_QUARTER");
    expect((await jsonOf<SymbolList>(quarters)).data.symbols.map((s) => s.symbol)).toEqual(["BTCUSDT_220624"]);
    expect(binance.requests["/fapi/v1/exchangeInfo"]).toBe(1);
    expect(JSON.parse((await get("cache:symbols:futures:v1")) as string)).toEqual(perpetual);
    expect(await redis.ttl("cache:symbols:futures:all:v1")).toBeGreaterThan(590);
  });

  it("treats an empty list as a value, not a miss", async () => {
    const { app } = build();
    binance.set({ emptySymbols: { count: 1 } });
    expect((await jsonOf<SymbolList>(await app.request("/api/v1/symbols/spot"))).data.count).toBe(0);
    const again = await app.request("/api/v1/symbols/spot");
    expect(again.headers.get("X-Cache")).toBe("HIT");
    expect(binance.requests["/api/v3/exchangeInfo"]).toBe(1);
  });

  it("serves last_good as STALE while Binance is down, and 503 when there is nothing", async () => {
    const { app } = build();
    binance.set({ serverError: { count: Infinity } });
    const none = await app.request("/api/v1/symbols/spot");
    expect(none.status).toBe(503);
    expect((await jsonOf<ErrorEnvelope>(none)).error.code).toBe("UPSTREAM_UNAVAILABLE");

    binance.reset();
    await app.request("/api/v1/symbols/spot");
    await redis.del("cache:symbols:spot:v1");
    binance.set({ serverError: { count: Infinity } });
    const stale = await app.request("/api/v1/symbols/spot");
    expect(stale.status).toBe(200);
    expect(stale.headers.get("X-Cache")).toBe("STALE");
    expect((await jsonOf<SymbolList>(stale)).data.count).toBeGreaterThan(0);
  });
});

const scheduledEvent = (id: string): ScheduledEvent => ({
  version: "0",
  id,
  "detail-type": "Scheduled Event",
  source: "aws.events",
  account: "123456789012",
  time: "2026-11-25T12:00:00Z",
  region: "us-east-1",
  resources: ["arn:aws:events:us-east-1:123456789012:rule/candle-cache-dev-WarmupEventsRuleSchedule1"],
  detail: {},
});

describe("scheduled functions", () => {
  async function importHandler(name: "warmup" | "sweep", env: Record<string, string> = {}) {
    vi.resetModules();
    vi.stubEnv("CACHE_DIR", tempDir());
    vi.stubEnv("UPSTASH_REDIS_REST_URL", stack.upstashUrl);
    vi.stubEnv("UPSTASH_REDIS_REST_TOKEN", stack.upstashToken);
    vi.stubEnv("BINANCE_SPOT_URL", binance.url);
    vi.stubEnv("BINANCE_FUTURES_URL", binance.url);
    vi.stubEnv("LOG_LEVEL", "silent");
    for (const [key, value] of Object.entries(env)) vi.stubEnv(key, value);
    return ((await import(`../../functions/${name}.ts`)) as { handler: (event: ScheduledEvent) => Promise<unknown> }).handler;
  }

  it("warmup fills both markets' keys and counts success", async () => {
    const handler = await importHandler("warmup");
    expect(await handler(scheduledEvent("warmup-1"))).toEqual({ spot: "success", futures: "success" });
    for (const market of ["spot", "futures"]) {
      expect(await get(`cache:symbols:${market}:v1`)).not.toBeNull();
      expect(await get(`cache:symbols:${market}:last_good`)).not.toBeNull();
      expect(await get(`metrics:${market}_symbols_cache:last_refresh_ts`)).not.toBeNull();
      expect(await get(`metrics:warmup_${market}_symbols_cache:success`)).toBe("1");
    }
  });

  it("warmup counts a failing market as error, keeps its last_good, and still refreshes the other", async () => {
    const handler = await importHandler("warmup");
    await handler(scheduledEvent("warmup-1"));
    const lastGood = await get("cache:symbols:futures:last_good");
    const gone = await startBinanceStandIn();
    await gone.close();
    const again = await importHandler("warmup", { BINANCE_FUTURES_URL: gone.url });
    expect(await again(scheduledEvent("warmup-2"))).toEqual({ spot: "success", futures: "error" });
    expect(await get("metrics:warmup_futures_symbols_cache:error")).toBe("1");
    expect(await get("metrics:warmup_spot_symbols_cache:success")).toBe("2");
    expect(await get("cache:symbols:futures:last_good")).toBe(lastGood);
  });

  it("sweep runs on a scheduled event and counts what it removed", async () => {
    const handler = await importHandler("sweep");
    const result = (await handler(scheduledEvent("sweep-1"))) as { deleted: number };
    expect(result.deleted).toBe(0);
  });
});

describe("metrics endpoint", () => {
  it("reports every counter, hit ratios and refresh ages, as JSON and as Prometheus text", async () => {
    const { app, symbols } = build();
    await app.request(dataUrl(BTC_SPOT));
    await app.request(dataUrl(BTC_SPOT));
    await app.request(dataUrl({ ...BTC_SPOT, symbol: "XRPUSDT" }));
    await symbols.warmup();
    const body = await jsonOf<SuccessEnvelope<Metrics>>(await app.request("/api/v1/metrics"));
    expect(body.data.caches.data_spot).toEqual({ hits: 2, misses: 1, partial: 0, hit_ratio: 0.6667 });
    expect(body.data.caches.data_futures).toEqual({ hits: 0, misses: 0, partial: 0, hit_ratio: null });
    expect(body.data.counters["metrics:warmup_spot_symbols_cache:success"]).toBe(1);
    // Refreshed and read on the same pinned clock.
    expect(body.data.symbols_refresh.spot.age_seconds).toBe(0);
    const text = await (await app.request("/api/v1/metrics", { headers: { Accept: "text/plain" } })).text();
    expect(text).toContain('candle_cache_hits_total{cache="data_spot"} 2');
    expect(text).toContain('candle_cache_hit_ratio{cache="data_spot"} 0.6667');
    expect(text).toMatch(/candle_cache_symbols_refresh_age_seconds\{market="futures"\} \d+/);
  });
});

describe("Redis killed mid-test", () => {
  it("keeps answering data and symbol requests, and counting resumes when Redis is back", async () => {
    const { app } = build();
    expect((await app.request(dataUrl(BTC_SPOT))).status).toBe(200);
    await stack.redis.kill();

    // Redis is not needed to answer. No time bound here: how long a counter may hold a request up is its client's
    // timeout, proven in test/counters/upstash.test.ts.
    expect((await app.request(dataUrl(BTC_SPOT))).status).toBe(200);
    expect((await app.request(dataUrl({ ...BTC_SPOT, format: "csv" }))).status).toBe(200);
    const symbols = await app.request("/api/v1/symbols/spot");
    expect(symbols.status).toBe(200);
    expect(symbols.headers.get("X-Cache")).toBe("MISS");
    expect((await app.request("/api/v1/metrics")).status).toBe(503);

    await stack.redis.restart();
    // The bridge reconnects within a fifth of a second; until then a hit's count is dropped, so ask until one lands.
    await vi.waitFor(async () => {
      await app.request(dataUrl(BTC_SPOT));
      expect(Number(await get("metrics:cache_hit:data_spot")), "data_spot hits counted since Redis came back").toBeGreaterThan(0);
    }, { timeout: 10_000, interval: 200 });
  });
});

describe("many containers, one Redis", () => {
  const cold = { symbol: "BTCUSDT", interval: "1h", start_date: "2024-02-01", end_date: "2024-02-29" };
  const klinesOf = (app: ReturnType<typeof createApp>, query: Record<string, string>) =>
    Promise.resolve(app.request(`/api/v1/klines?${new URLSearchParams(query)}`));
  const klinesRequests = () => binance.served.filter((call) => call.path.endsWith("/klines"));
  /** Two containers: their own memory, the same cache folder, the same Redis. */
  function containers(clock = fixedClock(NOW)) {
    const CACHE_DIR = tempDir();
    return [build({ CACHE_DIR }, clock), build({ CACHE_DIR }, clock)] as const;
  }

  it("two containers asking for the same cold month at once fetch it once: one holds its lease, the other waits", async () => {
    const [a, b] = containers();
    binance.set({ slow: { count: 1, delayMs: 500 } });

    const [fromA, fromB] = await Promise.all([klinesOf(a.app, cold), klinesOf(b.app, cold)]);

    expect([fromA.status, fromB.status]).toEqual([200, 200]);
    expect(await fromA.text()).toBe(await fromB.text());
    expect(klinesRequests()).toHaveLength(1);
    expect([fromA.headers.get("X-Upstream-Requests"), fromB.headers.get("X-Upstream-Requests")].sort()).toEqual(["0", "1"]);
    expect(await redis.keys("lease:klines:*")).toEqual([]);
  });

  it("takes over the fetch of a holder that crashed, once its lease has expired", async () => {
    const [a] = containers();
    await redis.set(`lease:klines:partitions/${datasetKey({ ...cold, market_type: "spot" } as DatasetId)}`, "crashed", { px: 800 });

    const res = await klinesOf(a.app, cold);

    expect(res.status).toBe(200);
    expect(res.headers.get("X-Upstream-Requests")).toBe("1");
  });

  it("stops every container at a 418 seen by one, until its Retry-After has passed", async () => {
    const clock = fixedClock(NOW);
    const [a, b] = containers(clock);
    binance.set({ banned: { count: 1, retryAfterSeconds: 120 } });

    expect((await klinesOf(a.app, cold)).status).toBe(503);
    expect(klinesRequests()).toHaveLength(1);
    const other = await klinesOf(b.app, { ...cold, symbol: "ETHUSDT" });

    expect(other.status).toBe(503);
    expect(other.headers.get("Retry-After")).toBe("120");
    expect(klinesRequests()).toHaveLength(1);
    clock.set(new Date(Date.parse(NOW) + 120_000));
    expect((await klinesOf(b.app, { ...cold, symbol: "ETHUSDT" })).status).toBe(200);
    expect(klinesRequests()).toHaveLength(2);
  });

  it("counts the weight of every container in one budget per minute", async () => {
    const [a, b] = containers();
    await klinesOf(a.app, cold);
    await klinesOf(b.app, { ...cold, symbol: "ETHUSDT" });

    const minute = Math.floor(Date.parse(NOW) / 60_000);
    expect(await get(`binance:spot:weight_1m:${minute}`)).toBe("4");
    expect(await redis.ttl(`binance:spot:weight_1m:${minute}`)).toBeGreaterThan(100);
  });

  it("refreshes a market's symbol list once when two containers warm up at once", async () => {
    const [a, b] = containers();
    binance.set({ slow: { count: 2, delayMs: 300 } });

    await Promise.all([a.symbols.warmup(), b.symbols.warmup()]);

    expect(binance.requests["/api/v3/exchangeInfo"]).toBe(1);
    expect(binance.requests["/fapi/v1/exchangeInfo"]).toBe(1);
  });

  it("with Redis unreachable, fifty concurrent symbol requests make one exchangeInfo call; the last good list is kept in memory", async () => {
    const { app } = build({ UPSTASH_REDIS_REST_URL: "http://127.0.0.1:9", COUNTERS_TIMEOUT_MS: "200" });

    const answers = await Promise.all(Array.from({ length: 50 }, () => Promise.resolve(app.request("/api/v1/symbols/spot"))));

    expect(answers.map((res) => res.status)).toEqual(Array(50).fill(200));
    expect(binance.requests["/api/v3/exchangeInfo"]).toBe(1);
    binance.set({ serverError: { count: Infinity } });
    const stale = await app.request("/api/v1/symbols/spot");
    expect(stale.status).toBe(200);
    expect(stale.headers.get("X-Cache")).toBe("STALE");
  });

  it("with Redis unreachable, a cold klines request still fetches, uncoordinated, and answers", async () => {
    const { app } = build({ UPSTASH_REDIS_REST_URL: "http://127.0.0.1:9", COUNTERS_TIMEOUT_MS: "200" });

    const res = await klinesOf(app, cold);

    expect(res.status).toBe(200);
    expect(res.headers.get("X-Upstream-Requests")).toBe("1");
  });
});
