import { createBinanceFunding } from "../binance-api/funding.js";
import { createBinanceKlines } from "../binance-api/klines.js";
import { createFundingFetcher } from "../funding/fetcher.js";
import { FUNDING_SETTLE_MS } from "../funding/month.js";
import { createFundingService } from "../funding/service.js";
import { createFundingReads } from "../funding/store.js";
import { createAskedFundingSupply, createInlineFundingSupply } from "../funding/supply.js";
import { createDataCache, type DataCache, type DataCacheOptions } from "../cache/data-cache.js";
import type { ValidityRule } from "../cache/retention/validity.js";
import { systemClock, type Clock } from "../clock.js";
import type { Config } from "./config.js";
import { createMemoryCounters, createMemoryKeyValueStore, createMemoryLeases } from "../counters/memory.js";
import type { Counters, KeyValueStore, Leases } from "../counters/types.js";
import { createUpstashCounters, createUpstashKeyValueStore, createUpstashLeases } from "../counters/upstash.js";
import type { AppDeps } from "../http/env.js";
import type { Access } from "../http/access.js";
import { createListing } from "../klines/listing.js";
import { createCutoff } from "../klines/cutoff.js";
import { createPartitionFetcher } from "../klines/fetcher.js";
import { createPartitionLeases } from "../klines/leases.js";
import { createPartitionReads } from "../klines/served.js";
import { createKlinesService } from "../klines/service.js";
import { createAskedSupply, type AskFill } from "../klines/asked-supply.js";
import { createInlineSupply } from "../klines/supply.js";
import { createConversions } from "../formats/conversions.js";
import { createDeriver, type Deriver } from "../jobs/derive.js";
import { createLog, type Log } from "../log.js";
import { createFsStore } from "../storage/fs.js";
import { createS3Store } from "../storage/s3.js";
import type { ObjectStore } from "../storage/types.js";
import { createSymbolService } from "../symbols/service.js";
import { createBinanceClient, type BinanceClient } from "../upstream/binance.js";
import { createBinanceArchive, type BinanceArchive } from "../upstream/archive.js";
import { createSharedLimits } from "../upstream/limits.js";

/** Where the service runs: Lambda answers at most 6 MB, so it redirects large hits; the local server streams. */
export type Runtime = "lambda" | "local";

/** The app's dependencies, and the drivers and jobs under them that the local server and tests reach for. */
export type Deps = AppDeps & { store: ObjectStore; kv: KeyValueStore; deriver: Deriver };

/** What deps.ts chooses from the environment; a test passes its own. */
export interface Drivers {
  store: ObjectStore;
  counters: Counters;
  kv: KeyValueStore;
  /** One holder at a time of a partition's fetch, a symbol list's refresh: across containers with Upstash. */
  leases: Leases;
  binance: BinanceClient;
  /** Binance's public archive; none: REST only. */
  archive?: BinanceArchive;
  clock: Clock;
  log: Log;
  /** How the services wait (between passes); the timer by default, instant in tests. */
  sleep?: (ms: number) => Promise<void>;
  /**
   * Where the read-through's partitions come from when this process only reads: the fill (on Lambda, the fill
   * function). None: the read-through fetches and writes them itself.
   */
  askFill?: AskFill;
}

/** The settings the services and the HTTP layer take, beside the drivers. */
export type Settings = Pick<
  AppDeps,
  "access" | "maxBodyBytes" | "inlineMaxBytes" | "presignTtlSeconds" | "klinesDeadlineMs"
> & {
  rule: ValidityRule;
  symbolsCacheTtlSeconds: number;
  klinesRecheckSeconds: number;
  /** Conversions to a columnar form at once in this process (CONVERSIONS_MAX). */
  conversionsMax: number;
  /** How long a writer waits for its entry's turn before 409 ENTRY_BUSY; 10 s by default. */
  turnWaitMs?: number;
  /** How long a conversion waits for a slot before 503 SERVICE_BUSY; 10 s by default. */
  conversionWaitMs?: number;
  /** Whether each committed entry's derived forms are made in the background right after; true by default. */
  backgroundForms?: boolean;
};

/** The only place that chooses drivers: Config -> the store, counters, symbol lists and everything the app needs. */
export function createDeps(config: Config, options: { runtime: Runtime; clock?: Clock; log?: Log }): Deps {
  const log = options.log ?? createLog({ level: config.logLevel });
  const clock = options.clock ?? systemClock;
  return assembleDeps(
    {
      store: createStore(config),
      counters: createCountersOf(config, log),
      kv: createKeyValueStoreOf(config, clock),
      leases: createLeasesOf(config, clock),
      binance: createBinanceOf(config, { clock, log }),
      archive: createArchiveOf(config),
      clock,
      log,
    },
    settingsOf(config, options.runtime),
  );
}

/** Builds the services on top of the drivers, the same way for the service, the tests and the benchmark. */
export function assembleDeps(drivers: Drivers, settings: Settings): Deps {
  const { store, counters, kv, clock, log } = drivers;
  // Each committed entry's derived forms are made in the background, right after its write.
  const cache = cacheOf(drivers, settings, settings.backgroundForms === false ? undefined : (id) => deriver.schedule(id));
  const conversions = conversionsOf(drivers, settings);
  const deriver = createDeriver({ cache, store, conversions, log });
  const { access, maxBodyBytes, inlineMaxBytes, presignTtlSeconds, klinesDeadlineMs } = settings;
  const klines = klinesOf(drivers, cache, settings);
  const funding = fundingOf(drivers, cache, settings);
  return {
    store,
    cache,
    counters,
    kv,
    symbols: symbolsOf(drivers, settings),
    klines,
    binanceKlines: binanceKlinesOf(drivers, klines),
    funding,
    binanceFunding: binanceFundingOf(drivers, funding),
    clock,
    log,
    conversions,
    deriver,
    ...{ access, maxBodyBytes, inlineMaxBytes, presignTtlSeconds, klinesDeadlineMs },
  };
}

/**
 * Each service from what it needs, the one home of their wiring: assembleDeps builds them all at once; a Lambda
 * function builds only those its routes use (src/app/lambda.ts), so its bundle holds only their code.
 */
export const cacheOf = (
  drivers: Pick<Drivers, "store" | "clock" | "leases" | "log">,
  settings: Pick<Settings, "rule" | "turnWaitMs">,
  onCommitted?: DataCacheOptions["onCommitted"],
) => createDataCache({ ...drivers, rule: settings.rule, turnWaitMs: settings.turnWaitMs, onCommitted });

export const conversionsOf = (drivers: Pick<Drivers, "clock">, settings: Pick<Settings, "conversionsMax" | "conversionWaitMs">) =>
  createConversions({ max: settings.conversionsMax, waitMs: settings.conversionWaitMs, clock: drivers.clock });

export const symbolsOf = (
  drivers: Pick<Drivers, "binance" | "kv" | "counters" | "leases" | "clock" | "log" | "sleep">,
  settings: Pick<Settings, "symbolsCacheTtlSeconds">,
) => createSymbolService({ ...drivers, ttlSeconds: settings.symbolsCacheTtlSeconds });

/** The pieces of the read-through both its halves share: the partitions' reader, leases and closed line. */
const klinesPartsOf = (drivers: Pick<Drivers, "leases" | "clock" | "log">, cache: DataCache) => ({
  reads: createPartitionReads({ cache }),
  leases: createPartitionLeases({ leases: drivers.leases, log: drivers.log }),
  cutoff: createCutoff({ clock: drivers.clock }),
});

/** The fetching half: partitions fetched from Binance and written to the cache. */
const fetcherOf = (
  drivers: Pick<Drivers, "binance" | "archive" | "kv" | "clock" | "log" | "sleep">,
  cache: DataCache,
  parts: ReturnType<typeof klinesPartsOf>,
) =>
  createPartitionFetcher({
    cache,
    binance: drivers.binance,
    archive: drivers.archive,
    listing: createListing({ kv: drivers.kv, log: drivers.log }),
    leases: parts.leases,
    cutoff: parts.cutoff,
    clock: drivers.clock,
    log: drivers.log,
    sleep: drivers.sleep,
  });

/** The read-through as one process runs it (the local server, tests, the fill function): what the cache lacks is fetched inline. */
export const klinesOf = (
  drivers: Pick<Drivers, "binance" | "archive" | "kv" | "leases" | "clock" | "log" | "sleep" | "askFill">,
  cache: DataCache,
  settings: Pick<Settings, "klinesRecheckSeconds">,
) => {
  if (drivers.askFill) return askingKlinesOf({ ...drivers, askFill: drivers.askFill }, cache, settings);
  const parts = klinesPartsOf(drivers, cache);
  const supply = createInlineSupply({ ...parts, fetcher: fetcherOf(drivers, cache, parts), clock: drivers.clock });
  return createKlinesService({ reads: parts.reads, supply, clock: drivers.clock, recheckSeconds: settings.klinesRecheckSeconds });
};

/**
 * The read-through of a process that only reads (the klines function on Lambda): what the cache lacks is asked of
 * the fill. It holds none of the fetching code, so its bundle does not either.
 */
export const askingKlinesOf = (
  drivers: Pick<Drivers, "leases" | "clock" | "log" | "sleep"> & Required<Pick<Drivers, "askFill">>,
  cache: DataCache,
  settings: Pick<Settings, "klinesRecheckSeconds">,
) => {
  const parts = klinesPartsOf(drivers, cache);
  const { clock, log, sleep, askFill } = drivers;
  const supply = createAskedSupply({ ...parts, ask: askFill, clock, log, sleep });
  return createKlinesService({ reads: parts.reads, supply, clock, recheckSeconds: settings.klinesRecheckSeconds });
};

/** Binance's klines endpoint over the read-through; the candle still forming is asked of Binance itself. */
export const binanceKlinesOf = (drivers: Pick<Drivers, "binance" | "clock" | "log">, klines: ReturnType<typeof klinesOf>) =>
  createBinanceKlines({ klines, upstream: drivers.binance, clock: drivers.clock, log: drivers.log });

/**
 * Funding rates read through the cache's month entries: fetched inline (and written) where this process may write;
 * asked of the fill where it only reads (drivers.askFill: Lambda's klines and binance functions).
 */
export const fundingOf = (
  drivers: Pick<Drivers, "binance" | "leases" | "clock" | "log" | "sleep" | "askFill">,
  cache: DataCache,
  settings: Pick<Settings, "klinesRecheckSeconds">,
) => {
  if (drivers.askFill) return askingFundingOf({ ...drivers, askFill: drivers.askFill }, cache, settings);
  const reads = createFundingReads({ cache });
  const cutoff = createCutoff({ clock: drivers.clock });
  const supply = createInlineFundingSupply(createFundingFetcher({ ...drivers, cache, reads, cutoff }));
  return createFundingService({ reads, supply, clock: drivers.clock, cutoffMs: fundingCutoffOf(cutoff), recheckSeconds: settings.klinesRecheckSeconds });
};

/** The funding read-through of a process that only reads: what the cache lacks is asked of the fill. */
export const askingFundingOf = (
  drivers: Pick<Drivers, "clock" | "log"> & Required<Pick<Drivers, "askFill">>,
  cache: DataCache,
  settings: Pick<Settings, "klinesRecheckSeconds">,
) => {
  const { clock, log, askFill } = drivers;
  const reads = createFundingReads({ cache });
  const supply = createAskedFundingSupply({ reads, ask: askFill, clock, log });
  const cutoffMs = fundingCutoffOf(createCutoff({ clock }));
  return createFundingService({ reads, supply, clock, cutoffMs, recheckSeconds: settings.klinesRecheckSeconds });
};

/** The funding records' published line: the futures closed line, less the settling margin of funding. */
const fundingCutoffOf = (cutoff: ReturnType<typeof createCutoff>) => () => cutoff.of("futures") - FUNDING_SETTLE_MS;

/** Binance's fundingRate endpoint over the funding read-through. */
export const binanceFundingOf = (drivers: Pick<Drivers, "clock">, funding: ReturnType<typeof fundingOf>) =>
  createBinanceFunding({ funding, clock: drivers.clock });

/** Everything but the drivers: validity, access, limits. */
export function settingsOf(config: Config, runtime: Runtime): Settings {
  return {
    rule: ruleOf(config),
    symbolsCacheTtlSeconds: config.symbolsCacheTtlSeconds,
    access: accessOf(config, runtime),
    maxBodyBytes: config.maxBodyBytes,
    inlineMaxBytes: runtime === "lambda" ? config.inlineMaxBytes : undefined,
    presignTtlSeconds: config.presignTtlSeconds,
    klinesDeadlineMs: config.klinesDeadlineMs,
    klinesRecheckSeconds: config.klinesRecheckSeconds,
    conversionsMax: config.conversionsMax,
  };
}

const ruleOf = (config: Config): ValidityRule => ({
  recentWindowDays: config.recentWindowDays,
  recentTtlSeconds: config.recentTtlSeconds,
});

/** The cache directory: a folder on disk, or a bucket and prefix. */
export function createStore(config: Config): ObjectStore {
  if (config.storageDriver === "fs") return createFsStore({ baseDir: config.cacheDir });
  return createS3Store({
    bucket: config.s3Bucket as string,
    prefix: config.s3Prefix,
    endpoint: config.s3Endpoint,
    region: config.awsRegion,
    timeoutMs: config.storageTimeoutMs,
  });
}

/** Upstash when configured; otherwise process memory, so `npm start` needs nothing (and has one process to coordinate). */
export function createCountersOf(config: Config, log: Log): Counters {
  if (!config.upstash) return createMemoryCounters();
  return createUpstashCounters({ ...config.upstash, timeoutMs: config.countersTimeoutMs, log });
}

export function createKeyValueStoreOf(config: Config, clock: Clock): KeyValueStore {
  return config.upstash ? createUpstashKeyValueStore(config.upstash) : createMemoryKeyValueStore({ clock });
}

export function createLeasesOf(config: Config, clock: Clock): Leases {
  return config.upstash ? createUpstashLeases(config.upstash) : createMemoryLeases({ clock });
}

/** Binance's public archive, unless BINANCE_ARCHIVE_URL turns it off. */
export function createArchiveOf(config: Config): BinanceArchive | undefined {
  return config.binanceArchiveUrl ? createBinanceArchive({ baseUrl: config.binanceArchiveUrl, timeoutMs: config.binanceTimeoutMs * 3 }) : undefined;
}

/**
 * The Binance client; with Upstash, its bans, pauses and weight budget are those of every container, asked before
 * every request and so bounded like a count (a slow Redis never slows the fetch much).
 */
export function createBinanceOf(config: Config, options: { clock: Clock; log: Log }): BinanceClient {
  const shared = config.upstash
    ? createSharedLimits({ kv: createUpstashKeyValueStore({ ...config.upstash, timeoutMs: config.countersTimeoutMs }) })
    : undefined;
  return createBinanceClient({
    spotUrl: config.binanceSpotUrl,
    futuresUrl: config.binanceFuturesUrl,
    timeoutMs: config.binanceTimeoutMs,
    ...options,
    shared,
  });
}

/** Who may read and write: deployed without a write token, writes are closed unless opened on purpose. */
export function accessOf(config: Config, runtime: Runtime): Access {
  const closed = runtime === "lambda" && !config.allowOpenWrites;
  return {
    writeToken: config.cacheApiToken,
    readToken: config.cacheReadToken,
    withoutWriteToken: closed ? "closed" : "open",
  };
}

/** Says once, at start-up, who may read and who may write. */
export function logAccess(access: Access, log: Log): void {
  const writes = access.writeToken !== undefined ? "token" : access.withoutWriteToken;
  const reads = access.readToken !== undefined ? "token" : "open";
  const fields = { writes, reads };
  if (writes === "open") {
    log.warn("access", {
      ...fields,
      message: "CACHE_API_TOKEN is not set: PUT, DELETE, clear, sweep and Binance fetches are open to anyone who can reach the service",
    });
  } else log.info("access", fields);
}
