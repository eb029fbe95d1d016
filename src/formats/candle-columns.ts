import { KLINE_COLUMNS } from "../market.js";
import { parseTimestamp } from "../time.js";
import { bigints, type ColumnKind } from "./columns.js";
import { BATCH_BYTES, BATCH_CELLS } from "./records.js";

/**
 * The fast path of the columnar forms, for the CSV nearly every entry is: the candle columns, plain. Its fields are
 * read from the bytes straight into typed columns, one pass, no string per field. It answers only what the general
 * path (records.ts, columns.ts) would answer the same: anything else about the CSV (another header, a quote, a CR,
 * an empty field or line, a value of another form) and it declines, and the general path reads the CSV instead.
 */

/** The kinds the general path infers for the candle columns when every value is plain (see KindInference). */
export const CANDLE_KINDS: readonly ColumnKind[] = [
  "timestamp", // timestamp: `2021-10-22 23:03:00`
  "float64",
  "float64",
  "float64",
  "float64",
  "float64",
  "timestamp", // close_time: epoch ms
  "float64",
  "int64", // trades
  "float64",
  "float64",
  "int64", // ignore: not a known column, and every value an integer
];

/** Rows per batch, as the general path cuts them: BATCH_CELLS cells of the 12 columns. */
const BATCH_ROWS = BATCH_CELLS / KLINE_COLUMNS.length;
/** Past this many rows the fast path declines (its batches are all held until the end): two years of 1m candles. */
const MAX_ROWS = 1_100_000;
/** A candle line is about 130 bytes; one far longer is left to the general path and its limits. */
const MAX_LINE_BYTES = 1024;
const HEADER = Buffer.from(KLINE_COLUMNS.join(","));
const LF = 0x0a;
const COMMA = 0x2c;
const MINUS = 0x2d;
const DOT = 0x2e;
const ZERO = 0x30;
/** Digits of a number read exactly as an integer (below 2^53), and its power of ten exact as a double. */
const EXACT_DIGITS = 15;
const POW10 = Array.from({ length: EXACT_DIGITS + 1 }, (_, k) => 10 ** k);

/** One batch: `rows` values per column, times as epoch ms, integers as exact doubles. */
export interface CandleBatch {
  rows: number;
  columns: Float64Array[];
}

/** Thrown inside the reader when the CSV is not one the fast path answers; never leaves this file. */
class Declined extends Error {}

/**
 * The CSV's batches as typed columns (CANDLE_KINDS), or null when the fast path declines it. Throws only what
 * reading the chunks throws.
 */
export async function candleBatchesOf(chunks: AsyncIterable<Uint8Array>): Promise<CandleBatch[] | null> {
  const reader = new CandleReader();
  try {
    let carry: Buffer = Buffer.alloc(0);
    for await (const chunk of chunks) {
      const bytes = carry.length > 0 ? Buffer.concat([carry, chunk]) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      const last = bytes.lastIndexOf(LF);
      if (last === -1) {
        carry = Buffer.from(bytes);
        continue;
      }
      reader.lines(bytes, last + 1);
      carry = Buffer.from(bytes.subarray(last + 1));
    }
    if (carry.length > 0) reader.line(carry, 0, carry.length);
    return reader.end();
  } catch (error) {
    if (error instanceof Declined) return null;
    throw error;
  }
}

class CandleReader {
  private readonly batches: CandleBatch[] = [];
  private batch: CandleBatch = newBatch();
  private row = 0;
  private batchBytes = 0;
  private rowsSeen = 0;
  private header = false;
  /** The day of the last timestamp, as yyyymmdd, and its start in epoch ms. */
  private dayKey = -1;
  private dayMs = 0;

  /** Every line of `bytes` before `end`, each ending in LF. */
  lines(bytes: Buffer, end: number): void {
    let at = 0;
    while (at < end) {
      const lineEnd = bytes.indexOf(LF, at);
      this.line(bytes, at, lineEnd);
      at = lineEnd + 1;
    }
  }

  /** One line, without its LF. */
  line(bytes: Buffer, from: number, end: number): void {
    if (end === from || end - from > MAX_LINE_BYTES) throw new Declined();
    if (!this.header) {
      if (end - from !== HEADER.length || HEADER.compare(bytes, from, end) !== 0) throw new Declined();
      this.header = true;
      return;
    }
    if (++this.rowsSeen > MAX_ROWS) throw new Declined();
    // Batches cut where the general path cuts them (records.ts): at BATCH_CELLS cells or BATCH_BYTES of fields.
    const size = end - from;
    if (this.row > 0 && (this.row === BATCH_ROWS || this.batchBytes + size > BATCH_BYTES)) this.close();
    this.batchBytes += size;
    const { columns } = this.batch;
    const r = this.row;
    let at = this.timestamp(bytes, from, columns[0] as Float64Array, r);
    for (let c = 1; c < 12; c++) {
      if (bytes[at] !== COMMA) throw new Declined();
      at = c === 6 ? epochMs(bytes, at + 1, columns[c] as Float64Array, r) : decimal(bytes, at + 1, columns[c] as Float64Array, r, c === 8 || c === 11);
    }
    if (at !== end) throw new Declined();
    this.row++;
  }

  end(): CandleBatch[] | null {
    if (!this.header) throw new Declined();
    if (this.row > 0) this.close();
    if (this.batches.length === 0) throw new Declined();
    return this.batches;
  }

  private close(): void {
    const { columns } = this.batch;
    const rows = this.row;
    this.batches.push({ rows, columns: rows === BATCH_ROWS ? columns : columns.map((column) => column.slice(0, rows)) });
    this.batch = newBatch();
    this.row = 0;
    this.batchBytes = 0;
  }

  /** `YYYY-MM-DD HH:MM:SS` at `from`, as parseTimestamp reads it; where it ends. */
  private timestamp(bytes: Buffer, from: number, into: Float64Array, r: number): number {
    if (bytes[from + 4] !== MINUS || bytes[from + 7] !== MINUS || bytes[from + 10] !== 0x20 || bytes[from + 13] !== 0x3a || bytes[from + 16] !== 0x3a) {
      throw new Declined();
    }
    const key = digits(bytes, from, 4) * 10_000 + digits(bytes, from + 5, 2) * 100 + digits(bytes, from + 8, 2);
    if (key !== this.dayKey) {
      const dayMs = parseTimestamp(`${bytes.toString("latin1", from, from + 10)} 00:00:00`);
      if (dayMs === null) throw new Declined();
      this.dayKey = key;
      this.dayMs = dayMs;
    }
    const h = digits(bytes, from + 11, 2);
    const m = digits(bytes, from + 14, 2);
    const s = digits(bytes, from + 17, 2);
    if (h > 23 || m > 59 || s > 59) throw new Declined();
    into[r] = this.dayMs + ((h * 60 + m) * 60 + s) * 1000;
    return from + 19;
  }
}

const newBatch = (): CandleBatch => ({ rows: BATCH_ROWS, columns: KLINE_COLUMNS.map(() => new Float64Array(BATCH_ROWS)) });

/** `count` decimal digits at `from` as a number; declines anything else. */
function digits(bytes: Buffer, from: number, count: number): number {
  let value = 0;
  for (let i = from; i < from + count; i++) {
    const digit = (bytes[i] as number) - ZERO;
    if (digit < 0 || digit > 9) throw new Declined();
    value = value * 10 + digit;
  }
  return value;
}

/** 1 to 15 digits (epoch ms, as parseTimestamp reads them); where they end. */
function epochMs(bytes: Buffer, from: number, into: Float64Array, r: number): number {
  let at = from;
  let value = 0;
  for (let digit = (bytes[at] as number) - ZERO; digit >= 0 && digit <= 9; digit = (bytes[at] as number) - ZERO) {
    value = value * 10 + digit;
    at++;
  }
  if (at === from || at - from > EXACT_DIGITS) throw new Declined();
  into[r] = value;
  return at;
}

/**
 * A decimal (`-?digits[.digits]`, as Number reads it) at `from`; an integer only when `integer`; where it ends.
 * Up to 15 digits it is the integer of its digits over a power of ten, both exact, so the one rounding of that
 * division gives what Number gives; longer ones are read by Number.
 */
function decimal(bytes: Buffer, from: number, into: Float64Array, r: number, integer: boolean): number {
  let at = from;
  const negative = bytes[at] === MINUS;
  if (negative) at++;
  let mantissa = 0;
  let count = 0;
  let fraction = -1;
  for (;;) {
    const byte = bytes[at] as number;
    const digit = byte - ZERO;
    if (digit >= 0 && digit <= 9) {
      mantissa = mantissa * 10 + digit;
      count++;
    } else if (byte === DOT && fraction === -1 && !integer) {
      fraction = count;
    } else {
      break;
    }
    at++;
  }
  if (count === 0) throw new Declined();
  if (count > EXACT_DIGITS) {
    if (integer) throw new Declined();
    into[r] = Number(bytes.toString("latin1", from, at));
    return at;
  }
  const value = fraction === -1 ? mantissa : mantissa / (POW10[count - fraction] as number);
  into[r] = negative ? -value : value;
  return at;
}

/**
 * A batch's columns as the encoders take them: doubles as they are, int64 as bigints (what columnsOf hands them as
 * values, here in typed arrays).
 */
export function candleValuesOf(batch: CandleBatch): (Float64Array | BigInt64Array)[] {
  return batch.columns.map((column, c) => (CANDLE_KINDS[c] === "int64" ? bigints(column) : column));
}
