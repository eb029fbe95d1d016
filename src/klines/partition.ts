import * as z from "zod/mini";
import type { CacheMeta } from "../cache/entries/meta.js";
import { formatTimestamp, parseTimestamp } from "../time.js";
import { KLINE_COLUMNS, type Interval } from "../market.js";
import type { Kline } from "../upstream/binance.js";
import { boundaryAtOrBefore, candlesBetween, nextOpen } from "./interval.js";
import type { DecimalRun, Gap, Partition, PartitionFetch, PartitionState, Range } from "./types.js";

export const KLINES_CSV_HEADER = `${KLINE_COLUMNS.join(",")}\n`;

const timestamp = z.string().check(z.refine((text) => parseTimestamp(text) !== null));
const partitionFieldsSchema = z.object({
  complete: z.boolean(),
  resume_from: z.nullable(timestamp),
  first_open: z.nullable(timestamp),
  last_open: z.nullable(timestamp),
  gaps: z.array(z.tuple([timestamp, timestamp])),
  checked_until: timestamp,
  decimals: z.optional(z.array(z.tuple([timestamp, z.array(z.int().check(z.minimum(0), z.maximum(20)))]))),
});

const msOf = (text: string): number => parseTimestamp(text) as number;
const msOrNull = (text: string | null): number | null => (text === null ? null : msOf(text));
const textOrNull = (ms: number | null): string | null => (ms === null ? null : formatTimestamp(ms));

/** The partition fields of a meta; null when they are missing or do not hang together. */
export function stateOf(meta: CacheMeta): PartitionState | null {
  const parsed = partitionFieldsSchema.safeParse(meta);
  if (!parsed.success) return null;
  const fields = parsed.data;
  const state = {
    complete: fields.complete,
    resumeFromMs: msOrNull(fields.resume_from),
    firstOpenMs: msOrNull(fields.first_open),
    lastOpenMs: msOrNull(fields.last_open),
    gaps: fields.gaps.map(([from, to]) => ({ fromMs: msOf(from), toMs: msOf(to) })),
    checkedUntilMs: msOf(fields.checked_until),
    ...(fields.decimals && { decimals: fields.decimals.map(([from, places]) => ({ fromMs: msOf(from), places })) }),
  };
  return state.complete === (state.resumeFromMs === null) ? state : null;
}

/** The extra meta fields that record `state`, timestamps written as in the CSV. */
export function metaFieldsOf(state: PartitionState): Record<string, unknown> {
  return {
    complete: state.complete,
    resume_from: textOrNull(state.resumeFromMs),
    first_open: textOrNull(state.firstOpenMs),
    last_open: textOrNull(state.lastOpenMs),
    gaps: state.gaps.map((gap) => [formatTimestamp(gap.fromMs), formatTimestamp(gap.toMs)]),
    checked_until: formatTimestamp(state.checkedUntilMs),
    ...(state.decimals && { decimals: state.decimals.map((run) => [formatTimestamp(run.fromMs), run.places]) }),
  };
}

/** The places of a decimal string (`60707.10` has 2). */
const placesOf = (decimal: string): number => {
  const dot = decimal.indexOf(".");
  return dot === -1 ? 0 : decimal.length - dot - 1;
};

/** The decimal runs of `base`, then of the klines: a new run wherever the places of a trimmed field change. */
export function decimalRunsOf(base: readonly DecimalRun[], klines: readonly Kline[]): DecimalRun[] {
  const runs = base.map((run) => ({ fromMs: run.fromMs, places: [...run.places] }));
  for (const kline of klines) {
    const places = [kline[1], kline[2], kline[3], kline[4], kline[5]].map(placesOf);
    const last = runs.at(-1);
    if (!last || last.places.some((value, at) => value !== places[at])) runs.push({ fromMs: kline[0], places });
  }
  return runs;
}

/** Binance's decimal string as the original wrote prices and volumes (Python floats): `60707.00000000` -> `60707.0`. */
function asFloat(decimal: string): string {
  const dot = decimal.indexOf(".");
  if (dot === -1) return `${decimal}.0`;
  let end = decimal.length;
  while (end > dot + 2 && decimal.charCodeAt(end - 1) === 0x30) end--;
  return end === decimal.length ? decimal : decimal.slice(0, end);
}

/** One CSV line in the original's form: timestamp as `2021-10-22 23:03:00`, prices and volume as floats. */
export function klineLine(kline: Kline): string {
  const [open, o, h, l, c, v, closeTime, quoteVolume, trades, takerBase, takerQuote, ignore] = kline;
  const prices = `${asFloat(o)},${asFloat(h)},${asFloat(l)},${asFloat(c)},${asFloat(v)}`;
  return `${formatTimestamp(open)},${prices},${closeTime},${quoteVolume},${trades},${takerBase},${takerQuote},${ignore}\n`;
}

const CHUNK_BYTES = 1 << 20;

/**
 * The CSV lines of the klines, as bytes. Each line is written as soon as it is made, so no string outlives its
 * line (holding a month's lines as strings costs more in garbage collection than making them).
 */
export function klinesCsv(klines: readonly Kline[]): Buffer {
  const chunks: Buffer[] = [];
  let chunk = Buffer.allocUnsafe(CHUNK_BYTES);
  let at = 0;
  for (const kline of klines) {
    const line = klineLine(kline);
    // UTF-8 takes at most 3 bytes per UTF-16 unit; Binance's fields are ASCII, 1 byte each.
    if (at + line.length * 3 > chunk.length) {
      chunks.push(chunk.subarray(0, at));
      chunk = Buffer.allocUnsafe(Math.max(CHUNK_BYTES, line.length * 3));
      at = 0;
    }
    at += chunk.write(line, at);
  }
  chunks.push(chunk.subarray(0, at));
  return Buffer.concat(chunks);
}

/** The partition's CSV and state after a fetch: the stored ones (`base`, for a tail fetch) and the fetched. */
export function extendPartition(
  base: { csv: Uint8Array; state: PartitionState } | null,
  fetched: PartitionFetch,
): { csv: Uint8Array; state: PartitionState } {
  const head = base ? base.csv : Buffer.from(KLINES_CSV_HEADER);
  const first = fetched.klines[0];
  const last = fetched.klines.at(-1);
  return {
    csv: Buffer.concat([head, klinesCsv(fetched.klines)]),
    state: {
      complete: fetched.complete,
      resumeFromMs: fetched.complete ? null : fetched.resumeFromMs,
      firstOpenMs: base?.state.firstOpenMs ?? first?.[0] ?? null,
      lastOpenMs: last?.[0] ?? base?.state.lastOpenMs ?? null,
      gaps: mergeGaps([...(base?.state.gaps ?? []), ...fetched.gaps]),
      checkedUntilMs: fetched.checkedUntilMs,
      // A partition stored before the places were recorded cannot say them for its stored candles: it goes on without.
      ...((!base || base.state.decimals || base.state.lastOpenMs === null) && { decimals: decimalRunsOf(base?.state.decimals ?? [], fetched.klines) }),
    },
  };
}

/**
 * Gaps in order, touching or overlapping ones joined (one stretch across a partition boundary is one gap); a joined
 * gap is final only if all its parts are.
 */
export function mergeGaps<G extends Gap & { final?: boolean }>(gaps: readonly G[]): G[] {
  const merged: G[] = [];
  for (const gap of [...gaps].sort((a, b) => a.fromMs - b.fromMs)) {
    const last = merged.at(-1);
    if (last && gap.fromMs <= last.toMs) {
      last.toMs = Math.max(last.toMs, gap.toMs);
      if (last.final !== undefined) last.final = last.final && gap.final === true;
    } else merged.push({ ...gap });
  }
  return merged;
}

/**
 * True when the partition misses candles that have closed, with no proof that they do not exist: a fetch ended
 * early and found no evidence. It is asked again, but at most once per recheck period.
 */
export function hasUnprovenHole(interval: Interval, partition: Partition, state: PartitionState, cutoffMs: number): boolean {
  if (state.complete || state.resumeFromMs === null) return false;
  return nextOpen(interval, state.resumeFromMs) <= Math.min(partition.endMs, cutoffMs);
}

/**
 * The rows of a partition's CSV whose open time lies in the range, header left out, as one piece of whole lines: a
 * view when they lie in one of the CSV's chunks (the whole CSV given as one), else a copy of those rows alone, never
 * of the rest of the partition.
 */
export function rowsInRange(csv: Uint8Array | readonly Uint8Array[], partition: Range, range: Range): Uint8Array {
  const bytes = chunkedBytes(csv instanceof Uint8Array ? [csv] : csv);
  const bodyStart = bytes.indexOf(0x0a, 0) + 1;
  if (bodyStart === 0) return new Uint8Array(0);
  const whole = range.startMs <= partition.startMs && partition.endMs <= range.endMs;
  const startAt = whole ? bodyStart : firstLineFrom(bytes, bodyStart, range.startMs);
  return bytes.slice(startAt, whole ? bytes.length : firstLineFrom(bytes, startAt, range.endMs));
}

/** A CSV's bytes as its chunks hold them, read as if they were one buffer (no copy until a slice needs one). */
interface ChunkedBytes {
  length: number;
  /** The offset of the first `byte` at or after `from`; -1 when none. */
  indexOf(byte: number, from: number): number;
  latin1(from: number, to: number): string;
  /** [from, to): a view when inside one chunk, else a copy of those bytes alone. */
  slice(from: number, to: number): Uint8Array;
}

function chunkedBytes(chunks: readonly Uint8Array[]): ChunkedBytes {
  const buffers = chunks.filter((chunk) => chunk.byteLength > 0).map((chunk) => Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
  const starts: number[] = [];
  let length = 0;
  for (const buffer of buffers) {
    starts.push(length);
    length += buffer.length;
  }
  /** The index of the chunk holding offset `at` (< length). */
  const chunkAt = (at: number) => {
    let lo = 0;
    let hi = buffers.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((starts[mid] as number) <= at) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };
  const slice = (from: number, to: number): Uint8Array => {
    if (to <= from) return new Uint8Array(0);
    const first = chunkAt(from);
    const last = chunkAt(to - 1);
    const pieces = buffers.slice(first, last + 1).map((buffer, at) => {
      const offset = starts[first + at] as number;
      return buffer.subarray(Math.max(0, from - offset), Math.min(buffer.length, to - offset));
    });
    return pieces.length === 1 ? (pieces[0] as Buffer) : Buffer.concat(pieces);
  };
  return {
    length,
    indexOf(byte, from) {
      if (from >= length) return -1;
      for (let at = chunkAt(from); at < buffers.length; at++) {
        const offset = starts[at] as number;
        const found = (buffers[at] as Buffer).indexOf(byte, Math.max(0, from - offset));
        if (found !== -1) return offset + found;
      }
      return -1;
    },
    latin1: (from, to) => Buffer.from(slice(from, to)).toString("latin1"),
    slice,
  };
}

/**
 * The offset of the first line at or after `from` (a line's start) whose timestamp is at or after `ms`; the end
 * when none. A partition's lines are in strictly increasing time (its only writer, the read-through, writes them so),
 * so this is a binary search over byte offsets: a month of 1m candles is about 16 reads of a timestamp, not 43,200.
 */
function firstLineFrom(bytes: ChunkedBytes, from: number, ms: number): number {
  const lineAfter = (at: number) => {
    const newline = bytes.indexOf(0x0a, at);
    return newline === -1 ? bytes.length : newline + 1;
  };
  const timeAt = (at: number) => {
    const comma = bytes.indexOf(0x2c, at);
    return parseTimestamp(bytes.latin1(at, comma === -1 ? bytes.length : comma)) ?? Number.NEGATIVE_INFINITY;
  };
  // The answer is a line start in [lo, hi]; lo is a line start, hi the end or a line start at or after `ms`.
  let lo = from;
  let hi = bytes.length;
  while (lo < hi) {
    const probe = lineAfter(lo + Math.floor((hi - lo) / 2) - 1);
    if (probe >= hi) {
      // No line starts in the upper half: the few lines from lo, one by one.
      for (let at = lo; at < hi; at = lineAfter(at)) if (timeAt(at) >= ms) return at;
      return hi;
    }
    if (timeAt(probe) >= ms) hi = probe;
    else lo = lineAfter(probe);
  }
  return lo;
}

/** A gap in an answer: `final` when the exchange proved it; otherwise the candles may still come (ask again later). */
export interface AnswerGap extends Gap {
  missing: number;
  final: boolean;
}

/** What the answer can say of itself. */
export interface Coverage {
  /** True when the range goes on past the last closed candle: asking again later gives more. */
  reachesNow: boolean;
  gaps: AnswerGap[];
}

/**
 * The gaps of an answer over the range, judged at `cutoffMs` (candles closing before it have closed): each
 * partition's proven gaps, and, for a partition that misses closed candles without proof, the missing stretch
 * from where it resumes, reported as not final. Candles before a symbol's listing, after it stopped trading, or
 * not closed yet are not gaps.
 */
export function coverageOf(
  interval: Interval,
  range: Range,
  parts: { partition: Partition; state: PartitionState | null }[],
  cutoffMs: number,
): Coverage {
  const gaps: (Gap & { final: boolean })[] = [];
  for (const { partition, state } of parts) {
    if (!state) continue;
    for (const gap of state.gaps) gaps.push({ ...gap, final: true });
    if (hasUnprovenHole(interval, partition, state, cutoffMs)) {
      const fromMs = state.resumeFromMs as number;
      gaps.push({ fromMs, toMs: boundaryAtOrBefore(interval, fromMs, Math.min(partition.endMs, cutoffMs)), final: false });
    }
  }
  const clipped = mergeGaps(gaps)
    .map((gap) => ({ ...gap, fromMs: Math.max(gap.fromMs, range.startMs), toMs: Math.min(gap.toMs, range.endMs) }))
    .filter((gap) => gap.fromMs < gap.toMs)
    .map((gap) => ({ fromMs: gap.fromMs, toMs: gap.toMs, missing: candlesBetween(interval, gap.fromMs, gap.toMs), final: gap.final }));
  return { reachesNow: range.endMs > cutoffMs, gaps: clipped };
}
