import { Hono } from "hono";
import { requestId } from "hono/request-id";
import type { AppDeps, AppEnv } from "./env.js";
import { accessLog } from "./middleware/access-log.js";
import { sameOriginMutations } from "./middleware/auth.js";
import { errorHandler, notFoundHandler } from "./middleware/errors.js";
import { adminPage } from "./routes/admin-page.js";
import { cacheRoutes } from "./routes/cache.js";
import { dataRoutes } from "./routes/data.js";
import { klinesRoutes } from "./routes/klines.js";
import { metricsRoutes } from "./routes/metrics.js";
import { symbolRoutes } from "./routes/symbols.js";

export const CACHE_API = "/api/v1/backtest/cache";

/** The whole HTTP API, built from its dependencies; Lambda handlers and the local server all serve this. */
export function createApp(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use(requestId(), accessLog(deps.log), sameOriginMutations());
  app.onError(errorHandler(deps));
  app.notFound(notFoundHandler);

  app.get("/healthz", (c) => c.json({ status: "ok" }));
  app.route("/", adminPage(deps));
  app.route(CACHE_API, dataRoutes(deps));
  app.route(CACHE_API, cacheRoutes(deps));
  app.route("/api/v1/symbols", symbolRoutes(deps));
  app.route("/api/v1/klines", klinesRoutes(deps));
  app.route("/api/v1/metrics", metricsRoutes(deps));
  return app;
}
