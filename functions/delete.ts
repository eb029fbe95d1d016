import { deleteData } from "../src/http/routes/data.js";
import { httpFunction, lambdaCache, lambdaSettings } from "../src/app/lambda.js";

/** DELETE /api/v1/backtest/cache/data: removes one dataset. */
export const handler = httpFunction("delete", () => ({ deleteData: deleteData({ cache: lambdaCache(), ...lambdaSettings() }) }));
