/** The hits-and-misses section: /api/v1/metrics as tables. */
import { MARKET_TYPES } from "../../src/market.js";
import { CACHE_LABELS, type Metrics } from "../../src/http/metrics-format.js";
import { problem, request, urlOf } from "./api.js";
import { byId, cell, element, rowHeader } from "./dom.js";
import { ageText, isoText, knownFirst } from "./format.js";

const labelOf = (name: string): string => (name in CACHE_LABELS ? CACHE_LABELS[name as keyof typeof CACHE_LABELS] : name);

export async function loadMetrics(): Promise<void> {
  const result = await request<Metrics>(urlOf("metrics"));
  const ok = result.ok && typeof result.data.caches === "object" && typeof result.data.symbols_refresh === "object";
  byId("metrics-state").textContent = ok ? "" : `Metrics unavailable (${problem(result.ok ? { status: result.status, message: "unexpected answer" } : result)}).`;
  byId("metrics-state").hidden = ok;
  byId("metrics-body").hidden = !ok;
  if (result.ok && ok) renderMetrics(result.data);
}

function renderMetrics(data: Metrics): void {
  const caches = data.caches as Record<string, Metrics["caches"][keyof Metrics["caches"]]>;
  byId("caches-body").replaceChildren(
    ...knownFirst(Object.keys(caches), Object.keys(CACHE_LABELS)).map((name) => {
      const figures = caches[name] as Metrics["caches"]["data_spot"];
      const ratio = figures.hit_ratio === null ? "n/a" : `${(figures.hit_ratio * 100).toFixed(1)}%`;
      const row = element("tr", { attrs: { "data-cache": name } });
      row.append(rowHeader(labelOf(name)), cell(String(figures.hits), "", "num"), cell(String(figures.misses), "", "num"), cell(ratio, "", "num"));
      return row;
    }),
  );
  const refreshes = data.symbols_refresh as Record<string, Metrics["symbols_refresh"]["spot"]>;
  byId("refresh-body").replaceChildren(
    ...knownFirst(Object.keys(refreshes), MARKET_TYPES).map((market) => {
      const refreshed = refreshes[market] as Metrics["symbols_refresh"]["spot"];
      const at = refreshed.last_refresh_at === null ? "never" : isoText(refreshed.last_refresh_at);
      const age = refreshed.age_seconds === null ? "n/a" : `${ageText(refreshed.age_seconds)} ago`;
      const row = element("tr", { attrs: { "data-market": market } });
      row.append(rowHeader(market), cell(at), cell(age, "", "num nowrap"));
      return row;
    }),
  );
  byId("counters-body").replaceChildren(
    ...Object.keys(data.counters)
      .sort()
      .map((key) => {
        const row = element("tr");
        row.append(rowHeader(key), cell(String(data.counters[key]), "", "num"));
        return row;
      }),
  );
}
