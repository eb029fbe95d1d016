import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { createMemoryKeyValueStore } from "../../src/counters/memory.js";
import type { Counters } from "../../src/counters/types.js";
import { createUpstashCounters, createUpstashKeyValueStore, createUpstashLeases } from "../../src/counters/upstash.js";
import type { SuccessEnvelope } from "../../src/http/envelope.js";
import type { SymbolInfo } from "../../src/symbols/list.js";
import { freePort } from "../../dev/ports.js";
import { startRedisStack, type RedisStack } from "../../dev/redis-server.js";
import { testApp } from "../support/app.js";
import { startBinanceStandIn, type BinanceStandIn } from "../support/binance-standin.js";
import { jsonOf } from "../support/json.js";

type SymbolList = SuccessEnvelope<{ count: number; symbols: SymbolInfo[] }>;

const NOW = "2026-11-25T12:00:00.000Z";
const TTL_SECONDS = 600;
const SPOT_INFO = "/api/v3/exchangeInfo";

let binance: BinanceStandIn;
beforeAll(async () => {
  binance = await startBinanceStandIn({ now: () => Date.parse(NOW) });
});
afterAll(() => binance.close());
beforeEach(() => binance.reset());

/** The Upstash drivers, as deployed, aimed at `url`. */
function upstashAt(url: string, token = "unused") {
  return {
    counters: createUpstashCounters({ url, token, timeoutMs: 2000, log: { warn: () => {} } }),
    kv: createUpstashKeyValueStore({ url, token, timeoutMs: 2000 }),
    leases: createUpstashLeases({ url, token, timeoutMs: 2000 }),
  };
}

const symbolsOf = async (app: ReturnType<typeof testApp>["app"], path = "/api/v1/symbols/spot") => {
  const res = await app.request(path);
  return { status: res.status, cache: res.headers.get("X-Cache"), body: await jsonOf<SymbolList>(res) };
};

describe("symbol lists with Redis unreachable (the Upstash URL on a closed port)", () => {
  it("ten requests one after another make one exchangeInfo call: the list Binance answered is kept in memory, served STALE", async () => {
    const redis = upstashAt(`http://127.0.0.1:${await freePort()}`);
    const { app } = testApp({ ...redis, binanceUrl: binance.url, symbolsTtlSeconds: TTL_SECONDS, now: NOW });

    const answers = [];
    for (let i = 0; i < 10; i++) answers.push(await symbolsOf(app));

    expect(answers.map((answer) => answer.status)).toEqual(Array(10).fill(200));
    expect(binance.requests[SPOT_INFO]).toBe(1);
    expect(answers.map((answer) => answer.cache)).toEqual(["MISS", ...Array<string>(9).fill("STALE")]);
    for (const answer of answers) expect(answer.body.data.symbols).toEqual(answers[0]?.body.data.symbols);
    expect(answers[0]?.body.data.count).toBeGreaterThan(0);
  });

  it("keeps the futures lists of every contract type too", async () => {
    const redis = upstashAt(`http://127.0.0.1:${await freePort()}`);
    const { app } = testApp({ ...redis, binanceUrl: binance.url, symbolsTtlSeconds: TTL_SECONDS, now: NOW });

    const perpetual = await symbolsOf(app, "/api/v1/symbols/futures");
    const quarters = await symbolsOf(app, "/api/v1/symbols/futures?contract_types=NEXT_QUARTER");
    const again = await symbolsOf(app, "/api/v1/symbols/futures");

    expect([perpetual.cache, quarters.cache, again.cache]).toEqual(["MISS", "STALE", "STALE"]);
    expect(quarters.body.data.symbols.map((s) => s.symbol)).toEqual(["BTCUSDT_220624"]);
    expect(again.body.data.symbols).toEqual(perpetual.body.data.symbols);
    expect(binance.requests["/fapi/v1/exchangeInfo"]).toBe(1);
  });

  it("asks Binance again once the list in memory is older than the lists' TTL, and serves it still if Binance fails", async () => {
    const redis = upstashAt(`http://127.0.0.1:${await freePort()}`);
    const { app, clock } = testApp({ ...redis, binanceUrl: binance.url, symbolsTtlSeconds: TTL_SECONDS, now: NOW });
    const first = await symbolsOf(app);
    clock.set(new Date(Date.parse(NOW) + (TTL_SECONDS - 1) * 1000));
    expect((await symbolsOf(app)).cache).toBe("STALE");
    expect(binance.requests[SPOT_INFO]).toBe(1);

    clock.set(new Date(Date.parse(NOW) + (TTL_SECONDS + 1) * 1000));
    binance.set({ serverError: { count: Infinity } });
    const stale = await symbolsOf(app);
    const staleAgain = await symbolsOf(app);

    expect([stale.status, stale.cache]).toEqual([200, "STALE"]);
    expect(stale.body.data.symbols).toEqual(first.body.data.symbols);
    expect(staleAgain.cache).toBe("STALE");
    expect(binance.requests[SPOT_INFO]).toBeGreaterThan(1);
    binance.reset();
    const refreshed = await symbolsOf(app);
    expect(refreshed.cache).toBe("MISS");
    expect(binance.requests[SPOT_INFO]).toBe(1);
    expect((await symbolsOf(app)).cache).toBe("STALE");
    expect(binance.requests[SPOT_INFO]).toBe(1);
  });

  it("answers 503 when neither Redis, memory nor Binance has a list", async () => {
    const redis = upstashAt(`http://127.0.0.1:${await freePort()}`);
    const { app } = testApp({ ...redis, binanceUrl: binance.url, now: NOW });
    binance.set({ serverError: { count: Infinity } });

    const res = await app.request("/api/v1/symbols/spot");

    expect(res.status).toBe(503);
    expect((await jsonOf<{ error: { code: string } }>(res)).error.code).toBe("UPSTREAM_UNAVAILABLE");
  });
});

describe("symbol lists when redis-server stops behind the Upstash bridge", () => {
  let stack: RedisStack;
  beforeAll(async () => {
    stack = await startRedisStack();
  });
  afterAll(() => stack.stop());

  it("serve the list last read from Redis, without asking Binance, and read Redis again once it is back", async () => {
    const redis = upstashAt(stack.upstashUrl, stack.upstashToken);
    const { app } = testApp({ ...redis, binanceUrl: binance.url, symbolsTtlSeconds: TTL_SECONDS, now: NOW });
    const fromBinance = await symbolsOf(app);
    expect((await symbolsOf(app)).cache).toBe("HIT");
    expect(binance.requests[SPOT_INFO]).toBe(1);

    await stack.redis.kill();
    const answers = [];
    for (let i = 0; i < 10; i++) answers.push(await symbolsOf(app));

    expect(answers.map((answer) => [answer.status, answer.cache])).toEqual(Array(10).fill([200, "STALE"]));
    for (const answer of answers) expect(answer.body.data.symbols).toEqual(fromBinance.body.data.symbols);
    expect(binance.requests[SPOT_INFO]).toBe(1);

    await stack.redis.restart();
    await vi.waitFor(() => redis.kv.get("ready"), { timeout: 10_000, interval: 50 });
    expect((await symbolsOf(app)).cache).toBe("MISS");
    expect(binance.requests[SPOT_INFO]).toBe(2);
    expect((await symbolsOf(app)).cache).toBe("HIT");
  });
});

/** Counts that never land: if an answer waited for one, its test would hang until its timeout and fail. */
function countersThatNeverAnswer(): Counters & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    increment: (key) => {
      asked.push(key);
      return new Promise<void>(() => {});
    },
    read: () => new Promise(() => {}),
  };
}

describe("counting on the symbols answer path", () => {
  it("is never awaited: a miss, a hit and a memory answer come while every count is still pending", async () => {
    const counters = countersThatNeverAnswer();
    const { app } = testApp({ counters, binanceUrl: binance.url, now: NOW });

    const miss = await symbolsOf(app);
    const hit = await symbolsOf(app);

    expect([miss.status, miss.cache, hit.status, hit.cache]).toEqual([200, "MISS", 200, "HIT"]);
    expect(counters.asked).toEqual(["metrics:cache_miss:symbols_spot", "metrics:cache_hit:symbols_spot"]);
  });

  it("is never awaited with Redis unreachable either", async () => {
    const counters = countersThatNeverAnswer();
    const { kv, leases } = upstashAt(`http://127.0.0.1:${await freePort()}`);
    const { app } = testApp({ counters, kv, leases, binanceUrl: binance.url, now: NOW });

    const answers = [await symbolsOf(app), await symbolsOf(app)];

    expect(answers.map((answer) => answer.cache)).toEqual(["MISS", "STALE"]);
    expect(counters.asked).toHaveLength(2);
  });

  it("is never awaited when Binance fails and the last good list is served", async () => {
    const counters = countersThatNeverAnswer();
    const kv = createMemoryKeyValueStore();
    const { app, symbols } = testApp({ counters, kv, binanceUrl: binance.url, now: NOW });
    await symbols.get("spot");
    await kv.set("cache:symbols:spot:v1", "", { ttlSeconds: 0 });
    binance.set({ serverError: { count: Infinity } });

    const stale = await symbolsOf(app);

    expect([stale.status, stale.cache]).toEqual([200, "STALE"]);
  });
});
