import { sweep } from "../src/http/routes/cache.js";
import { httpFunction, lambdaCache, lambdaCounters, lambdaLog, lambdaSettings } from "../src/app/lambda.js";

/** POST /api/v1/backtest/cache/sweep: the scheduled sweep, on demand (token-guarded like clear). */
export const handler = httpFunction("sweepNow", () => ({ sweep: sweep({ cache: lambdaCache(), counters: lambdaCounters(), log: lambdaLog(), ...lambdaSettings() }) }));
