import { mkdtempSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serve } from "@hono/node-server";
import { loadConfig } from "../src/app/config.js";
import { createDeps } from "../src/app/deps.js";
import { csvKeyOf } from "../src/cache/entries/objects.js";
import { readChunks } from "../src/cache/entries/reads.js";
import { createApp } from "../src/http/all-routes.js";
import { entryOfMonth, monthsOf } from "../src/funding/month.js";
import { entryOfPartition } from "../src/klines/served.js";
import { partitionsOf } from "../src/klines/plan.js";
import { silentLog } from "../src/log.js";
import { createFsStore } from "../src/storage/fs.js";
import { startBinanceStandIn } from "../test/support/binance-standin.js";
import { medianGet, type BenchClient } from "./client.js";
import { medianMs } from "./stats.js";

export interface BinanceApiFigures {
  /** What was asked: a ccxt-sized page of 1m candles from the middle of a month the cache holds. */
  query: string;
  rows: number;
  bytes: number;
  /** GET /api/v3/klines through the service, warm (no upstream request), to its last byte. */
  warmMs: number;
  /** Upstream requests each warm answer made. */
  warmUpstreamRequests: number;
  /** The same candles from the Binance stand-in directly (it makes them up as it answers: not a floor of ours). */
  standInMs: number;
  /** Floor: the month partition's CSV read from the store as the service reads it (its chunks) — what each answer reads today. */
  monthReadMs: number;
  monthBytes: number;
  /** A warm `GET /fapi/v1/fundingRate` of 1000 records (333 days at 8 h: twelve month entries), to its last byte. */
  fundingPageMs: number;
  fundingPageBytes: number;
  /** A warm `GET /api/v1/funding` of the year 2024 as JSON. */
  fundingYearMs: number;
  /** Floor: the year's twelve funding month CSVs read from the store, as the service reads them. */
  fundingMonthsReadMs: number;
  fundingUpstreamRequests: number;
}

const MONTH = { start: "2024-03-01", end: "2024-03-31" };

/**
 * The Binance-shaped hit path (what ccxt and freqtrade page with): a warm `GET /api/v3/klines` of 1000 1m candles,
 * beside the store read of the month partition it is cut from.
 */
export async function measureBinanceApi(client: BenchClient, runs: number): Promise<BinanceApiFigures> {
  const binance = await startBinanceStandIn();
  const dir = mkdtempSync(join(tmpdir(), "candle-cache-bench-binance-api-"));
  const config = loadConfig({ CACHE_DIR: dir, BINANCE_SPOT_URL: binance.url, BINANCE_FUTURES_URL: binance.url, BINANCE_ARCHIVE_URL: "" });
  const deps = createDeps(config, { runtime: "local", log: silentLog });
  const server = await new Promise<ReturnType<typeof serve>>((ready) => {
    const started = serve({ fetch: createApp(deps).fetch, port: 0, hostname: "127.0.0.1" }, () => ready(started));
  });
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const month = new URLSearchParams({ symbol: "BTCUSDT", interval: "1m", start_date: MONTH.start, end_date: MONTH.end, format: "csv" });
    const filled = await fetch(`${base}/api/v1/klines?${month}`);
    if (filled.status !== 200) throw new Error(`filling the month answered ${filled.status}`);
    await filled.arrayBuffer();

    const page = new URLSearchParams({ symbol: "BTCUSDT", interval: "1m", startTime: String(Date.parse("2024-03-15T07:00:00Z")), limit: "1000" });
    const before = Object.values(binance.requests).reduce((sum, count) => sum + count, 0);
    const warm = await medianGet(client, `${base}/api/v3/klines?${page}`, runs);
    const upstream = Object.values(binance.requests).reduce((sum, count) => sum + count, 0) - before;
    const direct = await medianGet(client, `${binance.url}/api/v3/klines?${page}`, runs);

    const store = createFsStore({ baseDir: dir });
    const [partition] = partitionsOf({ symbol: "BTCUSDT", interval: "1m", start_date: MONTH.start, end_date: MONTH.end, market_type: "spot" }, Date.now());
    const key = csvKeyOf(entryOfPartition(partition as NonNullable<typeof partition>));
    let monthBytes = 0;
    const monthReadMs = await medianMs(runs, async () => {
      const object = await store.getStream(key);
      if (!object) throw new Error("the month partition is not in the store");
      monthBytes = ((await readChunks(object)) ?? []).reduce((sum, chunk) => sum + chunk.byteLength, 0);
    });
    const year = new URLSearchParams({ symbol: "BTCUSDT", start_date: "2024-01-01", end_date: "2024-12-31" });
    const fundingFilled = await fetch(`${base}/api/v1/funding?${year}`);
    if (fundingFilled.status !== 200) throw new Error(`filling the funding year answered ${fundingFilled.status}`);
    await fundingFilled.arrayBuffer();
    const fundingBefore = binance.requests["/fapi/v1/fundingRate"] ?? 0;
    const fundingPage = new URLSearchParams({ symbol: "BTCUSDT", startTime: String(Date.parse("2024-01-01T00:00:00Z")), limit: "1000" });
    const fundingWarm = await medianGet(client, `${base}/fapi/v1/fundingRate?${fundingPage}`, runs);
    const fundingYear = await medianGet(client, `${base}/api/v1/funding?${year}`, runs);
    const fundingUpstream = (binance.requests["/fapi/v1/fundingRate"] ?? 0) - fundingBefore;
    const fundingKeys = monthsOf("BTCUSDT", { startMs: Date.parse("2024-01-01T00:00:00Z"), endMs: Date.parse("2025-01-01T00:00:00Z") }, Date.now()).map((one) =>
      csvKeyOf(entryOfMonth(one)),
    );
    const fundingMonthsReadMs = await medianMs(runs, async () => {
      await Promise.all(
        fundingKeys.map(async (one) => {
          const object = await store.getStream(one);
          if (!object) throw new Error("a funding month is not in the store");
          await readChunks(object);
        }),
      );
    });
    return {
      fundingPageMs: fundingWarm.ms,
      fundingPageBytes: fundingWarm.bytes,
      fundingYearMs: fundingYear.ms,
      fundingMonthsReadMs,
      fundingUpstreamRequests: fundingUpstream,
      query: `BTCUSDT 1m, startTime 2024-03-15 07:00, limit 1000`,
      rows: 1000,
      bytes: warm.bytes,
      warmMs: warm.ms,
      warmUpstreamRequests: upstream / (runs + 1),
      standInMs: direct.ms,
      monthReadMs,
      monthBytes,
    };
  } finally {
    if ("closeAllConnections" in server) server.closeAllConnections();
    await new Promise<void>((done) => server.close(() => done()));
    await binance.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The figures as the rows of a table, its heading first. */
export function binanceApiRows(figures: BinanceApiFigures): string[][] {
  const ms = (value: number) => value.toFixed(1);
  const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
  return [
    [`GET /api/v3/klines, ${figures.query} (fs)`, "time (ms)", "÷ month read", "note"],
    ["warm, through the service", ms(figures.warmMs), (figures.warmMs / figures.monthReadMs).toFixed(2), `${mb(figures.bytes)} MB, ${figures.warmUpstreamRequests} upstream requests`],
    ["the Binance stand-in directly", ms(figures.standInMs), (figures.standInMs / figures.monthReadMs).toFixed(2), "makes its candles as it answers"],
    ["floor: the month partition's CSV read from the store", ms(figures.monthReadMs), "1.00", `${mb(figures.monthBytes)} MB`],
    ["GET /fapi/v1/fundingRate, BTCUSDT from 2024-01-01, limit 1000 (12 months), warm", ms(figures.fundingPageMs), (figures.fundingPageMs / figures.fundingMonthsReadMs).toFixed(2) + " (÷ funding months read)", `${(figures.fundingPageBytes / 1024).toFixed(0)} KB, ${figures.fundingUpstreamRequests} upstream requests`],
    ["GET /api/v1/funding, BTCUSDT 2024 as JSON, warm", ms(figures.fundingYearMs), (figures.fundingYearMs / figures.fundingMonthsReadMs).toFixed(2) + " (÷ funding months read)", "1,098 records"],
    ["floor: the twelve funding month CSVs read from the store", ms(figures.fundingMonthsReadMs), "1.00", ""],
  ];
}
