import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import type { SuccessEnvelope } from "../../src/http/envelope.js";
import type { Metrics } from "../../src/http/metrics-format.js";
import { startLocalService } from "../../src/local/serve.js";
import { startBinanceStandIn, type BinanceStandIn } from "../support/binance-standin.js";
import { tempDir } from "../support/fixtures.js";
import { jsonOf } from "../support/json.js";

let binance: BinanceStandIn;
beforeAll(async () => {
  binance = await startBinanceStandIn();
});
afterAll(() => binance.close());

const env = (extra: Record<string, string>) => ({
  PORT: "1",
  BINANCE_SPOT_URL: binance.url,
  BINANCE_FUTURES_URL: binance.url,
  LOG_LEVEL: "silent",
  ...extra,
});

describe("the local service's start-up routines", () => {
  it("warms both symbol lists and sweeps the cache at start-up", async () => {
    const dir = tempDir({ withPythonCache: true });
    const config = { ...loadConfig(env({ CACHE_DIR: dir })), port: 0 };
    const service = await startLocalService(config);
    try {
      await service.idle();
      expect(binance.requests["/api/v3/exchangeInfo"]).toBe(1);
      expect(binance.requests["/fapi/v1/exchangeInfo"]).toBe(1);
      const symbols = await fetch(`${service.url}/api/v1/symbols/spot`);
      expect(symbols.headers.get("X-Cache")).toBe("HIT");
      const metrics = await jsonOf<SuccessEnvelope<Metrics>>(await fetch(`${service.url}/api/v1/metrics`));
      expect(metrics.data.counters["metrics:warmup_spot_symbols_cache:success"]).toBe(1);
      expect(existsSync(join(dir, "0b0670744f42d25b998f5b2e646d6467.csv"))).toBe(true);
    } finally {
      await service.stop();
    }
  });

  it("keeps serving when Binance is unreachable, counting the warmup errors", async () => {
    const config = { ...loadConfig(env({ CACHE_DIR: tempDir(), BINANCE_SPOT_URL: "http://127.0.0.1:9", BINANCE_FUTURES_URL: "http://127.0.0.1:9" })), port: 0 };
    const service = await startLocalService(config);
    try {
      await service.idle();
      expect((await fetch(`${service.url}/healthz`)).status).toBe(200);
      const metrics = await jsonOf<SuccessEnvelope<Metrics>>(await fetch(`${service.url}/api/v1/metrics`));
      expect(metrics.data.counters["metrics:warmup_spot_symbols_cache:error"]).toBe(1);
      expect(metrics.data.counters["metrics:warmup_futures_symbols_cache:error"]).toBe(1);
    } finally {
      await service.stop();
    }
  });

  it("clears the whole cache at start-up with CLEAR_ON_START=true, and only then", async () => {
    const dir = tempDir({ withPythonCache: true });
    const service = await startLocalService({ ...loadConfig(env({ CACHE_DIR: dir, CLEAR_ON_START: "true" })), port: 0 });
    await service.stop();
    expect(existsSync(join(dir, "0b0670744f42d25b998f5b2e646d6467.csv"))).toBe(false);
  });
});
