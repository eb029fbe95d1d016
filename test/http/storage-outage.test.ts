import { afterEach, describe, expect, inject, it } from "vitest";
import type { ErrorEnvelope } from "../../src/http/envelope.js";
import { createS3Store } from "../../src/storage/s3.js";
import { dataUrl, testApp } from "../support/app.js";
import { BTC_SPOT, klinesCsv } from "../support/fixtures.js";
import { jsonOf } from "../support/json.js";
import { s3TestStore, S3_TEST_CREDENTIALS } from "../support/s3.js";
import { startTcpProxy } from "../support/tcp-proxy.js";

/** Each store call's limit: some 20× what a call to moto takes on a busy machine, and what a black hole waits out. */
const TIMEOUT_MS = 1000;
let stopProxy: (() => Promise<void>) | undefined;
afterEach(async () => stopProxy?.());

/** The app on a real S3 bucket reached through a proxy that the test can cut. */
async function appBehindProxy() {
  const { bucket } = await s3TestStore();
  const moto = new URL(inject("s3Endpoint"));
  const proxy = await startTcpProxy({ host: moto.hostname, port: Number(moto.port) });
  stopProxy = proxy.close;
  const store = createS3Store({ bucket, endpoint: proxy.url, credentials: S3_TEST_CREDENTIALS, timeoutMs: TIMEOUT_MS });
  return { ...testApp({ store }), proxy };
}

const put = { method: "PUT", body: klinesCsv(3), headers: { "Content-Type": "text/csv" } };

describe("storage outage", () => {
  it.each(["down", "blackhole"] as const)("answers 503 STORAGE_UNAVAILABLE while storage is %s, and recovers", async (mode) => {
    const { app, proxy, logs } = await appBehindProxy();
    expect((await app.request(dataUrl(BTC_SPOT), put)).status).toBe(201);

    proxy.mode(mode);
    for (const [url, init] of [
      [dataUrl(BTC_SPOT), {}],
      [dataUrl({ ...BTC_SPOT, format: "csv" }), {}],
      [dataUrl(BTC_SPOT), put],
      ["/api/v1/backtest/cache/info", {}],
      ["/api/v1/backtest/cache/clear", { method: "POST" }],
    ] as const) {
      const logged = logs.length;
      const res = await app.request(url, init);
      expect(res.status, url).toBe(503);
      expect((await jsonOf<ErrorEnvelope>(res)).error.code).toBe("STORAGE_UNAVAILABLE");
      // A black hole never answers: only the store call's overall deadline (the SDK's retries within it) ends it, and
      // the log line says so. Without that deadline the request would hang past the test's timeout.
      const failed = logs.slice(logged).filter((line) => line.event === "request_failed");
      expect(failed, url).toHaveLength(1);
      if (mode === "blackhole") expect(failed[0]?.error, url).toMatch(new RegExp(`failed: timed out after ${TIMEOUT_MS} ms$`));
    }

    proxy.mode("up");
    const res = await app.request(dataUrl({ ...BTC_SPOT, format: "csv" }));
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(klinesCsv(3));
  });
});
