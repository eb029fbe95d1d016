import { handle } from "hono/aws-lambda";
import { lambdaApp } from "../src/lambda.js";

/** GET /api/v1/metrics: counters, hit ratios and symbol-list ages (JSON or Prometheus text). */
export const handler = handle(lambdaApp());
