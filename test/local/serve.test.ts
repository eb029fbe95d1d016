import { existsSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/app/config.js";
import type { ErrorEnvelope, SuccessEnvelope } from "../../src/http/envelope.js";
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

/** One request as a browser on a rebound name sends it: to the server's address, with the Host header it chooses. */
function rawRequest(url: string, options: { method?: string; path: string; headers: Record<string, string> }) {
  const { hostname, port } = new URL(url);
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request({ host: hostname, port, method: options.method ?? "GET", path: options.path, headers: options.headers }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("the local server's Host rule (DNS rebinding)", () => {
  const PYTHON_ENTRY = "0b0670744f42d25b998f5b2e646d6467.csv";

  it("refuses a request whose Host names another server, even from a page whose Origin is that same name", async () => {
    const dir = tempDir({ withPythonCache: true });
    const service = await startLocalService({ ...loadConfig(env({ CACHE_DIR: dir })), port: 0 });
    try {
      const { port } = new URL(service.url);
      const evil = `evil.example:${port}`;
      const rebound = await rawRequest(service.url, {
        method: "POST",
        path: "/api/v1/backtest/cache/clear",
        headers: { Host: evil, Origin: `http://${evil}`, "Sec-Fetch-Site": "same-origin" },
      });

      expect(rebound.status).toBe(403);
      expect((JSON.parse(rebound.body) as ErrorEnvelope).error.code).toBe("FORBIDDEN_HOST");
      expect(existsSync(join(dir, PYTHON_ENTRY))).toBe(true);
      const read = await rawRequest(service.url, { path: "/api/v1/backtest/cache/info", headers: { Host: evil } });
      expect(read.status).toBe(403);

      const own = await rawRequest(service.url, {
        method: "POST",
        path: "/api/v1/backtest/cache/clear",
        headers: { Host: `127.0.0.1:${port}`, Origin: `http://127.0.0.1:${port}` },
      });
      expect(own.status).toBe(200);
      expect(existsSync(join(dir, PYTHON_ENTRY))).toBe(false);
    } finally {
      await service.stop();
    }
  });

  it("answers the loopback names on its own port, and the names of ALLOWED_HOSTS; nothing else", async () => {
    const config = loadConfig(env({ CACHE_DIR: tempDir(), ALLOWED_HOSTS: "cache.lan, Other.Lan:8443" }));
    const service = await startLocalService({ ...config, port: 0 });
    try {
      const port = Number(new URL(service.url).port);
      const statusOf = async (host: string) => (await rawRequest(service.url, { path: "/healthz", headers: { Host: host } })).status;
      const allowed = [`localhost:${port}`, `LOCALHOST:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`, "cache.lan", `cache.lan:${port}`, "cache.lan:80", "other.lan:8443"];
      const refused = ["localhost:1", "localhost", "127.0.0.1", `evil.example:${port}`, `127.0.0.2:${port}`, `localhost.:${port}`, "other.lan", `other.lan:${port}`, `sub.cache.lan:${port}`];

      for (const host of allowed) expect(await statusOf(host), host).toBe(200);
      for (const host of refused) expect(await statusOf(host), host).toBe(403);
    } finally {
      await service.stop();
    }
  });
});
