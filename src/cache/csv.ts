import Papa from "papaparse";
import { InvalidBodyError } from "../errors.js";
import { formatTimestamp, OriginalFormDay, parseTimestamp } from "./timestamp.js";

/** What a valid dataset CSV looks like: its header and how many data rows follow it. */
export interface CsvShape {
  columns: string[];
  rows: number;
}

const COMMA = 0x2c;
const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;
const MAX_HEADER_BYTES = 64 * 1024;
/** Longer than any timestamp parseTimestamp reads (`2021-10-22T23:03:00.123456789+02:00` is 35 bytes). */
const MAX_TIMESTAMP_BYTES = 64;

/**
 * Checks a dataset CSV in one pass over its bytes, chunk by chunk, without building rows: a header row that
 * names `timestamp` (and no column twice), every record as wide as the header (RFC 4180 quoting), and a
 * readable timestamp in each. Blank lines are skipped. Throws InvalidBodyError naming the first bad line.
 */
export function createCsvInspector(): { push(chunk: Uint8Array): void; end(): CsvShape } {
  return new CsvInspector();
}

/**
 * The inspector's state machine. A class, not closures: every write makes an inspector, and a hot loop compiled
 * against one instance's closures is thrown away for the next one's.
 */
class CsvInspector {
  private readonly headerParts: Uint8Array[] = [];
  private headerBytes = 0;
  private columns: string[] | null = null;
  private timestampIndex = -1;
  private line = 1;
  private rows = 0;
  private field = 0;
  private inQuotes = false;
  private lineHasContent = false;
  /** The timestamp field's bytes (quotes and unquoted CRs left out), the first MAX_TIMESTAMP_BYTES of them kept. */
  private readonly timestamp = new Uint8Array(MAX_TIMESTAMP_BYTES);
  private timestampBytes = 0;
  private readonly day = new OriginalFormDay();

  push(chunk: Uint8Array): void {
    if (this.columns) return this.scan(chunk, 0);
    const newline = chunk.indexOf(LF);
    const part = newline === -1 ? chunk : chunk.subarray(0, newline);
    this.headerParts.push(part);
    this.headerBytes += part.length;
    if (this.headerBytes > MAX_HEADER_BYTES) throw new InvalidBodyError("CSV header row is too long");
    if (newline === -1) return;
    this.readHeader(Buffer.concat(this.headerParts));
    this.scan(chunk, newline + 1);
  }

  end(): CsvShape {
    if (!this.columns) {
      if (this.headerBytes === 0) throw new InvalidBodyError("CSV is empty");
      this.readHeader(Buffer.concat(this.headerParts));
    }
    if (this.inQuotes) throw new InvalidBodyError(`CSV line ${this.line} has an unterminated quoted field`);
    if (this.lineHasContent || this.field > 0) this.endRecord();
    return { columns: this.columns as unknown as string[], rows: this.rows };
  }

  private readHeader(bytes: Uint8Array): void {
    const text = new TextDecoder("utf-8", { fatal: false }).decode(bytes).replace(/^\uFEFF/, "").replace(/\r$/, "");
    const parsed = Papa.parse<string[]>(text, { header: false });
    const names = (parsed.data[0] ?? []).map((name) => name.trim());
    if (names.length === 0 || names.every((name) => name === "")) throw new InvalidBodyError("CSV has no header row");
    if (new Set(names).size !== names.length) throw new InvalidBodyError("CSV header names a column twice");
    this.timestampIndex = names.indexOf("timestamp");
    if (this.timestampIndex === -1) throw new InvalidBodyError("CSV header row must contain a 'timestamp' column");
    this.columns = names;
    this.line = 2;
  }

  /** The state machine over one chunk's bytes. */
  private scan(chunk: Uint8Array, from: number): void {
    const timestampAt = this.timestampIndex;
    for (let i = from; i < chunk.length; i++) {
      const byte = chunk[i] as number;
      if (this.inQuotes) {
        if (byte === QUOTE) this.inQuotes = false;
        else if (this.field === timestampAt) this.addTimestampByte(byte);
      } else if (byte === COMMA) {
        this.field++;
        this.lineHasContent = true;
      } else if (byte === LF) {
        this.endRecord();
      } else if (byte === QUOTE) {
        this.inQuotes = true;
        this.lineHasContent = true;
      } else if (byte !== CR) {
        this.lineHasContent = true;
        if (this.field === timestampAt) this.addTimestampByte(byte);
      }
    }
  }

  private addTimestampByte(byte: number): void {
    if (this.timestampBytes < MAX_TIMESTAMP_BYTES) this.timestamp[this.timestampBytes] = byte;
    this.timestampBytes++;
  }

  private endRecord(): void {
    if (!this.lineHasContent && this.field === 0) {
      this.line++;
      return;
    }
    const width = (this.columns as string[]).length;
    if (this.field + 1 !== width) {
      throw new InvalidBodyError(`CSV line ${this.line} has ${this.field + 1} fields, the header has ${width}`);
    }
    this.checkTimestamp();
    this.rows++;
    this.line++;
    this.field = 0;
    this.lineHasContent = false;
    this.timestampBytes = 0;
  }

  /** The row's timestamp must be readable; one on a day already seen in the original's form needs no parsing. */
  private checkTimestamp(): void {
    const kept = Math.min(this.timestampBytes, MAX_TIMESTAMP_BYTES);
    if (kept === this.timestampBytes && this.day.matches(this.timestamp, 0, kept)) return;
    if (kept < this.timestampBytes || parseTimestamp(this.timestampText(kept)) === null) {
      const start = JSON.stringify(this.timestampText(Math.min(kept, 40)));
      throw new InvalidBodyError(`CSV line ${this.line}: timestamp ${start} is not a date`);
    }
    this.day.remember(this.timestamp, 0, kept);
  }

  private timestampText(length: number): string {
    return Buffer.from(this.timestamp.buffer, 0, length).toString("latin1");
  }
}

/** Inspects a whole CSV held in memory. */
export function inspectCsv(bytes: Uint8Array): CsvShape {
  const inspector = createCsvInspector();
  inspector.push(bytes);
  return inspector.end();
}

/** One candle row as served in JSON: `timestamp` as an ISO-8601 UTC string, numeric columns as numbers. */
export type Row = Record<string, string | number | boolean | null>;

/** Parses a stored CSV into rows: timestamps to ISO-8601 UTC, numbers to numbers, empty cells to null. */
export function csvToRows(text: string): Row[] {
  const parsed = Papa.parse<Row>(text, { header: true, dynamicTyping: true, skipEmptyLines: true });
  for (const row of parsed.data) {
    const ms = parseTimestamp(String(row.timestamp));
    row.timestamp = ms === null ? row.timestamp ?? null : new Date(ms).toISOString();
  }
  return parsed.data;
}

/**
 * Turns a JSON body (an array of row objects with the same keys, one of them `timestamp`) into the CSV the
 * original would have written: header row, no index column, timestamps as `2021-10-22 23:03:00`.
 */
export function rowsToCsv(body: unknown): string {
  if (!Array.isArray(body)) throw new InvalidBodyError("JSON body must be an array of row objects");
  const rows: unknown[] = body;
  if (rows.length === 0) throw new InvalidBodyError("JSON body has no rows");
  const first = rows[0];
  if (!isPlainRow(first)) throw new InvalidBodyError("JSON row 0 is not an object of scalar values");
  const columns = Object.keys(first);
  if (!columns.includes("timestamp")) throw new InvalidBodyError("JSON rows must have a 'timestamp' key");
  const data = rows.map((row: unknown, index) => {
    if (!isPlainRow(row)) throw new InvalidBodyError(`JSON row ${index} is not an object of scalar values`);
    const keys = Object.keys(row);
    if (keys.length !== columns.length || !columns.every((c) => Object.hasOwn(row, c))) {
      throw new InvalidBodyError(`JSON row ${index} does not have the same keys as row 0`);
    }
    const ms = parseTimestamp(String(row.timestamp));
    if (ms === null) throw new InvalidBodyError(`JSON row ${index}: timestamp is not a date`);
    return columns.map((c) => (c === "timestamp" ? formatTimestamp(ms) : row[c]));
  });
  return Papa.unparse({ fields: columns, data }, { newline: "\n" }) + "\n";
}

function isPlainRow(value: unknown): value is Row {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  return Object.values(value).every((v) => v === null || ["string", "number", "boolean"].includes(typeof v));
}
