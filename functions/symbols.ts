import { handle } from "hono/aws-lambda";
import { lambdaApp } from "../src/lambda.js";

/** GET /api/v1/symbols/{market}: the exchange's USDT symbols, read through Redis. */
export const handler = handle(lambdaApp());
