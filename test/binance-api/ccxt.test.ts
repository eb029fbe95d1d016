import { rmSync } from "node:fs";
import ccxt, { type Exchange, type OHLCV } from "ccxt";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startBinanceStandIn, type BinanceStandIn } from "../support/binance-standin.js";
import { testApp, type TestAppOptions } from "../support/app.js";
import { serveApp } from "../support/serve-app.js";

/**
 * ccxt, unchanged but for its URLs, pointed at the service's Binance-shaped endpoints, gets what it gets from
 * Binance itself (the stand-in): the same candles, paging and all; and the second time, from the cache alone.
 */

/** "Now" of the app, the stand-in and both ccxt instances: far from the real date, which no test depends on. */
const NOW = Date.parse("2024-06-15T12:30:30.000Z");
const HOUR = 3_600_000;
const MINUTE = 60_000;
const TOKEN = "ccxt-test-write-token";

interface Market {
  name: string;
  symbol: string;
  /** The stand-in's klines path of the market. */
  klines: string;
  make: () => Exchange;
}

const MARKETS: Market[] = [
  {
    name: "spot",
    symbol: "BTC/USDT",
    klines: "/api/v3/klines",
    make: () => new ccxt.binance({ options: { fetchMarkets: { types: ["spot"] } } }),
  },
  {
    name: "USD-M futures",
    symbol: "BTC/USDT:USDT",
    klines: "/fapi/v1/klines",
    make: () => new ccxt.binanceusdm(),
  },
];

interface Access {
  name: string;
  app: Pick<TestAppOptions, "cacheApiToken" | "writesWithoutToken">;
  /** What the client sends (as the README tells users to): the write token, when the service has one. */
  headers?: Record<string, string>;
}

const ACCESS: Access[] = [
  { name: "writes open (npm start), no token", app: {} },
  {
    name: "writes closed, the write token sent as a Bearer header",
    app: { cacheApiToken: TOKEN, writesWithoutToken: "closed" },
    headers: { Authorization: `Bearer ${TOKEN}` },
  },
];

let standIn: BinanceStandIn;
const closers: (() => Promise<void> | void)[] = [];

beforeAll(async () => {
  standIn = await startBinanceStandIn({ now: () => NOW });
});
afterAll(() => standIn.close());
beforeEach(() => standIn.reset());
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

/** A ccxt instance of the market on `base` (the service or the stand-in), its clock pinned to NOW. */
function exchangeAt(market: Market, base: string, headers?: Record<string, string>): Exchange {
  const exchange = market.make();
  exchange.urls.api = {
    ...(exchange.urls.api as Record<string, string>),
    public: `${base}/api/v3`,
    fapiPublic: `${base}/fapi/v1`,
    fapiPublicV2: `${base}/fapi/v2`,
    fapiPublicV3: `${base}/fapi/v3`,
  };
  exchange.milliseconds = () => NOW;
  if (headers) exchange.headers = { ...headers };
  return exchange;
}

/** A fresh service (empty cache) talking to the stand-in, served on a loopback port, and ccxt pointed at it. */
async function service(market: Market, access: Access) {
  const built = testApp({ binanceUrl: standIn.url, archiveUrl: standIn.url, now: new Date(NOW).toISOString(), ...access.app });
  closers.push(() => rmSync(built.dir, { recursive: true, force: true }));
  const served = await serveApp(built.app);
  closers.push(() => served.close());
  return { ...built, url: served.url, ccxt: exchangeAt(market, served.url, access.headers) };
}

/** The same call straight to "Binance"; the stand-in's request log is put back as it was before. */
async function direct<T>(market: Market, call: (exchange: Exchange) => Promise<T>): Promise<T> {
  const before = standIn.served.length;
  const result = await call(exchangeAt(market, standIn.url));
  standIn.served.splice(before);
  return result;
}

/** Requests the service sent upstream (REST or archive) since the last reset, not counting exchangeInfo. */
const candleRequests = () => standIn.served.filter((request) => !request.path.endsWith("/exchangeInfo"));

/** Open times, checked one interval apart, oldest first. */
function opensOf(rows: OHLCV[], stepMs: number): number[] {
  const opens = rows.map((row) => row[0] as number);
  for (let i = 1; i < opens.length; i++) expect(opens[i]! - opens[i - 1]!).toBe(stepMs);
  return opens;
}

describe.each(MARKETS.flatMap((market) => ACCESS.map((access) => ({ market, access, label: `${market.name}, ${access.name}` }))))(
  "ccxt fetchOHLCV through the service: $label",
  ({ market, access }) => {
    // Four calendar months touched, three of ccxt's 1000-candle pages, run concurrently by ccxt.
    const since = Date.parse("2024-01-10T07:13:00.000Z");
    const until = Date.parse("2024-04-12T18:00:00.000Z");
    const paged = (exchange: Exchange) => exchange.fetchOHLCV(market.symbol, "1h", since, undefined, { paginate: true, until });

    it("pages three months of 1h with paginate+until into exactly what it gets from Binance", async () => {
      const app = await service(market, access);

      const viaService = await paged(app.ccxt);
      // The service read through to the upstream for it (an empty cache has nothing else to answer with).
      expect(candleRequests().length).toBeGreaterThan(0);
      const viaBinance = await direct(market, paged);

      expect(viaBinance.length).toBeGreaterThan(2000);
      const opens = opensOf(viaBinance, HOUR);
      expect(opens[0]).toBe(Date.parse("2024-01-10T08:00:00.000Z"));
      expect(opens.at(-1)).toBe(until);
      expect(viaService).toHaveLength(viaBinance.length);
      expect(viaService).toEqual(viaBinance);
    });

    it("answers a second identical run from the cache alone: not one upstream request, the same candles", async () => {
      const app = await service(market, access);
      const first = await paged(app.ccxt);
      const viaBinance = await direct(market, paged);
      expect(first).toEqual(viaBinance);

      standIn.reset();
      const second = await paged(app.ccxt);

      expect(standIn.served).toEqual([]);
      expect(second).toHaveLength(viaBinance.length);
      expect(second).toEqual(viaBinance);

      // A new client (a new backtest process) loads the markets again, but its candles still cost no upstream.
      standIn.reset();
      const fresh = exchangeAt(market, app.url, access.headers);
      const third = await paged(fresh);
      expect(candleRequests()).toEqual([]);
      expect(third).toEqual(viaBinance);
    });

    it.each([
      { interval: "1m", back: 5 * HOUR, step: MINUTE, rows: 300, lastOpen: Date.parse("2024-06-15T12:30:00.000Z") },
      { interval: "1h", back: 30 * HOUR, step: HOUR, rows: 30, lastOpen: Date.parse("2024-06-15T12:00:00.000Z") },
    ])("pages a $interval run that reaches now (no until) into Binance's candles, the one still forming last", async ({ interval, back, step, rows, lastOpen }) => {
      const app = await service(market, access);
      const recent = (exchange: Exchange) => exchange.fetchOHLCV(market.symbol, interval, NOW - back, undefined, { paginate: true });

      const viaService = await recent(app.ccxt);
      const viaBinance = await direct(market, recent);

      const opens = opensOf(viaBinance, step);
      expect(opens).toHaveLength(rows);
      // The last candle is the one open at NOW: still forming, its close time ahead of now.
      expect(opens.at(-1)).toBe(lastOpen);
      expect(viaService).toHaveLength(viaBinance.length);
      expect(viaService).toEqual(viaBinance);
      expect(viaService.at(-1)).toEqual(viaBinance.at(-1));
    });

    if (market.name !== "spot") {
      it.each(["mark", "index", "premiumIndex"])("pages three months of 1h %s-price candles ({price}) into what it gets from Binance, and again from the cache alone", async (price) => {
        const app = await service(market, access);
        const priced = (exchange: Exchange) => exchange.fetchOHLCV(market.symbol, "1h", since, undefined, { paginate: true, until, price });

        const viaService = await priced(app.ccxt);
        const viaBinance = await direct(market, priced);

        expect(viaBinance.length).toBeGreaterThan(2000);
        opensOf(viaBinance, HOUR);
        expect(viaService).toEqual(viaBinance);

        standIn.reset();
        expect(await priced(app.ccxt)).toEqual(viaBinance);
        expect(standIn.served).toEqual([]);
      });
    }

    it.each([
      { interval: "1h", limit: 50, step: HOUR, lastOpen: Date.parse("2024-06-15T12:00:00.000Z") },
      { interval: "1m", limit: 1000, step: MINUTE, lastOpen: Date.parse("2024-06-15T12:30:00.000Z") },
      { interval: "1d", limit: 20, step: 24 * HOUR, lastOpen: Date.parse("2024-06-15T00:00:00.000Z") },
    ])("fetches the latest $limit $interval candles (a limit, no since) as Binance answers them", async ({ interval, limit, step, lastOpen }) => {
      const app = await service(market, access);
      const latest = (exchange: Exchange) => exchange.fetchOHLCV(market.symbol, interval, undefined, limit);

      const viaService = await latest(app.ccxt);
      const viaBinance = await direct(market, latest);

      const opens = opensOf(viaBinance, step);
      expect(opens).toHaveLength(limit);
      expect(opens.at(-1)).toBe(lastOpen);
      expect(viaService).toEqual(viaBinance);
    });
  },
);

describe.each(ACCESS)("ccxt fetchFundingRateHistory through the service: $name", (access) => {
  const futures = MARKETS[1] as Market;
  const since = Date.parse("2024-01-10T07:13:00.000Z");
  const until = Date.parse("2024-05-20T00:00:00.000Z");
  const history = (exchange: Exchange) => exchange.fetchFundingRateHistory(futures.symbol, since, undefined, { paginate: true, until });
  /** What a backtest keeps of a record: its time, rate and the mark price Binance sent with it. */
  const kept = (records: Awaited<ReturnType<Exchange["fetchFundingRateHistory"]>>) =>
    records.map((record) => [record.timestamp, record.fundingRate, (record.info as { markPrice?: string }).markPrice]);

  it("pages four months of funding rates into exactly what it gets from Binance, and again from the cache alone", async () => {
    const app = await service(futures, access);
    const viaService = await history(app.ccxt);
    expect(standIn.requests["/fapi/v1/fundingRate"]).toBeGreaterThan(0);
    const viaBinance = await direct(futures, history);
    expect(viaBinance.length).toBeGreaterThan(300);
    expect(viaBinance[0]?.timestamp).toBe(Date.parse("2024-01-10T08:00:00.000Z"));
    expect(kept(viaService)).toEqual(kept(viaBinance));
    expect(viaService).toEqual(viaBinance);

    standIn.reset();
    const again = await history(exchangeAt(futures, app.url, access.headers));
    expect(candleRequests()).toEqual([]);
    expect(again).toEqual(viaBinance);
  });

  it("fetches the latest records (no since) as Binance answers them", async () => {
    const app = await service(futures, access);
    const latest = (exchange: Exchange) => exchange.fetchFundingRateHistory(futures.symbol, undefined, 30);
    const viaService = await latest(app.ccxt);
    const viaBinance = await direct(futures, latest);
    expect(viaBinance).toHaveLength(30);
    expect(viaBinance.at(-1)?.timestamp).toBe(Date.parse("2024-06-15T08:00:00.000Z"));
    expect(viaService).toEqual(viaBinance);
  });
});
