import type { Deadline } from "../deadline.js";
import { AppError, type ErrorCode, type FieldIssue, UnknownSymbolError, ValidationError } from "../errors.js";
import { datasetIdSchema } from "../market.js";
import { priceKindSchema, type SeriesId } from "../price-kinds.js";
import type { ArchiveTally } from "./served.js";

/**
 * The fill: the one writer of the read-through's partitions where the answering function only reads (Lambda: the
 * klines function asks the fill function, see asked-supply.ts). What it is asked is a range's dataset id; what it
 * answers says how far it got, or the error it met, as plain JSON (it crosses a function boundary).
 */
export type FillRequest = SeriesId | FundingFillRequest;

/** What the fill is asked for funding rates: a USD-M symbol's range, marked as funding (see funding/fill.ts). */
export interface FundingFillRequest {
  series: "funding";
  symbol: string;
  start_date: string;
  end_date: string;
}

/** Whether the fill is asked for funding rates rather than candles. */
export const isFundingFill = (payload: unknown): boolean =>
  typeof payload === "object" && payload !== null && (payload as { series?: unknown }).series === "funding";

export type FillAnswer =
  | { ok: true; partitions: number; upstream_requests: number; archive: ArchiveTally }
  | { ok: false; error: FillError };

/** An AppError as JSON: its code, message and what a caller can act on. */
export interface FillError {
  code: ErrorCode;
  message: string;
  issues?: FieldIssue[];
  details?: Record<string, unknown>;
  retry_at?: string;
}

/** What the fill needs of the read-through: its inline `get` (the service itself, see service.ts). */
export interface FillingKlines {
  get(
    id: SeriesId,
    request: { deadline: Deadline; spend: "allowed" },
  ): Promise<{ partitions: unknown[]; upstreamRequests: number; archive: ArchiveTally }>;
}

/**
 * Fills the range asked: every partition it lacks is fetched from Binance and stored (inline, with the leases and
 * budget of any fetch), up to `deadline`. Never throws: an error is answered, so the asker can rebuild it.
 */
export async function fill(klines: FillingKlines, request: unknown, deadline: Deadline): Promise<FillAnswer> {
  try {
    const parsed = datasetIdSchema.safeParse(request);
    if (!parsed.success) throw new ValidationError("The fill was asked for no dataset id");
    const price = (request as { price?: unknown }).price;
    const kind = price === undefined ? null : priceKindSchema.safeParse(price);
    if (kind && !kind.success) throw new ValidationError("The fill was asked for an unknown kind of candles");
    const result = await klines.get(kind ? { ...parsed.data, price: kind.data } : parsed.data, { deadline, spend: "allowed" });
    return { ok: true, partitions: result.partitions.length, upstream_requests: result.upstreamRequests, archive: result.archive };
  } catch (error) {
    return { ok: false, error: fillErrorOf(error) };
  }
}

/** The error as the fill answers it; the service's own progress wording is left to the asker, which adds its own. */
export function fillErrorOf(error: unknown): FillError {
  if (!(error instanceof AppError)) return { code: "UPSTREAM_UNAVAILABLE", message: "The fill failed" };
  if (error instanceof UnknownSymbolError) {
    return { code: error.code, message: error.message, details: { symbol: error.symbol, market: error.market } };
  }
  const root = error.code === "UPSTREAM_UNAVAILABLE" && error.cause instanceof AppError ? error.cause : error;
  return {
    code: error.code,
    message: root.message,
    ...(error.issues ? { issues: error.issues } : {}),
    ...(root.details ? { details: root.details } : {}),
    ...(error.retryAt ? { retry_at: error.retryAt.toISOString() } : {}),
  };
}

/** The fill's error as the asker throws it. */
export function errorOfFill(error: FillError): AppError {
  const { symbol, market } = error.details ?? {};
  if (error.code === "UNKNOWN_SYMBOL" && typeof symbol === "string" && typeof market === "string") return new UnknownSymbolError(symbol, market);
  const retryAt = error.retry_at ? new Date(error.retry_at) : undefined;
  return new AppError(error.code, error.message, { issues: error.issues, details: error.details, retryAt });
}
