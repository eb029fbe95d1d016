import { MARKET_TYPES, type MarketType } from "../market.js";
import { PRICE_KINDS, restPathOf, type PriceKind } from "../price-kinds.js";

/** The Redis keys of the original service, kept as they are so its dashboards keep working. */

/** Counter: a hit of the candle data cache. */
export const dataCacheHitKey = (market: MarketType) => `metrics:cache_hit:data_${market}`;
/** Counter: a miss of the candle data cache. */
export const dataCacheMissKey = (market: MarketType) => `metrics:cache_miss:data_${market}`;
/** Counter: a symbol list served from `symbolsListKey`. */
export const symbolsCacheHitKey = (market: MarketType) => `metrics:cache_hit:symbols_${market}`;
/** Counter: a symbol list that had to be fetched from Binance. */
export const symbolsCacheMissKey = (market: MarketType) => `metrics:cache_miss:symbols_${market}`;
/** Counter: one warmup run of a market's symbol list, by outcome. */
export const warmupOutcomeKey = (market: MarketType, outcome: "success" | "error") =>
  `metrics:warmup_${market}_symbols_cache:${outcome}`;
/** How a klines answer was served: all from the cache, partly fetched, or all fetched. */
export type KlinesOutcome = "hit" | "partial" | "miss";
/** The counters' name of a series of candles: `klines_spot`, `klines_futures`, a price kind's `klines_futures_mark`. */
const klinesSeries = (market: MarketType, price: PriceKind) => (price === "trade" ? `klines_${market}` : `klines_${market}_${price}`);
/** Counter: a klines answer, by outcome (`metrics:cache_hit:klines_spot`, `…cache_partial…`, `…cache_miss…`). */
export const klinesOutcomeKey = (market: MarketType, outcome: KlinesOutcome, price: PriceKind = "trade") =>
  `metrics:cache_${outcome}:${klinesSeries(market, price)}`;
/**
 * Counter: files of Binance's public archive the klines answers used, found missing, or failed on (rejected,
 * unreachable); and of the used ones, those with holes inside that REST was asked for (`incomplete`).
 */
export const klinesArchiveKey = (market: MarketType, outcome: "hit" | "miss" | "failure" | "incomplete", price: PriceKind = "trade") =>
  `metrics:archive_${outcome}:${klinesSeries(market, price)}`;
/** Counter: HTTP requests the klines answers sent to Binance, retries included. */
export const klinesUpstreamRequestsKey = (market: MarketType, price: PriceKind = "trade") =>
  `metrics:upstream_requests:${klinesSeries(market, price)}`;
/** Counter: objects removed by the cache sweep. */
export const SWEEP_DELETED_KEY = "metrics:cache_sweep:deleted";

/**
 * Which list of a market: the served one (the original's key), or, for futures, the list of every contract type,
 * which `?contract_types=` is answered from (a key of our own).
 */
export type SymbolList = "default" | "all";
const listPart = (list: SymbolList) => (list === "all" ? ":all" : "");
/** Value with a TTL: the served symbol list (JSON). */
export const symbolsListKey = (market: MarketType, list: SymbolList = "default") => `cache:symbols:${market}${listPart(list)}:v1`;
/** Value without TTL: the last list fetched successfully, served when Binance is down. */
export const symbolsLastGoodKey = (market: MarketType, list: SymbolList = "default") =>
  `cache:symbols:${market}${listPart(list)}:last_good`;
/** Value: when the list was last refreshed from Binance, in epoch seconds. */
export const symbolsLastRefreshKey = (market: MarketType) => `metrics:${market}_symbols_cache:last_refresh_ts`;

/**
 * Value with a TTL, and without (`:last_good`): the exchange's whole exchangeInfo as Binance answered it, gzip in
 * base64 (spot's runs to megabytes of JSON; gzip keeps it under Upstash's request size), for the Binance-shaped API.
 */
export const exchangeInfoKey = (market: MarketType, which: "current" | "last_good" = "current") =>
  `cache:exchange_info:${market}:${which === "current" ? "v1" : "last_good"}`;

/** Value with a TTL: when the 418 ban on a market's API ends (epoch ms), for every container. */
export const binanceBannedUntilKey = (market: MarketType) => `binance:${market}:banned_until`;
/** Value with a TTL: when a 429's Retry-After on a market's API ends (epoch ms), for every container. */
export const binancePausedUntilKey = (market: MarketType) => `binance:${market}:paused_until`;
/** Counter per minute (expires after two): the request weight all containers spent on a market's API. */
export const binanceWeightKey = (market: MarketType, minute: number) => `binance:${market}:weight_1m:${minute}`;
/** Lease: one container fetches a partition (by its cache entry) at a time. */
/** Counter: a funding answer, by outcome (`metrics:cache_hit:funding_futures`, `…cache_partial…`, `…cache_miss…`). */
export const fundingOutcomeKey = (outcome: KlinesOutcome) => `metrics:cache_${outcome}:funding_futures`;
/** Counter: HTTP requests the funding answers sent to Binance, retries included. */
export const FUNDING_UPSTREAM_REQUESTS_KEY = "metrics:upstream_requests:funding_futures";
export const partitionLeaseKey = (entry: string) => `lease:klines:${entry}`;
/** Lease: one writer of a cache entry (by its name, `[<folder>/]<md5>`) at a time, across containers. */
export const entryLeaseKey = (entry: string) => `lease:entry:${entry}`;
/** Lease: one container makes a derived form (by its object key, e.g. a Parquet form) at a time. */
export const derivedLeaseKey = (key: string) => `lease:derived:${key}`;
/** Lease: one container refreshes a market's symbol list at a time. */
export const symbolsRefreshLeaseKey = (market: MarketType) => `lease:symbols:${market}`;

/** Every counter key, for the metrics endpoint: all of them are known up front, no SCAN needed. */
export const ALL_COUNTER_KEYS: readonly string[] = [
  ...MARKET_TYPES.flatMap((market) => [
    dataCacheHitKey(market),
    dataCacheMissKey(market),
    symbolsCacheHitKey(market),
    symbolsCacheMissKey(market),
    warmupOutcomeKey(market, "success"),
    warmupOutcomeKey(market, "error"),
    ...PRICE_KINDS.filter((price) => restPathOf(price, market) !== null).flatMap((price) => [
      klinesOutcomeKey(market, "hit", price),
      klinesOutcomeKey(market, "partial", price),
      klinesOutcomeKey(market, "miss", price),
      klinesUpstreamRequestsKey(market, price),
      klinesArchiveKey(market, "hit", price),
      klinesArchiveKey(market, "miss", price),
      klinesArchiveKey(market, "failure", price),
      klinesArchiveKey(market, "incomplete", price),
    ]),
  ]),
  fundingOutcomeKey("hit"),
  fundingOutcomeKey("partial"),
  fundingOutcomeKey("miss"),
  FUNDING_UPSTREAM_REQUESTS_KEY,
  SWEEP_DELETED_KEY,
];
