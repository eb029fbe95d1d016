/** The filters above the coverage picture and the entries: one symbol, interval and market, all optional. */
import { INTERVALS, MARKET_TYPES } from "../../src/market.js";
import { byId, element } from "./dom.js";

export interface Filters {
  symbol: string;
  interval: string;
  market_type: string;
}

/** The filters as the info and coverage endpoints take them (empty ones left out). */
export function readFilters(): Filters {
  return {
    symbol: byId<HTMLInputElement>("filter-symbol").value.trim().toUpperCase(),
    interval: byId<HTMLSelectElement>("filter-interval").value,
    market_type: byId<HTMLSelectElement>("filter-market").value,
  };
}

export function setFilters(filters: Filters): void {
  byId<HTMLInputElement>("filter-symbol").value = filters.symbol;
  byId<HTMLSelectElement>("filter-interval").value = filters.interval;
  byId<HTMLSelectElement>("filter-market").value = filters.market_type;
}

const option = (value: string, text = value) => element("option", { text, attrs: { value } });

/** Fills the interval and market choices once; the symbol suggestions whenever info names the cached symbols. */
export function fillChoices(): void {
  byId("filter-interval").replaceChildren(option("", "All intervals"), ...INTERVALS.map((interval) => option(interval)));
  byId("filter-market").replaceChildren(option("", "All markets"), ...MARKET_TYPES.map((market) => option(market)));
}

/** The symbols suggested now, so that 10,000 of them are not rebuilt on every page of entries. */
let suggested = "";

export function suggestSymbols(symbols: readonly string[]): void {
  const key = symbols.join("\n");
  if (key === suggested) return;
  suggested = key;
  byId("symbol-options").replaceChildren(...symbols.map((symbol) => option(String(symbol))));
}

/** Calls `changed` when a filter changes: at once for the selects and on Enter, when typing pauses for the symbol. */
export function onFiltersChange(changed: () => void): void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  byId("filter-symbol").addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(changed, 250);
  });
  byId("filter-symbol").addEventListener("change", () => {
    clearTimeout(timer);
    changed();
  });
  byId("filter-interval").addEventListener("change", changed);
  byId("filter-market").addEventListener("change", changed);
}
