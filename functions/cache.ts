import { handle } from "hono/aws-lambda";
import { lambdaApp } from "../src/lambda.js";

/** PUT /api/v1/backtest/cache/data: stores one dataset. */
export const handler = handle(lambdaApp());
