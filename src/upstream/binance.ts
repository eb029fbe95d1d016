import { setTimeout as delay } from "node:timers/promises";
import type { Interval, MarketType } from "../market.js";
import { kindOf, PRICE_KIND_SPECS, restPathOf, type PriceKind } from "../price-kinds.js";
import { systemClock, type Clock } from "../clock.js";
import type { Deadline } from "../deadline.js";
import { UnknownSymbolError, UpstreamBannedError, UpstreamUnavailableError } from "../errors.js";
import { silentLog, type Log } from "../log.js";
import type { SharedLimits } from "./limits.js";
import {
  binanceErrorCode,
  BodyTooLargeError,
  describe,
  readText,
  symbolOf,
  toFundingRecords,
  toKlines,
  urlOf,
  weightOf,
  type FundingRecord,
  type Kline,
  type Query,
} from "./binance-answers.js";

export const BINANCE_SPOT_URL = "https://api.binance.com";
export const BINANCE_FUTURES_URL = "https://fapi.binance.com";
export const BINANCE_SPOT_TESTNET_URL = "https://testnet.binance.vision";
export const BINANCE_FUTURES_TESTNET_URL = "https://testnet.binancefuture.com";

export interface BinanceClientOptions {
  /** Base URL of the spot REST API (serves /api/v3/...). */
  spotUrl?: string;
  /** Base URL of the USD-M futures REST API (serves /fapi/v1/...). */
  futuresUrl?: string;
  /** Time limit of one HTTP attempt, body included. */
  timeoutMs?: number;
  /** Attempts after the first, spent on 429, 5xx, network errors and timeouts; never on other 4xx or 418. */
  maxRetries?: number;
  /** Backoff before retry n is random() * min(backoffMaxMs, backoffBaseMs * 2^(n-1)): "full jitter". */
  backoffBaseMs?: number;
  /** Upper bound of one backoff delay. */
  backoffMaxMs?: number;
  /** Longest Retry-After of a 429 that is waited out; a longer one fails at once. */
  maxRetryAfterMs?: number;
  /**
   * Used weight (X-MBX-USED-WEIGHT-1M) at which the next request waits for the next minute, when the weight
   * window starts afresh. Defaults to 80% of Binance's limits: spot 6000, futures 2400.
   */
  weightSoftLimit1m?: Partial<Record<MarketType, number>>;
  /** The fetch to use; the global one by default. */
  fetch?: typeof fetch;
  /** How to wait (backoff, Retry-After); injected so tests are instant. */
  sleep?: (ms: number) => Promise<void>;
  /** Source of jitter in [0, 1); injected so tests are deterministic. */
  random?: () => number;
  /** "Now", for Retry-After deadlines and the 418 ban. */
  clock?: Clock;
  /** Where retries and bans are reported. */
  log?: Pick<Log, "warn">;
  /**
   * The limits every container sees (Upstash): bans, Retry-After pauses and this minute's weight, summed over all
   * of them. Without it, or while it fails, each process keeps its own.
   */
  shared?: SharedLimits;
}

/** The request weight Binance last reported for one API (X-MBX-USED-WEIGHT-1M), and when. */
export interface UsedWeight {
  weight1m: number;
  at: Date;
}

/** What a request may spend: its deadline (no wait runs past it), and a hook told of every HTTP attempt. */
export interface RequestOptions {
  deadline?: Deadline;
  onAttempt?: () => void;
}

/** One klines answer: the klines, and the exchange's clock when it answered (its Date header), when it said. */
export interface KlinesPage {
  klines: Kline[];
  /** A lower bound of the exchange's time at the answer (HTTP dates have whole seconds); null without a Date header. */
  exchangeTimeMs: number | null;
}

export interface BinanceClient {
  /** GET /api/v3/exchangeInfo or /fapi/v1/exchangeInfo: the parsed JSON, unchecked (see toSymbolList). */
  exchangeInfo(market: MarketType, options?: RequestOptions): Promise<unknown>;
  /** The weight last reported by this market's API; null before its first answer. */
  usedWeight(market: MarketType): UsedWeight | null;
  /** When the 418 ban on this market's API ends; null when not banned. */
  bannedUntil(market: MarketType): Date | null;
  /**
   * GET /api/v3/klines or /fapi/v1/klines: the klines whose open time lies in [startTime, endTime], oldest first,
   * at most `limit` (default: the market's largest page), each of Binance's shape. Nothing else is checked here:
   * whether they are the ones asked for is the caller's to judge.
   */
  klines(market: MarketType, query: KlinesQuery, options?: RequestOptions): Promise<KlinesPage>;
  /**
   * GET /fapi/v1/fundingRate (USD-M futures): the symbol's funding records whose fundingTime lies in [startTime,
   * endTime], oldest first, at most `limit` (default FUNDING_PAGE_LIMIT); with no startTime, the latest `limit`.
   * Checked for shape only, as klines.
   */
  fundingRate(query: FundingQuery, options?: RequestOptions): Promise<FundingPage>;
}

export interface FundingQuery {
  symbol: string;
  /** Epoch ms, inclusive. */
  startTime?: number;
  /** Epoch ms, inclusive. */
  endTime?: number;
  limit?: number;
}

/** One fundingRate answer: the records, and the exchange's clock when it answered (as KlinesPage). */
export interface FundingPage {
  records: FundingRecord[];
  exchangeTimeMs: number | null;
}

/** The largest fundingRate page: "Default 100; max 1000" (USD-M docs, Get Funding Rate History). */
export const FUNDING_PAGE_LIMIT = 1000;

export interface KlinesQuery {
  symbol: string;
  interval: Interval;
  /** The kind of candles (absent: trade candles); mark, index and premium are futures' only. */
  price?: PriceKind;
  /** Epoch ms, inclusive. */
  startTime?: number;
  /** Epoch ms, inclusive. */
  endTime?: number;
  limit?: number;
}

export type { FundingRecord, Kline };

/** The largest klines page of each market: spot 1000 (weight 2), USD-M futures 1500 (weight 10). */
export const KLINES_PAGE_LIMIT: Record<MarketType, number> = { spot: 1000, futures: 1500 };

/** What one HTTP attempt brought back. */
interface Answer {
  body: unknown;
  headers: Headers;
}

/** What one HTTP attempt came to, when it did not end the request. */
interface Failure {
  problem: string;
  cause?: unknown;
  /** false when the next attempt is already delayed by a Retry-After pause. */
  backoff: boolean;
}

/** The largest body read: a klines page is at most ~300 KB; exchangeInfo some MB. Anything larger is not Binance. */
const MAX_BODY_BYTES = { klines: 4 * 2 ** 20, exchangeInfo: 64 * 2 ** 20 };
/** Binance's ban lengths start at 2 minutes; used if a 418 comes without Retry-After. */
const DEFAULT_BAN_MS = 120_000;
const WEIGHT_HEADER = "x-mbx-used-weight-1m";
const WEIGHT_LIMIT_1M: Record<MarketType, number> = { spot: 6000, futures: 2400 };
/** After the shared limits fail, this process keeps its own for this long before asking them again. */
const SHARED_RETRY_MS = 10_000;
/** Binance's error code for a symbol it does not list: https://developers.binance.com/docs/binance-spot-api-docs/errors */
const INVALID_SYMBOL = -1121;
const MINUTE_MS = 60_000;

/**
 * Spot and futures are separate APIs with separate weight counters and bans, so each market keeps its own
 * state. Binance: https://developers.binance.com/docs/binance-spot-api-docs/rest-api/limits
 */
export function createBinanceClient(options: BinanceClientOptions = {}): BinanceClient {
  const baseUrls: Record<MarketType, string> = {
    spot: (options.spotUrl ?? BINANCE_SPOT_URL).replace(/\/+$/, ""),
    futures: (options.futuresUrl ?? BINANCE_FUTURES_URL).replace(/\/+$/, ""),
  };
  const timeoutMs = options.timeoutMs ?? 10_000;
  const maxRetries = options.maxRetries ?? 3;
  const backoffBaseMs = options.backoffBaseMs ?? 250;
  const backoffMaxMs = options.backoffMaxMs ?? 4_000;
  const maxRetryAfterMs = options.maxRetryAfterMs ?? 30_000;
  const weightSoftLimit1m: Record<MarketType, number> = {
    spot: options.weightSoftLimit1m?.spot ?? WEIGHT_LIMIT_1M.spot * 0.8,
    futures: options.weightSoftLimit1m?.futures ?? WEIGHT_LIMIT_1M.futures * 0.8,
  };
  const fetchFn = options.fetch ?? fetch;
  const sleep = options.sleep ?? ((ms: number) => delay(ms));
  const random = options.random ?? Math.random;
  const clock = options.clock ?? systemClock;
  const log = options.log ?? silentLog;

  const state: Record<MarketType, { weight: UsedWeight | null; bannedUntil: Date | null; pausedUntil: Date | null }> = {
    spot: { weight: null, bannedUntil: null, pausedUntil: null },
    futures: { weight: null, bannedUntil: null, pausedUntil: null },
  };
  const shared = options.shared;
  let sharedDownUntilMs = 0;

  /** Runs one call to the shared limits; when they fail, logs it and goes on without them for a while. */
  async function withShared<T>(what: string, call: (limits: SharedLimits) => Promise<T>): Promise<T | null> {
    if (!shared || clock.now().getTime() < sharedDownUntilMs) return null;
    try {
      return await call(shared);
    } catch (error) {
      sharedDownUntilMs = clock.now().getTime() + SHARED_RETRY_MS;
      log.warn("binance_shared_limits_unavailable", { what, error, retry_in_ms: SHARED_RETRY_MS });
      return null;
    }
  }

  /**
   * GET one endpoint with the house rules (timeout, ban, Retry-After, retries, the deadline); resolves to the parsed
   * JSON and the answer's headers.
   */
  async function request(
    market: MarketType,
    path: string,
    query: Query,
    maxBodyBytes: number,
    options: RequestOptions = {},
  ): Promise<Answer> {
    const url = urlOf(baseUrls[market], path, query);
    const weight = weightOf(market, path, Number(query.limit ?? 0));
    for (let attempt = 1; ; attempt++) {
      await waitForGo(market, options.deadline);
      await waitForShared(market, weight, options.deadline);
      options.onAttempt?.();
      const outcome = await attemptOnce(market, path, url, maxBodyBytes, options.deadline);
      if (!("problem" in outcome)) return outcome;
      if (attempt > maxRetries) {
        throw new UpstreamUnavailableError(
          `Binance ${market} ${path} failed after ${attempt} attempt${attempt === 1 ? "" : "s"}: ${outcome.problem}`,
          { cause: outcome.cause },
        );
      }
      log.warn("binance_retry", { market, path, attempt, problem: outcome.problem });
      if (outcome.backoff) await pause(random() * Math.min(backoffMaxMs, backoffBaseMs * 2 ** (attempt - 1)), options.deadline);
    }
  }

  /** Sleeps `ms`, unless that would run past the deadline: then fails at once, saying when to ask again. */
  async function pause(ms: number, deadline: Deadline | undefined, why = "a backoff"): Promise<void> {
    const now = clock.now().getTime();
    if (deadline && now + ms > deadline.atMs) {
      throw new UpstreamUnavailableError(
        `Binance needs ${why} of ${Math.ceil(ms / 1000)} s, longer than the ${Math.max(0, deadline.atMs - now)} ms this request has left`,
        { retryAt: new Date(now + ms) },
      );
    }
    await sleep(ms);
  }

  /**
   * Refuses while banned; waits out a 429 pause (once, so a fixed clock cannot loop), or refuses if too long; with
   * no pause, slows down near the weight limit.
   */
  async function waitForGo(market: MarketType, deadline: Deadline | undefined): Promise<void> {
    const now = clock.now().getTime();
    const { bannedUntil, pausedUntil } = state[market];
    if (bannedUntil && bannedUntil.getTime() > now) throw bannedError(market, bannedUntil);
    state[market].bannedUntil = null;
    const waitMs = (pausedUntil?.getTime() ?? now) - now;
    if (waitMs <= 0) return slowDownNearWeightLimit(market, now, deadline);
    if (waitMs > maxRetryAfterMs) {
      throw new UpstreamUnavailableError(
        `Binance ${market} is rate-limiting this client until ${pausedUntil?.toISOString()} (HTTP 429); ` +
          `that is longer than the ${maxRetryAfterMs} ms this client waits`,
        { retryAt: pausedUntil ?? undefined },
      );
    }
    await pause(waitMs, deadline, "a Retry-After pause (HTTP 429)");
  }

  /**
   * Counts the request in this minute's weight of every container, and heeds what another container learned: a ban
   * stops this one too; a Retry-After pause is waited out (or refused, as a local one); a minute whose summed weight
   * is past the soft limit is waited out to the next one. Each at most once, so a fixed clock cannot loop.
   */
  async function waitForShared(market: MarketType, weight: number, deadline: Deadline | undefined): Promise<void> {
    const view = await withShared("reserve", (limits) => limits.reserve(market, weight, clock.now().getTime()));
    if (!view) return;
    const now = clock.now().getTime();
    if (view.bannedUntilMs !== null && view.bannedUntilMs > now) {
      const until = new Date(view.bannedUntilMs);
      state[market].bannedUntil = until;
      throw bannedError(market, until);
    }
    if (view.pausedUntilMs !== null && view.pausedUntilMs > now) {
      state[market].pausedUntil = new Date(view.pausedUntilMs);
      return waitForGo(market, deadline);
    }
    if (view.usedWeight > weightSoftLimit1m[market]) {
      const waitMs = MINUTE_MS - (now % MINUTE_MS);
      log.warn("binance_shared_weight_slowdown", { market, weight1m: view.usedWeight, wait_ms: waitMs });
      await pause(waitMs, deadline, "a pause for the weight limit of all containers");
    }
  }

  /**
   * When this minute's reported weight has reached the soft limit, waits for the next minute, when Binance's weight
   * window starts afresh (once: the weight is then unknown until the next answer, so a fixed clock cannot loop).
   */
  async function slowDownNearWeightLimit(market: MarketType, now: number, deadline: Deadline | undefined): Promise<void> {
    const { weight } = state[market];
    if (!weight || weight.weight1m < weightSoftLimit1m[market]) return;
    if (Math.floor(weight.at.getTime() / MINUTE_MS) !== Math.floor(now / MINUTE_MS)) return;
    const waitMs = MINUTE_MS - (now % MINUTE_MS);
    log.warn("binance_weight_slowdown", { market, weight1m: weight.weight1m, wait_ms: waitMs });
    await pause(waitMs, deadline, "a pause for its weight limit");
    state[market].weight = null;
  }

  async function attemptOnce(
    market: MarketType,
    path: string,
    url: string,
    maxBodyBytes: number,
    deadline: Deadline | undefined,
  ): Promise<Answer | Failure> {
    if (deadline?.signal.aborted) throw outOfTime(market, path);
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = deadline ? AbortSignal.any([timeout, deadline.signal]) : timeout;
    let response: Response;
    let text: string;
    try {
      response = await fetchFn(url, { signal, headers: { accept: "application/json" } });
      text = await readText(response, maxBodyBytes);
    } catch (error) {
      if (deadline?.signal.aborted) throw outOfTime(market, path, error);
      if (error instanceof BodyTooLargeError) return { problem: error.message, backoff: true };
      const timedOut = timeout.aborted;
      return { problem: timedOut ? `timed out after ${timeoutMs} ms` : `network error: ${describe(error)}`, cause: error, backoff: true };
    }
    recordWeight(market, response.headers);
    const status = response.status;
    if (status === 418) {
      const until = new Date(clock.now().getTime() + (retryAfterMs(response.headers) ?? DEFAULT_BAN_MS));
      state[market].bannedUntil = until;
      log.warn("binance_banned", { market, path, until: until.toISOString(), body: text.slice(0, 200) });
      await withShared("ban", (limits) => limits.ban(market, until.getTime(), clock.now().getTime()));
      throw bannedError(market, until);
    }
    if (status === 429) {
      const waitMs = retryAfterMs(response.headers);
      if (waitMs === null) return { problem: "HTTP 429 without Retry-After", backoff: true };
      state[market].pausedUntil = new Date(clock.now().getTime() + waitMs);
      await withShared("pause", (limits) => limits.pause(market, clock.now().getTime() + waitMs, clock.now().getTime()));
      return { problem: `HTTP 429, Retry-After ${waitMs / 1000} s`, backoff: false };
    }
    if (status >= 500) return { problem: `HTTP ${status}: ${text.slice(0, 200)}`, backoff: true };
    if (!response.ok) {
      if (status === 400 && binanceErrorCode(text) === INVALID_SYMBOL) throw new UnknownSymbolError(symbolOf(url), market);
      throw new UpstreamUnavailableError(`Binance ${market} ${path} answered HTTP ${status}: ${text.slice(0, 200)}`);
    }
    try {
      return { body: JSON.parse(text) as unknown, headers: response.headers };
    } catch (error) {
      throw new UpstreamUnavailableError(
        `Binance ${market} ${path} answered HTTP ${status} with a body that is not JSON: ${JSON.stringify(text.slice(0, 100))}`,
        { cause: error },
      );
    }
  }

  function outOfTime(market: MarketType, path: string, cause?: unknown): UpstreamUnavailableError {
    return new UpstreamUnavailableError(`Binance ${market} ${path}: the request's time ran out`, {
      cause,
      retryAt: new Date(clock.now().getTime() + 1000),
    });
  }

  function recordWeight(market: MarketType, headers: Headers): void {
    const weight1m = Number(headers.get(WEIGHT_HEADER) ?? NaN);
    if (Number.isFinite(weight1m)) state[market].weight = { weight1m, at: clock.now() };
  }

  function bannedError(market: MarketType, until: Date): UpstreamBannedError {
    return new UpstreamBannedError(
      `Binance ${market} has banned this IP (HTTP 418) until ${until.toISOString()}; no requests are sent before then`,
      until,
    );
  }

  /** Retry-After in ms: delta-seconds (what Binance sends) or an HTTP date; null when absent or unreadable. */
  function retryAfterMs(headers: Headers): number | null {
    const value = headers.get("retry-after")?.trim();
    if (!value) return null;
    if (/^\d+(\.\d+)?$/.test(value)) return Math.round(Number(value) * 1000);
    const at = Date.parse(value);
    return Number.isNaN(at) ? null : Math.max(0, at - clock.now().getTime());
  }

  return {
    async exchangeInfo(market, options) {
      const path = market === "spot" ? "/api/v3/exchangeInfo" : "/fapi/v1/exchangeInfo";
      return (await request(market, path, {}, MAX_BODY_BYTES.exchangeInfo, options)).body;
    },
    async klines(market, { price, symbol, ...rest }, options) {
      const kind = kindOf({ price });
      const path = restPathOf(kind, market);
      if (path === null) throw new Error(`Binance ${market} has no ${kind} candles`);
      const query_ = { limit: KLINES_PAGE_LIMIT[market], [PRICE_KIND_SPECS[kind].symbolParam]: symbol, ...rest };
      const { body, headers } = await request(market, path, query_, MAX_BODY_BYTES.klines, options);
      const date = Date.parse(headers.get("date") ?? "");
      return { klines: toKlines(body, `Binance ${market} ${path}`), exchangeTimeMs: Number.isNaN(date) ? null : date };
    },
    async fundingRate(query, options) {
      const path = "/fapi/v1/fundingRate";
      const { body, headers } = await request("futures", path, { limit: FUNDING_PAGE_LIMIT, ...query }, MAX_BODY_BYTES.klines, options);
      const date = Date.parse(headers.get("date") ?? "");
      return { records: toFundingRecords(body, `Binance futures ${path}`), exchangeTimeMs: Number.isNaN(date) ? null : date };
    },
    usedWeight: (market) => state[market].weight,
    bannedUntil: (market) => {
      const until = state[market].bannedUntil;
      return until && until.getTime() > clock.now().getTime() ? until : null;
    },
  };
}
