import type { BinanceFunding } from "../binance-api/funding.js";
import type { BinanceKlines } from "../binance-api/klines.js";
import type { DataCache, MissReason } from "../cache/data-cache.js";
import type { Access } from "./access.js";
import type { Clock } from "../clock.js";
import type { Counters } from "../counters/types.js";
import type { Conversions } from "../formats/conversions.js";
import type { FundingService } from "../funding/service.js";
import type { KlinesService } from "../klines/service.js";
import type { Log } from "../log.js";
import type { SymbolService } from "../symbols/service.js";

/** What the HTTP layer needs, passed in by deps.ts (or a test). */
export interface AppDeps {
  cache: DataCache;
  /** Hit and miss counts; counting never fails a request. */
  counters: Counters;
  symbols: SymbolService;
  /** Candles for any range, read through the month partitions. */
  klines: KlinesService;
  /** Binance's klines endpoint over the read-through, for Binance's own clients (ccxt, freqtrade). */
  binanceKlines: BinanceKlines;
  /** USD-M funding rates for any range, read through the month entries. */
  funding: FundingService;
  /** Binance's fundingRate endpoint over the funding read-through. */
  binanceFunding: BinanceFunding;
  clock: Clock;
  log: Log;
  /** Who may read, write and spend. */
  access: Access;
  maxBodyBytes: number;
  /**
   * Largest answer sent inline; a bigger CSV hit redirects to a presigned URL of the object (Lambda answers at
   * most 6 MB). Unset on the local server, which streams anything.
   */
  inlineMaxBytes?: number;
  presignTtlSeconds: number;
  /** Time budget of one klines request on the local server; on Lambda, the function's remaining time less a margin. */
  klinesDeadlineMs: number;
  /** The bound on CSV-to-columnar conversions running at once in this process (CONVERSIONS_MAX). */
  conversions: Conversions;
}

/** What Lambda hands a request (hono/aws-lambda puts it in `c.env`); absent on the local server. */
export interface LambdaBindings {
  lambdaContext?: { awsRequestId?: string; getRemainingTimeInMillis(): number };
}

/** Per-request values set by middleware and routes, read by the access log. */
export interface AppEnv {
  Bindings: LambdaBindings;
  Variables: {
    requestId: string;
    cacheOutcome?: "hit" | MissReason;
  };
}
