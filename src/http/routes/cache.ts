import { runSweep } from "../../jobs.js";
import type { RouteChain } from "../app.js";
import { success } from "../envelope.js";
import type { AppDeps } from "../env.js";
import { requireRead, requireWrite } from "../middleware/auth.js";

/** GET info: what is cached. */
export function info(deps: Pick<AppDeps, "cache" | "access">): RouteChain {
  return [requireRead(deps.access), async (c) => c.json(success(await deps.cache.info()))];
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
