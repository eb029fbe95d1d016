import { setTimeout as delay } from "node:timers/promises";
import type { Clock } from "../clock.js";
import {
  exchangeInfoKey,
  symbolsCacheHitKey,
  symbolsCacheMissKey,
  symbolsLastGoodKey,
  symbolsLastRefreshKey,
  symbolsListKey,
  symbolsRefreshLeaseKey,
  warmupOutcomeKey,
} from "../counters/keys.js";
import type { Counters, KeyValueStore, Leases } from "../counters/types.js";
import { UpstreamUnavailableError } from "../errors.js";
import type { Log } from "../log.js";
import { MARKET_TYPES, type MarketType } from "../market.js";
import type { BinanceClient } from "../upstream/binance.js";
import { decodeExchangeInfo, encodeExchangeInfo, exchangeInfoOf, type ExchangeInfo } from "./exchange-info.js";
import { DEFAULT_CONTRACT_TYPES, toSymbolList, type SymbolInfo } from "./list.js";

export interface SymbolServiceOptions {
  binance: Pick<BinanceClient, "exchangeInfo">;
  kv: KeyValueStore;
  counters: Counters;
  /** One refresh of a market at a time, across containers (Upstash) or in this process (memory). */
  leases: Leases;
  clock: Clock;
  log: Log;
  /** Life of `cache:symbols:<market>:v1`; must outlive the warmup interval. */
  ttlSeconds: number;
  /** How a refresh waits for another container's; the timer by default, instant in tests. */
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Where a served list came from: Redis's cache, Binance just now, or the last good list this process holds (while
 * Redis cannot be read, or Binance fails).
 */
export type SymbolSource = "hit" | "miss" | "stale";

export type WarmupReport = Record<MarketType, "success" | "error">;

export type SymbolService = ReturnType<typeof createSymbolService>;

/** The lists a refresh writes: the served one, and for futures every contract type (`?contract_types=` is cut from it). */
const LISTS: Record<MarketType, ("default" | "all")[]> = { spot: ["default"], futures: ["default", "all"] };
const REFRESH_LEASE_MS = 30_000;
/** A refresh another container holds is waited for this long (in steps), then this one serves what it has. */
const WAIT_FOR_OTHER_MS = 3_000;
const WAIT_STEP_MS = 200;

/** A list this process saw (from Redis or Binance), and when, in epoch ms by the service's clock. */
interface HeldList {
  symbols: SymbolInfo[];
  seenAtMs: number;
}

/** What one refresh fetched: the lists, and exchangeInfo whole (null when another container's refresh was waited for). */
type Refreshed = Record<"default" | "all", SymbolInfo[]> & { info: ExchangeInfo | null };

/** What readList found when Redis failed or did not answer in time (logged), as opposed to no list there (null). */
const UNREADABLE = Symbol("unreadable");

/**
 * The exchange's symbol lists, read through Redis. Redis is an optimisation here, never a dependency: when it
 * cannot be read, the list this process last saw is served while it is younger than the lists' TTL, and only
 * then is Binance asked (one refresh at a time in this process); when Binance fails too, the last good list is
 * served, however old. One refresh of a market runs at a time across containers too: the others wait for its
 * list rather than ask Binance (exchangeInfo weighs 20). Counting is never waited for: a count is sent and the
 * answer goes on (the counters drivers never reject).
 */
export function createSymbolService(options: SymbolServiceOptions) {
  const { binance, kv, counters, leases, clock, log, ttlSeconds } = options;
  const sleep = options.sleep ?? ((ms: number) => delay(ms));
  /** The last good lists seen by this process, by their Redis last_good key: what is served when Redis fails. */
  const held = new Map<string, HeldList>();
  const hold = (key: string, symbols: SymbolInfo[]) => held.set(key, { symbols, seenAtMs: clock.now().getTime() });
  const isFresh = (list: Pick<HeldList, "seenAtMs">) => clock.now().getTime() - list.seenAtMs < ttlSeconds * 1000;
  /** Refreshes under way in this process, by market. */
  const refreshing = new Map<MarketType, Promise<Refreshed>>();

  /** The list at `key`; null when there is none (or it is not JSON), UNREADABLE when Redis failed. */
  async function readList(key: string): Promise<SymbolInfo[] | null | typeof UNREADABLE> {
    let raw: string | null;
    try {
      raw = await kv.get(key);
    } catch (error) {
      log.warn("symbols_cache_read_failed", { key, error });
      return UNREADABLE;
    }
    try {
      return raw === null ? null : (JSON.parse(raw) as SymbolInfo[]);
    } catch (error) {
      log.warn("symbols_cache_unparsable", { key, error });
      return null;
    }
  }

  /** exchangeInfo as kept at `key`; null when there is none (or it is not one), UNREADABLE when Redis failed. */
  async function readInfo(key: string): Promise<ExchangeInfo | null | typeof UNREADABLE> {
    try {
      const raw = await kv.get(key);
      return raw === null ? null : decodeExchangeInfo(raw);
    } catch (error) {
      log.warn("exchange_info_cache_read_failed", { key, error });
      return UNREADABLE;
    }
  }
  /** The last exchangeInfo this process saw, by market: what is served when Redis fails. */
  const heldInfo = new Map<MarketType, { info: ExchangeInfo; seenAtMs: number }>();

  /**
   * Fetches the lists from Binance and stores them: each served key with its TTL, last_good, the refresh time; and
   * exchangeInfo whole, for the Binance-shaped API, the same way.
   */
  async function fetchAndStore(market: MarketType): Promise<Refreshed> {
    const body = await binance.exchangeInfo(market);
    const lists = {
      default: toSymbolList(body, market),
      all: market === "futures" ? toSymbolList(body, market, { contractTypes: "all" }) : [],
    };
    const info = exchangeInfoOf(body);
    const whole = info ? encodeExchangeInfo(info) : null;
    if (info) heldInfo.set(market, { info, seenAtMs: clock.now().getTime() });
    const writes = await Promise.allSettled([
      ...LISTS[market].flatMap((list) => {
        const value = JSON.stringify(lists[list]);
        hold(symbolsLastGoodKey(market, list), lists[list]);
        return [kv.set(symbolsListKey(market, list), value, { ttlSeconds }), kv.set(symbolsLastGoodKey(market, list), value)];
      }),
      ...(whole ? [kv.set(exchangeInfoKey(market), whole, { ttlSeconds }), kv.set(exchangeInfoKey(market, "last_good"), whole)] : []),
      kv.set(symbolsLastRefreshKey(market), String(clock.now().getTime() / 1000)),
    ]);
    for (const write of writes) {
      if (write.status === "rejected") log.warn("symbols_cache_write_failed", { market, error: write.reason });
    }
    return { ...lists, info };
  }

  /**
   * One refresh: under the market's lease. When another container holds it, waits a little for the lists it
   * writes; when they do not come, or leases fail, refreshes anyway (a list is better served twice than not at all).
   */
  async function refreshUnderLease(market: MarketType): Promise<Refreshed> {
    const key = symbolsRefreshLeaseKey(market);
    const token = await leases.acquire(key, REFRESH_LEASE_MS).catch((error: unknown) => {
      log.warn("symbols_lease_unavailable", { market, error });
      return undefined;
    });
    if (token === null) {
      for (let waited = 0; waited < WAIT_FOR_OTHER_MS; waited += WAIT_STEP_MS) {
        await sleep(WAIT_STEP_MS);
        const lists = await Promise.all(LISTS[market].map((list) => readList(symbolsListKey(market, list))));
        if (lists.every(Array.isArray)) return { default: lists[0] as SymbolInfo[], all: (lists[1] as SymbolInfo[] | undefined) ?? [], info: null };
      }
    }
    try {
      return await fetchAndStore(market);
    } finally {
      if (token) await leases.release(key, token).catch(() => undefined);
    }
  }

  /** The market's refresh, shared by every caller in this process while it runs. */
  function refresh(market: MarketType): Promise<Refreshed> {
    const running = refreshing.get(market) ?? refreshUnderLease(market).finally(() => refreshing.delete(market));
    refreshing.set(market, running);
    return running;
  }

  return {
    /**
     * The market's list (futures: of the asked contract types, PERPETUAL by default): from Redis when there; when
     * Redis cannot be read, the last good list in memory while younger than the TTL (stale, counted as a hit);
     * else from Binance; else the last good list however old (stale).
     */
    async get(market: MarketType, contractTypes?: readonly string[]): Promise<{ symbols: SymbolInfo[]; source: SymbolSource }> {
      const types = contractTypes ? [...new Set(contractTypes)].sort() : DEFAULT_CONTRACT_TYPES;
      const list = market === "futures" && types.join() !== DEFAULT_CONTRACT_TYPES.join() ? "all" : "default";
      const pick = (symbols: SymbolInfo[]) => (list === "all" ? symbols.filter((s) => types.includes(s.contractType ?? "")) : symbols);
      const goodKey = symbolsLastGoodKey(market, list);
      const cached = await readList(symbolsListKey(market, list));
      if (Array.isArray(cached)) {
        hold(goodKey, cached);
        void counters.increment(symbolsCacheHitKey(market));
        return { symbols: pick(cached), source: "hit" };
      }
      const inMemory = held.get(goodKey);
      if (cached === UNREADABLE && inMemory && isFresh(inMemory)) {
        void counters.increment(symbolsCacheHitKey(market));
        return { symbols: pick(inMemory.symbols), source: "stale" };
      }
      void counters.increment(symbolsCacheMissKey(market));
      try {
        return { symbols: pick((await refresh(market))[list]), source: "miss" };
      } catch (error) {
        log.warn("symbols_upstream_failed", { market, error });
        const good = inMemory?.symbols ?? (await readList(goodKey));
        if (Array.isArray(good)) return { symbols: pick(good), source: "stale" };
        throw new UpstreamUnavailableError(`Binance ${market} symbols are unavailable and none are cached`, { cause: error });
      }
    },

    /**
     * exchangeInfo whole, as Binance last answered it, read through Redis as the lists are (the same refresh keeps
     * both): from Redis; while Redis cannot be read, this process's copy younger than the TTL; else Binance; else the
     * last good one, however old.
     */
    async exchangeInfo(market: MarketType): Promise<{ info: ExchangeInfo; source: SymbolSource }> {
      const cached = await readInfo(exchangeInfoKey(market));
      if (cached && cached !== UNREADABLE) {
        heldInfo.set(market, { info: cached, seenAtMs: clock.now().getTime() });
        return { info: cached, source: "hit" };
      }
      const inMemory = heldInfo.get(market);
      if (cached === UNREADABLE && inMemory && isFresh(inMemory)) return { info: inMemory.info, source: "stale" };
      try {
        const info = (await refresh(market)).info ?? (await readInfo(exchangeInfoKey(market)));
        if (info && info !== UNREADABLE) return { info, source: "miss" };
      } catch (error) {
        log.warn("exchange_info_upstream_failed", { market, error });
      }
      const good = heldInfo.get(market)?.info ?? (await readInfo(exchangeInfoKey(market, "last_good")));
      if (good && good !== UNREADABLE) return { info: good, source: "stale" };
      throw new UpstreamUnavailableError(`Binance ${market} exchangeInfo is unavailable and none is cached`);
    },

    /** Refreshes both markets independently, counting each outcome; never throws. */
    async warmup(): Promise<WarmupReport> {
      const outcomes = await Promise.all(
        MARKET_TYPES.map(async (market) => {
          try {
            const lists = await refresh(market);
            log.info("symbols_warmup", { market, outcome: "success", symbols: lists.default.length });
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

    /** When the market's list was last refreshed from Binance (epoch seconds as the original stores it), if known. */
    async lastRefresh(market: MarketType): Promise<string | null> {
      return kv.get(symbolsLastRefreshKey(market));
    },
  };
}
