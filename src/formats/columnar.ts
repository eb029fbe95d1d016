import { tableFromIPC, tableToIPC } from "apache-arrow";
import { createArrowEncoder } from "./arrow.js";
import { assembleArrow } from "./assemble-arrow.js";
import { assembleParquet, type Assembled } from "./assemble-parquet.js";
import { CANDLE_KINDS, candleBatchesOf, candleValuesOf, type CandleBatch } from "./candle-columns.js";
import { KindInference, columnsOf, type ColumnData, type ColumnKind } from "./columns.js";
import { createParquetEncoder } from "./parquet.js";
import { CsvSyntaxError } from "../csv/grammar.js";
import { NotFoundError } from "../errors.js";
import { KLINE_COLUMNS } from "../market.js";
import type { ColumnarFormat } from "./media.js";
import { csvBatches } from "./records.js";

/** Where a CSV is read from, as often as asked: the columnar forms read it twice. */
export type CsvSource = () => Promise<AsyncIterable<Uint8Array>>;

interface Encoder {
  start(): Uint8Array;
  batch(columns: readonly ColumnData[], rows: number): Uint8Array;
  end(): Uint8Array;
}

/**
 * A stored CSV in a columnar form, with typed columns (see KindInference). A CSV of the candle columns, plain, is read
 * once, straight into typed columns (candle-columns.ts); any other is read by the general path. Its first pass reads the CSV to learn
 * each column's type, before anything is answered; the second writes it a batch at a time (a Parquet row group, an
 * Arrow record batch, of BATCH_CELLS cells), so memory holds one batch whatever the entry's size and width. A CSV the
 * cache's grammar refuses (stored before it was checked by it) is a miss, found in the first pass.
 */
export async function columnarOf(format: ColumnarFormat, read: CsvSource): Promise<AsyncGenerator<Uint8Array>> {
  const candles = await candleBatchesOf(await read());
  return candles ? candlesColumnar(format, candles) : generalColumnarOf(format, read);
}

/** Any CSV in a columnar form: its types from a first pass, then its batches from a second (see columnarOf). */
export async function generalColumnarOf(format: ColumnarFormat, read: CsvSource): Promise<AsyncGenerator<Uint8Array>> {
  const { names, kinds } = await columnTypes(read).catch((error: unknown) => {
    if (error instanceof CsvSyntaxError) throw new NotFoundError(`The stored CSV cannot be read (${error.message}); store it again`, "CACHE_MISS");
    throw error;
  });
  const encoder: Encoder = format === "parquet" ? createParquetEncoder(names, kinds) : createArrowEncoder(names, kinds);
  // Opened before the answer starts, so a CSV that cannot be read again fails the request, not its body.
  const again = await read();
  return (async function* () {
    yield encoder.start();
    for await (const { records } of csvBatches(again)) {
      if (records.length > 0) yield encoder.batch(columnsOf(records, kinds), records.length);
    }
    yield encoder.end();
  })();
}

/** The fast path's batches (see candle-columns.ts) in `format`: the same bytes the general path writes for that CSV. */
async function* candlesColumnar(format: ColumnarFormat, batches: CandleBatch[]): AsyncGenerator<Uint8Array> {
  const encoder: Encoder = format === "parquet" ? createParquetEncoder(KLINE_COLUMNS, CANDLE_KINDS) : createArrowEncoder(KLINE_COLUMNS, CANDLE_KINDS);
  yield encoder.start();
  for (const batch of batches) yield encoder.batch(candleValuesOf(batch), batch.rows);
  yield encoder.end();
}

/** The header's names and each column's type, from one pass over the CSV. */
async function columnTypes(read: CsvSource): Promise<{ names: string[]; kinds: ColumnKind[] }> {
  let names: readonly string[] = [];
  let inference: KindInference | null = null;
  for await (const batch of csvBatches(await read())) {
    names = batch.names;
    inference ??= new KindInference(names);
    inference.observe(batch.records);
  }
  return { names: [...names], kinds: (inference as KindInference).kinds() };
}

/**
 * One file of `format` made of several of it with the same schema, their row groups (Parquet) or record batches
 * (Arrow) copied as they are; null when they cannot stand together (see assembleParquet, assembleArrow).
 */
export function assembled(format: ColumnarFormat, files: readonly Uint8Array[]): Assembled | null {
  return format === "parquet" ? assembleParquet(files) : assembleArrow(files);
}

/**
 * An Arrow IPC stream as an Arrow IPC file (Feather v2: what `pandas.read_feather` and freqtrade's data files read):
 * the same schema and record batches, with the file's magic and its footer of where each batch starts.
 */
export function featherOf(stream: Uint8Array): Uint8Array {
  return tableToIPC(tableFromIPC(stream), "file");
}

/** A CSV in memory converted to `format`, whole. */
export async function columnarBytesOf(format: ColumnarFormat, csv: readonly Uint8Array[]): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const part of await columnarOf(format, async () => inOrder(csv))) parts.push(part);
  return Buffer.concat(parts);
}

async function* inOrder(chunks: readonly Uint8Array[]): AsyncGenerator<Uint8Array> {
  yield* chunks;
}
