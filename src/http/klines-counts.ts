import {
  FUNDING_UPSTREAM_REQUESTS_KEY,
  fundingOutcomeKey,
  klinesArchiveKey,
  klinesOutcomeKey,
  klinesUpstreamRequestsKey,
  type KlinesOutcome,
} from "../counters/keys.js";
import type { Counters } from "../counters/types.js";
import type { FundingResult } from "../funding/service.js";
import type { MonthSource } from "../funding/store.js";
import type { KlinesResult, PartitionSource } from "../klines/service.js";
import type { MarketType } from "../market.js";
import type { PriceKind } from "../price-kinds.js";

/** Where a read-through answer's partitions came from: all from the cache (hit), none (miss), or some (partial). */
export function outcomeOf(result: KlinesResult): KlinesOutcome {
  const count = (...sources: PartitionSource[]) => result.partitions.filter((part) => sources.includes(part.source)).length;
  const fetched = count("fetched", "extended");
  return fetched === 0 ? "hit" : count("cached", "extended") === 0 ? "miss" : "partial";
}

/**
 * Counts one read-through answer: its outcome, its upstream requests and archive files. Never waited for: the
 * drivers never reject, and an answer is not held up by a slow counter store.
 */
export function countKlines(
  counters: Pick<Counters, "increment">,
  market: MarketType,
  outcome: KlinesOutcome,
  result: KlinesResult,
  price: PriceKind = "trade",
): void {
  const counts: [string, number][] = [
    [klinesOutcomeKey(market, outcome, price), 1],
    [klinesUpstreamRequestsKey(market, price), result.upstreamRequests],
    [klinesArchiveKey(market, "hit", price), result.archive.files],
    [klinesArchiveKey(market, "miss", price), result.archive.missing],
    [klinesArchiveKey(market, "failure", price), result.archive.failed],
    [klinesArchiveKey(market, "incomplete", price), result.archive.incomplete],
  ];
  for (const [key, by] of counts) if (by > 0) void counters.increment(key, by);
}

/** Where a funding answer's months came from, as outcomeOf for klines. */
export function fundingOutcomeOf(result: FundingResult): KlinesOutcome {
  const count = (...sources: MonthSource[]) => result.months.filter((part) => sources.includes(part.source)).length;
  const fetched = count("fetched", "extended");
  return fetched === 0 ? "hit" : count("cached", "extended") === 0 ? "miss" : "partial";
}

/** Counts one funding answer: its outcome and its upstream requests (never waited for, as countKlines). */
export function countFunding(counters: Pick<Counters, "increment">, outcome: KlinesOutcome, result: Pick<FundingResult, "upstreamRequests">): void {
  void counters.increment(fundingOutcomeKey(outcome), 1);
  if (result.upstreamRequests > 0) void counters.increment(FUNDING_UPSTREAM_REQUESTS_KEY, result.upstreamRequests);
}
