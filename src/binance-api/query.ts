import { INTERVALS, type Interval, type MarketType } from "../market.js";
import { PRICE_KIND_SPECS, type PriceKind } from "../price-kinds.js";
import { BINANCE_CODES as CODE, BINANCE_MESSAGES as MSG, BinanceRequestError } from "./errors.js";

/** A klines request in Binance's terms, checked as Binance checks it. */
export interface BinanceKlinesQuery {
  /** The symbol, or for index candles the pair. */
  symbol: string;
  interval: Interval;
  /** The kind of candles (the endpoint asked: klines, markPriceKlines, indexPriceKlines, premiumIndexKlines). */
  price: PriceKind;
  /** Open times, epoch ms, inclusive; null when not sent. */
  startTime: number | null;
  endTime: number | null;
  limit: number;
}

/** Binance's page sizes: the default, and the largest of each market (spot 1000, USD-M futures 1500). */
export const KLINES_LIMITS: Record<MarketType, { default: number; max: number }> = {
  spot: { default: 500, max: 1000 },
  futures: { default: 500, max: 1500 },
};

/** Binance's legal range of a symbol, as its -1100 error names it. */
export const SYMBOL = /^[A-Z0-9\-_.]{1,20}$/;
const INTEGER = /^[0-9]{1,20}$/;
/** Spot takes timestamps in microseconds too: anything past the year 5138 in ms is read as µs. */
const MICROSECONDS_FROM = 1e14;
/** The time zones that leave UTC candles as they are: the only ones served (the stored candles are UTC's). */
const UTC_ZONES = new Set(["0", "+0", "-0", "00:00", "+00:00", "-00:00", "+00", "-00"]);

/** The klines query of `params`, or Binance's error for the first thing wrong with it, in Binance's order. */
export function klinesQueryOf(market: MarketType, params: URLSearchParams, price: PriceKind = "trade"): BinanceKlinesQuery {
  const name = PRICE_KIND_SPECS[price].symbolParam;
  const symbol = params.get(name) ?? "";
  if (symbol === "") throw new BinanceRequestError(CODE.MANDATORY_PARAM, MSG.mandatory(name));
  if (!SYMBOL.test(symbol)) throw new BinanceRequestError(CODE.ILLEGAL_CHARS, MSG.illegal(name, SYMBOL.source));
  const interval = params.get("interval") ?? "";
  if (interval === "") throw new BinanceRequestError(CODE.MANDATORY_PARAM, MSG.mandatory("interval"));
  if (!isInterval(interval) || (market === "futures" && interval === "1s")) {
    throw new BinanceRequestError(CODE.INVALID_INTERVAL, MSG.invalidInterval);
  }
  const startTime = timeOf(market, params, "startTime");
  const endTime = timeOf(market, params, "endTime");
  const limit = integerOf(params, "limit") ?? KLINES_LIMITS[market].default;
  if (limit < 1 || limit > KLINES_LIMITS[market].max) throw new BinanceRequestError(CODE.INVALID_PARAMETER, MSG.invalidData("limit"));
  const timeZone = params.get("timeZone");
  if (market === "spot" && timeZone !== null && !UTC_ZONES.has(timeZone.trim())) {
    throw new BinanceRequestError(CODE.INVALID_PARAMETER, `${MSG.invalidData("timeZone")} This cache serves UTC candles only: send 0 or leave it out.`);
  }
  if (startTime !== null && endTime !== null && startTime > endTime) throw new BinanceRequestError(CODE.START_AFTER_END, MSG.startAfterEnd);
  return { symbol, interval, price, startTime, endTime, limit };
}

const isInterval = (text: string): text is Interval => (INTERVALS as readonly string[]).includes(text);

/** A non-negative integer parameter; null when not sent; Binance's -1100 when it is not one. */
export function integerOf(params: URLSearchParams, name: string): number | null {
  const text = params.get(name);
  if (text === null || text === "") return null;
  if (!INTEGER.test(text)) throw new BinanceRequestError(CODE.ILLEGAL_CHARS, MSG.illegal(name, INTEGER.source));
  return Number(text);
}

function timeOf(market: MarketType, params: URLSearchParams, name: string): number | null {
  const value = integerOf(params, name);
  if (value === null) return null;
  return market === "spot" && value >= MICROSECONDS_FROM ? Math.floor(value / 1000) : value;
}
