import type { ScheduledEvent } from "aws-lambda";
import { lambdaDeps } from "../src/lambda.js";
import type { WarmupReport } from "../src/symbols/service.js";

/** Scheduled (EventBridge, every 5 minutes): refreshes both markets' symbol lists, each on its own. */
export async function handler(event: ScheduledEvent): Promise<WarmupReport> {
  const { symbols, log } = lambdaDeps();
  log.info("warmup_started", { trigger: event["detail-type"], event_id: event.id, scheduled_at: event.time });
  return symbols.warmup();
}
