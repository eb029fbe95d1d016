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
  const headerParts: Uint8Array[] = [];
  let headerBytes = 0;
  let columns: string[] | null = null;
  let timestampIndex = -1;
  let line = 1;
  let rows = 0;
  let field = 0;
  let inQuotes = false;
  let lineHasContent = false;
  // The timestamp field's bytes (quotes and unquoted CRs left out), the first MAX_TIMESTAMP_BYTES of them kept.
  const timestamp = new Uint8Array(MAX_TIMESTAMP_BYTES);
  let timestampBytes = 0;
  const day = new OriginalFormDay();

  function readHeader(bytes: Uint8Array): void {
    const text = new TextDecoder("utf-8", { fatal: false }).decode(bytes).replace(/^\uFEFF/, "").replace(/\r$/, "");
    const parsed = Papa.parse<string[]>(text, { header: false });
    const names = (parsed.data[0] ?? []).map((name) => name.trim());
    if (names.length === 0 || names.every((name) => name === "")) throw new InvalidBodyError("CSV has no header row");
    if (new Set(names).size !== names.length) throw new InvalidBodyError("CSV header names a column twice");
    timestampIndex = names.indexOf("timestamp");
    if (timestampIndex === -1) throw new InvalidBodyError("CSV header row must contain a 'timestamp' column");
    columns = names;
    line = 2;
  }

  function endRecord(): void {
    if (!lineHasContent && field === 0) {
      line++;
      return;
    }
    const width = (columns as string[]).length;
    if (field + 1 !== width) {
      throw new InvalidBodyError(`CSV line ${line} has ${field + 1} fields, the header has ${width}`);
    }
    checkTimestamp();
    rows++;
    line++;
    field = 0;
    lineHasContent = false;
    timestampBytes = 0;
  }

  /** The row's timestamp must be readable; one on a day already seen in the original's form needs no parsing. */
  function checkTimestamp(): void {
    const kept = Math.min(timestampBytes, MAX_TIMESTAMP_BYTES);
    if (kept === timestampBytes && day.matches(timestamp, 0, kept)) return;
    const text = (length: number) => Buffer.from(timestamp.buffer, 0, length).toString("latin1");
    if (kept < timestampBytes || parseTimestamp(text(kept)) === null) {
      const start = JSON.stringify(text(Math.min(kept, 40)));
      throw new InvalidBodyError(`CSV line ${line}: timestamp ${start} is not a date`);
    }
    day.remember(timestamp, 0, kept);
  }

  function addTimestampByte(byte: number): void {
    if (timestampBytes < MAX_TIMESTAMP_BYTES) timestamp[timestampBytes] = byte;
    timestampBytes++;
  }

  function scan(chunk: Uint8Array, from: number): void {
    for (let i = from; i < chunk.length; i++) {
      const byte = chunk[i] as number;
      if (inQuotes) {
        if (byte === QUOTE) inQuotes = false;
        else if (field === timestampIndex) addTimestampByte(byte);
        continue;
      }
      if (byte === COMMA) {
        field++;
        lineHasContent = true;
      } else if (byte === LF) {
        endRecord();
      } else if (byte === QUOTE) {
        inQuotes = true;
        lineHasContent = true;
      } else if (byte !== CR) {
        lineHasContent = true;
        if (field === timestampIndex) addTimestampByte(byte);
      }
    }
  }

  return {
    push(chunk) {
      if (columns) return scan(chunk, 0);
      const newline = chunk.indexOf(LF);
      const part = newline === -1 ? chunk : chunk.subarray(0, newline);
      headerParts.push(part);
      headerBytes += part.length;
      if (headerBytes > MAX_HEADER_BYTES) throw new InvalidBodyError("CSV header row is too long");
      if (newline === -1) return;
      readHeader(Buffer.concat(headerParts));
      scan(chunk, newline + 1);
    },
    end() {
      if (!columns) {
        if (headerBytes === 0) throw new InvalidBodyError("CSV is empty");
        readHeader(Buffer.concat(headerParts));
      }
      if (inQuotes) throw new InvalidBodyError(`CSV line ${line} has an unterminated quoted field`);
      if (lineHasContent || field > 0) endRecord();
      return { columns: columns as unknown as string[], rows };
    },
  };
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
