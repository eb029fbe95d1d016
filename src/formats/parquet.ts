import { ByteWriter, ParquetWriter } from "hyparquet-writer";
import type { ColumnData, ColumnKind } from "./columns.js";

type SchemaElement = ConstructorParameters<typeof ParquetWriter>[0]["schema"][number];

const ELEMENT: Record<ColumnKind, Omit<SchemaElement, "name">> = {
  timestamp: { type: "INT64", logical_type: { type: "TIMESTAMP", isAdjustedToUTC: true, unit: "MILLIS" }, repetition_type: "OPTIONAL" },
  float64: { type: "DOUBLE", repetition_type: "OPTIONAL" },
  int64: { type: "INT64", repetition_type: "OPTIONAL" },
  boolean: { type: "BOOLEAN", repetition_type: "OPTIONAL" },
  string: { type: "BYTE_ARRAY", converted_type: "UTF8", repetition_type: "OPTIONAL" },
};

/**
 * How each type is written. Times and counts rise by small steps: delta-encoded they take a few bits a value (a
 * twentieth of plain). Statistics (min and max per row group) only for times, which readers filter on (DuckDB skips
 * row groups outside a WHERE on timestamp); elsewhere they cost time and help no one.
 */
const COLUMN_OPTIONS: Record<ColumnKind, { encoding?: "DELTA_BINARY_PACKED"; statistics: boolean }> = {
  timestamp: { encoding: "DELTA_BINARY_PACKED", statistics: true },
  int64: { encoding: "DELTA_BINARY_PACKED", statistics: false },
  float64: { statistics: false },
  boolean: { statistics: false },
  string: { statistics: false },
};

/** A ByteWriter whose bytes are handed out after each row group, so only one row group is held at a time. */
class DrainingWriter extends ByteWriter {
  drain(): Uint8Array {
    const bytes = new Uint8Array(this.buffer.slice(0, this.index));
    this.index = 0;
    return bytes;
  }
}

/**
 * A Parquet file written a row group at a time (hyparquet-writer, snappy-compressed pages, column statistics):
 * `start` gives the leading magic, `batch` takes one batch of columns as a row group and returns the bytes it added,
 * `end` the footer.
 */
export function createParquetEncoder(names: readonly string[], kinds: readonly ColumnKind[]) {
  const schema: SchemaElement[] = [
    { name: "root", num_children: names.length },
    ...names.map((name, i) => ({ name, ...ELEMENT[kinds[i] as ColumnKind] })),
  ];
  const writer = new DrainingWriter();
  const parquet = new ParquetWriter({ writer, schema, codec: "SNAPPY", createdBy: "candle-cache" });
  return {
    start(): Uint8Array {
      return writer.drain();
    },
    batch(columns: readonly ColumnData[], rows: number): Uint8Array {
      // hyparquet-writer reads typed arrays as it reads arrays (indexing, iterating, slicing).
      const columnData = names.map((name, i) => ({ name, data: columns[i] as never, ...COLUMN_OPTIONS[kinds[i] as ColumnKind] }));
      void parquet.write({ columnData: columnData, rowGroupSize: Math.max(rows, 1) });
      return writer.drain();
    },
    end(): Uint8Array {
      void parquet.finish();
      return writer.drain();
    },
  };
}
