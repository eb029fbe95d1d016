import { handle } from "hono/aws-lambda";
import { lambdaApp } from "../src/lambda.js";

/** GET /api/v1/klines: the closed candles of any range, fetched from Binance only where the cache has none. */
export const handler = handle(lambdaApp());
