/**
 * The one CSV grammar of the cache: the write check, the JSON rows, the columnar forms and the row counter all read
 * records through CsvTokenizer, so no two of them can split a CSV differently.
 *
 * RFC 4180 as pandas writes it: an optional UTF-8 BOM, then records, each ended by LF or CRLF (the last may lack
 * it). A field is unquoted (no comma, quote, CR or LF in it) or quoted (`"…"`, a quote written `""`, anything else
 * literal, commas and line breaks included), and a closing quote is followed by a comma, a line end or the end.
 * Outside quotes a CR comes only right before an LF. Blank lines are skipped. The first record is the header: its
 * names (as written, not trimmed) are unique, one is `timestamp` (or `funding_time`, see TIME_COLUMNS), none is `__proto__` (a JSON row could not hold
 * it). Every other record has as many fields as the header. No record is longer than MAX_RECORD_BYTES.
 */
import { CsvSyntaxError, type CsvSink } from "./record.js";
import { CsvTokenizer } from "./tokenizer.js";

export { CsvRecord, CsvSyntaxError, MAX_RECORD_BYTES, decodeText, type CsvSink } from "./record.js";
export { CsvTokenizer, TIME_COLUMNS, timeColumnOf } from "./tokenizer.js";

/** Counts the rows; nothing else. */
class RowCounter implements CsvSink {
  rows = 0;
  header(): void {}
  row(): void {
    this.rows++;
  }
}

/** The rows of a CSV in memory, by the grammar; throws CsvSyntaxError for a CSV it refuses. */
export function csvRowsOf(csv: Iterable<Uint8Array>): number {
  const counter = new RowCounter();
  const tokenizer = new CsvTokenizer(counter);
  for (const chunk of csv) tokenizer.push(chunk);
  tokenizer.end();
  return counter.rows;
}

/** The rows of a CSV read chunk by chunk, by the grammar; null when it refuses the CSV. */
export async function countCsvRows(csv: AsyncIterable<Uint8Array>): Promise<number | null> {
  const counter = new RowCounter();
  const tokenizer = new CsvTokenizer(counter);
  try {
    for await (const chunk of csv) tokenizer.push(chunk);
    tokenizer.end();
  } catch (error) {
    if (error instanceof CsvSyntaxError) return null;
    throw error;
  }
  return counter.rows;
}

/** What `read` makes of a CSV; null when the grammar refuses it. */
export function unlessRefused<T>(read: () => T): T | null {
  try {
    return read();
  } catch (error) {
    if (error instanceof CsvSyntaxError) return null;
    throw error;
  }
}
