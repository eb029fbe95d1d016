import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import { AppError } from "../../errors.js";
import type { Log } from "../../log.js";
import { failure } from "../envelope.js";
import type { AppEnv } from "../env.js";

/** The one place errors become HTTP answers: typed errors keep their status, anything else is a logged 500. */
export const errorHandler = (log: Log) =>
  function errorHandler(error: Error, c: Context<AppEnv>): Response {
    if (error instanceof AppError) {
      if (error.status >= 500) log.error("request_failed", { request_id: c.get("requestId"), error, cause: error.cause });
      return c.json(failure(error.code, error.message, error.issues), error.status as 400);
    }
    if (error instanceof HTTPException) {
      return c.json(failure(`HTTP_${error.status}`, error.message || "Request failed"), error.status);
    }
    log.error("unhandled_error", { request_id: c.get("requestId"), error, stack: error.stack });
    return c.json(failure("INTERNAL_ERROR", "Internal error"), 500);
  };

export const notFoundHandler = (c: Context<AppEnv>): Response =>
  c.json(failure("NOT_FOUND", `No route for ${c.req.method} ${c.req.path}`), 404);
