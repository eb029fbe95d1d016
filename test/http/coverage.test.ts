import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CoveragePage } from "../../src/reports/coverage.js";
import type { ErrorEnvelope, SuccessEnvelope } from "../../src/http/envelope.js";
import { dataUrl, testApp } from "../support/app.js";
import { startBinanceStandIn, type BinanceStandIn } from "../support/binance-standin.js";
import { klinesCsv } from "../support/fixtures.js";

const COVERAGE = "/api/v1/backtest/cache/coverage";
const NOW = "2026-11-25T12:00:30.000Z";

let standIn: BinanceStandIn;
beforeAll(async () => {
  standIn = await startBinanceStandIn({
    now: () => Date.parse(NOW),
    maintenance: [{ fromMs: Date.parse("2026-10-14T10:00:00Z"), toMs: Date.parse("2026-10-14T12:00:00Z") }],
  });
});
afterAll(() => standIn.close());

async function put(app: ReturnType<typeof testApp>["app"], id: Record<string, string>) {
  const res = await app.request(dataUrl(id), { method: "PUT", body: klinesCsv(3), headers: { "Content-Type": "text/csv" } });
  expect(res.status).toBe(201);
}

async function coverage(app: ReturnType<typeof testApp>["app"], query = ""): Promise<CoveragePage> {
  const res = await app.request(`${COVERAGE}${query}`);
  expect(res.status).toBe(200);
  const body = (await res.json()) as SuccessEnvelope<CoveragePage>;
  expect(body.status).toBe("success");
  return body.data;
}

describe("GET coverage", () => {
  it("shows the months of the datasets PUT, a month between them as a gap, the current one up to the clock's today", async () => {
    const { app } = testApp({ now: "2026-11-25T12:00:00.000Z" });
    await put(app, { symbol: "BTCUSDT", interval: "1h", start_date: "2026-08-01", end_date: "2026-08-31" });
    await put(app, { symbol: "BTCUSDT", interval: "1h", start_date: "2026-09-01", end_date: "2026-09-10" });
    await put(app, { symbol: "BTCUSDT", interval: "1h", start_date: "2026-11-01", end_date: "2026-11-25" });
    await put(app, { symbol: "ETHUSDT", interval: "1d", start_date: "2021-01-01", end_date: "2021-01-31", market_type: "futures" });

    const page = await coverage(app);
    expect(page).toMatchObject({ matching_series: 2, next_cursor: null });
    expect(page.series[0]).toEqual({
      symbol: "BTCUSDT",
      interval: "1h",
      market_type: "spot",
      source: "datasets",
      entries: 3,
      rows: 9,
      first_month: "2026-08",
      last_month: "2026-11",
      months: [
        { month: "2026-08", state: "held", days: 31, days_held: 31, entries: 1 },
        { month: "2026-09", state: "partial", days: 30, days_held: 10, entries: 1 },
        { month: "2026-10", state: "gap", days: 31, days_held: 0, entries: 0 },
        { month: "2026-11", state: "held", days: 25, days_held: 25, entries: 1 },
      ],
    });
    expect(page.series[1]).toMatchObject({ symbol: "ETHUSDT", market_type: "futures", first_month: "2021-01", last_month: "2021-01" });

    const filtered = await coverage(app, "?symbol=ethusdt&market_type=FUTURES&source=datasets");
    expect(filtered.series.map((s) => s.symbol)).toEqual(["ETHUSDT"]);
    expect(filtered.matching_series).toBe(1);
    expect((await coverage(app, "?source=read_through")).series).toEqual([]);

    const first = await coverage(app, "?limit=1");
    expect(first.series.map((s) => s.symbol)).toEqual(["BTCUSDT"]);
    const second = await coverage(app, `?limit=1&cursor=${first.next_cursor}`);
    expect(second).toMatchObject({ next_cursor: null, matching_series: 2 });
    expect(second.series.map((s) => s.symbol)).toEqual(["ETHUSDT"]);
  });

  it("shows the read-through's partitions apart: complete months held, the exchange's gaps, the current month partial", async () => {
    const { app } = testApp({ binanceUrl: standIn.url, now: NOW });
    const klines = await app.request(`/api/v1/klines?${new URLSearchParams({ symbol: "BTCUSDT", interval: "1h", start_date: "2026-09-01", end_date: "2026-11-25", format: "csv" })}`);
    expect(klines.status).toBe(200);
    await klines.arrayBuffer();

    const page = await coverage(app);
    expect(page.series.map((s) => s.source)).toEqual(["read_through"]);
    expect(page.series[0]).toMatchObject({ symbol: "BTCUSDT", interval: "1h", market_type: "spot", entries: 3, first_month: "2026-09", last_month: "2026-11" });
    expect(page.series[0]?.months).toEqual([
      { month: "2026-09", state: "held", days: 30, days_held: 30, entries: 1 },
      { month: "2026-10", state: "held", days: 31, days_held: 31, entries: 1, exchange_gaps: 1 },
      { month: "2026-11", state: "partial", days: 25, days_held: 25, entries: 1 },
    ]);
  });

  it.each([
    ["?limit=0", "limit"],
    ["?limit=1001", "limit"],
    ["?limit=many", "limit"],
    ["?interval=7m", "interval"],
    ["?market_type=options", "market_type"],
    ["?symbol=BTC-USDT", "symbol"],
    ["?source=mine", "source"],
    ["?cursor=not%20a%20cursor", "cursor"],
    ["?cursor=bm90LWpzb24", "cursor"],
    ["?source=datasets&source=read_through", "source"],
  ])("refuses %s naming %s", async (query, field) => {
    const { app } = testApp();
    const res = await app.request(`${COVERAGE}${query}`);
    expect(res.status).toBe(400);
    const body = (await res.json()) as ErrorEnvelope;
    expect(body.error.code).toBe("VALIDATION_ERROR");
    expect(body.error.issues?.map((issue) => issue.field)).toContain(field);
  });

  it("asks for the read token when info does", async () => {
    const { app } = testApp({ cacheReadToken: "r", cacheApiToken: "w" });
    expect((await app.request(COVERAGE)).status).toBe(401);
    expect((await app.request(COVERAGE, { headers: { Authorization: "Bearer r" } })).status).toBe(200);
  });
});
