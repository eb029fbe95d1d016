import type { MiddlewareHandler } from "hono";
import type { Log } from "../../log.js";
import type { AppEnv } from "../env.js";

/** One structured line per request: method, path, status, duration, cache outcome, request id. */
export const accessLog = (log: Log): MiddlewareHandler<AppEnv> =>
  async function accessLog(c, next) {
    const started = performance.now();
    await next();
    log.info("request", {
      request_id: c.get("requestId"),
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      duration_ms: Math.round((performance.now() - started) * 10) / 10,
      cache: c.get("cacheOutcome"),
    });
  };
