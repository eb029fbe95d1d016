import { utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createDataCache } from "../../../src/cache/data-cache.js";
import { csvKeyOf, metaKeyOf, uploadKeyOf } from "../../../src/cache/entries/objects.js";
import { planSweep } from "../../../src/cache/retention/sweep-plan.js";
import { fixedClock, type Clock } from "../../../src/clock.js";
import type { DatasetId } from "../../../src/market.js";
import { createFsStore } from "../../../src/storage/fs.js";
import type { ObjectStore } from "../../../src/storage/types.js";
import { BTC_SPOT, ETH_FUTURES, klinesCsv, tempDir } from "../../support/fixtures.js";
import { s3TestStore } from "../../support/s3.js";

const rule = { recentWindowDays: 1, recentTtlSeconds: 86_400 };
const now = new Date("2026-11-25T12:00:00Z");
const at = (iso: string) => new Date(iso);
const object = (key: string, modified = "2026-11-25T11:30:00Z") => ({ key, sizeBytes: 1, modifiedAt: at(modified), version: "v1" });
const meta = (end_date: string, cached_at: string) => ({ ...BTC_SPOT, end_date, cached_at, rows: 1, cache_key: "k" });

describe("planSweep", () => {
  it("keeps valid entries, permanent and recent", () => {
    const plan = planSweep(
      [
        { csv: object("a.csv"), meta: { ...object("a_meta.json"), parsed: meta("2021-10-23", "2021-10-24T00:00:00") } },
        { csv: object("b.csv"), meta: { ...object("b_meta.json"), parsed: meta("2026-11-25", "2026-11-25T00:00:00") } },
      ],
      now,
      rule,
    );
    expect(plan.remove).toEqual([]);
  });

  it("removes both objects of an expired entry", () => {
    const plan = planSweep([{ csv: object("a.csv"), meta: { ...object("a_meta.json"), parsed: meta("2026-11-25", "2026-11-24T12:00:00") } }], now, rule);
    expect(plan.remove).toEqual([
      { key: "a_meta.json", version: "v1", reason: "expired" },
      { key: "a.csv", version: "v1", reason: "expired" },
    ]);
  });

  it("leaves an entry kept until its writer replaces it, however old", () => {
    const kept = { ...meta("2026-11-30", "2026-11-01T00:00:00"), retention: "until_replaced" as const };
    expect(planSweep([{ csv: object("a.csv"), meta: { ...object("a_meta.json"), parsed: kept } }], now, rule).remove).toEqual([]);
    const byRule = { ...kept, retention: "rule" as const };
    expect(planSweep([{ csv: object("a.csv"), meta: { ...object("a_meta.json"), parsed: byRule } }], now, rule).remove).toHaveLength(2);
  });

  it("removes a CSV without meta only once it is an hour old", () => {
    expect(planSweep([{ csv: object("a.csv", "2026-11-25T11:00:01Z") }], now, rule).remove).toEqual([]);
    expect(planSweep([{ csv: object("a.csv", "2026-11-25T11:00:00Z") }], now, rule).remove).toEqual([{ key: "a.csv", version: "v1", reason: "csv_without_meta" }]);
  });

  it("removes a meta without its CSV at once", () => {
    expect(planSweep([{ meta: { ...object("a_meta.json"), parsed: null } }], now, rule).remove).toEqual([{ key: "a_meta.json", version: "v1", reason: "meta_without_csv" }]);
  });

  it("removes an unreadable meta and its CSV once an hour old", () => {
    const young = { csv: object("a.csv"), meta: { ...object("a_meta.json"), parsed: null } };
    expect(planSweep([young], now, rule).remove).toEqual([]);
    const old = { csv: object("a.csv", "2026-11-25T10:00:00Z"), meta: { ...object("a_meta.json", "2026-11-25T10:00:00Z"), parsed: null } };
    expect(planSweep([old], now, rule).remove.map((item) => item.reason)).toEqual(["unreadable_meta", "unreadable_meta"]);
  });
});

const HOUR = 3600_000;
const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);
/** A recent dataset at `nowMs`: it ends the next day, so it is served for 24 hours after it was cached. */
const recentAt = (nowMs: number) => ({ ...ETH_FUTURES, start_date: dayOf(nowMs), end_date: dayOf(nowMs + 24 * HOUR) });
const ORPHAN_CSV = csvKeyOf({ ...BTC_SPOT, symbol: "XRPUSDT" });
const ORPHAN_META = metaKeyOf({ ...BTC_SPOT, symbol: "ADAUSDT" });
const FOREIGN = ["notes.csv.txt", "0b0670744f42d25b998f5b2e646d6467.json"];

/** A permanent entry, a recent one cached at `cachedAt`, an orphan CSV, an orphan meta, and objects not ours. */
async function seed(store: ObjectStore, cachedAt: Date, nowMs: number) {
  const cache = createDataCache({ store, clock: fixedClock(cachedAt), rule });
  await cache.write(BTC_SPOT, new TextEncoder().encode(klinesCsv(2)));
  await cache.write(recentAt(nowMs), new TextEncoder().encode(klinesCsv(2)));
  await store.put(ORPHAN_CSV, klinesCsv(1));
  await store.put(ORPHAN_META, "{}");
  for (const key of FOREIGN) await store.put(key, "not the cache's");
}

/** Stamps a file's modification time, as the store would have when it was written at `at` (epoch ms). */
const touch = (path: string, at: number) => utimesSync(path, new Date(at), new Date(at));

/** The cache's objects, less the info index's shards (info-index.test.ts is theirs). */
const keysOf = async (store: ObjectStore) =>
  (await store.list())
    .map((item) => item.key)
    .filter((key) => !key.startsWith("_index/"))
    .sort();
const survivors = [csvKeyOf(BTC_SPOT), metaKeyOf(BTC_SPOT), ...FOREIGN].sort();
/** The clock of the fs tests; every file they look at is stamped relative to it. */
const NOW = Date.parse("2026-11-25T12:00:00Z");

describe("DataCache.sweep", () => {
  it("on fs: removes what can never be served and stale temporaries, and nothing else", async () => {
    const dir = tempDir();
    const store = createFsStore({ baseDir: dir });
    await seed(store, new Date(NOW - 25 * HOUR), NOW);
    for (const { key } of await store.list()) touch(join(dir, key), NOW - 25 * HOUR);
    touch(join(dir, ORPHAN_CSV), NOW - 2 * HOUR);
    writeFileSync(join(dir, ".tmp", "stale-write"), "partial");
    touch(join(dir, ".tmp", "stale-write"), NOW - 2 * HOUR);
    writeFileSync(join(dir, ".tmp", "write-in-progress"), "partial");
    touch(join(dir, ".tmp", "write-in-progress"), NOW - 60_000);

    const result = await createDataCache({ store, clock: fixedClock(new Date(NOW)), rule }).sweep();
    expect(result).toEqual({
      deleted: 5,
      by_reason: { expired: 2, csv_without_meta: 1, meta_without_csv: 1, unreadable_meta: 0, stale_derived: 0, stale_upload: 0, temporary: 1 },
      kept_rewritten: 0,
    });
    expect(await keysOf(store)).toEqual(survivors);
  });

  it("on fs: keeps a young CSV without meta (a write in progress)", async () => {
    const dir = tempDir();
    const store = createFsStore({ baseDir: dir });
    await store.put(ORPHAN_CSV, klinesCsv(1));
    touch(join(dir, ORPHAN_CSV), NOW - 59 * 60_000);
    expect((await createDataCache({ store, clock: fixedClock(new Date(NOW)), rule }).sweep()).deleted).toBe(0);
    expect(await keysOf(store)).toEqual([ORPHAN_CSV]);
  });

  // moto_server stamps LastModified with its own clock, so this one runs on real time, relative to the write.
  it("on s3: removes the expired entry and the orphans, and nothing else", async () => {
    const { store } = await s3TestStore({ prefix: "cache/data" });
    const written = Date.now();
    await seed(store, new Date(written - 23 * HOUR), written);
    const result = await createDataCache({ store, clock: fixedClock(new Date(written + 2 * HOUR)), rule }).sweep();
    expect(result).toEqual({
      deleted: 4,
      by_reason: { expired: 2, csv_without_meta: 1, meta_without_csv: 1, unreadable_meta: 0, stale_derived: 0, stale_upload: 0, temporary: 0 },
      kept_rewritten: 0,
    });
    expect(await keysOf(store)).toEqual(survivors);
  });
});

describe("DataCache.sweep against writers", () => {
  /**
   * A store that rewrites `id`'s entry (a PUT of another body, by a writer of its own) right after the sweep has read
   * that entry's meta: the sweep then holds a judgment of an expired entry that is no longer there.
   */
  function rewrittenWhileSwept(store: ObjectStore, id: DatasetId, clock: Clock) {
    const writer = createDataCache({ store, clock, rule });
    let rewritten = false;
    const swept: ObjectStore = {
      ...store,
      get: async (key, options) => {
        const bytes = await store.get(key, options);
        if (key === metaKeyOf(id) && !rewritten) {
          rewritten = true;
          await writer.write(id, new TextEncoder().encode(klinesCsv(9)));
        }
        return bytes;
      },
    };
    return { swept, rewritten: () => rewritten };
  }

  it.each([
    ["fs", async () => createFsStore({ baseDir: tempDir() })],
    ["s3", async () => (await s3TestStore({ prefix: "cache/data" })).store],
  ])("on %s: keeps an expired entry rewritten after the sweep judged it, whole", async (_driver, makeStore) => {
    const store = await makeStore();
    const id = recentAt(NOW);
    // Cached 25 hours before now: expired by the original's rule when swept; the rewrite is fresh.
    await createDataCache({ store, clock: fixedClock(new Date(NOW - 25 * HOUR)), rule }).write(id, new TextEncoder().encode(klinesCsv(2)));
    const clock = fixedClock(new Date(NOW));
    const { swept, rewritten } = rewrittenWhileSwept(store, id, clock);

    const result = await createDataCache({ store: swept, clock, rule }).sweep();

    expect(rewritten()).toBe(true);
    expect(result.by_reason.expired).toBe(0);
    expect(result.kept_rewritten).toBe(2);
    const reader = createDataCache({ store, clock, rule });
    const found = await reader.readRows(id);
    expect(found.hit && found.rows.length).toBe(9);
    const info = await reader.info({ refresh: true });
    expect(info.cache_entries.map((entry) => [entry.start_date, entry.rows, entry.state])).toEqual([[id.start_date, 9, "valid"]]);
  });

  it("removes uploads whose URL expired over an hour ago, spent or not, and keeps the others", async () => {
    const store = createFsStore({ baseDir: tempDir() });
    const expiredAt = Math.floor((NOW - 2 * HOUR) / 1000);
    const liveAt = Math.floor((NOW + HOUR) / 1000);
    await store.put(uploadKeyOf(BTC_SPOT, `${expiredAt}-0123456789abcdef`), "");
    await store.put(uploadKeyOf(BTC_SPOT, `${expiredAt}-fedcba9876543210`), klinesCsv(2));
    await store.put(uploadKeyOf(BTC_SPOT, `${liveAt}-0123456789abcdef`), klinesCsv(2));

    const result = await createDataCache({ store, clock: fixedClock(new Date(NOW)), rule }).sweep();

    expect(result.by_reason.stale_upload).toBe(2);
    expect(await keysOf(store)).toEqual([uploadKeyOf(BTC_SPOT, `${liveAt}-0123456789abcdef`)]);
  });
});
