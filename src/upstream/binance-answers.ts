import type { MarketType } from "../market.js";
import { UpstreamUnavailableError } from "../errors.js";
import { readAtMost } from "./body.js";

/**
 * What Binance's answers say, read and checked apart from the client that asks (binance.ts): bodies read up to a
 * cap, error codes, the weight each request is charged, klines checked field by field, URLs and error text.
 */

/**
 * One kline as Binance sends it: open time, open, high, low, close, volume, close time (the next open - 1 ms),
 * quote volume, trades, taker buy base volume, taker buy quote volume, ignore. Decimals stay Binance's strings.
 */
export type Kline = [number, string, string, string, string, string, number, string, number, string, string, string];

export type Query = Record<string, string | number | undefined>;

export class BodyTooLargeError extends Error {
  override name = "BodyTooLargeError";
}

/** The body as text, read until `maxBytes`: an answer larger than that is refused, never held whole. */
export async function readText(response: Response, maxBytes: number): Promise<string> {
  const body = await readAtMost(response, maxBytes, (declared) =>
    declared === undefined
      ? new BodyTooLargeError(`answer of more than ${maxBytes} bytes, which this client does not read`)
      : new BodyTooLargeError(`answer of ${declared} bytes, over the ${maxBytes} this client reads`),
  );
  return body.toString("utf8");
}

export const symbolOf = (url: string): string => {
  const params = new URL(url).searchParams;
  return params.get("symbol") ?? params.get("pair") ?? "";
};

/**
 * The weight of GET /fapi/v1/fundingRate in the minute's budget. Binance counts it apart, 500 requests per 5 minutes
 * per IP (shared with /fapi/v1/fundingInfo): charged 1/100 of futures' 2,400 a minute, the budget every container
 * sums lets at most 100 a minute through (80 below the soft limit), within those 500 per 5 minutes.
 */
export const FUNDING_RATE_WEIGHT = 24;

/** The weight Binance charges a request (its docs of each endpoint): spot klines 2, futures klines by limit. */
export function weightOf(market: MarketType, path: string, limit: number): number {
  if (path.endsWith("/exchangeInfo")) return market === "spot" ? 20 : 1;
  if (path.endsWith("/fundingRate")) return FUNDING_RATE_WEIGHT;
  if (market === "spot") return 2;
  return limit < 100 ? 1 : limit < 500 ? 2 : limit <= 1000 ? 5 : 10;
}

/** The `code` of a Binance error body (`{"code": -1121, "msg": "Invalid symbol."}`); null when it is not one. */
export function binanceErrorCode(text: string): number | null {
  try {
    const code = (JSON.parse(text) as { code?: unknown }).code;
    return typeof code === "number" ? code : null;
  } catch {
    return null;
  }
}

const DECIMAL = /^-?\d+(\.\d+)?$/;
const DECIMAL_FIELDS = [1, 2, 3, 4, 5, 7, 9, 10];

/** The klines in `body`, checked: 12 fields each, integers and decimal strings where Binance puts them. */
export function toKlines(body: unknown, source: string): Kline[] {
  if (!Array.isArray(body)) throw new UpstreamUnavailableError(`${source} answered something other than a list of klines`);
  body.forEach((row: unknown, index) => {
    const ok =
      Array.isArray(row) &&
      row.length === 12 &&
      [0, 6, 8].every((field) => Number.isSafeInteger(row[field])) &&
      DECIMAL_FIELDS.every((field) => typeof row[field] === "string" && DECIMAL.test(row[field])) &&
      typeof row[11] === "string" &&
      !/[,"\r\n]/.test(row[11]);
    if (!ok) {
      const shown = JSON.stringify(row).slice(0, 200);
      throw new UpstreamUnavailableError(`${source} answered a kline of an unknown shape at index ${index}: ${shown}`);
    }
  });
  return body as Kline[];
}

/**
 * One funding rate record as Binance sends it (GET /fapi/v1/fundingRate), its keys in Binance's order; the rate and
 * the mark price stay Binance's strings (the mark price is "" in records older than Binance's recording of it).
 */
export interface FundingRecord {
  symbol: string;
  fundingTime: number;
  fundingRate: string;
  markPrice: string;
}

/** The records in `body`, checked: each an object of Binance's four keys, an integer time and decimal strings. */
export function toFundingRecords(body: unknown, source: string): FundingRecord[] {
  if (!Array.isArray(body)) throw new UpstreamUnavailableError(`${source} answered something other than a list of funding records`);
  return body.map((row: unknown, index) => {
    const record = row as Partial<FundingRecord> | null;
    const ok =
      typeof record === "object" &&
      record !== null &&
      typeof record.symbol === "string" &&
      /^[A-Z0-9_]{1,32}$/.test(record.symbol) &&
      Number.isSafeInteger(record.fundingTime) &&
      typeof record.fundingRate === "string" &&
      DECIMAL.test(record.fundingRate) &&
      (record.markPrice === undefined || record.markPrice === "" || (typeof record.markPrice === "string" && DECIMAL.test(record.markPrice)));
    if (!ok) {
      const shown = JSON.stringify(row).slice(0, 200);
      throw new UpstreamUnavailableError(`${source} answered a funding record of an unknown shape at index ${index}: ${shown}`);
    }
    const { symbol, fundingTime, fundingRate, markPrice = "" } = record as FundingRecord;
    return { symbol, fundingTime, fundingRate, markPrice };
  });
}

export function urlOf(baseUrl: string, path: string, query: Query): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) if (value !== undefined) params.set(name, String(value));
  const search = params.toString();
  return `${baseUrl}${path}${search ? `?${search}` : ""}`;
}

export function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error.cause as { code?: unknown } | undefined)?.code;
  return typeof code === "string" ? `${error.message} (${code})` : error.message;
}
