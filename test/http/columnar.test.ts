import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { DuckDBInstance, type DuckDBConnection } from "@duckdb/node-api";
import { tableFromIPC } from "apache-arrow";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { csvToRows } from "../../src/csv/check.js";
import { parseTimestamp } from "../../src/time.js";
import { BATCH_CELLS } from "../../src/formats/records.js";
import { dataUrl, testApp } from "../support/app.js";
import { BTC_SPOT, klinesCsv, tempDir } from "../support/fixtures.js";

/** Readers no one here wrote: DuckDB for Parquet and CSV, apache-arrow's reader for the IPC stream. */
let duck: DuckDBConnection;
beforeAll(async () => {
  duck = await (await DuckDBInstance.create(":memory:")).connect();
});
afterAll(() => duck.closeSync());

/** The rows of a batch of candles, and a batch and a bit of them: two row groups, two record batches. */
const BATCH_RECORDS = BATCH_CELLS / 12;
const ROWS = BATCH_RECORDS + 1000;
const csvPut = (body: string) => ({ method: "PUT", body, headers: { "Content-Type": "text/csv" } });
const KLINE_TYPES = {
  timestamp: "TIMESTAMP WITH TIME ZONE",
  open: "DOUBLE",
  high: "DOUBLE",
  low: "DOUBLE",
  close: "DOUBLE",
  volume: "DOUBLE",
  close_time: "TIMESTAMP WITH TIME ZONE",
  quote_volume: "DOUBLE",
  trades: "BIGINT",
  taker_base: "DOUBLE",
  taker_quote: "DOUBLE",
  ignore: "BIGINT",
};

/** JSON of a row with Int64 cells (bigints), for comparing rows as text. */
const bigintText = (_key: string, value: unknown) => (typeof value === "bigint" ? value.toString() : value);

/** An answer's bytes saved to a file DuckDB can read. */
async function saved(res: Response, name: string): Promise<string> {
  const path = join(tempDir(), name);
  writeFileSync(path, Buffer.from(await res.arrayBuffer()));
  return path;
}

async function rowsOf(sql: string): Promise<Record<string, unknown>[]> {
  return (await duck.runAndReadAll(sql)).getRowObjectsJS();
}

async function typesOf(path: string): Promise<Record<string, string>> {
  const described = await rowsOf(`DESCRIBE SELECT * FROM read_parquet('${path}')`);
  return Object.fromEntries(described.map((row) => [String(row.column_name), String(row.column_type)]));
}

describe("Parquet and Arrow answers", () => {
  it("answers a year-shaped entry as Parquet that DuckDB reads to the same rows and values as the CSV answer", async () => {
    const { app } = testApp();
    // Over two row groups, so the batching is exercised.
    expect((await app.request(dataUrl(BTC_SPOT), csvPut(klinesCsv(ROWS)))).status).toBe(201);
    const parquet = await app.request(dataUrl({ ...BTC_SPOT, format: "parquet" }));
    expect(parquet.status).toBe(200);
    expect(parquet.headers.get("Content-Type")).toBe("application/vnd.apache.parquet");
    expect(parquet.headers.get("ETag")).toMatch(/-parquet"$/);
    const parquetFile = await saved(parquet, "a.parquet");
    const csv = await app.request(dataUrl({ ...BTC_SPOT, format: "csv" }));
    const csvBytes = Number(csv.headers.get("Content-Length"));
    const csvFile = await saved(csv, "a.csv");

    expect(await typesOf(parquetFile)).toEqual(KLINE_TYPES);
    const fromCsv = await rowsOf(
      `SELECT epoch_ms(timestamp::TIMESTAMP) AS t, open, high, low, close, volume, close_time AS ct, quote_volume, trades, taker_base, taker_quote, ignore
       FROM read_csv('${csvFile}', header = true, timestampformat = '%Y-%m-%d %H:%M:%S') ORDER BY t`,
    );
    const fromParquet = await rowsOf(
      `SELECT epoch_ms(timestamp) AS t, open, high, low, close, volume, epoch_ms(close_time) AS ct, quote_volume, trades, taker_base, taker_quote, ignore
       FROM read_parquet('${parquetFile}') ORDER BY t`,
    );
    expect(fromParquet).toHaveLength(ROWS);
    expect(fromParquet).toEqual(fromCsv);
    const rowGroups = await rowsOf(`SELECT count(DISTINCT row_group_id) AS n FROM parquet_metadata('${parquetFile}')`);
    expect(Number(rowGroups[0]?.n)).toBe(2);
    const { size } = await import("node:fs").then((fs) => fs.statSync(parquetFile));
    expect(size).toBeLessThan(csvBytes * 0.5);
  });

  it("answers an Arrow IPC stream that apache-arrow reads to the same rows and values as the CSV", async () => {
    const { app } = testApp();
    const body = klinesCsv(ROWS);
    await app.request(dataUrl(BTC_SPOT), csvPut(body));
    const res = await app.request(dataUrl(BTC_SPOT), { headers: { Accept: "application/vnd.apache.arrow.stream" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toBe("application/vnd.apache.arrow.stream");
    const table = tableFromIPC(new Uint8Array(await res.arrayBuffer()));
    expect(table.numRows).toBe(ROWS);
    expect(table.batches).toHaveLength(2);
    expect(table.schema.fields.map((field) => `${field.name}:${String(field.type)}`)).toEqual([
      "timestamp:Timestamp<MILLISECOND, UTC>",
      "open:Float64",
      "high:Float64",
      "low:Float64",
      "close:Float64",
      "volume:Float64",
      "close_time:Timestamp<MILLISECOND, UTC>",
      "quote_volume:Float64",
      "trades:Int64",
      "taker_base:Float64",
      "taker_quote:Float64",
      "ignore:Int64",
    ]);
    const expected = csvToRows(body);
    for (const at of [0, 1, BATCH_RECORDS - 1, BATCH_RECORDS, ROWS - 1]) {
      const row = table.get(at)?.toJSON() as Record<string, unknown>;
      const want = expected[at] as Record<string, unknown>;
      expect(Number(row.timestamp)).toBe(Date.parse(want.timestamp as string));
      expect(Number(row.close_time)).toBe(want.close_time);
      expect(row.open).toBe(want.open);
      expect(row.trades).toBe(BigInt(want.trades as number));
      expect(row.taker_quote).toBe(want.taker_quote);
    }
  });

  it("answers format=feather as an Arrow IPC file (what pandas.read_feather reads): converted before the kept Arrow form exists, then from it, the same table", async () => {
    const { app, deriver } = testApp({ backgroundForms: false });
    const body = klinesCsv(ROWS);
    await app.request(dataUrl(BTC_SPOT), csvPut(body));
    const magic = (bytes: Uint8Array) => [Buffer.from(bytes.subarray(0, 6)).toString("latin1"), Buffer.from(bytes.subarray(-6)).toString("latin1")];

    const converted = await app.request(dataUrl({ ...BTC_SPOT, format: "feather" }));
    expect(converted.status).toBe(200);
    expect(converted.headers.get("Content-Type")).toBe("application/vnd.apache.arrow.file");
    expect(converted.headers.get("Content-Disposition")).toMatch(/\.feather"$/);
    expect(converted.headers.get("X-Arrow")).toBe("MISS");
    const file = new Uint8Array(await converted.arrayBuffer());
    expect(magic(file)).toEqual(["ARROW1", "ARROW1"]);
    const stream = tableFromIPC(new Uint8Array(await (await app.request(dataUrl({ ...BTC_SPOT, format: "arrow" }))).arrayBuffer()));
    const table = tableFromIPC(file);
    expect(table.numRows).toBe(ROWS);
    expect(table.schema.fields.map(String)).toEqual(stream.schema.fields.map(String));
    for (const at of [0, BATCH_RECORDS, ROWS - 1]) expect(JSON.stringify(table.get(at)?.toJSON(), bigintText)).toBe(JSON.stringify(stream.get(at)?.toJSON(), bigintText));

    await deriver.derive(BTC_SPOT);
    const kept = await app.request(dataUrl({ ...BTC_SPOT, format: "feather" }));
    expect(kept.headers.get("X-Arrow")).toBe("HIT");
    expect(Buffer.compare(Buffer.from(await kept.arrayBuffer()), Buffer.from(file))).toBe(0);
  });

  it("keeps the type the CSV implies for other columns, and for a known column whose values do not fit its type", async () => {
    const { app } = testApp();
    const csv = [
      "timestamp,open,volume,note,flag,n,x",
      '2021-10-22 23:03:00,1.5,n/a,"plain, with a comma",true,1,0.5',
      '2021-10-22 23:04:00,,2,"two\nlines ""quoted""",false,,7',
      "2021-10-22 23:05:00,2.25,3,,TRUE,3,",
      "",
    ].join("\n");
    expect((await app.request(dataUrl(BTC_SPOT), csvPut(csv))).status).toBe(201);
    const file = await saved(await app.request(dataUrl({ ...BTC_SPOT, format: "parquet" })), "odd.parquet");
    expect(await typesOf(file)).toEqual({
      timestamp: "TIMESTAMP WITH TIME ZONE",
      open: "DOUBLE",
      volume: "VARCHAR",
      note: "VARCHAR",
      flag: "BOOLEAN",
      n: "BIGINT",
      x: "DOUBLE",
    });
    const rows = await rowsOf(`SELECT epoch_ms(timestamp) AS t, open, volume, note, flag, n, x FROM read_parquet('${file}')`);
    expect(rows).toEqual([
      { t: BigInt(parseTimestamp("2021-10-22 23:03:00") as number), open: 1.5, volume: "n/a", note: "plain, with a comma", flag: true, n: 1n, x: 0.5 },
      { t: BigInt(parseTimestamp("2021-10-22 23:04:00") as number), open: null, volume: "2", note: 'two\nlines "quoted"', flag: false, n: null, x: 7 },
      { t: BigInt(parseTimestamp("2021-10-22 23:05:00") as number), open: 2.25, volume: "3", note: null, flag: true, n: 3n, x: null },
    ]);
  });

  it("answers an entry without rows as a Parquet file and an Arrow stream with the columns and no rows", async () => {
    const { app } = testApp();
    await app.request(dataUrl(BTC_SPOT), csvPut(klinesCsv(0)));
    const file = await saved(await app.request(dataUrl({ ...BTC_SPOT, format: "parquet" })), "empty.parquet");
    expect(await rowsOf(`SELECT count(*) AS n FROM read_parquet('${file}')`)).toEqual([{ n: 0n }]);
    const arrow = await app.request(dataUrl({ ...BTC_SPOT, format: "arrow" }));
    const table = tableFromIPC(new Uint8Array(await arrow.arrayBuffer()));
    expect(table.numRows).toBe(0);
    expect(table.schema.fields).toHaveLength(12);
  });

  it("sends Parquet as it is whatever Accept-Encoding says, and answers 304 to its tag", async () => {
    const { app } = testApp();
    await app.request(dataUrl(BTC_SPOT), csvPut(klinesCsv(5000)));
    const res = await app.request(dataUrl({ ...BTC_SPOT, format: "parquet" }), { headers: { "Accept-Encoding": "gzip, br" } });
    expect(res.headers.get("Content-Encoding")).toBeNull();
    const tag = res.headers.get("ETag") as string;
    const again = await app.request(dataUrl({ ...BTC_SPOT, format: "parquet" }), { headers: { "If-None-Match": tag } });
    expect(again.status).toBe(304);
  });

  it("refuses an unknown format naming the ones it has", async () => {
    const { app } = testApp();
    const res = await app.request(dataUrl({ ...BTC_SPOT, format: "orc" }));
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { details?: unknown } };
    expect(JSON.stringify(body)).toContain("json, csv, parquet, arrow, feather");
  });
});
