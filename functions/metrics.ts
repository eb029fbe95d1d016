import { systemClock } from "../src/clock.js";
import { metrics } from "../src/http/routes/metrics.js";
import { httpFunction, lambdaCounters, lambdaSettings, lambdaSymbols } from "../src/app/lambda.js";

/** GET /api/v1/metrics: counters, hit ratios and symbol-list ages (JSON or Prometheus text). */
export const handler = httpFunction("metrics", () => ({ metrics: metrics({ counters: lambdaCounters(), symbols: lambdaSymbols(), clock: systemClock, ...lambdaSettings() }) }));
