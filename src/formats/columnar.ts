import { createArrowEncoder } from "./arrow.js";
import { KindInference, columnsOf, type ColumnKind, type ColumnValue } from "./columns.js";
import { createParquetEncoder } from "./parquet.js";
import type { ColumnarFormat } from "./media.js";
import { csvRecords } from "./records.js";

/** Where a CSV is read from, as often as asked: the columnar forms read it twice. */
export type CsvSource = () => Promise<AsyncIterable<Uint8Array>>;

interface Encoder {
  start(): Uint8Array;
  batch(columns: ColumnValue[][], rows: number): Uint8Array;
  end(): Uint8Array;
}

/**
 * A stored CSV in a columnar form, with typed columns (see KindInference). The first pass reads the CSV to learn
 * each column's type, before anything is answered; the second writes it a batch at a time (a Parquet row group, an
 * Arrow record batch, of BATCH_RECORDS rows), so memory holds one batch whatever the entry's size.
 */
export async function columnarOf(format: ColumnarFormat, read: CsvSource): Promise<AsyncGenerator<Uint8Array>> {
  const { names, kinds } = await columnTypes(read);
  const encoder: Encoder = format === "parquet" ? createParquetEncoder(names, kinds) : createArrowEncoder(names, kinds);
  // Opened before the answer starts, so a CSV that cannot be read again fails the request, not its body.
  const again = await read();
  return (async function* () {
    yield encoder.start();
    let header = true;
    for await (const batch of csvRecords(again)) {
      const records = header ? batch.slice(1) : batch;
      header = false;
      if (records.length > 0) yield encoder.batch(columnsOf(records, kinds), records.length);
    }
    yield encoder.end();
  })();
}

/** The header's names and each column's type, from one pass over the CSV. */
async function columnTypes(read: CsvSource): Promise<{ names: string[]; kinds: ColumnKind[] }> {
  let names: string[] | null = null;
  let inference: KindInference | null = null;
  for await (const batch of csvRecords(await read())) {
    if (!names) {
      names = batch[0] as string[];
      inference = new KindInference(names);
      inference.observe(batch.slice(1));
    } else inference?.observe(batch);
  }
  if (!names || !inference) throw new Error("a stored CSV without a header row");
  return { names, kinds: inference.kinds() };
}
