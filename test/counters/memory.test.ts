import { describe, expect, it } from "vitest";
import { fixedClock } from "../../src/clock.js";
import { createMemoryCounters, createMemoryKeyValueStore } from "../../src/counters/memory.js";
import { testCounters, testKeyValueStore } from "./contract.js";

testCounters("memory", () => createMemoryCounters());
testKeyValueStore("memory", () => createMemoryKeyValueStore());

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
