import { Hono } from "hono";
import { runSweep } from "../../jobs.js";
import { success } from "../envelope.js";
import type { AppDeps, AppEnv } from "../env.js";
import { requireRead, requireWrite } from "../middleware/auth.js";

/** The whole cache: what is in it, emptying it, and sweeping out what can never be served. */
export function cacheRoutes(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.get("/info", requireRead(deps.access), async (c) => c.json(success(await deps.cache.info())));

  app.post("/clear", requireWrite(deps.access), async (c) => {
    const deletedFiles = await deps.cache.clear();
    deps.log.info("cache_cleared", { request_id: c.get("requestId"), deleted_files: deletedFiles });
    return c.json(success({ deleted_files: deletedFiles }, "Cache cleared successfully"));
  });

  app.post("/sweep", requireWrite(deps.access), async (c) => c.json(success(await runSweep(deps))));

  return app;
}
