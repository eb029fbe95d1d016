import { mkdtempSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serve } from "@hono/node-server";
import { loadConfig } from "../src/config.js";
import { createDeps } from "../src/deps.js";
import { createApp } from "../src/http/all-routes.js";
import { silentLog } from "../src/log.js";
import { startBinanceStandIn } from "../test/support/binance-standin.js";
import type { BenchClient } from "./client.js";
import { medianRun } from "./stats.js";

export interface ReadThroughFigures {
  range: string;
  csvBytes: number;
  coldMs: number;
  coldUpstreamRequests: number;
  warmMs: number;
  warmUpstreamRequests: number;
  /** Upstream requests each warm repeat did not make. */
  savedPerRepeat: number;
}

/**
 * GET /api/v1/klines for one range of 1m candles: cold (every month fetched from the loopback Binance stand-in)
 * and then warm (served from the month partitions), counting the requests the stand-in served.
 */
export async function measureReadThrough(
  client: BenchClient,
  options: { startDate: string; endDate: string; warmRuns: number },
): Promise<ReadThroughFigures> {
  const binance = await startBinanceStandIn();
  const dir = mkdtempSync(join(tmpdir(), "candle-cache-bench-klines-"));
  const config = loadConfig({ CACHE_DIR: dir, BINANCE_SPOT_URL: binance.url, BINANCE_FUTURES_URL: binance.url });
  const deps = createDeps(config, { runtime: "local", log: silentLog });
  const server = await new Promise<ReturnType<typeof serve>>((ready) => {
    const started = serve({ fetch: createApp(deps).fetch, port: 0, hostname: "127.0.0.1" }, () => ready(started));
  });
  const upstream = () => Object.values(binance.requests).reduce((sum, count) => sum + count, 0);
  const query = new URLSearchParams({ symbol: "BTCUSDT", interval: "1m", start_date: options.startDate, end_date: options.endDate, format: "csv" });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/klines?${query}`;
  const get = async () => {
    const answer = await client.time({ url });
    if (answer.status !== 200) throw new Error(`klines answered ${answer.status}, not 200`);
    return answer;
  };
  try {
    const cold = await get();
    const coldUpstreamRequests = upstream();
    const warmMs = await medianRun(options.warmRuns, async () => (await get()).ms);
    const warmUpstreamRequests = (upstream() - coldUpstreamRequests) / (options.warmRuns + 1);
    return {
      range: `${options.startDate} .. ${options.endDate}`,
      csvBytes: cold.sizeBytes,
      coldMs: cold.ms,
      coldUpstreamRequests,
      warmMs,
      warmUpstreamRequests,
      savedPerRepeat: coldUpstreamRequests - warmUpstreamRequests,
    };
  } finally {
    if ("closeAllConnections" in server) server.closeAllConnections();
    await new Promise<void>((done) => server.close(() => done()));
    await binance.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
