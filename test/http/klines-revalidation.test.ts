import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { DuckDBInstance } from "@duckdb/node-api";
import { tableFromIPC } from "apache-arrow";
import { csvToRows } from "../../src/csv/check.js";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Clock } from "../../src/clock.js";
import { startBinanceStandIn, type BinanceStandIn } from "../support/binance-standin.js";
import { testApp } from "../support/app.js";
import { recordingStore } from "../support/recording-store.js";
import { tempDir } from "../support/fixtures.js";

const NOW = "2026-11-25T12:00:30.000Z";
const PAST = "/api/v1/klines?symbol=BTCUSDT&interval=1h&start_date=2024-01-01&end_date=2024-03-31";
const UP_TO_NOW = "/api/v1/klines?symbol=BTCUSDT&interval=1h&start_date=2026-11-01&end_date=2026-11-30";

let standIn: BinanceStandIn;
/** The clock of the app under test, which the stand-in shares. */
let clock: Clock | null = null;
beforeAll(async () => {
  standIn = await startBinanceStandIn({ now: () => (clock ? clock.now().getTime() : Date.parse(NOW)) });
});
afterAll(() => standIn.close());
beforeEach(() => standIn.reset());

const upstreamRequests = () => Object.values(standIn.requests).reduce((sum, n) => sum + n, 0);

/** The app on a store that records what it reads, talking to the stand-in. */
function build() {
  const { store, reads } = recordingStore();
  const built = testApp({ binanceUrl: standIn.url, now: NOW, store });
  clock = built.clock;
  return { ...built, reads };
}

describe("revalidation of klines answers", () => {
  it("tags a settled range, keeps it a year, and answers 304 to its tag from the partitions' metas alone", async () => {
    const { app, reads } = build();
    const first = await app.request(`${PAST}&format=csv`);
    expect(first.status).toBe(200);
    const tag = first.headers.get("ETag") as string;
    expect(tag).toMatch(/^"[0-9a-f]{32}-csv"$/);
    expect(first.headers.get("Cache-Control")).toBe("public, max-age=31536000, immutable");
    const body = await first.text();

    const warm = await app.request(`${PAST}&format=csv`);
    expect(warm.headers.get("ETag")).toBe(tag);
    expect(await warm.text()).toBe(body);

    const before = upstreamRequests();
    reads.length = 0;
    const again = await app.request(`${PAST}&format=csv`, { headers: { "If-None-Match": tag } });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe("");
    expect(again.headers.get("X-Cache")).toBe("HIT");
    expect(upstreamRequests()).toBe(before);
    expect(reads.length).toBeGreaterThan(0);
    expect(reads.every((key) => key.endsWith("_meta.json"))).toBe(true);

    const json = await app.request(PAST, { headers: { "If-None-Match": tag } });
    expect(json.status).toBe(200);
    expect(json.headers.get("ETag")).toMatch(/-json"$/);
  });

  it("has a range that reaches now revalidated on every use, with a new tag once it has grown", async () => {
    const { app, clock } = build();
    const first = await app.request(UP_TO_NOW);
    expect(first.status).toBe(200);
    expect(first.headers.get("Cache-Control")).toBe("public, no-cache");
    const tag = first.headers.get("ETag") as string;
    expect((await app.request(UP_TO_NOW, { headers: { "If-None-Match": tag } })).status).toBe(304);
    clock.set("2026-11-25T14:00:30.000Z");
    const grown = await app.request(UP_TO_NOW, { headers: { "If-None-Match": tag } });
    expect(grown.status).toBe(200);
    expect(grown.headers.get("ETag")).not.toBe(tag);
  });

  it("answers the range as Parquet and Arrow, the same candles as its CSV", async () => {
    const { app } = build();
    const csv = csvToRows(await (await app.request(`${PAST}&format=csv`)).text());
    expect(csv).toHaveLength(91 * 24);
    const parquet = await app.request(`${PAST}&format=parquet`);
    expect(parquet.headers.get("Content-Type")).toBe("application/vnd.apache.parquet");
    const path = join(tempDir(), "range.parquet");
    writeFileSync(path, Buffer.from(await parquet.arrayBuffer()));
    const duck = await (await DuckDBInstance.create(":memory:")).connect();
    const rows = (await duck.runAndReadAll(`SELECT epoch_ms(timestamp) AS t, close FROM read_parquet('${path}') ORDER BY t`)).getRowObjectsJS();
    duck.closeSync();
    expect(rows.map((row) => [Number(row.t), row.close])).toEqual(csv.map((row) => [Date.parse(row.timestamp as string), row.close]));
    const arrow = tableFromIPC(new Uint8Array(await (await app.request(`${PAST}&format=arrow`)).arrayBuffer()));
    expect(arrow.numRows).toBe(csv.length);
    expect(arrow.getChild("close")?.toArray()).toEqual(Float64Array.from(csv.map((row) => row.close as number)));
  });

  it("converts a range to Parquet or Arrow in a conversion slot, as an entry is: none free in time is 503 SERVICE_BUSY", async () => {
    const built = testApp({ binanceUrl: standIn.url, now: NOW, conversionsMax: 1, conversionWaitMs: 0 });
    clock = built.clock;
    const held = await built.app.request(`${PAST}&format=arrow`);
    expect(held.status).toBe(200);
    expect(held.headers.get("X-Arrow")).toBe("MISS");
    const refused = await built.app.request(`${PAST}&format=parquet`);
    expect(refused.status).toBe(503);
    expect(Number(refused.headers.get("Retry-After"))).toBeGreaterThan(0);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("SERVICE_BUSY");
    await held.body?.cancel();
    const next = await built.app.request(`${PAST}&format=parquet`);
    expect(next.status).toBe(200);
    expect(next.headers.get("Content-Disposition")).toBe('inline; filename="BTCUSDT_1h_2024-01-01_2024-03-31_spot.parquet"');
    expect((await next.arrayBuffer()).byteLength).toBeGreaterThan(0);
  });

  it("streams a JSON answer over 8 MB, the same rows as its CSV", async () => {
    const { app } = build();
    const range = "/api/v1/klines?symbol=BTCUSDT&interval=1m&start_date=2024-01-01&end_date=2024-02-29";
    const csv = await (await app.request(`${range}&format=csv`)).text();
    expect(csv.length).toBeGreaterThan(8 * 2 ** 20);
    const res = await app.request(range);
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Length")).toBeNull();
    const body = (await res.json()) as { data: { meta: { rows: number; gaps: unknown[] }; rows: unknown[] } };
    const rows = csvToRows(csv);
    expect(rows).toHaveLength(60 * 24 * 60);
    expect(body.data.meta.rows).toBe(rows.length);
    expect(body.data.rows).toEqual(rows);
  });

  it("compresses a klines answer with gzip, decoding to exactly the plain one", async () => {
    const { app } = build();
    const plain = Buffer.from(await (await app.request(`${PAST}&format=csv`)).arrayBuffer());
    const packed = await app.request(`${PAST}&format=csv`, { headers: { "Accept-Encoding": "gzip" } });
    expect(packed.headers.get("Content-Encoding")).toBe("gzip");
    expect(gunzipSync(Buffer.from(await packed.arrayBuffer())).equals(plain)).toBe(true);
  });
});
