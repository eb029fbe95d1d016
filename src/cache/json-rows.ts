import { csvToRows } from "./csv.js";
import { OriginalFormDay, parseTimestamp } from "./timestamp.js";

/** A CSV's rows as JSON text, in chunks of UTF-8 bytes. */
export interface RowsJson {
  /** Concatenated, exactly the bytes of `JSON.stringify(csvToRows(text))`. */
  chunks: Uint8Array[];
  sizeBytes: number;
  rows: number;
}

/**
 * `JSON.stringify(csvToRows(text))` of the CSV whose bytes are `csv` (in chunks, as read from the store), byte for
 * byte, written straight from those bytes in one pass: no row objects, no per-cell strings (building those, then
 * stringifying them, took 6 s for a year of 1m candles, mostly in the garbage collector; this takes 0.4 s).
 * A plain CSV takes this path: no quotes, no CR, commas only, unique ordinary header names with `timestamp` among
 * them, every line as wide as the header. Anything else goes through csvToRows, so the answer is the same.
 */
export function csvToJsonRows(csv: readonly Uint8Array[]): RowsJson {
  const fast = plainCsvToJson(csv);
  if (fast) return fast;
  const rows = csvToRows(decoder.decode(Buffer.concat(csv)));
  const bytes = encoder.encode(JSON.stringify(rows));
  return { chunks: [bytes], sizeBytes: bytes.length, rows: rows.length };
}

const LF = 0x0a;
const CR = 0x0d;
const QUOTE = 0x22;
const COMMA = 0x2c;
const MINUS = 0x2d;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
const BOM = [0xef, 0xbb, 0xbf];
/** The other delimiters papaparse tries when it guesses one from the first 10 lines. */
const OTHER_DELIMITERS = [0x09, 0x7c, 0x3b, 0x1e, 0x1f];
const GUESSED_FROM_LINES = 10;

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const decode = (bytes: Uint8Array, from: number, to: number) => decoder.decode(bytes.subarray(from, to));

/** The fast path; null when the CSV is not plain (see csvToJsonRows). */
function plainCsvToJson(csv: readonly Uint8Array[]): RowsJson | null {
  // As Buffer views: memchr for indexOf and includes, and one kind of array for the hot loops to read.
  const input = csv.map(asBuffer);
  if (input.some((chunk) => chunk.includes(QUOTE) || chunk.includes(CR))) return null;
  const line = new LineReader(input);
  const writer = new PlainRowsWriter();
  while (line.next()) if (!writer.line(line)) return null;
  const chunks = writer.end();
  if (!chunks) return null;
  return { chunks, sizeBytes: chunks.reduce((sum, chunk) => sum + chunk.length, 0), rows: writer.rows };
}

const asBuffer = (chunk: Uint8Array) => Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);

/** A JSON answer of a CSV larger than this is written as the CSV is read, not in memory (see plainJsonRowsOf). */
export const STREAM_JSON_ABOVE_BYTES = 8 * 2 ** 20;

/** The data rows of a CSV this service wrote: one line each, every line ended by LF, after the header. */
export function rowsOfWrittenCsv(csv: readonly Uint8Array[]): number {
  let lines = 0;
  for (const chunk of csv.map(asBuffer)) for (let at = chunk.indexOf(LF); at !== -1; at = chunk.indexOf(LF, at + 1)) lines++;
  return Math.max(lines - 1, 0);
}

/** True when no chunk of the CSV holds a quote or a CR: the first condition of the fast path, checked by memchr. */
export function hasNoQuoteOrCr(chunk: Uint8Array): boolean {
  const bytes = asBuffer(chunk);
  return !bytes.includes(QUOTE) && !bytes.includes(CR);
}

/**
 * The rows' JSON of a CSV that holds no quote and no CR (see hasNoQuoteOrCr), written as its chunks arrive: the
 * very bytes csvToJsonRows writes, a megabyte at a time, so memory holds one input chunk and one output chunk
 * whatever the CSV's size. Throws, before the first byte, when the header or the first lines are not plain, and
 * later when a row is not (neither can happen to a CSV the cache checked when it was written) or when the rows
 * are not `expectedRows`.
 */
export async function* plainJsonRowsOf(csv: AsyncIterable<Uint8Array>, expectedRows: number): AsyncGenerator<Uint8Array> {
  const writer = new PlainRowsWriter();
  const lines = new IncrementalLines();
  for await (const chunk of csv) {
    const bytes = asBuffer(chunk);
    if (bytes.includes(QUOTE) || bytes.includes(CR)) throw new NotPlainCsvError("a quote or CR");
    lines.push(bytes, (line) => {
      if (!writer.line(line)) throw new NotPlainCsvError(`line ${writer.lines}`);
    });
    yield* writer.takeFull();
  }
  lines.end((line) => {
    if (!writer.line(line)) throw new NotPlainCsvError(`line ${writer.lines}`);
  });
  const rest = writer.end();
  if (!rest) throw new NotPlainCsvError("the header");
  if (writer.rows !== expectedRows) throw new NotPlainCsvError(`${writer.rows} rows, not ${expectedRows}`);
  yield* rest;
}

/** A CSV the plain path cannot write after all: the stream it was answering ends with this error. */
export class NotPlainCsvError extends Error {
  override name = "NotPlainCsvError";
  constructor(what: string) {
    super(`The CSV is not plain at ${what}; its JSON must be written the slow way`);
  }
}

/** One line of the CSV: `bytes[from, end)`, with `bytes[end]` its newline or past the end. */
interface LineView {
  bytes: Uint8Array;
  from: number;
  end: number;
}

/** The fast path's writer, a line at a time: the header first, then the rows. */
class PlainRowsWriter {
  private readonly out = new ChunkedBytes();
  private names: string[] | null = null;
  private timestampAt = -1;
  private keys: Uint8Array[] = [];
  private keyWords: Uint32Array[] = [];
  private keysBytes = 0;
  private writeTimestamp = timestampWriter(this.out);
  lines = 0;
  rows = 0;

  /** False when the CSV is not plain after all. */
  line(line: LineView): boolean {
    this.lines++;
    if (this.names === null) return this.header(line);
    if (this.lines <= GUESSED_FROM_LINES && hasOtherDelimiter(line)) return false;
    const { bytes, from, end } = line;
    if (end === from) return true;
    const { out, names, keys, keyWords, timestampAt } = this;
    // Room for the row: no cell's plain JSON is longer than the cell but the timestamp's, 7 bytes more; a comma
    // and braces; and a key's last word may write 3 bytes past it. Cells typed as papaparse would make room anew.
    const rowBytes = this.keysBytes + (end - from) + TIMESTAMP_GROWTH + 6;
    out.reserve(rowBytes);
    if (this.rows > 0) out.chunk[out.at++] = COMMA;
    let cellStart = from;
    for (let field = 0; field < names.length; field++) {
      if (cellStart > end) return false;
      out.words(keyWords[field] as Uint32Array, (keys[field] as Uint8Array).length);
      const cellEnd =
        field === timestampAt ? this.writeTimestamp(bytes, cellStart, end) : writeCell(out, bytes, cellStart, end);
      out.reserve(rowBytes);
      cellStart = cellEnd + 1;
    }
    if (cellStart !== end + 1) return false;
    out.chunk[out.at++] = 0x7d; // }
    this.rows++;
    return true;
  }

  private header(line: LineView): boolean {
    if (hasOtherDelimiter(line)) return false;
    const start = BOM.every((byte, i) => line.bytes[line.from + i] === byte) ? line.from + BOM.length : line.from;
    const names = decode(line.bytes, start, line.end).split(",");
    const timestampAt = names.indexOf("timestamp");
    if (timestampAt === -1 || new Set(names).size !== names.length || !names.every(isOrdinaryKey)) return false;
    this.names = names;
    this.timestampAt = timestampAt;
    this.keys = names.map((name, i) => encoder.encode(`${i === 0 ? "{" : ","}${JSON.stringify(name)}:`));
    this.keyWords = this.keys.map(toWords);
    this.keysBytes = this.keys.reduce((sum, key) => sum + key.length, 0);
    this.out.text("[");
    return true;
  }

  /** The output chunks filled so far, handed over. */
  takeFull(): Uint8Array[] {
    return this.out.takeFull();
  }

  /** The rest of the output; null when there was no header. */
  end(): Uint8Array[] | null {
    if (this.names === null) return null;
    this.out.text("]");
    return this.out.end();
  }
}

/** Lines of bytes pushed a chunk at a time: a line cut by a chunk boundary is joined into a buffer of its own. */
class IncrementalLines {
  private carry: Uint8Array[] = [];

  push(chunk: Buffer, onLine: (line: LineView) => void): void {
    let at = 0;
    for (let newline = chunk.indexOf(LF); newline !== -1; newline = chunk.indexOf(LF, at)) {
      if (this.carry.length === 0) onLine({ bytes: chunk, from: at, end: newline });
      else {
        const bytes = Buffer.concat([...this.carry, chunk.subarray(at, newline)]);
        this.carry = [];
        onLine({ bytes, from: 0, end: bytes.length });
      }
      at = newline + 1;
    }
    if (at < chunk.length) this.carry.push(Buffer.from(chunk.subarray(at)));
  }

  end(onLine: (line: LineView) => void): void {
    if (this.carry.length === 0) return;
    const bytes = Buffer.concat(this.carry);
    this.carry = [];
    onLine({ bytes, from: 0, end: bytes.length });
  }
}

/**
 * Walks the lines of bytes given in chunks: after each `next()` that answers true, the line is
 * `bytes[from, end)`, and `bytes[end]` is its newline or past the end. A line cut by a chunk boundary is
 * joined into a buffer of its own; the others are read in place.
 */
class LineReader {
  bytes: Uint8Array = new Uint8Array(0);
  from = 0;
  end = 0;
  private chunk = 0;
  private at = 0;

  constructor(private readonly chunks: readonly Uint8Array[]) {}

  next(): boolean {
    const pieces: Uint8Array[] = [];
    for (; this.chunk < this.chunks.length; this.chunk++, this.at = 0) {
      const chunk = this.chunks[this.chunk] as Uint8Array;
      const newline = chunk.indexOf(LF, this.at);
      if (newline === -1) {
        pieces.push(chunk.subarray(this.at));
        continue;
      }
      this.take(pieces, chunk, newline);
      this.at = newline + 1;
      return true;
    }
    if (!pieces.some((piece) => piece.length > 0)) return false;
    this.take(pieces, new Uint8Array(0), 0);
    return true;
  }

  private take(pieces: Uint8Array[], chunk: Uint8Array, newline: number): void {
    if (pieces.length === 0) {
      this.bytes = chunk;
      this.from = this.at;
      this.end = newline;
      return;
    }
    this.bytes = Buffer.concat([...pieces, chunk.subarray(this.at, newline)]);
    this.from = 0;
    this.end = this.bytes.length;
  }
}

/** Papaparse guesses the delimiter from the first 10 lines; any of its other candidates there could win. */
function hasOtherDelimiter(line: LineView): boolean {
  const bytes = line.bytes.subarray(line.from, line.end);
  return OTHER_DELIMITERS.some((byte) => bytes.includes(byte));
}

function cellEnd(bytes: Uint8Array, from: number, lineEnd: number): number {
  let i = from;
  while (i < lineEnd && bytes[i] !== COMMA) i++;
  return i;
}

/** A key an object keeps as an own property, in insertion order: not `__proto__`, not an array index. */
function isOrdinaryKey(name: string): boolean {
  return name !== "__proto__" && !/^(0|[1-9]\d{0,9})$/.test(name);
}

const CHUNK_BYTES = 1 << 20;

function toWords(bytes: Uint8Array): Uint32Array {
  const padded = new Uint8Array(Math.ceil(bytes.length / 4) * 4);
  padded.set(bytes);
  const view = new DataView(padded.buffer);
  return Uint32Array.from({ length: padded.length / 4 }, (_, i) => view.getUint32(i * 4, true));
}

/** Bytes written into 1 MB chunks: reserve room, then write at `chunk[at++]` or with copy/text. */
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
 * Writes the cell that starts at `from` (and ends at the next comma or `lineEnd`) as JSON; returns where it ends.
 * Its bytes are copied as they are read. When they spell a plain decimal, the copy less trailing fraction zeros
 * is the JSON: no exponent, no '+', no superfluous leading zero, at most 15 significant digits, not -0 and not
 * below 1e-6, so the double it parses to prints back as these very digits. Otherwise the copy is dropped and the
 * cell typed as papaparse types it.
 */
function writeCell(out: ChunkedBytes, csv: Uint8Array, from: number, lineEnd: number): number {
  const chunk = out.chunk;
  const outStart = out.at;
  let at = outStart;
  let i = from;
  const negative = csv[i] === MINUS;
  if (negative) chunk[at++] = csv[i++] as number;
  const intStart = i;
  let byte = csv[i] as number;
  while (byte >= ZERO && byte <= NINE) {
    chunk[at++] = byte;
    byte = csv[++i] as number;
  }
  const intDigits = i - intStart;
  const intIsZero = csv[intStart] === ZERO;
  let keep = at;
  let significant = intIsZero ? 0 : intDigits;
  let leadingZeros = 0;
  if (byte === DOT) {
    chunk[at++] = byte;
    byte = csv[++i] as number;
    const fractionStart = i;
    while (byte >= ZERO && byte <= NINE) {
      chunk[at++] = byte;
      byte = csv[++i] as number;
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
  const ended = i === lineEnd || byte === COMMA;
  const plain =
    ended &&
    intDigits >= 1 &&
    intDigits <= EXACT_DIGITS &&
    !(intIsZero && intDigits > 1) &&
    !(negative && intIsZero && significant === 0) &&
    significant <= EXACT_DIGITS &&
    leadingZeros <= MAX_LEADING_FRACTION_ZEROS;
  if (plain) {
    out.at = keep;
    return i;
  }
  out.at = outStart;
  const end = ended ? i : cellEnd(csv, i, lineEnd);
  out.text(JSON.stringify(typedCell(decode(csv, from, end))));
  return end;
}

const FLOAT = /^\s*-?(\d+\.?|\.\d+|\d+\.\d+)([eE][-+]?\d+)?\s*$/;
const ISO_DATE =
  /^((\d{4}-[01]\d-[0-3]\dT[0-2]\d:[0-5]\d:[0-5]\d\.\d+([+-][0-2]\d:[0-5]\d|Z))|(\d{4}-[01]\d-[0-3]\dT[0-2]\d:[0-5]\d:[0-5]\d([+-][0-2]\d:[0-5]\d|Z))|(\d{4}-[01]\d-[0-3]\dT[0-2]\d:[0-5]\d([+-][0-2]\d:[0-5]\d|Z)))$/;
const MAX_FLOAT = 2 ** 53;

/** A cell as csvToRows's papaparse types it (papaparse 5, `dynamicTyping: true`: parseDynamic and testFloat). */
function typedCell(text: string): boolean | number | Date | string | null {
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
 * Writes timestamp cells as csvToRows renders them (ISO-8601 UTC when readable, else the typed cell); each call
 * returns where its cell ends. A cell in the original's form on a day already rendered (OriginalFormDay) is
 * rewritten without parsing: `2021-10-22 23:03:00` becomes `"2021-10-22T23:03:00.000Z"`.
 */
function timestampWriter(out: ChunkedBytes): (csv: Uint8Array, from: number, lineEnd: number) => number {
  const day = new OriginalFormDay();
  return (csv, from, lineEnd) => {
    const end = cellEnd(csv, from, lineEnd);
    if (day.matches(csv, from, end)) {
      out.chunk[out.at++] = QUOTE;
      out.copy(csv, from, from + DAY_BYTES);
      out.chunk[out.at++] = T;
      out.copy(csv, from + DAY_BYTES + 1, end);
      out.copy(MS_AND_ZONE);
      return end;
    }
    const text = decode(csv, from, end);
    const json = timestampJson(text);
    out.text(json);
    if (json === `"${text.slice(0, DAY_BYTES)}T${text.slice(DAY_BYTES + 1)}.000Z"`) day.remember(csv, from, end);
    return end;
  };
}

/** What csvToRows makes of a timestamp cell, as JSON. */
function timestampJson(text: string): string {
  const typed = typedCell(text);
  const ms = parseTimestamp(String(typed));
  return ms === null ? JSON.stringify(typed) : `"${new Date(ms).toISOString()}"`;
}
