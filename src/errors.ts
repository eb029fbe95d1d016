/**
 * The service's errors: one small hierarchy, mapped to HTTP in one place (src/http/errors.ts).
 * Each carries a stable machine-readable `code` and the HTTP status it stands for.
 */

/** One problem with one input field, as listed in a VALIDATION_ERROR. */
export interface FieldIssue {
  field: string;
  message: string;
}

export class AppError extends Error {
  override name = "AppError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    options: { cause?: unknown; issues?: FieldIssue[] } = {},
  ) {
    super(message, { cause: options.cause });
    this.issues = options.issues;
  }
  readonly issues?: FieldIssue[];
}

export class ValidationError extends AppError {
  override name = "ValidationError";
  constructor(message: string, issues?: FieldIssue[]) {
    super(400, "VALIDATION_ERROR", message, { issues });
  }
}

export class InvalidBodyError extends AppError {
  override name = "InvalidBodyError";
  constructor(message: string) {
    super(400, "INVALID_BODY", message);
  }
}

export class UnauthorizedError extends AppError {
  override name = "UnauthorizedError";
  constructor(message = "Missing or wrong bearer token") {
    super(401, "UNAUTHORIZED", message);
  }
}

export class NotFoundError extends AppError {
  override name = "NotFoundError";
  constructor(message: string, code = "NOT_FOUND") {
    super(404, code, message);
  }
}

export class PayloadTooLargeError extends AppError {
  override name = "PayloadTooLargeError";
  constructor(message: string) {
    super(413, "PAYLOAD_TOO_LARGE", message);
  }
}

export class UnsupportedMediaTypeError extends AppError {
  override name = "UnsupportedMediaTypeError";
  constructor(message: string) {
    super(415, "UNSUPPORTED_MEDIA_TYPE", message);
  }
}

/** A key that would be unsafe or ambiguous in some store (escapes the base folder, odd characters). */
export class InvalidKeyError extends AppError {
  override name = "InvalidKeyError";
  constructor(key: string, reason: string) {
    super(400, "INVALID_KEY", `Invalid object key ${JSON.stringify(key.slice(0, 200))}: ${reason}`);
  }
}

/** The object store failed or timed out; the request may be retried later. */
export class StorageUnavailableError extends AppError {
  override name = "StorageUnavailableError";
  constructor(message: string, cause?: unknown) {
    super(503, "STORAGE_UNAVAILABLE", message, { cause });
  }
}

export class UpstreamUnavailableError extends AppError {
  override name = "UpstreamUnavailableError";
  constructor(message: string, cause?: unknown) {
    super(503, "UPSTREAM_UNAVAILABLE", message, { cause });
  }
}

/** A bad environment: thrown at start-up, names the variable. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Binance banned this IP (HTTP 418): no request goes out to that API before `until`. */
export class UpstreamBannedError extends UpstreamUnavailableError {
  override name = "UpstreamBannedError";
  constructor(
    message: string,
    readonly until: Date,
  ) {
    super(message);
  }
}
