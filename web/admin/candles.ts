/**
 * Pure: stored rows into what the chart draws. Missing candles are never drawn over: each run of open times with no
 * candle becomes blank slots (lightweight-charts' whitespace points), so a gap shows as a gap, and is listed.
 */
import { parseTimestamp } from "../../src/time.js";
import { candlesBetween, nextOpen } from "../../src/klines/interval.js";
import type { Interval } from "../../src/market.js";

/**
 * The most candles one chart draws: a month of 1m candles is 44,640, so a month is cut to its first days. It keeps an
 * answer of JSON rows near 3 MB (Lambda answers at most 6 MB) and the chart quick on a phone.
 */
export const CHART_MAX_CANDLES = 20_000;
/** The most blank slots the gaps of one chart take: past it a gap is drawn shorter than it is (and listed whole). */
const MAX_BLANK_SLOTS = 2_000;

/** Seconds since the epoch, as lightweight-charts takes time. */
type Seconds = number;
export interface CandlePoint {
  time: Seconds;
  open: number;
  high: number;
  low: number;
  close: number;
}
export interface VolumePoint {
  time: Seconds;
  value: number;
  /** Whether its candle closed at or above its open. */
  rising: boolean;
}
/** A slot of the time scale with no candle in it. */
export interface BlankPoint {
  time: Seconds;
}
/** `[fromMs, toMs)`: open times with no candle, `candles` of them. */
export interface ChartGap {
  fromMs: number;
  toMs: number;
  candles: number;
}
export interface ChartData {
  candles: (CandlePoint | BlankPoint)[];
  volumes: (VolumePoint | BlankPoint)[];
  gaps: ChartGap[];
  /** Rows left out: no readable timestamp or prices, or out of order. */
  skipped: number;
  /** Whether the rows have a volume column. */
  hasVolume: boolean;
}

const numberOf = (value: unknown): number => (typeof value === "number" ? value : typeof value === "string" ? Number(value) : NaN);

/** Rows as the service answers them (`timestamp`, `open`, …, `volume`), oldest first, into candles, volumes and gaps. */
export function chartDataOf(interval: Interval, rows: readonly Record<string, unknown>[]): ChartData {
  const data: ChartData = { candles: [], volumes: [], gaps: [], skipped: 0, hasVolume: rows.length > 0 && "volume" in (rows[0] ?? {}) };
  let blanks = 0;
  let expected: number | null = null;
  for (const row of rows) {
    const ms = parseTimestamp(String(row.timestamp));
    const [open, high, low, close] = [row.open, row.high, row.low, row.close].map(numberOf) as [number, number, number, number];
    if (ms === null || ![open, high, low, close].every(Number.isFinite) || (expected !== null && ms < expected)) {
      data.skipped++;
      continue;
    }
    if (expected !== null && ms > expected) {
      const missing = candlesBetween(interval, expected, ms);
      data.gaps.push({ fromMs: expected, toMs: ms, candles: missing });
      for (let at = expected, n = 0; at < ms && n < missing && blanks < MAX_BLANK_SLOTS; at = nextOpen(interval, at), n++, blanks++) {
        data.candles.push({ time: at / 1000 });
        data.volumes.push({ time: at / 1000 });
      }
    }
    const time = ms / 1000;
    data.candles.push({ time, open, high, low, close });
    const volume = numberOf(row.volume);
    data.volumes.push(Number.isFinite(volume) ? { time, value: volume, rising: close >= open } : { time });
    expected = nextOpen(interval, ms);
  }
  return data;
}

/**
 * The part of [startMs, endMs) one chart may draw: all of it, or its first whole days up to CHART_MAX_CANDLES
 * candles (at least one day). Dates are YYYY-MM-DD, end inclusive, as the API takes them.
 */
export function chartableRange(interval: Interval, startMs: number, endMs: number): { start_date: string; end_date: string; cut: boolean } {
  const DAY_MS = 86_400_000;
  const dateOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);
  if (candlesBetween(interval, startMs, endMs) <= CHART_MAX_CANDLES) {
    return { start_date: dateOf(startMs), end_date: dateOf(endMs - DAY_MS), cut: false };
  }
  const perDay = candlesBetween(interval, startMs, startMs + DAY_MS);
  const days = Math.max(1, Math.floor(CHART_MAX_CANDLES / Math.max(1, perDay)));
  return { start_date: dateOf(startMs), end_date: dateOf(startMs + (days - 1) * DAY_MS), cut: true };
}

/** Funding bars: longs pay (rate ≥ 0) in amber, shorts pay in blue, apart from the candles' colours. */
const LONGS_PAY = "#b26a00";
const SHORTS_PAY = "#2d5fa8";

/** A funding bar: its time, the rate in percent, coloured by who pays. */
export interface FundingPoint {
  time: Seconds;
  value: number;
  color: string;
}

/** Funding rows as the service answers them (`funding_time`, `funding_rate`), oldest first, into bars in percent. */
export function fundingPointsOf(rows: readonly Record<string, unknown>[]): FundingPoint[] {
  const points: FundingPoint[] = [];
  for (const row of rows) {
    const ms = parseTimestamp(String(row.funding_time));
    const rate = numberOf(row.funding_rate);
    const time = ms === null ? NaN : Math.floor(ms / 1000);
    if (!Number.isFinite(time) || !Number.isFinite(rate) || (points.length > 0 && time <= (points.at(-1) as FundingPoint).time)) continue;
    points.push({ time, value: rate * 100, color: rate >= 0 ? LONGS_PAY : SHORTS_PAY });
  }
  return points;
}
