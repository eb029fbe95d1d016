import { createHash } from "node:crypto";
import { cpSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createDataCache } from "../../src/cache/data-cache.js";
import { csvKeyOf, metaKeyOf, uploadKeyOf } from "../../src/cache/entries/objects.js";
import type { DatasetId } from "../../src/market.js";
import { fixedClock } from "../../src/clock.js";
import { InvalidBodyError, PayloadTooLargeError } from "../../src/errors.js";
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
    // The original's fields first, in its order and with its values; then ours, which the Python service ignores.
    const ours = ["csv_bytes", "csv_sha256", "csv_version"];
    expect(Object.keys(written)).toEqual([...Object.keys(original), ...ours]);
    const withoutOurs = (meta: Record<string, unknown>) => Object.fromEntries(Object.entries(meta).filter(([key]) => !ours.includes(key)));
    expect({ ...withoutOurs(written), cached_at: original.cached_at }).toEqual(original);
    expect(written).toMatchObject({ csv_bytes: csv.length, csv_sha256: createHash("sha256").update(csv).digest("hex") });
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

  it("misses, never serves the wrong bytes, after a writer died between its CSV and its meta; the next write heals it", async () => {
    const { cache, store, clock } = setup();
    await cache.write(BTC_SPOT, encode(klinesCsv(3)));
    const dying = createDataCache({
      store: { ...store, put: (key, body, options) => (key.endsWith("_meta.json") ? Promise.reject(new Error("killed")) : store.put(key, body, options)) },
      clock,
      rule,
    });
    await expect(dying.write(BTC_SPOT, encode(klinesCsv(5)))).rejects.toThrow("killed");

    expect(await cache.openCsv(BTC_SPOT)).toEqual({ hit: false, reason: "torn" });
    await cache.write(BTC_SPOT, encode(klinesCsv(7)));
    const found = await cache.readRows(BTC_SPOT);
    expect(found.hit && found.rows.length).toBe(7);
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

describe("DataCache proves a CSV is its meta's before serving a byte", () => {
  const drivers = [
    ["fs", async () => createFsStore({ baseDir: tempDir() })],
    ["s3", async () => (await s3TestStore({ prefix: "cache/data" })).store],
  ] as const;
  const cacheOn = (store: ObjectStore) => createDataCache({ store, clock: fixedClock("2026-11-25T12:00:00.000Z"), rule });
  /** The same bytes but one digit: same size, other content. */
  const tampered = (csv: string) => csv.replace("60000.00", "60000.01");

  for (const [name, makeStore] of drivers) {
    it(`on ${name}: misses on a CSV rewritten behind its meta's back with the same size, and deletes nothing`, async () => {
      const store = await makeStore();
      const cache = cacheOn(store);
      const csv = klinesCsv(3);
      await cache.write(BTC_SPOT, encode(csv));
      await store.put(csvKeyOf(BTC_SPOT), tampered(csv));
      expect(tampered(csv)).toHaveLength(csv.length);

      expect(await cache.openCsv(BTC_SPOT)).toEqual({ hit: false, reason: "torn" });
      expect(await cache.readRowsJson(BTC_SPOT)).toEqual({ hit: false, reason: "torn" });
      expect(await cache.sweep()).toMatchObject({ deleted: 0 });
      const entryKeys = (await store.list()).map((object) => object.key).filter((key) => !key.startsWith("_index/"));
      expect(entryKeys.sort()).toEqual([csvKeyOf(BTC_SPOT), metaKeyOf(BTC_SPOT)]);
    });

    it(`on ${name}: serves the bytes of a CSV whose version is its meta's`, async () => {
      const store = await makeStore();
      const cache = cacheOn(store);
      await cache.write(BTC_SPOT, encode(klinesCsv(3)));
      const found = await cache.openCsv(BTC_SPOT);
      expect(found.hit && found.meta.csv_version).toBe((await store.list()).find((object) => object.key === csvKeyOf(BTC_SPOT))?.version);
      expect(found.hit && (await readAll(found.csv.stream))).toBe(klinesCsv(3));
    });
  }

  it("serves a cache folder copied elsewhere (other versions, same bytes) once its sha256 agrees", async () => {
    const { cache, dir } = setup();
    await cache.write(BTC_SPOT, encode(klinesCsv(3)));
    const copy = tempDir();
    cpSync(dir, copy, { recursive: true });
    const copied = cacheOn(createFsStore({ baseDir: copy }));

    const found = await copied.openCsv(BTC_SPOT);

    expect(found.hit && (await readAll(found.csv.stream))).toBe(klinesCsv(3));
  });

  it("proves a large CSV of another version in one read and serves it from a second read", async () => {
    const { cache, dir, store } = setup();
    const csv = klinesCsv(170_000);
    expect(csv.length).toBeGreaterThan(16 * 2 ** 20);
    await cache.write(BTC_SPOT, encode(csv));
    // Same bytes, another inode: a restore from backup.
    const path = join(dir, csvKeyOf(BTC_SPOT));
    writeFileSync(`${path}.restored`, readFileSync(path));
    renameSync(`${path}.restored`, path);
    const streams: string[] = [];
    const counted = cacheOn({ ...store, getStream: (key, options) => (streams.push(key), store.getStream(key, options)) });

    const found = await counted.openCsv(BTC_SPOT);

    expect(found.hit && (await readAll(found.csv.stream)).length).toBe(csv.length);
    expect(streams).toEqual([csvKeyOf(BTC_SPOT), csvKeyOf(BTC_SPOT)]);
    // Proven once per process: the next hit reads it once.
    const again = await counted.openCsv(BTC_SPOT);
    if (again.hit) await again.csv.stream.cancel();
    expect(streams).toHaveLength(3);
  });

  it("misses on an entry of the original service whose CSV lost rows, before serving a byte; serves it intact", async () => {
    const { cache, dir } = setup({ withPythonCache: true });
    expect((await cache.openCsv(ETH_FUTURES)).hit).toBe(true);
    const path = join(dir, csvKeyOf(BTC_SPOT));
    writeFileSync(path, readFileSync(path, "utf8").split("\n").slice(0, 5).join("\n") + "\n");

    expect(await cache.openCsv(BTC_SPOT)).toEqual({ hit: false, reason: "torn" });
  });
});

describe("DataCache upload commit", () => {
  const UPLOAD = "1795000000-0123456789abcdef";
  const MAX_BYTES = 1 << 20;

  it("commits a CSV put into its staging object after checking it; the live entry serves until then", async () => {
    const { cache, store } = setup();
    await cache.write(BTC_SPOT, encode(klinesCsv(3)));
    await store.put(uploadKeyOf(BTC_SPOT, UPLOAD), klinesCsv(2500));
    const live = await cache.readRows(BTC_SPOT);
    expect(live.hit && live.rows.length).toBe(3);

    const meta = await cache.commitUpload(BTC_SPOT, UPLOAD, MAX_BYTES);

    expect(meta?.rows).toBe(2500);
    const found = await cache.openCsv(BTC_SPOT);
    expect(found.hit && (await readAll(found.csv.stream))).toBe(klinesCsv(2500));
  });

  it("commits an upload once: its staging object is spent, and a second commit finds nothing", async () => {
    const { cache, store } = setup();
    await store.put(uploadKeyOf(BTC_SPOT, UPLOAD), klinesCsv(5));
    expect((await cache.commitUpload(BTC_SPOT, UPLOAD, MAX_BYTES))?.rows).toBe(5);
    await cache.write(BTC_SPOT, encode(klinesCsv(7)));

    expect(await cache.commitUpload(BTC_SPOT, UPLOAD, MAX_BYTES)).toBeNull();
    const found = await cache.readRows(BTC_SPOT);
    expect(found.hit && found.rows.length).toBe(7);
  });

  it("refuses to commit a bad upload, and the live entry is untouched", async () => {
    const { cache, store } = setup();
    await cache.write(BTC_SPOT, encode(klinesCsv(3)));
    await store.put(uploadKeyOf(BTC_SPOT, UPLOAD), "timestamp,open\nx,1\n");
    await expect(cache.commitUpload(BTC_SPOT, UPLOAD, MAX_BYTES)).rejects.toThrow("is not a date");
    const found = await cache.readRows(BTC_SPOT);
    expect(found.hit && found.rows.length).toBe(3);
  });

  it("refuses an upload over the body limit before reading it", async () => {
    const { cache, store } = setup();
    await store.put(uploadKeyOf(BTC_SPOT, UPLOAD), klinesCsv(100));
    await expect(cache.commitUpload(BTC_SPOT, UPLOAD, 1000)).rejects.toBeInstanceOf(PayloadTooLargeError);
    expect((await cache.lookup(BTC_SPOT)).hit).toBe(false);
  });

  it("has no direct URLs on a store without a presigner", async () => {
    const { cache } = setup();
    expect(await cache.downloadUrl(BTC_SPOT, 60)).toBeNull();
    expect(await cache.uploadUrl(BTC_SPOT, 100, 60)).toBeNull();
  });

  it("answers null when nothing was uploaded", async () => {
    const { cache } = setup();
    expect(await cache.commitUpload(BTC_SPOT, UPLOAD, MAX_BYTES)).toBeNull();
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
  ])("on %s: info reads the index's 16 shards and no meta; refresh reads only metas changed behind its back", async (_, make) => {
    const counted = countingGets(await make());
    const cache = createDataCache({ store: counted.store, clock: fixedClock("2026-11-25T12:00:00Z"), rule });
    await cache.write(BTC_SPOT, encode(klinesCsv(3)));
    await cache.write(ETH_FUTURES, encode(klinesCsv(3)));
    // The first info builds the index from a listing; the next ones read it.
    expect((await cache.info()).total_files).toBe(2);
    counted.gets.length = 0;
    expect((await cache.info()).total_files).toBe(2);
    expect(counted.gets.filter((key) => key.endsWith("_meta.json"))).toEqual([]);

    await cache.write(BTC_SPOT, encode(klinesCsv(7)));
    await cache.remove(ETH_FUTURES);
    const info = await cache.info();
    expect(info.cache_entries.map((entry) => [entry.symbol, entry.rows])).toEqual([["BTCUSDT", 7]]);

    // A meta rewritten behind the cache's back (as the Python service would) shows after a refresh, read alone.
    await counted.store.put(metaKeyOf(BTC_SPOT), JSON.stringify({ ...(await cache.lookup(BTC_SPOT).then((found) => (found.hit ? found.meta : {}))), rows: 9 }));
    expect((await cache.info()).cache_entries[0]?.rows).toBe(7);
    await cache.info({ refresh: true });
    counted.gets.length = 0;
    const refreshed = await cache.info({ refresh: true });
    expect(refreshed.cache_entries[0]?.rows).toBe(9);
    expect(counted.gets).toEqual([]);
    expect((await cache.info()).cache_entries[0]?.rows).toBe(9);
  });

});
