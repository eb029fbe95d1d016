import { CsvRecord, CsvTokenizer, timeColumnOf, decodeText, type CsvSink } from "./grammar.js";
import { OriginalFormDay, parseTimestamp } from "../time.js";

/** A CSV's rows as JSON text, in chunks of UTF-8 bytes. */
export interface RowsJson {
  /** Concatenated, exactly the bytes of `JSON.stringify(csvToRows(text))`. */
  chunks: Uint8Array[];
  sizeBytes: number;
  rows: number;
}

/**
 * `JSON.stringify(csvToRows(text))` of the CSV whose bytes are `csv` (in chunks, as read from the store), byte for
 * byte, written straight from its records (see csv-grammar.ts) in one pass: no row objects, and no per-cell strings
 * but for cells that are not plain decimals (building those, then stringifying them, took 6 s for a year of 1m
 * candles, mostly in the garbage collector; this takes 0.35 s). Throws CsvSyntaxError for a CSV the grammar refuses.
 */
export function csvToJsonRows(csv: readonly Uint8Array[]): RowsJson {
  const writer = new JsonRowsWriter();
  const tokenizer = new CsvTokenizer(writer);
  for (const chunk of csv) tokenizer.push(chunk);
  tokenizer.end();
  const chunks = writer.end();
  return { chunks, sizeBytes: chunks.reduce((sum, chunk) => sum + chunk.length, 0), rows: writer.rows };
}

/** A JSON answer of a CSV larger than this is written as the CSV is read, not in memory (see jsonRowsOf). */
export const STREAM_JSON_ABOVE_BYTES = 8 * 2 ** 20;
/**
 * How much of the CSV is read before what it made of the answer is handed on: the less JSON a stream holds, the less
 * 8 of them at once do (8 JSON reads of a year: 19 MB live in steps of 64 KB, 43 MB in steps of 1 MB).
 */
const STREAM_STEP_BYTES = 2 ** 16;

/**
 * The rows' JSON of any CSV, written as its chunks arrive: the very bytes csvToJsonRows writes, handed on after each
 * 64 KB of CSV read, so memory holds the chunk being read and some 150 KB of JSON whatever the size. Throws
 * CsvSyntaxError where the grammar refuses the CSV, and a RowCountError at the end when its rows are not
 * `expectedRows`; a caller that must not fail midway checks the CSV first (countCsvRows).
 */
export async function* jsonRowsOf(csv: AsyncIterable<Uint8Array>, expectedRows: number): AsyncGenerator<Uint8Array> {
  const writer = new JsonRowsWriter();
  const tokenizer = new CsvTokenizer(writer);
  for await (const chunk of csv) {
    for (let at = 0; at < chunk.length; at += STREAM_STEP_BYTES) {
      tokenizer.push(chunk.subarray(at, at + STREAM_STEP_BYTES));
      yield* writer.takeFull();
    }
  }
  tokenizer.end();
  const rest = writer.end();
  if (writer.rows !== expectedRows) throw new RowCountError(writer.rows, expectedRows);
  yield* rest;
}

/** The CSV does not hold the rows its meta says: the stream it was answering ends with this error. */
export class RowCountError extends Error {
  override name = "RowCountError";
  constructor(rows: number, expected: number) {
    super(`The CSV holds ${rows} rows, not the ${expected} its meta says`);
  }
}

const COMMA = 0x2c;
const QUOTE = 0x22;
const MINUS = 0x2d;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;

const encoder = new TextEncoder();

/**
 * The keys of a row object built by assigning the header's names in order, in the order JSON.stringify writes
 * them: names that are array indices first, ascending, then the others as the header has them.
 */
function keyOrder(names: readonly string[]): number[] {
  const fields = names.map((_, field) => field);
  const index = (name: string) => (/^(0|[1-9]\d{0,9})$/.test(name) && Number(name) < 2 ** 32 - 1 ? Number(name) : -1);
  const indices = fields.filter((field) => index(names[field] as string) !== -1);
  indices.sort((a, b) => index(names[a] as string) - index(names[b] as string));
  return [...indices, ...fields.filter((field) => index(names[field] as string) === -1)];
}

/** Writes the rows' JSON a record at a time: the header first, then the rows. */
class JsonRowsWriter implements CsvSink {
  private readonly out = new ChunkedBytes();
  /** The fields in the order their keys are written, and each key's bytes (`{"name":` or `,"name":`) as words. */
  private order = new Int32Array(0);
  private keyWords: Uint32Array[] = [];
  private keyBytes = new Int32Array(0);
  private keysBytes = 0;
  /** Whether the keys are written in the header's order (no name is an array index). */
  private inOrder = true;
  private readonly scratch = new CsvRecord();
  private timestampAt = -1;
  private readonly writeTimestamp = timestampWriter(this.out);
  rows = 0;

  header(names: string[]): void {
    this.order = Int32Array.from(keyOrder(names));
    this.inOrder = this.order.every((field, key) => field === key);
    const keys = [...this.order].map((field, i) => encoder.encode(`${i === 0 ? "{" : ","}${JSON.stringify(names[field])}:`));
    this.keyWords = keys.map(toWords);
    this.keyBytes = Int32Array.from(keys, (key) => key.length);
    this.keysBytes = keys.reduce((sum, key) => sum + key.length, 0);
    this.timestampAt = timeColumnOf(names);
    this.out.text("[");
  }

  row(record: CsvRecord): void {
    const { out, order, keyWords, keyBytes, timestampAt } = this;
    const { bytes, bounds } = record;
    // Room for the row: no cell's plain JSON is longer than the cell but the timestamp's, 7 bytes more; a comma
    // and braces; and a key's last word may write 3 bytes past it. Cells typed as papaparse would make room anew.
    const rowBytes = this.keysBytes + record.sizeBytes() + TIMESTAMP_GROWTH + 6;
    out.reserve(rowBytes);
    if (this.rows > 0) out.chunk[out.at++] = COMMA;
    const anyQuoted = record.quoted > 0;
    for (let key = 0; key < order.length; key++) {
      const field = order[key] as number;
      out.words(keyWords[key] as Uint32Array, keyBytes[key] as number);
      const from = bounds[2 * field] as number;
      const to = bounds[2 * field + 1] as number;
      if (anyQuoted && record.escaped(field)) {
        const text = record.text(field);
        out.text(field === timestampAt ? timestampJson(text) : JSON.stringify(typedCell(text)));
      } else if (field === timestampAt) this.writeTimestamp(bytes, from, to);
      else {
        const start = out.at;
        if (copyDecimal(out, bytes, from, to) !== to || out.at === start) {
          out.at = start;
          out.text(JSON.stringify(typedCell(decodeText(bytes, from, to))));
        }
      }
      out.reserve(rowBytes);
    }
    out.chunk[out.at++] = 0x7d; // }
    this.rows++;
  }

  /**
   * A plain line, written as row would write its record, in one pass: each cell is split off at the comma its
   * copy stops at (a JSON row's keys in the header's order; else the line is split first).
   */
  plainRow(bytes: Buffer, from: number, end: number): boolean {
    if (!this.inOrder) {
      if (!this.scratch.splitPlain(bytes, from, end, this.order.length)) return false;
      this.row(this.scratch);
      return true;
    }
    const { out, keyWords, keyBytes, timestampAt } = this;
    const width = keyWords.length;
    const rowBytes = this.keysBytes + (end - from) + TIMESTAMP_GROWTH + 6;
    out.reserve(rowBytes);
    if (this.rows > 0) out.chunk[out.at++] = COMMA;
    let cellStart = from;
    for (let field = 0; field < width; field++) {
      if (cellStart > end) return false;
      out.words(keyWords[field] as Uint32Array, keyBytes[field] as number);
      let cellEnd: number;
      if (field === timestampAt) {
        cellEnd = commaOrEnd(bytes, cellStart, end);
        this.writeTimestamp(bytes, cellStart, cellEnd);
      } else {
        const start = out.at;
        cellEnd = copyDecimal(out, bytes, cellStart, end);
        if ((cellEnd !== end && bytes[cellEnd] !== COMMA) || out.at === start) {
          out.at = start;
          cellEnd = commaOrEnd(bytes, cellEnd, end);
          out.text(JSON.stringify(typedCell(decodeText(bytes, cellStart, cellEnd))));
        }
      }
      out.reserve(rowBytes);
      cellStart = cellEnd + 1;
    }
    if (cellStart !== end + 1) return false;
    out.chunk[out.at++] = 0x7d; // }
    this.rows++;
    return true;
  }

  /** The output chunks filled so far, handed over. */
  takeFull(): Uint8Array[] {
    return this.out.takeFull();
  }

  /** The rest of the output. */
  end(): Uint8Array[] {
    this.out.text("]");
    return this.out.end();
  }
}

const CHUNK_BYTES = 1 << 16;

function toWords(bytes: Uint8Array): Uint32Array {
  const padded = new Uint8Array(Math.ceil(bytes.length / 4) * 4);
  padded.set(bytes);
  const view = new DataView(padded.buffer);
  return Uint32Array.from({ length: padded.length / 4 }, (_, i) => view.getUint32(i * 4, true));
}

/**
 * Bytes written into 64 KB chunks (or a row's size, when larger): reserve room, then write at `chunk[at++]` or with
 * copy/text.
 */
class ChunkedBytes {
  chunk: Uint8Array = Buffer.allocUnsafe(CHUNK_BYTES);
  view = new DataView(this.chunk.buffer, this.chunk.byteOffset, this.chunk.byteLength);
  at = 0;
  private readonly full: Uint8Array[] = [];

  /** Makes room for `size` more bytes in `chunk`, moving on to a new chunk if need be. */
  reserve(size: number): void {
    if (this.at + size <= this.chunk.length) return;
    this.full.push(this.chunk.subarray(0, this.at));
    this.chunk = Buffer.allocUnsafe(Math.max(CHUNK_BYTES, size));
    this.view = new DataView(this.chunk.buffer, this.chunk.byteOffset, this.chunk.byteLength);
    this.at = 0;
  }

  /** Copies `source[from, to)` into room already reserved. */
  copy(source: Uint8Array, from = 0, to = source.length): void {
    const chunk = this.chunk;
    let at = this.at;
    for (let i = from; i < to; i++) chunk[at++] = source[i] as number;
    this.at = at;
  }

  /** Writes `length` bytes given as little-endian 32-bit words, a word at a time (up to 3 bytes of slack after). */
  words(words: Uint32Array, length: number): void {
    const view = this.view;
    let at = this.at;
    for (let i = 0; i < words.length; i++, at += 4) view.setUint32(at, words[i] as number, true);
    this.at += length;
  }

  /** The chunks filled so far, handed over (the one being written stays). */
  takeFull(): Uint8Array[] {
    return this.full.splice(0);
  }

  text(text: string): void {
    const bytes = encoder.encode(text);
    this.reserve(bytes.length);
    this.copy(bytes);
  }

  end(): Uint8Array[] {
    this.full.push(this.chunk.subarray(0, this.at));
    return this.full;
  }
}

/** Up to this many significant digits, a decimal goes through a double and prints back the same (DBL_DIG). */
const EXACT_DIGITS = 15;
/** Below 1e-6, JS prints numbers with an exponent. */
const MAX_LEADING_FRACTION_ZEROS = 5;

/**
 * Copies the decimal that starts at `csv[from]` (and stops at a byte that is not one of its digits, or at `limit`)
 * into `out` as its JSON, and returns where it stopped; when the cell ends there, that is the cell's JSON. When its
 * bytes are a plain decimal, the copy less trailing fraction zeros is kept: no exponent, no '+', no superfluous
 * leading zero, at most 15 significant digits, not -0 and not below 1e-6, so the double it parses to prints back as
 * these very digits. Otherwise nothing is kept (and the cell is to be typed as papaparse types it).
 */
function copyDecimal(out: ChunkedBytes, csv: Uint8Array, from: number, limit: number): number {
  const chunk = out.chunk;
  const outStart = out.at;
  let at = outStart;
  let i = from;
  const negative = i < limit && csv[i] === MINUS;
  if (negative) chunk[at++] = csv[i++] as number;
  const intStart = i;
  let byte = i < limit ? (csv[i] as number) : -1;
  while (byte >= ZERO && byte <= NINE) {
    chunk[at++] = byte;
    byte = ++i < limit ? (csv[i] as number) : -1;
  }
  const intDigits = i - intStart;
  const intIsZero = intDigits > 0 && csv[intStart] === ZERO;
  let keep = at;
  let significant = intIsZero ? 0 : intDigits;
  let leadingZeros = 0;
  if (byte === DOT) {
    chunk[at++] = byte;
    byte = ++i < limit ? (csv[i] as number) : -1;
    const fractionStart = i;
    while (byte >= ZERO && byte <= NINE) {
      chunk[at++] = byte;
      byte = ++i < limit ? (csv[i] as number) : -1;
    }
    let digitsEnd = i;
    while (digitsEnd > fractionStart && csv[digitsEnd - 1] === ZERO) digitsEnd--;
    if (digitsEnd > fractionStart) {
      keep = outStart + (digitsEnd - from);
      significant += digitsEnd - fractionStart;
      if (intIsZero) {
        while (csv[fractionStart + leadingZeros] === ZERO) leadingZeros++;
        significant -= leadingZeros;
      }
    }
  }
  const plain =
    intDigits >= 1 &&
    intDigits <= EXACT_DIGITS &&
    !(intIsZero && intDigits > 1) &&
    !(negative && intIsZero && significant === 0) &&
    significant <= EXACT_DIGITS &&
    leadingZeros <= MAX_LEADING_FRACTION_ZEROS;
  out.at = plain ? keep : outStart;
  return i;
}

/** Where the cell that goes on at `from` ends: at the next comma, or `end`. */
function commaOrEnd(bytes: Uint8Array, from: number, end: number): number {
  let i = from;
  while (i < end && bytes[i] !== COMMA) i++;
  return i;
}

const FLOAT = /^\s*-?(\d+\.?|\.\d+|\d+\.\d+)([eE][-+]?\d+)?\s*$/;
const ISO_DATE =
  /^((\d{4}-[01]\d-[0-3]\dT[0-2]\d:[0-5]\d:[0-5]\d\.\d+([+-][0-2]\d:[0-5]\d|Z))|(\d{4}-[01]\d-[0-3]\dT[0-2]\d:[0-5]\d:[0-5]\d([+-][0-2]\d:[0-5]\d|Z))|(\d{4}-[01]\d-[0-3]\dT[0-2]\d:[0-5]\d([+-][0-2]\d:[0-5]\d|Z)))$/;
const MAX_FLOAT = 2 ** 53;

/**
 * A cell as the JSON rows type it: as papaparse 5 types one with `dynamicTyping: true` (parseDynamic and testFloat),
 * which the service answered with before it read CSVs by its own grammar.
 */
export function typedCell(text: string): boolean | number | Date | string | null {
  if (text === "true" || text === "TRUE") return true;
  if (text === "false" || text === "FALSE") return false;
  if (FLOAT.test(text)) {
    const value = parseFloat(text);
    if (value > -MAX_FLOAT && value < MAX_FLOAT) return value;
  }
  if (ISO_DATE.test(text)) return new Date(text);
  return text === "" ? null : text;
}

const DAY_BYTES = 10;
/** `"2021-10-22T23:03:00.000Z"` is 7 bytes longer than `2021-10-22 23:03:00`. */
const TIMESTAMP_GROWTH = 7;
const T = 0x54;
const MS_AND_ZONE = encoder.encode('.000Z"');

/**
 * Writes timestamp cells as csvToRows renders them (ISO-8601 UTC when readable, else the typed cell). A cell in the
 * original's form on a day already rendered (OriginalFormDay) is rewritten without parsing: `2021-10-22 23:03:00`
 * becomes `"2021-10-22T23:03:00.000Z"`.
 */
function timestampWriter(out: ChunkedBytes): (csv: Uint8Array, from: number, end: number) => void {
  const day = new OriginalFormDay();
  return (csv, from, end) => {
    if (day.matches(csv, from, end)) {
      out.chunk[out.at++] = QUOTE;
      out.copy(csv, from, from + DAY_BYTES);
      out.chunk[out.at++] = T;
      out.copy(csv, from + DAY_BYTES + 1, end);
      out.copy(MS_AND_ZONE);
      return;
    }
    const text = decodeText(csv, from, end);
    const json = timestampJson(text);
    out.text(json);
    if (json === `"${text.slice(0, DAY_BYTES)}T${text.slice(DAY_BYTES + 1)}.000Z"`) day.remember(csv, from, end);
  };
}

/** What csvToRows makes of a timestamp cell, as JSON. */
function timestampJson(text: string): string {
  const typed = typedCell(text);
  const ms = parseTimestamp(String(typed));
  return ms === null ? JSON.stringify(typed) : `"${new Date(ms).toISOString()}"`;
}

/** What the JSON rows make of a timestamp cell: ISO-8601 UTC when it reads as a time, else the typed cell. */
export function timestampValue(text: string): ReturnType<typeof typedCell> {
  const typed = typedCell(text);
  const ms = parseTimestamp(String(typed));
  return ms === null ? typed : new Date(ms).toISOString();
}
