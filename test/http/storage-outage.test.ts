import { afterEach, describe, expect, inject, it } from "vitest";
import type { ErrorEnvelope } from "../../src/http/envelope.js";
import { createS3Store } from "../../src/storage/s3.js";
import { dataUrl, testApp } from "../support/app.js";
import { BTC_SPOT, klinesCsv } from "../support/fixtures.js";
import { jsonOf } from "../support/json.js";
import { s3TestStore, S3_TEST_CREDENTIALS } from "../support/s3.js";
import { startTcpProxy } from "../support/tcp-proxy.js";

const TIMEOUT_MS = 500;
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
    const { app, proxy } = await appBehindProxy();
    expect((await app.request(dataUrl(BTC_SPOT), put)).status).toBe(201);

    proxy.mode(mode);
    for (const [url, init] of [
      [dataUrl(BTC_SPOT), {}],
      [dataUrl({ ...BTC_SPOT, format: "csv" }), {}],
      [dataUrl(BTC_SPOT), put],
      ["/api/v1/backtest/cache/info", {}],
      ["/api/v1/backtest/cache/clear", { method: "POST" }],
    ] as const) {
      const started = Date.now();
      const res = await app.request(url, init);
      expect(res.status, url).toBe(503);
      expect((await jsonOf<ErrorEnvelope>(res)).error.code).toBe("STORAGE_UNAVAILABLE");
      // The SDK retries within one overall deadline; the answer comes soon after it, never hangs.
      expect(Date.now() - started).toBeLessThan(TIMEOUT_MS * 6);
    }

    proxy.mode("up");
    const res = await app.request(dataUrl({ ...BTC_SPOT, format: "csv" }));
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(klinesCsv(3));
  });
});
