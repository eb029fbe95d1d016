import * as z from "zod/mini";
import type { CacheMeta } from "../cache/entries/meta.js";
import type { EntryId } from "../cache/entries/objects.js";
import type { Need, NeedContext } from "../klines/plan.js";
import type { Range } from "../klines/types.js";
import { dateOf, DAY_MS, monthStart, parseTimestamp, formatTimestamp } from "../time.js";
import type { FundingRecord } from "../upstream/binance.js";

/**
 * A USD-M symbol's funding rates are kept by calendar month, like candles: each month an ordinary cache entry of the
 * `funding` folder, its CSV the month's records (`funding_time,symbol,funding_rate,mark_price`, Binance's strings),
 * its meta what is proven of it. Pure: the months of a range, what a meta records, what a request needs of a month.
 */
export const FUNDING_FOLDER = "funding";
export const FUNDING_COLUMNS = ["funding_time", "symbol", "funding_rate", "mark_price"] as const;
export const FUNDING_CSV_HEADER = `${FUNDING_COLUMNS.join(",")}\n`;

/**
 * Binance's shortest funding interval (some symbols settle every hour): no record can follow another sooner, which
 * bounds how many records a stretch can hold and how often the month that reaches now is worth asking again.
 */
export const MIN_FUNDING_INTERVAL_MS = 3_600_000;

/**
 * How long after its time a record is surely answered by the exchange: records are only taken, and months only judged,
 * this far behind the exchange's clock.
 */
export const FUNDING_SETTLE_MS = 60_000;

/** One month of a symbol's funding records: [startMs, endMs). */
export interface FundingMonth extends Range {
  symbol: string;
}

/** What a month's meta records beside the cache's fields. */
export interface FundingState {
  /** Every record of the month is stored: a record after the month is known, or the symbol's history ends before it. */
  complete: boolean;
  /** Where the next fetch starts (the ms after the last stored record, or the month's start); null once complete. */
  resumeFromMs: number | null;
  /** The fundingTime of the last stored record; null when the month holds none. */
  lastTimeMs: number | null;
  /** The exchange's time when the month was last fetched. */
  checkedUntilMs: number;
}

/** The cache entry of a month: interval `1M` (the span of its records), futures, in the funding folder. */
export const entryOfMonth = (month: FundingMonth): EntryId => ({
  symbol: month.symbol,
  interval: "1M",
  start_date: dateOf(month.startMs),
  end_date: dateOf(month.endMs - DAY_MS),
  market_type: "futures",
  folder: FUNDING_FOLDER,
});

/** The months holding the range's records that may exist by `nowMs`, oldest first. */
export function monthsOf(symbol: string, range: Range, nowMs: number): FundingMonth[] {
  const months: FundingMonth[] = [];
  for (let start = monthStart(range.startMs); start < Math.min(range.endMs, nowMs); start = monthStart(start, 1)) {
    months.push({ symbol, startMs: start, endMs: monthStart(start, 1) });
  }
  return months;
}

const timestamp = z.string().check(z.refine((text) => parseTimestamp(text) !== null));
const fundingFieldsSchema = z.object({
  funding: z.object({
    complete: z.boolean(),
    resume_from: z.nullable(timestamp),
    last_time: z.nullable(timestamp),
    checked_until: timestamp,
  }),
});
const msOrNull = (text: string | null): number | null => (text === null ? null : parseTimestamp(text));
const textOrNull = (ms: number | null): string | null => (ms === null ? null : timeText(ms));

/** The month's state from its meta; null when it is not a funding month's, or does not hang together. */
export function fundingStateOf(meta: CacheMeta): FundingState | null {
  const parsed = fundingFieldsSchema.safeParse(meta);
  if (!parsed.success) return null;
  const { funding } = parsed.data;
  const state = {
    complete: funding.complete,
    resumeFromMs: msOrNull(funding.resume_from),
    lastTimeMs: msOrNull(funding.last_time),
    checkedUntilMs: parseTimestamp(funding.checked_until) as number,
  };
  return state.complete === (state.resumeFromMs === null) ? state : null;
}

/** The meta field that records `state` (one object, `funding`, so no field of the cache's is named). */
export function fundingMetaOf(state: FundingState): Record<string, unknown> {
  return {
    funding: {
      complete: state.complete,
      resume_from: textOrNull(state.resumeFromMs),
      last_time: textOrNull(state.lastTimeMs),
      checked_until: timeText(state.checkedUntilMs),
    },
  };
}

/** A funding time as the CSV writes it: always with its milliseconds (Binance's times may carry some), one form a column. */
export const timeText = (ms: number): string => {
  const text = formatTimestamp(ms);
  return text.length === 19 ? `${text}.000` : text;
};

/** One record as a CSV line; Binance's strings as they came (its symbols and decimals need no quoting). */
export const fundingLine = (record: FundingRecord): string =>
  `${timeText(record.fundingTime)},${record.symbol},${record.fundingRate},${record.markPrice}\n`;

/** The records of stored CSV rows (header left out): the inverse of fundingLine. */
export function recordsOfLines(text: string): FundingRecord[] {
  const records: FundingRecord[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("funding_time,")) continue;
    const [time = "", symbol = "", fundingRate = "", markPrice = ""] = line.split(",");
    records.push({ symbol, fundingTime: parseTimestamp(time) as number, fundingRate, markPrice });
  }
  return records;
}

/**
 * What a request needs of a month, as of a candle partition (plan.ts): nothing (cached), nothing because it cannot
 * hold a record yet (unclosed), or a fetch from `fromMs`. Its context's cutoff is the records' published line.
 */
export type FundingNeed = Need;
export type FundingNeedContext = NeedContext;

/**
 * The earliest time a record not yet stored can have: funding falls on whole hours (Binance's times carry a few ms at
 * most), an hour at least after the last record, and at or after what the last fetch saw (a minute of slack for
 * those ms).
 */
function nextFundingAfter(state: FundingState): number {
  const hour = MIN_FUNDING_INTERVAL_MS;
  const afterLast = state.lastTimeMs === null ? -Infinity : Math.floor(state.lastTimeMs / hour) * hour + hour;
  return Math.max(afterLast, Math.ceil((state.checkedUntilMs - 60_000) / hour) * hour);
}

/**
 * A complete month is never fetched again. Otherwise it is fetched from where it stops when the range wants records
 * after that and one can have been published since (see nextFundingAfter): the month that reaches now costs one
 * request an hour at most, however often it is asked.
 * A month over but unproven (its records asked after its end, without the evidence) at most once per `recheckMs`.
 */
export function fundingNeedOf(
  month: FundingMonth,
  stored: { state: FundingState; checkedAtMs: number } | null,
  context: FundingNeedContext,
): FundingNeed {
  const { range, cutoffMs, nowMs } = context;
  if (stored?.state.complete) return { kind: "cached" };
  const idle: FundingNeed = stored ? { kind: "cached" } : { kind: "unclosed" };
  const fromMs = stored?.state.resumeFromMs ?? month.startMs;
  if (fromMs >= Math.min(range.endMs, month.endMs) || fromMs > cutoffMs) return idle;
  if (stored && nextFundingAfter(stored.state) > cutoffMs) return idle;
  if (stored && stored.state.checkedUntilMs >= month.endMs && nowMs - stored.checkedAtMs < context.recheckMs) return { kind: "cached" };
  return { kind: "fetch", fromMs };
}
