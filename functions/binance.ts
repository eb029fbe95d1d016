import { systemClock } from "../src/clock.js";
import { binanceApi } from "../src/http/routes/binance.js";
import { httpFunction, lambdaBinanceFunding, lambdaBinanceKlines, lambdaCounters, lambdaSettings, lambdaSymbols } from "../src/app/lambda.js";

/** Binance's own REST shape (/api/v3, /fapi/v1): klines and funding rates from the cache, exchangeInfo from Redis, time and ping. */
export const handler = httpFunction("binance", () =>
  binanceApi({
    binanceKlines: lambdaBinanceKlines(),
    binanceFunding: lambdaBinanceFunding(),
    symbols: lambdaSymbols(),
    counters: lambdaCounters(),
    clock: systemClock,
    ...lambdaSettings(),
  }),
);
