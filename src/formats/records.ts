import { CsvTokenizer, decodeText, type CsvRecord, type CsvSink } from "../csv/grammar.js";

/**
 * Cells (rows × columns) per batch: what a Parquet row group or an Arrow record batch holds, so that memory holds
 * as much whatever the width. 131,072 rows of the 12 candle columns (three months of 1m candles): DuckDB reads row
 * groups of this size twice as fast as of 65,536 (0.07 s against 0.12 s for a year of 1m candles).
 */
export const BATCH_CELLS = 131_072 * 12;
/** The fields' bytes per batch, whatever their count: 131,072 candle rows are about 20 MB. */
export const BATCH_BYTES = 32 * 2 ** 20;
/** How much of the CSV is read before the batches it completed are handed on. */
const STEP_BYTES = 2 ** 20;

/** Records of a CSV as text, with its header's names. */
export interface RecordBatch {
  names: readonly string[];
  records: string[][];
}

/**
 * A stored CSV's records, read chunk by chunk by the cache's CSV grammar (see csv-grammar.ts), in batches of at most
 * BATCH_CELLS cells and BATCH_BYTES bytes (a batch holds one record at least): only a batch or so is held at a time.
 * At least one batch comes, empty when the CSV has no rows. Throws CsvSyntaxError for a CSV the grammar refuses.
 */
export async function* csvBatches(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<RecordBatch> {
  const batcher = new Batcher();
  const tokenizer = new CsvTokenizer(batcher);
  for await (const chunk of chunks) {
    for (let at = 0; at < chunk.length; at += STEP_BYTES) {
      tokenizer.push(chunk.subarray(at, at + STEP_BYTES));
      yield* batcher.ready.splice(0);
    }
  }
  tokenizer.end();
  yield* batcher.end();
}

/** Gathers records into batches as the tokenizer hands them over. */
class Batcher implements CsvSink {
  readonly ready: RecordBatch[] = [];
  private names: string[] = [];
  private records: string[][] = [];
  private cells = 0;
  private bytes = 0;
  private batches = 0;

  header(names: string[]): void {
    this.names = names;
  }

  row(record: CsvRecord): void {
    this.add(record.texts(), record.sizeBytes());
  }

  /** A plain line's fields are its text split at its commas. */
  plainRow(bytes: Buffer, from: number, end: number): boolean {
    const fields = decodeText(bytes, from, end).split(",");
    if (fields.length !== this.names.length) return false;
    this.add(fields, end - from);
    return true;
  }

  private add(fields: string[], sizeBytes: number): void {
    if (this.records.length > 0 && (this.cells + fields.length > BATCH_CELLS || this.bytes + sizeBytes > BATCH_BYTES)) this.close();
    this.records.push(fields);
    this.cells += fields.length;
    this.bytes += sizeBytes;
  }

  end(): RecordBatch[] {
    if (this.records.length > 0 || this.batches === 0) this.close();
    return this.ready.splice(0);
  }

  private close(): void {
    this.ready.push({ names: this.names, records: this.records });
    this.batches++;
    this.records = [];
    this.cells = 0;
    this.bytes = 0;
  }
}
