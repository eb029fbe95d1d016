import { createHash } from "node:crypto";
import { createInflateRaw } from "node:zlib";
import { Unzip, type AsyncFlateStreamHandler, type UnzipDecoder, type UnzipDecoderConstructor, type UnzipFile } from "fflate";
import type { Deadline } from "../deadline.js";
import { UpstreamUnavailableError } from "../errors.js";
import type { Interval, MarketType } from "../market.js";
import { PRICE_KIND_SPECS, type PriceKind } from "../price-kinds.js";
import type { Kline } from "./binance.js";
import { readAtMost } from "./body.js";

export const BINANCE_ARCHIVE_URL = "https://data.binance.vision";

export interface ArchiveClientOptions {
  /** Base URL of the public archive (serves /data/spot/... and /data/futures/um/...). */
  baseUrl: string;
  /** Time limit of one file's download, body included. */
  timeoutMs?: number;
  /** The largest file read; a month of 1m candles is about 2 MB zipped. */
  maxBytes?: number;
  fetch?: typeof fetch;
}

/** One file of the archive: a calendar month of candles, or a day (for 1s, whose months are too big). */
export interface ArchivePeriod {
  kind: "monthly" | "daily";
  /** Its first instant, UTC. */
  startMs: number;
  /** The instant after it. */
  endMs: number;
  /** The most candles that can open in it: a file of more rows, or of more bytes than they can take, is rejected. */
  maxCandles: number;
}

export interface ArchiveRequest {
  deadline?: Deadline;
  /** Told of every HTTP request sent (the zip and its checksum). */
  onAttempt?: () => void;
}

/**
 * Binance's public archive (binance/binance-public-data): zipped CSVs of klines per month (and day), each beside a
 * `.CHECKSUM` file holding its sha256. They fetch; they never store. A file the archive does not have (not yet
 * published, or never) is null; one that cannot be right is an ArchiveRejectedError, and nothing of it is used.
 */
export interface BinanceArchive {
  klines(market: MarketType, symbol: string, interval: Interval, period: ArchivePeriod, request?: ArchiveRequest, price?: PriceKind): Promise<Kline[] | null>;
}

/**
 * A file of the archive that fails its checksum, is not a whole zip, inflates past what its period's candles can
 * take, or holds rows that cannot be the period's.
 */
export class ArchiveRejectedError extends Error {
  override name = "ArchiveRejectedError";
}

const DEFAULT_MAX_BYTES = 64 * 2 ** 20;
/**
 * The bytes a CSV line may take on average, generously: Binance's rows are 141-156 bytes (test/fixtures/binance,
 * with µs times), and its widest fields (8 decimals, 12-digit volumes) would make about 220. A period's file may
 * inflate to its candles (and a header row) times this: 11 MB for a month of 1m candles, 21 MB for a day of 1s.
 */
export const MAX_LINE_BYTES = 256;
/** Spot files hold microseconds from 2025 on, milliseconds before: no millisecond time of Binance's has 15 digits. */
const MICROSECONDS_FROM = 1e14;
const DECIMAL = String.raw`(-?\d+(?:\.\d+)?)`;
const INTEGER = String.raw`(\d+)`;
/** One kline row: open time, OHLCV, close time, quote volume, trades, taker volumes, the ignored field. */
const ROW = new RegExp(`^${[INTEGER, ...Array<string>(5).fill(DECIMAL), INTEGER, DECIMAL, INTEGER, DECIMAL, DECIMAL, "([^,]*)"].join(",")}$`);

/**
 * The archive's path of one file: `data/spot/monthly/klines/BTCUSDT/1m/BTCUSDT-1m-2024-01.zip` (1M is `1mo` there);
 * a futures price kind's under its folder, `data/futures/um/monthly/markPriceKlines/BTCUSDT/1m/…`.
 */
export function archivePath(market: MarketType, symbol: string, interval: Interval, period: ArchivePeriod, price: PriceKind = "trade"): string {
  const name = interval === "1M" ? "1mo" : interval;
  const date = new Date(period.startMs).toISOString();
  const stamp = period.kind === "monthly" ? date.slice(0, 7) : date.slice(0, 10);
  const root = market === "spot" ? "data/spot" : "data/futures/um";
  return `${root}/${period.kind}/${PRICE_KIND_SPECS[price].archiveFolder}/${symbol}/${name}/${symbol}-${name}-${stamp}.zip`;
}

export function createBinanceArchive(options: ArchiveClientOptions): BinanceArchive {
  const base = options.baseUrl.replace(/\/+$/, "");
  const timeoutMs = options.timeoutMs ?? 30_000;
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  const fetchFn = options.fetch ?? fetch;

  /** A file's bytes; null on 404; throws UpstreamUnavailableError when the archive cannot be reached. */
  async function download(path: string, request: ArchiveRequest): Promise<Uint8Array | null> {
    request.onAttempt?.();
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = request.deadline ? AbortSignal.any([timeout, request.deadline.signal]) : timeout;
    try {
      const response = await fetchFn(`${base}/${path}`, { signal });
      if (response.status === 404 || response.status === 403) {
        await response.body?.cancel();
        return null;
      }
      if (!response.ok) {
        await response.body?.cancel();
        throw new UpstreamUnavailableError(`The Binance archive answered HTTP ${response.status} for ${path}`);
      }
      return await readAtMost(response, maxBytes, () => new ArchiveRejectedError(`${path} is over the ${maxBytes} bytes read of one archive file`));
    } catch (error) {
      if (error instanceof ArchiveRejectedError || error instanceof UpstreamUnavailableError) throw error;
      throw new UpstreamUnavailableError(`The Binance archive could not be read (${path})`, { cause: error });
    }
  }

  return {
    async klines(market, symbol, interval, period, request = {}, price = "trade") {
      const path = archivePath(market, symbol, interval, period, price);
      const [zip, checksum] = await Promise.all([download(path, request), download(`${path}.CHECKSUM`, request)]);
      if (zip === null) return null;
      if (checksum === null) throw new ArchiveRejectedError(`${path} has no .CHECKSUM beside it: it cannot be verified`);
      const expected = /^([0-9a-f]{64})\b/i.exec(new TextDecoder().decode(checksum).trim())?.[1]?.toLowerCase();
      const actual = createHash("sha256").update(zip).digest("hex");
      if (expected !== actual) throw new ArchiveRejectedError(`${path} fails its checksum (sha256 ${actual}, .CHECKSUM says ${expected ?? "nothing readable"})`);
      return klinesOf(await unzipOne(zip, path, (period.maxCandles + 1) * MAX_LINE_BYTES), period, path);
    },
  };
}

/**
 * The one CSV file of the zip, read as it streams through fflate's zip reader, inflated by Node's zlib (native, and
 * several times faster than inflating in JavaScript); a zip cut short, empty or of more than one file is rejected,
 * and so is one whose file declares, or inflates to, more than `maxBytes` (inflating stops there: sizes can lie).
 */
function unzipOne(zip: Uint8Array, path: string, maxBytes: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let settled = false;
    let entry: UnzipFile | null = null;
    const fail = (why: string) => {
      if (settled) return;
      settled = true;
      entry?.terminate();
      reject(new ArchiveRejectedError(`${path} ${why}`));
    };
    const parts: Uint8Array[] = [];
    let inflatedBytes = 0;
    let files = 0;
    let ended = false;
    const unzip = new Unzip((file) => {
      if (++files > 1) return fail("holds more than one file");
      if ((file.originalSize ?? 0) > maxBytes) return fail(`declares ${file.originalSize} bytes inflated, over the ${maxBytes} its period's candles can take`);
      entry = file;
      file.ondata = (error, data, final) => {
        if (settled) return;
        if (error) return fail(`is not a whole zip: ${error.message}`);
        inflatedBytes += data.length;
        if (inflatedBytes > maxBytes) return fail(`inflates past ${maxBytes} bytes, more than its period's candles can take`);
        parts.push(data);
        if (!final) return;
        const csv = Buffer.concat(parts).toString("utf8");
        settled = true;
        resolve(csv);
      };
      file.start();
    });
    unzip.register(zlibInflate({ onEnd: () => (ended = true), onError: (error) => fail(`could not be read: ${error.message}`) }));
    try {
      const step = 1 << 20;
      for (let at = 0; at < zip.length; at += step) unzip.push(zip.subarray(at, at + step), at + step >= zip.length);
      if (zip.length === 0) unzip.push(new Uint8Array(0), true);
    } catch (error) {
      return fail(`is not a whole zip: ${(error as Error).message}`);
    }
    // The zip reader hands its decoder the last of a file's bytes only when they all came.
    if (files === 0) fail("holds no file");
    else if (!ended) fail("is cut short");
  });
}

/**
 * A decoder of deflated zip entries for fflate's Unzip, on Node's zlib; `onEnd` is told when its input is whole.
 * What its stream's handlers throw is handed to `onError`: thrown there, nobody could catch it and the process would
 * end.
 */
function zlibInflate(events: { onEnd: () => void; onError: (error: Error) => void }): UnzipDecoderConstructor {
  const guarded =
    <A extends unknown[]>(handler: (...args: A) => void) =>
    (...args: A) => {
      try {
        handler(...args);
      } catch (error) {
        events.onError(error instanceof Error ? error : new Error(String(error)));
      }
    };
  return class ZlibInflate implements UnzipDecoder {
    static readonly compression = 8;
    ondata: AsyncFlateStreamHandler = () => {};
    private readonly inflate = createInflateRaw();

    constructor() {
      this.inflate.on("data", guarded((chunk: Buffer) => this.ondata(null, chunk as Uint8Array<ArrayBuffer>, false)));
      this.inflate.on("end", guarded(() => this.ondata(null, new Uint8Array(0), true)));
      this.inflate.on("error", guarded((error: Error) => this.ondata(Object.assign(error, { code: 0 }), new Uint8Array(0), true)));
    }

    push(chunk: Uint8Array, final: boolean): void {
      if (this.inflate.destroyed) return;
      // A copy: the zip reader may reuse the chunk's memory once push returns.
      this.inflate.write(Buffer.from(chunk));
      if (final) {
        events.onEnd();
        this.inflate.end();
      }
    }

    terminate(): void {
      this.inflate.destroy();
    }
  };
}

/**
 * The rows of an archive CSV as REST klines: a header row, when there is one, left out; times in milliseconds,
 * whatever unit the file uses; every row inside the period and after the one before, and no more rows than the
 * period's candles, or the file is rejected.
 */
export function klinesOf(csv: string, period: ArchivePeriod, path: string): Kline[] {
  const klines: Kline[] = [];
  let previous = -Infinity;
  const lines = csv.split("\n");
  for (const [index, raw] of lines.entries()) {
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (line === "") continue;
    const fields = ROW.exec(line);
    if (!fields) {
      if (index === 0 && !/^\d/.test(line)) continue;
      throw rejected(path, index, line, "is not a kline of 12 fields");
    }
    const openMs = millisecondsOf(fields[1] as string);
    if (openMs < period.startMs || openMs >= period.endMs) throw rejected(path, index, line, "opens outside the file's period");
    if (openMs <= previous) throw rejected(path, index, line, "does not come after the line before");
    if (klines.length === period.maxCandles) throw rejected(path, index, line, `is one row more than the ${period.maxCandles} candles of the file's period`);
    previous = openMs;
    const [, , o, h, l, c, v, close, quote, trades, takerBase, takerQuote, ignore] = fields as unknown as string[];
    klines.push([openMs, o, h, l, c, v, millisecondsOf(close as string), quote, Number(trades), takerBase, takerQuote, ignore || "0"] as Kline);
  }
  return klines;
}

function millisecondsOf(time: string): number {
  const value = Number(time);
  return value >= MICROSECONDS_FROM ? Math.floor(value / 1000) : value;
}

function rejected(path: string, index: number, line: string, why: string): ArchiveRejectedError {
  return new ArchiveRejectedError(`${path} line ${index + 1} ${why}: ${JSON.stringify(line.slice(0, 80))}`);
}
