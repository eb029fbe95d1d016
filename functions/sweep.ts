import type { ScheduledEvent } from "aws-lambda";
import type { EntryId } from "../src/cache/entries/objects.js";
import { createDeriver } from "../src/jobs/derive.js";
import { runSweep } from "../src/jobs/sweep.js";
import { lambdaCache, lambdaConversions, lambdaCounters, lambdaLog, lambdaStore, scheduledFunction } from "../src/app/lambda.js";

/** How long the sweep goes on making the derived forms entries lack, of its 300 s; the next sweep makes the rest. */
const DERIVE_BUDGET_MS = 200_000;

/**
 * Scheduled (EventBridge, daily): removes cache objects that can never be served, then makes the derived forms of
 * entries that lack them (written before the derive function existed, by the Python service, or whose maker failed).
 */
export const handler = scheduledFunction(async (event: ScheduledEvent) => {
  const started = Date.now();
  const log = lambdaLog();
  log.info("sweep_started", { trigger: event["detail-type"], event_id: event.id, scheduled_at: event.time });
  const underived: EntryId[] = [];
  const result = await runSweep({ cache: lambdaCache(), counters: lambdaCounters(), log }, (id) => underived.push(id));
  const deriver = createDeriver({ cache: lambdaCache(), store: lambdaStore(), conversions: lambdaConversions(), log });
  let derived = 0;
  for (const id of underived) {
    if (Date.now() - started > DERIVE_BUDGET_MS) break;
    await deriver.derive(id);
    derived++;
  }
  log.info("sweep_derived", { derived, left: underived.length - derived });
  return result;
});
