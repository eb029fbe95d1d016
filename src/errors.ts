/**
 * The service's errors: one small hierarchy, free of HTTP. Each carries a stable machine-readable `code`; the HTTP
 * layer maps codes to statuses in one table (src/http/middleware/errors.ts).
 */

/** One problem with one input field, as listed in a VALIDATION_ERROR. */
export interface FieldIssue {
  field: string;
  message: string;
}

export type ErrorCode =
  | "VALIDATION_ERROR"
  | "INVALID_BODY"
  | "UNAUTHORIZED"
  | "WRITES_DISABLED"
  | "FORBIDDEN_ORIGIN"
  | "FORBIDDEN_HOST"
  | "NOT_FOUND"
  | "ENTRY_BUSY"
  | "CACHE_MISS"
  | "PAYLOAD_TOO_LARGE"
  | "UNSUPPORTED_MEDIA_TYPE"
  | "DIRECT_TRANSFER_UNAVAILABLE"
  | "INVALID_KEY"
  | "STORAGE_UNAVAILABLE"
  | "COUNTERS_UNAVAILABLE"
  | "SERVICE_BUSY"
  | "UPSTREAM_UNAVAILABLE"
  | "UPSTREAM_INVALID"
  | "UNKNOWN_SYMBOL";

export interface AppErrorOptions {
  cause?: unknown;
  issues?: FieldIssue[];
  /** Facts a caller can act on (how far a request got, which partitions are missing); safe to show. */
  details?: Record<string, unknown>;
  /** When asking again makes sense (a ban's end, the next try of a request that ran out of time). */
  retryAt?: Date;
}

export class AppError extends Error {
  override name = "AppError";
  readonly issues?: FieldIssue[];
  readonly details?: Record<string, unknown>;
  readonly retryAt?: Date;
  constructor(
    readonly code: ErrorCode,
    message: string,
    options: AppErrorOptions = {},
  ) {
    super(message, { cause: options.cause });
    this.issues = options.issues;
    this.details = options.details;
    this.retryAt = options.retryAt;
  }
}

export class ValidationError extends AppError {
  override name = "ValidationError";
  constructor(message: string, issues?: FieldIssue[]) {
    super("VALIDATION_ERROR", message, { issues });
  }
}

export class InvalidBodyError extends AppError {
  override name = "InvalidBodyError";
  constructor(message: string) {
    super("INVALID_BODY", message);
  }
}

export class UnauthorizedError extends AppError {
  override name = "UnauthorizedError";
  constructor(message = "Missing or wrong bearer token", details?: Record<string, unknown>) {
    super("UNAUTHORIZED", message, { details });
  }
}

/** Writes (and fetches from Binance) are closed: deployed without CACHE_API_TOKEN, and not opened on purpose. */
export class WritesDisabledError extends AppError {
  override name = "WritesDisabledError";
  constructor(message: string) {
    super("WRITES_DISABLED", message);
  }
}

/**
 * A request sent by a web page of another site or origin, as the browser says in its Sec-Fetch-Site or Origin
 * header (`evidence`: that header and its value).
 */
export class ForbiddenOriginError extends AppError {
  override name = "ForbiddenOriginError";
  constructor(evidence: string) {
    super("FORBIDDEN_ORIGIN", `This request is not accepted from a page of another site or origin (${evidence.slice(0, 100)})`);
  }
}

/** A request whose Host header does not name this server (a DNS-rebinding page's, or a name not configured). */
export class ForbiddenHostError extends AppError {
  override name = "ForbiddenHostError";
  constructor(host: string) {
    super("FORBIDDEN_HOST", `Host ${JSON.stringify(host.slice(0, 100))} does not name this server (ALLOWED_HOSTS lists the names it answers to)`);
  }
}

export class NotFoundError extends AppError {
  override name = "NotFoundError";
  constructor(message: string, code: "NOT_FOUND" | "CACHE_MISS" = "NOT_FOUND") {
    super(code, message);
  }
}

/**
 * Another writer is writing the same entry (its turn not had in time, or lost before committing): nothing of this
 * write was committed; asking again after `retryAt` may work.
 */
export class EntryBusyError extends AppError {
  override name = "EntryBusyError";
  constructor(message: string, retryAt: Date) {
    super("ENTRY_BUSY", message, { retryAt });
  }
}

export class PayloadTooLargeError extends AppError {
  override name = "PayloadTooLargeError";
  constructor(message: string) {
    super("PAYLOAD_TOO_LARGE", message);
  }
}

/** The CSV is too big to answer inline (Lambda answers at most 6 MB); the client should fetch it by URL. */
export class TooLargeToInlineError extends PayloadTooLargeError {
  override name = "TooLargeToInlineError";
  constructor(sizeBytes: number, maxBytes: number) {
    const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
    super(
      `The dataset's CSV is ${mb(sizeBytes)} MB, over the ${mb(maxBytes)} MB answered inline here; ` +
        "ask with format=csv (or Accept: text/csv) to be redirected to a download URL",
    );
  }
}

export class UnsupportedMediaTypeError extends AppError {
  override name = "UnsupportedMediaTypeError";
  constructor(message: string) {
    super("UNSUPPORTED_MEDIA_TYPE", message);
  }
}

/**
 * A key that would be unsafe or ambiguous in some store (escapes the base folder, odd characters). Every input is
 * validated before a key is made of it, so this can only mean a bug.
 */
export class InvalidKeyError extends AppError {
  override name = "InvalidKeyError";
  constructor(key: string, reason: string) {
    super("INVALID_KEY", `Invalid object key ${JSON.stringify(key.slice(0, 200))}: ${reason}`);
  }
}

/** The object store failed or timed out; the request may be retried later. */
export class StorageUnavailableError extends AppError {
  override name = "StorageUnavailableError";
  constructor(message: string, cause?: unknown) {
    super("STORAGE_UNAVAILABLE", message, { cause });
  }
}

/** Redis (counters, symbol lists, leases) failed or timed out. */
export class CountersUnavailableError extends AppError {
  override name = "CountersUnavailableError";
  constructor(message: string, cause?: unknown) {
    super("COUNTERS_UNAVAILABLE", message, { cause });
  }
}

/** The service is at its bound of concurrent heavy work (conversions); asking again after `retryAt` may work. */
export class ServiceBusyError extends AppError {
  override name = "ServiceBusyError";
  constructor(message: string, retryAt: Date) {
    super("SERVICE_BUSY", message, { retryAt });
  }
}

/** Binance could not be reached, refused, or the request ran out of time; asking again later may work. */
export class UpstreamUnavailableError extends AppError {
  override name = "UpstreamUnavailableError";
  constructor(message: string, options: Omit<AppErrorOptions, "issues"> = {}) {
    super("UPSTREAM_UNAVAILABLE", message, options);
  }
}

/** Binance banned this IP (HTTP 418): no request goes out to that API before `until`. */
export class UpstreamBannedError extends UpstreamUnavailableError {
  override name = "UpstreamBannedError";
  constructor(
    message: string,
    readonly until: Date,
  ) {
    super(message, { retryAt: until });
  }
}

/** Binance answered something that cannot be true (a stuck cursor, candles out of order or off the grid). */
export class UpstreamInvalidError extends AppError {
  override name = "UpstreamInvalidError";
  constructor(message: string, details?: Record<string, unknown>) {
    super("UPSTREAM_INVALID", message, { details });
  }
}

/** Binance does not list this symbol (its error -1121). */
export class UnknownSymbolError extends AppError {
  override name = "UnknownSymbolError";
  constructor(
    readonly symbol: string,
    readonly market: string,
  ) {
    super("UNKNOWN_SYMBOL", `Binance ${market} does not list ${symbol}`);
  }
}

/** A bad environment: thrown at start-up, names the variable. */
export class ConfigError extends Error {
  override name = "ConfigError";
}
