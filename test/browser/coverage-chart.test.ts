import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KLINE_COLUMNS, type DatasetId } from "../../src/market.js";
import { startBinanceStandIn, type BinanceStandIn } from "../support/binance-standin.js";
import { openPage, putThroughApi, startService, text } from "./service.js";
import { PHONE, launchChromium, screenshot } from "./support.js";

const NOW = "2026-11-25T12:00:00.000Z";
const HOUR_MS = 3_600_000;
/** The exchange had no candle in these four hours: a proven gap of the read-through. */
const MAINTENANCE = { fromMs: Date.UTC(2021, 2, 10, 10), toMs: Date.UTC(2021, 2, 10, 14) };
/** A dataset a client stored with four hours missing. */
const HOLE = { fromMs: Date.UTC(2021, 2, 5, 6), toMs: Date.UTC(2021, 2, 5, 10) };

let context: BrowserContext;
let closeBrowser: () => Promise<void>;
let standIn: BinanceStandIn;

beforeAll(async () => {
  ({ context, close: closeBrowser } = await launchChromium());
  standIn = await startBinanceStandIn({ now: () => Date.parse(NOW), maintenance: [MAINTENANCE] });
});

afterAll(async () => {
  await closeBrowser?.();
  await standIn?.close();
});

/** Hourly candles from `fromMs` to `toMs`, prices that move (so candles have bodies), none in `hole`. */
function hourlyCsv(fromMs: number, toMs: number, hole?: { fromMs: number; toMs: number }): string {
  const lines = [KLINE_COLUMNS.join(",")];
  for (let t = fromMs, i = 0; t < toMs; t += HOUR_MS, i++) {
    if (hole && t >= hole.fromMs && t < hole.toMs) continue;
    const open = 100 + 10 * Math.sin(i / 12);
    const close = open + (i % 3 === 0 ? -1.5 : 1.2);
    const stamp = new Date(t).toISOString().slice(0, 19).replace("T", " ");
    const prices = [open, Math.max(open, close) + 0.8, Math.min(open, close) - 0.8, close].map((p) => p.toFixed(2));
    lines.push(`${stamp},${prices.join(",")},${(50 + (i % 24) * 3).toFixed(1)},${t + HOUR_MS - 1},5000,${i},1,100,0`);
  }
  return `${lines.join("\n")}\n`;
}

const ETH = (start_date: string, end_date: string): DatasetId => ({ symbol: "ETHUSDT", interval: "1h", start_date, end_date, market_type: "spot" });
const day = (date: string) => Date.parse(`${date}T00:00:00Z`);

/** The states of one coverage row, month by month, as the page draws them (empty where the axis has no month of it). */
const statesOf = (page: Page, series: string) =>
  page.$$eval(`#coverage-table tr[data-series="${series}"] td.month`, (cells) =>
    cells.map((cell) => `${cell.firstElementChild?.getAttribute("data-month") ?? "-"}:${cell.firstElementChild?.getAttribute("data-state") ?? "-"}`),
  );

/** Pixels of the chart's canvases in the candles' colours: the chart drew candles, not just axes. */
const colouredPixels = (page: Page) =>
  page.$$eval("#chart canvas", (canvases) => {
    let count = 0;
    for (const canvas of canvases as HTMLCanvasElement[]) {
      const context = canvas.getContext("2d");
      if (!context || canvas.width === 0 || canvas.height === 0) continue;
      const { data } = context.getImageData(0, 0, canvas.width, canvas.height);
      for (let i = 0; i < data.length; i += 4) {
        const [r, g, b] = [data[i] ?? 0, data[i + 1] ?? 0, data[i + 2] ?? 0];
        // #1b7a3d (rising) or #b3261e (falling), give or take antialiasing.
        if ((g > r + 50 && g > b + 30) || (r > g + 80 && r > b + 80)) count++;
      }
    }
    return count;
  });

describe("the coverage picture and the candle chart in Chromium", () => {
  it("shows held, partial and gap months per series, and charts an entry and a read-through month with their gaps", async () => {
    const service = await startService({ binanceUrl: standIn.url, now: NOW });
    try {
      // Datasets, as a client stores them: all of January, March 1-10 (with a hole), nothing in February.
      await putThroughApi(service, ETH("2021-01-01", "2021-01-31"), hourlyCsv(day("2021-01-01"), day("2021-02-01")));
      await putThroughApi(service, ETH("2021-03-01", "2021-03-10"), hourlyCsv(day("2021-03-01"), day("2021-03-11"), HOLE));
      // The read-through, through its own endpoint: January, then March and April; February never asked for.
      for (const [start, end] of [["2021-01-01", "2021-01-31"], ["2021-03-01", "2021-04-30"]]) {
        const url = `${service.url}/api/v1/klines?symbol=BTCUSDT&interval=1h&start_date=${start}&end_date=${end}`;
        const response = await fetch(url, { headers: service.auth });
        expect(response.status).toBe(200);
      }

      const { page, watch } = await openPage(context, service);
      expect(await text(page, "#coverage-count")).toBe("Series 1–2 of 2, 2021-01 to 2021-04.");
      expect(await statesOf(page, "BTCUSDT/1h/spot/read_through")).toEqual([
        "2021-01:held",
        "2021-02:gap",
        "2021-03:held",
        "2021-04:held",
      ]);
      expect(await statesOf(page, "ETHUSDT/1h/spot/datasets")).toEqual(["2021-01:held", "2021-02:gap", "2021-03:partial", "-:-"]);
      const march = page.locator('#coverage-table tr[data-series="BTCUSDT/1h/spot/read_through"] [data-month="2021-03"]');
      expect(await march.getAttribute("title")).toBe(
        "BTCUSDT 1h spot, read-through, 2021-03: held (31 of 31 days held, 1 entry; 1 gap on the exchange)",
      );
      expect(await march.getAttribute("class")).toContain("has-exchange-gaps");
      const partial = page.locator('#coverage-table tr[data-series="ETHUSDT/1h/spot/datasets"] [data-month="2021-03"]');
      expect(await partial.getAttribute("title")).toBe("ETHUSDT 1h spot, datasets, 2021-03: partial (10 of 31 days held, 1 entry)");

      // A read-through month charts its candles from GET /api/v1/klines, the exchange's gap left blank.
      await march.click();
      const chart = page.locator("#chart");
      await expect.poll(() => chart.getAttribute("data-state")).toBe("drawn");
      expect(await text(page, "#chart-title")).toBe("BTCUSDT 1h 2021-03 (spot), read through");
      expect(await chart.getAttribute("data-candles")).toBe(String(31 * 24 - 4));
      expect(await chart.getAttribute("data-gaps")).toBe("1");
      expect(await page.locator("#chart-gaps li").allTextContents()).toEqual([
        "2021-03-10 10:00:00 UTC → 2021-03-10 14:00:00 UTC: 4 candles missing",
      ]);
      await expect.poll(() => colouredPixels(page)).toBeGreaterThan(500);
      // Volume in its own pane below the candles: two panes of canvases.
      expect(await page.locator("#chart table tr").count()).toBeGreaterThanOrEqual(2);
      await screenshot(page, "admin-chart-desktop");

      // An entry charts from the data endpoint: the client's hole shows as a gap too.
      await page.getByRole("button", { name: "Chart ETHUSDT 1h 2021-03-01 to 2021-03-10 (spot)" }).click();
      await expect.poll(() => text(page, "#chart-title")).toBe("ETHUSDT 1h 2021-03-01 to 2021-03-10 (spot)");
      await expect.poll(() => chart.getAttribute("data-state")).toBe("drawn");
      expect(await chart.getAttribute("data-candles")).toBe(String(10 * 24 - 4));
      expect(await page.locator("#chart-gaps li").allTextContents()).toEqual([
        "2021-03-05 06:00:00 UTC → 2021-03-05 10:00:00 UTC: 4 candles missing",
      ]);
      await expect.poll(() => colouredPixels(page)).toBeGreaterThan(500);

      // A dataset month narrows the entries (and the picture) to its series.
      await page.locator('#coverage-table tr[data-series="ETHUSDT/1h/spot/datasets"] [data-month="2021-01"]').click();
      await expect.poll(() => text(page, "#entries-count")).toBe("Showing 1–2 of 2 entries (filtered from 5).");
      expect(await page.getByLabel("Symbol", { exact: true }).inputValue()).toBe("ETHUSDT");
      await expect.poll(() => page.locator("#coverage-table tbody tr").count()).toBe(1);

      await page.setViewportSize(PHONE);
      await screenshot(page, "admin-chart-phone");
      await page.getByRole("button", { name: "Close chart" }).click();
      expect(await page.locator("#chart-panel").isHidden()).toBe(true);

      expect(watch.unexpected()).toEqual([]);
      await page.close();
    } finally {
      await service.close();
    }
  });

  it("shows a futures price kind's months as a series of its own, and charts a mark-price month's candles with its funding rates under them", async () => {
    const service = await startService({ binanceUrl: standIn.url, now: NOW });
    try {
      const url = `${service.url}/api/v1/klines?symbol=BTCUSDT&interval=1h&start_date=2021-03-01&end_date=2021-03-31&market_type=futures&price=mark`;
      expect((await fetch(url, { headers: service.auth })).status).toBe(200);
      const funding = `${service.url}/api/v1/funding?symbol=BTCUSDT&start_date=2021-03-01&end_date=2021-03-31`;
      expect((await fetch(funding, { headers: service.auth })).status).toBe(200);

      const { page } = await openPage(context, service);
      expect(await statesOf(page, "BTCUSDT/1h/futures/read_through_mark")).toEqual(["2021-03:held"]);
      const march = page.locator('#coverage-table tr[data-series="BTCUSDT/1h/futures/read_through_mark"] [data-month="2021-03"]');
      expect(await march.getAttribute("title")).toContain("BTCUSDT 1h futures, mark price, read-through, 2021-03: held");

      await march.click();
      const chart = page.locator("#chart");
      await expect.poll(() => chart.getAttribute("data-state")).toBe("drawn");
      expect(await text(page, "#chart-title")).toBe("BTCUSDT 1h 2021-03 (futures, mark price), read through");
      expect(await chart.getAttribute("data-candles")).toBe(String(31 * 24 - 4));
      // Funding every 8 hours, in a pane of its own under the candles.
      expect(await chart.getAttribute("data-funding")).toBe(String(31 * 3));
      expect(await text(page, "#chart-note")).toContain("93 funding rates in the pane below");
      await expect.poll(() => colouredPixels(page)).toBeGreaterThan(500);
      await screenshot(page, "admin-chart-mark-funding");
      // The funding months are a series of their own in the coverage picture.
      expect(await statesOf(page, "BTCUSDT/1M/futures/funding")).toEqual(["2021-03:held"]);
      await page.close();
    } finally {
      await service.close();
    }
  });
});
