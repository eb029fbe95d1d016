import type { KeyValueStore } from "../counters/types.js";
import type { Log } from "../log.js";
import type { MarketType } from "../market.js";
import type { PriceKind } from "../price-kinds.js";

/**
 * Value without TTL: the open time of a symbol's first candle ever (epoch ms); it never changes once there is one.
 * Trade candles' key is the one it always was; a price kind's names the kind.
 */
export const firstOpenKey = (market: MarketType, symbol: string, interval: string, price: PriceKind = "trade") =>
  `cache:klines:${market}:${symbol}:${interval}${price === "trade" ? "" : `:${price}`}:first_open`;

export interface ListingOptions {
  /** Where the answers outlive the process (Redis); failures there are logged and ignored. */
  kv: Pick<KeyValueStore, "get" | "set">;
  log: Pick<Log, "warn">;
}

/**
 * When each symbol's candles begin: asked of the exchange once (`startTime=0&limit=1`) per symbol, market and
 * interval, then remembered in this process and in Redis, so a cold container asks Redis, not Binance.
 */
export function createListing(options: ListingOptions) {
  const { kv, log } = options;
  const known = new Map<string, number>();
  /** Lookups under way, so concurrent passes of one symbol ask once. */
  const pending = new Map<string, Promise<number | null>>();

  async function lookUp(key: string, ask: () => Promise<number | null>): Promise<number | null> {
    const stored = await kv.get(key).catch((error: unknown) => {
      log.warn("listing_read_failed", { key, error });
      return null;
    });
    if (stored !== null && /^\d+$/.test(stored)) {
      known.set(key, Number(stored));
      return Number(stored);
    }
    const openMs = await ask();
    // A symbol with no candle yet may have one later: only a first candle is remembered.
    if (openMs === null) return null;
    known.set(key, openMs);
    await kv.set(key, String(openMs)).catch((error: unknown) => {
      log.warn("listing_write_failed", { key, error });
    });
    return openMs;
  }

  return {
    async firstOpen(
      market: MarketType,
      symbol: string,
      interval: string,
      price: PriceKind,
      ask: () => Promise<number | null>,
    ): Promise<number | null> {
      const key = firstOpenKey(market, symbol, interval, price);
      const remembered = known.get(key);
      if (remembered !== undefined) return remembered;
      const running = pending.get(key) ?? lookUp(key, ask).finally(() => pending.delete(key));
      pending.set(key, running);
      return running;
    },
  };
}

export type Listing = ReturnType<typeof createListing>;
