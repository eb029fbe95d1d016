import { handle } from "hono/aws-lambda";
import { lambdaApp } from "../src/lambda.js";

/** POST /api/v1/backtest/cache/upload-url: a presigned PUT URL for a CSV over Lambda's body limit. */
export const handler = handle(lambdaApp());
