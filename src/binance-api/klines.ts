import type { Clock } from "../clock.js";
import type { Deadline } from "../deadline.js";
import { nextOpen, shiftedBy } from "../klines/interval.js";
import { FIRST_DATE } from "../klines/plan.js";
import type { KlinesRequest, KlinesResult, KlinesService } from "../klines/service.js";
import type { Log } from "../log.js";
import type { MarketType } from "../market.js";
import { dateOf, dayStartMs } from "../time.js";
import type { BinanceClient } from "../upstream/binance.js";
import type { BinanceKlinesQuery } from "./query.js";
import { binanceRowsOf, placesByTime, type BinanceRow } from "./rows.js";

export interface BinanceKlinesAnswer {
  /** Binance's rows, oldest first: what its klines endpoint answers, as one JSON array. */
  body: string;
  rows: number;
  /** The read-through's answers the rows came from (for the counters and headers). */
  results: KlinesResult[];
  /** Candles at the end passed through from Binance unstored (the one still forming, and any closed after the cutoff). */
  passedThrough: number;
  /** The pass-through was tried and failed: the rows end with the last closed candle the cache holds. */
  passThroughFailed: boolean;
  /** HTTP requests sent to Binance for this answer: the read-through's and the pass-through's. */
  upstreamRequests: number;
}

export interface BinanceKlinesOptions {
  klines: Pick<KlinesService, "get" | "csvChunksOf">;
  /** Binance itself, for the candle still forming (never stored); null where this function may not ask it. */
  upstream: Pick<BinanceClient, "klines"> | null;
  clock: Clock;
  log: Pick<Log, "warn">;
}

/** How many windows one answer reads through at most before it answers what it has (bounds the loop). */
const MAX_WINDOWS = 64;
/** A window grows fourfold after each one that holds too few candles, up to this many candles. */
const MAX_WINDOW_CANDLES = 400_000;
const FIRST_MS = dayStartMs(FIRST_DATE);

export type BinanceKlines = ReturnType<typeof createBinanceKlines>;

/**
 * Binance's klines endpoint over the read-through: the closed candles come from the cache's partitions (fetched
 * once, by the read-through's rules), paged as Binance pages them — with startTime, the first `limit` from it; with
 * only endTime, or neither, the last `limit` up to it (or now) — and the candle still forming at the end of a range
 * that reaches now is passed through from Binance, unstored, when the request may ask Binance at all.
 */
export function createBinanceKlines(options: BinanceKlinesOptions) {
  const { klines, upstream, clock, log } = options;

  /** The closed candles the cache holds (reading through) with open times in [fromMs, toMs]. */
  async function closedIn(market: MarketType, query: BinanceKlinesQuery, fromMs: number, toMs: number, request: KlinesRequest) {
    const dates = { start_date: dateOf(fromMs), end_date: dateOf(toMs) };
    const id = { symbol: query.symbol, interval: query.interval, ...dates, market_type: market, ...(query.price === "trade" ? {} : { price: query.price }) };
    const result = await klines.get(id, request);
    const runs = placesByTime(
      market,
      result.partitions.map((part) => ({ startMs: part.partition.startMs, decimals: part.state?.decimals })),
    );
    const chunks = await klines.csvChunksOf(result, request);
    return { result, rows: binanceRowsOf(chunks, runs, fromMs, toMs) };
  }

  /** From `fromMs` on, the first `limit` closed candles up to `lastMs`, in windows that grow when they hold too few. */
  async function forwardFrom(market: MarketType, query: BinanceKlinesQuery, fromMs: number, lastMs: number, request: KlinesRequest) {
    const rows: BinanceRow[] = [];
    const results: KlinesResult[] = [];
    let span = query.limit;
    for (let from = fromMs, windows = 0; from <= lastMs && rows.length < query.limit && windows < MAX_WINDOWS; windows++) {
      const to = Math.min(lastMs, shiftedBy(query.interval, from, span) - 1);
      const found = await closedIn(market, query, from, to, request);
      results.push(found.result);
      rows.push(...found.rows.slice(0, query.limit - rows.length));
      from = to + 1;
      span = Math.min(span * 4, MAX_WINDOW_CANDLES);
    }
    return { rows, results };
  }

  /** The last `limit` closed candles up to `lastMs`, in windows going back that grow when they hold too few. */
  async function backFrom(market: MarketType, query: BinanceKlinesQuery, lastMs: number, request: KlinesRequest) {
    const rows: BinanceRow[] = [];
    const results: KlinesResult[] = [];
    let span = query.limit;
    for (let to = lastMs, windows = 0; to >= FIRST_MS && rows.length < query.limit && windows < MAX_WINDOWS; windows++) {
      const from = Math.max(FIRST_MS, shiftedBy(query.interval, to, -span) + 1);
      const found = await closedIn(market, query, from, to, request);
      results.push(found.result);
      rows.unshift(...found.rows.slice(-(query.limit - rows.length)));
      to = from - 1;
      span = Math.min(span * 4, MAX_WINDOW_CANDLES);
    }
    return { rows, results };
  }

  /**
   * Binance's candles after the last closed one served, up to `lastMs`: the one still forming and any that closed
   * since the cutoff. Never stored; when Binance fails, none (and said so).
   */
  async function passedThrough(market: MarketType, query: BinanceKlinesQuery, afterMs: number, lastMs: number, deadline: Deadline | undefined) {
    if (!upstream) return { rows: [] as BinanceRow[], failed: false, requests: 0 };
    let requests = 0;
    try {
      const { symbol, interval, price } = query;
      const page = await upstream.klines(market, { symbol, interval, price, startTime: afterMs + 1, endTime: lastMs }, {
        deadline,
        onAttempt: () => requests++,
      });
      const rows = page.klines
        .filter((kline) => kline[0] > afterMs && kline[0] <= lastMs)
        .filter((kline, at, all) => at === 0 || kline[0] > (all[at - 1] as (typeof all)[number])[0])
        .map((kline) => ({ openMs: kline[0], json: JSON.stringify(kline) }));
      return { rows, failed: false, requests };
    } catch (error) {
      log.warn("binance_api_pass_through_failed", { market, symbol: query.symbol, interval: query.interval, error });
      return { rows: [] as BinanceRow[], failed: true, requests };
    }
  }

  return {
    async answer(market: MarketType, query: BinanceKlinesQuery, request: KlinesRequest = {}): Promise<BinanceKlinesAnswer> {
      const nowMs = clock.now().getTime();
      const lastMs = Math.min(query.endTime ?? nowMs, nowMs);
      const fromMs = query.startTime === null ? null : Math.max(query.startTime, FIRST_MS);
      const empty = (fromMs !== null && fromMs > lastMs) || lastMs < FIRST_MS;
      const closed = empty
        ? { rows: [], results: [] }
        : fromMs !== null
          ? await forwardFrom(market, query, fromMs, lastMs, request)
          : await backFrom(market, query, lastMs, request);
      // The range reaches the candle still forming: Binance's own tail, unstored, if the request may ask Binance.
      // Not when the last closed candle served is the one open at lastMs: no candle can follow it in the range.
      const lastServed = closed.rows.at(-1)?.openMs;
      const endsServed = lastServed !== undefined && nextOpen(query.interval, lastServed) > lastMs;
      const reachesNow =
        !empty && !endsServed && lastMs > shiftedBy(query.interval, nowMs, -1) && (query.startTime === null || closed.rows.length < query.limit);
      const mayAsk = request.spend === undefined || request.spend === "allowed";
      const afterMs = closed.rows.at(-1)?.openMs ?? (fromMs ?? shiftedBy(query.interval, lastMs, -query.limit)) - 1;
      const tail = reachesNow && mayAsk ? await passedThrough(market, query, afterMs, lastMs, request.deadline) : { rows: [], failed: false, requests: 0 };
      const all = [...closed.rows, ...tail.rows];
      const rows = query.startTime === null ? all.slice(-query.limit) : all.slice(0, query.limit);
      return {
        body: `[${rows.map((row) => row.json).join(",")}]`,
        rows: rows.length,
        results: closed.results,
        passedThrough: rows.filter((row) => row.openMs > afterMs).length,
        passThroughFailed: tail.failed,
        upstreamRequests: closed.results.reduce((sum, result) => sum + result.upstreamRequests, tail.requests),
      };
    },
  };
}
