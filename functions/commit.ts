import { handle } from "hono/aws-lambda";
import { lambdaApp } from "../src/lambda.js";

/** POST /api/v1/backtest/cache/commit: checks an uploaded CSV and commits its entry. */
export const handler = handle(lambdaApp());
