import { createDataCache } from "./cache/data-cache.js";
import { systemClock, type Clock } from "./clock.js";
import type { Config } from "./config.js";
import type { AppDeps } from "./http/env.js";
import { createLog, type Log } from "./log.js";
import { createFsStore } from "./storage/fs.js";
import { createS3Store } from "./storage/s3.js";
import type { ObjectStore } from "./storage/types.js";

/** Where the service runs: Lambda answers at most 6 MB, so it redirects large hits; the local server streams. */
export type Runtime = "lambda" | "local";

/** The only place that chooses drivers: Config -> the store, the cache and everything the app needs. */
export function createDeps(config: Config, options: { runtime: Runtime; clock?: Clock; log?: Log }): AppDeps & {
  store: ObjectStore;
} {
  const log = options.log ?? createLog({ level: config.logLevel });
  const store = createStore(config);
  const cache = createDataCache({
    store,
    clock: options.clock ?? systemClock,
    rule: { recentWindowDays: config.recentWindowDays, recentTtlSeconds: config.recentTtlSeconds },
  });
  return {
    store,
    cache,
    log,
    cacheApiToken: config.cacheApiToken,
    maxBodyBytes: config.maxBodyBytes,
    inlineMaxBytes: options.runtime === "lambda" ? config.inlineMaxBytes : undefined,
    presignTtlSeconds: config.presignTtlSeconds,
  };
}

function createStore(config: Config): ObjectStore {
  if (config.storageDriver === "fs") return createFsStore({ baseDir: config.cacheDir });
  return createS3Store({
    bucket: config.s3Bucket as string,
    prefix: config.s3Prefix,
    endpoint: config.s3Endpoint,
    region: config.awsRegion,
    timeoutMs: config.storageTimeoutMs,
  });
}

/** Says once, at start-up, what is open to anyone. */
export function warnIfOpen(config: Config, log: Log): void {
  if (!config.cacheApiToken) {
    log.warn("auth_disabled", { message: "CACHE_API_TOKEN is not set: PUT, DELETE and clear are open to anyone who can reach the service" });
  }
}
