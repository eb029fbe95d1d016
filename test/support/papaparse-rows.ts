import Papa from "papaparse";
import type { Row } from "../../src/csv/check.js";
import { parseTimestamp } from "../../src/time.js";

/**
 * The rows as the service read them before it had a CSV grammar of its own: papaparse 5 with a header, dynamic
 * typing, blank lines skipped, then timestamps as ISO-8601 UTC. The typing of the JSON rows must stay this one for
 * every CSV the grammar accepts.
 */
export function papaparseRows(text: string): Row[] {
  const parsed = Papa.parse<Row>(text, { header: true, dynamicTyping: true, skipEmptyLines: true });
  for (const row of parsed.data) {
    const ms = parseTimestamp(String(row.timestamp));
    row.timestamp = ms === null ? (row.timestamp ?? null) : new Date(ms).toISOString();
  }
  return parsed.data;
}
