import { rmSync } from "node:fs";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startBinanceStandIn, type BinanceStandIn } from "../support/binance-standin.js";
import { testApp } from "../support/app.js";
import { serveApp, type ServedApp } from "../support/serve-app.js";

/**
 * The service's Binance-shaped endpoints, asked with plain fetch as any Binance client would: the same bytes as
 * Binance (the stand-in) for the same query, Binance's errors, Binance's time and exchangeInfo.
 */

const NOW = Date.parse("2024-06-15T12:30:30.000Z");
const ms = (iso: string) => Date.parse(iso);

interface Market {
  name: string;
  /** Path prefix: /api/v3 or /fapi/v1. */
  api: string;
  maxLimit: number;
}
const SPOT: Market = { name: "spot", api: "/api/v3", maxLimit: 1000 };
const FUTURES: Market = { name: "USD-M futures", api: "/fapi/v1", maxLimit: 1500 };

let standIn: BinanceStandIn;
const cleanups: (() => Promise<void> | void)[] = [];

beforeAll(async () => {
  standIn = await startBinanceStandIn({ now: () => NOW, unknownSymbols: ["NOPEUSDT"] });
});
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await standIn.close();
});
beforeEach(() => standIn.reset());

/** A fresh service (empty cache) on the stand-in, served on a loopback port; closed and removed after the file. */
async function startService(): Promise<ServedApp> {
  const built = testApp({ binanceUrl: standIn.url, archiveUrl: standIn.url, now: new Date(NOW).toISOString() });
  cleanups.push(() => rmSync(built.dir, { recursive: true, force: true }));
  const served = await serveApp(built.app);
  cleanups.push(() => served.close());
  return served;
}

type Query = Record<string, string | number>;
const pathOf = (path: string, query: Query = {}) => {
  const search = new URLSearchParams(Object.entries(query).map(([key, value]) => [key, String(value)])).toString();
  return search ? `${path}?${search}` : path;
};

/** Straight to "Binance"; the stand-in's request log is put back as it was. */
async function binance(path: string, query?: Query): Promise<{ res: Response; text: string }> {
  const before = standIn.served.length;
  const res = await fetch(standIn.url + pathOf(path, query));
  const text = await res.text();
  standIn.served.splice(before);
  return { res, text };
}

async function ask(base: string, path: string, query?: Query, init?: RequestInit): Promise<{ res: Response; text: string }> {
  const res = await fetch(base + pathOf(path, query), init);
  return { res, text: await res.text() };
}

function expectJson(res: Response) {
  expect(res.headers.get("content-type")).toMatch(/^application\/json\b/);
}

/** A Binance error answer: the status, JSON, `{code, msg}` and nothing else. */
function expectBinanceError(answer: { res: Response; text: string }, status: number, code: number) {
  expect(answer.res.status, answer.text).toBe(status);
  expectJson(answer.res);
  const body = JSON.parse(answer.text) as { code: unknown; msg: unknown };
  expect(Object.keys(body).sort()).toEqual(["code", "msg"]);
  expect(body.code).toBe(code);
  expect(typeof body.msg).toBe("string");
  return body;
}

/** Closed ranges only: no candle in them is still forming at NOW. */
const CLOSED_KLINES: { label: string; query: Query; rows: number; futuresOnly?: boolean }[] = [
  { label: "1m, startTime only with limit 1000, over a month boundary", query: { interval: "1m", startTime: ms("2024-02-29T16:00:00Z"), limit: 1000 }, rows: 1000 },
  { label: "1m, endTime only with limit 600, over a month boundary", query: { interval: "1m", endTime: ms("2024-03-01T03:00:00Z"), limit: 600 }, rows: 600 },
  { label: "1m, both, no limit (default 500, not reached)", query: { interval: "1m", startTime: ms("2024-02-29T23:00:00Z"), endTime: ms("2024-03-01T01:00:00Z") }, rows: 121 },
  { label: "1m, startTime only, no limit (default 500)", query: { interval: "1m", startTime: ms("2024-02-29T21:00:00Z") }, rows: 500 },
  {
    label: "1m, both off the minute, the limit reached before endTime",
    query: { interval: "1m", startTime: ms("2024-02-29T23:10:30.500Z"), endTime: ms("2024-03-01T02:20:59.999Z"), limit: 100 },
    rows: 100,
  },
  { label: "15m, both, over a month boundary", query: { interval: "15m", startTime: ms("2024-03-31T20:00:00Z"), endTime: ms("2024-04-01T04:00:00Z") }, rows: 33 },
  { label: "1h, startTime only, no limit, over a month boundary", query: { interval: "1h", startTime: ms("2024-01-31T00:00:00Z") }, rows: 500 },
  { label: "1h, both, three months cut at limit 1000", query: { interval: "1h", startTime: ms("2024-01-01T00:00:00Z"), endTime: ms("2024-03-31T23:00:00Z"), limit: 1000 }, rows: 1000 },
  { label: "1h, endTime only with limit 48", query: { interval: "1h", endTime: ms("2024-05-01T11:59:59.999Z"), limit: 48 }, rows: 48 },
  { label: "1h, startTime = endTime = an open time", query: { interval: "1h", startTime: ms("2024-03-10T05:00:00Z"), endTime: ms("2024-03-10T05:00:00Z") }, rows: 1 },
  { label: "1h, limit 1500 (futures' maximum)", query: { interval: "1h", startTime: ms("2024-01-01T00:00:00Z"), limit: 1500 }, rows: 1500, futuresOnly: true },
  { label: "4h, both", query: { interval: "4h", startTime: ms("2024-02-20T00:00:00Z"), endTime: ms("2024-03-05T00:00:00Z") }, rows: 85 },
  { label: "1d, both, five months", query: { interval: "1d", startTime: ms("2024-01-01T00:00:00Z"), endTime: ms("2024-05-31T00:00:00Z") }, rows: 152 },
  { label: "1d, endTime only with limit 30", query: { interval: "1d", endTime: ms("2024-05-01T00:00:00Z"), limit: 30 }, rows: 30 },
  { label: "3d, both (candles straddle months)", query: { interval: "3d", startTime: ms("2024-01-01T00:00:00Z"), endTime: ms("2024-05-31T00:00:00Z") }, rows: 50 },
  { label: "1w, startTime on a Monday with limit 10", query: { interval: "1w", startTime: ms("2024-01-01T00:00:00Z"), limit: 10 }, rows: 10 },
  { label: "1w, both, startTime mid-week", query: { interval: "1w", startTime: ms("2024-01-03T00:00:00Z"), endTime: ms("2024-05-01T00:00:00Z") }, rows: 17 },
  { label: "1M, both", query: { interval: "1M", startTime: ms("2024-01-01T00:00:00Z"), endTime: ms("2024-05-01T00:00:00Z") }, rows: 5 },
  { label: "1M, both, startTime mid-month", query: { interval: "1M", startTime: ms("2023-11-15T00:00:00Z"), endTime: ms("2024-04-30T00:00:00Z") }, rows: 5 },
  { label: "1M, endTime only with limit 3", query: { interval: "1M", endTime: ms("2024-05-15T00:00:00Z"), limit: 3 }, rows: 3 },
];

describe.each([SPOT, FUTURES])("$name klines, byte for byte Binance's", (market) => {
  let service: ServedApp;
  beforeAll(async () => {
    service = await startService();
  });
  const klines = `${market.api}/klines`;
  const cases = CLOSED_KLINES.filter((c) => !c.futuresOnly || market === FUTURES);

  it.each(cases)("$label", async ({ query: range, rows }) => {
    const query = { symbol: "ETHUSDT", ...range };
    const expected = await binance(klines, query);
    expect(expected.res.status).toBe(200);
    expect(JSON.parse(expected.text)).toHaveLength(rows);

    const first = await ask(service.url, klines, query);
    expect(first.res.status, first.text).toBe(200);
    expectJson(first.res);
    expect(first.res.headers.get("X-Upstream-Requests")).toMatch(/^\d+$/);
    expect(first.text).toBe(expected.text);

    // Closed candles are the cache's now: asked again, they cost nothing upstream.
    standIn.reset();
    const again = await ask(service.url, klines, query);
    expect(again.res.status, again.text).toBe(200);
    expectJson(again.res);
    expect(again.res.headers.get("X-Upstream-Requests")).toBe("0");
    expect(standIn.served).toEqual([]);
    expect(again.text).toBe(expected.text);
  });

  it("answers a range reaching now as Binance does, the candle still forming last", async () => {
    const query = { symbol: "BTCUSDT", interval: "1m", startTime: NOW - 2 * 3_600_000 };
    const expected = await binance(klines, query);
    const rowsOfBinance = JSON.parse(expected.text) as unknown[][];
    expect(rowsOfBinance).toHaveLength(120);
    expect(rowsOfBinance.at(-1)?.[0]).toBe(ms("2024-06-15T12:30:00Z"));

    for (let i = 0; i < 2; i++) {
      const answer = await ask(service.url, klines, query);
      expect(answer.res.status, answer.text).toBe(200);
      expectJson(answer.res);
      expect(answer.text).toBe(expected.text);
    }
  });

  it("answers the latest candles (neither startTime nor endTime) as Binance does", async () => {
    const query = { symbol: "BTCUSDT", interval: "1h", limit: 24 };
    const expected = await binance(klines, query);
    const answer = await ask(service.url, klines, query);
    expect(answer.res.status, answer.text).toBe(200);
    expect(answer.text).toBe(expected.text);
  });

  describe("errors in Binance's shape", () => {
    it("an unknown symbol: 400, -1121 Invalid symbol.", async () => {
      const query = { symbol: "NOPEUSDT", interval: "1h", startTime: ms("2024-03-01T00:00:00Z"), limit: 10 };
      const answer = await ask(service.url, klines, query);
      expectBinanceError(answer, 400, -1121);
      expect(JSON.parse(answer.text)).toEqual({ code: -1121, msg: "Invalid symbol." });
    });

    it("an unknown interval (7m): 400, -1120 Invalid interval.", async () => {
      const answer = await ask(service.url, klines, { symbol: "BTCUSDT", interval: "7m", limit: 10 });
      expectBinanceError(answer, 400, -1120);
      expect(JSON.parse(answer.text)).toEqual({ code: -1120, msg: "Invalid interval." });
    });

    it("no symbol: 400, -1102", async () => {
      const answer = await ask(service.url, klines, { interval: "1h", limit: 10 });
      expectBinanceError(answer, 400, -1102);
    });

    it("no interval: 400, -1102", async () => {
      const answer = await ask(service.url, klines, { symbol: "BTCUSDT", limit: 10 });
      expectBinanceError(answer, 400, -1102);
    });

    it.each([5000, market.maxLimit + 1])("limit %i: 400, -1130", async (limit) => {
      const answer = await ask(service.url, klines, { symbol: "BTCUSDT", interval: "1h", startTime: ms("2024-03-01T00:00:00Z"), limit });
      expectBinanceError(answer, 400, -1130);
    });

    if (market === FUTURES) {
      it("1s, which futures do not have: 400, -1120", async () => {
        const answer = await ask(service.url, klines, { symbol: "BTCUSDT", interval: "1s", limit: 10 });
        expectBinanceError(answer, 400, -1120);
      });
    }
  });

  it("time: the service's clock", async () => {
    const answer = await ask(service.url, `${market.api}/time`);
    expect(answer.res.status).toBe(200);
    expectJson(answer.res);
    expect(JSON.parse(answer.text)).toEqual({ serverTime: NOW });
  });

  it("ping: {}", async () => {
    const answer = await ask(service.url, `${market.api}/ping`);
    expect(answer.res.status).toBe(200);
    expectJson(answer.res);
    expect(JSON.parse(answer.text)).toEqual({});
  });

  it("exchangeInfo: Binance's, serverTime the service's clock", async () => {
    const expected = JSON.parse((await binance(`${market.api}/exchangeInfo`)).text) as Record<string, unknown>;
    const answer = await ask(service.url, `${market.api}/exchangeInfo`);
    expect(answer.res.status, answer.text).toBe(200);
    expectJson(answer.res);
    const { serverTime, ...rest } = JSON.parse(answer.text) as Record<string, unknown>;
    const { serverTime: upstreamTime, ...expectedRest } = expected;
    expect(typeof upstreamTime).toBe("number");
    expect(serverTime).toBe(NOW);
    expect(Object.keys(rest)).toEqual(Object.keys(expectedRest));
    expect(rest).toEqual(expectedRest);
  });
});

describe("spot exchangeInfo filters, as Binance's", () => {
  let service: ServedApp;
  let full: { symbols: { symbol: string }[] } & Record<string, unknown>;
  beforeAll(async () => {
    service = await startService();
    full = JSON.parse((await binance("/api/v3/exchangeInfo")).text) as typeof full;
  });
  const withoutTime = ({ serverTime: _, ...rest }: Record<string, unknown>) => rest;

  it("?symbol=BTCUSDT: exactly that symbol, the rest as Binance's", async () => {
    const answer = await ask(service.url, "/api/v3/exchangeInfo", { symbol: "BTCUSDT" });
    expect(answer.res.status, answer.text).toBe(200);
    expectJson(answer.res);
    const body = JSON.parse(answer.text) as typeof full;
    expect(body.serverTime).toBe(NOW);
    expect(body.symbols).toEqual(full.symbols.filter((s) => s.symbol === "BTCUSDT"));
    expect(body.symbols).toHaveLength(1);
    expect(withoutTime({ ...body, symbols: [] })).toEqual(withoutTime({ ...full, symbols: [] }));
  });

  it('?symbols=["BTCUSDT","ETHBTC"]: exactly those two', async () => {
    const answer = await ask(service.url, "/api/v3/exchangeInfo", { symbols: JSON.stringify(["BTCUSDT", "ETHBTC"]) });
    expect(answer.res.status, answer.text).toBe(200);
    expectJson(answer.res);
    const body = JSON.parse(answer.text) as typeof full;
    expect(body.serverTime).toBe(NOW);
    const bySymbol = (a: { symbol: string }, b: { symbol: string }) => a.symbol.localeCompare(b.symbol);
    expect([...body.symbols].sort(bySymbol)).toEqual(full.symbols.filter((s) => ["BTCUSDT", "ETHBTC"].includes(s.symbol)).sort(bySymbol));
    expect(withoutTime({ ...body, symbols: [] })).toEqual(withoutTime({ ...full, symbols: [] }));
  });

  it("?symbol=NOPE: 400, -1121", async () => {
    expectBinanceError(await ask(service.url, "/api/v3/exchangeInfo", { symbol: "NOPE" }), 400, -1121);
  });

  it('?symbols=["BTCUSDT","NOPE"]: 400, -1121', async () => {
    expectBinanceError(await ask(service.url, "/api/v3/exchangeInfo", { symbols: JSON.stringify(["BTCUSDT", "NOPE"]) }), 400, -1121);
  });
});

describe.each([SPOT, FUTURES])("$name klines while the upstream is down", (market) => {
  const klines = `${market.api}/klines`;

  /** An upstream outage in Binance's shape: 503 or 429, when to come back, and a `{code, msg}` body. */
  function expectUnavailable(answer: { res: Response; text: string }) {
    expect([503, 429], answer.text).toContain(answer.res.status);
    const retryAfter = answer.res.headers.get("Retry-After");
    expect(retryAfter).not.toBeNull();
    expect(/^\d+$/.test(retryAfter!) || !Number.isNaN(Date.parse(retryAfter!))).toBe(true);
    expectJson(answer.res);
    const body = JSON.parse(answer.text) as { code: unknown; msg: unknown };
    expect(typeof body.code).toBe("number");
    expect(typeof body.msg).toBe("string");
  }

  it("a service that never reached the upstream answers 503 or 429 with Retry-After, and answers", async () => {
    const service = await startService();
    standIn.set({ serverError: { count: Infinity } });

    const answer = await ask(service.url, klines, { symbol: "BTCUSDT", interval: "1h", startTime: ms("2024-02-01T00:00:00Z"), endTime: ms("2024-02-10T00:00:00Z") });

    expectUnavailable(answer);
    expect(standIn.served.length).toBeGreaterThan(0);
  });

  it("a range never cached answers 503 or 429 with Retry-After; a cached closed range still answers 200, the same bytes", async () => {
    const service = await startService();
    const cached = { symbol: "BTCUSDT", interval: "1h", startTime: ms("2024-03-05T00:00:00Z"), endTime: ms("2024-03-12T00:00:00Z") };
    const expected = await binance(klines, cached);
    const warm = await ask(service.url, klines, cached);
    expect(warm.res.status, warm.text).toBe(200);
    expect(warm.text).toBe(expected.text);

    standIn.reset();
    standIn.set({ serverError: { count: Infinity } });
    const never = await ask(service.url, klines, { symbol: "BTCUSDT", interval: "1h", startTime: ms("2023-09-05T00:00:00Z"), endTime: ms("2023-09-12T00:00:00Z") });
    expectUnavailable(never);
    expect(standIn.served.length).toBeGreaterThan(0);

    const still = await ask(service.url, klines, cached);
    expect(still.res.status, still.text).toBe(200);
    expectJson(still.res);
    expect(still.text).toBe(expected.text);
  });
});

describe.each([SPOT, FUTURES])("$name klines: what a request may spend, and Binance's other checks", (market) => {
  const klines = `${market.api}/klines`;
  const TOKEN = "raw-test-write-token";
  const bearer = { headers: { Authorization: `Bearer ${TOKEN}` } };
  const closed = { symbol: "ETHUSDT", interval: "1h", startTime: ms("2024-04-02T00:00:00Z"), endTime: ms("2024-04-05T00:00:00Z") };

  async function startGuarded(): Promise<ServedApp> {
    const built = testApp({ binanceUrl: standIn.url, archiveUrl: standIn.url, now: new Date(NOW).toISOString(), cacheApiToken: TOKEN });
    cleanups.push(() => rmSync(built.dir, { recursive: true, force: true }));
    const served = await serveApp(built.app);
    cleanups.push(() => served.close());
    return served;
  }

  it("without the token, a range it would have to fetch is 401 -2015 and nothing goes to Binance; once fetched with it, served to anyone", async () => {
    const service = await startGuarded();
    const expected = await binance(klines, closed);

    const refused = await ask(service.url, klines, closed);
    expectBinanceError(refused, 401, -2015);
    expect(standIn.served).toEqual([]);

    const fetched = await ask(service.url, klines, closed, bearer);
    expect(fetched.res.status, fetched.text).toBe(200);
    expect(fetched.text).toBe(expected.text);

    standIn.reset();
    const anonymous = await ask(service.url, klines, closed);
    expect(anonymous.res.status, anonymous.text).toBe(200);
    expect(anonymous.text).toBe(expected.text);
    expect(standIn.served).toEqual([]);
  });

  it("without the token, a range reaching now gets the closed candles the cache holds and no pass-through", async () => {
    const service = await startGuarded();
    const query = { symbol: "BTCUSDT", interval: "1h", startTime: NOW - 5 * 3_600_000 };
    const withToken = await ask(service.url, klines, query, bearer);
    expect(withToken.res.status, withToken.text).toBe(200);
    const rows = JSON.parse(withToken.text) as unknown[][];
    expect(rows.at(-1)?.[0]).toBe(ms("2024-06-15T12:00:00Z"));
    expect(withToken.res.headers.get("X-Passed-Through")).toBe("1");

    standIn.reset();
    const anonymous = await ask(service.url, klines, query);
    expect(anonymous.res.status, anonymous.text).toBe(200);
    expect(anonymous.res.headers.get("X-Passed-Through")).toBe("0");
    expect(JSON.parse(anonymous.text)).toEqual(rows.slice(0, -1));
    expect(standIn.served).toEqual([]);
  });

  it("when the forming candle cannot be had from Binance, the closed ones still come, said so in X-Passed-Through", async () => {
    const service = await startService();
    const query = { symbol: "BTCUSDT", interval: "1h", startTime: NOW - 5 * 3_600_000 };
    const expected = JSON.parse((await binance(klines, query)).text) as unknown[][];
    const first = await ask(service.url, klines, query);
    expect(first.res.status, first.text).toBe(200);

    standIn.set({ serverError: { count: Infinity } });
    const answer = await ask(service.url, klines, query);
    expect(answer.res.status, answer.text).toBe(200);
    expect(answer.res.headers.get("X-Passed-Through")).toBe("failed");
    expect(JSON.parse(answer.text)).toEqual(expected.slice(0, -1));
  });

  it.each(["0", "+00:00", "-00:00", "00:00"])("timeZone=%s (UTC): the same candles as without it", async (timeZone) => {
    const service = await startService();
    const expected = await binance(klines, closed);
    const answer = await ask(service.url, klines, { ...closed, timeZone });
    expect(answer.res.status, answer.text).toBe(200);
    expect(answer.text).toBe(expected.text);
  });

  if (market === SPOT) {
    it.each(["8", "+08:00", "-5", "Europe/Paris"])("timeZone=%s, which it does not serve: 400, -1130", async (timeZone) => {
      const service = await startService();
      expectBinanceError(await ask(service.url, klines, { ...closed, timeZone }), 400, -1130);
      expect(standIn.served).toEqual([]);
    });
  } else {
    it("timeZone, which Binance's futures klines do not have: ignored, as Binance ignores it", async () => {
      const service = await startService();
      const expected = await binance(klines, closed);
      const answer = await ask(service.url, klines, { ...closed, timeZone: "+08:00" });
      expect(answer.res.status, answer.text).toBe(200);
      expect(answer.text).toBe(expected.text);
    });
  }

  it("startTime after endTime: 400, -1023", async () => {
    const service = await startService();
    const answer = await ask(service.url, klines, { ...closed, startTime: closed.endTime, endTime: closed.startTime });
    expectBinanceError(answer, 400, -1023);
    expect(JSON.parse(answer.text)).toEqual({ code: -1023, msg: "Start time is greater than end time." });
  });

  it("a request from another site's page is refused, and nothing goes to Binance", async () => {
    const service = await startService();
    const answer = await ask(service.url, klines, closed, { headers: { "Sec-Fetch-Site": "cross-site" } });
    // A browser's defence, not a Binance client's concern: the service's own error, as on every route.
    expect(answer.res.status, answer.text).toBe(403);
    expect(JSON.parse(answer.text)).toMatchObject({ status: "error", error: { code: "FORBIDDEN_ORIGIN" } });
    expect(standIn.served).toEqual([]);
  });
});

describe.each([
  { path: "/fapi/v1/markPriceKlines", param: "symbol" },
  { path: "/fapi/v1/indexPriceKlines", param: "pair" },
  { path: "/fapi/v1/premiumIndexKlines", param: "symbol" },
])("$path, byte for byte Binance's", ({ path, param }) => {
  let service: ServedApp;
  beforeAll(async () => {
    service = await startService();
  });

  it.each<Query>([
    { interval: "1h", startTime: ms("2024-02-28T00:00:00Z"), limit: 100 },
    { interval: "1h", endTime: ms("2024-04-01T05:00:00Z"), limit: 48 },
    { interval: "1d", startTime: ms("2024-01-01T00:00:00Z"), endTime: ms("2024-05-31T00:00:00Z") },
    { interval: "1m", startTime: ms("2024-03-31T23:00:00Z"), limit: 1500 },
  ])("%o, then again from the cache alone", async (range) => {
    const query = { [param]: "ETHUSDT", ...range };
    const expected = await binance(path, query);
    expect(expected.res.status, expected.text).toBe(200);

    const first = await ask(service.url, path, query);
    expect(first.res.status, first.text).toBe(200);
    expectJson(first.res);
    expect(first.text).toBe(expected.text);

    standIn.reset();
    const again = await ask(service.url, path, query);
    expect(again.text).toBe(expected.text);
    expect(again.res.headers.get("X-Upstream-Requests")).toBe("0");
    expect(standIn.served).toEqual([]);
  });

  it("a range reaching now ends with Binance's candle still forming", async () => {
    const query = { [param]: "BTCUSDT", interval: "1m", startTime: NOW - 3_600_000 };
    const expected = await binance(path, query);
    const answer = await ask(service.url, path, query);
    expect(answer.res.status, answer.text).toBe(200);
    expect(answer.text).toBe(expected.text);
    expect((JSON.parse(answer.text) as unknown[][]).at(-1)?.[0]).toBe(ms("2024-06-15T12:30:00Z"));
  });

  it(`without ${param}: 400, -1102 naming it`, async () => {
    const answer = await ask(service.url, path, { interval: "1h", limit: 10 });
    expectBinanceError(answer, 400, -1102);
    expect(answer.text).toContain(`'${param}'`);
  });
});

describe("GET /fapi/v1/fundingRate", () => {
  const PATH = "/fapi/v1/fundingRate";
  const queries: Query[] = [
    { symbol: "BTCUSDT", startTime: ms("2024-02-03T05:00:00Z"), limit: 1000 },
    { symbol: "BTCUSDT", startTime: ms("2024-02-03T05:00:00Z"), endTime: ms("2024-03-01T00:00:00Z") },
    { symbol: "BTCUSDT", startTime: ms("2024-02-29T16:00:00Z"), endTime: ms("2024-03-01T00:00:00Z"), limit: 2 },
    { symbol: "BTCUSDT", endTime: ms("2024-04-01T00:00:00Z"), limit: 7 },
    { symbol: "BTCUSDT" },
    { symbol: "BTCUSDT", limit: 1000 },
    { symbol: "ETHUSDT", startTime: ms("2024-06-10T00:00:00Z") },
    { symbol: "BTCUSDT", startTime: ms("2017-07-01T00:00:00Z"), limit: 3 },
  ];

  it.each(queries)("answers %o with Binance's bytes, and a repeat from the cache alone", async (query) => {
    const service = await startService();
    const expected = await binance(PATH, query);
    expect(expected.res.status).toBe(200);
    expect(JSON.parse(expected.text)).not.toEqual([]);
    const cold = await ask(service.url, PATH, query);
    expect(cold.res.status, cold.text).toBe(200);
    expectJson(cold.res);
    expect(cold.text).toBe(expected.text);

    standIn.reset();
    const warm = await ask(service.url, PATH, query);
    expect(warm.text).toBe(expected.text);
    expect(standIn.served.filter((request) => request.path === PATH)).toEqual([]);
  });

  it.each([
    [{}, 400, -1102],
    [{ symbol: "BTC/USDT" }, 400, -1100],
    [{ symbol: "BTCUSDT", limit: 1001 }, 400, -1130],
    [{ symbol: "BTCUSDT", limit: 0 }, 400, -1130],
    [{ symbol: "BTCUSDT", startTime: "soon" }, 400, -1100],
    [{ symbol: "BTCUSDT", startTime: ms("2024-03-02T00:00:00Z"), endTime: ms("2024-03-01T00:00:00Z") }, 400, -1023],
    [{ symbol: "NOPEUSDT", startTime: ms("2024-03-01T00:00:00Z") }, 400, -1121],
  ] as [Query, number, number][])("refuses %o in Binance's words (%i, code %i)", async (query, status, code) => {
    const service = await startService();
    expectBinanceError(await ask(service.url, PATH, query), status, code);
  });
});
