import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Row } from "../../src/csv/check.js";
import { type CacheInfo, type SweepResult } from "../../src/cache/data-cache.js";
import { csvKeyOf } from "../../src/cache/entries/objects.js";
import type { CacheMeta } from "../../src/cache/entries/meta.js";
import type { ErrorEnvelope, SuccessEnvelope } from "../../src/http/envelope.js";
import { DATA, dataUrl, testApp } from "../support/app.js";
import { BTC_SPOT, ETH_FUTURES, klinesCsv, PYTHON_CACHE } from "../support/fixtures.js";
import { jsonOf } from "../support/json.js";

/** What a GET of one dataset answers as JSON. */
type RowsAnswer = SuccessEnvelope<{ meta: CacheMeta; rows: Row[] }>;

const csvPut = (body: string, headers: Record<string, string> = {}) => ({
  method: "PUT",
  body,
  headers: { "Content-Type": "text/csv", ...headers },
});

describe("GET data", () => {
  it("answers a hit as JSON rows with the cache headers", async () => {
    const { app } = testApp({ withPythonCache: true });
    const res = await app.request(dataUrl({ ...BTC_SPOT, symbol: "btcusdt", market_type: "SPOT" }));
    expect(res.status).toBe(200);
    expect(res.headers.get("X-Cache")).toBe("HIT");
    expect(res.headers.get("X-Cache-Key")).toBe("0b0670744f42d25b998f5b2e646d6467");
    const body = await jsonOf<RowsAnswer>(res);
    expect(body.status).toBe("success");
    expect(body.data.meta.rows).toBe(10);
    expect(body.data.rows[0]?.timestamp).toBe("2021-10-22T23:03:00.000Z");
    expect(body.data.rows[9]?.close).toBeTypeOf("number");
  });

  it.each([
    ["Accept: text/csv", dataUrl(ETH_FUTURES), { Accept: "text/csv" }],
    ["format=csv", dataUrl({ ...ETH_FUTURES, format: "csv" }), {}],
  ])("streams the stored CSV bytes unchanged with %s", async (_, url, headers) => {
    const { app } = testApp({ withPythonCache: true });
    const res = await app.request(url, { headers });
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toMatch(/^text\/csv/);
    expect(res.headers.get("X-Cache")).toBe("HIT");
    expect(await res.text()).toBe(readFileSync(join(PYTHON_CACHE, csvKeyOf(ETH_FUTURES)), "utf8"));
  });

  it.each(["json", "csv", "parquet", "arrow"])("answers a %s hit and a miss without waiting for their counts", async (format) => {
    // Counts that never complete (Redis hanging): an answer that waited for one would never come.
    const sent: string[] = [];
    const counters = { increment: (key: string) => (sent.push(key), new Promise<void>(() => {})), read: async () => ({}) };
    const { app } = testApp({ withPythonCache: true, counters });

    const hit = await app.request(dataUrl({ ...BTC_SPOT, format }));
    const miss = await app.request(dataUrl({ ...BTC_SPOT, symbol: "XRPUSDT", format }));

    expect([hit.status, miss.status]).toEqual([200, 404]);
    expect((await hit.arrayBuffer()).byteLength).toBeGreaterThan(0);
    expect(sent).toEqual(["metrics:cache_hit:data_spot", "metrics:cache_miss:data_spot"]);
  });

  it("answers a miss with 404 CACHE_MISS", async () => {
    const { app } = testApp();
    const res = await app.request(dataUrl(BTC_SPOT));
    expect(res.status).toBe(404);
    expect(res.headers.get("X-Cache")).toBe("MISS");
    expect(await res.json()).toEqual({ status: "error", error: { code: "CACHE_MISS", message: "No cache entry for these parameters" } });
  });

  it("answers an expired entry with 404 CACHE_MISS", async () => {
    const { app, clock } = testApp({ now: "2026-11-25T08:00:00Z" });
    const recent = { ...BTC_SPOT, start_date: "2026-11-25", end_date: "2026-11-25" };
    expect((await app.request(dataUrl(recent), csvPut(klinesCsv(2)))).status).toBe(201);
    clock.set("2026-11-26T08:00:00Z");
    const res = await app.request(dataUrl(recent));
    expect(res.status).toBe(404);
    expect((await jsonOf<ErrorEnvelope>(res)).error).toEqual({ code: "CACHE_MISS", message: "The cache entry has expired" });
  });
});

describe("PUT data", () => {
  it("stores a CSV body and serves it back byte for byte", async () => {
    const { app } = testApp();
    const csv = klinesCsv(50);
    const put = await app.request(dataUrl(BTC_SPOT), csvPut(csv));
    expect(put.status).toBe(201);
    const { data } = await jsonOf<SuccessEnvelope<{ meta: CacheMeta }>>(put);
    expect(data.meta).toMatchObject({ ...BTC_SPOT, rows: 50, cache_key: "0b0670744f42d25b998f5b2e646d6467" });
    const get = await app.request(dataUrl({ ...BTC_SPOT, format: "csv" }));
    expect(await get.text()).toBe(csv);
  });

  it("stores a JSON body of rows", async () => {
    const { app } = testApp();
    const rows = [
      { timestamp: "2021-10-22T23:03:00Z", open: 1, close: 2 },
      { timestamp: 1634943840000, open: 3, close: 4 },
    ];
    const put = await app.request(dataUrl(BTC_SPOT), { method: "PUT", body: JSON.stringify(rows), headers: { "Content-Type": "application/json" } });
    expect(put.status).toBe(201);
    const get = await app.request(dataUrl(BTC_SPOT));
    expect((await jsonOf<RowsAnswer>(get)).data.rows).toEqual([
      { timestamp: "2021-10-22T23:03:00.000Z", open: 1, close: 2 },
      { timestamp: "2021-10-22T23:04:00.000Z", open: 3, close: 4 },
    ]);
  });

  it("overwrites an existing entry", async () => {
    const { app } = testApp({ withPythonCache: true });
    expect((await app.request(dataUrl(BTC_SPOT), csvPut(klinesCsv(3)))).status).toBe(201);
    const get = await app.request(dataUrl(BTC_SPOT));
    expect((await jsonOf<RowsAnswer>(get)).data.meta.rows).toBe(3);
  });

  it.each([
    ["no timestamp column", "text/csv", "open,close\n1,2\n", 400, "INVALID_BODY"],
    ["ragged rows", "text/csv", "timestamp,open\n2021-10-22 00:00:00,1,2\n", 400, "INVALID_BODY"],
    ["an empty body", "text/csv", "", 400, "INVALID_BODY"],
    ["JSON that is not rows", "application/json", '{"a":1}', 400, "INVALID_BODY"],
    ["broken JSON", "application/json", "[{", 400, "INVALID_BODY"],
    ["a wrong content type", "application/xml", "<a/>", 415, "UNSUPPORTED_MEDIA_TYPE"],
    ["no content type", "", "x", 415, "UNSUPPORTED_MEDIA_TYPE"],
  ])("refuses %s and writes nothing", async (_, type, body, status, code) => {
    const { app, store } = testApp();
    const res = await app.request(dataUrl(BTC_SPOT), { method: "PUT", body, headers: type ? { "Content-Type": type } : {} });
    expect(res.status).toBe(status);
    expect((await jsonOf<ErrorEnvelope>(res)).error.code).toBe(code);
    expect(await store.list()).toEqual([]);
  });

  it("refuses a body over MAX_BODY_MB with 413", async () => {
    const { app, store } = testApp({ maxBodyBytes: 1000 });
    const res = await app.request(dataUrl(BTC_SPOT), csvPut(klinesCsv(100)));
    expect(res.status).toBe(413);
    expect((await jsonOf<ErrorEnvelope>(res)).error.code).toBe("PAYLOAD_TOO_LARGE");
    expect(await store.list()).toEqual([]);
  });
});

describe("DELETE data", () => {
  it("removes one entry, then answers 404", async () => {
    const { app } = testApp({ withPythonCache: true });
    const first = await app.request(dataUrl(BTC_SPOT), { method: "DELETE" });
    expect(first.status).toBe(200);
    expect((await jsonOf<SuccessEnvelope<{ cache_key: string; deleted: boolean }>>(first)).data).toEqual({ cache_key: "0b0670744f42d25b998f5b2e646d6467", deleted: true });
    expect((await app.request(dataUrl(BTC_SPOT), { method: "DELETE" })).status).toBe(404);
    expect((await app.request(dataUrl(ETH_FUTURES))).status).toBe(200);
  });
});

describe("info, clear and health", () => {
  it("tells what is cached", async () => {
    const { app } = testApp({ withPythonCache: true });
    const res = await app.request("/api/v1/backtest/cache/info");
    const body = await jsonOf<SuccessEnvelope<CacheInfo>>(res);
    expect(body.status).toBe("success");
    expect(body.data).toMatchObject({ total_files: 2, cached_symbols: ["BTCUSDT", "ETHUSDT"], total_size_mb: 0 });
    expect(body.data.cache_entries).toHaveLength(2);
  });

  it("clears the cache and says how many files went", async () => {
    const { app, store } = testApp({ withPythonCache: true });
    const res = await app.request("/api/v1/backtest/cache/clear", { method: "POST" });
    expect(await res.json()).toEqual({ status: "success", message: "Cache cleared successfully", data: { deleted_files: 4 } });
    expect(await store.list()).toEqual([]);
  });

  it("answers /healthz", async () => {
    const { app } = testApp();
    expect(await (await app.request("/healthz")).json()).toEqual({ status: "ok" });
  });

  it("answers unknown routes with the error envelope", async () => {
    const { app } = testApp();
    const res = await app.request("/nope");
    expect(res.status).toBe(404);
    expect((await jsonOf<ErrorEnvelope>(res)).error.code).toBe("NOT_FOUND");
  });
});

describe("write token", () => {
  const token = "s3cret-token";

  it.each([
    ["PUT", dataUrl(BTC_SPOT)],
    ["DELETE", dataUrl(BTC_SPOT)],
    ["POST", "/api/v1/backtest/cache/clear"],
  ])("guards %s %s", async (method, url) => {
    const { app, store } = testApp({ withPythonCache: true, cacheApiToken: token });
    const before = await store.list();
    const init: { method: string; body?: string; headers?: Record<string, string> } = method === "PUT" ? csvPut(klinesCsv(1)) : { method };
    for (const authorization of [undefined, "Bearer wrong", `Basic ${token}`, `Bearer ${token}x`]) {
      const res = await app.request(url, { ...init, headers: { ...init.headers, ...(authorization ? { Authorization: authorization } : {}) } });
      expect(res.status).toBe(401);
      expect((await jsonOf<ErrorEnvelope>(res)).error.code).toBe("UNAUTHORIZED");
    }
    expect(await store.list()).toEqual(before);
    const ok = await app.request(url, { ...init, headers: { ...init.headers, Authorization: `Bearer ${token}` } });
    expect(ok.status).toBeLessThan(300);
  });

  it("leaves reads open", async () => {
    const { app } = testApp({ withPythonCache: true, cacheApiToken: token });
    expect((await app.request(dataUrl(BTC_SPOT))).status).toBe(200);
    expect((await app.request("/api/v1/backtest/cache/info")).status).toBe(200);
  });

  it("leaves writes open when no token is configured", async () => {
    const { app } = testApp();
    expect((await app.request(dataUrl(BTC_SPOT), csvPut(klinesCsv(1)))).status).toBe(201);
  });
});

describe("access log", () => {
  it("writes one structured line per request", async () => {
    const { app, logs } = testApp({ withPythonCache: true });
    const res = await app.request(dataUrl(BTC_SPOT), { headers: { "X-Request-Id": "req-42" } });
    await app.request(dataUrl(ETH_FUTURES).replace("ETHUSDT", "XRPUSDT"));
    expect(res.headers.get("X-Request-Id")).toBe("req-42");
    const lines = logs.filter((line) => line.event === "request");
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ level: "info", method: "GET", path: DATA, status: 200, cache: "hit", request_id: "req-42" });
    expect(lines[0]?.duration_ms).toBeTypeOf("number");
    expect(lines[1]).toMatchObject({ status: 404, cache: "absent" });
  });
});

describe("sweep", () => {
  it("runs on demand behind the token and answers what it removed", async () => {
    const { app, store, counters } = testApp({ withPythonCache: true, cacheApiToken: "t" });
    await store.put("0123456789abcdef0123456789abcdef_meta.json", "{}");
    expect((await app.request("/api/v1/backtest/cache/sweep", { method: "POST" })).status).toBe(401);
    const res = await app.request("/api/v1/backtest/cache/sweep", { method: "POST", headers: { Authorization: "Bearer t" } });
    expect(res.status).toBe(200);
    expect((await jsonOf<SuccessEnvelope<SweepResult>>(res)).data).toEqual({
      deleted: 1,
      by_reason: { expired: 0, csv_without_meta: 0, meta_without_csv: 1, unreadable_meta: 0, stale_derived: 0, stale_upload: 0, temporary: 0 },
      kept_rewritten: 0,
    });
    expect(await counters.read(["metrics:cache_sweep:deleted"])).toEqual({ "metrics:cache_sweep:deleted": 1 });
    expect((await store.list()).filter((object) => !object.key.startsWith("_index/")).length).toBe(4);
  });
});
