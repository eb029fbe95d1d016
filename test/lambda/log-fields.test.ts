import type { APIGatewayProxyResult } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, inject, it, vi } from "vitest";
import { httpApiEvent, stubLambdaS3Env } from "../support/lambda.js";
import { s3TestStore, S3_TEST_CREDENTIALS } from "../support/s3.js";

type Handler = (event: unknown, context: unknown) => Promise<APIGatewayProxyResult>;

describe("Lambda log lines", () => {
  const lines: Record<string, unknown>[] = [];
  let handler: Handler;

  beforeAll(async () => {
    const s3 = await s3TestStore({ prefix: "cache/data" });
    stubLambdaS3Env(s3.bucket, inject("s3Endpoint"), S3_TEST_CREDENTIALS);
    vi.stubEnv("CACHE_API_TOKEN", "t");
    vi.stubEnv("LOG_LEVEL", "info");
    for (const stream of [process.stdout, process.stderr]) {
      vi.spyOn(stream, "write").mockImplementation((chunk: string | Uint8Array) => {
        for (const line of String(chunk).split("\n").filter((text) => text.startsWith("{"))) lines.push(JSON.parse(line) as Record<string, unknown>);
        return true;
      });
    }
    vi.resetModules();
    handler = ((await import("../../functions/info.js")) as { handler: Handler }).handler;
  });
  afterAll(() => {
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
  });

  it("carry Lambda's request id, and say whether the container was cold", async () => {
    const context = (awsRequestId: string) => ({ awsRequestId, getRemainingTimeInMillis: () => 10_000 });
    expect((await handler(httpApiEvent("GET", "/api/v1/backtest/cache/info"), context("req-cold"))).statusCode).toBe(200);
    expect((await handler(httpApiEvent("GET", "/api/v1/backtest/cache/nothing-here"), context("req-warm"))).statusCode).toBe(404);

    const requests = lines.filter((line) => line.event === "request");
    expect(requests.map((line) => [line.request_id, line.cold_start, line.status])).toEqual([
      ["req-cold", true, 200],
      ["req-warm", false, 404],
    ]);
  });
});
