import type { DataCache } from "../cache/data-cache.js";
import type { CacheMeta } from "../cache/entries/meta.js";
import { StorageUnavailableError } from "../errors.js";
import { parseCachedAt } from "../time.js";
import { entryOfMonth, fundingStateOf, type FundingMonth, type FundingState } from "./month.js";

/** A month as stored: its meta and state; the CSV only of an incomplete one (the base of its tail). */
export interface StoredMonth {
  meta: CacheMeta;
  state: FundingState;
  csv: Uint8Array | null;
  /** When it was last written (the meta's cached_at). */
  checkedAtMs: number;
}

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

/** Reading the funding months the cache holds: the one reader of their entries. */
export function createFundingReads(options: { cache: Pick<DataCache, "lookup" | "readCsv"> }) {
  const { cache } = options;
  return {
    async load(month: FundingMonth, signal?: AbortSignal): Promise<StoredMonth | null> {
      const entry = entryOfMonth(month);
      const found = await cache.lookup(entry, { signal });
      if (!found.hit) return null;
      const state = fundingStateOf(found.meta);
      const checkedAtMs = parseCachedAt(found.meta.cached_at)?.getTime();
      if (!state || checkedAtMs === undefined) return null;
      if (state.complete) return { meta: found.meta, state, csv: null, checkedAtMs };
      const csv = await cache.readCsv(entry, { meta: found.meta, signal });
      return csv.hit ? { meta: found.meta, state, csv: Buffer.concat(csv.csv), checkedAtMs } : null;
    },

    /** The CSV of a served month, as chunks: the bytes in hand, or read from the cache and proven against its meta. */
    async csvOf(part: ServedMonth, signal?: AbortSignal): Promise<readonly Uint8Array[]> {
      if (part.csv || !part.meta) return [part.csv ?? new Uint8Array(0)];
      const found = await cache.readCsv(entryOfMonth(part.month), { meta: part.meta, signal });
      if (!found.hit) throw new StorageUnavailableError(`The funding entry of ${entryOfMonth(part.month).start_date} changed while it was being read; ask again`);
      return found.csv;
    },
  };
}

/** A month served as the cache holds it (or as nothing, when nothing is stored). */
export const servedAsStored = (month: FundingMonth, source: MonthSource, stored: StoredMonth | null): ServedMonth => ({
  month,
  source,
  meta: stored?.meta ?? null,
  state: stored?.state ?? null,
  csv: stored?.csv ?? null,
});
