import type { Clock } from "../clock.js";
import type { Deadline } from "../deadline.js";
import { AppError, UnauthorizedError, UpstreamUnavailableError, ValidationError, WritesDisabledError, type FieldIssue } from "../errors.js";
import { rowsInRange } from "../klines/partition.js";
import { FIRST_DATE, rangeOf } from "../klines/plan.js";
import type { Range } from "../klines/types.js";
import { dateOf, DAY_MS } from "../time.js";
import { mapLimit } from "../util/map-limit.js";
import type { FundingWant } from "./fetcher.js";
import { FUNDING_CSV_HEADER, fundingNeedOf, monthsOf, type FundingMonth, type FundingNeedContext } from "./month.js";
import { servedAsStored, type FundingReads, type ServedMonth } from "./store.js";

/** The range of funding rates asked: a USD-M symbol, from start_date 00:00 UTC to the end of end_date. */
export interface FundingId {
  symbol: string;
  start_date: string;
  end_date: string;
}

/**
 * How the months a range lacks come to be stored: fetched here (inline), or asked of the fill function, the one
 * writer where this process only reads (Lambda). Either way the months come back as served, in the order asked.
 */
export interface FundingSupply {
  supply(id: FundingId, wants: FundingWant[], request: FundingSupplyRequest): Promise<ServedMonth[]>;
}

export interface FundingSupplyRequest {
  context: FundingNeedContext;
  deadline: Deadline | undefined;
  /** Told of every HTTP request sent to Binance for this answer. */
  onAttempt(): void;
  /** Told of requests a fill function sent (its answer says how many). */
  addRequests(count: number): void;
}

export interface FundingRequest {
  deadline?: Deadline;
  /** Whether the request may fetch from Binance, as for klines (KlinesRequest.spend). */
  spend?: "allowed" | "token_required" | "writes_disabled";
}

export interface FundingResult {
  id: FundingId;
  range: Range;
  months: ServedMonth[];
  upstreamRequests: number;
  /**
   * What is proven: every month of the range complete (or reaching now, its records all there up to the exchange's
   * time), else the months whose records are not all proven, which an answer names (never filled).
   */
  coverage: { reachesNow: boolean; unproven: { from: string; to: string }[] };
}

export interface FundingServiceOptions {
  reads: FundingReads;
  supply: FundingSupply;
  clock: Clock;
  /** The exchange's "published" line (cutoff.of("futures")). */
  cutoffMs(): number;
  /** A month over but not proven complete is asked again at most this often (KLINES_RECHECK_SECONDS). */
  recheckSeconds?: number;
}

/** Ten years of months: what one request may span (a few thousand records a year at the 1 h cadence). */
const MAX_RANGE_DAYS = 3660;

export type FundingService = ReturnType<typeof createFundingService>;

/**
 * Funding rates for any range, read through the cache: calendar-month entries, each fetched from Binance once and
 * never again when complete by evidence (see pass.ts); the month that reaches now grows by its tail. A failure keeps
 * what was completed and fails the request, so an answer never has a silent hole.
 */
export function createFundingService(options: FundingServiceOptions) {
  const { reads, supply, clock } = options;
  const recheckMs = (options.recheckSeconds ?? 3600) * 1000;

  async function get(id: FundingId, request: FundingRequest = {}): Promise<FundingResult> {
    const { deadline } = request;
    const nowMs = clock.now().getTime();
    const issues = rangeIssues(id, nowMs);
    if (issues.length > 0) throw new ValidationError("Invalid query parameters", issues);
    const range = rangeOf({ ...id, interval: "1M", market_type: "futures" });
    const months = monthsOf(id.symbol, range, nowMs);
    const context = { range, cutoffMs: options.cutoffMs(), nowMs, recheckMs };
    const served: ServedMonth[] = [];
    const wants: (FundingWant & { index: number })[] = [];
    await mapLimit(months, 8, async (month, index) => {
      const stored = await reads.load(month, deadline?.signal);
      const need = fundingNeedOf(month, stored, context);
      if (need.kind === "fetch") wants.push({ index, month, fromMs: need.fromMs, stored });
      else served[index] = servedAsStored(month, need.kind, stored);
    });
    let requests = 0;
    if (wants.length > 0) {
      if (request.spend && request.spend !== "allowed") throw refusal(request.spend, wants.map((want) => want.month));
      wants.sort((a, b) => a.index - b.index);
      const counting = { context, deadline, onAttempt: () => requests++, addRequests: (count: number) => (requests += count) };
      const fetched = await supply.supply(id, wants, counting).catch((error: unknown) => {
        throw progressOf(error, { total: months.length, requests }, clock);
      });
      for (const [at, want] of wants.entries()) served[want.index] = fetched[at] as ServedMonth;
    }
    return { id, range, months: served, upstreamRequests: requests, coverage: coverageOf(served, range, options.cutoffMs()) };
  }

  return {
    get,

    /** The answer as CSV: one header, then each month's records in the range, oldest first. */
    async csvChunksOf(result: FundingResult, request: FundingRequest = {}): Promise<Uint8Array[]> {
      const bodies = await mapLimit(result.months, 8, async (part) =>
        rowsInRange(await reads.csvOf(part, request.deadline?.signal), part.month, result.range),
      );
      return [new TextEncoder().encode(FUNDING_CSV_HEADER), ...bodies.filter((body) => body.length > 0)];
    },
  };
}

/** What is wrong with the range beyond the query schema's checks. */
function rangeIssues(id: FundingId, nowMs: number): FieldIssue[] {
  const issues: FieldIssue[] = [];
  if (id.start_date < FIRST_DATE) issues.push({ field: "start_date", message: `must be ${FIRST_DATE} or later: Binance has no funding rates before` });
  if (id.start_date > dateOf(nowMs)) issues.push({ field: "start_date", message: "must not be after today (UTC)" });
  const days = (Date.parse(id.end_date) - Date.parse(id.start_date)) / DAY_MS + 1;
  if (days > MAX_RANGE_DAYS) issues.push({ field: "end_date", message: `the range spans ${days} days; one request may span at most ${MAX_RANGE_DAYS}: split it` });
  return issues;
}

/** The months not proven complete, but the one reaching now (its records are there up to the exchange's time). */
function coverageOf(months: readonly ServedMonth[], range: Range, cutoffMs: number): FundingResult["coverage"] {
  const reachesNow = range.endMs > cutoffMs;
  const unproven = months
    .filter((part) => !part.state?.complete && part.month.endMs <= cutoffMs)
    .map(({ month, state }) => ({ from: new Date(state?.resumeFromMs ?? month.startMs).toISOString(), to: new Date(month.endMs).toISOString() }));
  return { reachesNow, unproven };
}

function refusal(spend: "token_required" | "writes_disabled", missing: FundingMonth[]): AppError {
  if (spend === "writes_disabled") return new WritesDisabledError("Fetching funding rates from Binance is disabled here: this service has no CACHE_API_TOKEN");
  return new UnauthorizedError(
    "The cache does not hold all of this range, and fetching the rest from Binance needs 'Authorization: Bearer <CACHE_API_TOKEN>'",
    { missing: missing.map((month) => ({ start_date: dateOf(month.startMs), end_date: dateOf(month.endMs - DAY_MS) })) },
  );
}

/** A failed request's error, saying how far it got: the months completed are stored, so asking again goes on. */
function progressOf(error: unknown, progress: { total: number; requests: number }, clock: Clock): unknown {
  if (!(error instanceof AppError) || error.code !== "UPSTREAM_UNAVAILABLE") return error;
  return new UpstreamUnavailableError(`${error.message}; the months stored so far are kept, ask again to go on`, {
    cause: error,
    retryAt: error.retryAt ?? new Date(clock.now().getTime() + 1000),
    details: { months: progress.total, upstream_requests: progress.requests },
  });
}
