/**
 * The admin page's script (built by dev/build-admin.ts into what src/http/routes/admin-page.tsx serves): it reads
 * the markup rendered there by element id, and calls the JSON API. Every value that comes from the cache (symbols and every
 * other meta field are stored data, not trusted) reaches the page as text or attributes, never as HTML.
 */
import type { CacheInfo } from "../../src/cache/data-cache.js";
import type { InfoPage } from "../../src/cache/index/page.js";
import { problem } from "./api.js";
import { createChartPanel } from "./chart.js";
import { createCoverage } from "./coverage.js";
import { byId } from "./dom.js";
import { createEntries } from "./entries.js";
import { fillChoices, onFiltersChange, readFilters, setFilters, suggestSymbols } from "./filters.js";
import { utcText } from "./format.js";
import { loadMetrics } from "./metrics.js";
import { notify } from "./notice.js";
import { askToken, setToken, wireToken } from "./token.js";
import { createWrites, wireClear } from "./writes.js";

const root = byId("admin");
const tokenRequired = root.dataset.tokenRequired === "true";
let summary: CacheInfo | null = null;

function setBusy(busy: boolean): void {
  root.setAttribute("aria-busy", busy ? "true" : "false");
  byId<HTMLButtonElement>("refresh").disabled = busy;
}

function renderSummary(info: InfoPage): void {
  summary = info;
  const active = info.total_files > 0;
  const status = byId("status");
  status.textContent = active ? "Active" : "Empty";
  status.className = active ? "badge-active" : "badge-empty";
  byId("total-entries").textContent = String(info.total_files);
  byId("total-size").textContent = String(info.total_size_mb);
  byId("symbol-count").textContent = String(info.cached_symbols.length);
  byId<HTMLButtonElement>("clear").disabled = !active;
  suggestSymbols(info.cached_symbols);
}

const chart = createChartPanel();
const writes = createWrites(tokenRequired, () => refresh(), setBusy);
const entries = createEntries(readFilters, { chart: (entry) => chart.showEntry(entry), remove: (entry) => void writes.deleteEntry(entry) });
const coverage = createCoverage(readFilters, {
  chartMonth: (series, month, price) => chart.showMonth(series, month, price),
  showSeries: (series) => {
    setFilters({ symbol: series.symbol, interval: series.interval, market_type: series.market_type });
    void reloadFiltered().then(() => byId("details").scrollIntoView({ block: "start" }));
  },
});

async function loadEntries(): Promise<void> {
  const result = await entries.load();
  if (result === null) return;
  if (result.ok) {
    renderSummary(result.data);
    entries.render(result.data);
    return;
  }
  if (result.status === 401) {
    setToken(null);
    const text = `Reading this cache needs its token (${problem(result)}).`;
    notify(text, "error");
    return askToken({ what: "read the cache", run: () => void refresh() }, text);
  }
  notify(`Could not load the cache info (${problem(result)}).`, "error");
}

/** Reads everything again: the figures and entries, the coverage, the metrics. */
async function refresh(): Promise<void> {
  setBusy(true);
  await Promise.all([loadEntries(), coverage.load(), loadMetrics()]);
  setBusy(false);
  byId("updated").textContent = `Updated ${utcText(Date.now())}`;
}

/** The filters changed: both views start again from their first page. */
async function reloadFiltered(): Promise<void> {
  entries.reset();
  coverage.reset();
  setBusy(true);
  await Promise.all([loadEntries(), coverage.load()]);
  setBusy(false);
}

fillChoices();
onFiltersChange(() => void reloadFiltered());
entries.wire(() => void loadEntries());
wireClear(writes, () => summary);
wireToken(tokenRequired);
byId("refresh").addEventListener("click", () => void refresh());
byId("toggle-details").addEventListener("click", (event) => {
  const toggle = event.currentTarget as HTMLButtonElement;
  const shown = byId("details").hidden;
  byId("details").hidden = !shown;
  toggle.setAttribute("aria-expanded", String(shown));
  toggle.textContent = shown ? "Hide details" : "Show details";
});
void refresh();
