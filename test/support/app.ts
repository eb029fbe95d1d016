import { fixedClock } from "../../src/clock.js";
import { createMemoryCounters, createMemoryKeyValueStore, createMemoryLeases } from "../../src/counters/memory.js";
import type { KeyValueStore, Leases } from "../../src/counters/types.js";
import { assembleDeps, type Drivers, type Settings } from "../../src/app/deps.js";
import { deadlineIn } from "../../src/deadline.js";
import type { AskFill } from "../../src/klines/asked-supply.js";
import { fillAsked } from "../../src/jobs/fill.js";
import type { FillRequest } from "../../src/klines/fill.js";
import { createApp } from "../../src/http/all-routes.js";
import type { AppDeps } from "../../src/http/env.js";
import { createLog } from "../../src/log.js";
import { createFsStore } from "../../src/storage/fs.js";
import type { ObjectStore } from "../../src/storage/types.js";
import { createBinanceArchive } from "../../src/upstream/archive.js";
import { createBinanceClient, type BinanceClientOptions } from "../../src/upstream/binance.js";
import { tempDir } from "./fixtures.js";
import { readOnlyStore } from "./recording-store.js";

export interface TestAppOptions extends Partial<Omit<AppDeps, "cache" | "log" | "symbols" | "clock" | "klines" | "access">> {
  /** The write token (CACHE_API_TOKEN); unset: writes are open, as on `npm start`, unless `writesWithoutToken`. */
  cacheApiToken?: string;
  /** The read token (CACHE_READ_TOKEN). */
  cacheReadToken?: string;
  /** "closed" is the deployed default without a write token. */
  writesWithoutToken?: "open" | "closed";
  /** Leases of the klines service; in this process's memory by default. */
  leases?: Leases;
  /** Where symbol lists and first candles are kept; in this process's memory by default. */
  kv?: KeyValueStore;
  /** Defaults to an fs store on a fresh temp folder. */
  store?: ObjectStore;
  withPythonCache?: boolean;
  now?: string;
  /** Binance base URL for both markets (a stand-in); defaults to a closed port, so upstream is down. */
  binanceUrl?: string;
  /** Base URL of Binance's public archive (the stand-in serves one too); unset: REST only. */
  archiveUrl?: string;
  symbolsTtlSeconds?: number;
  /** How the Binance client and the klines service wait (Retry-After, backoff, weight, passes); instant by default. */
  sleep?: (ms: number) => Promise<void>;
  /** Binance client settings other than its URLs, clock and sleep. */
  binanceOptions?: Omit<BinanceClientOptions, "spotUrl" | "futuresUrl" | "clock" | "sleep">;
  klinesRecheckSeconds?: number;
  /** CONVERSIONS_MAX; 2 by default, as deployed. */
  conversionsMax?: number;
  /** How long a writer waits for its entry's turn (10 s by default). */
  turnWaitMs?: number;
  /** How long a conversion waits for a slot (10 s by default). */
  conversionWaitMs?: number;
  /** Whether committed entries get their derived forms in the background (as `npm start`); true by default. */
  backgroundForms?: boolean;
  /**
   * "asked": the app reads the store through a read-only view and asks a fill (the same read-through, inline, on
   * the writable store) for the partitions its klines lack, as the klines function asks the fill function on
   * Lambda. "inline" (the default): the app fetches and writes them itself, as `npm start`.
   */
  klinesFill?: "inline" | "asked";
  /** With "asked": how the fill is asked, instead of in this process (a fill that cannot be reached, say). */
  askFill?: AskFill;
}

/** The real app on a real store, with a pinned clock, memory counters by default, and the log lines captured. */
export function testApp(options: TestAppOptions = {}) {
  const dir = tempDir({ withPythonCache: options.withPythonCache });
  const store = options.store ?? createFsStore({ baseDir: dir });
  const clock = fixedClock(options.now ?? "2026-11-25T12:00:00.000Z");
  const logs: Record<string, unknown>[] = [];
  const log = createLog({ level: "debug", write: (line) => logs.push(JSON.parse(line) as Record<string, unknown>) });
  const binanceUrl = options.binanceUrl ?? "http://127.0.0.1:9";
  const sleep = options.sleep ?? (async () => {});
  const binance = createBinanceClient({
    spotUrl: binanceUrl,
    futuresUrl: binanceUrl,
    timeoutMs: 2000,
    maxRetries: 1,
    ...options.binanceOptions,
    sleep,
    clock,
  });
  const counters = options.counters ?? createMemoryCounters();
  const kv = options.kv ?? createMemoryKeyValueStore({ clock });
  const leases = options.leases ?? createMemoryLeases({ clock });
  const drivers = {
    store,
    counters,
    kv,
    leases,
    binance,
    archive: options.archiveUrl ? createBinanceArchive({ baseUrl: options.archiveUrl, timeoutMs: 20_000 }) : undefined,
    clock,
    log,
    sleep,
  };
  const settings: Settings = {
    rule: { recentWindowDays: 1, recentTtlSeconds: 86_400 },
    symbolsCacheTtlSeconds: options.symbolsTtlSeconds ?? 600,
    maxBodyBytes: options.maxBodyBytes ?? 128 * 2 ** 20,
    presignTtlSeconds: options.presignTtlSeconds ?? 300,
    access: {
      writeToken: options.cacheApiToken,
      readToken: options.cacheReadToken,
      withoutWriteToken: options.writesWithoutToken ?? "open",
    },
    inlineMaxBytes: options.inlineMaxBytes,
    klinesDeadlineMs: options.klinesDeadlineMs ?? 25_000,
    klinesRecheckSeconds: options.klinesRecheckSeconds ?? 3600,
    conversionsMax: options.conversionsMax ?? 2,
    turnWaitMs: options.turnWaitMs,
    conversionWaitMs: options.conversionWaitMs,
    backgroundForms: options.backgroundForms,
  };
  const fill = options.klinesFill === "asked" ? askedFill(drivers, settings) : undefined;
  const deps = assembleDeps(fill ? { ...drivers, store: fill.readOnly.store, askFill: options.askFill ?? fill.askFill } : drivers, settings);
  const { cache, symbols, klines, deriver } = deps;
  const app = createApp(deps);
  return { app, store, dir, clock, logs, cache, counters, kv, symbols, binance, klines, leases, deriver, fill };
}

/**
 * The fill of a read-only app: the read-through run inline on the writable store, asked in process; an ask ends
 * when the asker's signal fires, while the fill goes on (as a Lambda function invoked goes on when its caller gives
 * up). `asked` lists the ranges asked.
 */
function askedFill(drivers: Drivers, settings: Settings) {
  const filler = assembleDeps(drivers, settings);
  const readOnly = readOnlyStore(drivers.store);
  const asked: FillRequest[] = [];
  const askFill: AskFill = (request, signal) => {
    asked.push(request);
    const filled = fillAsked({ klines: () => filler.klines, funding: () => filler.funding }, request, deadlineIn(drivers.clock, 60_000));
    if (!signal) return filled;
    return Promise.race([filled, new Promise<never>((_, fail) => signal.addEventListener("abort", () => fail(signal.reason as Error), { once: true }))]);
  };
  return { askFill, asked, readOnly, filler };
}

export const DATA = "/api/v1/backtest/cache/data";

/** The data path with a dataset's query string. */
export function dataUrl(params: Record<string, string>, path = DATA): string {
  return `${path}?${new URLSearchParams(params)}`;
}
