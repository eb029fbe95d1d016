import type { Context, MiddlewareHandler } from "hono";
import { BINANCE_CODES as CODE, BINANCE_MESSAGES as MSG, BinanceRequestError } from "../../binance-api/errors.js";
import { fundingQueryOf } from "../../binance-api/funding.js";
import { klinesQueryOf } from "../../binance-api/query.js";
import type { MarketType } from "../../market.js";
import type { PriceKind } from "../../price-kinds.js";
import type { ExchangeInfo } from "../../symbols/exchange-info.js";
import type { Handlers, RouteChain } from "../app.js";
import { binanceRefusalOf } from "../binance-errors.js";
import type { AppDeps, AppEnv } from "../env.js";
import { countFunding, countKlines, fundingOutcomeOf, outcomeOf } from "../klines-counts.js";
import { requireRead, spendOf } from "../middleware/auth.js";
import { readThroughDeadlineOf } from "../request-deadline.js";

type Deps = Pick<AppDeps, "binanceKlines" | "binanceFunding" | "symbols" | "counters" | "clock" | "access" | "klinesDeadlineMs">;

/**
 * Binance's own REST shape, spot (/api/v3) and USD-M futures (/fapi/v1): klines (of every kind), funding rates,
 * exchangeInfo, time and ping, so
 * ccxt, freqtrade and any Binance client become clients of the cache with one base URL changed. Errors are
 * Binance's `{code, msg}`.
 */
export function binanceApi(deps: Deps): Handlers {
  const read = requireRead(deps.access);
  const chain = (handler: (c: Context<AppEnv>) => Promise<Response>): RouteChain => [inBinanceWords(), read, handler];
  const time = async (c: Context<AppEnv>) => c.json({ serverTime: deps.clock.now().getTime() });
  const ping = async (c: Context<AppEnv>) => c.json({});
  return {
    spotKlines: chain((c) => klines(c, "spot")),
    futuresKlines: chain((c) => klines(c, "futures")),
    futuresMarkPriceKlines: chain((c) => klines(c, "futures", "mark")),
    futuresIndexPriceKlines: chain((c) => klines(c, "futures", "index")),
    futuresPremiumIndexKlines: chain((c) => klines(c, "futures", "premium")),
    futuresFundingRate: chain(fundingRate),
    spotExchangeInfo: chain((c) => exchangeInfo(c, "spot")),
    futuresExchangeInfo: chain((c) => exchangeInfo(c, "futures")),
    spotTime: chain(time),
    futuresTime: chain(time),
    spotPing: chain(ping),
    futuresPing: chain(ping),
  };

  async function klines(c: Context<AppEnv>, market: MarketType, price: PriceKind = "trade"): Promise<Response> {
    const query = klinesQueryOf(market, new URL(c.req.url).searchParams, price);
    const answer = await deps.binanceKlines.answer(market, query, { deadline: readThroughDeadlineOf(c, deps.clock, deps.klinesDeadlineMs), spend: spendOf(c, deps.access) });
    for (const result of answer.results) countKlines(deps.counters, market, outcomeOf(result), result, price);
    const outcome = answer.results.some((result) => outcomeOf(result) !== "hit") ? "MISS" : "HIT";
    c.set("cacheOutcome", outcome === "HIT" ? "hit" : "absent");
    c.header("X-Cache", outcome);
    c.header("X-Upstream-Requests", String(answer.upstreamRequests));
    c.header("X-Passed-Through", answer.passThroughFailed ? "failed" : String(answer.passedThrough));
    c.header("Cache-Control", "no-store");
    return c.body(answer.body, 200, { "Content-Type": "application/json" });
  }

  async function fundingRate(c: Context<AppEnv>): Promise<Response> {
    const query = fundingQueryOf(new URL(c.req.url).searchParams);
    const answer = await deps.binanceFunding.answer(query, { deadline: readThroughDeadlineOf(c, deps.clock, deps.klinesDeadlineMs), spend: spendOf(c, deps.access) });
    const outcomes = answer.results.map(fundingOutcomeOf);
    answer.results.forEach((result, at) => countFunding(deps.counters, outcomes[at] ?? "hit", result));
    const outcome = outcomes.some((one) => one !== "hit") ? "MISS" : "HIT";
    c.set("cacheOutcome", outcome === "HIT" ? "hit" : "absent");
    c.header("X-Cache", outcome);
    c.header("X-Upstream-Requests", String(answer.upstreamRequests));
    c.header("Cache-Control", "no-store");
    return c.body(answer.body, 200, { "Content-Type": "application/json" });
  }

  async function exchangeInfo(c: Context<AppEnv>, market: MarketType): Promise<Response> {
    const { info, source } = await deps.symbols.exchangeInfo(market);
    c.header("X-Cache", source.toUpperCase());
    const symbols = market === "spot" ? wantedSymbols(new URL(c.req.url).searchParams) : null;
    return c.json({ ...info, serverTime: deps.clock.now().getTime(), symbols: symbols ? pick(info, symbols) : info.symbols });
  }
}

/** Spot's `symbol=` or `symbols=["A","B"]`, as Binance reads them; null for every symbol. */
function wantedSymbols(params: URLSearchParams): string[] | null {
  const one = params.get("symbol");
  const many = params.get("symbols");
  if (one !== null && many !== null) throw new BinanceRequestError(CODE.INVALID_PARAMETER, "Parameter 'symbol' and 'symbols' cannot be sent together.");
  if (one !== null) return [one];
  if (many === null) return null;
  const range = '^\\[("[A-Z0-9-_.]{1,20}"(,"[A-Z0-9-_.]{1,20}"){0,}){0,1}\\]$';
  if (!new RegExp(range).test(many)) throw new BinanceRequestError(CODE.ILLEGAL_CHARS, MSG.illegal("symbols", range));
  return JSON.parse(many) as string[];
}

/** The symbols asked for, in the order asked; Binance's -1121 if one is not listed. */
function pick(info: ExchangeInfo, wanted: string[]): ExchangeInfo["symbols"] {
  const bySymbol = new Map(info.symbols.map((entry) => [entry.symbol, entry]));
  return wanted.map((symbol) => {
    const entry = bySymbol.get(symbol);
    if (!entry) throw new BinanceRequestError(CODE.INVALID_SYMBOL, MSG.invalidSymbol);
    return entry;
  });
}

/**
 * Rewrites a refused request's answer in Binance's words (`{code, msg}`, Binance's status), keeping what the error
 * handler set (Retry-After; the log line with the internals); a 429 or 503 always says when to ask again.
 */
function inBinanceWords(): MiddlewareHandler<AppEnv> {
  return async function inBinanceWords(c, next) {
    await next();
    if (!c.error) return;
    const refusal = binanceRefusalOf(c.error, c.get("requestId"));
    const headers = new Headers({ "Content-Type": "application/json" });
    const retryAfter = c.res.headers.get("Retry-After") ?? (refusal.status === 429 || refusal.status === 503 ? "1" : null);
    if (retryAfter) headers.set("Retry-After", retryAfter);
    c.res = new Response(JSON.stringify({ code: refusal.code, msg: refusal.msg }), { status: refusal.status, headers });
  };
}
