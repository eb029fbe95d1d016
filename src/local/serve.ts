import { createServer } from "node:http";
import { resolve } from "node:path";
import { getRequestListener } from "@hono/node-server";
import type { Config } from "../app/config.js";
import { createDeps, logAccess } from "../app/deps.js";
import { createApp } from "../http/all-routes.js";
import { runSweep } from "../jobs/sweep.js";
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
  // The app is given the port the server got (PORT=0 picks one), so it listens first: the request handler is in
  // place before the event loop reads any connection.
  const server = createServer();
  await new Promise<void>((ready, fail) => {
    server.once("error", fail);
    server.listen(config.port, hostname, () => {
      server.off("error", fail);
      ready();
    });
  });
  const { port } = server.address() as { port: number };
  const app = createApp(deps, { hostRule: { port, address: hostname, allowed: config.allowedHosts } });
  const listener = getRequestListener(app.fetch);
  server.on("request", (incoming, outgoing) => void listener(incoming, outgoing));
  const jobs = [
    runPeriodically("symbols_warmup", config.warmupIntervalSeconds * 1000, () => deps.symbols.warmup(), log),
    runPeriodically("cache_sweep", config.sweepIntervalSeconds * 1000, () => runSweep(deps, (id) => deps.deriver.schedule(id)), log),
  ];
  return {
    url: `http://${hostname}:${port}`,
    where: config.storageDriver === "fs" ? resolve(config.cacheDir) : `s3://${config.s3Bucket}/${config.s3Prefix}`,
    deps,
    /** Resolves when the start-up runs of the jobs are over, and the derived forms they queued are made. */
    idle: async () => {
      await Promise.all(jobs.map((job) => job.idle()));
      await deps.deriver.idle();
    },
    async stop() {
      await Promise.all(jobs.map((job) => job.stop()));
      await new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections();
      });
    },
  };
}
