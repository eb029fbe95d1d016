import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { fixedClock } from "../../src/clock.js";
import { UnknownSymbolError, UpstreamUnavailableError } from "../../src/errors.js";
import { createBinanceClient, type BinanceClientOptions } from "../../src/upstream/binance.js";
import { startBinanceStandIn, type BinanceStandIn } from "../support/binance-standin.js";

const NOW = "2026-03-01T12:00:15.000Z";
const utc = (text: string) => Date.parse(`${text}Z`);

let standIn: BinanceStandIn;
beforeAll(async () => {
  standIn = await startBinanceStandIn({ now: () => Date.parse(NOW), unknownSymbols: ["NOPEUSDT"] });
});
afterAll(() => standIn.close());
beforeEach(() => standIn.reset());

function clientOf(overrides: Partial<BinanceClientOptions> = {}) {
  const sleeps: number[] = [];
  const client = createBinanceClient({
    spotUrl: standIn.url,
    futuresUrl: standIn.url,
    timeoutMs: 2_000,
    maxRetries: 2,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 0.5,
    clock: fixedClock(NOW),
    ...overrides,
  });
  return { client, sleeps };
}

describe("Binance client: klines", () => {
  it("asks spot for a page of at most 1000 between startTime and endTime, and types the rows", async () => {
    const { client } = clientOf();

    const { klines } = await client.klines("spot", { symbol: "BTCUSDT", interval: "1h", startTime: utc("2025-01-01T00:00:00"), endTime: utc("2025-01-01T05:00:00") });

    expect(klines.map((k) => k[0])).toEqual([0, 1, 2, 3, 4, 5].map((h) => utc("2025-01-01T00:00:00") + h * 3_600_000));
    expect(klines[0]).toEqual([
      utc("2025-01-01T00:00:00"), expect.any(String), expect.any(String), expect.any(String), expect.any(String), expect.any(String),
      utc("2025-01-01T01:00:00") - 1, expect.any(String), expect.any(Number), expect.any(String), expect.any(String), "0",
    ]);
    expect(standIn.served).toEqual([
      { path: "/api/v3/klines", query: { symbol: "BTCUSDT", interval: "1h", startTime: String(utc("2025-01-01T00:00:00")), endTime: String(utc("2025-01-01T05:00:00")), limit: "1000" } },
    ]);
  });

  it("asks futures at /fapi/v1/klines for pages of 1500", async () => {
    const { client } = clientOf();

    const { klines } = await client.klines("futures", { symbol: "BTCUSDT", interval: "1m", startTime: utc("2025-01-01T00:00:00") });

    expect(klines).toHaveLength(1500);
    expect(standIn.served[0]).toMatchObject({ path: "/fapi/v1/klines", query: { limit: "1500" } });
  });

  it("tells of every HTTP request it sends, retries included", async () => {
    const { client } = clientOf();
    standIn.set({ rateLimited: { count: 1, retryAfterSeconds: 1 } });
    let attempts = 0;

    await client.klines("spot", { symbol: "BTCUSDT", interval: "1d", startTime: utc("2025-01-01T00:00:00") }, { onAttempt: () => attempts++ });

    expect(attempts).toBe(2);
  });

  it("waits for the next minute once the minute's used weight reaches its soft limit", async () => {
    const { client, sleeps } = clientOf({ weightSoftLimit1m: { spot: 4 } });
    const page = () => client.klines("spot", { symbol: "BTCUSDT", interval: "1d", startTime: utc("2025-01-01T00:00:00"), limit: 5 });

    await page();
    await page();
    expect(sleeps).toEqual([]);
    expect(client.usedWeight("spot")?.weight1m).toBe(4);
    await page();

    expect(sleeps).toEqual([45_000]);
    expect(standIn.requests["/api/v3/klines"]).toBe(3);
  });

  it("ignores a used weight reported in an earlier minute: Binance's window has started afresh", async () => {
    const clock = fixedClock(NOW);
    const { client, sleeps } = clientOf({ weightSoftLimit1m: { spot: 2 }, clock });

    await client.klines("spot", { symbol: "BTCUSDT", interval: "1d", startTime: utc("2025-01-01T00:00:00"), limit: 5 });
    clock.set("2026-03-01T12:01:00.000Z");
    await client.klines("spot", { symbol: "BTCUSDT", interval: "1d", startTime: utc("2025-01-01T00:00:00"), limit: 5 });

    expect(sleeps).toEqual([]);
  });

  it("takes Binance's 'Invalid symbol' for an unknown symbol, without retrying", async () => {
    const { client } = clientOf();

    const error = await client.klines("futures", { symbol: "NOPEUSDT", interval: "1h" }).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(UnknownSymbolError);
    expect(error).toMatchObject({ symbol: "NOPEUSDT", market: "futures" });
    expect(standIn.requests["/fapi/v1/klines"]).toBe(1);
  });

  it("says the exchange's time of each answer, from its Date header", async () => {
    const { client } = clientOf();

    const page = await client.klines("spot", { symbol: "BTCUSDT", interval: "1h", startTime: utc("2025-01-01T00:00:00"), limit: 1 });

    expect(page.exchangeTimeMs).toBe(Date.parse(NOW));
  });

  it("refuses to read an answer larger than any klines page, and does not hold it", async () => {
    const huge = JSON.stringify(Array.from({ length: 150_000 }, (_, i) => [i, "1", "1", "1", "1", "1", i + 1, "1", 3, "1", "1", "0"]));
    const { client } = clientOf({ fetch: async () => new Response(huge, { headers: { "content-type": "application/json" } }) });

    const error = await client.klines("spot", { symbol: "BTCUSDT", interval: "1m" }).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(UpstreamUnavailableError);
    expect((error as Error).message).toMatch(/answer of (more than )?\d+ bytes/);
  });

  it("runs no wait past the request's deadline: a Retry-After longer than what is left fails at once, saying when", async () => {
    const clock = fixedClock(NOW);
    const { client, sleeps } = clientOf({ clock });
    standIn.set({ rateLimited: { count: 1, retryAfterSeconds: 9 } });
    const deadline = { atMs: clock.now().getTime() + 5_000, signal: new AbortController().signal };

    const error = await client.klines("spot", { symbol: "BTCUSDT", interval: "1h" }, { deadline }).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(UpstreamUnavailableError);
    expect((error as UpstreamUnavailableError).retryAt).toEqual(new Date(clock.now().getTime() + 9_000));
    expect(sleeps).toEqual([]);
  });

  it("refuses a body that is not a list of 12-field klines, without retrying", async () => {
    const bodies = [{ code: -1 }, [[1, "1", "1", "1", "1", "1", 2, "1", 3, "1", "1"]], [[1, "1", "1", "1", "NaN", "1", 2, "1", 3, "1", "1", "0"]]];
    for (const body of bodies) {
      const { client } = clientOf({ fetch: async () => Response.json(body) });

      const error = await client.klines("spot", { symbol: "BTCUSDT", interval: "1m" }).catch((caught: unknown) => caught);

      expect(error).toBeInstanceOf(UpstreamUnavailableError);
      expect((error as Error).message).toMatch(/Binance spot \/api\/v3\/klines answered (something other than a list|a kline of an unknown shape)/);
    }
  });
});
