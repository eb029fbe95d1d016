/**
 * The candle chart: an entry's candles, or a klines range's, drawn with TradingView's lightweight-charts (bundled
 * with the page: no CDN), volume in a pane below, gaps left blank and listed; a futures month's funding rates (as
 * the cache holds them) as bars in a pane under the candles.
 */
import { CandlestickSeries, createChart, HistogramSeries, type IChartApi, type Time, type WhitespaceData } from "lightweight-charts";
import type { CacheEntryInfo } from "../../src/cache/data-cache.js";
import { INTERVALS, type Interval } from "../../src/market.js";
import { problem, request, urlOf } from "./api.js";
import { byId, element } from "./dom.js";
import { CHART_MAX_CANDLES, chartableRange, chartDataOf, fundingPointsOf, type ChartData } from "./candles.js";
import { counted, describe, utcText } from "./format.js";
import { monthMs } from "./months.js";

const RISING = "#1b7a3d";
const FALLING = "#b3261e";
/** Gaps listed under the chart; the rest are counted. */
const GAPS_LISTED = 20;

interface Rows {
  rows: Record<string, unknown>[];
}

/** A series of the coverage picture, as far as a chart of one of its months needs it. */
export interface Series {
  symbol: string;
  interval: string;
  market_type: string;
}

const realCandles = (data: ChartData): number => data.candles.filter((point) => "open" in point).length;
const isInterval = (text: string): text is Interval => (INTERVALS as readonly string[]).includes(text);

export function createChartPanel() {
  const panel = byId("chart-panel");
  const container = byId("chart");
  let chart: IChartApi | null = null;
  /** Each chart asked for supersedes the one before: an answer that comes late is dropped. */
  let asked = 0;

  function clear(): void {
    chart?.remove();
    chart = null;
    container.removeAttribute("data-candles");
    container.removeAttribute("data-gaps");
    byId("chart-gaps").replaceChildren();
  }

  function open(title: string, note: string): number {
    clear();
    panel.hidden = false;
    byId("chart-title").textContent = title;
    byId("chart-note").textContent = note;
    byId("chart-state").textContent = "Loading…";
    byId("chart-state").hidden = false;
    panel.scrollIntoView({ block: "nearest" });
    return ++asked;
  }

  function fail(text: string): void {
    byId("chart-state").textContent = text;
    byId("chart-state").hidden = false;
    container.setAttribute("data-state", "failed");
  }

  async function draw(ticket: number, interval: Interval, url: string, fundingUrl?: string): Promise<void> {
    container.setAttribute("data-state", "loading");
    const [result, funding] = await Promise.all([request<Rows>(url), fundingUrl ? request<Rows>(fundingUrl) : null]);
    if (ticket !== asked) return;
    if (!result.ok) return fail(`Could not load the candles (${problem(result)}).`);
    const data = chartDataOf(interval, Array.isArray(result.data.rows) ? result.data.rows : []);
    if (realCandles(data) === 0) return fail("There are no candles to draw.");
    byId("chart-state").hidden = true;
    render(data);
    listGaps(data);
    if (funding) drawFunding(funding);
    container.setAttribute("data-state", "drawn");
  }

  /** The month's funding rates as bars (percent) in a pane of their own, under the candles and volume. */
  function drawFunding(result: Awaited<ReturnType<typeof request<Rows>>>): void {
    const note = byId("chart-note");
    if (!result.ok) {
      note.textContent += ` Funding rates: not shown (${problem(result)}).`;
      return;
    }
    const points = fundingPointsOf(Array.isArray(result.data.rows) ? result.data.rows : []);
    container.setAttribute("data-funding", String(points.length));
    note.textContent += ` ${counted(points.length, "funding rate", "funding rates")} in the pane below (percent per settlement).`;
    if (!chart || points.length === 0) return;
    const pane = chart.panes().length;
    const percent = { type: "custom" as const, minMove: 0.0001, formatter: (value: number) => `${value.toFixed(4)}%` };
    const bars = chart.addSeries(HistogramSeries, { priceFormat: percent, priceLineVisible: false }, pane);
    bars.setData(points as unknown as WhitespaceData<Time>[]);
    chart.panes()[pane]?.setStretchFactor(1);
  }

  function render(data: ChartData): void {
    chart = createChart(container, {
      autoSize: true,
      // Its logo adds a <style> element the CSP refuses; the page credits TradingView in its markup instead.
      layout: { background: { color: "#ffffff" }, textColor: "#1d2330", attributionLogo: false },
      grid: { vertLines: { color: "#eef1f5" }, horzLines: { color: "#eef1f5" } },
      timeScale: { timeVisible: true, secondsVisible: false },
    });
    const candles = chart.addSeries(CandlestickSeries, {
      upColor: RISING,
      downColor: FALLING,
      borderVisible: false,
      wickUpColor: RISING,
      wickDownColor: FALLING,
    });
    candles.setData(data.candles as unknown as WhitespaceData<Time>[]);
    // Price kinds' candles (mark, index, premium) carry zero volumes: no pane for them.
    if (data.hasVolume && data.volumes.some((point) => "value" in point && point.value > 0)) {
      const volume = chart.addSeries(HistogramSeries, { priceFormat: { type: "volume" }, priceLineVisible: false, lastValueVisible: false }, 1);
      volume.setData(
        data.volumes.map((point) => ("value" in point ? { time: point.time, value: point.value, color: point.rising ? RISING : FALLING } : point)) as unknown as WhitespaceData<Time>[],
      );
      chart.panes()[0]?.setStretchFactor(3);
      chart.panes()[1]?.setStretchFactor(1);
    }
    chart.timeScale().fitContent();
    container.setAttribute("data-candles", String(realCandles(data)));
    container.setAttribute("data-gaps", String(data.gaps.length));
  }

  function listGaps(data: ChartData): void {
    const list = byId("chart-gaps");
    const count = realCandles(data);
    const summary = element("p", {
      text:
        `${counted(count, "candle", "candles")}; ` +
        (data.gaps.length === 0 ? "no gap between the first and the last." : `${counted(data.gaps.length, "gap", "gaps")} (left blank):`) +
        (data.skipped > 0 ? ` ${counted(data.skipped, "row", "rows")} without a readable time or price left out.` : ""),
    });
    const items = data.gaps.slice(0, GAPS_LISTED).map((gap) =>
      element("li", {
        text: `${utcText(gap.fromMs)} \u2192 ${utcText(gap.toMs)}: ${counted(gap.candles, "candle", "candles")} missing`,
        attrs: { "data-from": new Date(gap.fromMs).toISOString() },
      }),
    );
    const more = data.gaps.length > GAPS_LISTED ? [element("li", { text: `and ${data.gaps.length - GAPS_LISTED} more` })] : [];
    list.replaceChildren(summary, ...(items.length > 0 ? [element("ul", {}, ...items, ...more)] : []));
  }

  byId("chart-close").addEventListener("click", () => {
    asked++;
    clear();
    panel.hidden = true;
  });

  return {
    /** An entry's candles (the data endpoint, JSON rows), when it holds few enough to draw. */
    showEntry(entry: CacheEntryInfo): void {
      const ticket = open(describe(entry), "Candles of this entry, as the data endpoint serves them.");
      if (!isInterval(entry.interval)) return fail(`Its interval ${entry.interval} is not one the chart knows.`);
      if (entry.rows > CHART_MAX_CANDLES) {
        return fail(
          `This entry holds ${counted(entry.rows, "candle", "candles")}; the chart draws at most ` +
            `${CHART_MAX_CANDLES.toLocaleString("en-US")}. Chart one of its months from the read-through coverage instead.`,
        );
      }
      const { symbol, interval, start_date, end_date, market_type } = entry;
      void draw(ticket, entry.interval, urlOf("readData", { symbol, interval, start_date, end_date, market_type }));
    },
    /** A month of a series read through the klines endpoint (cut to its first days past CHART_MAX_CANDLES). */
    showMonth(series: Series, month: string, price: string | null = "trade"): void {
      if (!isInterval(series.interval)) return;
      const range = chartableRange(series.interval, monthMs(month), monthMs(month, 1));
      const kind = price && price !== "trade" ? `, ${price} price` : "";
      const title = `${series.symbol} ${series.interval} ${month} (${series.market_type}${kind}), read through`;
      const note = range.cut
        ? `Its first days, ${range.start_date} to ${range.end_date}: the chart draws at most ${CHART_MAX_CANDLES.toLocaleString("en-US")} candles.`
        : `${range.start_date} to ${range.end_date}, as GET /api/v1/klines answers it.`;
      const ticket = open(title, note);
      const { start_date, end_date } = range;
      const query = {
        symbol: series.symbol,
        interval: series.interval,
        start_date,
        end_date,
        market_type: series.market_type,
        ...(price && price !== "trade" ? { price } : {}),
      };
      // A futures month shows its funding rates under its candles (read as the cache holds them, or fetched once).
      const funding = series.market_type === "futures" ? urlOf("funding", { symbol: series.symbol, start_date, end_date }) : undefined;
      void draw(ticket, series.interval, urlOf("klines", query), funding);
    },
  };
}

export type ChartPanel = ReturnType<typeof createChartPanel>;
