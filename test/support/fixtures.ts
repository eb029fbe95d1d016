import { cpSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { datasetKey } from "../../src/cache/entries/key.js";
import type { CacheMeta } from "../../src/cache/entries/meta.js";
import { KLINE_COLUMNS, type DatasetId } from "../../src/market.js";

export const FIXTURES = join(import.meta.dirname, "..", "fixtures");
/** Two entries written by the original Python DataCache. */
export const PYTHON_CACHE = join(FIXTURES, "tradebot-cache");

export const BTC_SPOT = { symbol: "BTCUSDT", interval: "1m", start_date: "2021-10-22", end_date: "2021-10-23", market_type: "spot" } as const;
export const ETH_FUTURES = { ...BTC_SPOT, symbol: "ETHUSDT", market_type: "futures" } as const;

export function readFixture(...path: string[]): Buffer {
  return readFileSync(join(FIXTURES, ...path));
}

/** A fresh temporary folder, optionally holding a copy of the Python cache. */
export function tempDir(options: { withPythonCache?: boolean } = {}): string {
  const dir = mkdtempSync(join(tmpdir(), "candle-cache-"));
  if (options.withPythonCache) cpSync(PYTHON_CACHE, dir, { recursive: true });
  return dir;
}

/** A deterministic candle CSV of `rows` 1m rows in the original's column set, starting at `startMs`. */
export function klinesCsv(rows: number, startMs = Date.UTC(2021, 9, 22)): string {
  const lines = [KLINE_COLUMNS.join(",")];
  for (let i = 0; i < rows; i++) {
    const t = startMs + i * 60_000;
    const stamp = new Date(t).toISOString().slice(0, 19).replace("T", " ");
    const open = (60000 + (i % 500)).toFixed(2);
    lines.push(`${stamp},${open},${open},${open},${open},1.5,${t + 59_999},90000.5,${i % 1000},0.75,45000.25,0`);
  }
  return lines.join("\n") + "\n";
}

/** A meta as the original Python service writes it: its fields only (no size, digest or version of the CSV). */
export function pythonMeta(id: DatasetId, rows: number, cachedAt: string): CacheMeta {
  const { symbol, interval, start_date, end_date, market_type } = id;
  return { symbol, interval, start_date, end_date, market_type, cached_at: cachedAt, rows, cache_key: datasetKey(id) };
}
