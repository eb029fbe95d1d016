import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { freePort } from "../../dev/ports.js";
import { parseMeta } from "../../src/cache/entries/meta.js";
import { csvKeyOf, metaKeyOf } from "../../src/cache/entries/objects.js";
import type { Clock } from "../../src/clock.js";
import type { SuccessEnvelope } from "../../src/http/envelope.js";
import type { Metrics } from "../../src/http/metrics-format.js";
import type { MarketType } from "../../src/market.js";
import type { ObjectStore } from "../../src/storage/types.js";
import { testApp, type TestAppOptions } from "../support/app.js";
import { startBinanceStandIn, type BinanceStandIn } from "../support/binance-standin.js";
import { tempDir } from "../support/fixtures.js";
import { jsonOf } from "../support/json.js";

const NOW = "2026-11-25T12:00:30.000Z";
/** Exchange maintenance: neither REST nor the archive has a candle in it. No other month of these tests is near it. */
const MAINTENANCE = { fromMs: Date.parse("2023-06-10T03:00:00Z"), toMs: Date.parse("2023-06-10T05:00:00Z") };
const KLINES = ["/api/v3/klines", "/fapi/v1/klines"];

let standIn: BinanceStandIn;
let clock: Clock | null = null;

beforeAll(async () => {
  standIn = await startBinanceStandIn({
    now: () => (clock ? clock.now().getTime() : Date.parse(NOW)),
    archiveMissing: ["ETHUSDT-1m-2024-04"],
    delistedAt: { OLDUSDT: Date.parse("2024-06-20T00:00:00Z") },
    maintenance: [MAINTENANCE],
  });
});
afterAll(() => standIn.close());
beforeEach(() => standIn.reset());

/** The app on a fresh folder, on the stand-in's REST API and, unless `archive` is false, its archive. */
function build(options: TestAppOptions & { archive?: boolean } = {}) {
  const built = testApp({ binanceUrl: standIn.url, archiveUrl: options.archive === false ? undefined : standIn.url, now: NOW, ...options });
  clock = built.clock;
  return built;
}

type Query = { symbol: string; interval: string; start_date: string; end_date: string; market_type?: string };
const klinesUrl = (query: Query) => `/api/v1/klines?${new URLSearchParams({ format: "csv", ...query })}`;
const restCalls = () => standIn.served.filter((call) => KLINES.includes(call.path)).length;
const archiveCalls = () => standIn.served.filter((call) => call.path.startsWith("/data/")).map((call) => call.path);
const month = (symbol: string, start: string, end: string, market: MarketType = "spot") =>
  ({ symbol, interval: "1m" as const, start_date: start, end_date: end, market_type: market, folder: "partitions" });
const stored = async (store: ObjectStore, id: ReturnType<typeof month>) => ({
  csv: Buffer.from((await store.get(csvKeyOf(id))) ?? []).toString(),
  meta: parseMeta((await store.get(metaKeyOf(id))) ?? new Uint8Array()),
});

describe("cold history from Binance's public archive", () => {
  it("takes a past month of 1m candles from one zip and its checksum, not 45 pages, and stores the same bytes as REST", async () => {
    const withArchive = build();
    const query = { symbol: "BTCUSDT", interval: "1m", start_date: "2024-01-01", end_date: "2024-02-29" };

    const res = await withArchive.app.request(klinesUrl(query));

    expect(res.status).toBe(200);
    expect(res.headers.get("X-Archive-Files")).toBe("2");
    expect(res.headers.get("X-Upstream-Requests")).toBe("4");
    expect(restCalls()).toBe(0);
    expect(archiveCalls().sort()).toEqual([
      "/data/spot/monthly/klines/BTCUSDT/1m/BTCUSDT-1m-2024-01.zip",
      "/data/spot/monthly/klines/BTCUSDT/1m/BTCUSDT-1m-2024-01.zip.CHECKSUM",
      "/data/spot/monthly/klines/BTCUSDT/1m/BTCUSDT-1m-2024-02.zip",
      "/data/spot/monthly/klines/BTCUSDT/1m/BTCUSDT-1m-2024-02.zip.CHECKSUM",
    ]);
    const body = await res.text();

    standIn.reset();
    const restOnly = build({ archive: false });
    const rest = await restOnly.app.request(klinesUrl(query));
    expect(await rest.text()).toBe(body);
    expect(restCalls()).toBe(45 + 42);
    // February's file has a header row, January's none: both store the bytes REST does.
    for (const [start, end] of [["2024-01-01", "2024-01-31"], ["2024-02-01", "2024-02-29"]] as const) {
      const fromArchive = await stored(withArchive.store, month("BTCUSDT", start, end));
      const fromRest = await stored(restOnly.store, month("BTCUSDT", start, end));
      expect(fromArchive.csv).toBe(fromRest.csv);
      expect(fromArchive.meta).toMatchObject({ complete: true, rows: fromRest.meta?.rows, csv_sha256: fromRest.meta?.csv_sha256 });
    }
  });

  it("reads the microseconds of spot files from 2025 on as the milliseconds REST gives", async () => {
    const withArchive = build();
    const query = { symbol: "SOLUSDT", interval: "1m", start_date: "2025-03-01", end_date: "2025-03-31" };
    const fromArchive = await (await withArchive.app.request(klinesUrl(query))).text();
    expect(archiveCalls()).toHaveLength(2);
    standIn.reset();
    const fromRest = await (await build({ archive: false }).app.request(klinesUrl(query))).text();
    expect(fromArchive).toBe(fromRest);
    expect(fromArchive.split("\n")[1]).toMatch(/^2025-03-01 00:00:00,[\d.]+,[\d.]+,[\d.]+,[\d.]+,[\d.]+,1740787259999,/);
  });

  it("takes futures months from data/futures/um", async () => {
    const { app } = build();
    const res = await app.request(klinesUrl({ symbol: "BTCUSDT", interval: "1m", start_date: "2024-05-01", end_date: "2024-05-31", market_type: "futures" }));
    expect(res.status).toBe(200);
    expect(archiveCalls()[0]).toMatch(/^\/data\/futures\/um\/monthly\/klines\/BTCUSDT\/1m\/BTCUSDT-1m-2024-05\.zip/);
    expect(restCalls()).toBe(0);
  });

  it.each([
    ["a checksum that does not match", "bad_checksum"],
    ["a zip cut short", "truncated"],
    ["rows outside the month", "shifted"],
  ] as const)("rejects a month with %s whole, logs it, and fetches it by REST: nothing of it is stored", async (_, fault) => {
    const { app, store, logs } = build();
    standIn.set({ archiveFaults: { "ADAUSDT-1m-2024-03": fault } });
    const query = { symbol: "ADAUSDT", interval: "1m", start_date: "2024-03-01", end_date: "2024-03-31" };

    const res = await app.request(klinesUrl(query));

    expect(res.status).toBe(200);
    expect(res.headers.get("X-Archive-Files")).toBe("0");
    expect(restCalls()).toBe(45);
    expect(logs.find((line) => line.event === "klines_archive_rejected")).toMatchObject({ partition: { start_date: "2024-03-01" } });
    standIn.reset();
    const restOnly = build({ archive: false });
    await restOnly.app.request(klinesUrl(query));
    expect((await stored(store, month("ADAUSDT", "2024-03-01", "2024-03-31"))).csv).toBe(
      (await stored(restOnly.store, month("ADAUSDT", "2024-03-01", "2024-03-31"))).csv,
    );
  });

  it("fetches by REST a month the archive does not have, and the current month, which it cannot have yet", async () => {
    const { app } = build();

    const missing = await app.request(klinesUrl({ symbol: "ETHUSDT", interval: "1m", start_date: "2024-04-01", end_date: "2024-04-30" }));
    expect(missing.headers.get("X-Archive-Files")).toBe("0");
    expect(restCalls()).toBe(44);

    standIn.reset();
    await app.request(klinesUrl({ symbol: "ETHUSDT", interval: "1m", start_date: "2026-11-24", end_date: "2026-11-25" }));
    expect(archiveCalls()).toEqual([]);
  });

  it("leaves to REST what a page or two can fetch: a month of 1h candles is one request, not two", async () => {
    const { app } = build();
    await app.request(klinesUrl({ symbol: "BTCUSDT", interval: "1h", start_date: "2024-01-01", end_date: "2024-01-31" }));
    expect(archiveCalls()).toEqual([]);
    expect(restCalls()).toBe(1);
  });

  it("fills by REST only what the archive lacks: after a symbol's last candle, it proves the month ended", async () => {
    const { app, store } = build();

    const res = await app.request(klinesUrl({ symbol: "OLDUSDT", interval: "1m", start_date: "2024-06-01", end_date: "2024-06-30" }));

    expect(res.status).toBe(200);
    expect(res.headers.get("X-Archive-Files")).toBe("1");
    // The archive ends on June 19: where is the next candle (none), and the latest one (before it).
    expect(restCalls()).toBe(2);
    expect((await stored(store, month("OLDUSDT", "2024-06-01", "2024-06-30"))).meta).toMatchObject({ complete: true, rows: 19 * 1440 });
  });

  it("fetches by REST, as without it, when the archive cannot be reached, and counts what it used and missed", async () => {
    const { app } = build({ archiveUrl: "http://127.0.0.1:9" });
    const res = await app.request(klinesUrl({ symbol: "XRPUSDT", interval: "1m", start_date: "2024-07-01", end_date: "2024-07-31" }));
    expect(res.status).toBe(200);
    expect(restCalls()).toBe(45);

    const counted = build();
    await counted.app.request(klinesUrl({ symbol: "XRPUSDT", interval: "1m", start_date: "2024-03-01", end_date: "2024-04-30" }));
    await counted.app.request(klinesUrl({ symbol: "ETHUSDT", interval: "1m", start_date: "2024-04-01", end_date: "2024-04-30" }));
    const metrics = (await jsonOf<SuccessEnvelope<Metrics>>(await counted.app.request("/api/v1/metrics"))).data;
    expect(metrics.klines_archive.spot).toEqual({ hit: 2, miss: 1, failure: 0, incomplete: 0 });
  });
});

describe("a hole inside an archive file is final only on REST's word", () => {
  const utc = (text: string) => Date.parse(`${text}Z`);
  const restQueries = () => standIn.served.filter((call) => KLINES.includes(call.path)).map((call) => call.query);

  it("asks REST for ten minutes missing in the middle of a month, in one request, and stores the month whole", async () => {
    const { app, store, logs } = build();
    const hole = { fromMs: utc("2024-05-15T12:00:00"), toMs: utc("2024-05-15T12:10:00") };
    standIn.set({ archiveHoles: { "LINKUSDT-1m-2024-05": [hole] } });
    const query = { symbol: "LINKUSDT", interval: "1m", start_date: "2024-05-01", end_date: "2024-05-31" };

    const res = await app.request(klinesUrl(query));

    expect(res.status).toBe(200);
    expect(res.headers.get("X-Archive-Files")).toBe("1");
    expect(res.headers.get("X-Archive-Incomplete")).toBe("1");
    expect(res.headers.get("X-Gaps")).toBe("0");
    expect(restQueries()).toEqual([
      { symbol: "LINKUSDT", interval: "1m", startTime: String(hole.fromMs), endTime: String(hole.toMs - 1), limit: "1000" },
    ]);
    const kept = await stored(store, month("LINKUSDT", "2024-05-01", "2024-05-31"));
    expect(kept.meta).toMatchObject({ complete: true, rows: 31 * 1440, gaps: [] });
    expect(logs.find((line) => line.event === "klines_archive_incomplete")).toMatchObject({
      file: "data/spot/monthly/klines/LINKUSDT/1m/LINKUSDT-1m-2024-05.zip",
      holes: [{ from: "2024-05-15T12:00:00.000Z", to: "2024-05-15T12:10:00.000Z", missing: 10 }],
    });
    standIn.reset();
    const restOnly = build({ archive: false });
    await restOnly.app.request(klinesUrl(query));
    expect(kept.csv).toBe((await stored(restOnly.store, month("LINKUSDT", "2024-05-01", "2024-05-31"))).csv);
  });

  it("asks REST for a first day the file lacks when the symbol traded before, a page at a time, and counts the file", async () => {
    const { app, store } = build();
    standIn.set({ archiveHoles: { "UNIUSDT-1m-2024-05": [{ fromMs: utc("2024-05-01T00:00:00"), toMs: utc("2024-05-02T00:00:00") }] } });

    const res = await app.request(klinesUrl({ symbol: "UNIUSDT", interval: "1m", start_date: "2024-05-01", end_date: "2024-05-31" }));

    expect(res.status).toBe(200);
    expect(res.headers.get("X-Archive-Incomplete")).toBe("1");
    // The symbol's first candle ever (it traded before May), then the day's 1,440 candles in two pages.
    expect(restQueries().map(({ startTime, endTime, limit }) => ({ startTime, endTime, limit }))).toEqual([
      { startTime: "0", endTime: undefined, limit: "1" },
      { startTime: String(utc("2024-05-01T00:00:00")), endTime: String(utc("2024-05-02T00:00:00") - 1), limit: "1000" },
      { startTime: String(utc("2024-05-01T16:39:00") + 1), endTime: String(utc("2024-05-02T00:00:00") - 1), limit: "1000" },
    ]);
    expect((await stored(store, month("UNIUSDT", "2024-05-01", "2024-05-31"))).meta).toMatchObject({ complete: true, rows: 31 * 1440, gaps: [] });
    const metrics = (await jsonOf<SuccessEnvelope<Metrics>>(await app.request("/api/v1/metrics"))).data;
    expect(metrics.counters["metrics:archive_incomplete:klines_spot"]).toBe(1);
    expect(metrics.klines_archive.spot.incomplete).toBe(1);
  });

  it("takes REST's word for a hole it lacks too: one request, and the gap is final", async () => {
    const { app, store } = build();

    const res = await app.request(klinesUrl({ symbol: "BTCUSDT", interval: "1m", start_date: "2023-06-01", end_date: "2023-06-30" }));

    expect(res.status).toBe(200);
    expect(res.headers.get("X-Archive-Incomplete")).toBe("1");
    expect(restQueries()).toEqual([
      { symbol: "BTCUSDT", interval: "1m", startTime: String(MAINTENANCE.fromMs), endTime: String(MAINTENANCE.toMs - 1), limit: "1000" },
    ]);
    expect((await stored(store, month("BTCUSDT", "2023-06-01", "2023-06-30"))).meta).toMatchObject({
      complete: true,
      rows: 30 * 1440 - 120,
      gaps: [["2023-06-10 03:00:00", "2023-06-10 05:00:00"]],
    });
  });
});

describe("no archive file can crash or exhaust the service", () => {
  it.each([
    ["declaring its size", "bomb"],
    ["declaring a small file's size", "bomb_lying"],
  ] as const)("rejects a zip bomb %s with a matching checksum, and fetches the month by REST", async (_, fault) => {
    const { app, store, logs } = build();
    standIn.set({ archiveFaults: { "DOTUSDT-1m-2024-03": fault } });
    const query = { symbol: "DOTUSDT", interval: "1m", start_date: "2024-03-01", end_date: "2024-03-31" };

    const res = await app.request(klinesUrl(query));

    expect(res.status).toBe(200);
    expect(res.headers.get("X-Archive-Files")).toBe("0");
    expect(restCalls()).toBe(45);
    expect(logs.find((line) => line.event === "klines_archive_rejected")).toMatchObject({ partition: { start_date: "2024-03-01" } });
    expect((await stored(store, month("DOTUSDT", "2024-03-01", "2024-03-31"))).meta).toMatchObject({ complete: true, rows: 31 * 1440 });
  });
});

/** Resolves once the child has printed `text`; rejects if it exits first. */
function printed(child: ChildProcess, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let output = "";
    const read = (chunk: Buffer) => {
      output += String(chunk);
      if (output.includes(text)) resolve(output);
    };
    child.stdout?.on("data", read);
    child.stderr?.on("data", read);
    child.once("exit", (code) => reject(new Error(`exited (${code}) before printing "${text}":\n${output}`)));
  });
}

/** A process's resident memory now and its high-water mark, in MB (Linux: /proc/<pid>/status). */
function memoryOf(pid: number): { rssMb: number; peakMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const mb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1]) / 1024;
  return { rssMb: mb("VmRSS"), peakMb: mb("VmHWM") };
}

describe("a zip bomb against the local server, in a process of its own", () => {
  it("leaves the server up, its memory within +300 MB of idle, and the month from REST", { timeout: 120_000 }, async () => {
    build();
    standIn.set({ archiveFaults: { "DOTUSDT-1m-2024-04": "bomb", "DOTUSDT-1m-2024-05": "bomb_lying" } });
    const port = await freePort();
    const server = spawn(process.execPath, ["--import", "tsx", "src/local/server.ts"], {
      cwd: join(import.meta.dirname, "..", ".."),
      env: {
        ...process.env,
        PORT: String(port),
        CACHE_DIR: tempDir(),
        CACHE_API_TOKEN: "",
        LOG_LEVEL: "warn",
        BINANCE_SPOT_URL: standIn.url,
        BINANCE_FUTURES_URL: standIn.url,
        BINANCE_ARCHIVE_URL: standIn.url,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const exited = new Promise((resolve) => server.once("exit", resolve));
    try {
      await printed(server, "listening on");
      const idle = memoryOf(server.pid as number);
      for (const [start, end] of [["2024-04-01", "2024-04-30"], ["2024-05-01", "2024-05-31"]] as const) {
        const res = await fetch(`http://127.0.0.1:${port}${klinesUrl({ symbol: "DOTUSDT", interval: "1m", start_date: start, end_date: end })}`);
        expect(res.status).toBe(200);
        expect(res.headers.get("X-Archive-Files")).toBe("0");
        await res.arrayBuffer();
      }
      const after = memoryOf(server.pid as number);
      console.log(`zip bombs against the local server: idle ${idle.rssMb.toFixed(0)} MB resident (peak ${idle.peakMb.toFixed(0)} MB), peak after ${after.peakMb.toFixed(0)} MB`);
      expect(after.peakMb - idle.rssMb).toBeLessThan(300);
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
      expect(server.exitCode).toBeNull();
    } finally {
      server.kill("SIGTERM");
      await exited;
    }
  });
});
