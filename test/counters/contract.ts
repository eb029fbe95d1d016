import { randomUUID } from "node:crypto";
import { beforeEach, describe, expect, it } from "vitest";
import type { Counters, KeyValueStore, Leases } from "../../src/counters/types.js";

/**
 * The Counters contract, run unchanged against every driver. `makeCounters` is called before each test; keys
 * carry a fresh prefix per test, so drivers may share one store.
 */
export function testCounters(name: string, makeCounters: () => Counters | Promise<Counters>): void {
  describe(`Counters contract: ${name}`, () => {
    let counters: Counters;
    let key: (name: string) => string;

    beforeEach(async () => {
      counters = await makeCounters();
      const prefix = `test:${randomUUID()}`;
      key = (name) => `${prefix}:${name}`;
    });

    it("reads a counter that was never incremented as 0", async () => {
      expect(await counters.read([key("never")])).toEqual({ [key("never")]: 0 });
    });

    it("reads nothing when asked for no keys", async () => {
      expect(await counters.read([])).toEqual({});
    });

    it("increments by 1 by default", async () => {
      await counters.increment(key("hits"));
      await counters.increment(key("hits"));

      expect(await counters.read([key("hits")])).toEqual({ [key("hits")]: 2 });
    });

    it("increments by n", async () => {
      await counters.increment(key("deleted"), 40);
      await counters.increment(key("deleted"), 2);

      expect(await counters.read([key("deleted")])).toEqual({ [key("deleted")]: 42 });
    });

    it("counts exactly under 200 concurrent increments", async () => {
      const hits = key("hits");
      const misses = key("misses");

      await Promise.all(
        Array.from({ length: 200 }, (_, i) => counters.increment(i % 4 === 0 ? misses : hits, i % 4 === 0 ? 2 : 1)),
      );

      expect(await counters.read([hits, misses])).toEqual({ [hits]: 150, [misses]: 100 });
    });

    it("reads present and missing counters together, keyed by name", async () => {
      await counters.increment(key("a"), 3);

      expect(await counters.read([key("a"), key("b")])).toEqual({ [key("a")]: 3, [key("b")]: 0 });
    });
  });
}

/** Strings a store could mangle by guessing types or encodings. */
export const TRICKY_VALUES = ["aGVsbG8=", "42", "-7", "3.14", '[{"symbol":"BTCUSDT"}]', "null", "true", "ü€𝄞", "", "OK", "a\nb"];

/**
 * The KeyValueStore contract, run unchanged against every driver. Keys carry a fresh prefix per test.
 * Expiry itself is tested per driver: only the memory one can be given a clock.
 */
export function testKeyValueStore(name: string, makeStore: () => KeyValueStore | Promise<KeyValueStore>): void {
  describe(`KeyValueStore contract: ${name}`, () => {
    let kv: KeyValueStore;
    let key: (name: string) => string;

    beforeEach(async () => {
      kv = await makeStore();
      const prefix = `test:${randomUUID()}`;
      key = (name) => `${prefix}:${name}`;
    });

    it("reads a missing key as null", async () => {
      expect(await kv.get(key("missing"))).toBeNull();
    });

    it("round-trips values exactly, whatever they look like", async () => {
      await Promise.all(TRICKY_VALUES.map((value, i) => kv.set(key(`v${i}`), value)));

      expect(await Promise.all(TRICKY_VALUES.map((_, i) => kv.get(key(`v${i}`))))).toEqual(TRICKY_VALUES);
    });

    it("overwrites a value", async () => {
      await kv.set(key("list"), "old");
      await kv.set(key("list"), "new");

      expect(await kv.get(key("list"))).toBe("new");
    });

    it("reads a value set with a TTL until it expires", async () => {
      await kv.set(key("list"), "[]", { ttlSeconds: 600 });

      expect(await kv.get(key("list"))).toBe("[]");
    });

    it("adds to a counter from 0 and answers the new value, exactly under 100 concurrent adds", async () => {
      expect(await kv.add(key("weight"), 2, { ttlSeconds: 120 })).toBe(2);
      const values = await Promise.all(Array.from({ length: 100 }, () => kv.add(key("weight"), 3, { ttlSeconds: 120 })));

      expect(Math.max(...values)).toBe(302);
      expect(new Set(values).size).toBe(100);
      expect(await kv.get(key("weight"))).toBe("302");
    });
  });
}

/**
 * The Leases contract, run unchanged against every driver. Keys carry a fresh prefix per test. Expiry is tested
 * per driver: the memory one takes a clock, the Upstash one a real short TTL.
 */
export function testLeases(name: string, makeLeases: () => Leases | Promise<Leases>): void {
  describe(`Leases contract: ${name}`, () => {
    let leases: Leases;
    let key: string;

    beforeEach(async () => {
      leases = await makeLeases();
      key = `test:${randomUUID()}:lease`;
    });

    it("gives a free lease to one of many asking at once", async () => {
      const tokens = await Promise.all(Array.from({ length: 20 }, () => leases.acquire(key, 60_000)));

      expect(tokens.filter((token) => token !== null)).toHaveLength(1);
    });

    it("is renewed and released by its token only", async () => {
      const token = (await leases.acquire(key, 60_000)) as string;

      expect(await leases.renew(key, "not-the-token", 60_000)).toBe(false);
      await leases.release(key, "not-the-token");
      expect(await leases.acquire(key, 60_000)).toBeNull();
      expect(await leases.renew(key, token, 60_000)).toBe(true);
      await leases.release(key, token);
      expect(await leases.renew(key, token, 60_000)).toBe(false);
      expect(await leases.acquire(key, 60_000)).not.toBeNull();
    });
  });
}
