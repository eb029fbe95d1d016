import Papa from "papaparse";

/**
 * Records per batch: what a Parquet row group or an Arrow record batch holds (three months of 1m candles). DuckDB
 * reads row groups of this size twice as fast as of 65,536 (0.07 s against 0.12 s for a year of 1m candles).
 */
export const BATCH_RECORDS = 131_072;

/**
 * A stored CSV's records, in batches of at most BATCH_RECORDS, read chunk by chunk: only one batch is held at a time.
 * The first record is the header. Blank lines are skipped, as the writer's check skipped them. A line with no quote
 * is split at its commas; a record with quotes (RFC 4180: quoted commas, doubled quotes, line breaks inside quotes)
 * is parsed by papaparse, so every CSV the cache accepted reads as papaparse reads it.
 */
export async function* csvRecords(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<string[][]> {
  const decoder = new TextDecoder();
  let carry = "";
  let pending = "";
  let batch: string[][] = [];
  const take = (line: string) => {
    const text = pending ? `${pending}\n${line}` : line;
    if (!text.includes('"')) {
      if (text !== "") batch.push(text.split(","));
      return;
    }
    // Inside quotes until the record's quotes pair up: the line break belongs to a field.
    if (quoteCount(text) % 2 === 1) {
      pending = text;
      return;
    }
    pending = "";
    const parsed = Papa.parse<string[]>(text, { header: false, delimiter: "," });
    for (const record of parsed.data) if (record.length > 1 || record[0] !== "") batch.push(record);
  };
  for await (const chunk of chunks) {
    const text = carry + decoder.decode(chunk, { stream: true });
    let at = 0;
    for (let end = text.indexOf("\n"); end !== -1; end = text.indexOf("\n", at)) {
      take(stripCr(text.slice(at, end)));
      at = end + 1;
      if (batch.length >= BATCH_RECORDS) {
        yield batch;
        batch = [];
      }
    }
    carry = text.slice(at);
  }
  const rest = carry + decoder.decode();
  if (rest !== "") take(stripCr(rest));
  if (pending) {
    const parsed = Papa.parse<string[]>(pending, { header: false, delimiter: "," });
    batch.push(...parsed.data);
  }
  if (batch.length > 0) yield batch;
}

const stripCr = (line: string) => (line.endsWith("\r") ? line.slice(0, -1) : line);

function quoteCount(text: string): number {
  let n = 0;
  for (let at = text.indexOf('"'); at !== -1; at = text.indexOf('"', at + 1)) n++;
  return n;
}
