import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { tableFromIPC } from "apache-arrow";
import { describe, expect, it } from "vitest";
import { assembled, columnarBytesOf } from "../../src/formats/columnar.js";
import { BATCH_CELLS } from "../../src/formats/records.js";
import { klinesCsv, tempDir } from "../support/fixtures.js";

const encoder = new TextEncoder();
const MINUTE = 60_000;
/** Three consecutive runs of candles; the second is over one batch, so its file has two row groups. */
const SIZES = [1000, BATCH_CELLS / 12 + 500, 7];
const starts = SIZES.map((_, i) => Date.UTC(2024, 0, 1) + SIZES.slice(0, i).reduce((sum, n) => sum + n, 0) * MINUTE);
const csvs = SIZES.map((rows, i) => klinesCsv(rows, starts[i]));

async function duckRows(bytes: Uint8Array, sql: (file: string) => string): Promise<Record<string, unknown>[]> {
  const path = join(tempDir(), "assembled.parquet");
  writeFileSync(path, bytes);
  const duck = await (await DuckDBInstance.create(":memory:")).connect();
  const rows = (await duck.runAndReadAll(sql(`'${path}'`))).getRowObjectsJS();
  duck.closeSync();
  return rows;
}

describe("assembling columnar files of the same schema", () => {
  it("makes one Parquet file of their row groups, which DuckDB reads as the rows of all, in order", async () => {
    const files = await Promise.all(csvs.map((csv) => columnarBytesOf("parquet", [encoder.encode(csv)])));
    const whole = assembled("parquet", files);
    expect(whole).not.toBeNull();
    const bytes = Buffer.concat(whole?.chunks ?? []);
    expect(bytes.length).toBe(whole?.sizeBytes);
    const total = SIZES.reduce((sum, n) => sum + n, 0);
    const rows = await duckRows(bytes, (file) => `SELECT epoch_ms(timestamp) AS t, trades, close FROM read_parquet(${file})`);
    expect(rows).toHaveLength(total);
    expect(rows.map((row) => Number(row.t))).toEqual(Array.from({ length: total }, (_, i) => Date.UTC(2024, 0, 1) + i * MINUTE));
    const groups = await duckRows(bytes, (file) => `SELECT count(DISTINCT row_group_id) AS n FROM parquet_metadata(${file})`);
    expect(groups).toEqual([{ n: 4n }]);
    // The copied groups' statistics still let a reader skip what a filter rules out, and still tell the truth.
    const late = await duckRows(bytes, (file) => `SELECT count(*) AS n FROM read_parquet(${file}) WHERE timestamp >= TIMESTAMPTZ '2024-01-01 16:40:00+00'`);
    expect(late).toEqual([{ n: BigInt(total - 1000) }]);
  });

  it("makes one Arrow stream of their record batches, which apache-arrow reads as the rows of all, in order", async () => {
    const files = await Promise.all(csvs.map((csv) => columnarBytesOf("arrow", [encoder.encode(csv)])));
    const whole = assembled("arrow", files);
    const table = tableFromIPC(Buffer.concat(whole?.chunks ?? []));
    const total = SIZES.reduce((sum, n) => sum + n, 0);
    expect(table.numRows).toBe(total);
    expect(table.batches).toHaveLength(4);
    expect(Number(table.getChild("timestamp")?.get(total - 1))).toBe(Date.UTC(2024, 0, 1) + (total - 1) * MINUTE);
  });

  it("refuses files whose schemas differ, and no files at all: the caller converts instead", async () => {
    const other = encoder.encode("timestamp,close,note\n2024-01-01 00:00:00,1.5,x\n");
    for (const format of ["parquet", "arrow"] as const) {
      const files = [await columnarBytesOf(format, [encoder.encode(csvs[0])]), await columnarBytesOf(format, [other])];
      expect(assembled(format, files)).toBeNull();
      expect(assembled(format, [])).toBeNull();
    }
  });
});
