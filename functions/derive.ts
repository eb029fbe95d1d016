import { createDeriver } from "../src/jobs/derive.js";
import { lambdaCache, lambdaConversions, lambdaLog, lambdaStore, objectCreatedFunction } from "../src/app/lambda.js";

/**
 * The bucket's "Object Created" event of a `_meta.json` (EventBridge): makes the entry's Parquet and Arrow forms from
 * its CSV and keeps them beside it, so the read functions, which only read, serve them.
 */
export const handler = objectCreatedFunction(async (key) =>
  createDeriver({ cache: lambdaCache(), store: lambdaStore(), conversions: lambdaConversions(), log: lambdaLog() }).deriveObject(key),
);
