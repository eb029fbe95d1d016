import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from "vitest";
import { createUpstashKeyValueStore } from "../../src/counters/upstash.js";
import { fixedClock } from "../../src/clock.js";
import { UpstreamBannedError, UpstreamUnavailableError } from "../../src/errors.js";
import { createBinanceClient, type BinanceClientOptions } from "../../src/upstream/binance.js";
import { createSharedLimits } from "../../src/upstream/limits.js";
import { startBinanceStandIn, type BinanceStandIn } from "../support/binance-standin.js";

const SPOT_PATH = "/api/v3/exchangeInfo";
const FUTURES_PATH = "/fapi/v1/exchangeInfo";
const NOW = "2026-03-01T12:00:00.000Z";
/** A delay past the test's own timeout: an answer that, for the test, never comes. */
const NEVER_MS = 120_000;

let standIn: BinanceStandIn;
beforeAll(async () => {
  standIn = await startBinanceStandIn();
});
afterAll(() => standIn.close());
beforeEach(() => standIn.reset());

/** A client of the stand-in whose waits are recorded instead of slept, with jitter pinned at one half. */
function clientOf(overrides: Partial<BinanceClientOptions> = {}) {
  const sleeps: number[] = [];
  const clock = fixedClock(NOW);
  const client = createBinanceClient({
    spotUrl: standIn.url,
    futuresUrl: standIn.url,
    timeoutMs: 2_000,
    maxRetries: 2,
    backoffBaseMs: 100,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 0.5,
    clock,
    ...overrides,
  });
  return { client, sleeps, clock };
}

describe("Binance client", () => {
  it("fetches spot exchangeInfo from /api/v3 and records the used weight", async () => {
    const { client } = clientOf();

    const info = (await client.exchangeInfo("spot")) as { timezone: string; symbols: { symbol: string }[] };

    expect(info.timezone).toBe("UTC");
    expect(info.symbols.map((s) => s.symbol)).toContain("BTCUSDT");
    expect(standIn.requests).toEqual({ [SPOT_PATH]: 1 });
    expect(client.usedWeight("spot")).toEqual({ weight1m: 20, at: new Date(NOW) });
    expect(client.usedWeight("futures")).toBeNull();
  });

  it("fetches futures exchangeInfo from /fapi/v1, weights counted per market", async () => {
    const { client } = clientOf();

    const info = (await client.exchangeInfo("futures")) as { futuresType: string; symbols: { symbol: string }[] };
    await client.exchangeInfo("futures");

    expect(info.futuresType).toBe("U_MARGINED");
    expect(info.symbols.map((s) => s.symbol)).toContain("BTCUSDT_220325");
    expect(standIn.requests).toEqual({ [FUTURES_PATH]: 2 });
    expect(client.usedWeight("futures")?.weight1m).toBe(2);
  });

  it("waits out a 429 for its Retry-After, once, then succeeds", async () => {
    const { client, sleeps } = clientOf();
    standIn.set({ rateLimited: { count: 1, retryAfterSeconds: 3 } });

    await expect(client.exchangeInfo("spot")).resolves.toBeDefined();

    expect(sleeps).toEqual([3_000]);
    expect(standIn.requests[SPOT_PATH]).toBe(2);
  });

  it("spends its retries on repeated 429s, each waited out, then gives up", async () => {
    const { client, sleeps } = clientOf();
    standIn.set({ rateLimited: { count: Infinity, retryAfterSeconds: 2 } });

    await expect(client.exchangeInfo("spot")).rejects.toThrow(/failed after 3 attempts: HTTP 429/);

    expect(sleeps).toEqual([2_000, 2_000]);
    expect(standIn.requests[SPOT_PATH]).toBe(3);
  });

  it("refuses to wait a Retry-After longer than its cap, and sends nothing until it has passed", async () => {
    const { client, sleeps, clock } = clientOf({ maxRetryAfterMs: 10_000 });
    standIn.set({ rateLimited: { count: 1, retryAfterSeconds: 60 } });

    await expect(client.exchangeInfo("spot")).rejects.toThrow(/rate-limiting this client until 2026-03-01T12:01:00.000Z/);
    await expect(client.exchangeInfo("spot")).rejects.toBeInstanceOf(UpstreamUnavailableError);
    expect(standIn.requests[SPOT_PATH]).toBe(1);

    clock.set("2026-03-01T12:01:00.000Z");
    await expect(client.exchangeInfo("spot")).resolves.toBeDefined();
    expect(standIn.requests[SPOT_PATH]).toBe(2);
    expect(sleeps).toEqual([]);
  });

  it("stops at a 418 without retrying and refuses every call until the ban ends", async () => {
    const { client, sleeps, clock } = clientOf();
    standIn.set({ banned: { count: 1, retryAfterSeconds: 120 } });

    const error = await client.exchangeInfo("spot").catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(UpstreamBannedError);
    expect(error).toBeInstanceOf(UpstreamUnavailableError);
    expect((error as UpstreamBannedError).until).toEqual(new Date("2026-03-01T12:02:00.000Z"));
    expect((error as Error).message).toMatch(/banned this IP \(HTTP 418\) until 2026-03-01T12:02:00.000Z/);

    clock.set("2026-03-01T12:01:59.999Z");
    await expect(client.exchangeInfo("spot")).rejects.toBeInstanceOf(UpstreamBannedError);
    expect(client.bannedUntil("spot")).toEqual(new Date("2026-03-01T12:02:00.000Z"));
    expect(standIn.requests[SPOT_PATH]).toBe(1);
    expect(sleeps).toEqual([]);

    await expect(client.exchangeInfo("futures")).resolves.toBeDefined();

    clock.set("2026-03-01T12:02:00.000Z");
    await expect(client.exchangeInfo("spot")).resolves.toBeDefined();
    expect(standIn.requests[SPOT_PATH]).toBe(2);
    expect(client.bannedUntil("spot")).toBeNull();
  });

  it("retries a 500 after a jittered exponential backoff, then succeeds", async () => {
    const { client, sleeps } = clientOf();
    standIn.set({ serverError: { count: 2 } });

    await expect(client.exchangeInfo("futures")).resolves.toBeDefined();

    expect(sleeps).toEqual([50, 100]);
    expect(standIn.requests[FUTURES_PATH]).toBe(3);
  });

  it("gives up on a 500 that never ends after maxRetries + 1 requests", async () => {
    const { client, sleeps } = clientOf({ maxRetries: 3, backoffMaxMs: 300 });
    standIn.set({ serverError: { count: Infinity } });

    const error = await client.exchangeInfo("spot").catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(UpstreamUnavailableError);
    expect((error as Error).message).toMatch(/spot \/api\/v3\/exchangeInfo failed after 4 attempts: HTTP 500/);
    expect(standIn.requests[SPOT_PATH]).toBe(4);
    expect(sleeps).toEqual([50, 100, 150]);
  });

  it("does not retry a 4xx other than 429 and 418", async () => {
    const { client, sleeps } = clientOf({ spotUrl: `${standIn.url}/nowhere/` });

    await expect(client.exchangeInfo("spot")).rejects.toThrow(/answered HTTP 404/);

    expect(standIn.requests).toEqual({ [`/nowhere${SPOT_PATH}`]: 1 });
    expect(sleeps).toEqual([]);
  });

  it("times out an answer that never comes at timeoutMs", async () => {
    const { client } = clientOf({ timeoutMs: 200, maxRetries: 0 });
    standIn.set({ slow: { count: 1, delayMs: NEVER_MS } });
    const started = performance.now();

    // Without the timeout this would wait out the test's own: only the limit ends it, and the error names it.
    await expect(client.exchangeInfo("spot")).rejects.toThrow(/failed after 1 attempt: timed out after 200 ms/);

    // Not before it either. Half of it: a timer may fire early by the work its event-loop turn did before it was set.
    expect(performance.now() - started).toBeGreaterThanOrEqual(100);
  });

  it("retries after a timeout", async () => {
    const { client } = clientOf();
    standIn.set({ slow: { count: 1, delayMs: NEVER_MS } });

    await expect(client.exchangeInfo("spot")).resolves.toBeDefined();

    expect(standIn.requests[SPOT_PATH]).toBe(2);
  });

  it("retries network errors, then reports the upstream unavailable", async () => {
    const gone = await startBinanceStandIn();
    await gone.close();
    const { client, sleeps } = clientOf({ spotUrl: gone.url });

    await expect(client.exchangeInfo("spot")).rejects.toThrow(/failed after 3 attempts: network error/);

    expect(sleeps).toHaveLength(2);
  });

  it("reports a body that is not JSON as an upstream error, without retrying", async () => {
    const { client } = clientOf();
    standIn.set({ garbage: { count: 1 } });

    const error = await client.exchangeInfo("spot").catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(UpstreamUnavailableError);
    expect((error as Error).message).toMatch(/not JSON: "<html>/);
    expect(standIn.requests[SPOT_PATH]).toBe(1);
  });
});

describe("Binance clients of many containers, sharing their limits through Upstash", () => {
  const url = inject("upstashUrl");
  const token = inject("upstashToken");
  const sharedOf = () => createSharedLimits({ kv: createUpstashKeyValueStore({ url, token }) });

  it("keeps all of them under one weight budget per minute", async () => {
    const shared = sharedOf();
    // A minute of its own: the run's Redis is shared by every test file.
    const clock = fixedClock("2031-06-01T10:00:15.000Z");
    const a = clientOf({ shared, clock, weightSoftLimit1m: { futures: 2 } });
    const b = clientOf({ shared, clock, weightSoftLimit1m: { futures: 2 } });

    await a.client.exchangeInfo("futures");
    await a.client.exchangeInfo("futures");
    expect(a.sleeps).toEqual([]);
    // b has seen no answer yet, so only the shared budget knows that a spent it.
    await b.client.exchangeInfo("futures");

    // Weight 1 each: b's request is past the budget of both together, and waits for the next minute.
    expect(b.sleeps).toEqual([45_000]);
    expect(standIn.requests[FUTURES_PATH]).toBe(3);
  });

  it("stops the others at a ban one of them was answered, before they send anything", async () => {
    const shared = sharedOf();
    const clock = fixedClock("2031-06-02T10:00:00.000Z");
    const a = clientOf({ shared, clock });
    const b = clientOf({ shared, clock });
    standIn.set({ banned: { count: 1, retryAfterSeconds: 60 } });

    await expect(a.client.exchangeInfo("futures")).rejects.toBeInstanceOf(UpstreamBannedError);
    await expect(b.client.exchangeInfo("futures")).rejects.toBeInstanceOf(UpstreamBannedError);

    expect(standIn.requests[FUTURES_PATH]).toBe(1);
    expect(b.client.bannedUntil("futures")).toEqual(new Date("2031-06-02T10:01:00.000Z"));
  });

  it("goes on with its own limits when the shared ones cannot be reached", async () => {
    const down = createSharedLimits({ kv: createUpstashKeyValueStore({ url: "http://127.0.0.1:9", token, timeoutMs: 200 }) });
    const { client } = clientOf({ shared: down });

    await expect(client.exchangeInfo("spot")).resolves.toBeDefined();
  });
});
