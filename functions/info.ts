import { handle } from "hono/aws-lambda";
import { lambdaApp } from "../src/lambda.js";

/** GET /api/v1/backtest/cache/info (and /healthz): what is cached. */
export const handler = handle(lambdaApp());
