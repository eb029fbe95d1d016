import type { DataCache, SweepResult } from "../cache/data-cache.js";
import type { EntryId } from "../cache/entries/objects.js";
import { SWEEP_DELETED_KEY } from "../counters/keys.js";
import type { Counters } from "../counters/types.js";
import type { Log } from "../log.js";

/**
 * The sweep as every caller runs it (HTTP, the scheduled function, the local server): sweep, count, log. With
 * `underived`, each entry kept without its derived forms is handed to it, to have them made.
 */
export async function runSweep(
  deps: { cache: Pick<DataCache, "sweep">; counters: Counters; log: Log },
  underived?: (id: EntryId) => void,
): Promise<SweepResult> {
  const result = await deps.cache.sweep({ underived });
  if (result.deleted > 0) await deps.counters.increment(SWEEP_DELETED_KEY, result.deleted);
  deps.log.info("cache_sweep", { ...result });
  return result;
}
