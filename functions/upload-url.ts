import { uploadUrl } from "../src/http/routes/data.js";
import { httpFunction, lambdaCache, lambdaSettings } from "../src/app/lambda.js";

/** POST /api/v1/backtest/cache/upload-url: a presigned PUT URL for a CSV over Lambda's body limit. */
export const handler = httpFunction("uploadUrl", () => ({ uploadUrl: uploadUrl({ cache: lambdaCache(), ...lambdaSettings() }) }));
