import type { Context } from "hono";
import type { Clock } from "../clock.js";
import { deadlineIn, type Deadline } from "../deadline.js";
import type { AppEnv } from "./env.js";

/** What a Lambda keeps back from its remaining time to write the answer: Lambda's own timeout never ends a request. */
export const LAMBDA_MARGIN_MS = 3_000;

/** On Lambda, the request's deadline: the function's remaining time less the margin; undefined elsewhere. */
export function lambdaDeadlineOf(c: Context<AppEnv>, clock: Clock): Deadline | undefined {
  const lambda = c.env?.lambdaContext;
  return lambda ? deadlineIn(clock, lambda.getRemainingTimeInMillis() - LAMBDA_MARGIN_MS) : undefined;
}

/** A read-through request's deadline: on Lambda its remaining time less the margin, on the local server `localMs`. */
export const readThroughDeadlineOf = (c: Context<AppEnv>, clock: Clock, localMs: number): Deadline =>
  lambdaDeadlineOf(c, clock) ?? deadlineIn(clock, localMs);
