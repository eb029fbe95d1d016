import type { DataCache } from "../cache/data-cache.js";
import type { CacheMeta } from "../cache/entries/meta.js";
import { createEntryReads, type StoredEntry } from "../klines/served.js";
import { entryOfMonth, fundingStateOf, type FundingMonth, type FundingState } from "./month.js";

/** A month as stored: its meta and state; the CSV only of an incomplete one (the base of its tail). */
export type StoredMonth = StoredEntry<FundingState>;

/** How a month came into an answer: from the cache, fetched (whole or its tail), or not at all (nothing published yet). */
export type MonthSource = "cached" | "fetched" | "extended" | "unclosed";

export interface ServedMonth {
  month: FundingMonth;
  source: MonthSource;
  /** Null when nothing is stored. */
  meta: CacheMeta | null;
  state: FundingState | null;
  /** The CSV when already in hand; null when it is to be read from the cache. */
  csv: Uint8Array | null;
}

export type FundingReads = ReturnType<typeof createFundingReads>;

/** Reading the funding months the cache holds: the one reader of their entries (see createEntryReads). */
export function createFundingReads(options: { cache: Pick<DataCache, "lookup" | "readCsv"> }) {
  const reads = createEntryReads<FundingMonth, FundingState>({ ...options, entryOf: entryOfMonth, stateOf: fundingStateOf });
  return { load: (month: FundingMonth, signal?: AbortSignal) => reads.load(month, signal), csvOf: (part: ServedMonth, signal?: AbortSignal) => reads.csvOf(part.month, part, signal) };
}

/** A month served as the cache holds it (or as nothing, when nothing is stored). */
export const servedAsStored = (month: FundingMonth, source: MonthSource, stored: StoredMonth | null): ServedMonth => ({
  month,
  source,
  meta: stored?.meta ?? null,
  state: stored?.state ?? null,
  csv: stored?.csv ?? null,
});
