import * as z from "zod";
import { KLINE_COLUMNS, type Interval } from "../market.js";
import type { CacheMeta } from "../cache/meta.js";
import { formatTimestamp, parseTimestamp } from "../cache/timestamp.js";
import type { Kline } from "../upstream/binance.js";
import { candlesBetween, nextOpen } from "./interval.js";
import { closesAt, type Partition, type Range, type StoredCoverage } from "./plan.js";

export const KLINES_CSV_HEADER = `${KLINE_COLUMNS.join(",")}\n`;

/** `[fromMs, toMs)`: open times where Binance has no candle, between two candles it has. */
export interface Gap {
  fromMs: number;
  toMs: number;
}

/** What a partition's meta records beside the usual fields, read back. */
export interface PartitionState extends StoredCoverage {
  firstOpenMs: number | null;
  /** The open time of the last stored candle, the last closed one. */
  lastOpenMs: number | null;
  gaps: Gap[];
}

/** Marks a cache entry as a partition written by the klines service (an entry PUT by a client has no such field). */
export const KLINES_SOURCE = "binance";

const timestamp = z.string().refine((text) => parseTimestamp(text) !== null);
const partitionFieldsSchema = z.object({
  source: z.literal(KLINES_SOURCE),
  complete: z.boolean(),
  resume_from: timestamp.nullable(),
  first_open: timestamp.nullable(),
  last_open: timestamp.nullable(),
  gaps: z.array(z.tuple([timestamp, timestamp])),
});

const msOf = (text: string): number => parseTimestamp(text) as number;
const msOrNull = (text: string | null): number | null => (text === null ? null : msOf(text));
const textOrNull = (ms: number | null): string | null => (ms === null ? null : formatTimestamp(ms));

/** The partition fields of a meta; null when the entry is not one the klines service wrote. */
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
  };
  return state.complete === (state.resumeFromMs === null) ? state : null;
}

/** The extra meta fields that record `state`, timestamps written as in the CSV. */
export function metaFieldsOf(state: PartitionState): Record<string, unknown> {
  return {
    source: KLINES_SOURCE,
    complete: state.complete,
    resume_from: textOrNull(state.resumeFromMs),
    first_open: textOrNull(state.firstOpenMs),
    last_open: textOrNull(state.lastOpenMs),
    gaps: state.gaps.map((gap) => [formatTimestamp(gap.fromMs), formatTimestamp(gap.toMs)]),
  };
}

/** Binance's decimal string as the original wrote prices and volumes (Python floats): `60707.00000000` -> `60707.0`. */
function asFloat(decimal: string): string {
  if (!decimal.includes(".")) return `${decimal}.0`;
  const trimmed = decimal.replace(/0+$/, "");
  return trimmed.endsWith(".") ? `${trimmed}0` : trimmed;
}

/** One CSV line in the original's form: timestamp as `2021-10-22 23:03:00`, prices and volume as floats. */
export function klineLine(kline: Kline): string {
  const [open, o, h, l, c, v, closeTime, quoteVolume, trades, takerBase, takerQuote, ignore] = kline;
  const prices = [o, h, l, c, v].map(asFloat).join(",");
  return `${formatTimestamp(open)},${prices},${closeTime},${quoteVolume},${trades},${takerBase},${takerQuote},${ignore}\n`;
}

/**
 * The partition after a fetch from `fromMs`: the stored candles (`base`, for a tail fetch) and the fetched ones
 * that closed before `cutoffMs`, never the still-forming one. Complete once every candle of the partition has
 * closed; else it resumes at the first candle not stored. Gaps between candles are recorded, never filled.
 */
export function buildPartition(input: {
  partition: Partition;
  base: { csv: Uint8Array; state: PartitionState } | null;
  fromMs: number;
  klines: readonly Kline[];
  cutoffMs: number;
}): { csv: Uint8Array; state: PartitionState } {
  const { partition, base, fromMs, cutoffMs } = input;
  const { interval } = partition.id;
  const gaps = [...(base?.state.gaps ?? [])];
  let firstOpenMs = base?.state.firstOpenMs ?? null;
  let lastOpenMs = base?.state.lastOpenMs ?? null;
  let resumeFromMs: number | null = null;
  let lines = "";
  for (const kline of input.klines) {
    const [openMs, , , , , , closeTimeMs] = kline;
    if (openMs < fromMs || openMs >= partition.endMs || (lastOpenMs !== null && openMs <= lastOpenMs)) continue;
    if (closeTimeMs >= cutoffMs) {
      resumeFromMs = openMs;
      break;
    }
    const expectedMs = lastOpenMs === null ? openMs : nextOpen(interval, lastOpenMs);
    if (openMs > expectedMs) gaps.push({ fromMs: expectedMs, toMs: openMs });
    firstOpenMs ??= openMs;
    lastOpenMs = openMs;
    lines += klineLine(kline);
  }
  const complete = cutoffMs >= closesAt(partition);
  if (!complete) resumeFromMs ??= lastOpenMs !== null && lastOpenMs >= fromMs ? nextOpen(interval, lastOpenMs) : fromMs;
  const head = base ? base.csv : new TextEncoder().encode(KLINES_CSV_HEADER);
  const csv = Buffer.concat([head, Buffer.from(lines)]);
  return { csv, state: { complete, resumeFromMs: complete ? null : resumeFromMs, firstOpenMs, lastOpenMs, gaps } };
}

/** The rows of a partition's CSV whose open time lies in the range, header left out: a view, not a copy. */
export function rowsInRange(csv: Uint8Array, partition: Range, range: Range): Uint8Array {
  const bytes = Buffer.from(csv.buffer, csv.byteOffset, csv.byteLength);
  const bodyStart = bytes.indexOf(0x0a) + 1;
  if (bodyStart === 0) return bytes.subarray(0, 0);
  const whole = range.startMs <= partition.startMs && partition.endMs <= range.endMs;
  if (whole) return bytes.subarray(bodyStart);
  const startAt = firstLineFrom(bytes, bodyStart, range.startMs);
  return bytes.subarray(startAt, firstLineFrom(bytes, startAt, range.endMs));
}

/** The offset of the first line at or after `from` whose timestamp is at or after `ms` (the end when none). */
function firstLineFrom(bytes: Buffer, from: number, ms: number): number {
  for (let at = from; at < bytes.length; ) {
    const comma = bytes.indexOf(0x2c, at);
    const openMs = parseTimestamp(bytes.toString("latin1", at, comma === -1 ? bytes.length : comma));
    if (openMs !== null && openMs >= ms) return at;
    const newline = bytes.indexOf(0x0a, at);
    at = newline === -1 ? bytes.length : newline + 1;
  }
  return bytes.length;
}

/** What the answer can say of itself, from the states of its partitions (null: nothing stored, none closed). */
export interface Coverage {
  /** Every closed candle of the range that opens before this is in the answer. */
  untilMs: number;
  /** True when the range goes on past the last closed candle: asking again later gives more. */
  reachesNow: boolean;
  gaps: (Gap & { missing: number })[];
}

export function coverageOf(
  interval: Interval,
  range: Range,
  parts: { partition: Partition; state: PartitionState | null }[],
): Coverage {
  let untilMs = range.endMs;
  for (const { partition, state } of parts) {
    if (!state?.complete) untilMs = Math.min(untilMs, state?.resumeFromMs ?? partition.startMs);
  }
  const gaps: Gap[] = [];
  let previousOpenMs: number | null = null;
  for (const { state } of parts) {
    if (!state || state.firstOpenMs === null) continue;
    if (previousOpenMs !== null && state.firstOpenMs > nextOpen(interval, previousOpenMs)) {
      gaps.push({ fromMs: nextOpen(interval, previousOpenMs), toMs: state.firstOpenMs });
    }
    gaps.push(...state.gaps);
    previousOpenMs = state.lastOpenMs;
  }
  const clipped = gaps
    .map((gap) => ({ fromMs: Math.max(gap.fromMs, range.startMs), toMs: Math.min(gap.toMs, untilMs) }))
    .filter((gap) => gap.fromMs < gap.toMs)
    .map((gap) => ({ ...gap, missing: candlesBetween(interval, gap.fromMs, gap.toMs) }));
  return { untilMs, reachesNow: untilMs < range.endMs, gaps: clipped };
}
