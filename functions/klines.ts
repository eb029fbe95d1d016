import { systemClock } from "../src/clock.js";
import { funding } from "../src/http/routes/funding.js";
import { klines } from "../src/http/routes/klines.js";
import { httpFunction, lambdaCache, lambdaCounters, lambdaFunding, lambdaKlines, lambdaSettings } from "../src/app/lambda.js";

/**
 * GET /api/v1/klines and /api/v1/funding: the closed candles and the funding rates of any range, fetched from Binance
 * (by the fill function) only where the cache has none.
 */
export const handler = httpFunction("klines", () => {
  const shared = { counters: lambdaCounters(), clock: systemClock, ...lambdaSettings() };
  return {
    klines: klines({ klines: lambdaKlines(), cache: lambdaCache(), ...shared }),
    funding: funding({ funding: lambdaFunding(), ...shared }),
  };
});
