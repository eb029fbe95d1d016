import { mkdtempSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serve } from "@hono/node-server";
import { loadConfig } from "../src/app/config.js";
import { createDeps } from "../src/app/deps.js";
import { createApp } from "../src/http/all-routes.js";
import { silentLog } from "../src/log.js";
import { startBinanceStandIn } from "../test/support/binance-standin.js";
import { medianGet, type BenchClient } from "./client.js";
import { medianRun } from "./stats.js";

export interface ReadThroughFigures {
  range: string;
  /** Where cold months came from: REST pages only, or the public archive's files (REST for the rest). */
  source: "rest" | "archive";
  /** The round trip added to every upstream answer. */
  latencyMs: number;
  csvBytes: number;
  coldMs: number;
  coldUpstreamRequests: number;
  warmMs: number;
  warmUpstreamRequests: number;
  /** Upstream requests each warm repeat did not make. */
  savedPerRepeat: number;
  /** With `columnar`: the warm range as Parquet, assembled from its months' kept forms, beside one entry's kept form. */
  parquet?: { warmMs: number; keptReadMs: number; bytes: number; keptBytes: number };
}

/**
 * GET /api/v1/klines for one range of 1m candles: cold (every month fetched from the loopback Binance stand-in, by
 * REST only or from its archive) and then warm (served from the month partitions), counting the requests the
 * stand-in served. The archive's files are made before the timing starts: the real one serves files it holds.
 */
export async function measureReadThrough(
  client: BenchClient,
  options: {
    startDate: string;
    endDate: string;
    warmRuns: number;
    source: "rest" | "archive";
    latencyMs: number;
    interval?: string;
    columnar?: boolean;
  },
): Promise<ReadThroughFigures> {
  const binance = await startBinanceStandIn({ latencyMs: options.latencyMs });
  const dir = mkdtempSync(join(tmpdir(), "candle-cache-bench-klines-"));
  const config = loadConfig({
    CACHE_DIR: dir,
    BINANCE_SPOT_URL: binance.url,
    BINANCE_FUTURES_URL: binance.url,
    BINANCE_ARCHIVE_URL: options.source === "archive" ? binance.url : "",
    // A cold year is one request here; the deadline a Lambda's API Gateway imposes is not what is measured.
    KLINES_DEADLINE_MS: "600000",
  });
  if (options.source === "archive") await makeArchiveFiles(binance.url, options.startDate, options.endDate);
  binance.reset();
  const deps = createDeps(config, { runtime: "local", log: silentLog });
  const server = await new Promise<ReturnType<typeof serve>>((ready) => {
    const started = serve({ fetch: createApp(deps).fetch, port: 0, hostname: "127.0.0.1" }, () => ready(started));
  });
  const upstream = () => Object.values(binance.requests).reduce((sum, count) => sum + count, 0);
  const interval = options.interval ?? "1m";
  const query = new URLSearchParams({ symbol: "BTCUSDT", interval, start_date: options.startDate, end_date: options.endDate, format: "csv" });
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
    const parquet = options.columnar ? await measureParquet(client, deps, url, options.warmRuns) : undefined;
    return {
      parquet,
      range: `${options.startDate} .. ${options.endDate}, ${interval}`,
      source: options.source,
      latencyMs: options.latencyMs,
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

/**
 * The warm range as Parquet once its months' forms are kept (the writer's job made them after the cold read), and
 * its floor: the same candles stored as one entry, whose kept Parquet form a GET of the data route streams from the
 * store as it is.
 */
async function measureParquet(
  client: BenchClient,
  deps: ReturnType<typeof createDeps>,
  klinesUrl: string,
  runs: number,
): Promise<NonNullable<ReadThroughFigures["parquet"]>> {
  const csv = await (await fetch(klinesUrl)).text();
  const [symbol, interval, start_date, end_date] = [...new URL(klinesUrl).searchParams.values()];
  const entry = `${new URL(klinesUrl).origin}/api/v1/backtest/cache/data?${new URLSearchParams({ symbol, interval, start_date, end_date, market_type: "spot" } as Record<string, string>)}`;
  const put = await fetch(entry, { method: "PUT", body: csv, headers: { "Content-Type": "text/csv" } });
  if (put.status !== 201) throw new Error(`PUT of the range as an entry answered ${put.status}`);
  await deps.deriver.idle();
  const range = await medianGet(client, klinesUrl.replace("format=csv", "format=parquet"), runs);
  const kept = await medianGet(client, `${entry}&format=parquet`, runs);
  return { warmMs: range.ms, keptReadMs: kept.ms, bytes: range.bytes, keptBytes: kept.bytes };
}

/** Asks the stand-in's archive for each month's zip once, so that it holds them as files before the timing. */
async function makeArchiveFiles(baseUrl: string, startDate: string, endDate: string): Promise<void> {
  const end = Date.parse(endDate);
  for (let month = new Date(Date.parse(startDate)); month.getTime() <= end; month.setUTCMonth(month.getUTCMonth() + 1)) {
    const stem = `BTCUSDT-1m-${month.toISOString().slice(0, 7)}`;
    const answer = await fetch(`${baseUrl}/data/spot/monthly/klines/BTCUSDT/1m/${stem}.zip`);
    await answer.arrayBuffer();
  }
}
