import { describe, expect, it } from "vitest";
import { fixedClock } from "../../src/clock.js";
import { createMemoryCounters, createMemoryKeyValueStore, createMemoryLeases } from "../../src/counters/memory.js";
import { testCounters, testKeyValueStore, testLeases } from "./contract.js";

testCounters("memory", () => createMemoryCounters());
testKeyValueStore("memory", () => createMemoryKeyValueStore());
testLeases("memory", () => createMemoryLeases());

describe("memory leases", () => {
  it("expire ttlMs after they were taken or renewed, for anyone to take", async () => {
    const clock = fixedClock("2026-11-25T12:00:00.000Z");
    const leases = createMemoryLeases({ clock });
    const token = (await leases.acquire("lease", 15_000)) as string;

    clock.set("2026-11-25T12:00:10.000Z");
    expect(await leases.renew("lease", token, 15_000)).toBe(true);
    clock.set("2026-11-25T12:00:24.999Z");
    expect(await leases.acquire("lease", 15_000)).toBeNull();
    clock.set("2026-11-25T12:00:25.000Z");
    expect(await leases.acquire("lease", 15_000)).not.toBeNull();
    expect(await leases.renew("lease", token, 15_000)).toBe(false);
  });
});

describe("memory key-value counters", () => {
  it("start a new window once the first add's TTL has passed", async () => {
    const clock = fixedClock("2026-11-25T12:00:00.000Z");
    const kv = createMemoryKeyValueStore({ clock });
    await kv.add("w", 5, { ttlSeconds: 60 });
    clock.set("2026-11-25T12:00:59.999Z");
    expect(await kv.add("w", 1, { ttlSeconds: 60 })).toBe(6);
    clock.set("2026-11-25T12:01:00.000Z");
    expect(await kv.add("w", 1, { ttlSeconds: 60 })).toBe(1);
  });
});

describe("memory counters", () => {
  it("keeps its counts in the injected map", async () => {
    const map = new Map([["metrics:cache_hit:data_spot", 5]]);
    const counters = createMemoryCounters({ map });

    await counters.increment("metrics:cache_hit:data_spot");

    expect(map.get("metrics:cache_hit:data_spot")).toBe(6);
  });
});

describe("memory key-value store", () => {
  it("expires a value exactly ttlSeconds after it was set", async () => {
    const clock = fixedClock("2026-11-25T12:00:00.000Z");
    const kv = createMemoryKeyValueStore({ clock });
    await kv.set("cache:symbols:spot:v1", "[]", { ttlSeconds: 600 });

    clock.set("2026-11-25T12:09:59.999Z");
    expect(await kv.get("cache:symbols:spot:v1")).toBe("[]");
    clock.set("2026-11-25T12:10:00.000Z");
    expect(await kv.get("cache:symbols:spot:v1")).toBeNull();
  });

  it("drops an earlier expiry when a value is set again without a TTL, as Redis SET does", async () => {
    const clock = fixedClock("2026-11-25T12:00:00.000Z");
    const kv = createMemoryKeyValueStore({ clock });
    await kv.set("k", "a", { ttlSeconds: 1 });
    await kv.set("k", "b");

    clock.set("2027-01-01T00:00:00.000Z");
    expect(await kv.get("k")).toBe("b");
  });
});
