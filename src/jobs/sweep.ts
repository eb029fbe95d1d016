import type { DataCache, SweepResult } from "../cache/data-cache.js";
import { SWEEP_DELETED_KEY } from "../counters/keys.js";
import type { Counters } from "../counters/types.js";
import type { Log } from "../log.js";

/** The sweep as every caller runs it (HTTP, the scheduled function, the local server): sweep, count, log. */
export async function runSweep(deps: { cache: DataCache; counters: Counters; log: Log }): Promise<SweepResult> {
  const result = await deps.cache.sweep();
  if (result.deleted > 0) await deps.counters.increment(SWEEP_DELETED_KEY, result.deleted);
  deps.log.info("cache_sweep", { ...result });
  return result;
}
