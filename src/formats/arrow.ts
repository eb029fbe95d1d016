import {
  Bool,
  Field,
  Float64,
  Int64,
  makeData,
  RecordBatch,
  Schema,
  Struct,
  Table,
  TimeUnit,
  Timestamp,
  Utf8,
  tableToIPC,
  makeBuilder,
  type DataType,
} from "apache-arrow";
import { bigints, type ColumnData, type ColumnKind } from "./columns.js";

const TYPE: Record<ColumnKind, () => DataType> = {
  timestamp: () => new Timestamp(TimeUnit.MILLISECOND, "UTC"),
  float64: () => new Float64(),
  int64: () => new Int64(),
  boolean: () => new Bool(),
  string: () => new Utf8(),
};

/** The end-of-stream marker of the Arrow IPC stream format: a continuation token and a zero length. */
const END_OF_STREAM = Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0);

/**
 * An Arrow IPC stream written a record batch at a time with apache-arrow: the schema message first, then one
 * message per batch, then the end-of-stream marker. Each batch is encoded by apache-arrow as a one-batch stream, of
 * which the batch's message is kept (the schema message it starts with is checked to be the one already sent).
 */
export function createArrowEncoder(names: readonly string[], kinds: readonly ColumnKind[]) {
  const schema = new Schema(names.map((name, i) => new Field(name, TYPE[kinds[i] as ColumnKind](), true)));
  const empty = tableToIPC(new Table(schema), "stream");
  const head = empty.subarray(0, empty.length - END_OF_STREAM.length);
  return {
    start(): Uint8Array {
      return head;
    },
    batch(columns: readonly ColumnData[], rows: number): Uint8Array {
      const children = schema.fields.map((field, i) => {
        const column = columns[i] as ColumnData;
        // A typed column (no nulls) is the vector's data as it is; a timestamp's is held as 64-bit integers.
        if (column instanceof Float64Array || column instanceof BigInt64Array) {
          const data = kinds[i] === "timestamp" && column instanceof Float64Array ? bigints(column) : column;
          return makeData({ type: field.type as never, length: rows, nullCount: 0, data: data as never });
        }
        // One builder per column, never flushed early: one Data per column, as a record batch holds.
        const builder = makeBuilder({ type: field.type as DataType, nullValues: [null] });
        for (const value of column) builder.append(value);
        return builder.finish().flush();
      });
      const data = makeData({ type: new Struct(schema.fields), length: rows, nullCount: 0, children: children as never });
      const bytes = tableToIPC(new Table(schema, [new RecordBatch(schema, data)]), "stream");
      if (!head.every((byte, i) => bytes[i] === byte)) throw new Error("apache-arrow wrote another schema message for a batch");
      return bytes.subarray(head.length, bytes.length - END_OF_STREAM.length);
    },
    end(): Uint8Array {
      return END_OF_STREAM;
    },
  };
}
