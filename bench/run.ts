/**
 * `npm run bench`: the hit path's figures on the fs and s3 (moto_server) drivers, through the real HTTP server on
 * loopback, beside the floor (the same bytes read straight from the store); then the Lambda bundles.
 * `npm run bench -- --quick`: small sizes, as a smoke that the benchmark still runs. Figures only, nothing asserted.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import type { DatasetId } from "../src/market.js";
import { startMotoServer } from "../dev/moto.js";
import { measureBundles, type BundleFigures } from "./bundles.js";
import { startClient, type BenchClient, type LoadResult, type TimedRequest } from "./client.js";
import { startDriver, type DriverName } from "./driver.js";
import { send } from "./http-client.js";
import { binanceApiRows, measureBinanceApi, type BinanceApiFigures } from "./binance-api.js";
import { klinesCsv } from "./klines.js";
import { boundedReadsRows, measureBoundedReads, type BoundedReadFigures } from "./bounded-reads.js";
import { measureFormats, type FormatFigures } from "./formats.js";
import { measureWrites, type WriteFigures } from "./writes.js";
import { measureReadThrough, type ReadThroughFigures } from "./read-through.js";
import { medianMs, medianRun } from "./stats.js";

const ROOT = join(import.meta.dirname, "..");
const quick = process.argv.includes("--quick");

/** `runs` timed runs after one warm-up (`infoRuns` for info, slow on moto); clear runs once, it empties the store. */
const SIZES = {
  smallRows: 1_000,
  loadConnections: 32,
  ...(quick
    ? { bigRows: 20_000, wideRows: 100, entries: 300, loadMs: 2_000, runs: 3, infoRuns: 2, coldImports: 2, klinesEnd: "2025-01-31" }
    : { bigRows: 525_600, wideRows: 1_000, entries: 10_000, loadMs: 10_000, runs: 5, infoRuns: 3, coldImports: 5, klinesEnd: "2025-12-31" }),
};

/**
 * A round trip to Binance (REST or the archive) from a nearby cloud region, added to every upstream answer in the
 * second read-through measure; the first has loopback's none, where both ways are bound by this machine's CPU.
 */
const UPSTREAM_LATENCY_MS = 50;

// The SDK warns once per process that its 2027 releases will need Node 22; noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";

interface DriverFigures {
  putMs: number;
  /** The floor: the CSV's bytes read straight from the store (store.getStream drained), in this process. */
  floorMs: number;
  getCsvMs: number;
  getJsonMs: number;
  jsonBytes: number;
  /** CONCURRENT_JSON JSON reads of the big entry at once: the slowest one's time, and the server's peak memory. */
  concurrentJson: { ms: number; idleMb: number; peakAboveIdleMb: number };
  /** info from the index (16 shard reads; what a fresh process does too). */
  infoMs: number;
  /** The first info after entries were written behind the index's back: it rebuilds the index from a listing. */
  infoColdMs: number;
  infoColdRequests: Record<string, number>;
  /** info?refresh=true: the full listing, metas read where their version changed. */
  infoRefreshMs: number;
  /** The info floor: the same listing and meta reads straight from the store, at the same concurrency. */
  infoFloorMs: number;
  /** Store calls of one info, by operation (and S3 requests by command, on s3). */
  infoRequests: Record<string, number>;
  clearMs: number;
  clearRequests: Record<string, number>;
  load: LoadResult;
}

const BIG: DatasetId = {
  symbol: "BTCUSDT",
  interval: "1m",
  start_date: "2021-01-01",
  end_date: "2021-12-31",
  market_type: "spot",
};
const SMALL: DatasetId = { ...BIG, end_date: "2021-01-01" };

async function main(): Promise<void> {
  const files = mkdtempSync(join(tmpdir(), "candle-cache-bench-bodies-"));
  const bigCsv = klinesCsv(SIZES.bigRows);
  const smallCsv = klinesCsv(SIZES.smallRows);
  const bodies = { big: join(files, "big.csv"), small: join(files, "small.csv") };
  writeFileSync(bodies.big, bigCsv);
  writeFileSync(bodies.small, smallCsv);
  log(`CSV: ${SIZES.bigRows} rows = ${mb(bigCsv.length)} MB, ${SIZES.smallRows} rows = ${smallCsv.length} bytes`);

  const client = startClient();
  const moto = await startMotoServer();
  const drivers: Partial<Record<DriverName, DriverFigures>> = {};
  let transportFloorMs: number;
  const readThrough: ReadThroughFigures[] = [];
  const keptForms: ReadThroughFigures[] = [];
  let formats: FormatFigures[];
  let writes: WriteFigures;
  let boundedReads: BoundedReadFigures;
  let binanceApi: BinanceApiFigures;
  try {
    transportFloorMs = await rawTransferMs(client, bigCsv);
    for (const name of ["fs", "s3"] as const) {
      log(`${name}: measuring`);
      drivers[name] = await measureDriver(name, { s3Endpoint: moto.endpoint, client, bodies });
    }
    log("formats: bytes on the wire and time until a table in the client holds the rows");
    formats = await measureFormats(bigCsv, SIZES.bigRows, SIZES.runs);
    log("writes: the converter, a PUT with its derived forms, and the original Python service's write of the same rows");
    writes = await measureWrites(bigCsv, SIZES.runs, { python: !quick });
    log("bounded reads: JSON of a CRLF year, 8 at once; Arrow of a 10,000-column CSV");
    boundedReads = await measureBoundedReads(client, { rows: SIZES.bigRows, wideRows: SIZES.wideRows, runs: SIZES.runs });
    for (const latencyMs of [0, UPSTREAM_LATENCY_MS]) {
      for (const source of ["rest", "archive"] as const) {
        log(`klines: 1m candles 2025-01-01 .. ${SIZES.klinesEnd}, cold (${source}, ${latencyMs} ms a round trip) then warm`);
        const range = { startDate: "2025-01-01", endDate: SIZES.klinesEnd, warmRuns: SIZES.runs };
        readThrough.push(await measureReadThrough(client, { ...range, source, latencyMs, columnar: source === "rest" && latencyMs === 0 }));
      }
    }
    log("klines: 1h candles of 2024, warm, as Parquet from the months' kept forms");
    const hourly = { startDate: "2024-01-01", endDate: "2024-12-31", warmRuns: SIZES.runs, source: "rest" as const, latencyMs: 0 };
    keptForms.push(await measureReadThrough(client, { ...hourly, interval: "1h", columnar: true }));
    log("Binance's shape: a warm /api/v3/klines page of 1000 1m candles, and the month partition it is cut from");
    binanceApi = await measureBinanceApi(client, SIZES.runs);
  } finally {
    await Promise.all([moto.stop(), client.close()]);
    rmSync(files, { recursive: true, force: true });
  }
  log("bundling the Lambda functions");
  const bundles = await measureBundles(ROOT, SIZES.coldImports);

  const results = {
    mode: quick ? "quick" : "full",
    date: new Date().toISOString(),
    machine: {
      cores: cpus().length,
      memoryGb: Math.round(totalmem() / 2 ** 30),
      cpu: cpus()[0]?.model ?? "unknown",
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
    },
    sizes: { ...SIZES, bigCsvBytes: bigCsv.length, smallCsvBytes: smallCsv.length },
    transportFloorMs,
    drivers,
    readThrough,
    keptForms,
    formats,
    writes,
    boundedReads,
    binanceApi,
    bundles,
  };
  writeFileSync(join(ROOT, "bench", "results.json"), JSON.stringify(results, null, 2) + "\n");
  console.log(table(drivers as Record<DriverName, DriverFigures>, transportFloorMs, bundles));
  console.log(readThroughTable(readThrough));
  console.log(keptFormsTable([...readThrough, ...keptForms]));
  console.log(formatsTable(formats, SIZES.bigRows));
  console.log(writesTable(writes, SIZES.bigRows));
  console.log(`\n${markdown(boundedReadsRows(boundedReads))}\n`);
  console.log(`\n${markdown(binanceApiRows(binanceApi))}\n`);
  log("wrote bench/results.json");
}

async function measureDriver(
  name: DriverName,
  options: { s3Endpoint: string; client: BenchClient; bodies: { big: string; small: string } },
): Promise<DriverFigures> {
  const { client, bodies } = options;
  const { runs, infoRuns } = SIZES;
  const driver = await startDriver(name, { s3Endpoint: options.s3Endpoint });
  const api = `${driver.url}/api/v1/backtest/cache`;
  const dataUrl = (id: DatasetId, format?: string) =>
    `${api}/data?${new URLSearchParams({ ...id, ...(format ? { format } : {}) })}`;
  /** Times one request in the client process; anything but `status` stops the benchmark. */
  const timed = (what: string, status: number, request: TimedRequest) => async () => {
    const answer = await client.time(request);
    if (answer.status !== status) throw new Error(`${name}: ${what} answered ${answer.status}, not ${status}`);
    return answer.ms;
  };
  const putCsv = (id: DatasetId, bodyFile: string) =>
    timed("PUT", 201, { url: dataUrl(id), method: "PUT", headers: { "Content-Type": "text/csv" }, bodyFile });
  try {
    const putMs = await medianRun(runs, putCsv(BIG, bodies.big));
    const floorMs = await medianMs(runs, () => driver.drainCsv(BIG));
    const getCsvMs = await medianRun(runs, timed("GET csv", 200, { url: dataUrl(BIG, "csv") }));
    const getJsonMs = await medianRun(runs, timed("GET json", 200, { url: dataUrl(BIG, "json") }));
    const jsonBytes = await checkJsonRows(dataUrl(BIG, "json"), SIZES.bigRows);
    const concurrentJson = await peakMemory(async () => {
      const answers = await Promise.all(Array.from({ length: CONCURRENT_JSON }, () => client.time({ url: dataUrl(BIG, "json") })));
      if (answers.some((answer) => answer.status !== 200)) throw new Error(`${name}: a concurrent JSON read failed`);
      return Math.max(...answers.map((answer) => answer.ms));
    });

    await driver.cache.clear();
    log(`${name}: writing ${SIZES.entries} entries`);
    await driver.seedEntries(SIZES.entries);
    const infoFloorMs = await medianMs(infoRuns, () => driver.readAllMetas());
    driver.counts.reset();
    // The first info after entries written straight to the store builds the index from a full listing.
    const infoColdMs = await timed("info", 200, { url: `${api}/info` })();
    const infoColdRequests = driver.counts.perCall(1);
    driver.counts.reset();
    const infoMs = await medianRun(infoRuns, timed("info", 200, { url: `${api}/info` }));
    const infoRequests = driver.counts.perCall(infoRuns + 1);
    const infoRefreshMs = await medianRun(infoRuns, timed("info?refresh=true", 200, { url: `${api}/info?refresh=true` }));
    driver.counts.reset();
    const clearMs = await timed("clear", 200, { url: `${api}/clear`, method: "POST" })();
    const clearRequests = driver.counts.perCall(1);

    await putCsv(SMALL, bodies.small)();
    log(`${name}: ${SIZES.loadConnections} connections for ${SIZES.loadMs / 1000} s`);
    const { loadConnections: connections, loadMs: durationMs } = SIZES;
    const load = await client.load({ url: dataUrl(SMALL, "csv"), connections, durationMs });
    return {
      putMs, floorMs, getCsvMs, getJsonMs, jsonBytes, concurrentJson,
      infoMs, infoColdMs, infoColdRequests, infoRefreshMs, infoFloorMs, infoRequests, clearMs, clearRequests, load,
    };
  } finally {
    await driver.close();
  }
}

/** How many JSON reads of the big entry run at once in the memory measure. */
const CONCURRENT_JSON = 8;

/**
 * Runs `work` while sampling this process's resident memory (the server's: the client is another process) every
 * 5 ms: its result, the memory before, and the most it rose above that.
 */
async function peakMemory(work: () => Promise<number>): Promise<{ ms: number; idleMb: number; peakAboveIdleMb: number }> {
  await new Promise((resolve) => setTimeout(resolve, 200));
  const idle = process.memoryUsage.rss();
  let peak = idle;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 5);
  try {
    const ms = await work();
    return { ms, idleMb: idle / 2 ** 20, peakAboveIdleMb: (peak - idle) / 2 ** 20 };
  } finally {
    clearInterval(sampler);
  }
}

/** Once, outside the timings: the JSON hit parses and holds every row. Its size in bytes. */
async function checkJsonRows(url: string, rows: number): Promise<number> {
  const answer = await send(url, { keepBody: true });
  const body = JSON.parse((answer.body as Buffer).toString("utf8")) as { data: { rows: unknown[] } };
  if (body.data.rows.length !== rows) throw new Error(`GET json held ${body.data.rows.length} rows, not ${rows}`);
  return answer.sizeBytes;
}

/**
 * What node:http itself takes to send `bytes` from memory to the same client: the floor under any HTTP answer of
 * that size on this machine, whatever the store.
 */
async function rawTransferMs(client: BenchClient, bytes: Buffer): Promise<number> {
  const server = createServer((_, res) => {
    res.writeHead(200, { "Content-Type": "text/csv", "Content-Length": bytes.length });
    res.end(bytes);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    const { port } = server.address() as AddressInfo;
    return await medianRun(SIZES.runs, async () => (await client.time({ url: `http://127.0.0.1:${port}/` })).ms);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

function table(drivers: Record<DriverName, DriverFigures>, transportFloorMs: number, bundles: BundleFigures[]): string {
  const { fs, s3 } = drivers;
  const rows = SIZES.bigRows.toLocaleString("en-US");
  const entries = SIZES.entries.toLocaleString("en-US");
  const both = (pick: (figures: DriverFigures) => string, target = "") => [pick(fs), pick(s3), target];
  const seconds = (ms: number) => (ms / 1000).toFixed(3);
  const calls = (counts: Record<string, number>) =>
    Object.entries(counts)
      .map(([operation, count]) => `${operation} ${count}`)
      .join(", ");
  const lines = [
    ["measure", "fs", "s3 (moto_server)", quick ? "target (at full sizes)" : "target (2 cores)"],
    [`PUT ${rows} rows (s)`, ...both((f) => seconds(f.putMs), "fs ≤ 1.0")],
    ["floor: store.getStream drained (s)", ...both((f) => seconds(f.floorMs))],
    ["floor: node:http sending those bytes (s)", ...both(() => seconds(transportFloorMs))],
    ["GET hit as CSV (s)", ...both((f) => seconds(f.getCsvMs))],
    ["GET hit as CSV / store floor", ...both((f) => (f.getCsvMs / f.floorMs).toFixed(2), "≤ 1.3")],
    ["GET hit as CSV / node:http floor", ...both((f) => (f.getCsvMs / transportFloorMs).toFixed(2))],
    [`GET hit as JSON, ${rows} rows (s)`, ...both((f) => `${seconds(f.getJsonMs)} (${mb(f.jsonBytes)} MB)`, "≤ 0.7")],
    [
      `${CONCURRENT_JSON} JSON reads at once: slowest (s), server memory above idle (MB)`,
      ...both((f) => `${seconds(f.concurrentJson.ms)}, +${f.concurrentJson.peakAboveIdleMb.toFixed(0)} (idle ${f.concurrentJson.idleMb.toFixed(0)})`, "≤ +64 MB"),
    ],
    [`info over ${entries} entries, from the index (s)`, ...both((f) => seconds(f.infoMs), "moto ≤ 1 (fresh process)")],
    ["  store calls of one info", ...both((f) => calls(f.infoRequests))],
    ["  first info, index built from a listing (s)", ...both((f) => seconds(f.infoColdMs))],
    ["  its store calls", ...both((f) => calls(f.infoColdRequests))],
    ["  info?refresh=true: full listing, changed metas read (s)", ...both((f) => seconds(f.infoRefreshMs))],
    ["  floor: list + every meta read (s)", ...both((f) => seconds(f.infoFloorMs))],
    [`clear of ${entries} entries (s)`, ...both((f) => seconds(f.clearMs))],
    ["  its store calls", ...both((f) => calls(f.clearRequests))],
    [
      `${SIZES.smallRows}-row CSV hits, ${SIZES.loadConnections} conns (req/s)`,
      ...both((f) => f.load.requestsPerSecond.toFixed(0), "fs ≥ 1,500"),
    ],
    ["  p50 / p99 (ms)", ...both((f) => `${f.load.p50Ms.toFixed(1)} / ${f.load.p99Ms.toFixed(1)}`)],
    ["  errors", ...both((f) => String(f.load.errors), "0")],
  ];
  const floor = bundles.find((b) => b.function === "floor") as BundleFigures;
  const ratio = (value: number, of: number) => (value / of).toFixed(2);
  const bundleLines = [
    ["Lambda bundle", "minified .js (KB)", "÷ floor", "cold import (ms)", "÷ floor"],
    ...bundles.map((b) => [
      b.function === "floor" ? "floor: Hono + one S3 GetObject" : b.function,
      (b.minifiedBytes / 1024).toFixed(0),
      ratio(b.minifiedBytes, floor.minifiedBytes),
      b.coldImportMs.toFixed(0),
      ratio(b.coldImportMs, floor.coldImportMs),
    ]),
    ["target", "HTTP functions ≤ 600", "get ≤ 1.25", "", "get ≤ 1.25"],
  ];
  return `\n${markdown(lines)}\n\n${markdown(bundleLines)}\n`;
}

function readThroughTable(figures: ReadThroughFigures[]): string {
  const seconds = (ms: number) => (ms / 1000).toFixed(3);
  const of = (source: string, latencyMs: number) =>
    figures.find((f) => f.source === source && f.latencyMs === latencyMs) as ReadThroughFigures;
  const rows = [...new Set(figures.map((f) => f.latencyMs))].flatMap((latencyMs) => {
    const rest = of("rest", latencyMs);
    const archive = of("archive", latencyMs);
    return [
      [`cold, ${latencyMs} ms a round trip: time (s)`, seconds(rest.coldMs), seconds(archive.coldMs), (archive.coldMs / rest.coldMs).toFixed(2), "≤ 0.25"],
      ["  upstream requests", String(rest.coldUpstreamRequests), String(archive.coldUpstreamRequests), "", "archive ≤ 30"],
      ["  warm repeat: time (s), upstream requests", `${seconds(rest.warmMs)}, ${rest.warmUpstreamRequests}`, `${seconds(archive.warmMs)}, ${archive.warmUpstreamRequests}`, "", ""],
    ];
  });
  const first = figures[0] as ReadThroughFigures;
  return `\n${markdown([
    [`GET /api/v1/klines, BTCUSDT 1m, ${first.range}, ${mb(first.csvBytes)} MB of CSV (fs)`, "REST only", "archive", "archive ÷ REST", "target"],
    ...rows,
  ])}\n`;
}

function keptFormsTable(figures: ReadThroughFigures[]): string {
  const seconds = (ms: number) => (ms / 1000).toFixed(3);
  const rows = figures.flatMap(({ range, parquet }) =>
    parquet
      ? [[range, `${mb(parquet.bytes)} MB`, seconds(parquet.warmMs), seconds(parquet.keptReadMs), (parquet.warmMs / parquet.keptReadMs).toFixed(2), "≤ 1.5"]]
      : [],
  );
  return `\n${markdown([
    ["GET /api/v1/klines as Parquet from kept months, warm (fs)", "answer", "to last byte (s)", "one entry's kept form (s)", "÷ entry", "target"],
    ...rows,
  ])}\n`;
}

function formatsTable(figures: FormatFigures[], rows: number): string {
  const csv = figures[0] as FormatFigures;
  const target = (name: string) => (name === "Parquet" ? "bytes ≤ 0.40, table ≤ 0.30" : "");
  return `\n${markdown([
    [`One entry of ${rows} 1m rows (fs), into a table in the client`, "bytes on the wire (MB)", "÷ CSV", "download (s)", "to a table (s)", "÷ CSV", "target"],
    ...figures.map((f) => [
      f.name,
      mb(f.wireBytes),
      (f.wireBytes / csv.wireBytes).toFixed(2),
      (f.downloadMs / 1000).toFixed(3),
      (f.toTableMs / 1000).toFixed(3),
      (f.toTableMs / csv.toTableMs).toFixed(2),
      target(f.name),
    ]),
  ])}\n`;
}

function writesTable(figures: WriteFigures, rows: number): string {
  const s = (ms: number) => (ms / 1000).toFixed(2);
  const python = figures.pythonWriteMs;
  const { parquet, arrow } = figures.convertMs;
  return `\n${markdown([
    [`Writing one entry of ${rows} 1m rows (fs)`, "time (s)", "÷ floor", "floor", "target"],
    ["Parquet form, the converter (candle columns from bytes)", s(parquet.fast), (parquet.fast / parquet.general).toFixed(2), `general path ${s(parquet.general)} s`, "≤ 1.5 s"],
    ["Arrow form, the converter", s(arrow.fast), (arrow.fast / arrow.general).toFixed(2), `general path ${s(arrow.general)} s`, "≤ 1.0 s"],
    ["PUT, answered", s(figures.putMs), python === null ? "–" : (figures.putMs / python).toFixed(2), python === null ? "no pandas" : `Python write ${s(python)} s`, ""],
    ["PUT and its derived forms kept", s(figures.putAndFormsMs), python === null ? "–" : (figures.putAndFormsMs / python).toFixed(2), python === null ? "no pandas" : `Python write ${s(python)} s`, "≤ 2.5× Python"],
  ])}\n`;
}

function markdown(rows: string[][]): string {
  const widths = (rows[0] as string[]).map((_, column) => Math.max(...rows.map((row) => (row[column] ?? "").length)));
  const line = (row: string[]) => `| ${row.map((cell, column) => cell.padEnd(widths[column] as number)).join(" | ")} |`;
  const rule = `|${widths.map((width) => "-".repeat(width + 2)).join("|")}|`;
  return [line(rows[0] as string[]), rule, ...rows.slice(1).map(line)].join("\n");
}

const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(1);

function log(message: string): void {
  console.error(`[bench] ${message}`);
}

await main();
