import { createServer, type Server, type Socket } from "node:net";
import { Redis as IORedis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it, vi } from "vitest";
import { createUpstashCounters, createUpstashKeyValueStore, createUpstashLeases } from "../../src/counters/upstash.js";
import { startRedisStack, type RedisStack } from "../../dev/redis-server.js";
import { testCounters, testKeyValueStore, testLeases } from "./contract.js";

const url = inject("upstashUrl");
const token = inject("upstashToken");

/** Generous for the contract (counting, not timing), so a busy machine cannot drop counts. */
testCounters("upstash, through the bridge to redis-server", () =>
  createUpstashCounters({ url, token, timeoutMs: 5000, log: { warn: vi.fn() } }),
);

testKeyValueStore("upstash, through the bridge to redis-server", () =>
  createUpstashKeyValueStore({ url, token, timeoutMs: 5000 }),
);

testLeases("upstash, through the bridge to redis-server", () => createUpstashLeases({ url, token, timeoutMs: 5000 }));

describe("upstash leases", () => {
  const direct = new IORedis(inject("redisUrl"), { protocol: 2 });
  afterAll(() => direct.disconnect());

  it("are SET NX PX in Redis: a holder that stops renewing loses the lease when it expires", async () => {
    const leases = createUpstashLeases({ url, token });
    const key = `test:${crypto.randomUUID()}:lease`;
    // Long enough that the checks below, a few round trips, cannot outlast it; short enough to wait out.
    const ttlMs = 1_000;
    const holder = (await leases.acquire(key, ttlMs)) as string;

    expect(await direct.get(key)).toBe(holder);
    const pttl = await direct.pttl(key);
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(ttlMs);
    expect(await leases.acquire(key, ttlMs)).toBeNull();
    // Redis expires it, on its own clock: wait until it has.
    await vi.waitFor(async () => expect(await direct.pttl(key), "the lease's PTTL: -2 once Redis expired it").toBe(-2), {
      timeout: ttlMs + 10_000,
      interval: 50,
    });
    const next = await leases.acquire(key, 60_000);
    expect(next).not.toBeNull();
    expect(await leases.renew(key, holder, 60_000)).toBe(false);
    expect(await direct.get(key)).toBe(next);
  });
});

describe("upstash key-value store", () => {
  const direct = new IORedis(inject("redisUrl"), { protocol: 2 });
  afterAll(() => direct.disconnect());

  it("sets the TTL in Redis, and drops it when set again without one", async () => {
    const kv = createUpstashKeyValueStore({ url, token });
    const key = `test:${crypto.randomUUID()}`;

    await kv.set(key, "[]", { ttlSeconds: 600 });
    const ttl = await direct.ttl(key);
    await kv.set(key, "[1]");

    expect(ttl).toBeGreaterThan(590);
    expect(ttl).toBeLessThanOrEqual(600);
    expect(await direct.ttl(key)).toBe(-1);
    expect(await direct.get(key)).toBe("[1]");
  });

  it("adds with the window's TTL set by the first add, not pushed back by later ones", async () => {
    const kv = createUpstashKeyValueStore({ url, token });
    const key = `test:${crypto.randomUUID()}`;

    await kv.add(key, 2, { ttlSeconds: 120 });
    await direct.expire(key, 50);
    await kv.add(key, 2, { ttlSeconds: 120 });

    expect(await direct.ttl(key)).toBeLessThanOrEqual(50);
    expect(await direct.get(key)).toBe("4");
  });
});

/** What AbortSignal.timeout aborts a fetch with: only the client's own limit ends a call to a silent server. */
const TIMED_OUT = expect.objectContaining({ name: "TimeoutError" }) as unknown;

/** A loopback TCP server that does `onSocket` to each connection, and counts them. */
async function rawServer(onSocket: (socket: Socket) => void): Promise<{ url: string; connections: () => number; close(): Promise<void> }> {
  let connections = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    connections += 1;
    sockets.add(socket);
    socket.on("error", () => {});
    onSocket(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no address");
  return {
    url: `http://127.0.0.1:${address.port}`,
    connections: () => connections,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe("upstash counters when Redis fails", () => {
  const servers: { close(): Promise<void> }[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => server.close()));
  });

  it("logs and drops a failed increment instead of rejecting", async () => {
    // A server that hangs up on every connection: the client's fetch fails, as on a Redis that is down.
    const hangingUp = await rawServer((socket) => socket.destroy());
    servers.push(hangingUp);
    const log = { warn: vi.fn() };
    const counters = createUpstashCounters({ url: hangingUp.url, token, log });

    await expect(counters.increment("metrics:cache_hit:data_spot")).resolves.toBeUndefined();

    expect(hangingUp.connections()).toBeGreaterThan(0);
    expect(log.warn).toHaveBeenCalledWith("counter_increment_dropped", {
      key: "metrics:cache_hit:data_spot",
      by: 1,
      error: expect.any(Error) as unknown,
    });
  });

  // A server that never answers: without the limit these calls would wait out the test's own timeout.
  it("gives up on a server that never answers at timeoutMs: increment resolves, read rejects", async () => {
    const silent = await rawServer(() => {});
    servers.push(silent);
    const log = { warn: vi.fn() };
    const counters = createUpstashCounters({ url: silent.url, token, timeoutMs: 150, log });

    await counters.increment("k");
    const read = await counters.read(["k"]).catch((error: unknown) => error);

    expect(log.warn).toHaveBeenCalledTimes(1);
    expect(log.warn).toHaveBeenCalledWith("counter_increment_dropped", expect.objectContaining({ error: TIMED_OUT }));
    expect(read).toMatchObject({ name: "CountersUnavailableError", code: "COUNTERS_UNAVAILABLE", cause: TIMED_OUT });
  });

  it("rejects a key-value call at timeoutMs on a server that never answers", async () => {
    const silent = await rawServer(() => {});
    servers.push(silent);
    const kv = createUpstashKeyValueStore({ url: silent.url, token, timeoutMs: 150 });

    const get = await kv.get("k").catch((error: unknown) => error);
    const set = await kv.set("k", "v").catch((error: unknown) => error);

    expect(get).toMatchObject({ name: "CountersUnavailableError", code: "COUNTERS_UNAVAILABLE", cause: TIMED_OUT });
    expect(set).toMatchObject({ name: "CountersUnavailableError", code: "COUNTERS_UNAVAILABLE", cause: TIMED_OUT });
  });

  it("does not retry a request whose connection breaks", async () => {
    const breaking = await rawServer((socket) => socket.destroy());
    servers.push(breaking);
    const counters = createUpstashCounters({ url: breaking.url, token, timeoutMs: 1000, log: { warn: vi.fn() } });

    await counters.increment("k");

    expect(breaking.connections()).toBe(1);
  });
});

describe("upstash counters when Redis is killed in the middle of a test", () => {
  let stack: RedisStack;
  beforeAll(async () => {
    stack = await startRedisStack();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  // How soon a count is given up is the timeout's, proven above on a server that never answers.
  it("drops counts while Redis is down and counts exactly again once it is back", async () => {
    const log = { warn: vi.fn() };
    const counters = createUpstashCounters({ url: stack.upstashUrl, token: stack.upstashToken, timeoutMs: 5000, log });
    await counters.increment("hits", 5);
    expect(await counters.read(["hits"])).toEqual({ hits: 5 });

    await stack.redis.kill();
    await Promise.all(Array.from({ length: 20 }, () => counters.increment("hits")));
    const readWhileDown = await counters.read(["hits"]).catch((error: unknown) => error);

    expect(log.warn).toHaveBeenCalledTimes(20);
    expect(readWhileDown).toMatchObject({ name: "CountersUnavailableError", code: "COUNTERS_UNAVAILABLE" });

    await stack.redis.restart();
    // The bridge reconnects within a fifth of a second of Redis being back.
    const baseline = await vi.waitFor(() => counters.read(["hits"]), { timeout: 10_000, interval: 50 });
    await Promise.all(Array.from({ length: 200 }, () => counters.increment("hits")));

    expect(await counters.read(["hits"])).toEqual({ hits: (baseline.hits ?? 0) + 200 });
  });
});
