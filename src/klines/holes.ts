import type { Interval } from "../market.js";
import type { Kline } from "../upstream/binance.js";
import { candlesBetween, nextOpen } from "./interval.js";
import type { Gap } from "./types.js";

/**
 * The holes of a bulk answer (an archive file's candles, one page): where a candle should open between two of its
 * candles and none does, and, when `startMs` is given, from it to the first candle.
 */
export function holesOf(interval: Interval, klines: readonly Kline[], startMs: number | null): Gap[] {
  const holes: Gap[] = [];
  const first = klines[0];
  if (first && startMs !== null && first[0] > startMs) holes.push({ fromMs: startMs, toMs: first[0] });
  for (let i = 1; i < klines.length; i++) {
    const expectedMs = nextOpen(interval, (klines[i - 1] as Kline)[0]);
    const openMs = (klines[i] as Kline)[0];
    if (openMs > expectedMs) holes.push({ fromMs: expectedMs, toMs: openMs });
  }
  return holes;
}

/** Holes asked of the exchange in one request for the stretch they span (paged when it is longer than a page). */
export interface HoleStretch extends Gap {
  holes: Gap[];
}

/**
 * The holes, in order, grouped into stretches: consecutive holes share one while the stretch from the first's start
 * to the last's end spans at most `pageLimit` candles; a hole longer than that is a stretch of its own.
 */
export function stretchesOf(interval: Interval, holes: readonly Gap[], pageLimit: number): HoleStretch[] {
  const stretches: HoleStretch[] = [];
  for (const hole of holes) {
    const last = stretches.at(-1);
    if (last && candlesBetween(interval, last.fromMs, hole.toMs) <= pageLimit) {
      last.toMs = hole.toMs;
      last.holes.push(hole);
    } else {
      stretches.push({ ...hole, holes: [hole] });
    }
  }
  return stretches;
}

/**
 * The candles, with those of `found` that open inside one of the holes put in their places, oldest first; the
 * others of `found` (candles the answer already had) are left out. Both lists are oldest first, as are the holes.
 */
export function withFound(klines: readonly Kline[], holes: readonly Gap[], found: readonly Kline[]): Kline[] {
  const fill: Kline[] = [];
  let at = 0;
  for (const kline of found) {
    while (at < holes.length && (holes[at] as Gap).toMs <= kline[0]) at++;
    const hole = holes[at];
    if (hole && kline[0] >= hole.fromMs) fill.push(kline);
  }
  const merged: Kline[] = [];
  let next = 0;
  for (const kline of klines) {
    while (next < fill.length && (fill[next] as Kline)[0] < kline[0]) merged.push(fill[next++] as Kline);
    merged.push(kline);
  }
  while (next < fill.length) merged.push(fill[next++] as Kline);
  return merged;
}
