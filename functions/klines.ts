import { systemClock } from "../src/clock.js";
import { klines } from "../src/http/routes/klines.js";
import { httpFunction, lambdaCache, lambdaCounters, lambdaKlines, lambdaSettings } from "../src/app/lambda.js";

/** GET /api/v1/klines: the closed candles of any range, fetched from Binance only where the cache has none. */
export const handler = httpFunction("klines", () => ({ klines: klines({ klines: lambdaKlines(), cache: lambdaCache(), counters: lambdaCounters(), clock: systemClock, ...lambdaSettings() }) }));
