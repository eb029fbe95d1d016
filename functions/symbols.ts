import { symbols } from "../src/http/routes/symbols.js";
import { httpFunction, lambdaSettings, lambdaSymbols } from "../src/app/lambda.js";

/** GET /api/v1/symbols/{market}: the exchange's USDT symbols, read through Redis. */
export const handler = httpFunction("symbols", () => ({ symbols: symbols({ symbols: lambdaSymbols(), ...lambdaSettings() }) }));
