import { createHash } from "node:crypto";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as delay } from "node:timers/promises";
import { constants as zlibConstants, deflateRawSync } from "node:zlib";
import { serve } from "@hono/node-server";
import { zipSync } from "fflate";
import { Hono, type Context } from "hono";
import futuresFixture from "../fixtures/binance/futures_exchange_info.json" with { type: "json" };
import spotFixture from "../fixtures/binance/spot_exchange_info.json" with { type: "json" };

/**
 * A loopback stand-in for Binance's public REST API: exchangeInfo and klines, spot (/api/v3) and USD-M futures
 * (/fapi/v1), on one URL; for USD-M futures also the price kinds' klines (markPriceKlines, indexPriceKlines by `pair`,
 * premiumIndexKlines) and the funding rate history (fundingRate), and the public archive's files of all of them.
 * Failure modes are switched on at run time; each applies to the next `count` requests (any path; Infinity for "from
 * now on") and counts down as it is used. With `after`, the first `after` requests that reach the switch pass, so a
 * failure can strike in the middle of a paging run.
 */
export interface StandInSwitches {
  /** Answer 429 with Retry-After: `retryAfterSeconds`. */
  rateLimited?: { count: number; retryAfterSeconds: number; after?: number };
  /** Answer 418 (IP banned) with Retry-After: `retryAfterSeconds`. */
  banned?: { count: number; retryAfterSeconds: number; after?: number };
  /** Answer 500. */
  serverError?: { count: number; after?: number };
  /** Wait `delayMs` before answering (whatever the answer). */
  slow?: { count: number; delayMs: number; after?: number };
  /** exchangeInfo lists no symbols. */
  emptySymbols?: { count: number };
  /** Answer 200 with `body` (default: an HTML error page) instead of JSON. */
  garbage?: { count: number; body?: string };
  /**
   * Pages only (klines of every kind: trade, mark, index, premium index; and fundingRate): answer `200 []`, as
   * Binance does on a bad day, whatever exists.
   */
  emptyPages?: { count: number; after?: number };
  /** Pages only (as emptyPages): answer only the first `keep` rows of the page (a short page inside the symbol's life). */
  shortPages?: { count: number; keep: number; after?: number };
  /** Pages only (as emptyPages): answer the page of the first startTime seen while on, whatever startTime says (a stuck cursor). */
  stuckCursor?: { count: number };
  /**
   * Pages only (as emptyPages): a page asked from before `fromMs` leaves out the candles opening (the funding records
   * falling) in [fromMs, toMs) and goes on with the next ones, as if they did not exist (a hole inside one page); a
   * request that starts inside the stretch, as a narrow one does, answers them. Counts down only on the pages it holed.
   */
  holedPages?: { count: number; fromMs: number; toMs: number };
  /**
   * Archive files that are wrong at the source, by name without extension (`BTCUSDT-1m-2024-03` for trade klines,
   * spot's and futures' alike; the other kinds prefixed by their folder, so that no name collides with a trade file's:
   * `markPriceKlines/BTCUSDT-1m-2024-03`, `indexPriceKlines/BTCUSDT-1m-2024-03` (the pair's),
   * `premiumIndexKlines/BTCUSDT-1m-2024-03`, `fundingRate/BTCUSDT-fundingRate-2024-03`): a .CHECKSUM that
   * is not the zip's; a zip cut in half (its .CHECKSUM is of the cut zip); rows a month late (outside the file's);
   * a zip bomb, one entry inflating to 600 MB, its sizes declared (`bomb`) or declared as a small file's
   * (`bomb_lying`). Bombs carry a matching .CHECKSUM, as every fault but `bad_checksum` does.
   */
  archiveFaults?: Record<string, "bad_checksum" | "truncated" | "shifted" | "bomb" | "bomb_lying">;
  /**
   * Archive files that miss candles REST has, by name without extension as for archiveFaults: no row opens (no funding
   * record falls) in these [fromMs, toMs) windows. Their .CHECKSUM is of the holed zip: Binance's own files do this
   * (binance-public-data #253, #297, #403).
   */
  archiveHoles?: Record<string, { fromMs: number; toMs: number }[]>;
  /** Archive: 503 for every file. */
  archiveDown?: { count: number };
}

export interface StandInOptions {
  /** "Now" in epoch ms: no kline opens after it; the one open at it is still forming (its close_time is ahead). */
  now?: () => number;
  /**
   * Listing dates: per symbol, the open time of its first kline (epoch ms); none before it, of any kind (index klines
   * go by their pair, which for USD-M perpetuals is the symbol), and no funding record before it.
   */
  listedAt?: Record<string, number>;
  /** Exchange maintenance: no kline of any symbol or kind opens in these [fromMs, toMs) windows (funding goes on). */
  maintenance?: { fromMs: number; toMs: number }[];
  /** Symbols Binance does not list: their klines of every kind and their funding rates answer 400, code -1121. */
  unknownSymbols?: string[];
  /** Symbols that stopped trading: no kline of any kind opens, no funding record falls, at or after this time (epoch ms). */
  delistedAt?: Record<string, number>;
  /** Archive files answered 404, by name without extension as for archiveFaults (`BTCUSDT-1m-2024-03`, `fundingRate/…`). */
  archiveMissing?: string[];
  /**
   * Funding cadence per symbol: from each `fromMs` on (until the next one), a funding record every `hours` hours, at
   * the multiples of `hours` hours since the epoch (00:00 UTC and every `hours` after, for divisors of 24). Before the
   * first `fromMs`, and for symbols not given, every 8 hours: 00:00, 08:00 and 16:00 UTC.
   */
  fundingCadence?: Record<string, { fromMs: number; hours: number }[]>;
  /** Every answer, REST's and the archive's, waits this long first: a network round trip (loopback has none). */
  latencyMs?: number;
}

/** One request as served: its path and query parameters. */
export interface ServedRequest {
  path: string;
  query: Record<string, string>;
}

export interface BinanceStandIn {
  /** Base URL for both markets, e.g. http://127.0.0.1:40123 (no trailing slash). */
  url: string;
  /** Requests served per path since start or reset(), failures included. Live: read it after the act. */
  requests: Record<string, number>;
  /** Every request served since start or reset(), in order, failures included. Live, like `requests`. */
  served: ServedRequest[];
  /** Turns switches on (merged into the ones already on). */
  set(switches: StandInSwitches): void;
  /** Switches off, request counts and used weights back to zero. */
  reset(): void;
  close(): Promise<void>;
}

/**
 * The USD-M klines of a price rather than of trades: mark price (/fapi/v1/markPriceKlines), index price of a pair
 * (/fapi/v1/indexPriceKlines) and premium index (/fapi/v1/premiumIndexKlines).
 */
export type PriceKlineKind = "mark" | "index" | "premium";

/**
 * A row of the price kinds' klines, as Binance's USD-M docs give it: open time, open, high, low, close, "0", close
 * time, "0", the number of basic data (a number), "0", "0", "0".
 */
export type PriceKlineRow = [number, string, string, string, string, "0", number, "0", number, "0", "0", "0"];

/** A funding rate record of GET /fapi/v1/fundingRate, its keys in the order Binance sends them. */
export interface FundingRecord {
  symbol: string;
  fundingTime: number;
  fundingRate: string;
  markPrice: string;
}

type Api = "spot" | "futures";
type CandleKind = "trade" | PriceKlineKind;
type SymbolRow = [symbol: string, baseAsset: string, quoteAsset: string, status: string, contractType?: string];

/**
 * Served beside the fixture's own symbols (shaped like its first symbol) so filtering and ordering have something
 * to bite on: other quotes, statuses and contract types, priority assets out of order, a digit-led symbol.
 */
const SPOT_EXTRA_SYMBOLS: SymbolRow[] = [
  ["XRPUSDT", "XRP", "USDT", "TRADING"],
  ["SOLUSDT", "SOL", "USDT", "TRADING"],
  ["AAVEUSDT", "AAVE", "USDT", "TRADING"],
  ["UNIUSDT", "UNI", "USDT", "TRADING"],
  ["LINKUSDT", "LINK", "USDT", "TRADING"],
  ["BNBUSDT", "BNB", "USDT", "TRADING"],
  ["1INCHUSDT", "1INCH", "USDT", "TRADING"],
  ["ETHBTC", "ETH", "BTC", "TRADING"],
  ["LUNAUSDT", "LUNA", "USDT", "BREAK"],
  ["MATICUSDT", "MATIC", "USDT", "TRADING"],
  ["DOTUSDT", "DOT", "USDT", "TRADING"],
  ["AVAXUSDT", "AVAX", "USDT", "TRADING"],
  ["ADAUSDT", "ADA", "USDT", "TRADING"],
];
const FUTURES_EXTRA_SYMBOLS: SymbolRow[] = [
  ["XRPUSDT", "XRP", "USDT", "TRADING", "PERPETUAL"],
  ["LINKUSDT", "LINK", "USDT", "TRADING", "PERPETUAL"],
  ["SOLUSDT", "SOL", "USDT", "TRADING", "PERPETUAL"],
  ["UNIUSDT", "UNI", "USDT", "TRADING", "PERPETUAL"],
  ["ETHUSDT_220325", "ETH", "USDT", "TRADING", "CURRENT_QUARTER"],
  ["1000SHIBUSDT", "1000SHIB", "USDT", "TRADING", "PERPETUAL"],
  ["BNBUSDT", "BNB", "USDT", "TRADING", "PERPETUAL"],
  ["ETHBUSD", "ETH", "BUSD", "TRADING", "PERPETUAL"],
  ["LUNAUSDT", "LUNA", "USDT", "SETTLING", "PERPETUAL"],
  ["BTCUSDT_220624", "BTC", "USDT", "TRADING", "NEXT_QUARTER"],
];

const EXCHANGE_INFO: Record<Api, { symbols: unknown[] }> = {
  spot: withSymbols(spotFixture, SPOT_EXTRA_SYMBOLS),
  futures: withSymbols(futuresFixture, FUTURES_EXTRA_SYMBOLS),
};

/** Weights as Binance counts them (docs of each endpoint); futures klines by limit. */
const EXCHANGE_INFO_WEIGHT: Record<Api, number> = { spot: 20, futures: 1 };
const KLINES_MAX_LIMIT: Record<Api, number> = { spot: 1000, futures: 1500 };
const KLINES_DEFAULT_LIMIT = 500;
/** GET /fapi/v1/fundingRate: "Default 100; max 1000" (USD-M docs, Get Funding Rate History). */
const FUNDING_DEFAULT_LIMIT = 100;
const FUNDING_MAX_LIMIT = 1000;
/** The USD-M klines of a price, not of trades: paths ending so weigh by limit as /fapi/v1/klines does. */
const PRICE_KLINES_PATH = /\/(markPriceKlines|indexPriceKlines|premiumIndexKlines)$/;

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
const INTERVAL_MS: Record<string, number> = {
  "1s": 1000,
  "1m": MINUTE_MS,
  "3m": 3 * MINUTE_MS,
  "5m": 5 * MINUTE_MS,
  "15m": 15 * MINUTE_MS,
  "30m": 30 * MINUTE_MS,
  "1h": 60 * MINUTE_MS,
  "2h": 120 * MINUTE_MS,
  "4h": 240 * MINUTE_MS,
  "6h": 360 * MINUTE_MS,
  "8h": 480 * MINUTE_MS,
  "12h": 720 * MINUTE_MS,
  "1d": DAY_MS,
  "3d": 3 * DAY_MS,
  "1w": 7 * DAY_MS,
};
/** Weekly candles open on Mondays; the epoch was a Thursday. */
const WEEK_OFFSET_MS = 4 * DAY_MS;
const MONTH = "1M";

export async function startBinanceStandIn(options: StandInOptions = {}): Promise<BinanceStandIn> {
  const now = options.now ?? Date.now;
  const requests: Record<string, number> = {};
  const served: ServedRequest[] = [];
  const history: KlineHistory = {
    listedAt: options.listedAt ?? {},
    maintenance: options.maintenance ?? [],
    unknownSymbols: options.unknownSymbols ?? [],
    delistedAt: options.delistedAt ?? {},
  };
  const fundingSegments = (symbol: string) => cadenceSegments(options.fundingCadence?.[symbol]);
  const usedWeight: Record<Api, number> = { spot: 0, futures: 0 };
  let switches: StandInSwitches = {};
  let stuckAt: string | null = null;
  const zips = new Map<string, Uint8Array>();

  /** True when switch `name` is on; uses up one of its answers. */
  function take<K extends Exclude<keyof StandInSwitches, "archiveFaults" | "archiveHoles" | "holedPages">>(name: K): NonNullable<StandInSwitches[K]> | null {
    const value = switches[name];
    if (!value || value.count <= 0) return null;
    if ("after" in value && (value.after ?? 0) > 0) {
      value.after = (value.after as number) - 1;
      return null;
    }
    value.count -= 1;
    return value;
  }

  const app = new Hono();

  app.use("*", async (c, next) => {
    const path = c.req.path;
    requests[path] = (requests[path] ?? 0) + 1;
    served.push({ path, query: c.req.query() });
    const api: Api = path.startsWith("/fapi/") ? "futures" : "spot";
    usedWeight[api] += weightOf(api, path, c.req.query("limit"));
    c.header("X-MBX-USED-WEIGHT-1M", String(usedWeight[api]));
    // The exchange's own clock, as Binance's answers carry it (HTTP dates have whole seconds).
    c.header("Date", new Date(now()).toUTCString());

    if (options.latencyMs) await delay(options.latencyMs, undefined, { ref: false });
    const slow = take("slow");
    if (slow) await delay(slow.delayMs, undefined, { ref: false });
    const banned = take("banned");
    if (banned) {
      c.header("Retry-After", String(banned.retryAfterSeconds));
      return c.json({ code: -1003, msg: `Way too many requests; IP banned until ${now() + banned.retryAfterSeconds * 1000}.` }, 418);
    }
    const rateLimited = take("rateLimited");
    if (rateLimited) {
      c.header("Retry-After", String(rateLimited.retryAfterSeconds));
      return c.json({ code: -1003, msg: "Too many requests; current limit of IP is 6000 requests per minute." }, 429);
    }
    if (take("serverError")) return c.json({ code: -1000, msg: "An unknown error occurred while processing the request." }, 500);
    const garbage = take("garbage");
    if (garbage) return c.body(garbage.body ?? "<html><body><h1>502 Bad Gateway</h1></body></html>", 200, { "content-type": "text/html" });
    await next();
  });

  const exchangeInfo = (api: Api) => (c: Context) =>
    c.json(take("emptySymbols") ? { ...EXCHANGE_INFO[api], symbols: [] } : EXCHANGE_INFO[api]);
  /**
   * A page of rows (klines of any kind, funding records) as the paging switches leave it: emptyPages, stuckCursor,
   * holedPages (`hole`, for `answer` to leave out), shortPages. `timeOf` is a row's time (a kline's open).
   */
  const paged =
    <Row>(
      answer: (params: URLSearchParams, hole: { fromMs: number; toMs: number } | null) => { rows: Row[] } | { error: BinanceError },
      timeOf: (row: Row) => number,
    ) =>
    (c: Context) => {
      if (take("emptyPages")) return c.json([]);
      const params = new URL(c.req.url).searchParams;
      if (take("stuckCursor")) {
        stuckAt ??= params.get("startTime");
        if (stuckAt !== null) params.set("startTime", stuckAt);
      }
      const holed = switches.holedPages;
      const hole = holed && holed.count > 0 && Number(params.get("startTime") ?? -Infinity) < holed.fromMs ? holed : null;
      const result = answer(params, hole);
      if ("error" in result) return c.json(result.error, 400);
      if (hole && result.rows.some((row) => timeOf(row) >= hole.toMs)) hole.count -= 1;
      const short = take("shortPages");
      return c.json((short ? result.rows.slice(0, short.keep) : result.rows) as unknown[]);
    };
  const klines = (api: Api, kind: CandleKind = "trade") =>
    paged(
      (params, hole) => klinesAnswer(api, params, now(), hole ? { ...history, maintenance: [...history.maintenance, hole] } : history, kind),
      ([open]: KlineRow) => open,
    );
  app.get("/api/v3/exchangeInfo", exchangeInfo("spot"));
  app.get("/fapi/v1/exchangeInfo", exchangeInfo("futures"));
  app.get("/api/v3/klines", klines("spot"));
  app.get("/fapi/v1/klines", klines("futures"));
  app.get("/fapi/v1/markPriceKlines", klines("futures", "mark"));
  app.get("/fapi/v1/indexPriceKlines", klines("futures", "index"));
  app.get("/fapi/v1/premiumIndexKlines", klines("futures", "premium"));
  app.get(
    "/fapi/v1/fundingRate",
    paged(
      (params, hole) => fundingAnswer(params, now(), history, fundingSegments, hole ? [hole] : []),
      (record: FundingRecord) => record.fundingTime,
    ),
  );
  // The public archive (data.binance.vision): a zip per month (per day for daily files) and its .CHECKSUM.
  app.get("/data/*", (c) => {
    if (take("archiveDown")) return c.text("Service Unavailable", 503);
    const file = archiveFileOf(c.req.path, now());
    if (!file || (options.archiveMissing ?? []).includes(file.stem)) return c.text("Not Found", 404);
    const fault = switches.archiveFaults?.[file.stem];
    const holes = switches.archiveHoles?.[file.stem] ?? [];
    // A file is made once (a month of 1m candles takes seconds): its zip and its checksum ask for the same bytes.
    const made = JSON.stringify([file.stem, file.spot, fault ?? null, holes]);
    const whole =
      zips.get(made) ??
      (fault === "bomb" || fault === "bomb_lying"
        ? zipBomb(`${file.name}.csv`, 600, fault === "bomb_lying")
        : file.kind === "fundingRate"
          ? fundingZip(file, history, fundingSegments(file.symbol), holes, now(), fault === "shifted")
          : archiveZip(file, { ...history, maintenance: [...history.maintenance, ...holes] }, now(), fault === "shifted"));
    zips.set(made, whole);
    const zip = fault === "truncated" ? whole.slice(0, Math.floor(whole.length / 2)) : whole.slice();
    if (file.checksum) {
      const sha256 = createHash("sha256").update(zip).digest("hex");
      const written = fault === "bad_checksum" ? sha256.replace(/^./, (first) => (first === "0" ? "1" : "0")) : sha256;
      return c.text(`${written}  ${file.name}.zip\n`);
    }
    return c.body(zip, 200, { "content-type": "application/zip" });
  });
  app.notFound((c) => c.json({ code: -1000, msg: `The stand-in does not serve ${c.req.path}` }, 404));

  const { server, port } = await new Promise<{ server: Server; port: number }>((resolve) => {
    const server = serve({ fetch: app.fetch, hostname: "127.0.0.1", port: 0 }, (info: AddressInfo) =>
      resolve({ server, port: info.port }),
    ) as Server;
  });

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    served,
    set(more) {
      switches = { ...switches, ...structuredClone(more) };
    },
    reset() {
      switches = {};
      stuckAt = null;
      for (const path of Object.keys(requests)) delete requests[path];
      served.length = 0;
      usedWeight.spot = 0;
      usedWeight.futures = 0;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

function withSymbols(fixture: { symbols: unknown[] }, rows: SymbolRow[]): { symbols: unknown[] } {
  const template = fixture.symbols[0] as Record<string, unknown>;
  const extra = rows.map(([symbol, baseAsset, quoteAsset, status, contractType]) => ({
    ...structuredClone(template),
    symbol,
    baseAsset,
    quoteAsset,
    status,
    ...(contractType ? { pair: baseAsset + quoteAsset, contractType } : {}),
  }));
  return { ...fixture, symbols: [...fixture.symbols, ...extra] };
}

function weightOf(api: Api, path: string, limit: string | undefined): number {
  if (path.endsWith("/exchangeInfo")) return EXCHANGE_INFO_WEIGHT[api];
  if (!path.endsWith("/klines") && !(api === "futures" && PRICE_KLINES_PATH.test(path))) return 1;
  if (api === "spot") return 2;
  const rows = Number(limit ?? KLINES_DEFAULT_LIMIT);
  return rows < 100 ? 1 : rows < 500 ? 2 : rows <= 1000 ? 5 : 10;
}

type KlineRow = [number, string, string, string, string, string, number, string, number, string, string, string];
type BinanceError = { code: number; msg: string };
type KlineHistory = Required<Pick<StandInOptions, "listedAt" | "maintenance" | "unknownSymbols" | "delistedAt">>;

/**
 * Binance's paging rules: klines whose open time lies in [startTime, endTime] and not after now, oldest first, at
 * most `limit`; with only endTime (or neither) the last `limit` of them. Klines before a symbol's listing and in
 * maintenance windows do not exist: a page holds the next ones that do. Of trades by default; of a price `kind`
 * (USD-M only) with the same rules, index klines named by `pair` instead of `symbol`.
 */
function klinesAnswer(
  api: Api,
  params: URLSearchParams,
  nowMs: number,
  history: KlineHistory,
  kind: CandleKind = "trade",
): { rows: KlineRow[] } | { error: BinanceError } {
  const name = kind === "index" ? "pair" : "symbol";
  const symbol = params.get(name);
  const interval = params.get("interval") ?? "";
  if (!symbol) return { error: { code: -1102, msg: `Mandatory parameter '${name}' was not sent, was empty/null, or malformed.` } };
  if (history.unknownSymbols.includes(symbol)) return { error: { code: -1121, msg: "Invalid symbol." } };
  const known = interval === MONTH || (interval in INTERVAL_MS && !(api === "futures" && interval === "1s"));
  if (!known) return { error: { code: -1120, msg: "Invalid interval." } };
  const limit = Number(params.get("limit") ?? KLINES_DEFAULT_LIMIT);
  if (!Number.isInteger(limit) || limit < 1 || limit > KLINES_MAX_LIMIT[api]) {
    return { error: { code: -1130, msg: "Data sent for parameter 'limit' is not valid." } };
  }
  const startTime = params.has("startTime") ? Number(params.get("startTime")) : null;
  const endTime = Math.min(params.has("endTime") ? Number(params.get("endTime")) : nowMs, nowMs);
  return { rows: klinesIn(api, symbol, interval, startTime, endTime, limit, history, kind) };
}

/**
 * The klines of the symbol whose open time lies in [startTime, endTime] (endTime already no later than now), oldest
 * first, at most `limit`; with no startTime, the last `limit` of them. None before the listing, after a delisting,
 * or in a maintenance window. Of trades, or of the symbol's (the pair's) price `kind`.
 */
function klinesIn(
  api: Api,
  symbol: string,
  interval: string,
  startTime: number | null,
  lastOpen: number,
  limit: number,
  history: KlineHistory,
  kind: CandleKind = "trade",
): KlineRow[] {
  const listedAt = history.listedAt[symbol] ?? 0;
  // The last open time that exists: none at or after a delisting.
  const endTime = Math.min(lastOpen, (history.delistedAt[symbol] ?? Infinity) - 1);
  /** The first time at or after `time` when klines of the symbol exist. */
  const existsFrom = (time: number): number => {
    const window = history.maintenance.find((w) => time >= w.fromMs && time < w.toMs);
    return time < listedAt ? existsFrom(listedAt) : window ? existsFrom(window.toMs) : time;
  };
  const openAtOrAfter = (time: number): number => {
    const open = openAtOrBefore(interval, time);
    return open < time ? nextOpen(interval, open) : open;
  };
  const opens: number[] = [];
  if (startTime !== null) {
    for (let open = openAtOrAfter(existsFrom(startTime)); open <= endTime && opens.length < limit; ) {
      opens.push(open);
      open = openAtOrAfter(existsFrom(nextOpen(interval, open)));
    }
  } else {
    for (let open = openAtOrBefore(interval, endTime); opens.length < limit && open >= listedAt; open = openAtOrBefore(interval, open - 1)) {
      if (existsFrom(open) === open) opens.unshift(open);
    }
  }
  return opens.map((open) =>
    kind === "trade" ? klineAt(api, symbol, open, nextOpen(interval, open)) : priceKlineAt(kind, symbol, open, nextOpen(interval, open)),
  );
}

/** An archive request: which file, of which period, and whether it is the zip or its checksum. */
interface ArchiveFile {
  symbol: string;
  interval: string;
  fromMs: number;
  toMs: number;
  /** The name switches and options know the file by: `name`, prefixed by its folder for kinds other than trade klines. */
  stem: string;
  /** The file's own name without extension, as in its CSV entry and its .CHECKSUM (`BTCUSDT-1m-2024-03`). */
  name: string;
  checksum: boolean;
  spot: boolean;
  /** What the file holds: klines of trades or of a price, or funding records (`interval` then empty). */
  kind: CandleKind | "fundingRate";
}

const ARCHIVE_PATH = /^\/data\/(spot|futures\/um)\/(monthly|daily)\/klines\/([A-Z0-9]+)\/([0-9a-z]+)\/([A-Z0-9]+)-([0-9a-z]+)-(\d{4})-(\d{2})(?:-(\d{2}))?\.zip(\.CHECKSUM)?$/;

/** USD-M klines of a price, by kind's folder: like the trade klines' files, but under their own folder. */
const PRICE_ARCHIVE_PATH =
  /^\/data\/futures\/um\/(monthly|daily)\/(markPriceKlines|indexPriceKlines|premiumIndexKlines)\/([A-Z0-9]+)\/([0-9a-z]+)\/([A-Z0-9]+)-([0-9a-z]+)-(\d{4})-(\d{2})(?:-(\d{2}))?\.zip(\.CHECKSUM)?$/;
/** USD-M funding rates: monthly files only (binance-public-data's download-futures-fundingRates.py names them so). */
const FUNDING_ARCHIVE_PATH = /^\/data\/futures\/um\/monthly\/fundingRate\/([A-Z0-9]+)\/([A-Z0-9]+)-fundingRate-(\d{4})-(\d{2})\.zip(\.CHECKSUM)?$/;
const PRICE_KIND_OF_FOLDER: Record<string, PriceKlineKind> = { markPriceKlines: "mark", indexPriceKlines: "index", premiumIndexKlines: "premium" };

/** The file a path names, when it is one the archive has by `nowMs`: a month's from the next month on, a day's the next day. */
function archiveFileOf(path: string, nowMs: number): ArchiveFile | null {
  const match = ARCHIVE_PATH.exec(path);
  if (!match) return priceArchiveFileOf(path, nowMs) ?? fundingArchiveFileOf(path, nowMs);
  const [, root, kind, symbol, folder, fileSymbol, fileInterval, year, month, day, checksum] = match as unknown as string[];
  if (symbol !== fileSymbol || folder !== fileInterval || (kind === "daily") !== (day !== undefined)) return null;
  const interval = folder === "1mo" ? MONTH : (folder as string);
  if (interval !== MONTH && !(interval in INTERVAL_MS)) return null;
  const fromMs = Date.UTC(Number(year), Number(month) - 1, day === undefined ? 1 : Number(day));
  const toMs = day === undefined ? Date.UTC(Number(year), Number(month), 1) : fromMs + DAY_MS;
  if (toMs > nowMs) return null;
  const stem = `${fileSymbol}-${fileInterval}-${year}-${month}${day === undefined ? "" : `-${day}`}`;
  const spot = root === "spot";
  return { symbol: symbol as string, interval, fromMs, toMs, stem, name: stem, checksum: checksum !== undefined, spot, kind: "trade" };
}

/** A price kind's klines file (index files by pair), as archiveFileOf; no 1s, which USD-M does not have. */
function priceArchiveFileOf(path: string, nowMs: number): ArchiveFile | null {
  const match = PRICE_ARCHIVE_PATH.exec(path);
  if (!match) return null;
  const [, period, folder, symbol, intervalFolder, fileSymbol, fileInterval, year, month, day, checksum] = match as unknown as string[];
  if (symbol !== fileSymbol || intervalFolder !== fileInterval || (period === "daily") !== (day !== undefined)) return null;
  const interval = intervalFolder === "1mo" ? MONTH : (intervalFolder as string);
  if (interval !== MONTH && !(interval in INTERVAL_MS && interval !== "1s")) return null;
  const fromMs = Date.UTC(Number(year), Number(month) - 1, day === undefined ? 1 : Number(day));
  const toMs = day === undefined ? Date.UTC(Number(year), Number(month), 1) : fromMs + DAY_MS;
  if (toMs > nowMs) return null;
  const name = `${fileSymbol}-${fileInterval}-${year}-${month}${day === undefined ? "" : `-${day}`}`;
  const kind = PRICE_KIND_OF_FOLDER[folder as string] as PriceKlineKind;
  return { symbol: symbol as string, interval, fromMs, toMs, stem: `${folder}/${name}`, name, checksum: checksum !== undefined, spot: false, kind };
}

/** A month's funding rate file, as archiveFileOf. */
function fundingArchiveFileOf(path: string, nowMs: number): ArchiveFile | null {
  const match = FUNDING_ARCHIVE_PATH.exec(path);
  if (!match) return null;
  const [, symbol, fileSymbol, year, month, checksum] = match as unknown as string[];
  if (symbol !== fileSymbol) return null;
  const fromMs = Date.UTC(Number(year), Number(month) - 1, 1);
  const toMs = Date.UTC(Number(year), Number(month), 1);
  if (toMs > nowMs) return null;
  const name = `${fileSymbol}-fundingRate-${year}-${month}`;
  const stem = `fundingRate/${name}`;
  return { symbol: symbol as string, interval: "", fromMs, toMs, stem, name, checksum: checksum !== undefined, spot: false, kind: "fundingRate" };
}

/** Spot files give times in microseconds from this day on, as Binance's do. */
const ARCHIVE_MICROSECONDS_FROM = Date.UTC(2025, 0, 1);

/**
 * The zip of an archive file, made now from the same candles REST answers (so both ways store the same bytes):
 * one CSV, with a header row in files of even months and none in odd ones, as Binance's files vary; made the same
 * way every time, so its checksum holds. Price kinds' files are made the same way, of their klines' rows.
 */
function archiveZip(file: ArchiveFile, history: KlineHistory, nowMs: number, shifted: boolean): Uint8Array {
  const kind = file.kind === "fundingRate" ? "trade" : file.kind;
  const rows = klinesIn(file.spot ? "spot" : "futures", file.symbol, file.interval, file.fromMs, Math.min(file.toMs - 1, nowMs), Infinity, history, kind);
  const micros = file.spot && file.fromMs >= ARCHIVE_MICROSECONDS_FROM;
  const time = (ms: number) => String(shifted ? ms + 31 * DAY_MS : ms) + (micros ? "000" : "");
  const withHeader = new Date(file.fromMs).getUTCMonth() % 2 === 1;
  const header = "open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,taker_buy_quote_volume,ignore\n";
  const lines = rows.map(([open, o, h, l, c, v, close, ...rest]) => [time(open), o, h, l, c, v, time(close), ...rest].join(",")).join("\n");
  const csv = (withHeader ? header : "") + lines + (lines ? "\n" : "");
  return zipSync({ [`${file.name}.csv`]: [new TextEncoder().encode(csv), { mtime: new Date(Date.UTC(2024, 0, 1)), level: 1 }] });
}

/**
 * The zip of a month's funding rates, made now from the records REST answers: one CSV, always with its header row,
 * `calc_time,funding_interval_hours,last_funding_rate` as Binance's files have it (calc_time in ms, the record's
 * fundingTime; the cadence's hours then; the rate as REST writes it). `holes` leave records out; `shifted` puts
 * every time a month late.
 */
function fundingZip(
  file: ArchiveFile,
  history: KlineHistory,
  segments: CadenceSegment[],
  holes: { fromMs: number; toMs: number }[],
  nowMs: number,
  shifted: boolean,
): Uint8Array {
  const records = fundingRecordsIn(file.symbol, file.fromMs, Math.min(file.toMs - 1, nowMs), Infinity, history, segments, holes);
  const time = (ms: number) => (shifted ? ms + 31 * DAY_MS : ms);
  const lines = records.map(({ fundingTime, fundingRate }) => [time(fundingTime), fundingHoursAt(segments, fundingTime), fundingRate].join(",")).join("\n");
  const csv = "calc_time,funding_interval_hours,last_funding_rate\n" + lines + (lines ? "\n" : "");
  return zipSync({ [`${file.name}.csv`]: [new TextEncoder().encode(csv), { mtime: new Date(Date.UTC(2024, 0, 1)), level: 1 }] });
}

/**
 * A zip bomb: one entry of `inflatedMb` MB of "0" and no newline, deflated to about 1 KB a MB (one megabyte deflated
 * with a sync flush, repeated: each copy stands alone, so the stream is whole). Its sizes are declared, or `lying`:
 * declared as a 2 MB entry's. Its CRC is not computed: a reader that gets that far has already lost.
 */
export function zipBomb(name: string, inflatedMb: number, lying: boolean): Uint8Array {
  const megabyte = deflateRawSync(Buffer.alloc(2 ** 20, "0"), { level: 9, finishFlush: zlibConstants.Z_SYNC_FLUSH });
  // The final block: fixed Huffman codes, nothing in it but its end.
  const data = Buffer.concat([...Array<Buffer>(inflatedMb).fill(megabyte), Buffer.from([0x03, 0x00])]);
  const file = Buffer.from(name);
  const sizes = (header: Buffer, at: number) => {
    header.writeUInt32LE(0, at);
    header.writeUInt32LE(data.length, at + 4);
    header.writeUInt32LE(lying ? 2 * 2 ** 20 : inflatedMb * 2 ** 20, at + 8);
  };
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(20, 4);
  local.writeUInt16LE(8, 8);
  local.writeUInt16LE(0x21, 12);
  sizes(local, 14);
  local.writeUInt16LE(file.length, 26);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(20, 4);
  central.writeUInt16LE(20, 6);
  central.writeUInt16LE(8, 10);
  central.writeUInt16LE(0x21, 14);
  sizes(central, 16);
  central.writeUInt16LE(file.length, 28);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(central.length + file.length, 12);
  end.writeUInt32LE(local.length + file.length + data.length, 16);
  return Buffer.concat([local, file, data, central, file, end]);
}

function openAtOrBefore(interval: string, time: number): number {
  if (interval === MONTH) {
    const date = new Date(time);
    return Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1);
  }
  const size = INTERVAL_MS[interval] as number;
  const offset = interval === "1w" ? WEEK_OFFSET_MS : 0;
  return Math.floor((time - offset) / size) * size + offset;
}

function nextOpen(interval: string, open: number): number {
  if (interval !== MONTH) return open + (INTERVAL_MS[interval] as number);
  const date = new Date(open);
  return Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1);
}

/**
 * One candle, a pure function of (market, symbol, open, next open): a candle closes where the next one opens. Spot
 * writes every decimal with 8 places, as Binance's spot API does; futures with the contract's precision, as its
 * USD-M API does (prices 2 places, quantities 3, quote amounts 5, like BTCUSDT's).
 */
function klineAt(api: Api, symbol: string, open: number, nextOpenTime: number): KlineRow {
  const openPrice = priceAt(symbol, open);
  const closePrice = priceAt(symbol, nextOpenTime);
  const high = Math.max(openPrice, closePrice) * (1 + 0.002 * noise(symbol, open, 1));
  const low = Math.min(openPrice, closePrice) * (1 - 0.002 * noise(symbol, open, 2));
  const volume = 1 + 100 * noise(symbol, open, 3);
  const takerShare = noise(symbol, open, 4);
  const averagePrice = (openPrice + closePrice) / 2;
  const [price, quantity, quote] = api === "spot" ? [8, 8, 8] : [2, 3, 5];
  return [
    open,
    openPrice.toFixed(price),
    high.toFixed(price),
    low.toFixed(price),
    closePrice.toFixed(price),
    volume.toFixed(quantity),
    nextOpenTime - 1,
    (volume * averagePrice).toFixed(quote),
    1 + Math.floor(1000 * noise(symbol, open, 5)),
    (volume * takerShare).toFixed(quantity),
    (volume * takerShare * averagePrice).toFixed(quote),
    "0",
  ];
}

/**
 * One candle of a price kind, a pure function of (kind, symbol, open, next open) as klineAt's: it opens at the price
 * at `open` and closes at the price at `nextOpen`, where the next one opens. Mark and index prices follow the trade
 * price (mark within ±0.025 % of it, index 0.01 % under it within ±0.02 %) and are written with 8 places, as Binance
 * writes them; the premium index is (mark − index) / index, a small signed number, with 8 places too. Volumes and
 * the taker fields are "0", as Binance's are. The count (the docs' "number of basic data") is one a second for mark
 * and index, one every 5 s for the premium index (Binance's examples: 60 for a 1m mark or index candle, 300 for a 5m
 * index one, 12 for a 1m premium one), the forming candle's included.
 */
export function priceKlineAt(kind: PriceKlineKind, symbol: string, open: number, nextOpenTime: number): PriceKlineRow {
  const at = PRICE_AT[kind];
  const first = at(symbol, open);
  const last = at(symbol, nextOpenTime);
  const salt = PRICE_SALT[kind];
  const [high, low] =
    kind === "premium"
      ? [Math.max(first, last) + 0.0002 * noise(symbol, open, salt + 1), Math.min(first, last) - 0.0002 * noise(symbol, open, salt + 2)]
      : [Math.max(first, last) * (1 + 0.001 * noise(symbol, open, salt + 1)), Math.min(first, last) * (1 - 0.001 * noise(symbol, open, salt + 2))];
  const seconds = Math.floor((nextOpenTime - open) / 1000);
  const count = kind === "premium" ? Math.floor(seconds / 5) : seconds;
  return [open, places8(first), places8(high), places8(low), places8(last), "0", nextOpenTime - 1, "0", count, "0", "0", "0"];
}

/** The mark price at `time`: the trade price within ±0.025 %. */
function markPriceAt(symbol: string, time: number): number {
  return priceAt(symbol, time) * (1 + 0.0005 * (noise(symbol, time, 11) - 0.5));
}

/** The index price of a pair at `time`: 0.01 % under the trade price, within ±0.02 %. */
function indexPriceAt(pair: string, time: number): number {
  return priceAt(pair, time) * (1 - 0.0001 + 0.0004 * (noise(pair, time, 12) - 0.5));
}

/** The premium index at `time`: (mark − index) / index, between about −0.00035 and +0.00055. */
function premiumIndexAt(symbol: string, time: number): number {
  const index = indexPriceAt(symbol, time);
  return (markPriceAt(symbol, time) - index) / index;
}

const PRICE_AT: Record<PriceKlineKind, (symbol: string, time: number) => number> = {
  mark: markPriceAt,
  index: indexPriceAt,
  premium: premiumIndexAt,
};
/** Noise salts of each kind's highs and lows (salt + 1, salt + 2): apart from the trade candles' 0 to 5. */
const PRICE_SALT: Record<PriceKlineKind, number> = { mark: 20, index: 30, premium: 40 };

/** A number with 8 places, as Binance writes prices and rates; never "-0.00000000". */
function places8(value: number): string {
  const text = value.toFixed(8);
  return text === "-0.00000000" ? "0.00000000" : text;
}

/**
 * The funding record of a symbol at `fundingTime`, a pure function of the two: a rate of 0.01 % (the interest rate
 * alone, as most of Binance's are) four times in ten, else between −0.01 % and +0.03 %; and the mark price then (the
 * open of the mark price kline opening at `fundingTime`). Both with 8 places, as the USD-M docs' example has them.
 */
export function fundingRecordAt(symbol: string, fundingTime: number): FundingRecord {
  const rate = noise(symbol, fundingTime, 50) < 0.4 ? 0.0001 : 0.0001 + 0.0004 * (noise(symbol, fundingTime, 51) - 0.5);
  return { symbol, fundingTime, fundingRate: places8(rate), markPrice: places8(markPriceAt(symbol, fundingTime)) };
}

/** A stretch of one funding cadence: records every `hours` hours (at multiples of them since the epoch) in [fromMs, toMs). */
interface CadenceSegment {
  fromMs: number;
  toMs: number;
  hours: number;
}

const DEFAULT_FUNDING_HOURS = 8;

/** A symbol's cadence as stretches covering all time: 8 h until the first given `fromMs`, then each given one until the next. */
function cadenceSegments(cadence: { fromMs: number; hours: number }[] | undefined): CadenceSegment[] {
  const starts = [{ fromMs: -Infinity, hours: DEFAULT_FUNDING_HOURS }, ...[...(cadence ?? [])].sort((a, b) => a.fromMs - b.fromMs)];
  return starts.map(({ fromMs, hours }, i) => ({ fromMs, toMs: starts[i + 1]?.fromMs ?? Infinity, hours }));
}

/** The first funding time at or after `time` (Infinity when none). */
function fundingTimeAtOrAfter(segments: CadenceSegment[], time: number): number {
  for (const { fromMs, toMs, hours } of segments) {
    if (toMs <= time) continue;
    const step = hours * HOUR_MS;
    const at = Math.ceil(Math.max(time, fromMs) / step) * step;
    if (at < toMs) return at;
  }
  return Infinity;
}

/** The last funding time at or before `time` (−Infinity when none). */
function fundingTimeAtOrBefore(segments: CadenceSegment[], time: number): number {
  for (const { fromMs, toMs, hours } of [...segments].reverse()) {
    if (fromMs > time) continue;
    const step = hours * HOUR_MS;
    const at = Math.floor(Math.min(time, toMs - 1) / step) * step;
    if (at >= fromMs) return at;
  }
  return -Infinity;
}

/** The funding interval in force at `time`, in hours. */
function fundingHoursAt(segments: CadenceSegment[], time: number): number {
  return (segments.find(({ fromMs, toMs }) => time >= fromMs && time < toMs) ?? { hours: DEFAULT_FUNDING_HOURS }).hours;
}

/**
 * GET /fapi/v1/fundingRate as the USD-M docs give it: records whose fundingTime lies in [startTime, endTime] (both
 * inclusive) and not after now, oldest first, at most `limit` (default 100, max 1000); with no startTime, the last
 * `limit` of them up to endTime or now. (The docs also say that with neither startTime nor endTime "the most recent
 * 200 records are returned"; the stand-in answers the most recent `limit`, as older docs say.) Binance answers every
 * symbol's records when `symbol` is left out; the stand-in does not serve that and answers -1102.
 */
function fundingAnswer(
  params: URLSearchParams,
  nowMs: number,
  history: KlineHistory,
  segmentsOf: (symbol: string) => CadenceSegment[],
  holes: { fromMs: number; toMs: number }[],
): { rows: FundingRecord[] } | { error: BinanceError } {
  const symbol = params.get("symbol");
  if (!symbol) return { error: { code: -1102, msg: "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed." } };
  if (history.unknownSymbols.includes(symbol)) return { error: { code: -1121, msg: "Invalid symbol." } };
  const limit = Number(params.get("limit") ?? FUNDING_DEFAULT_LIMIT);
  if (!Number.isInteger(limit) || limit < 1 || limit > FUNDING_MAX_LIMIT) {
    return { error: { code: -1130, msg: "Data sent for parameter 'limit' is not valid." } };
  }
  const startTime = params.has("startTime") ? Number(params.get("startTime")) : null;
  const endTime = Math.min(params.has("endTime") ? Number(params.get("endTime")) : nowMs, nowMs);
  return { rows: fundingRecordsIn(symbol, startTime, endTime, limit, history, segmentsOf(symbol), holes) };
}

/**
 * The symbol's funding records falling in [startTime, lastTime] (lastTime already no later than now), oldest first,
 * at most `limit`; with no startTime, the last `limit` of them. None before the listing, at or after a delisting, or
 * in `holes`; maintenance windows do not stop funding.
 */
function fundingRecordsIn(
  symbol: string,
  startTime: number | null,
  lastTime: number,
  limit: number,
  history: KlineHistory,
  segments: CadenceSegment[],
  holes: { fromMs: number; toMs: number }[],
): FundingRecord[] {
  const listedAt = history.listedAt[symbol] ?? 0;
  const endTime = Math.min(lastTime, (history.delistedAt[symbol] ?? Infinity) - 1);
  const holeAt = (time: number) => holes.find((w) => time >= w.fromMs && time < w.toMs);
  const times: number[] = [];
  if (startTime !== null) {
    for (let time = fundingTimeAtOrAfter(segments, Math.max(startTime, listedAt)); time <= endTime && times.length < limit; ) {
      const hole = holeAt(time);
      if (!hole) times.push(time);
      time = fundingTimeAtOrAfter(segments, hole ? hole.toMs : time + 1);
    }
  } else {
    for (let time = fundingTimeAtOrBefore(segments, endTime); time >= listedAt && times.length < limit; ) {
      const hole = holeAt(time);
      if (!hole) times.push(time);
      time = fundingTimeAtOrBefore(segments, hole ? hole.fromMs - 1 : time - 1);
    }
    times.reverse();
  }
  return times.map((time) => fundingRecordAt(symbol, time));
}

/** A smooth price around a per-symbol base (10 to 50,010), swinging a few percent over days. */
function priceAt(symbol: string, time: number): number {
  const base = 10 + 50_000 * noise(symbol, 0, 0);
  const hours = time / 3_600_000;
  return base * (1 + 0.1 * Math.sin(hours / 24) + 0.02 * Math.sin(hours * 1.7));
}

/** A deterministic number in [0, 1) for (symbol, time, salt): FNV-1a of the three, then murmur3's finalizer to mix. */
function noise(symbol: string, time: number, salt: number): number {
  const text = `${symbol}:${time}:${salt}`;
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  hash = Math.imul(hash ^ (hash >>> 16), 0x85ebca6b);
  hash = Math.imul(hash ^ (hash >>> 13), 0xc2b2ae35);
  return ((hash ^ (hash >>> 16)) >>> 0) / 2 ** 32;
}
