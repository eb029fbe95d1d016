import * as z from "zod/mini";
import { FUNDING_FOLDER, fundingStateOf } from "../funding/month.js";
import { stateOf } from "../klines/partition.js";
import { FIRST_DATE } from "../klines/plan.js";
import { isCalendarDate, normalizeMarketType, normalizeSymbol } from "../market.js";
import type { CacheEntryInfo } from "../cache/data-cache.js";
import { decodeJsonCursor, encodeJsonCursor, intervalRank, itemsThatFit, matchesFilters } from "../cache/index/page.js";
import { DAY_MS, dayStartMs, monthStart } from "../time.js";
import { PRICE_KIND_SPECS, type PriceKind } from "../price-kinds.js";

/**
 * Who put a series' candles in the cache: clients (PUT, in the root folder) or the read-through (its partitions):
 * of trade candles, or of a futures price kind's (mark, index, premium); and the read-through's funding rates (months
 * of a USD-M symbol, interval `1M`).
 */
export const COVERAGE_SOURCES = ["datasets", "read_through", "read_through_mark", "read_through_index", "read_through_premium", "funding"] as const;
export type CoverageSource = (typeof COVERAGE_SOURCES)[number];

/** The kind of candles each read-through source holds (the klines endpoint's `price`). */
export const PRICE_OF_SOURCE: Partial<Record<CoverageSource, PriceKind>> = {
  read_through: "trade",
  read_through_mark: "mark",
  read_through_index: "index",
  read_through_premium: "premium",
};

const SOURCE_OF_FOLDER = new Map<string, CoverageSource>([
  ["", "datasets"],
  [FUNDING_FOLDER, "funding"],
  ...Object.entries(PRICE_OF_SOURCE).map(([source, price]) => [PRICE_KIND_SPECS[price].partitionsFolder, source as CoverageSource] as const),
]);

/** Which series a coverage page holds: those matching every filter given, after the cursor, at most `limit`. */
export interface CoverageQuery {
  /** 100 when absent. */
  limit?: number;
  /** next_cursor of the page before. */
  cursor?: string;
  /** Upper-case. */
  symbol?: string;
  interval?: string;
  /** Lower-case. */
  market_type?: string;
  source?: CoverageSource;
}

/** One calendar month of a series. */
export interface MonthCoverage {
  /** YYYY-MM. */
  month: string;
  /** held: every day of `days` is; gap: none is; partial: some are, or a read-through partition of it is incomplete. */
  state: "held" | "partial" | "gap";
  /** The month's days that can have candles: from 2017-07-01 (Binance's first) to today. */
  days: number;
  days_held: number;
  /** Entries of the series whose dates touch the month. */
  entries: number;
  /** Proven gaps (no candle on the exchange) recorded by the month's read-through partitions; absent when none. */
  exchange_gaps?: number;
}

/** Which months of one (symbol, interval, market_type, source) the cache holds. */
export interface SeriesCoverage {
  symbol: string;
  interval: string;
  market_type: string;
  source: CoverageSource;
  entries: number;
  rows: number;
  /** The month of the first held day; null when no day is held (every entry incomplete, or outside 2017-07-01..today). */
  first_month: string | null;
  last_month: string | null;
  /** Every month from first_month to last_month, those nothing holds as gaps. */
  months: MonthCoverage[];
}

export interface CoveragePage {
  series: SeriesCoverage[];
  /** Where the next page starts (pass it as `cursor`); null on the last page. */
  next_cursor: string | null;
  /** Series matching the filters, on every page. */
  matching_series: number;
  /** Set when `limit` series would not fit (Lambda answers at most 6 MB) and this page holds fewer. */
  truncated?: { reason: string; page_series: number };
}

const DEFAULT_LIMIT = 100;

/** Days since the epoch, inclusive at both ends. */
interface Days {
  from: number;
  to: number;
}

/** What one entry adds to its series, in days clipped to [FIRST_DATE, today]. */
interface Piece {
  rows: number;
  /** The days the entry is for; null when none is in the clip. */
  span: Days | null;
  /** The days it holds: its span, or for an incomplete partition up to the day of its last candle. */
  held: Days | null;
  /** An incomplete read-through partition: its months are at most partial. */
  incomplete: boolean;
  gaps: number;
}

interface SeriesId {
  symbol: string;
  interval: string;
  market_type: string;
  source: CoverageSource;
}

const seriesCursorSchema = z.object({ symbol: z.string(), interval: z.string(), market_type: z.string(), source: z.enum(COVERAGE_SOURCES) });

const dayOf = (date: string): number => dayStartMs(date) / DAY_MS;
const FIRST_DAY = dayOf(FIRST_DATE);

/** A month as one number: year * 12 + month of the year from 0. */
function monthOfDay(day: number): number {
  const date = new Date(day * DAY_MS);
  return date.getUTCFullYear() * 12 + date.getUTCMonth();
}

const firstDayOf = (month: number): number => monthStart(0, month - 1970 * 12) / DAY_MS;
const lastDayOf = (month: number): number => firstDayOf(month + 1) - 1;
const labelOf = (month: number): string => `${String(Math.floor(month / 12)).padStart(4, "0")}-${String((month % 12) + 1).padStart(2, "0")}`;

const compareText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Symbol, then interval (shortest first, unknown ones last), then market, then source (datasets first). */
const compareSeries = (a: SeriesId, b: SeriesId): number =>
  compareText(a.symbol, b.symbol) ||
  intervalRank(a.interval) - intervalRank(b.interval) ||
  compareText(a.interval, b.interval) ||
  compareText(a.market_type, b.market_type) ||
  COVERAGE_SOURCES.indexOf(a.source) - COVERAGE_SOURCES.indexOf(b.source);

/** What an entry adds to its series; null when its dates are unreadable or reversed. */
function pieceOf(entry: CacheEntryInfo, source: CoverageSource, today: number): Piece | null {
  if (!isCalendarDate(entry.start_date) || !isCalendarDate(entry.end_date) || entry.start_date > entry.end_date) return null;
  const [start, end] = [dayOf(entry.start_date), dayOf(entry.end_date)];
  const clipped = (to: number): Days | null => {
    const days = { from: Math.max(start, FIRST_DAY), to: Math.min(to, today) };
    return days.from <= days.to ? days : null;
  };
  const span = clipped(end);
  if (source === "datasets") return { rows: entry.rows, span, held: span, incomplete: false, gaps: 0 };
  if (source === "funding") {
    const funding = fundingStateOf(entry);
    if (funding?.complete) return { rows: entry.rows, span, held: span, incomplete: false, gaps: 0 };
    const lastDay = funding?.lastTimeMs == null ? null : Math.floor(funding.lastTimeMs / DAY_MS);
    return { rows: entry.rows, span, held: lastDay === null ? null : clipped(Math.min(end, lastDay)), incomplete: true, gaps: 0 };
  }
  // A partition whose completeness facts cannot be read is taken as one that holds nothing yet.
  const state = stateOf(entry);
  const gaps = state?.gaps.length ?? 0;
  if (state?.complete) return { rows: entry.rows, span, held: span, incomplete: false, gaps };
  const lastDay = state?.lastOpenMs == null ? null : Math.floor(state.lastOpenMs / DAY_MS);
  return { rows: entry.rows, span, held: lastDay === null ? null : clipped(Math.min(end, lastDay)), incomplete: true, gaps };
}

/** The days held by any of `ranges`, as disjoint ranges in order (overlapping or touching ones joined). */
function union(ranges: Days[]): Days[] {
  const joined: Days[] = [];
  for (const range of [...ranges].sort((a, b) => a.from - b.from)) {
    const last = joined.at(-1);
    if (last && range.from <= last.to + 1) last.to = Math.max(last.to, range.to);
    else joined.push({ ...range });
  }
  return joined;
}

/** The series' months from the first held day's to the last's, each judged by its pieces. */
function monthsOf(pieces: readonly Piece[], today: number): MonthCoverage[] {
  const held = union(pieces.flatMap((piece) => (piece.held ? [piece.held] : [])));
  const [firstHeld, lastHeld] = [held[0], held.at(-1)];
  if (!firstHeld || !lastHeld) return [];
  const first = monthOfDay(firstHeld.from);
  const last = monthOfDay(lastHeld.to);
  const months = Array.from({ length: last - first + 1 }, (_, i) => {
    const month = first + i;
    return { month, days: Math.min(lastDayOf(month), today) - Math.max(firstDayOf(month), FIRST_DAY) + 1, held: 0, entries: 0, gaps: 0, incomplete: false };
  });
  for (const range of held) {
    for (let month = monthOfDay(range.from); month <= monthOfDay(range.to); month++) {
      (months[month - first] as (typeof months)[number]).held += Math.min(range.to, lastDayOf(month)) - Math.max(range.from, firstDayOf(month)) + 1;
    }
  }
  for (const piece of pieces) {
    if (!piece.span) continue;
    const spanFirst = monthOfDay(piece.span.from);
    for (let month = Math.max(spanFirst, first); month <= Math.min(monthOfDay(piece.span.to), last); month++) {
      const at = months[month - first] as (typeof months)[number];
      at.entries++;
      at.incomplete ||= piece.incomplete;
      if (month === spanFirst) at.gaps += piece.gaps;
    }
  }
  return months.map(({ month, days, held, entries, gaps, incomplete }) => ({
    month: labelOf(month),
    state: held === 0 ? "gap" : held === days && !incomplete ? "held" : "partial",
    days,
    days_held: held,
    entries,
    ...(gaps > 0 ? { exchange_gaps: gaps } : {}),
  }));
}

function coverageOfSeries(id: SeriesId, pieces: readonly Piece[], today: number): SeriesCoverage {
  const months = monthsOf(pieces, today);
  return {
    ...id,
    entries: pieces.length,
    rows: pieces.reduce((sum, piece) => sum + piece.rows, 0),
    first_month: months[0]?.month ?? null,
    last_month: months.at(-1)?.month ?? null,
    months,
  };
}

/**
 * One page of coverage: for each series (symbol, interval, market_type, source) of the valid entries in the root folder
 * (datasets) and the read-through's partitions, which months from its first held day to its last it holds, days
 * counted up to `todayMs` (by the service's clock). Series in symbol, interval, market, source order, paged after the
 * cursor (the last series' id); `maxBytes` as in pageOf. A cursor that is no earlier coverage page's is a
 * VALIDATION_ERROR.
 */
export function coverageOf(entries: readonly CacheEntryInfo[], todayMs: number, query: CoverageQuery, maxBytes?: number): CoveragePage {
  const today = Math.floor(todayMs / DAY_MS);
  const groups = new Map<string, { id: SeriesId; pieces: Piece[] }>();
  for (const entry of entries) {
    const source = SOURCE_OF_FOLDER.get(entry.folder);
    if (source === undefined || entry.state === "expired" || (query.source !== undefined && source !== query.source)) continue;
    if (!matchesFilters(entry, query)) continue;
    const piece = pieceOf(entry, source, today);
    if (!piece) continue;
    const id = { symbol: normalizeSymbol(entry.symbol), interval: entry.interval, market_type: normalizeMarketType(entry.market_type), source };
    const key = JSON.stringify(id);
    const group = groups.get(key) ?? { id, pieces: [] };
    group.pieces.push(piece);
    groups.set(key, group);
  }
  const sorted = [...groups.values()].sort((a, b) => compareSeries(a.id, b.id));
  const after = query.cursor === undefined ? null : decodeJsonCursor(query.cursor, seriesCursorSchema, "must be a next_cursor of an earlier coverage page");
  const from = after === null ? 0 : sorted.findIndex((group) => compareSeries(group.id, after) > 0);
  const remaining = from === -1 ? [] : sorted.slice(from);
  let series = remaining.slice(0, query.limit ?? DEFAULT_LIMIT).map((group) => coverageOfSeries(group.id, group.pieces, today));
  let truncated: CoveragePage["truncated"];
  if (maxBytes !== undefined) {
    const fitting = itemsThatFit({ series: [], next_cursor: "", matching_series: sorted.length }, series, maxBytes);
    if (fitting < series.length) {
      series = series.slice(0, fitting);
      truncated = { reason: `The whole page is over the ${maxBytes} bytes answered here; ask for the next page with cursor`, page_series: fitting };
    }
  }
  const last = series.at(-1);
  const more = series.length < remaining.length;
  return {
    series,
    next_cursor: more && last ? encodeJsonCursor({ symbol: last.symbol, interval: last.interval, market_type: last.market_type, source: last.source }) : null,
    matching_series: sorted.length,
    ...(truncated ? { truncated } : {}),
  };
}
