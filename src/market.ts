/**
 * The market vocabulary: intervals, markets, the dataset id (one symbol, interval, date range and market), and the
 * columns of a stored candle. Every module takes these from here.
 */
import * as z from "zod/mini";
import { dateOf, dayStartMs } from "./time.js";

/** Binance's kline intervals; case matters (1m is a minute, 1M a month). */
export const INTERVALS = ["1s", "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d", "3d", "1w", "1M"] as const;
export const MARKET_TYPES = ["spot", "futures"] as const;

export type Interval = (typeof INTERVALS)[number];
export type MarketType = (typeof MARKET_TYPES)[number];

/** What identifies one cached dataset, normalized (symbol upper-case, market lower-case). */
export interface DatasetId {
  symbol: string;
  interval: Interval;
  start_date: string;
  end_date: string;
  market_type: MarketType;
}

/** True for a real calendar date written YYYY-MM-DD (no 2021-02-30). */
export function isCalendarDate(text: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return false;
  const ms = dayStartMs(text);
  return !Number.isNaN(ms) && dateOf(ms) === text;
}

/** The case rule of the dataset id, the original's: symbols upper-case, markets lower-case, in any input. */
export const normalizeSymbol = (symbol: string): string => symbol.toUpperCase();
export const normalizeMarketType = (market: string): string => market.toLowerCase();

/** A date as the dataset id writes it: YYYY-MM-DD, a real calendar date. */
export const calendarDate = z.string().check(z.refine(isCalendarDate, "must be a real calendar date written YYYY-MM-DD"));
const normalized = <T extends z.ZodMiniType<unknown, string>>(normalize: (text: string) => string, then: T) =>
  z.pipe(z.pipe(z.string(), z.transform(normalize)), then);

/** A symbol in any case, normalized: 2 to 30 letters or digits. */
export const symbolSchema = normalized(
  normalizeSymbol,
  z.string().check(z.regex(/^[A-Z0-9]{2,30}$/, "must be 2 to 30 letters or digits, like BTCUSDT")),
);
/** A market in any case, normalized. */
export const marketTypeSchema = normalized(normalizeMarketType, z.enum(MARKET_TYPES, { error: "must be spot or futures" }));
export const intervalSchema = z.enum(INTERVALS, { error: `must be one of ${INTERVALS.join(" ")}` });

/** Parses and normalizes the five query parameters; the only gate into the cache's key space. */
export const datasetIdSchema = z
  .object({
    symbol: symbolSchema,
    interval: intervalSchema,
    start_date: calendarDate,
    end_date: calendarDate,
    market_type: z._default(marketTypeSchema, "spot"),
  })
  .check(
    z.refine((id) => id.start_date <= id.end_date, {
      path: ["end_date"],
      message: "must not be before start_date",
    }),
  );

/** The dataset's name, `SYMBOL_interval_start_end_market`: what its cache key is the md5 of, and its files are called. */
export const datasetName = (id: DatasetId): string => `${id.symbol}_${id.interval}_${id.start_date}_${id.end_date}_${id.market_type}`;

/** The stored candle CSV's columns, in the original's order: Binance's kline fields, open time as `timestamp`. */
export const KLINE_COLUMNS = [
  "timestamp", "open", "high", "low", "close", "volume", "close_time",
  "quote_volume", "trades", "taker_base", "taker_quote", "ignore",
] as const;
