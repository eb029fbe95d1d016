import type { ScheduledEvent } from "aws-lambda";
import { runSweep } from "../src/jobs/sweep.js";
import { lambdaCache, lambdaCounters, lambdaLog, scheduledFunction } from "../src/app/lambda.js";

/** Scheduled (EventBridge, daily): removes cache objects that can never be served. */
export const handler = scheduledFunction(async (event: ScheduledEvent) => {
  const log = lambdaLog();
  log.info("sweep_started", { trigger: event["detail-type"], event_id: event.id, scheduled_at: event.time });
  return runSweep({ cache: lambdaCache(), counters: lambdaCounters(), log });
});
