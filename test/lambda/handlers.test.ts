import type { APIGatewayProxyResult } from "aws-lambda";
import { beforeAll, describe, expect, inject, it, vi } from "vitest";
import type { Row } from "../../src/csv/check.js";
import { type CacheInfo } from "../../src/cache/data-cache.js";
import { csvKeyOf, metaKeyOf } from "../../src/cache/entries/objects.js";
import type { CacheMeta } from "../../src/cache/entries/meta.js";
import type { ErrorEnvelope, SuccessEnvelope } from "../../src/http/envelope.js";
import table from "../../src/functions.json" with { type: "json" };
import { ROUTES, type HttpFunctionName, type Route } from "../../src/http/route-table.js";
import type { ObjectStore } from "../../src/storage/types.js";
import { BTC_SPOT, ETH_FUTURES, klinesCsv, readFixture } from "../support/fixtures.js";
import { httpApiEvent, stubLambdaS3Env } from "../support/lambda.js";
import { s3TestStore, S3_TEST_CREDENTIALS } from "../support/s3.js";

type Handler = (event: unknown, context?: unknown) => Promise<APIGatewayProxyResult>;
/** What upload-url answers: where and how to PUT the CSV. */
type UploadUrl = SuccessEnvelope<{
  cache_key: string;
  upload_id: string;
  method: string;
  url: string;
  headers: Record<string, string>;
  expires_in_seconds: number;
}>;
/** A handler's JSON body, typed as the test expects it (the assertions check it). */
const bodyOf = <T>(res: APIGatewayProxyResult) => JSON.parse(res.body) as T;
const TOKEN = "lambda-token";
const DATA = "/api/v1/backtest/cache/data";
const SMALL = { ...BTC_SPOT, symbol: "SOLUSDT" };
/** The file of each HTTP function in functions/, from the route table. */
const FILES = Object.fromEntries(Object.entries(table).map(([fn, spec]) => [fn, spec.file])) as Record<HttpFunctionName, string>;

let store: ObjectStore;
const handlers: Record<string, Handler> = {};

/** The deployed shape: every function built from the environment serverless.yml gives it, on a real S3 bucket. */
beforeAll(async () => {
  const s3 = await s3TestStore({ prefix: "cache/data" });
  store = s3.store;
  stubLambdaS3Env(s3.bucket, inject("s3Endpoint"), S3_TEST_CREDENTIALS);
  vi.stubEnv("CACHE_API_TOKEN", TOKEN);
  // The Python fixtures' CSVs are 1.3 KB: over this cap they take the redirect path; a 1-row CSV, as JSON too, does not.
  vi.stubEnv("INLINE_MAX_MB", String(1000 / 2 ** 20));
  vi.stubEnv("LOG_LEVEL", "silent");
  // As serverless.yml names it; these tests never reach it (no range of theirs lacks a month).
  vi.stubEnv("FILL_FUNCTION_NAME", "candle-cache-test-fill");
  for (const name of new Set(ROUTES.map((route) => FILES[route.fn]))) {
    handlers[name] = ((await import(`../../functions/${name}.ts`)) as { handler: Handler }).handler;
  }
  for (const id of [BTC_SPOT, ETH_FUTURES]) {
    await store.put(csvKeyOf(id), readFixture("tradebot-cache", csvKeyOf(id)));
    await store.put(metaKeyOf(id), readFixture("tradebot-cache", metaKeyOf(id)));
  }
});

const call = (name: string, ...args: Parameters<typeof httpApiEvent>) => (handlers[name] as Handler)(httpApiEvent(...args));

describe("each function of the route table", () => {
  /** A request each route answers without reaching Binance: any answer but the router's own 404 means it was served. */
  const probe = (route: Route) => route.path.replace(":market", "nowhere");
  const routerMiss = (res: APIGatewayProxyResult) =>
    res.statusCode === 404 && bodyOf<ErrorEnvelope>(res).error.message.startsWith("No route for");

  it("is a file of functions/ that serves its own routes and answers 404 to every other", async () => {
    const fns = [...new Set(ROUTES.map((route) => route.fn))];
    for (const fn of fns) {
      for (const route of ROUTES) {
        const res = await (handlers[FILES[fn]] as Handler)(httpApiEvent(route.method, probe(route)));
        expect(routerMiss(res), `${fn} asked ${route.method} ${route.path}`).toBe(route.fn !== fn);
      }
    }
  });

  it("has one function for every route, /healthz included", () => {
    const keys = ROUTES.map((route) => `${route.method} ${route.path}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(ROUTES.find((route) => route.path === "/healthz")?.fn).toBe("admin");
  });
});
const auth = { Authorization: `Bearer ${TOKEN}` };

describe("Lambda handlers on API Gateway v2 events", () => {
  it("cache stores a CSV body, get answers it as JSON and as CSV", async () => {
    const csv = klinesCsv(1);
    const put = await call("cache", "PUT", DATA, { query: SMALL, headers: { ...auth, "Content-Type": "text/csv" }, body: csv });
    expect(put.statusCode).toBe(201);
    expect(bodyOf<SuccessEnvelope<{ meta: CacheMeta }>>(put).data.meta.rows).toBe(1);

    const json = await call("get", "GET", DATA, { query: SMALL });
    expect(json.statusCode).toBe(200);
    expect(json.isBase64Encoded).toBe(false);
    expect(json.headers?.["x-cache"]).toBe("HIT");
    expect(json.headers?.["content-type"]).toMatch(/^application\/json/);
    expect(bodyOf<SuccessEnvelope<{ meta: CacheMeta; rows: Row[] }>>(json).data.rows).toHaveLength(1);

    const text = await call("get", "GET", DATA, { query: SMALL, headers: { Accept: "text/csv" } });
    expect(text.statusCode).toBe(200);
    expect(text.isBase64Encoded).toBe(false);
    expect(text.headers?.["content-type"]).toMatch(/^text\/csv/);
    expect(text.body).toBe(csv);
  });

  it("derive, told of a meta written (S3 via EventBridge), makes the forms get then serves as they are kept", async () => {
    const id = { ...BTC_SPOT, symbol: "DERIVEUSDT" };
    const put = await call("cache", "PUT", DATA, { query: id, headers: { ...auth, "Content-Type": "text/csv" }, body: klinesCsv(5) });
    expect(put.statusCode).toBe(201);
    const before = await call("get", "GET", DATA, { query: { ...id, format: "parquet" } });
    expect(before.headers?.["x-parquet"]).toBe("MISS");

    const derive = ((await import("../../functions/derive.js")) as { handler: (event: unknown) => Promise<unknown> }).handler;
    const event = { id: "e1", "detail-type": "Object Created", source: "aws.s3", detail: { object: { key: `cache/data/${metaKeyOf(id)}` } } };
    expect(await derive(event)).toEqual({ parquet: "made", arrow: "made" });
    // Not the cache's: an object outside its prefix, and one that is no meta.
    expect(await derive({ ...event, detail: { object: { key: `elsewhere/${metaKeyOf(id)}` } } })).toBeNull();
    expect(await derive({ ...event, detail: { object: { key: `cache/data/${csvKeyOf(id)}` } } })).toBeNull();

    for (const [format, header] of [["parquet", "x-parquet"], ["arrow", "x-arrow"]] as const) {
      // Over this suite's 1000-byte inline cap: the kept object itself, presigned.
      const res = await call("get", "GET", DATA, { query: { ...id, format } });
      expect(res.statusCode).toBe(303);
      expect(res.headers?.[header]).toBe("HIT");
      expect(String(res.headers?.location)).toContain(`.${format}?`);
    }
  });

  it("cache takes a base64-encoded body", async () => {
    const put = await call("cache", "PUT", DATA, {
      query: { ...SMALL, interval: "5m" },
      headers: { ...auth, "Content-Type": "text/csv" },
      body: klinesCsv(4),
      base64: true,
    });
    expect(put.statusCode).toBe(201);
    expect(bodyOf<SuccessEnvelope<{ meta: CacheMeta }>>(put).data.meta.rows).toBe(4);
  });

  it("get redirects a CSV over INLINE_MAX_MB to a presigned S3 URL that serves its bytes", async () => {
    const res = await call("get", "GET", DATA, { query: { ...BTC_SPOT, format: "csv" } });
    expect(res.statusCode).toBe(303);
    expect(res.headers?.["x-cache"]).toBe("HIT");
    const download = await fetch(String(res.headers?.location));
    expect(download.status).toBe(200);
    expect(Buffer.from(await download.arrayBuffer())).toEqual(readFixture("tradebot-cache", csvKeyOf(BTC_SPOT)));
  });

  it("get answers JSON over INLINE_MAX_MB with a 413 that says how to get it", async () => {
    const res = await call("get", "GET", DATA, { query: ETH_FUTURES });
    expect(res.statusCode).toBe(413);
    expect(bodyOf<ErrorEnvelope>(res).error.message).toContain("format=csv");
  });

  it("get answers a miss with 404 CACHE_MISS", async () => {
    const res = await call("get", "GET", DATA, { query: { ...BTC_SPOT, symbol: "XRPUSDT" } });
    expect(res.statusCode).toBe(404);
    expect(res.headers?.["x-cache"]).toBe("MISS");
    expect(bodyOf<ErrorEnvelope>(res).error.code).toBe("CACHE_MISS");
  });

  const uploadUrl = (query: Record<string, string>, sizeBytes: number) =>
    call("upload-url", "POST", "/api/v1/backtest/cache/upload-url", { query: { ...query, size_bytes: String(sizeBytes) }, headers: auth });
  const commit = (query: Record<string, string>, uploadId: string) =>
    call("commit", "POST", "/api/v1/backtest/cache/commit", { query: { ...query, upload_id: uploadId }, headers: auth });
  /** The upload as a client sends it: the body, with the headers upload-url gave (fetch sets Content-Length itself). */
  const put = (url: string, body: string, headers: Record<string, string>) => {
    const { "Content-Length": length, ...rest } = headers;
    expect(length).toBe(String(Buffer.byteLength(body)));
    return fetch(url, { method: "PUT", body, headers: rest });
  };

  it("upload-url, a direct PUT and commit store a CSV too big for a Lambda body; the live entry serves until the commit", async () => {
    const query = { ...BTC_SPOT, symbol: "BNBUSDT" };
    const csv = klinesCsv(2500);
    const issued = await uploadUrl(query, Buffer.byteLength(csv));
    expect(issued.statusCode).toBe(200);
    const { url, headers, upload_id } = bodyOf<UploadUrl>(issued).data;
    expect(headers).toEqual({ "Content-Type": "text/csv", "Content-Length": String(csv.length), "If-None-Match": "*" });
    expect(new URL(url).pathname).toContain(`/cache/data/_uploads/`);
    expect((await put(url, csv, headers)).status).toBe(200);
    expect((await call("get", "GET", DATA, { query })).statusCode).toBe(404);
    expect((await put(url, klinesCsv(2501).slice(0, csv.length), headers)).status).toBe(412);

    const committed = await commit(query, upload_id);
    expect(committed.statusCode).toBe(201);
    expect(bodyOf<SuccessEnvelope<{ meta: CacheMeta }>>(committed).data.meta).toMatchObject({ rows: 2500, csv_bytes: csv.length });
    expect((await call("get", "GET", DATA, { query: { ...query, format: "csv" } })).statusCode).toBe(303);
    expect((await commit(query, upload_id)).statusCode).toBe(404);
  });

  it("upload-url wants the CSV's size, at most MAX_BODY_MB", async () => {
    const query = { ...BTC_SPOT, symbol: "XLMUSDT" };
    const missing = await call("upload-url", "POST", "/api/v1/backtest/cache/upload-url", { query, headers: auth });
    expect(missing.statusCode).toBe(400);
    expect(bodyOf<ErrorEnvelope>(missing).error.issues).toEqual([{ field: "size_bytes", message: "is required" }]);
    expect((await uploadUrl(query, 129 * 2 ** 20)).statusCode).toBe(400);
    expect((await uploadUrl(query, 0)).statusCode).toBe(400);
  });

  it("commit refuses a bad upload and leaves nothing served", async () => {
    const query = { ...BTC_SPOT, symbol: "ADAUSDT" };
    const bad = "timestamp,open\n2021-10-22 00:00:00,1,2\n";
    const { url, headers, upload_id } = bodyOf<UploadUrl>(await uploadUrl(query, bad.length)).data;
    await put(url, bad, headers);
    const committed = await commit(query, upload_id);
    expect(committed.statusCode).toBe(400);
    expect(bodyOf<ErrorEnvelope>(committed).error.code).toBe("INVALID_BODY");
    expect(await store.head(metaKeyOf({ ...query, interval: "1m", market_type: "spot" }))).toBeNull();
  });

  it("commit answers 404 when nothing was uploaded, and 400 without an upload_id", async () => {
    const query = { ...BTC_SPOT, symbol: "DOTUSDT" };
    expect((await commit(query, "1795000000-0123456789abcdef")).statusCode).toBe(404);
    const res = await call("commit", "POST", "/api/v1/backtest/cache/commit", { query, headers: auth });
    expect(res.statusCode).toBe(400);
  });

  it("info tells what is cached; admin answers /healthz", async () => {
    const info = await call("info", "GET", "/api/v1/backtest/cache/info");
    expect(info.statusCode).toBe(200);
    expect(bodyOf<SuccessEnvelope<CacheInfo>>(info).data.cached_symbols).toContain("ETHUSDT");
    expect(JSON.parse((await call("admin", "GET", "/healthz")).body)).toEqual({ status: "ok" });
  });

  it("delete and clear need the token, then do their job", async () => {
    expect((await call("delete", "DELETE", DATA, { query: ETH_FUTURES })).statusCode).toBe(401);
    expect((await call("delete", "DELETE", DATA, { query: ETH_FUTURES, headers: auth })).statusCode).toBe(200);
    expect((await call("clear", "POST", "/api/v1/backtest/cache/clear")).statusCode).toBe(401);
    const cleared = await call("clear", "POST", "/api/v1/backtest/cache/clear", { headers: auth });
    expect(cleared.statusCode).toBe(200);
    expect(bodyOf<SuccessEnvelope<{ deleted_files: number }>>(cleared).data.deleted_files).toBeGreaterThan(0);
    expect(await store.list()).toEqual([]);
  });
});
