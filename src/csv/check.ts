import Papa from "papaparse";
import { InvalidBodyError } from "../errors.js";
import { CsvSyntaxError, CsvTokenizer, timeColumnOf, type CsvRecord, type CsvSink } from "./grammar.js";
import { timestampValue, typedCell } from "./json-rows.js";
import { formatTimestamp, OriginalFormDay, parseTimestamp } from "../time.js";

/** What a valid dataset CSV looks like: its header and how many data rows follow it. */
export interface CsvShape {
  columns: string[];
  rows: number;
}

/** The most columns a dataset CSV may have: what a reader holds of a row is bounded. */
export const MAX_COLUMNS = 1000;
/** Longer than any timestamp parseTimestamp reads (`2021-10-22T23:03:00.123456789+02:00` is 35 bytes). */
const MAX_TIMESTAMP_BYTES = 64;

/**
 * Checks a dataset CSV in one pass over its bytes, chunk by chunk, without building rows: the grammar every reader
 * shares (see csv-grammar.ts), at most MAX_COLUMNS columns, and a readable timestamp in each row. Throws
 * InvalidBodyError naming the first bad line.
 */
export function createCsvInspector(): { push(chunk: Uint8Array): void; end(): CsvShape } {
  const check = new RowCheck();
  const tokenizer = new CsvTokenizer(check);
  return {
    push(chunk) {
      asInvalidBody(() => tokenizer.push(chunk));
    },
    end() {
      asInvalidBody(() => tokenizer.end());
      return { columns: check.columns, rows: check.rows };
    },
  };
}

/** A CSV the grammar refuses is an invalid body, with the grammar's words. */
function asInvalidBody(read: () => void): void {
  try {
    read();
  } catch (error) {
    if (error instanceof CsvSyntaxError) throw new InvalidBodyError(error.message);
    throw error;
  }
}

/**
 * What the write check asks of a record beyond the grammar. A class, not closures: every write makes one, and a hot
 * loop compiled against one instance's closures is thrown away for the next one's.
 */
class RowCheck implements CsvSink {
  columns: string[] = [];
  rows = 0;
  private timestampAt = -1;
  private readonly day = new OriginalFormDay();

  header(names: string[]): void {
    if (names.length > MAX_COLUMNS) {
      throw new InvalidBodyError(`CSV header has ${names.length} columns; at most ${MAX_COLUMNS} are accepted`);
    }
    this.columns = names;
    this.timestampAt = timeColumnOf(names);
  }

  /** The row's timestamp must be readable; one on a day already seen in the original's form needs no parsing. */
  row(record: CsvRecord): void {
    const at = this.timestampAt;
    const from = record.start(at);
    const to = record.end(at);
    this.rows++;
    if (!record.escaped(at) && this.day.matches(record.bytes, from, to)) return;
    const text = to - from > MAX_TIMESTAMP_BYTES ? null : record.text(at);
    if (text === null || parseTimestamp(text) === null) {
      const start = JSON.stringify(record.text(at).slice(0, 40));
      throw new InvalidBodyError(`CSV line ${record.line}: timestamp ${start} is not a date`);
    }
    if (!record.escaped(at)) this.day.remember(record.bytes, from, to);
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

/**
 * Parses a stored CSV into rows (by the grammar, see csv-grammar.ts): timestamps to ISO-8601 UTC, numbers to
 * numbers, empty cells to null, as the JSON rows have them (see typedCell). Throws CsvSyntaxError for a CSV the
 * grammar refuses.
 */
export function csvToRows(text: string): Row[] {
  const rows: Row[] = [];
  let names: string[] = [];
  let timestampAt = -1;
  const tokenizer = new CsvTokenizer({
    header(header) {
      names = header;
      timestampAt = timeColumnOf(header);
    },
    row(record) {
      const row: Row = {};
      for (let field = 0; field < names.length; field++) {
        const text = record.text(field);
        row[names[field] as string] = (field === timestampAt ? timestampValue(text) : typedCell(text)) as Row[string];
      }
      rows.push(row);
    },
  });
  tokenizer.push(new TextEncoder().encode(text));
  tokenizer.end();
  return rows;
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
