import { parseTimestamp } from "../time.js";

/** The type of a column in a columnar answer. */
export type ColumnKind = "timestamp" | "float64" | "int64" | "boolean" | "string";

/**
 * The known columns' types: candle and funding times as UTC instants (ms), prices, volumes and rates float64, trade
 * counts int64.
 */
const KNOWN: Record<string, ColumnKind> = {
  timestamp: "timestamp",
  close_time: "timestamp",
  open: "float64",
  high: "float64",
  low: "float64",
  close: "float64",
  volume: "float64",
  quote_volume: "float64",
  taker_base: "float64",
  taker_quote: "float64",
  trades: "int64",
  funding_time: "timestamp",
  funding_rate: "float64",
  mark_price: "float64",
};

/** A number as papaparse's dynamic typing reads one (what the JSON form answers as a number). */
const NUMBER = /^\s*-?(\d+\.?|\.\d+|\d+\.\d+)([eE][-+]?\d+)?\s*$/;
const INTEGER = /^-?\d+$/;
const BOOLEAN = /^(true|false|TRUE|FALSE)$/;

/** What one column's values allow, learnt value by value. */
interface Seen {
  timestamp: boolean;
  int: boolean;
  number: boolean;
  boolean: boolean;
}

/**
 * Decides each column's type from all of its values (a first pass over the CSV): a known column takes its type when
 * every value fits it; any other column, or a known one whose values do not fit, keeps the type the CSV implies,
 * as the JSON form reads it: integers int64, other numbers float64, true/false boolean, anything else string.
 * Empty values are nulls and fit every type.
 */
export class KindInference {
  private readonly seen: Seen[];
  private readonly timestamps: TimestampReader[];

  constructor(private readonly names: readonly string[]) {
    this.seen = names.map(() => ({ timestamp: true, int: true, number: true, boolean: true }));
    this.timestamps = names.map(() => new TimestampReader());
  }

  observe(records: readonly string[][]): void {
    const { seen } = this;
    for (const record of records) {
      for (let i = 0; i < seen.length; i++) {
        const value = record[i] ?? "";
        if (value === "") continue;
        const column = seen[i] as Seen;
        if (column.timestamp && (this.timestamps[i] as TimestampReader).read(value) === null) column.timestamp = false;
        if (column.number && !NUMBER.test(value)) column.number = false;
        if (column.int && !(INTEGER.test(value) && Number.isSafeInteger(Number(value)))) column.int = false;
        if (column.boolean && !BOOLEAN.test(value)) column.boolean = false;
      }
    }
  }

  kinds(): ColumnKind[] {
    return this.names.map((name, i) => {
      const seen = this.seen[i] as Seen;
      const known = KNOWN[name];
      if (known === "timestamp" && seen.timestamp) return "timestamp";
      if (known === "float64" && seen.number) return "float64";
      if (known === "int64" && seen.int) return "int64";
      if (seen.int && !seen.boolean) return "int64";
      if (seen.number && !seen.boolean) return "float64";
      if (seen.boolean && !seen.int) return "boolean";
      return "string";
    });
  }
}

export type ColumnValue = number | bigint | boolean | string | null;
/** One column of a batch: its values, or (the fast path's, see candle-columns.ts) a typed array of them, no nulls. */
export type ColumnData = readonly ColumnValue[] | Float64Array | BigInt64Array;

/**
 * parseTimestamp, a day at a time: the original's form (`2021-10-22 23:03:00`) on the day of the previous one needs
 * only its time of day read; anything else is parsed whole. (Date.parse per row costs more than the rest of a row.)
 */
class TimestampReader {
  private day = "";
  private dayMs = 0;

  read(text: string): number | null {
    if (text.length === 19 && text.startsWith(this.day) && this.day !== "") {
      const time = timeOfDayMs(text);
      if (time !== null) return this.dayMs + time;
    }
    const ms = parseTimestamp(text);
    if (ms !== null && text.length === 19 && text[10] === " " && timeOfDayMs(text) !== null) {
      this.day = text.slice(0, 10);
      this.dayMs = ms - (timeOfDayMs(text) as number);
    }
    return ms;
  }
}

/** `HH:MM:SS` at [11, 19) of an original-form timestamp as milliseconds into the day, or null when it is not one. */
function timeOfDayMs(text: string): number | null {
  if (text[13] !== ":" || text[16] !== ":") return null;
  const h = twoDigits(text, 11);
  const m = twoDigits(text, 14);
  const s = twoDigits(text, 17);
  if (h < 0 || h > 23 || m < 0 || m > 59 || s < 0 || s > 59) return null;
  return ((h * 60 + m) * 60 + s) * 1000;
}

function twoDigits(text: string, at: number): number {
  const tens = text.charCodeAt(at) - 0x30;
  const ones = text.charCodeAt(at + 1) - 0x30;
  return tens >= 0 && tens <= 9 && ones >= 0 && ones <= 9 ? tens * 10 + ones : -1;
}

/** A batch of records as columns of typed values, in the header's order; empty values are null. */
export function columnsOf(records: readonly string[][], kinds: readonly ColumnKind[]): ColumnValue[][] {
  return kinds.map((kind, i) => {
    const values = new Array<ColumnValue>(records.length);
    const timestamps = kind === "timestamp" ? new TimestampReader() : null;
    for (let r = 0; r < records.length; r++) {
      const text = (records[r] as string[])[i] ?? "";
      values[r] = text === "" ? null : timestamps ? timestamps.read(text) : valueOf(kind as Exclude<ColumnKind, "timestamp">, text);
    }
    return values;
  });
}

/** One value in its column's type. Only values that fit (see KindInference) reach here. */
function valueOf(kind: Exclude<ColumnKind, "timestamp">, text: string): ColumnValue {
  switch (kind) {
    case "float64":
      return Number(text);
    case "int64":
      return BigInt(text);
    case "boolean":
      return text === "true" || text === "TRUE";
    case "string":
      return text;
  }
}

/** Exact integers as 64-bit ones (a loop: BigInt64Array.from with a map is several times slower). */
export function bigints(column: Float64Array): BigInt64Array {
  const out = new BigInt64Array(column.length);
  for (let i = 0; i < column.length; i++) out[i] = BigInt(column[i] as number);
  return out;
}
