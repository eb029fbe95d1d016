import type { Clock } from "../clock.js";
import { recordsOfLines } from "../funding/month.js";
import type { FundingRequest, FundingResult, FundingService } from "../funding/service.js";
import { FIRST_DATE } from "../klines/plan.js";
import { dateOf, DAY_MS, dayStartMs } from "../time.js";
import { BINANCE_CODES as CODE, BINANCE_MESSAGES as MSG, BinanceRequestError } from "./errors.js";
import { integerOf, SYMBOL } from "./query.js";

/** A fundingRate request in Binance's terms (GET /fapi/v1/fundingRate), checked as Binance checks it. */
export interface BinanceFundingQuery {
  symbol: string;
  /** fundingTime bounds, epoch ms, inclusive; null when not sent. */
  startTime: number | null;
  endTime: number | null;
  limit: number;
}

/** "Default 100; max 1000" (USD-M docs, Get Funding Rate History). */
export const FUNDING_LIMITS = { default: 100, max: 1000 };

/**
 * The query of `params`, or Binance's error for the first thing wrong with it. Binance answers every symbol's latest
 * records when `symbol` is left out; this cache keeps symbols one by one and asks for one (-1102).
 */
export function fundingQueryOf(params: URLSearchParams): BinanceFundingQuery {
  const symbol = params.get("symbol") ?? "";
  if (symbol === "") throw new BinanceRequestError(CODE.MANDATORY_PARAM, MSG.mandatory("symbol"));
  if (!SYMBOL.test(symbol)) throw new BinanceRequestError(CODE.ILLEGAL_CHARS, MSG.illegal("symbol", SYMBOL.source));
  const startTime = integerOf(params, "startTime");
  const endTime = integerOf(params, "endTime");
  const limit = integerOf(params, "limit") ?? FUNDING_LIMITS.default;
  if (limit < 1 || limit > FUNDING_LIMITS.max) throw new BinanceRequestError(CODE.INVALID_PARAMETER, MSG.invalidData("limit"));
  if (startTime !== null && endTime !== null && startTime > endTime) throw new BinanceRequestError(CODE.START_AFTER_END, MSG.startAfterEnd);
  return { symbol, startTime, endTime, limit };
}

export interface BinanceFundingAnswer {
  /** Binance's records, oldest first, as one JSON array. */
  body: string;
  rows: number;
  /** The read-through's answers the records came from (for the counters and headers). */
  results: FundingResult[];
  upstreamRequests: number;
}

/** How many windows one answer reads through at most (bounds the loop); each spans four times the one before. */
const MAX_WINDOWS = 8;
/** The longest funding interval Binance uses: `limit` records span at most this many times `limit`. */
const LONGEST_INTERVAL_MS = 8 * 3_600_000;
const FIRST_MS = dayStartMs(FIRST_DATE);
/** The widest window: what one read-through request may span (ten years). */
const MAX_WINDOW_MS = 3650 * DAY_MS;

interface Row {
  timeMs: number;
  json: string;
}

export type BinanceFunding = ReturnType<typeof createBinanceFunding>;

/**
 * Binance's fundingRate endpoint over the read-through: the records come from the cache's months (fetched once, by
 * the read-through's rules), paged as Binance pages them — with startTime, the first `limit` from it; otherwise the
 * last `limit` up to endTime (or now) — in Binance's JSON, byte for byte: its keys in its order, its strings.
 */
export function createBinanceFunding(options: { funding: Pick<FundingService, "get" | "csvChunksOf">; clock: Clock }) {
  const { funding, clock } = options;

  /** The records the cache holds (reading through) with times in [fromMs, toMs]. */
  async function recordsIn(symbol: string, fromMs: number, toMs: number, request: FundingRequest) {
    const result = await funding.get({ symbol, start_date: dateOf(fromMs), end_date: dateOf(toMs) }, request);
    const text = Buffer.concat(await funding.csvChunksOf(result, request)).toString("utf8");
    const rows = recordsOfLines(text)
      .filter((record) => record.fundingTime >= fromMs && record.fundingTime <= toMs)
      .map((record): Row => ({ timeMs: record.fundingTime, json: JSON.stringify(record) }));
    return { result, rows };
  }

  return {
    async answer(query: BinanceFundingQuery, request: FundingRequest = {}): Promise<BinanceFundingAnswer> {
      const nowMs = clock.now().getTime();
      const lastMs = Math.min(query.endTime ?? nowMs, nowMs);
      const rows: Row[] = [];
      const results: FundingResult[] = [];
      let span = Math.min(MAX_WINDOW_MS, query.limit * LONGEST_INTERVAL_MS);
      if (query.startTime !== null) {
        for (let from = Math.max(query.startTime, FIRST_MS), windows = 0; from <= lastMs && rows.length < query.limit && windows < MAX_WINDOWS; windows++) {
          const to = Math.min(lastMs, from + span - 1);
          const found = await recordsIn(query.symbol, from, to, request);
          results.push(found.result);
          rows.push(...found.rows.slice(0, query.limit - rows.length));
          from = to + 1;
          span = Math.min(span * 4, MAX_WINDOW_MS);
        }
      } else {
        for (let to = lastMs, windows = 0; to >= FIRST_MS && rows.length < query.limit && windows < MAX_WINDOWS; windows++) {
          const from = Math.max(FIRST_MS, to - span + 1);
          const found = await recordsIn(query.symbol, from, to, request);
          results.push(found.result);
          rows.unshift(...found.rows.slice(-(query.limit - rows.length)));
          to = from - 1;
          span = Math.min(span * 4, MAX_WINDOW_MS);
        }
      }
      return {
        body: `[${rows.map((row) => row.json).join(",")}]`,
        rows: rows.length,
        results,
        upstreamRequests: results.reduce((sum, result) => sum + result.upstreamRequests, 0),
      };
    },
  };
}
