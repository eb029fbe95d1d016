import { describe, expect, it } from "vitest";
import { candleBatchesOf } from "../../src/formats/candle-columns.js";
import { columnarBytesOf, generalColumnarOf } from "../../src/formats/columnar.js";
import type { ColumnarFormat } from "../../src/formats/media.js";
import { KLINE_COLUMNS } from "../../src/market.js";
import { EDGE_CELLS, TIMESTAMPS } from "../support/generated-csv.js";
import { klinesCsv, PYTHON_CACHE, readFixture } from "../support/fixtures.js";
import { readdirSync } from "node:fs";

/**
 * The fast path of the columnar forms (candle columns read from bytes into typed columns) answers exactly what the
 * general path answers, byte for byte, for every CSV it takes; and declines every CSV it cannot prove it reads the
 * same. Each CSV is converted both ways and the bytes compared.
 */
const FORMATS: ColumnarFormat[] = ["parquet", "arrow"];

async function* chunked(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}

async function general(format: ColumnarFormat, csv: Uint8Array): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const part of await generalColumnarOf(format, async () => chunked(csv, 1 << 20))) parts.push(part);
  return Buffer.concat(parts);
}

/** Whether the fast path takes the CSV; and, either way, that the answer is the general path's, in both formats. */
async function sameBothWays(csv: Uint8Array, chunkSize = 1 << 20): Promise<boolean> {
  const taken = (await candleBatchesOf(chunked(csv, chunkSize))) !== null;
  for (const format of FORMATS) {
    const chunks: Uint8Array[] = [];
    for (let at = 0; at < csv.length; at += chunkSize) chunks.push(csv.subarray(at, at + chunkSize));
    const fast = await columnarBytesOf(format, chunks);
    expect(Buffer.compare(fast, await general(format, csv)), `${format} of ${Buffer.from(csv).toString().slice(0, 300)}`).toBe(0);
  }
  return taken;
}

/** Three candles, the second with `cell` in `column`. */
function withCell(column: number, cell: string): Buffer {
  const lines = klinesCsv(3).trimEnd().split("\n");
  const fields = (lines[2] as string).split(",");
  fields[column] = cell;
  lines[2] = fields.join(",");
  return Buffer.from(`${lines.join("\n")}\n`);
}

describe("the candle columns' fast path", () => {
  it("takes plain candle CSVs, in any chunking, with or without a last line end, across batches", async () => {
    const csv = Buffer.from(klinesCsv(1000));
    expect(await sameBothWays(csv)).toBe(true);
    expect(await sameBothWays(csv, 7)).toBe(true);
    expect(await sameBothWays(csv, 131)).toBe(true);
    expect(await sameBothWays(csv.subarray(0, csv.length - 1))).toBe(true);
    // 140,000 rows: a batch of 131,072 rows (BATCH_CELLS) and the rest, as the general path cuts them.
    const big = Buffer.from(klinesCsv(140_000));
    const batches = await candleBatchesOf(chunked(big, 1 << 20));
    expect(batches?.map((batch) => batch.rows)).toEqual([131_072, 140_000 - 131_072]);
    expect(await sameBothWays(big)).toBe(true);
  });

  it("takes the Python service's own CSVs", async () => {
    const files = readdirSync(PYTHON_CACHE).filter((file) => file.endsWith(".csv"));
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) expect(await sameBothWays(readFixture("tradebot-cache", file)), file).toBe(true);
  });

  it("answers as the general path for every edge cell in every column, taking only what it reads the same", async () => {
    const taken: string[] = [];
    for (let column = 0; column < KLINE_COLUMNS.length; column++) {
      const cells = column === 0 || column === 6 ? [...TIMESTAMPS, ...EDGE_CELLS] : EDGE_CELLS;
      for (const cell of cells) {
        if (await sameBothWays(withCell(column, cell))) taken.push(`${KLINE_COLUMNS[column]}=${cell}`);
      }
    }
    // What it takes: plain decimals in the number columns, integers in the integer ones, the original's timestamps.
    expect(taken).toContain("open=-0");
    expect(taken).toContain("open=5.");
    expect(taken).toContain("open=-.5");
    expect(taken).toContain("volume=0.1234567890123456");
    expect(taken).toContain("trades=007");
    expect(taken).toContain("timestamp=2020-02-29 00:00:00");
    expect(taken).toContain("close_time=1634943780000");
    // What it leaves to the general path: exponents, signs, spaces, empty cells, other timestamp forms, fractions
    // of integers, days that are not.
    for (const declined of ["open=1e5", "open=+5", "open= 5", "open=", "trades=1.5", "trades=9007199254740993", "timestamp=2021-10-22 24:00:00", "timestamp=2021-10-22T23:03:00Z", "close_time=2021-10-22 23:03:00", "ignore=true"]) {
      expect(taken).not.toContain(declined);
    }
  });

  it("declines CSVs of another shape: CRLF, a BOM, quotes, another header, an empty line, a header alone", async () => {
    const csv = klinesCsv(5);
    const shapes = {
      crlf: csv.replaceAll("\n", "\r\n"),
      bom: `\uFEFF${csv}`,
      quoted: csv.replace("\n2021", '\n"2021').replace(/^("2021-10-22 00:00:00)/m, '$1"'),
      header: csv.replace("ignore", "unused"),
      emptyLine: csv.replace("\n", "\n\n"),
      headerAlone: `${KLINE_COLUMNS.join(",")}\n`,
      extraColumn: csv.replaceAll("\n", ",1\n"),
    };
    for (const [name, text] of Object.entries(shapes)) {
      expect(await candleBatchesOf(chunked(Buffer.from(text), 1 << 20)), name).toBeNull();
      if (name !== "headerAlone" && name !== "extraColumn") expect(await sameBothWays(Buffer.from(text)), name).toBe(false);
    }
  });
});
