import type { FieldIssue } from "../errors.js";
import type { DatasetId, Interval } from "../market.js";
import { kindOf, restPathOf, type SeriesId } from "../price-kinds.js";
import { candlesBetween, crossesMonths, nextOpen } from "./interval.js";
import { dateOf, DAY_MS, dayStartMs, dayStartOf, monthStart } from "../time.js";
import { hasUnprovenHole } from "./partition.js";
import type { FetchGroup, Partition, PartitionState, Range } from "./types.js";

/**
 * The most candles one request may span (up to now): a leap year of 1m candles. It bounds what one cold request
 * costs upstream (about 530 spot pages, weight about 1,060 of the 6,000 a minute) and what one answer holds in
 * memory (about 70 MB of CSV). Ten years of 1h candles fit; ten years of 1s candles (315 million) do not.
 */
export const MAX_RANGE_CANDLES = 527_040;

/** Binance opened in July 2017: nothing to fetch before. */
export const FIRST_DATE = "2017-07-01";


/** The request's range: from start_date 00:00 UTC to the end of end_date (end_date + 1 day, 00:00 UTC). */
export function rangeOf(id: DatasetId): Range {
  return { startMs: dayStartMs(id.start_date), endMs: dayStartMs(id.end_date) + DAY_MS };
}

/** Calendar months, but days for 1s candles: a month of them (2.7 million rows, about 400 MB of CSV) is too big. */
function partitionStart(interval: Interval, ms: number): number {
  return interval === "1s" ? dayStartOf(ms) : monthStart(ms);
}

function partitionEnd(interval: Interval, startMs: number): number {
  return interval === "1s" ? startMs + DAY_MS : monthStart(startMs, 1);
}

/** The partitions that hold the range's candles that may exist by `nowMs`, oldest first. */
export function partitionsOf(id: SeriesId, nowMs: number): Partition[] {
  const { startMs, endMs } = rangeOf(id);
  const partitions: Partition[] = [];
  for (let start = partitionStart(id.interval, startMs); start < Math.min(endMs, nowMs); ) {
    const end = partitionEnd(id.interval, start);
    partitions.push({ id: { ...id, start_date: dateOf(start), end_date: dateOf(end - DAY_MS) }, startMs: start, endMs: end });
    start = end;
  }
  return partitions;
}

/** When every candle that opens in the partition has closed. */
export function closesAt(partition: Partition): number {
  const { interval } = partition.id;
  return crossesMonths(interval) ? nextOpen(interval, partition.endMs) : partition.endMs;
}

/** What is wrong with the range beyond the dataset schema's checks: none, or the fields to fix. */
export function rangeIssues(id: SeriesId, nowMs: number): FieldIssue[] {
  const issues: FieldIssue[] = [];
  if (id.start_date < FIRST_DATE) {
    issues.push({ field: "start_date", message: `must be ${FIRST_DATE} or later: Binance has no candles before July 2017` });
  }
  if (id.start_date > dateOf(nowMs)) issues.push({ field: "start_date", message: "must not be after today (UTC)" });
  if (id.interval === "1s" && id.market_type === "futures") issues.push({ field: "interval", message: "1s candles are spot only" });
  if (restPathOf(kindOf(id), id.market_type) === null) {
    issues.push({ field: "price", message: `${kindOf(id)} price candles are futures only: ask with market_type=futures, or price=trade` });
  }
  const { startMs, endMs } = rangeOf(id);
  const candles = candlesBetween(id.interval, startMs, Math.min(endMs, nowMs));
  if (candles > MAX_RANGE_CANDLES) {
    issues.push({
      field: "end_date",
      message:
        `the range spans ${candles.toLocaleString("en-US")} ${id.interval} candles; one request may span at most ` +
        `${MAX_RANGE_CANDLES.toLocaleString("en-US")} (a leap year of 1m candles): split it`,
    });
  }
  return issues;
}

/**
 * What the partition needs for this request: nothing (cached), a fetch from `fromMs` (the whole partition, or the
 * tail after its last stored candle), or nothing because no candle of it can have closed yet (unclosed, not
 * stored). A complete partition is never fetched again. An incomplete one is fetched when the range wants candles
 * past its last stored one and one of those can have closed by `cutoffMs`; but one that misses closed candles
 * without proof (see hasUnprovenHole) at most once per `recheckMs` after it was last checked.
 */
export type Need = { kind: "cached" } | { kind: "unclosed" } | { kind: "fetch"; fromMs: number };

export interface NeedContext {
  range: Range;
  cutoffMs: number;
  nowMs: number;
  recheckMs: number;
}

export function needOf(
  partition: Partition,
  stored: { state: PartitionState; checkedAtMs: number } | null,
  context: NeedContext,
): Need {
  const { range, cutoffMs } = context;
  if (stored?.state.complete) return { kind: "cached" };
  const fromMs = stored?.state.resumeFromMs ?? partition.startMs;
  const wantedUntilMs = Math.min(range.endMs, partition.endMs);
  const idle: Need = stored ? { kind: "cached" } : { kind: "unclosed" };
  if (fromMs >= wantedUntilMs || nextOpen(partition.id.interval, fromMs) > cutoffMs) return idle;
  if (stored && hasUnprovenHole(partition.id.interval, partition, stored.state, stored.state.checkedUntilMs)) {
    if (context.nowMs - stored.checkedAtMs < context.recheckMs) return { kind: "cached" };
  }
  return { kind: "fetch", fromMs };
}

/** One partition to fetch: from where, and the open time of its last stored candle before that (null: none). */
export interface Fetch {
  partition: Partition;
  fromMs: number;
  heldBeforeMs: number | null;
}

/**
 * Groups the fetches so none costs more pages than it must: adjacent whole partitions share a paging pass while
 * their candles fit one page (twelve months of 1d candles are one request, not twelve); a partition larger than a
 * page, or one fetched from its tail, is a pass of its own.
 */
export function planFetches(fetches: Fetch[], pageLimit: number): FetchGroup[] {
  const groups: (FetchGroup & { candles: number })[] = [];
  for (const { partition, fromMs, heldBeforeMs } of fetches) {
    const candles = candlesBetween(partition.id.interval, fromMs, partition.endMs);
    const last = groups.at(-1);
    const whole = fromMs === partition.startMs && heldBeforeMs === null;
    if (last && whole && fromMs === (last.partitions.at(-1) as Partition).endMs && last.candles + candles <= pageLimit) {
      last.partitions.push(partition);
      last.candles += candles;
    } else {
      groups.push({ partitions: [partition], fromMs, heldBeforeMs, candles });
    }
  }
  return groups.map(({ partitions, fromMs, heldBeforeMs }) => ({ partitions, fromMs, heldBeforeMs }));
}
