import type { Clock } from "../clock.js";
import type { MarketType } from "../market.js";

export type Cutoff = ReturnType<typeof createCutoff>;

/**
 * The "closed" line of each market: candles closing before it have closed by our clock and, as last seen, the
 * exchange's (from the Date of its answers), less `settleMs` of room for skew. A process that never asks the
 * exchange judges by its own clock alone.
 */
export function createCutoff(options: { clock: Clock; settleMs?: number }) {
  const { clock } = options;
  const settleMs = options.settleMs ?? 2_000;
  /** How far each market's clock is behind ours (ms, ≤ 0), from the Date of its last answer. */
  const exchangeLagMs: Record<MarketType, number> = { spot: 0, futures: 0 };
  return {
    of: (market: MarketType) => clock.now().getTime() + exchangeLagMs[market] - settleMs,
    /** Our clock's line alone: now less the settling margin. */
    local: () => clock.now().getTime() - settleMs,
    /** Told the exchange's time of an answer. */
    observe(market: MarketType, exchangeTimeMs: number): void {
      exchangeLagMs[market] = Math.min(0, exchangeTimeMs - clock.now().getTime());
    },
  };
}
