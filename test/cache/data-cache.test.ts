import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createDataCache, csvKeyOf, metaKeyOf } from "../../src/cache/data-cache.js";
import type { DatasetId } from "../../src/market.js";
import { fixedClock } from "../../src/clock.js";
import { InvalidBodyError } from "../../src/errors.js";
import { createFsStore } from "../../src/storage/fs.js";
import type { ObjectStore } from "../../src/storage/types.js";
import { BTC_SPOT, ETH_FUTURES, klinesCsv, PYTHON_CACHE, readFixture, tempDir } from "../support/fixtures.js";
import { s3TestStore } from "../support/s3.js";

const rule = { recentWindowDays: 1, recentTtlSeconds: 86_400 };
const encode = (text: string) => new TextEncoder().encode(text);
const text = (bytes: Uint8Array | null) => (bytes ? Buffer.from(bytes).toString("utf8") : null);

function setup(options: { withPythonCache?: boolean; now?: string } = {}) {
  const dir = tempDir(options);
  const store = createFsStore({ baseDir: dir });
  const clock = fixedClock(options.now ?? "2026-11-25T12:00:00.000Z");
  return { dir, store, clock, cache: createDataCache({ store, clock, rule }) };
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<string> {
  return new Response(stream).text();
}

describe("DataCache on the original Python service's cache folder", () => {
  it("serves both entries' CSV bytes unchanged", async () => {
    const { cache } = setup({ withPythonCache: true });
    for (const id of [BTC_SPOT, ETH_FUTURES]) {
      const found = await cache.openCsv(id);
      expect(found.hit).toBe(true);
      if (!found.hit) continue;
      expect(await readAll(found.csv.stream)).toBe(readFileSync(join(PYTHON_CACHE, csvKeyOf(id)), "utf8"));
      expect(found.meta.rows).toBe(10);
    }
  });

  it("serves the rows with UTC timestamps and numbers", async () => {
    const { cache } = setup({ withPythonCache: true });
    const found = await cache.readRows(BTC_SPOT);
    if (!found.hit) throw new Error(`expected a hit, got ${found.reason}`);
    expect(found.rows).toHaveLength(10);
    expect(found.rows[0]).toEqual({
      timestamp: "2021-10-22T23:03:00.000Z",
      open: 60685.22,
      high: 60729.84,
      low: 60670.9,
      close: 60719.27,
      volume: 21.63272,
      close_time: 1634943839999,
      quote_volume: 1313200.0134041,
      trades: 617,
      taker_base: 12.28492,
      taker_quote: 745719.4102284,
      ignore: 0,
    });
  });

  it("writes the same object names and meta fields as the original", async () => {
    const { cache, dir } = setup();
    const csv = readFixture("tradebot-cache", `${csvKeyOf(BTC_SPOT)}`);
    const meta = await cache.write(BTC_SPOT, csv);
    expect(readdirSync(dir).filter((name) => !name.startsWith(".")).sort()).toEqual([
      "0b0670744f42d25b998f5b2e646d6467.csv",
      "0b0670744f42d25b998f5b2e646d6467_meta.json",
    ]);
    const original = JSON.parse(readFixture("tradebot-cache", metaKeyOf(BTC_SPOT)).toString()) as Record<string, unknown>;
    const written = JSON.parse(readFileSync(join(dir, metaKeyOf(BTC_SPOT)), "utf8")) as Record<string, unknown>;
    expect(Object.keys(written)).toEqual([...Object.keys(original), "csv_bytes"]);
    expect({ ...written, cached_at: original.cached_at, csv_bytes: undefined }).toEqual({ ...original, csv_bytes: undefined });
    expect(written.cached_at).toBe("2026-11-25T12:00:00.000");
    expect(meta).toEqual(written);
    expect(readFileSync(join(dir, csvKeyOf(BTC_SPOT)))).toEqual(csv);
  });
});

describe("DataCache validity and torn entries", () => {
  const recent: DatasetId = { ...BTC_SPOT, start_date: "2026-11-24", end_date: "2026-11-25" };

  it("serves a recent entry for 24 hours, then misses as expired", async () => {
    const { cache, clock } = setup({ now: "2026-11-25T08:00:00.000Z" });
    await cache.write(recent, encode(klinesCsv(3)));
    clock.set("2026-11-26T07:59:59.999Z");
    expect((await cache.openCsv(recent)).hit).toBe(true);
    clock.set("2026-11-26T08:00:00.000Z");
    expect(await cache.openCsv(recent)).toEqual({ hit: false, reason: "expired" });
  });

  it("misses on a CSV without its meta", async () => {
    const { cache, store } = setup();
    await store.put(csvKeyOf(BTC_SPOT), klinesCsv(3));
    expect(await cache.openCsv(BTC_SPOT)).toEqual({ hit: false, reason: "absent" });
  });

  it("misses on a meta without its CSV", async () => {
    const { cache, store } = setup({ withPythonCache: true });
    await store.deleteMany([csvKeyOf(BTC_SPOT)]);
    expect(await cache.openCsv(BTC_SPOT)).toEqual({ hit: false, reason: "torn" });
    expect(await cache.readRows(BTC_SPOT)).toEqual({ hit: false, reason: "torn" });
  });

  it.each([["not json"], ['{"symbol": "BTCUSDT"}'], ["[]"]])("misses on an unreadable meta: %s", async (body) => {
    const { cache, store } = setup({ withPythonCache: true });
    await store.put(metaKeyOf(BTC_SPOT), body);
    expect(await cache.openCsv(BTC_SPOT)).toEqual({ hit: false, reason: "torn" });
  });

  it("misses on a meta that describes another dataset", async () => {
    const { cache, store } = setup({ withPythonCache: true });
    await store.put(metaKeyOf(BTC_SPOT), readFixture("tradebot-cache", metaKeyOf(ETH_FUTURES)));
    expect(await cache.openCsv(BTC_SPOT)).toEqual({ hit: false, reason: "torn" });
  });

  it("misses on a CSV whose size disagrees with its meta", async () => {
    const { cache, store } = setup();
    await cache.write(BTC_SPOT, encode(klinesCsv(3)));
    await store.put(csvKeyOf(BTC_SPOT), klinesCsv(4));
    expect(await cache.openCsv(BTC_SPOT)).toEqual({ hit: false, reason: "torn" });
    expect(await cache.readRows(BTC_SPOT)).toEqual({ hit: false, reason: "torn" });
  });

  it("refuses to read rows of a CSV over the inline cap, and says how to get it", async () => {
    const { cache } = setup({ withPythonCache: true });
    await expect(cache.readRows(BTC_SPOT, { maxCsvBytes: 100 })).rejects.toThrow("ask with format=csv");
    expect((await cache.readRows(BTC_SPOT, { maxCsvBytes: 10_000 })).hit).toBe(true);
  });

  it("misses on a CSV whose row count disagrees with a meta that has no size", async () => {
    const { cache, dir } = setup({ withPythonCache: true });
    const path = join(dir, csvKeyOf(BTC_SPOT));
    writeFileSync(path, readFileSync(path, "utf8").split("\n").slice(0, 5).join("\n"));
    expect(await cache.readRows(BTC_SPOT)).toEqual({ hit: false, reason: "torn" });
  });

  it("refuses a bad CSV before touching the existing entry", async () => {
    const { cache, store } = setup({ withPythonCache: true });
    await expect(cache.write(BTC_SPOT, encode("open,close\n1,2\n"))).rejects.toThrow(InvalidBodyError);
    expect((await cache.openCsv(BTC_SPOT)).hit).toBe(true);
    expect(text(await store.get(csvKeyOf(BTC_SPOT)))).toBe(readFixture("tradebot-cache", csvKeyOf(BTC_SPOT)).toString());
  });

  it("replaces an entry on a second write", async () => {
    const { cache } = setup({ withPythonCache: true });
    await cache.write(BTC_SPOT, encode(klinesCsv(20)));
    const found = await cache.readRows(BTC_SPOT);
    expect(found.hit && found.rows.length).toBe(20);
  });
});

describe("DataCache upload commit", () => {
  it("commits a CSV put straight into the store after checking it", async () => {
    const { cache, store } = setup();
    await cache.write(BTC_SPOT, encode(klinesCsv(3)));
    await store.put(csvKeyOf(BTC_SPOT), klinesCsv(2500));
    expect(await cache.openCsv(BTC_SPOT)).toEqual({ hit: false, reason: "torn" });
    const meta = await cache.commitUpload(BTC_SPOT);
    expect(meta?.rows).toBe(2500);
    expect((await cache.openCsv(BTC_SPOT)).hit).toBe(true);
  });

  it("refuses to commit a bad upload, and nothing is served", async () => {
    const { cache, store } = setup();
    await store.put(csvKeyOf(BTC_SPOT), "timestamp,open\nx,1\n");
    await expect(cache.commitUpload(BTC_SPOT)).rejects.toThrow("is not a date");
    expect((await cache.openCsv(BTC_SPOT)).hit).toBe(false);
  });

  it("has no direct URLs on a store without a presigner", async () => {
    const { cache } = setup();
    expect(await cache.downloadUrl(BTC_SPOT, 60)).toBeNull();
    expect(await cache.uploadUrl(BTC_SPOT, 60)).toBeNull();
  });

  it("answers null when nothing was uploaded", async () => {
    const { cache } = setup();
    expect(await cache.commitUpload(BTC_SPOT)).toBeNull();
  });
});

describe("DataCache info, remove and clear", () => {
  async function seeded(store: ObjectStore) {
    await store.put("notes.txt", "not the cache's");
    await store.put("nested/keep.bin", new Uint8Array([1, 2, 3]));
  }

  it("describes what is cached", async () => {
    const { cache, dir } = setup({ withPythonCache: true });
    await cache.write({ ...BTC_SPOT, start_date: "2026-11-25", end_date: "2026-11-25" }, encode(klinesCsv(2)));
    const info = await cache.info();
    expect(info.total_files).toBe(3);
    expect(info.cached_symbols).toEqual(["BTCUSDT", "ETHUSDT"]);
    const bytes = readdirSync(dir)
      .filter((name) => /\.(csv|json)$/.test(name))
      .reduce((sum, name) => sum + readFileSync(join(dir, name)).length, 0);
    expect(info.total_size_mb).toBe(Math.round((bytes / 2 ** 20) * 100) / 100);
    const recent = info.cache_entries.find((entry) => entry.end_date === "2026-11-25");
    expect(recent).toMatchObject({ expires_at: "2026-11-26T12:00:00.000Z", state: "valid" });
    expect(info.cache_entries.find((entry) => entry.symbol === "ETHUSDT")).toMatchObject({ expires_at: null, state: "valid" });
  });

  it("says by its own clock whether each entry is served now", async () => {
    const { cache, clock } = setup({ now: "2026-11-25T08:00:00.000Z" });
    await cache.write({ ...BTC_SPOT, start_date: "2026-11-25", end_date: "2026-11-25" }, encode(klinesCsv(2)));
    clock.set("2026-11-26T07:59:59.999Z");
    expect((await cache.info()).cache_entries.map((entry) => entry.state)).toEqual(["valid"]);
    clock.set("2026-11-26T08:00:00.000Z");
    expect((await cache.info()).cache_entries.map((entry) => entry.state)).toEqual(["expired"]);
  });

  it("describes an empty cache", async () => {
    const { cache } = setup();
    expect(await cache.info()).toEqual({ total_files: 0, cached_symbols: [], total_size_mb: 0, cache_entries: [] });
  });

  it("removes one entry and says whether there was one", async () => {
    const { cache } = setup({ withPythonCache: true });
    expect(await cache.remove(BTC_SPOT)).toBe(true);
    expect(await cache.remove(BTC_SPOT)).toBe(false);
    expect((await cache.openCsv(ETH_FUTURES)).hit).toBe(true);
  });

  it("clears every .csv and .json object, and nothing else", async () => {
    const { cache, store } = setup({ withPythonCache: true });
    await seeded(store);
    expect(await cache.clear()).toBe(4);
    expect((await store.list()).map((object) => object.key)).toEqual(["nested/keep.bin", "notes.txt"]);
  });
});

describe("DataCache info reads each meta once per version", () => {
  function countingGets(store: ObjectStore) {
    const gets: string[] = [];
    return {
      gets,
      store: { ...store, get: (key: string) => (gets.push(key), store.get(key)) },
    };
  }

  it.each([
    ["fs", async () => createFsStore({ baseDir: tempDir() })],
    ["s3", async () => (await s3TestStore()).store],
  ])("on %s: a second info reads no meta, a rewritten meta is read again, a deleted one forgotten", async (_, make) => {
    const counted = countingGets(await make());
    const cache = createDataCache({ store: counted.store, clock: fixedClock("2026-11-25T12:00:00Z"), rule });
    await cache.write(BTC_SPOT, encode(klinesCsv(3)));
    await cache.write(ETH_FUTURES, encode(klinesCsv(3)));
    expect((await cache.info()).total_files).toBe(2);
    expect(counted.gets).toHaveLength(2);

    counted.gets.length = 0;
    expect((await cache.info()).cache_entries).toHaveLength(2);
    expect(counted.gets).toEqual([]);

    await cache.write(BTC_SPOT, encode(klinesCsv(7)));
    await cache.remove(ETH_FUTURES);
    counted.gets.length = 0;
    const info = await cache.info();
    expect(counted.gets).toEqual([metaKeyOf(BTC_SPOT)]);
    expect(info.cache_entries.map((entry) => [entry.symbol, entry.rows])).toEqual([["BTCUSDT", 7]]);
  });
});
