import { commit } from "../src/http/routes/data.js";
import { httpFunction, lambdaCache, lambdaSettings } from "../src/app/lambda.js";

/** POST /api/v1/backtest/cache/commit: checks an uploaded CSV and commits its entry. */
export const handler = httpFunction("commit", () => ({ commit: commit({ cache: lambdaCache(), ...lambdaSettings() }) }));
