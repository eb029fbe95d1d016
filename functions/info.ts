import { systemClock } from "../src/clock.js";
import { coverage, info } from "../src/http/routes/cache.js";
import { httpFunction, lambdaCache, lambdaSettings } from "../src/app/lambda.js";

/** GET /api/v1/backtest/cache/info: what is cached; GET /api/v1/backtest/cache/coverage: which months of each series. */
export const handler = httpFunction("info", () => ({
  info: info({ cache: lambdaCache(), ...lambdaSettings() }),
  coverage: coverage({ cache: lambdaCache(), clock: systemClock, ...lambdaSettings() }),
}));
