import { describe, expect, it } from "vitest";
import { createDataCache } from "../../../src/cache/data-cache.js";
import { fixedClock } from "../../../src/clock.js";
import { createFsStore } from "../../../src/storage/fs.js";
import type { DatasetId } from "../../../src/market.js";
import { PreconditionFailedError, type ObjectStore } from "../../../src/storage/types.js";
import { BTC_SPOT, klinesCsv, tempDir } from "../../support/fixtures.js";
import { s3TestStore } from "../../support/s3.js";

const rule = { recentWindowDays: 1, recentTtlSeconds: 86_400 };
const clock = fixedClock("2026-11-25T12:00:00Z");
const encode = (text: string) => new TextEncoder().encode(text);

/** A store that counts its calls by operation. */
function counting(store: ObjectStore) {
  const calls: Record<string, number> = {};
  const count = (what: string) => (calls[what] = (calls[what] ?? 0) + 1);
  const counted: ObjectStore = {
    ...store,
    get: (key, options) => (count("get"), store.get(key, options)),
    getStream: (key, options) => (count("getStream"), store.getStream(key, options)),
    list: (prefix) => (count("list"), store.list(prefix)),
  };
  return { store: counted, calls };
}

/** The i-th of many distinct datasets. */
const idOf = (i: number): DatasetId => ({ ...BTC_SPOT, symbol: `SYM${i}USDT`, interval: i % 2 ? "1m" : "1h" });

describe.each([
  ["fs", async () => createFsStore({ baseDir: tempDir() })],
  ["s3", async () => (await s3TestStore()).store],
])("the info index on %s", (_, make) => {
  it("lets a fresh process answer info with 16 shard reads, no listing and no meta read", async () => {
    const store = await make();
    const writer = createDataCache({ store, clock, rule });
    for (let i = 0; i < 40; i++) await writer.write(idOf(i), encode(klinesCsv(2)));
    // The first info makes the shards no write has made yet (a missing shard is rebuilt from a listing).
    const { store: first, calls: firstCalls } = counting(store);
    expect((await createDataCache({ store: first, clock, rule }).info()).total_files).toBe(40);
    expect(firstCalls.list).toBe(1);
    const { store: counted, calls } = counting(store);
    const fresh = createDataCache({ store: counted, clock, rule });
    const info = await fresh.info();
    expect(info.total_files).toBe(40);
    expect(info.cache_entries).toHaveLength(40);
    expect(calls).toEqual({ getStream: 16 });
  });

  it("parses a shard once per version: an unchanged index is not parsed again, a change by another container is read", async () => {
    const store = await make();
    const [a, b] = [createDataCache({ store, clock, rule }), createDataCache({ store, clock, rule })];
    for (let i = 0; i < 8; i++) await a.write(idOf(i), encode(klinesCsv(2)));
    expect((await a.info()).total_files).toBe(8);
    // A shard B changes after A parsed it is read again; the ones A changed itself never go stale in A's memory.
    await b.write(idOf(100), encode(klinesCsv(3)));
    await b.remove(idOf(0));
    const seen = (await a.info()).cache_entries.map((entry) => entry.symbol).sort();
    expect(seen).toEqual([...Array.from({ length: 7 }, (_, i) => `SYM${i + 1}USDT`), "SYM100USDT"].sort());
    await a.write(idOf(0), encode(klinesCsv(2)));
    expect((await b.info()).total_files).toBe(9);
    expect((await a.info()).total_files).toBe(9);
  });

  it("loses no entry when two containers write at once", async () => {
    const store = await make();
    const [a, b] = [createDataCache({ store, clock, rule }), createDataCache({ store, clock, rule })];
    await Promise.all(Array.from({ length: 48 }, (_, i) => (i % 2 ? a : b).write(idOf(i), encode(klinesCsv(2)))));
    const info = await createDataCache({ store, clock, rule }).info();
    expect(info.total_files).toBe(48);
    await Promise.all(Array.from({ length: 24 }, (_, i) => (i % 2 ? a : b).remove(idOf(i))));
    expect((await createDataCache({ store, clock, rule }).info()).total_files).toBe(24);
  });

  it("rebuilds a missing shard from the objects, and shows entries written behind its back after a sweep", async () => {
    const store = await make();
    const cache = createDataCache({ store, clock, rule });
    for (let i = 0; i < 20; i++) await cache.write(idOf(i), encode(klinesCsv(2)));
    await cache.info();
    const shards = (await store.list("_index/")).map((object) => object.key);
    expect(shards).toHaveLength(16);
    await store.deleteMany([shards[0] as string]);
    expect((await cache.info()).total_files).toBe(20);
    expect((await store.list("_index/")).map((object) => object.key)).toEqual(expect.arrayContaining(shards));

    // Another container's write is in the index at once; the Python service's, which knows nothing of it, after a sweep.
    await createDataCache({ store, clock, rule }).write(idOf(99), encode(klinesCsv(2)));
    expect((await cache.info()).total_files).toBe(21);
    await store.put("0123456789abcdef0123456789abcdef_meta.json", JSON.stringify({
      symbol: "PYUSDT", interval: "1d", start_date: "2021-01-01", end_date: "2021-01-02", market_type: "spot",
      cached_at: "2021-01-03T00:00:00.000", rows: 1, cache_key: "0123456789abcdef0123456789abcdef",
    }));
    await store.put("0123456789abcdef0123456789abcdef.csv", "timestamp,open\n2021-01-01 00:00:00,1\n");
    expect((await cache.info()).cache_entries.some((entry) => entry.symbol === "PYUSDT")).toBe(false);
    await cache.sweep();
    expect((await cache.info()).cache_entries.some((entry) => entry.symbol === "PYUSDT")).toBe(true);
  });

  it("marks a shard it cannot win stale, and the next info rebuilds it with the entry", async () => {
    const store = await make();
    await createDataCache({ store, clock, rule }).info();
    // Every conditional write of a shard loses, as under endless contention.
    const contended: ObjectStore = {
      ...store,
      put: (key, body, options) =>
        key.startsWith("_index/") && options?.ifMatch !== undefined ? Promise.reject(new PreconditionFailedError(key)) : store.put(key, body, options),
    };
    await createDataCache({ store: contended, clock, rule }).write(BTC_SPOT, encode(klinesCsv(2)));
    const { store: counted, calls } = counting(store);
    expect((await createDataCache({ store: counted, clock, rule }).info()).cache_entries.map((entry) => entry.symbol)).toEqual(["BTCUSDT"]);
    expect(calls.list).toBe(1);
  });

  it("never makes a shard from one write, so entries there before the index are not hidden", async () => {
    const store = await make();
    // A cache that has entries but no index yet: written before this version, or by the Python service.
    const before = createDataCache({ store, clock, rule });
    for (let i = 0; i < 20; i++) await before.write(idOf(i), encode(klinesCsv(2)));
    await before.clear();
    for (let i = 0; i < 20; i++) await before.write(idOf(i), encode(klinesCsv(2)));
    expect(await store.list("_index/")).toEqual([]);
    expect((await createDataCache({ store, clock, rule }).info()).total_files).toBe(20);
    await before.write(idOf(20), encode(klinesCsv(2)));
    expect((await createDataCache({ store, clock, rule }).info()).total_files).toBe(21);
  });

  it("is emptied by clear", async () => {
    const store = await make();
    const cache = createDataCache({ store, clock, rule });
    await cache.write(BTC_SPOT, encode(klinesCsv(2)));
    await cache.clear();
    expect(await store.list()).toEqual([]);
    expect((await cache.info()).total_files).toBe(0);
  });
});
