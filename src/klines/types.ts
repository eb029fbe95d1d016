import type { SeriesId } from "../price-kinds.js";
import type { Kline } from "../upstream/binance.js";

/** The read-through's shapes, shared by its planning, its passes and its partitions' format. */

/** [startMs, endMs): candles whose open time lies in it. */
export interface Range {
  startMs: number;
  endMs: number;
}

/** One stored piece of a symbol's history: an ordinary cache entry for a calendar month (a day for 1s candles). */
export interface Partition extends Range {
  /** The month's (day's) dataset id, and the kind of its candles. */
  id: SeriesId;
}

/** `[fromMs, toMs)`: open times where the exchange has no candle, though the symbol traded before and after. */
export interface Gap {
  fromMs: number;
  toMs: number;
}

/** What a partition's meta records beside the cache's fields, read back. */
export interface PartitionState {
  /** Every candle that can exist in the partition is stored (or in a gap): it is never fetched again. */
  complete: boolean;
  /** Where the next fetch starts: the open time of the first candle not stored. Null once complete. */
  resumeFromMs: number | null;
  firstOpenMs: number | null;
  /** The open time of the last stored candle, the last closed one. */
  lastOpenMs: number | null;
  /** Proven gaps only: the exchange answered candles after each of them (or said where the symbol's life ends). */
  gaps: Gap[];
  /** The exchange's time when the partition was last fetched: candles closed before it were asked for. */
  checkedUntilMs: number;
  /**
   * How many decimal places Binance wrote the open, high, low, close and volume of the stored candles with, from
   * each open time on (the CSV keeps them as floats, `60707.0`, as the original did): what gives Binance's own
   * strings back. Absent in partitions stored before it was recorded.
   */
  decimals?: DecimalRun[];
}

/** From the candle opening at `fromMs` on, Binance wrote open, high, low, close and volume with these places. */
export interface DecimalRun {
  fromMs: number;
  places: number[];
}

/** What one fetch found for one partition (see pass.ts): the closed candles after what is stored, and the proof. */
export interface PartitionFetch {
  /** Closed candles in the partition, after the stored ones, oldest first. */
  klines: readonly Kline[];
  /** Proven gaps found in the partition. */
  gaps: readonly Gap[];
  /** Every candle that can exist in the partition is now known: stored, fetched, or in a gap. */
  complete: boolean;
  /** Where the next fetch starts, when not complete. */
  resumeFromMs: number | null;
  /** The exchange's time the fetch was judged by. */
  checkedUntilMs: number;
}

/** Consecutive partitions fetched by one paging pass over [fromMs, the last partition's end). */
export interface FetchGroup {
  partitions: Partition[];
  /** Where fetching starts: the first partition's start, or the open after its last stored candle. */
  fromMs: number;
  /** The open time of the last candle stored before `fromMs`; null when none is. */
  heldBeforeMs: number | null;
  /**
   * Candles of the group already had from Binance's public archive (checked there): taken first, as if they were the
   * first page; REST then fills only what they lack.
   */
  archived?: readonly Kline[];
}
