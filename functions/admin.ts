import { handle } from "hono/aws-lambda";
import { lambdaApp } from "../src/lambda.js";

/** GET /: the admin page (its script calls info, metrics, delete and clear, each served by its own function). */
export const handler = handle(lambdaApp());
