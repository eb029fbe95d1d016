import { systemClock } from "../src/clock.js";
import { readData } from "../src/http/routes/data.js";
import { httpFunction, lambdaCache, lambdaCounters, lambdaSettings } from "../src/app/lambda.js";

/** GET /api/v1/backtest/cache/data: a hit as JSON rows or CSV bytes (a large CSV redirects to S3). */
export const handler = httpFunction("get", () => ({
  readData: readData({ cache: lambdaCache(), counters: lambdaCounters(), clock: systemClock, ...lambdaSettings() }),
}));
