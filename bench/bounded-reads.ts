import { createHash } from "node:crypto";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { buildMeta, serializeMeta } from "../src/cache/entries/meta.js";
import { csvKeyOf, metaKeyOf } from "../src/cache/entries/objects.js";
import { formatCachedAt } from "../src/time.js";
import { systemClock } from "../src/clock.js";
import type { DatasetId } from "../src/market.js";
import type { BenchClient } from "./client.js";
import { startDriver } from "./driver.js";
import { send } from "./http-client.js";
import { klinesCsv } from "./klines.js";
import { medianRun } from "./stats.js";

/**
 * What the server process held above idle while it answered, at the peaks: resident memory; the V8 heap with the
 * buffers outside it; and of those what is live (the same answers again, garbage collected before each sample: the
 * rest is what was sent and not yet collected, up to 64 MB of buffers before V8 collects them).
 */
export interface MemoryAboveIdle {
  idleRssMb: number;
  rssMb: number;
  idleHeapMb: number;
  heapMb: number;
  liveMb: number;
}

export interface BoundedReadFigures {
  crlfCsvBytes: number;
  crlfRows: number;
  /** One JSON read of the CRLF entry (median), and its answer's size. */
  crlfJsonMs: number;
  crlfJsonBytes: number;
  /** CONCURRENT_READS JSON reads of it at once: the slowest one's time, and the server's memory. */
  concurrentJson: { ms: number; memory: MemoryAboveIdle };
  wide: { csvBytes: number; columns: number; rows: number; arrowMs: number; arrowBytes: number; memory: MemoryAboveIdle };
}

/** How many JSON reads of the CRLF entry run at once. */
export const CONCURRENT_READS = 8;
/** The columns of the wide entry: ten times what a PUT accepts now. */
const WIDE_COLUMNS = 10_000;

const CRLF: DatasetId = { symbol: "BTCUSDT", interval: "1m", start_date: "2021-01-01", end_date: "2021-12-31", market_type: "spot" };
const WIDE: DatasetId = { ...CRLF, symbol: "WIDEUSDT" };

/**
 * Reads whose memory must not grow with the entry, on the fs driver: JSON of a year of 1m candles written with CRLF
 * line ends (streamed as the LF one is), CONCURRENT_READS at once; and the Arrow form of a CSV of WIDE_COLUMNS
 * columns of `wideRows` rows, stored as entries were stored before PUT refused more than 1,000 columns (its batches
 * hold a bounded number of cells, not of rows). The client is another process; memory is the server's, this one's.
 */
export async function measureBoundedReads(
  client: BenchClient,
  options: { rows: number; wideRows: number; runs: number },
): Promise<BoundedReadFigures> {
  const driver = await startDriver("fs", { s3Endpoint: "" });
  const url = (id: DatasetId, format: string) => `${driver.url}/api/v1/backtest/cache/data?${new URLSearchParams({ ...id, format })}`;
  try {
    const crlfCsvBytes = await putCrlf(url(CRLF, "csv"), options.rows);
    let crlfJsonBytes = 0;
    const crlfJsonMs = await medianRun(options.runs, async () => {
      const answer = await client.time({ url: url(CRLF, "json") });
      if (answer.status !== 200) throw new Error(`GET json of the CRLF year answered ${answer.status}`);
      crlfJsonBytes = answer.sizeBytes;
      return answer.ms;
    });
    const concurrentJson = await aboveIdle(async () => {
      const answers = await Promise.all(Array.from({ length: CONCURRENT_READS }, () => client.time({ url: url(CRLF, "json") })));
      if (answers.some((answer) => answer.status !== 200)) throw new Error("a concurrent JSON read of the CRLF year failed");
      return Math.max(...answers.map((answer) => answer.ms));
    });

    const wide = wideCsv(WIDE_COLUMNS, options.wideRows);
    await storeUnchecked(driver.store, WIDE, wide, options.wideRows);
    let arrowBytes = 0;
    const wideArrow = await aboveIdle(async () => {
      const answer = await client.time({ url: url(WIDE, "arrow") });
      if (answer.status !== 200) throw new Error(`GET arrow of the wide entry answered ${answer.status}`);
      arrowBytes = answer.sizeBytes;
      return answer.ms;
    });
    return {
      crlfCsvBytes,
      crlfRows: options.rows,
      crlfJsonMs,
      crlfJsonBytes,
      concurrentJson: { ms: concurrentJson.ms, memory: concurrentJson.memory },
      wide: {
        csvBytes: wide.length,
        columns: WIDE_COLUMNS,
        rows: options.wideRows,
        arrowMs: wideArrow.ms,
        arrowBytes,
        memory: wideArrow.memory,
      },
    };
  } finally {
    await driver.close();
  }
}

/** PUTs `rows` candles with CRLF line ends; their size. Nothing of them is held after. */
async function putCrlf(url: string, rows: number): Promise<number> {
  const crlf = Buffer.from(klinesCsv(rows).toString("latin1").replaceAll("\n", "\r\n"), "latin1");
  const put = await send(url, { method: "PUT", headers: { "Content-Type": "text/csv" }, body: crlf });
  if (put.status !== 201) throw new Error(`PUT of the CRLF candles answered ${put.status}`);
  return crlf.length;
}

/** `timestamp` and numbered columns of one-digit cells: about two bytes a cell. */
function wideCsv(columns: number, rows: number): Buffer {
  const names = ["timestamp", ...Array.from({ length: columns - 1 }, (_, i) => `c${i}`)];
  const lines = [names.join(",")];
  const cells = Array.from({ length: columns - 1 }, (_, i) => i % 10).join(",");
  for (let row = 0; row < rows; row++) {
    lines.push(`${new Date(Date.UTC(2021, 0, 1) + row * 60_000).toISOString().slice(0, 19).replace("T", " ")},${cells}`);
  }
  return Buffer.from(lines.join("\n") + "\n");
}

/** The CSV, then a meta proving it by its version, written straight to the store as a PUT before the cap would. */
async function storeUnchecked(store: Awaited<ReturnType<typeof startDriver>>["store"], id: DatasetId, csv: Buffer, rows: number): Promise<void> {
  const version = await store.put(csvKeyOf(id), csv, { contentType: "text/csv" });
  const sha256 = createHash("sha256").update(csv).digest("hex");
  const meta = buildMeta(id, { rows, csvBytes: csv.length, sha256, version }, formatCachedAt(systemClock.now()));
  await store.put(metaKeyOf(id), serializeMeta(meta), { contentType: "application/json" });
}

/** V8's collector, asked for by name: idle is measured with the garbage of what came before collected. */
setFlagsFromString("--expose-gc");
const collectGarbage = runInNewContext("gc") as () => void;

/**
 * Runs `work` twice from an idle measured after collecting the garbage: first sampling this process's resident
 * memory and V8 heap every 5 ms, then collecting the garbage before each sample, every 25 ms. The first run's time
 * (milliseconds), what was held at idle, and the peaks above it.
 */
async function aboveIdle(work: () => Promise<number>): Promise<{ ms: number; memory: MemoryAboveIdle }> {
  const first = await peaksAboveIdle(work, false);
  const live = await peaksAboveIdle(work, true);
  const mb = (bytes: number) => bytes / 2 ** 20;
  const { idle } = first;
  return {
    ms: first.ms,
    memory: { idleRssMb: mb(idle.rss), rssMb: mb(first.rss), idleHeapMb: mb(idle.held), heapMb: mb(first.held), liveMb: mb(live.held) },
  };
}

async function peaksAboveIdle(work: () => Promise<number>, collecting: boolean) {
  // Buffers go back to the system a while after they are collected.
  for (let pass = 0; pass < 2; pass++) {
    collectGarbage();
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  const held = ({ heapUsed, external }: NodeJS.MemoryUsage) => heapUsed + external;
  const start = process.memoryUsage();
  const idle = { rss: start.rss, held: held(start) };
  const peak = { ...idle };
  const sample = () => {
    if (collecting) collectGarbage();
    const now = process.memoryUsage();
    peak.rss = Math.max(peak.rss, now.rss);
    peak.held = Math.max(peak.held, held(now));
  };
  const sampler = setInterval(sample, collecting ? 25 : 5);
  try {
    const ms = await work();
    sample();
    return { ms, idle, rss: peak.rss - idle.rss, held: peak.held - idle.held };
  } finally {
    clearInterval(sampler);
  }
}

/** The figures as the rows of a table, its heading first. */
export function boundedReadsRows(figures: BoundedReadFigures): string[][] {
  const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
  const seconds = (ms: number) => (ms / 1000).toFixed(3);
  const memory = (m: MemoryAboveIdle) =>
    `RSS +${m.rssMb.toFixed(0)} (idle ${m.idleRssMb.toFixed(0)}), heap and buffers +${m.heapMb.toFixed(0)} (idle ` +
    `${m.idleHeapMb.toFixed(0)}), live +${m.liveMb.toFixed(0)}`;
  const { wide } = figures;
  return [
    ["measure (fs; the server's memory above idle, MB)", "figure", "target"],
    [`GET JSON of ${figures.crlfRows} CRLF rows, ${mb(figures.crlfCsvBytes)} MB (s)`, `${seconds(figures.crlfJsonMs)} (${mb(figures.crlfJsonBytes)} MB)`, ""],
    [`${CONCURRENT_READS} of those at once: slowest (s)`, seconds(figures.concurrentJson.ms), ""],
    ["  memory", memory(figures.concurrentJson.memory), "≤ +64"],
    [`GET Arrow of ${wide.columns} columns × ${wide.rows} rows, ${mb(wide.csvBytes)} MB of CSV (s)`, `${seconds(wide.arrowMs)} (${mb(wide.arrowBytes)} MB)`, ""],
    ["  memory", memory(wide.memory), ""],
  ];
}
