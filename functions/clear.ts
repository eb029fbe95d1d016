import { handle } from "hono/aws-lambda";
import { lambdaApp } from "../src/lambda.js";

/** POST /api/v1/backtest/cache/clear: empties the cache. */
export const handler = handle(lambdaApp());
