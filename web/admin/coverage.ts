/**
 * The coverage picture: for each symbol, interval, market and source, its months across (held, partial, gap), one
 * page of series at a time from GET /api/v1/backtest/cache/coverage. A read-through month charts its candles on
 * click; a dataset month narrows the entries to its series.
 */
import type { CoveragePage, MonthCoverage, SeriesCoverage } from "../../src/reports/coverage.js";
import { problem, request, urlOf } from "./api.js";
import { byId, element } from "./dom.js";
import type { Filters } from "./filters.js";
import { counted } from "./format.js";
import { axisOf, yearsOf } from "./months.js";

export const SERIES_PAGE_SIZE = 25;
/** Each source's label, and the klines `price` its months open as (null: a client's datasets, opened as entries). */
const SOURCES: Record<SeriesCoverage["source"], { label: string; price: string | null }> = {
  datasets: { label: "datasets", price: null },
  read_through: { label: "read-through", price: "trade" },
  read_through_mark: { label: "mark price, read-through", price: "mark" },
  read_through_index: { label: "index price, read-through", price: "index" },
  read_through_premium: { label: "premium index, read-through", price: "premium" },
  funding: { label: "funding rates, read-through", price: null },
};
const STATE_LABELS: Record<MonthCoverage["state"], string> = { held: "held", partial: "partial", gap: "gap" };

export interface CoverageActions {
  /** A read-through month's candles; `price` the kind of them (trade, mark, index, premium). */
  chartMonth(series: SeriesCoverage, month: string, price: string | null): void;
  showSeries(series: SeriesCoverage): void;
}

/** `BTCUSDT 1h spot, read-through`. */
const seriesName = (series: SeriesCoverage) =>
  `${series.symbol} ${series.interval} ${series.market_type}, ${SOURCES[series.source].label}`;

function monthTitle(series: SeriesCoverage, month: MonthCoverage): string {
  const days = month.state === "gap" ? "nothing held" : `${month.days_held} of ${month.days} days held`;
  const gaps = month.exchange_gaps ? `; ${counted(month.exchange_gaps, "gap", "gaps")} on the exchange` : "";
  return `${seriesName(series)}, ${month.month}: ${STATE_LABELS[month.state]} (${days}, ${counted(month.entries, "entry", "entries")}${gaps})`;
}

export function createCoverage(filters: () => Filters, actions: CoverageActions) {
  const state = { cursors: [undefined] as (string | undefined)[], page: 0, next: null as string | null };

  function cellOf(series: SeriesCoverage, month: MonthCoverage | undefined, name: string): HTMLTableCellElement {
    const td = element("td", { className: "month" });
    if (month === undefined) return td;
    const title = monthTitle(series, month);
    const attrs = { "data-month": name, "data-state": month.state, title, "aria-label": title };
    const mark = month.exchange_gaps ? " has-exchange-gaps" : "";
    if (month.state === "gap") {
      td.append(element("span", { className: `cov ${month.state}`, attrs }));
      return td;
    }
    const open = element("button", { className: `cov ${month.state}${mark}`, attrs: { type: "button", ...attrs } });
    open.addEventListener("click", () =>
      SOURCES[series.source].price !== null ? actions.chartMonth(series, month.month, SOURCES[series.source].price) : actions.showSeries(series),
    );
    td.append(open);
    return td;
  }

  function render(page: CoveragePage): void {
    state.next = page.next_cursor;
    const axis = axisOf(page.series);
    const head = element("tr", {}, element("th", { text: "Series", className: "series", attrs: { scope: "col", rowspan: "2" } }));
    for (const { year, months } of yearsOf(axis)) head.append(element("th", { text: year, className: "year", attrs: { scope: "colgroup", colspan: String(months) } }));
    const monthsRow = element("tr", {}, ...axis.map((month) => element("th", { text: month.slice(5), className: "month", attrs: { scope: "col", title: month } })));
    const rows = page.series.map((series) => {
      const byMonth = new Map(series.months.map((month) => [month.month, month]));
      const label = element("th", { text: seriesName(series), className: "series", attrs: { scope: "row" } });
      return element("tr", { attrs: { "data-series": `${series.symbol}/${series.interval}/${series.market_type}/${series.source}` } }, label, ...axis.map((month) => cellOf(series, byMonth.get(month), month)));
    });
    byId("coverage-table").replaceChildren(element("thead", {}, head, monthsRow), element("tbody", {}, ...rows));
    byId("coverage-table").hidden = rows.length === 0;
    byId("coverage-legend").hidden = rows.length === 0;
    const first = state.page * SERIES_PAGE_SIZE + 1;
    byId("coverage-count").textContent =
      rows.length === 0
        ? "No series matches these filters."
        : `Series ${first.toLocaleString("en-US")}–${(first + rows.length - 1).toLocaleString("en-US")} of ` +
          `${page.matching_series.toLocaleString("en-US")}, ${axis[0] ?? ""} to ${axis.at(-1) ?? ""}.`;
    byId<HTMLButtonElement>("coverage-prev").disabled = state.page === 0;
    byId<HTMLButtonElement>("coverage-next").disabled = state.next === null;
    byId("coverage-pager").hidden = state.page === 0 && state.next === null;
  }

  /** Each read supersedes the one before (see entries.ts). */
  let asked = 0;

  async function load(): Promise<void> {
    const ticket = ++asked;
    const result = await request<CoveragePage>(urlOf("coverage", { limit: String(SERIES_PAGE_SIZE), cursor: state.cursors[state.page], ...filters() }));
    if (ticket !== asked) return;
    if (!result.ok) {
      byId("coverage-count").textContent = `Could not load the coverage (${problem(result)}).`;
      return;
    }
    render(result.data);
  }

  byId("coverage-prev").addEventListener("click", () => {
    state.page = Math.max(0, state.page - 1);
    void load();
  });
  byId("coverage-next").addEventListener("click", () => {
    if (state.next === null) return;
    state.cursors[state.page + 1] = state.next;
    state.page++;
    void load();
  });

  return {
    load,
    reset(): void {
      state.cursors = [undefined];
      state.page = 0;
    },
  };
}
