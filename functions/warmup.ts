import type { ScheduledEvent } from "aws-lambda";
import { lambdaLog, lambdaSymbols, scheduledFunction } from "../src/app/lambda.js";

/** Scheduled (EventBridge, every 5 minutes): refreshes both markets' symbol lists, each on its own. */
export const handler = scheduledFunction(async (event: ScheduledEvent) => {
  lambdaLog().info("warmup_started", { trigger: event["detail-type"], event_id: event.id, scheduled_at: event.time });
  return lambdaSymbols().warmup();
});
