import { DuckDBInstance } from "@duckdb/node-api";
import { utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { contentIdentityOf, type CacheMeta } from "../../src/cache/entries/meta.js";
import { csvKeyOf, parquetKeyOf } from "../../src/cache/entries/objects.js";
import type { ObjectStore } from "../../src/storage/types.js";
import { dataUrl, testApp } from "../support/app.js";
import { recordingStore } from "../support/recording-store.js";
import { BTC_SPOT, klinesCsv, tempDir } from "../support/fixtures.js";
import { s3TestStore } from "../support/s3.js";

const csvPut = (body: string) => ({ method: "PUT", body, headers: { "Content-Type": "text/csv" } });
const PARQUET = dataUrl({ ...BTC_SPOT, format: "parquet" });


async function put(app: ReturnType<typeof testApp>["app"], csv: string): Promise<CacheMeta> {
  const res = await app.request(dataUrl(BTC_SPOT), csvPut(csv));
  expect(res.status).toBe(201);
  return ((await res.json()) as { data: { meta: CacheMeta } }).data.meta;
}

/** The entries' objects, less the info index's shards. */
const keys = async (store: ObjectStore) =>
  (await store.list())
    .map((object) => object.key)
    .filter((key) => !key.startsWith("_index/"))
    .sort();

describe("the Parquet form kept beside the entry", () => {
  it("is made on the first Parquet request, kept under the CSV's identity, and served from the store after", async () => {
    const { store, reads } = recordingStore();
    const { app } = testApp({ store });
    const meta = await put(app, klinesCsv(3000));
    const kept = parquetKeyOf(BTC_SPOT, contentIdentityOf(meta));

    const first = await app.request(PARQUET);
    expect(first.status).toBe(200);
    expect(first.headers.get("X-Parquet")).toBe("MISS");
    const made = Buffer.from(await first.arrayBuffer());
    expect(Number(first.headers.get("Content-Length"))).toBe(made.length);
    expect(await keys(store)).toContain(kept);

    reads.length = 0;
    const second = await app.request(PARQUET);
    expect(second.headers.get("X-Parquet")).toBe("HIT");
    expect(Buffer.from(await second.arrayBuffer()).equals(made)).toBe(true);
    expect(reads).not.toContain(csvKeyOf(BTC_SPOT));

    const file = join(tempDir(), "kept.parquet");
    writeFileSync(file, made);
    const duck = await (await DuckDBInstance.create(":memory:")).connect();
    const count = (await duck.runAndReadAll(`SELECT count(*) AS n FROM read_parquet('${file}')`)).getRowObjectsJS();
    duck.closeSync();
    expect(count).toEqual([{ n: 3000n }]);
  });

  it("is made anew when the entry is rewritten; the sweep removes the old one, delete and clear remove the new", async () => {
    const { app, store } = testApp();
    const before = await put(app, klinesCsv(3000));
    await app.request(PARQUET);
    const after = await put(app, klinesCsv(3001));
    const res = await app.request(PARQUET);
    expect(res.headers.get("X-Parquet")).toBe("MISS");
    const oldKey = parquetKeyOf(BTC_SPOT, contentIdentityOf(before));
    const newKey = parquetKeyOf(BTC_SPOT, contentIdentityOf(after));
    expect(await keys(store)).toEqual(expect.arrayContaining([oldKey, newKey]));

    const swept = await app.request("/api/v1/backtest/cache/sweep", { method: "POST" });
    expect(((await swept.json()) as { data: { by_reason: Record<string, number> } }).data.by_reason.stale_parquet).toBe(1);
    expect(await keys(store)).not.toContain(oldKey);
    expect(await keys(store)).toContain(newKey);

    // info counts entries, as the original does; the size counts what the cache holds.
    const info = (await (await app.request("/api/v1/backtest/cache/info")).json()) as { data: { total_files: number } };
    expect(info.data.total_files).toBe(1);

    expect((await app.request(dataUrl(BTC_SPOT), { method: "DELETE" })).status).toBe(200);
    expect(await keys(store)).toEqual([]);

    await put(app, klinesCsv(10));
    await app.request(PARQUET);
    expect((await keys(store)).some((key) => key.endsWith(".parquet"))).toBe(true);
    await app.request("/api/v1/backtest/cache/clear", { method: "POST" });
    expect(await keys(store)).toEqual([]);
  });

  it("leaves an hour-old Parquet form whose entry is gone to the sweep, and a young one alone", async () => {
    const { app, store, clock, dir } = testApp({ now: "2026-11-25T12:00:00Z" });
    const meta = await put(app, klinesCsv(100));
    await app.request(PARQUET);
    // Its file is stamped with the pinned clock's time, as if made then.
    const made = new Date("2026-11-25T12:00:00Z");
    utimesSync(join(dir, parquetKeyOf(BTC_SPOT, contentIdentityOf(meta))), made, made);
    // The entry's objects go behind the cache's back, its Parquet form stays.
    await store.deleteMany([csvKeyOf(BTC_SPOT), `${csvKeyOf(BTC_SPOT).slice(0, -4)}_meta.json`]);
    const kept = parquetKeyOf(BTC_SPOT, contentIdentityOf(meta));
    await app.request("/api/v1/backtest/cache/sweep", { method: "POST" });
    expect(await keys(store)).toEqual([kept]);
    clock.set("2026-11-25T13:00:01Z");
    await app.request("/api/v1/backtest/cache/sweep", { method: "POST" });
    expect(await keys(store)).toEqual([]);
  });

  it("on Lambda, redirects a Parquet form over the inline size to a presigned URL of the kept object", async () => {
    const { store } = await s3TestStore({ prefix: "cache/data" });
    const { app } = testApp({ store, inlineMaxBytes: 1000 });
    const meta = await put(app, klinesCsv(5000));
    const res = await app.request(PARQUET);
    expect(res.status).toBe(303);
    const location = res.headers.get("Location") as string;
    expect(location).toContain(parquetKeyOf(BTC_SPOT, contentIdentityOf(meta)));
    const fetched = await fetch(location);
    expect(fetched.status).toBe(200);
    const bytes = Buffer.from(await fetched.arrayBuffer());
    expect(bytes.subarray(0, 4).toString()).toBe("PAR1");
  });
});
