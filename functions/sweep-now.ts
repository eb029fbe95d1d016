import { handle } from "hono/aws-lambda";
import { lambdaApp } from "../src/lambda.js";

/** POST /api/v1/backtest/cache/sweep: the scheduled sweep, on demand (token-guarded like clear). */
export const handler = handle(lambdaApp());
