import type { MarketType } from "../market.js";
import type { Clock } from "../clock.js";
import {
  symbolsCacheHitKey,
  symbolsCacheMissKey,
  symbolsLastGoodKey,
  symbolsLastRefreshKey,
  symbolsListKey,
  warmupOutcomeKey,
} from "../counters/keys.js";
import type { Counters, KeyValueStore } from "../counters/types.js";
import { UpstreamUnavailableError } from "../errors.js";
import type { Log } from "../log.js";
import type { BinanceClient } from "../upstream/binance.js";
import { toSymbolList, type SymbolInfo } from "./list.js";

export interface SymbolServiceOptions {
  binance: Pick<BinanceClient, "exchangeInfo">;
  kv: KeyValueStore;
  counters: Counters;
  clock: Clock;
  log: Log;
  /** Life of `cache:symbols:<market>:v1`; must outlive the warmup interval. */
  ttlSeconds: number;
}

/** Where a served list came from: the cache, Binance just now, or the last good list while Binance is down. */
export type SymbolSource = "hit" | "miss" | "stale";

export type WarmupReport = Record<MarketType, "success" | "error">;

export type SymbolService = ReturnType<typeof createSymbolService>;

/**
 * The exchange's symbol lists, read through Redis. Redis is an optimisation here, never a dependency: when it
 * fails, lists come from Binance and the failure is logged.
 */
export function createSymbolService(options: SymbolServiceOptions) {
  const { binance, kv, counters, clock, log, ttlSeconds } = options;

  async function readList(key: string): Promise<SymbolInfo[] | null> {
    try {
      const raw = await kv.get(key);
      return raw === null ? null : (JSON.parse(raw) as SymbolInfo[]);
    } catch (error) {
      log.warn("symbols_cache_read_failed", { key, error });
      return null;
    }
  }

  /** Fetches the list from Binance and stores it: the served key with its TTL, last_good, and the refresh time. */
  async function refresh(market: MarketType): Promise<SymbolInfo[]> {
    const list = toSymbolList(await binance.exchangeInfo(market), market);
    const value = JSON.stringify(list);
    const refreshedAt = String(clock.now().getTime() / 1000);
    const writes = await Promise.allSettled([
      kv.set(symbolsListKey(market), value, { ttlSeconds }),
      kv.set(symbolsLastGoodKey(market), value),
      kv.set(symbolsLastRefreshKey(market), refreshedAt),
    ]);
    for (const write of writes) {
      if (write.status === "rejected") log.warn("symbols_cache_write_failed", { market, error: write.reason });
    }
    return list;
  }

  return {
    refresh,

    /** The market's list: from the cache when there, else from Binance, else the last good list. */
    async get(market: MarketType): Promise<{ symbols: SymbolInfo[]; source: SymbolSource }> {
      const cached = await readList(symbolsListKey(market));
      if (cached !== null) {
        await counters.increment(symbolsCacheHitKey(market));
        return { symbols: cached, source: "hit" };
      }
      await counters.increment(symbolsCacheMissKey(market));
      try {
        return { symbols: await refresh(market), source: "miss" };
      } catch (error) {
        log.warn("symbols_upstream_failed", { market, error });
        const lastGood = await readList(symbolsLastGoodKey(market));
        if (lastGood !== null) return { symbols: lastGood, source: "stale" };
        throw new UpstreamUnavailableError(`Binance ${market} symbols are unavailable and none are cached`, { cause: error });
      }
    },

    /** A list of other futures contract types than the cached PERPETUAL one, straight from Binance. */
    async fetchUncached(market: MarketType, contractTypes: string[]): Promise<SymbolInfo[]> {
      return toSymbolList(await binance.exchangeInfo(market), market, { contractTypes });
    },

    /** Refreshes both markets independently, counting each outcome; never throws. */
    async warmup(): Promise<WarmupReport> {
      const markets: MarketType[] = ["spot", "futures"];
      const outcomes = await Promise.all(
        markets.map(async (market) => {
          try {
            const list = await refresh(market);
            log.info("symbols_warmup", { market, outcome: "success", symbols: list.length });
            await counters.increment(warmupOutcomeKey(market, "success"));
            return "success" as const;
          } catch (error) {
            log.warn("symbols_warmup", { market, outcome: "error", error });
            await counters.increment(warmupOutcomeKey(market, "error"));
            return "error" as const;
          }
        }),
      );
      return { spot: outcomes[0] as "success" | "error", futures: outcomes[1] as "success" | "error" };
    },
  };
}
