import { coverageOf } from "../../reports/coverage.js";
import { pageOf } from "../../cache/index/page.js";
import { runSweep } from "../../jobs/sweep.js";
import type { RouteChain } from "../app.js";
import { success } from "../envelope.js";
import type { AppDeps } from "../env.js";
import { requireRead, requireWrite } from "../middleware/auth.js";
import { coverageQueryOf, infoQueryOf } from "../validation.js";

/**
 * GET info: what is cached; with `limit`, `cursor`, `symbol`, `interval` or `market_type`, one page of its entries
 * (the summary figures stay whole), in the order of `sort` and `order` when given. On Lambda an answer that would not
 * fit is its first page (see pageOf).
 */
export function info(deps: Pick<AppDeps, "cache" | "access" | "inlineMaxBytes">): RouteChain {
  return [
    requireRead(deps.access),
    async function info(c) {
      const query = infoQueryOf(c);
      return c.json(success(pageOf(await deps.cache.info({ refresh: query.refresh }), query, deps.inlineMaxBytes)));
    },
  ];
}

/**
 * GET coverage: which months of each cached series (symbol, interval, market, datasets or read-through) are held, as
 * of today by the service's clock, from the same index info reads; paged, filtered like info (see coverageOf).
 */
export function coverage(deps: Pick<AppDeps, "cache" | "access" | "clock" | "inlineMaxBytes">): RouteChain {
  return [
    requireRead(deps.access),
    async function coverage(c) {
      const query = coverageQueryOf(c);
      const { cache_entries } = await deps.cache.info();
      return c.json(success(coverageOf(cache_entries, deps.clock.now().getTime(), query, deps.inlineMaxBytes)));
    },
  ];
}

/** POST clear: empties the cache. */
export function clear(deps: Pick<AppDeps, "cache" | "access" | "log">): RouteChain {
  return [
    requireWrite(deps.access),
    async function clear(c) {
      const deletedFiles = await deps.cache.clear();
      deps.log.info("cache_cleared", { request_id: c.get("requestId"), deleted_files: deletedFiles });
      return c.json(success({ deleted_files: deletedFiles }, "Cache cleared successfully"));
    },
  ];
}

/** POST sweep: removes what can never be served, as the scheduled sweep does. */
export function sweep(deps: Pick<AppDeps, "cache" | "counters" | "access" | "log">): RouteChain {
  return [requireWrite(deps.access), async (c) => c.json(success(await runSweep(deps)))];
}
