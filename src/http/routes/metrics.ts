import { ALL_COUNTER_KEYS } from "../../counters/keys.js";
import { MARKET_TYPES } from "../../market.js";
import type { RouteChain } from "../app.js";
import { success } from "../envelope.js";
import type { AppDeps } from "../env.js";
import { summarizeMetrics, toPrometheusText } from "../metrics-format.js";
import { requireRead } from "../middleware/auth.js";

/** GET metrics: every counter, each cache's hit ratio, each symbol list's age; JSON or Prometheus text. */
export function metrics(deps: Pick<AppDeps, "counters" | "symbols" | "clock" | "access">): RouteChain {
  return [
    requireRead(deps.access),
    async function metrics(c) {
      const counters = await deps.counters.read([...ALL_COUNTER_KEYS]);
      const [spot, futures] = await Promise.all(MARKET_TYPES.map((market) => deps.symbols.lastRefresh(market)));
      const figures = summarizeMetrics(counters, { spot: spot ?? null, futures: futures ?? null }, deps.clock.now());
      if (/\btext\/plain\b/.test(c.req.header("accept") ?? "")) {
        return c.text(toPrometheusText(figures), 200, { "Content-Type": "text/plain; version=0.0.4; charset=utf-8" });
      }
      return c.json(success(figures));
    },
  ];
}
