import { handle } from "hono/aws-lambda";
import { lambdaApp } from "../src/lambda.js";

/** DELETE /api/v1/backtest/cache/data: removes one dataset. */
export const handler = handle(lambdaApp());
