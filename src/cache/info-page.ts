import type { CacheEntryInfo, CacheInfo } from "./data-cache.js";

/** Which entries an info page holds: those matching every filter given, after the cursor, at most `limit`. */
export interface InfoQuery {
  limit?: number;
  /** next_cursor of the page before. */
  cursor?: string;
  symbol?: string;
  interval?: string;
  market_type?: string;
  /** Rebuild the info index from a full listing first (see DataCache.info). */
  refresh?: boolean;
}

export interface InfoPage extends CacheInfo {
  /** Where the next page starts (pass it as `cursor`); null on the last page. Absent when nothing was paged. */
  next_cursor?: string | null;
  /** Entries matching the filters, on every page. Absent when nothing was filtered or paged. */
  matching_entries?: number;
  /** Set when the whole answer would not fit (Lambda answers at most 6 MB) and this is only its first page. */
  truncated?: { reason: string; page_entries: number };
}

/** An entry's place in the one order pages follow: its folder, then its key. */
const positionOf = (entry: Pick<CacheEntryInfo, "folder" | "cache_key">) => `${entry.folder}/${entry.cache_key}`;

export const encodeCursor = (entry: Pick<CacheEntryInfo, "folder" | "cache_key">) => Buffer.from(positionOf(entry)).toString("base64url");
const decodeCursor = (cursor: string) => Buffer.from(cursor, "base64url").toString("utf8");

/**
 * One page of info: the summary figures (files, symbols, size) of the whole cache, and of its entries those the query
 * selects, in (folder, key) order. Without limit, cursor or filters the answer is the original's, whole, unless its
 * JSON would pass `maxBytes`: then it is the first page that fits, with next_cursor and `truncated` saying so.
 */
export function pageOf(info: CacheInfo, query: InfoQuery, maxBytes?: number): InfoPage {
  const filtered = info.cache_entries
    .filter(
      (entry) =>
        (query.symbol === undefined || entry.symbol.toUpperCase() === query.symbol) &&
        (query.interval === undefined || entry.interval === query.interval) &&
        (query.market_type === undefined || entry.market_type.toLowerCase() === query.market_type),
    )
    .sort((a, b) => (positionOf(a) < positionOf(b) ? -1 : positionOf(a) > positionOf(b) ? 1 : 0));
  const after = query.cursor === undefined ? null : decodeCursor(query.cursor);
  const remaining = after === null ? filtered : filtered.filter((entry) => positionOf(entry) > after);
  const paged = query.limit !== undefined || query.cursor !== undefined;
  const selective = paged || query.symbol !== undefined || query.interval !== undefined || query.market_type !== undefined;
  const limit = query.limit ?? remaining.length;
  let entries = remaining.slice(0, limit);
  let truncated: InfoPage["truncated"];
  if (maxBytes !== undefined) {
    const fitting = entriesThatFit(info, entries, maxBytes);
    if (fitting < entries.length) {
      entries = entries.slice(0, fitting);
      truncated = { reason: `The whole answer is over the ${maxBytes} bytes answered here; ask for the next page with cursor`, page_entries: fitting };
    }
  }
  const more = entries.length < remaining.length;
  const last = entries.at(-1);
  return {
    ...info,
    cache_entries: entries,
    ...(paged || truncated ? { next_cursor: more && last ? encodeCursor(last) : null } : {}),
    ...(selective ? { matching_entries: filtered.length } : {}),
    ...(truncated ? { truncated } : {}),
  };
}

/** How many of `entries`, in order, fit in an answer of `maxBytes` with the summary figures (a margin kept for the rest). */
function entriesThatFit(info: CacheInfo, entries: readonly CacheEntryInfo[], maxBytes: number): number {
  const MARGIN = 1024;
  let bytes = JSON.stringify({ ...info, cache_entries: [] }).length + MARGIN;
  for (let i = 0; i < entries.length; i++) {
    bytes += Buffer.byteLength(JSON.stringify(entries[i])) + 1;
    if (bytes > maxBytes) return i;
  }
  return entries.length;
}
