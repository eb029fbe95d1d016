import { info } from "../src/http/routes/cache.js";
import { httpFunction, lambdaCache, lambdaSettings } from "../src/lambda.js";

/** GET /api/v1/backtest/cache/info: what is cached. */
export const handler = httpFunction("info", () => ({ info: info({ cache: lambdaCache(), ...lambdaSettings() }) }));
