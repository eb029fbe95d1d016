import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { tableFromIPC } from "apache-arrow";
import type { DatasetId } from "../src/market.js";
import { startDriver } from "./driver.js";
import { send } from "./http-client.js";
import { medianRun } from "./stats.js";

/** One way of getting an entry into a table in the client. */
export interface FormatFigures {
  name: string;
  wireBytes: number;
  /** From the request to the rows held in a table in the client (DuckDB; apache-arrow's Table for Arrow). */
  toTableMs: number;
  /** From the request to the answer's last byte, no table made. */
  downloadMs: number;
}

const ID: DatasetId = { symbol: "BTCUSDT", interval: "1m", start_date: "2021-01-01", end_date: "2021-12-31", market_type: "spot" };

interface Variant {
  name: string;
  format: string;
  headers?: Record<string, string>;
  file: string;
  load: string | null;
}

const VARIANTS: Variant[] = [
  { name: "CSV", format: "csv", file: "a.csv", load: "read_csv('{file}', header = true)" },
  { name: "CSV, gzip on the wire", format: "csv", headers: { "Accept-Encoding": "gzip" }, file: "a.csv.gz", load: "read_csv('{file}', header = true)" },
  { name: "Parquet", format: "parquet", file: "a.parquet", load: "read_parquet('{file}')" },
  { name: "Arrow IPC stream", format: "arrow", file: "a.arrows", load: null },
];

/**
 * Bytes on the wire and the time until a client holds the rows in a table, for each form of one entry of
 * `csv`'s rows on the fs driver: the client downloads the answer, saves it, and DuckDB loads it into a table
 * (CREATE TABLE AS, all rows); the Arrow stream goes into apache-arrow's Table instead (DuckDB's arrow reader is an
 * extension, not installable offline). Medians of `runs` after a warm-up.
 */
export async function measureFormats(csv: Buffer, rows: number, runs: number): Promise<FormatFigures[]> {
  const driver = await startDriver("fs", { s3Endpoint: "" });
  const dir = mkdtempSync(join(tmpdir(), "candle-cache-bench-formats-"));
  const duck = await (await DuckDBInstance.create(":memory:")).connect();
  try {
    const query = new URLSearchParams({ ...ID });
    const put = await send(`${driver.url}/api/v1/backtest/cache/data?${query}`, { method: "PUT", headers: { "Content-Type": "text/csv" }, body: csv });
    if (put.status !== 201) throw new Error(`PUT answered ${put.status}`);
    // Its writer's job makes the Parquet and Arrow forms right after the PUT; the figures below are of the kept forms.
    const deriveStarted = performance.now();
    await driver.deriver.idle();
    console.log(`  the derived forms (Parquet, Arrow) of ${rows} rows were kept ${((performance.now() - deriveStarted) / 1000).toFixed(2)} s after the PUT answered`);
    const figures: FormatFigures[] = [];
    for (const variant of VARIANTS) {
      const url = `${driver.url}/api/v1/backtest/cache/data?${query}&format=${variant.format}`;
      let wireBytes = 0;
      const downloadMs = await medianRun(runs, async () => {
        const started = performance.now();
        const answer = await send(url, { headers: variant.headers });
        if (answer.status !== 200) throw new Error(`${variant.name}: ${answer.status}`);
        wireBytes = answer.sizeBytes;
        return performance.now() - started;
      });
      const toTableMs = await medianRun(runs, async () => {
        const started = performance.now();
        const answer = await send(url, { headers: variant.headers, keepBody: true });
        const body = answer.body as Buffer;
        let held: number;
        if (variant.load === null) {
          held = tableFromIPC(body).numRows;
        } else {
          const file = join(dir, variant.file);
          writeFileSync(file, body);
          await duck.run(`CREATE OR REPLACE TABLE t AS SELECT * FROM ${variant.load.replace("{file}", file)}`);
          held = Number((await duck.runAndReadAll("SELECT count(*) FROM t")).getRows()[0]?.[0]);
        }
        if (held !== rows) throw new Error(`${variant.name}: the table holds ${held} rows, not ${rows}`);
        return performance.now() - started;
      });
      figures.push({ name: variant.name, wireBytes, toTableMs, downloadMs });
    }
    return figures;
  } finally {
    duck.closeSync();
    await driver.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
