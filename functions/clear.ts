import { clear } from "../src/http/routes/cache.js";
import { httpFunction, lambdaCache, lambdaLog, lambdaSettings } from "../src/app/lambda.js";

/** POST /api/v1/backtest/cache/clear: empties the cache. */
export const handler = httpFunction("clear", () => ({ clear: clear({ cache: lambdaCache(), log: lambdaLog(), ...lambdaSettings() }) }));
