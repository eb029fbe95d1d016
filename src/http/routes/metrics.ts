import { Hono } from "hono";
import { MARKET_TYPES } from "../../market.js";
import { ALL_COUNTER_KEYS } from "../../counters/keys.js";
import { success } from "../envelope.js";
import type { AppDeps, AppEnv } from "../env.js";
import { summarizeMetrics, toPrometheusText } from "../metrics-format.js";
import { requireRead } from "../middleware/auth.js";

/** GET /api/v1/metrics: every counter, each cache's hit ratio, each symbol list's age; JSON or Prometheus text. */
export function metricsRoutes(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.get("/", requireRead(deps.access), async (c) => {
    const counters = await deps.counters.read([...ALL_COUNTER_KEYS]);
    const [spot, futures] = await Promise.all(MARKET_TYPES.map((market) => deps.symbols.lastRefresh(market)));
    const metrics = summarizeMetrics(counters, { spot: spot ?? null, futures: futures ?? null }, deps.clock.now());
    if (/\btext\/plain\b/.test(c.req.header("accept") ?? "")) {
      return c.text(toPrometheusText(metrics), 200, { "Content-Type": "text/plain; version=0.0.4; charset=utf-8" });
    }
    return c.json(success(metrics));
  });

  return app;
}
