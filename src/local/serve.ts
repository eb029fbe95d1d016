import { resolve } from "node:path";
import { serve } from "@hono/node-server";
import type { Config } from "../config.js";
import { createDeps, logAccess } from "../deps.js";
import { createApp } from "../http/all-routes.js";
import { runSweep } from "../jobs.js";
import { runPeriodically } from "./periodic.js";

/**
 * The whole service in one process: every route on @hono/node-server, plus what Lambda schedules — the symbol
 * warmup and the cache sweep — run at start-up and on their intervals. Resolves once it listens.
 */
export async function startLocalService(config: Config) {
  const deps = createDeps(config, { runtime: "local" });
  const { log } = deps;
  logAccess(deps.access, log);
  if (config.clearOnStart) log.info("cache_cleared_on_start", { deleted_files: await deps.cache.clear() });

  const hostname = config.host;
  const server = await new Promise<ReturnType<typeof serve>>((ready) => {
    const started = serve({ fetch: createApp(deps).fetch, port: config.port, hostname }, () => ready(started));
  });
  const { port } = server.address() as { port: number };
  const jobs = [
    runPeriodically("symbols_warmup", config.warmupIntervalSeconds * 1000, () => deps.symbols.warmup(), log),
    runPeriodically("cache_sweep", config.sweepIntervalSeconds * 1000, () => runSweep(deps), log),
  ];
  return {
    url: `http://${hostname}:${port}`,
    where: config.storageDriver === "fs" ? resolve(config.cacheDir) : `s3://${config.s3Bucket}/${config.s3Prefix}`,
    deps,
    /** Resolves when the start-up runs of the jobs are over. */
    idle: () => Promise.all(jobs.map((job) => job.idle())),
    async stop() {
      await Promise.all(jobs.map((job) => job.stop()));
      await new Promise<void>((done) => {
        server.close(() => done());
        if ("closeAllConnections" in server) server.closeAllConnections();
      });
    },
  };
}
