import { DuckDBInstance } from "@duckdb/node-api";
import { utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { contentIdentityOf, type CacheMeta } from "../../src/cache/entries/meta.js";
import { csvKeyOf, derivedKeyOf, metaKeyOf, type EntryId } from "../../src/cache/entries/objects.js";
import type { ErrorEnvelope } from "../../src/http/envelope.js";
import type { ObjectStore } from "../../src/storage/types.js";
import { dataUrl, testApp } from "../support/app.js";
import { recordingStore } from "../support/recording-store.js";
import { BTC_SPOT, klinesCsv, tempDir } from "../support/fixtures.js";
import { s3TestStore } from "../support/s3.js";

const csvPut = (body: string) => ({ method: "PUT", body, headers: { "Content-Type": "text/csv" } });
const PARQUET = dataUrl({ ...BTC_SPOT, format: "parquet" });
const ARROW = dataUrl({ ...BTC_SPOT, format: "arrow" });

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

const formKeys = (meta: CacheMeta) => [derivedKeyOf(BTC_SPOT, contentIdentityOf(meta), "arrow"), derivedKeyOf(BTC_SPOT, contentIdentityOf(meta), "parquet")];

describe("the derived forms kept beside an entry", () => {
  it("are made by the writer's job right after a PUT, so the first Parquet and Arrow reads are store reads", async () => {
    const { store, reads } = recordingStore();
    const { app, deriver } = testApp({ store });
    const meta = await put(app, klinesCsv(3000));
    await deriver.idle();
    expect(await keys(store)).toEqual([csvKeyOf(BTC_SPOT), ...formKeys(meta), metaKeyOf(BTC_SPOT)].sort());

    reads.length = 0;
    const parquet = await app.request(PARQUET);
    expect(parquet.status).toBe(200);
    expect(parquet.headers.get("X-Parquet")).toBe("HIT");
    const bytes = Buffer.from(await parquet.arrayBuffer());
    expect(Number(parquet.headers.get("Content-Length"))).toBe(bytes.length);
    const arrow = await app.request(ARROW);
    expect(arrow.headers.get("X-Arrow")).toBe("HIT");
    expect(arrow.headers.get("Content-Type")).toBe("application/vnd.apache.arrow.stream");
    await arrow.arrayBuffer();
    expect(reads).not.toContain(csvKeyOf(BTC_SPOT));

    const file = join(tempDir(), "kept.parquet");
    writeFileSync(file, bytes);
    const duck = await (await DuckDBInstance.create(":memory:")).connect();
    const count = (await duck.runAndReadAll(`SELECT count(*) AS n FROM read_parquet('${file}')`)).getRowObjectsJS();
    duck.closeSync();
    expect(count).toEqual([{ n: 3000n }]);
  });

  it("are converted on the fly and not kept until made, then served as the same bytes", async () => {
    const { app, store, deriver } = testApp({ backgroundForms: false });
    const meta = await put(app, klinesCsv(2000));
    const converted: Record<string, Buffer> = {};
    for (const [format, url, header] of [["parquet", PARQUET, "X-Parquet"], ["arrow", ARROW, "X-Arrow"]] as const) {
      const res = await app.request(url);
      expect(res.status).toBe(200);
      expect(res.headers.get(header)).toBe("MISS");
      converted[format] = Buffer.from(await res.arrayBuffer());
    }
    expect(await keys(store)).toEqual([csvKeyOf(BTC_SPOT), metaKeyOf(BTC_SPOT)]);

    expect(await deriver.derive(BTC_SPOT)).toEqual({ parquet: "made", arrow: "made" });
    expect(await deriver.derive(BTC_SPOT)).toEqual({ parquet: "kept", arrow: "kept" });
    expect(await keys(store)).toEqual(expect.arrayContaining(formKeys(meta)));
    for (const [format, url, header] of [["parquet", PARQUET, "X-Parquet"], ["arrow", ARROW, "X-Arrow"]] as const) {
      const res = await app.request(url);
      expect(res.headers.get(header)).toBe("HIT");
      expect(Buffer.from(await res.arrayBuffer()).equals(converted[format] as Buffer)).toBe(true);
    }
  });

  it("are made anew when the entry is rewritten; the sweep removes the old ones, delete and clear the new", async () => {
    const { app, store, deriver } = testApp();
    const before = await put(app, klinesCsv(3000));
    await deriver.idle();
    const after = await put(app, klinesCsv(3001));
    await deriver.idle();
    expect(await keys(store)).toEqual(expect.arrayContaining([...formKeys(before), ...formKeys(after)]));

    const swept = await app.request("/api/v1/backtest/cache/sweep", { method: "POST" });
    expect(((await swept.json()) as { data: { by_reason: Record<string, number> } }).data.by_reason.stale_derived).toBe(2);
    expect(await keys(store)).toEqual([csvKeyOf(BTC_SPOT), ...formKeys(after), metaKeyOf(BTC_SPOT)].sort());

    // info counts entries, as the original does.
    const info = (await (await app.request("/api/v1/backtest/cache/info")).json()) as { data: { total_files: number } };
    expect(info.data.total_files).toBe(1);

    expect((await app.request(dataUrl(BTC_SPOT), { method: "DELETE" })).status).toBe(200);
    expect(await keys(store)).toEqual([]);

    await put(app, klinesCsv(10));
    await deriver.idle();
    expect((await keys(store)).some((key) => key.endsWith(".parquet"))).toBe(true);
    await app.request("/api/v1/backtest/cache/clear", { method: "POST" });
    expect(await keys(store)).toEqual([]);
  });

  it("whose entry is gone are left to the sweep once an hour old, and a young one alone", async () => {
    const { app, store, clock, dir, deriver } = testApp({ now: "2026-11-25T12:00:00Z" });
    const meta = await put(app, klinesCsv(100));
    await deriver.idle();
    // Their files are stamped with the pinned clock's time, as if made then.
    const made = new Date("2026-11-25T12:00:00Z");
    for (const key of formKeys(meta)) utimesSync(join(dir, key), made, made);
    // The entry's objects go behind the cache's back, its forms stay.
    await store.deleteMany([csvKeyOf(BTC_SPOT), metaKeyOf(BTC_SPOT)]);
    await app.request("/api/v1/backtest/cache/sweep", { method: "POST" });
    expect(await keys(store)).toEqual(formKeys(meta));
    clock.set("2026-11-25T13:00:01Z");
    await app.request("/api/v1/backtest/cache/sweep", { method: "POST" });
    expect(await keys(store)).toEqual([]);
  });

  it("are handed by the sweep to be made for entries kept without them, as the Python service's", async () => {
    const { cache, deriver } = testApp({ withPythonCache: true, backgroundForms: false });
    const underived: EntryId[] = [];
    await cache.sweep({ underived: (id) => underived.push(id) });
    expect(underived.length).toBeGreaterThan(0);
    for (const id of underived) expect(await deriver.derive(id)).toEqual({ parquet: "made", arrow: "made" });
    const again: EntryId[] = [];
    await cache.sweep({ underived: (id) => again.push(id) });
    expect(again).toEqual([]);
  });

  it("on Lambda: a form over the inline size answers 503 until made, then redirects to its kept object", async () => {
    const { store } = await s3TestStore({ prefix: "cache/data" });
    const { app, deriver } = testApp({ store, inlineMaxBytes: 1000, backgroundForms: false });
    const meta = await put(app, klinesCsv(5000));
    const early = await app.request(PARQUET);
    expect(early.status).toBe(503);
    expect(early.headers.get("Retry-After")).toMatch(/^\d+$/);
    expect(((await early.json()) as ErrorEnvelope).error.code).toBe("SERVICE_BUSY");

    await deriver.derive(BTC_SPOT);
    for (const [format, url, magic] of [["parquet", PARQUET, "PAR1"], ["arrow", ARROW, "\xff\xff\xff\xff"]] as const) {
      const res = await app.request(url);
      expect(res.status).toBe(303);
      const location = res.headers.get("Location") as string;
      expect(location).toContain(derivedKeyOf(BTC_SPOT, contentIdentityOf(meta), format));
      const fetched = await fetch(location);
      expect(fetched.status).toBe(200);
      const bytes = Buffer.from(await fetched.arrayBuffer());
      expect(bytes.subarray(0, 4).toString("latin1")).toBe(magic);
    }
  });

  it("on Lambda: JSON whose CSV is under the inline size but whose own bytes are over it is a 413 that says how to get it", async () => {
    const { app } = testApp({ inlineMaxBytes: 2000, backgroundForms: false });
    const csv = klinesCsv(10);
    expect(Buffer.byteLength(csv)).toBeLessThan(2000);
    await put(app, csv);
    const json = await app.request(dataUrl(BTC_SPOT));
    expect(json.status).toBe(413);
    expect(((await json.json()) as ErrorEnvelope).error.message).toContain("format=csv");
    const text = await app.request(dataUrl({ ...BTC_SPOT, format: "csv" }));
    expect(text.status).toBe(200);
    expect(await text.text()).toBe(csv);
  });
});
