import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { AppError, UnknownSymbolError, ValidationError, type ErrorCode } from "../../errors.js";
import type { Clock } from "../../clock.js";
import type { Log } from "../../log.js";
import { failure } from "../envelope.js";
import type { AppEnv } from "../env.js";

/** The one table from the service's errors to HTTP statuses. */
const STATUS: Record<ErrorCode, ContentfulStatusCode> = {
  VALIDATION_ERROR: 400,
  INVALID_BODY: 400,
  DIRECT_TRANSFER_UNAVAILABLE: 400,
  UNKNOWN_SYMBOL: 400,
  UNAUTHORIZED: 401,
  WRITES_DISABLED: 403,
  FORBIDDEN_ORIGIN: 403,
  FORBIDDEN_HOST: 403,
  NOT_FOUND: 404,
  CACHE_MISS: 404,
  ENTRY_BUSY: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  // Inputs are validated before any key is made of them: a bad key is a bug.
  INVALID_KEY: 500,
  STORAGE_UNAVAILABLE: 503,
  COUNTERS_UNAVAILABLE: 503,
  SERVICE_BUSY: 503,
  UPSTREAM_UNAVAILABLE: 503,
  UPSTREAM_INVALID: 503,
};

/**
 * What a caller reads of a 5xx: what failed and what to do, never the internals (paths, bucket names, upstream
 * bodies), which go to the log line with the request id.
 */
const PUBLIC_MESSAGE: Partial<Record<ErrorCode, string>> = {
  STORAGE_UNAVAILABLE: "The cache storage failed or did not answer in time; ask again",
  COUNTERS_UNAVAILABLE: "Redis failed or did not answer in time; ask again",
  SERVICE_BUSY: "The service is at its bound of conversions running at once; ask again after Retry-After",
  UPSTREAM_UNAVAILABLE: "Binance could not be reached, refused, or the request ran out of time; ask again after Retry-After",
  UPSTREAM_INVALID: "Binance answered candles that cannot be right (out of order, off the grid, or a cursor that does not move); nothing of them was stored",
  INVALID_KEY: "Internal error",
};

/** A symbol Binance does not list is a bad query field to the caller. */
function answerOf(error: AppError): AppError {
  if (error instanceof UnknownSymbolError) {
    return new ValidationError("Invalid query parameters", [{ field: "symbol", message: `is not a symbol Binance ${error.market} lists` }]);
  }
  return error;
}

/**
 * The one place errors become HTTP answers: typed errors get their status from STATUS (and Retry-After when they
 * say when to ask again); anything else is a logged 500. A 5xx answer names the request id; its log line has the
 * internals.
 */
export const errorHandler = ({ log, clock }: { log: Log; clock: Clock }) =>
  function errorHandler(error: Error, c: Context<AppEnv>): Response {
    const requestId = c.get("requestId");
    if (error instanceof AppError) {
      const answer = answerOf(error);
      const status = STATUS[answer.code];
      const details = answer.retryAt ? { ...answer.details, retry_at: answer.retryAt.toISOString() } : answer.details;
      if (answer.retryAt) c.header("Retry-After", String(secondsUntil(answer.retryAt, clock.now())));
      if (status < 500) return c.json(failure(answer.code, answer.message, answer.issues, details), status);
      log.error("request_failed", { request_id: requestId, code: answer.code, error, cause: error.cause });
      const code = answer.code === "INVALID_KEY" ? "INTERNAL_ERROR" : answer.code;
      const message = `${PUBLIC_MESSAGE[answer.code] ?? "Internal error"} (request id ${requestId})`;
      return c.json(failure(code, message, undefined, details), status);
    }
    if (error instanceof HTTPException) {
      return c.json(failure(`HTTP_${error.status}`, error.message || "Request failed"), error.status);
    }
    log.error("unhandled_error", { request_id: requestId, error, stack: error.stack });
    return c.json(failure("INTERNAL_ERROR", `Internal error (request id ${requestId})`), 500);
  };

export const notFoundHandler = (c: Context<AppEnv>): Response =>
  c.json(failure("NOT_FOUND", `No route for ${c.req.method} ${c.req.path}`), 404);

const secondsUntil = (until: Date, now: Date): number => Math.max(1, Math.ceil((until.getTime() - now.getTime()) / 1000));
