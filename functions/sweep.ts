import type { ScheduledEvent } from "aws-lambda";
import type { SweepResult } from "../src/cache/data-cache.js";
import { runSweep } from "../src/jobs.js";
import { lambdaDeps } from "../src/lambda.js";

/** Scheduled (EventBridge, daily): removes cache objects that can never be served. */
export async function handler(event: ScheduledEvent): Promise<SweepResult> {
  const deps = lambdaDeps();
  deps.log.info("sweep_started", { trigger: event["detail-type"], event_id: event.id, scheduled_at: event.time });
  return runSweep(deps);
}
