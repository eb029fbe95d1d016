import type { APIGatewayProxyResult } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, inject, it, vi } from "vitest";
import type { ErrorEnvelope } from "../../src/http/envelope.js";
import type { ObjectStore } from "../../src/storage/types.js";
import { startBinanceStandIn, type BinanceStandIn } from "../support/binance-standin.js";
import { httpApiEvent, stubLambdaS3Env } from "../support/lambda.js";
import { startLambdaStandIn, type InvokedHandler, type LambdaStandIn } from "../support/lambda-standin.js";
import { s3TestStore, S3_TEST_CREDENTIALS } from "../support/s3.js";

/**
 * The klines function as deployed: it only reads the bucket, and invokes the fill function (through Lambda's
 * Invoke API, here a loopback stand-in that runs functions/fill.ts) for the months a range lacks.
 */
type Handler = (event: unknown, context?: unknown) => Promise<APIGatewayProxyResult>;
const TOKEN = "lambda-token";
// Long closed: the Lambda functions run on the system clock, and this range is years before any day CI runs.
const QUERY = { symbol: "BTCUSDT", interval: "1d", start_date: "2024-01-01", end_date: "2024-03-31", format: "csv" };

let store: ObjectStore;
let binance: BinanceStandIn;
let lambda: LambdaStandIn;
let klines: Handler;
let binanceApi: Handler;

beforeAll(async () => {
  const s3 = await s3TestStore({ prefix: "cache/data" });
  store = s3.store;
  binance = await startBinanceStandIn();
  stubLambdaS3Env(s3.bucket, inject("s3Endpoint"), S3_TEST_CREDENTIALS);
  vi.stubEnv("CACHE_API_TOKEN", TOKEN);
  vi.stubEnv("LOG_LEVEL", "silent");
  vi.stubEnv("BINANCE_SPOT_URL", binance.url);
  vi.stubEnv("BINANCE_FUTURES_URL", binance.url);
  const fill = ((await import("../../functions/fill.js")) as { handler: InvokedHandler }).handler;
  lambda = await startLambdaStandIn({ "candle-cache-test-fill": fill });
  vi.stubEnv("FILL_FUNCTION_NAME", "candle-cache-test-fill");
  vi.stubEnv("LAMBDA_ENDPOINT", lambda.url);
  klines = ((await import("../../functions/klines.js")) as { handler: Handler }).handler;
  binanceApi = ((await import("../../functions/binance.js")) as { handler: Handler }).handler;
});
afterAll(async () => {
  await lambda?.close();
  await binance?.close();
});

const ask = () => klines(httpApiEvent("GET", "/api/v1/klines", { query: QUERY, headers: { Authorization: `Bearer ${TOKEN}` } }));
const partitionObjects = async () => (await store.list("partitions/")).map((object) => object.key);

describe("the klines function, read-only, with the fill function", () => {
  it("answers 503 and writes nothing when the fill fails; then serves the range the fill stored, and a repeat invokes nothing", async () => {
    lambda.failing(true);
    const failed = await ask();

    expect(failed.statusCode).toBe(503);
    expect(Number(failed.headers?.["retry-after"] ?? failed.headers?.["Retry-After"])).toBeGreaterThan(0);
    expect((JSON.parse(failed.body) as ErrorEnvelope).error.code).toBe("UPSTREAM_UNAVAILABLE");
    expect(failed.body).not.toContain("crashed");
    expect(lambda.invocations).toHaveLength(1);
    // Nothing reached Binance and nothing was written: the klines function never fetches or writes itself.
    expect(binance.requests["/api/v3/klines"] ?? 0).toBe(0);
    expect(await partitionObjects()).toEqual([]);

    lambda.failing(false);
    const filled = await ask();

    expect(filled.statusCode).toBe(200);
    const rows = filled.body.trimEnd().split("\n").slice(1);
    expect(rows).toHaveLength(31 + 29 + 31);
    expect(rows[0]?.startsWith("2024-01-01 00:00:00,")).toBe(true);
    expect(rows.at(-1)?.startsWith("2024-03-31 00:00:00,")).toBe(true);
    expect(lambda.invocations).toHaveLength(2);
    expect(lambda.invocations[1]?.payload).toEqual({ symbol: "BTCUSDT", interval: "1d", start_date: "2024-01-01", end_date: "2024-03-31", market_type: "spot" });
    expect((await partitionObjects()).filter((key) => key.endsWith("_meta.json"))).toHaveLength(3);

    const upstream = binance.requests["/api/v3/klines"];
    const again = await ask();

    expect(again.statusCode).toBe(200);
    expect(again.body).toBe(filled.body);
    expect(lambda.invocations).toHaveLength(2);
    expect(binance.requests["/api/v3/klines"]).toBe(upstream);
  });
});

describe("the binance function, read-only, with the fill function", () => {
  it("answers Binance's bytes for a closed range the fill stored; a repeat invokes nothing and asks Binance nothing", async () => {
    const query = { symbol: "ETHUSDT", interval: "1d", startTime: String(Date.parse("2024-04-01T00:00:00Z")), endTime: String(Date.parse("2024-06-30T00:00:00Z")) };
    const direct = await (await fetch(`${binance.url}/fapi/v1/klines?${new URLSearchParams(query)}`)).text();
    const ask = () => binanceApi(httpApiEvent("GET", "/fapi/v1/klines", { query, headers: { Authorization: `Bearer ${TOKEN}` } }));
    const invoked = lambda.invocations.length;
    const before = binance.requests["/fapi/v1/klines"] ?? 0;
    const metas = async () => (await partitionObjects()).filter((key) => key.endsWith("_meta.json")).length;
    const metasBefore = await metas();

    const first = await ask();

    expect(first.statusCode, first.body).toBe(200);
    expect(JSON.parse(first.body)).toHaveLength(30 + 31 + 30);
    expect(first.body).toBe(direct);
    expect(lambda.invocations).toHaveLength(invoked + 1);
    expect(lambda.invocations.at(-1)?.payload).toEqual({ symbol: "ETHUSDT", interval: "1d", start_date: "2024-04-01", end_date: "2024-06-30", market_type: "futures" });
    expect(await metas()).toBe(metasBefore + 3);

    const upstream = binance.requests["/fapi/v1/klines"];
    expect(upstream).toBeGreaterThan(before);
    const again = await ask();

    expect(again.statusCode).toBe(200);
    expect(again.body).toBe(direct);
    expect(lambda.invocations).toHaveLength(invoked + 1);
    expect(binance.requests["/fapi/v1/klines"]).toBe(upstream);
  });
});

describe("funding rates on Lambda: the klines and binance functions read, the fill function writes", () => {
  it("serves a funding range the fill stored, natively and in Binance's bytes; repeats invoke nothing and ask Binance nothing", async () => {
    const range = { symbol: "BTCUSDT", start_date: "2024-01-01", end_date: "2024-02-29", format: "csv" };
    const native = () => klines(httpApiEvent("GET", "/api/v1/funding", { query: range, headers: { Authorization: `Bearer ${TOKEN}` } }));
    const invoked = lambda.invocations.length;
    const fundingObjects = async () => (await store.list("funding/")).filter((object) => object.key.endsWith("_meta.json")).length;

    const first = await native();

    expect(first.statusCode, first.body).toBe(200);
    const rows = first.body.trimEnd().split("\n").slice(1);
    expect(rows).toHaveLength((31 + 29) * 3);
    expect(rows[0]).toMatch(/^2024-01-01 00:00:00\.000,BTCUSDT,/);
    expect(lambda.invocations).toHaveLength(invoked + 1);
    expect(lambda.invocations.at(-1)?.payload).toEqual({ series: "funding", symbol: "BTCUSDT", start_date: "2024-01-01", end_date: "2024-02-29" });
    expect(await fundingObjects()).toBe(2);

    const upstream = binance.requests["/fapi/v1/fundingRate"];
    expect(upstream).toBeGreaterThan(0);
    const again = await native();
    expect(again.body).toBe(first.body);

    const query = { symbol: "BTCUSDT", startTime: String(Date.parse("2024-01-05T00:00:00Z")), endTime: String(Date.parse("2024-02-10T00:00:00Z")) };
    const direct = await (await fetch(`${binance.url}/fapi/v1/fundingRate?${new URLSearchParams(query)}`)).text();
    const compatible = await binanceApi(httpApiEvent("GET", "/fapi/v1/fundingRate", { query, headers: { Authorization: `Bearer ${TOKEN}` } }));
    expect(compatible.statusCode, compatible.body).toBe(200);
    expect(compatible.body).toBe(direct);
    expect(lambda.invocations).toHaveLength(invoked + 1);
    expect(binance.requests["/fapi/v1/fundingRate"]).toBe((upstream ?? 0) + 1);
  });
});
