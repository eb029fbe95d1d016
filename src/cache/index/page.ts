import * as z from "zod/mini";
import { ValidationError } from "../../errors.js";
import { INTERVALS, normalizeMarketType, normalizeSymbol } from "../../market.js";
import type { CacheEntryInfo, CacheInfo } from "./info.js";
import { parseTimestamp } from "../../time.js";

/** The orders an info page can follow besides the default one (folder, then key). */
export const INFO_SORTS = ["symbol", "interval", "dates", "market", "rows", "cached", "expires"] as const;
export type InfoSort = (typeof INFO_SORTS)[number];
export const SORT_ORDERS = ["asc", "desc"] as const;
export type SortOrder = (typeof SORT_ORDERS)[number];

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
  /** Order entries by this, ties by position; absent: by position. */
  sort?: InfoSort;
  /** asc by default. */
  order?: SortOrder;
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

const byPosition = (a: CacheEntryInfo, b: CacheEntryInfo) => (positionOf(a) < positionOf(b) ? -1 : positionOf(a) > positionOf(b) ? 1 : 0);

/** What a sorted page orders by: a tuple compared element by element, JSON-safe so that a cursor can carry it. */
type SortValue = (string | number)[];

/**
 * Each sort's value of an entry, in which ascending order is the sort's: an unknown interval after the known ones,
 * an unreadable cached_at before every readable one, an entry that never expires after every one that does.
 */
const SORT_VALUE: Record<InfoSort | "position", (entry: CacheEntryInfo) => SortValue> = {
  position: (entry) => [positionOf(entry)],
  symbol: (entry) => [entry.symbol],
  interval: (entry) => [intervalRank(entry.interval)],
  dates: (entry) => [entry.start_date, entry.end_date],
  market: (entry) => [entry.market_type],
  rows: (entry) => [entry.rows],
  cached: (entry) => {
    const ms = parseTimestamp(entry.cached_at);
    return ms === null ? [0, 0] : [1, ms];
  },
  expires: (entry) => (entry.expires_at === null ? [1, ""] : [0, entry.expires_at]),
};

/** After its own key, a sort orders by these (as a person reads a table), then by position. */
const THEN: readonly InfoSort[] = ["symbol", "interval", "dates", "market"];

/** The sort value of an entry: its own key, then THEN's keys but its own. */
function sortValueOf(sort: InfoSort | "position", entry: CacheEntryInfo): SortValue {
  const value = SORT_VALUE[sort](entry);
  if (sort === "position") return value;
  return [...value, ...THEN.filter((then) => then !== sort).flatMap((then) => SORT_VALUE[then](entry))];
}

/** An interval's place in INTERVALS (shortest first); one past the last for an interval that is not Binance's. */
export function intervalRank(interval: string): number {
  const rank = (INTERVALS as readonly string[]).indexOf(interval);
  return rank === -1 ? INTERVALS.length : rank;
}

/** Orders two values of the same sort: numbers by size, strings by their UTF-16 units. */
function compareValues(a: SortValue, b: SortValue): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const [x, y] = [a[i], b[i]];
    if (x === y) continue;
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    if (typeof x === "number" && typeof y === "number") return x - y;
    return String(x) < String(y) ? -1 : 1;
  }
  return 0;
}

/** A sorted page's place: the sort value of the entry, then its position (which breaks the last ties, ascending, always). */
interface SortedPlace {
  value: SortValue;
  position: string;
}

const comparePlaces = (order: SortOrder) => (a: SortedPlace, b: SortedPlace) =>
  (order === "desc" ? -1 : 1) * compareValues(a.value, b.value) || (a.position < b.position ? -1 : a.position > b.position ? 1 : 0);

/** base64url of the JSON of `value`: an opaque next_cursor. */
export const encodeJsonCursor = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString("base64url");

/** What encodeJsonCursor made, checked by `schema`; a VALIDATION_ERROR naming `cursor` for anything else. */
export function decodeJsonCursor<T>(cursor: string, schema: z.ZodMiniType<T>, message: string): T {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    json = undefined;
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new ValidationError("Invalid query parameters", [{ field: "cursor", message }]);
  return parsed.data;
}

const sortedCursorSchema = z.object({
  sort: z.enum(["position", ...INFO_SORTS]),
  order: z.enum(SORT_ORDERS),
  value: z.array(z.union([z.string(), z.number()])),
  position: z.string(),
});
type SortedCursor = z.infer<typeof sortedCursorSchema>;

export const encodeCursor = (entry: Pick<CacheEntryInfo, "folder" | "cache_key">) => Buffer.from(positionOf(entry)).toString("base64url");
const decodeCursor = (cursor: string) => Buffer.from(cursor, "base64url").toString("utf8");

/** Whether a cursor is a sorted page's (a JSON object), not a position: one of those in the default order is refused. */
const isSortedCursor = (cursor: string) => decodeCursor(cursor).startsWith("{");

/**
 * The query's entries in its order, after its cursor, and how to make a cursor after one of them. Without `sort`
 * (and `order` absent or asc) the order is the default one and the cursor the position of the last entry, as ever;
 * otherwise the cursor carries the sort, the order, and the last entry's sort value and position, and the page
 * after it starts strictly after that place, wherever entries were added or removed meanwhile.
 */
function ordered(entries: CacheEntryInfo[], query: InfoQuery): { remaining: CacheEntryInfo[]; cursorAfter: (entry: CacheEntryInfo) => string } {
  const order = query.order ?? "asc";
  if (query.sort === undefined && order === "asc") {
    if (query.cursor !== undefined && isSortedCursor(query.cursor)) throw wrongCursor("sort=position", "order=asc");
    const sorted = entries.sort(byPosition);
    const after = query.cursor === undefined ? null : decodeCursor(query.cursor);
    return { remaining: after === null ? sorted : sorted.filter((entry) => positionOf(entry) > after), cursorAfter: encodeCursor };
  }
  const sort = query.sort ?? "position";
  const compare = comparePlaces(order);
  const placed = entries.map((entry) => ({ entry, value: sortValueOf(sort, entry), position: positionOf(entry) })).sort(compare);
  let from = 0;
  if (query.cursor !== undefined) {
    const after = decodeJsonCursor(query.cursor, sortedCursorSchema, "must be a next_cursor of an earlier page");
    if (after.sort !== sort || after.order !== order) throw wrongCursor(`sort=${after.sort}`, `order=${after.order}`);
    from = placed.findIndex((place) => compare(place, after) > 0);
    if (from === -1) from = placed.length;
  }
  return {
    remaining: placed.slice(from).map((place) => place.entry),
    cursorAfter: (entry) => encodeJsonCursor({ sort, order, value: sortValueOf(sort, entry), position: positionOf(entry) } satisfies SortedCursor),
  };
}

const wrongCursor = (sort: string, order: string) =>
  new ValidationError("Invalid query parameters", [{ field: "cursor", message: `was made for ${sort} and ${order}: ask again with those, or without cursor` }]);

/** Whether an entry passes every filter given: symbol (upper-case) and market (lower-case) in any case, interval exactly. */
export const matchesFilters = (
  entry: Pick<CacheEntryInfo, "symbol" | "interval" | "market_type">,
  filters: Pick<InfoQuery, "symbol" | "interval" | "market_type">,
): boolean =>
  (filters.symbol === undefined || normalizeSymbol(entry.symbol) === filters.symbol) &&
  (filters.interval === undefined || entry.interval === filters.interval) &&
  (filters.market_type === undefined || normalizeMarketType(entry.market_type) === filters.market_type);

/**
 * One page of info: the summary figures (files, symbols, size) of the whole cache, and of its entries those the query
 * selects, in (folder, key) order or the query's sort. Without limit, cursor, filters or sort the answer is the
 * original's, whole, unless its JSON would pass `maxBytes`: then it is the first page that fits, with next_cursor and
 * `truncated` saying so. A cursor that is no earlier page's of the same sort and order is a VALIDATION_ERROR.
 */
export function pageOf(info: CacheInfo, query: InfoQuery, maxBytes?: number): InfoPage {
  const filtered = info.cache_entries.filter((entry) => matchesFilters(entry, query));
  const { remaining, cursorAfter } = ordered(filtered, query);
  const paged = query.limit !== undefined || query.cursor !== undefined;
  const selective = paged || query.symbol !== undefined || query.interval !== undefined || query.market_type !== undefined;
  const limit = query.limit ?? remaining.length;
  let entries = remaining.slice(0, limit);
  let truncated: InfoPage["truncated"];
  if (maxBytes !== undefined) {
    const fitting = itemsThatFit({ ...info, cache_entries: [] }, entries, maxBytes);
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
    ...(paged || truncated ? { next_cursor: more && last ? cursorAfter(last) : null } : {}),
    ...(selective ? { matching_entries: filtered.length } : {}),
    ...(truncated ? { truncated } : {}),
  };
}

/** How many of `items`, in order, fit in an answer of `maxBytes` around `rest`, the answer without them (a margin kept). */
export function itemsThatFit(rest: unknown, items: readonly unknown[], maxBytes: number): number {
  const MARGIN = 1024;
  let bytes = JSON.stringify(rest).length + MARGIN;
  for (let i = 0; i < items.length; i++) {
    bytes += Buffer.byteLength(JSON.stringify(items[i])) + 1;
    if (bytes > maxBytes) return i;
  }
  return items.length;
}
