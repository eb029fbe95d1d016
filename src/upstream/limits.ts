import { binanceBannedUntilKey, binancePausedUntilKey, binanceWeightKey } from "../counters/keys.js";
import type { KeyValueStore } from "../counters/types.js";
import type { MarketType } from "../market.js";

/** What a request must heed, as every container sees it. */
export interface SharedView {
  /** When the 418 ban on this market ends; null when none is known. */
  bannedUntilMs: number | null;
  /** When a 429's Retry-After ends; null when none is known. */
  pausedUntilMs: number | null;
  /** The weight all containers have used this minute, this request's included. */
  usedWeight: number;
}

/**
 * Binance's limits shared by every container (in Upstash Redis): Binance counts weight and bans per IP, and many
 * Lambda containers must not each learn of a ban on their own, nor each spend the whole minute's budget.
 */
export interface SharedLimits {
  /** Counts a request of `weight` in this minute's window and answers what stands in its way. */
  reserve(market: MarketType, weight: number, nowMs: number): Promise<SharedView>;
  /** A 418: no container sends a request to this market before `untilMs`. */
  ban(market: MarketType, untilMs: number, nowMs: number): Promise<void>;
  /** A 429: every container waits until `untilMs`. */
  pause(market: MarketType, untilMs: number, nowMs: number): Promise<void>;
}

const MINUTE_MS = 60_000;

/** Shared limits on a key-value store; three values per market, each expiring when it no longer matters. */
export function createSharedLimits(options: { kv: Pick<KeyValueStore, "get" | "set" | "add"> }): SharedLimits {
  const { kv } = options;
  const until = (raw: string | null): number | null => (raw !== null && /^\d+$/.test(raw) ? Number(raw) : null);
  const ttlSecondsUntil = (untilMs: number, nowMs: number) => Math.max(1, Math.ceil((untilMs - nowMs) / 1000));
  return {
    async reserve(market, weight, nowMs) {
      const minute = Math.floor(nowMs / MINUTE_MS);
      // Issued in one tick: with Upstash's auto-pipelining, one round trip.
      const [banned, paused, usedWeight] = await Promise.all([
        kv.get(binanceBannedUntilKey(market)),
        kv.get(binancePausedUntilKey(market)),
        kv.add(binanceWeightKey(market, minute), weight, { ttlSeconds: 2 * MINUTE_MS / 1000 }),
      ]);
      return { bannedUntilMs: until(banned), pausedUntilMs: until(paused), usedWeight };
    },
    async ban(market, untilMs, nowMs) {
      await kv.set(binanceBannedUntilKey(market), String(untilMs), { ttlSeconds: ttlSecondsUntil(untilMs, nowMs) });
    },
    async pause(market, untilMs, nowMs) {
      await kv.set(binancePausedUntilKey(market), String(untilMs), { ttlSeconds: ttlSecondsUntil(untilMs, nowMs) });
    },
  };
}
