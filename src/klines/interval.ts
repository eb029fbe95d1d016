import type { Interval } from "../market.js";
import { DAY_MS, monthStart } from "../time.js";

const SECOND_MS = 1000;
const MINUTE_MS = 60 * SECOND_MS;
const HOUR_MS = 60 * MINUTE_MS;

/** The length of each interval but 1M, a calendar month, which has none. */
const INTERVAL_MS: Record<Exclude<Interval, "1M">, number> = {
  "1s": SECOND_MS,
  "1m": MINUTE_MS,
  "3m": 3 * MINUTE_MS,
  "5m": 5 * MINUTE_MS,
  "15m": 15 * MINUTE_MS,
  "30m": 30 * MINUTE_MS,
  "1h": HOUR_MS,
  "2h": 2 * HOUR_MS,
  "4h": 4 * HOUR_MS,
  "6h": 6 * HOUR_MS,
  "8h": 8 * HOUR_MS,
  "12h": 12 * HOUR_MS,
  "1d": DAY_MS,
  "3d": 3 * DAY_MS,
  "1w": 7 * DAY_MS,
};

/**
 * The open time of the candle after the one that opens at `openMs` (where a candle opening at `openMs` closes).
 * Relative to `openMs`, not to a grid: Binance's history has candles off the usual grid (after the maintenance of
 * February 2018, hourly candles opened at :28:15), and they follow each other all the same.
 */
export function nextOpen(interval: Interval, openMs: number): number {
  return interval === "1M" ? monthStart(openMs, 1) : openMs + INTERVAL_MS[interval];
}

/** How many candles of `interval` open in [fromMs, toMs), `fromMs` being an open time. */
export function candlesBetween(interval: Interval, fromMs: number, toMs: number): number {
  if (toMs <= fromMs) return 0;
  if (interval !== "1M") return Math.ceil((toMs - fromMs) / INTERVAL_MS[interval]);
  let count = 0;
  for (let open = fromMs; open < toMs; open = nextOpen(interval, open)) count++;
  return count;
}

/**
 * The latest candle boundary counted from `fromMs` (fromMs, its next open, the one after, …) at or before `untilMs`:
 * where the candles from `fromMs` that have closed by `untilMs` end.
 */
export function boundaryAtOrBefore(interval: Interval, fromMs: number, untilMs: number): number {
  if (untilMs <= fromMs) return fromMs;
  if (interval !== "1M") {
    const size = INTERVAL_MS[interval];
    return fromMs + Math.floor((untilMs - fromMs) / size) * size;
  }
  let end = fromMs;
  for (let next = nextOpen(interval, end); next <= untilMs; next = nextOpen(interval, end)) end = next;
  return end;
}

/**
 * True when a candle may open in one calendar day or month and close in the next: 3d and 1w candles do not line
 * up with months. Every other interval divides a day, or is the month itself.
 */
export function crossesMonths(interval: Interval): boolean {
  return interval === "3d" || interval === "1w";
}

/** `ms` moved by `candles` candles of the interval (back when negative); calendar months for 1M. */
export function shiftedBy(interval: Interval, ms: number, candles: number): number {
  return interval === "1M" ? monthStart(ms, candles) : ms + candles * INTERVAL_MS[interval];
}
