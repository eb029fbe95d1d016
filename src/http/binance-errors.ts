import type { ContentfulStatusCode } from "hono/utils/http-status";
import { BINANCE_CODES as CODE, BINANCE_MESSAGES as MSG, BinanceRequestError } from "../binance-api/errors.js";
import { AppError, UpstreamBannedError } from "../errors.js";

/** A refusal as Binance's API words it: its status, and the `{code, msg}` body its clients read. */
export interface BinanceRefusal {
  status: ContentfulStatusCode;
  code: number;
  msg: string;
}

/**
 * The one table from this service's errors to Binance's codes, so Binance clients' error handling works: their
 * mistakes are Binance's 400s; what the cache cannot do now (the upstream down, banned or out of budget, the
 * request's time spent) is 503, or 429 for a ban or a pause, both with Retry-After; a 5xx says no internals.
 */
export function binanceRefusalOf(error: Error, requestId: string): BinanceRefusal {
  if (error instanceof BinanceRequestError) return { status: 400, code: error.binanceCode, msg: error.message };
  if (!(error instanceof AppError)) return { status: 500, code: CODE.UNKNOWN, msg: `An unknown error occurred while processing the request. (request id ${requestId})` };
  switch (error.code) {
    case "UNKNOWN_SYMBOL":
      return { status: 400, code: CODE.INVALID_SYMBOL, msg: MSG.invalidSymbol };
    case "VALIDATION_ERROR": {
      const issues = error.issues?.map((issue) => `${issue.field} ${issue.message}`).join("; ");
      return { status: 400, code: CODE.INVALID_PARAMETER, msg: issues ? `${error.message}: ${issues}` : error.message };
    }
    case "UNAUTHORIZED":
      return { status: 401, code: CODE.REJECTED_API_KEY, msg: error.message };
    case "WRITES_DISABLED":
    case "FORBIDDEN_ORIGIN":
    case "FORBIDDEN_HOST":
      return { status: 403, code: CODE.UNAUTHORIZED, msg: error.message };
    case "UPSTREAM_UNAVAILABLE":
      if (error instanceof UpstreamBannedError || /\b429\b|weight limit/.test(error.message)) {
        return { status: 429, code: CODE.TOO_MANY_REQUESTS, msg: `Binance is refusing this cache for now; ask again after Retry-After (request id ${requestId})` };
      }
      return { status: 503, code: CODE.SERVER_BUSY, msg: `Binance could not be reached or the request ran out of time; ask again after Retry-After (request id ${requestId})` };
    default:
      return { status: 503, code: CODE.SERVER_BUSY, msg: `The cache could not answer now; ask again after Retry-After (request id ${requestId})` };
  }
}
