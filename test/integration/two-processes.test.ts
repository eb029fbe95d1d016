import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { startRedisStack, type RedisStack } from "../../dev/redis-server.js";
import { startBinanceStandIn, type BinanceStandIn } from "../support/binance-standin.js";
import { tempDir } from "../support/fixtures.js";
import { npmStart, type NpmStart } from "../support/npm-start.js";

/**
 * Two service processes, as two Lambda containers are: each with its own memory, both on one cache folder and one
 * Redis (a real redis-server behind the Upstash bridge), both talking to one Binance stand-in that counts.
 */
let stack: RedisStack;
let binance: BinanceStandIn;
let services: [NpmStart, NpmStart];

beforeAll(async () => {
  stack = await startRedisStack();
  binance = await startBinanceStandIn();
  const env = {
    CACHE_DIR: tempDir(),
    UPSTASH_REDIS_REST_URL: stack.upstashUrl,
    UPSTASH_REDIS_REST_TOKEN: stack.upstashToken,
    BINANCE_SPOT_URL: binance.url,
    BINANCE_FUTURES_URL: binance.url,
    LOG_LEVEL: "error",
    CACHE_API_TOKEN: "",
    // Generous, so a busy CI machine never turns a slow Redis answer into "Redis down, each on its own".
    COUNTERS_TIMEOUT_MS: "3000",
  };
  services = await Promise.all([npmStart(env), npmStart(env)]);
  for (const service of services) expect(service.output()).toContain("listening on");
}, 60_000);
afterAll(async () => {
  await Promise.all(services.map((service) => service.stop()));
  await binance.close();
  await stack.stop();
});
beforeEach(() => binance.reset());

/** The 418's Retry-After: the ban's length, waited out on the real clock. */
const BAN_SECONDS = 2;
const klines = (service: NpmStart, query: Record<string, string>) => fetch(`${service.url}/api/v1/klines?${new URLSearchParams(query)}`);
const klinesRequests = () => binance.served.filter((call) => call.path.endsWith("/klines"));

describe("two service processes sharing one cache and one Redis", () => {
  it("fetch each page of identical cold requests sent to both at once once", async () => {
    // Forty-two pages of 1m candles: the second process waits for the first one's lease, then reads its months.
    const query = { symbol: "BTCUSDT", interval: "1m", start_date: "2024-02-01", end_date: "2024-02-29", format: "csv" };

    const [a, b] = await Promise.all([klines(services[0], query), klines(services[1], query)]);

    expect([a.status, b.status]).toEqual([200, 200]);
    const [bodyA, bodyB] = await Promise.all([a.text(), b.text()]);
    expect(bodyA).toBe(bodyB);
    expect(bodyA.trimEnd().split("\n")).toHaveLength(29 * 1440 + 1);
    const starts = klinesRequests().map((call) => call.query.startTime);
    expect(starts).toHaveLength(42);
    expect(new Set(starts).size).toBe(42);
  });

  it("stop both at a 418 answered to one, until its Retry-After has passed", async () => {
    binance.set({ banned: { count: 1, retryAfterSeconds: BAN_SECONDS } });
    const march = { symbol: "ETHUSDT", interval: "1h", start_date: "2024-03-01", end_date: "2024-03-31" };
    // The services judge the ban by the system clock (Date.now), so this does too.
    const sent = Date.now();

    const first = await klines(services[0], march);
    expect(first.status).toBe(503);
    expect(klinesRequests()).toHaveLength(1);
    const other = await klines(services[1], { ...march, symbol: "SOLUSDT" });

    expect(other.status).toBe(503);
    expect(Number(other.headers.get("Retry-After"))).toBeGreaterThanOrEqual(1);
    expect(klinesRequests()).toHaveLength(1);
    // The processes run on the real clock: ask the other one again until it fetches. The ban began after `sent`; a
    // request let through before it ended would be answered 200 (the stand-in bans once), sooner than BAN_SECONDS.
    const after = await vi.waitFor(
      async () => {
        const res = await klines(services[1], { ...march, symbol: "SOLUSDT" });
        expect(res.status, "the second process, asked again until the ban is over").toBe(200);
        return res;
      },
      { timeout: BAN_SECONDS * 1000 + 20_000, interval: 100 },
    );
    expect(Date.now() - sent).toBeGreaterThanOrEqual(BAN_SECONDS * 1000);
    expect(after.headers.get("X-Upstream-Requests")).toBe("1");
    expect(klinesRequests()).toHaveLength(2);
  });
});
