import { handle } from "hono/aws-lambda";
import { lambdaApp } from "../src/lambda.js";

/** GET /api/v1/backtest/cache/data: a hit as JSON rows or CSV bytes (a large CSV redirects to S3). */
export const handler = handle(lambdaApp());
