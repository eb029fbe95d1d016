import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { columnarBytesOf, generalColumnarOf } from "../src/formats/columnar.js";
import type { ColumnarFormat } from "../src/formats/media.js";
import { startDriver } from "./driver.js";
import { send } from "./http-client.js";
import { medianMs, medianRun } from "./stats.js";

/** The write side of one entry: its conversions, its PUT with the derived forms, and the original's write of it. */
export interface WriteFigures {
  /** The columnar forms of the CSV, made from it in memory: the converter (fast path) and the general path. */
  convertMs: Record<ColumnarFormat, { fast: number; general: number }>;
  /** PUT answered, and PUT until its derived forms (Parquet, Arrow) are kept (fs). */
  putMs: number;
  putAndFormsMs: number;
  /** The original Python service's write of the same rows (DataFrame.to_csv and the meta); null without pandas. */
  pythonWriteMs: number | null;
}

const ROOT = join(import.meta.dirname, "..");
/** The venv the bench makes once for pandas (pip reaches a mirror of it on these machines). */
const VENV = join(tmpdir(), "candle-cache-bench-venv");

/** `python: false` (the quick smoke) leaves the Python write out: making its venv takes a minute. */
export async function measureWrites(csv: Buffer, runs: number, options: { python: boolean }): Promise<WriteFigures> {
  const convertMs = {} as WriteFigures["convertMs"];
  for (const format of ["parquet", "arrow"] as const) {
    const fast = await medianMs(runs, () => columnarBytesOf(format, [csv]));
    // The general path is slow and its figure steady: one warm-up and one run.
    const general = await medianMs(1, async () => {
      for await (const part of await generalColumnarOf(format, async () => inOrder([csv]))) void part;
    });
    convertMs[format] = { fast, general };
  }

  const driver = await startDriver("fs", { s3Endpoint: "" });
  let entry = 0;
  const timedPut = async (withForms: boolean) => {
    const year = 2000 + entry++;
    const query = new URLSearchParams({ symbol: "BTCUSDT", interval: "1m", start_date: `${year}-01-01`, end_date: `${year}-12-31`, market_type: "spot" });
    const started = performance.now();
    const put = await send(`${driver.url}/api/v1/backtest/cache/data?${query}`, { method: "PUT", headers: { "Content-Type": "text/csv" }, body: csv });
    if (put.status !== 201) throw new Error(`PUT answered ${put.status}`);
    if (withForms) await driver.deriver.idle();
    const ms = performance.now() - started;
    await driver.deriver.idle();
    return ms;
  };
  let putMs: number;
  let putAndFormsMs: number;
  try {
    putMs = await medianRun(runs, () => timedPut(false));
    putAndFormsMs = await medianRun(runs, () => timedPut(true));
  } finally {
    await driver.close();
  }
  return { convertMs, putMs, putAndFormsMs, pythonWriteMs: options.python ? pythonWriteMs(csv, runs) : null };
}

/** The Python service's write, in a venv with pandas made on first use; null (said why) when it cannot be had. */
function pythonWriteMs(csv: Buffer, runs: number): number | null {
  const python = join(VENV, "bin", "python");
  try {
    if (!existsSync(python)) execFileSync("python3", ["-m", "venv", VENV], { stdio: "ignore" });
    execFileSync(python, ["-c", "import pandas"], { stdio: "ignore" });
  } catch {
    try {
      execFileSync(join(VENV, "bin", "pip"), ["install", "-q", "pandas"], { stdio: "ignore", timeout: 300_000 });
    } catch (error) {
      console.error(`[bench] no pandas for the Python write (${String(error).slice(0, 200)}): its figure is left out`);
      return null;
    }
  }
  const folder = mkdtempSync(join(tmpdir(), "candle-cache-bench-python-"));
  try {
    const file = join(folder, "year.csv");
    writeFileSync(file, csv);
    const out = execFileSync(python, [join(ROOT, "bench", "python-write.py"), file, String(runs)], { encoding: "utf8" });
    return (JSON.parse(out) as { median_s: number }).median_s * 1000;
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

async function* inOrder(chunks: readonly Uint8Array[]): AsyncGenerator<Uint8Array> {
  yield* chunks;
}
