import { storeData } from "../src/http/routes/data.js";
import { httpFunction, lambdaCache, lambdaSettings } from "../src/app/lambda.js";

/** PUT /api/v1/backtest/cache/data: stores one dataset. */
export const handler = httpFunction("cache", () => ({ storeData: storeData({ cache: lambdaCache(), ...lambdaSettings() }) }));
