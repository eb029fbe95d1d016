import { resolve } from "node:path";
import { serve } from "@hono/node-server";
import { loadConfig } from "../config.js";
import { createDeps, warnIfOpen } from "../deps.js";
import { ConfigError } from "../errors.js";
import { createApp } from "../http/app.js";

/** `npm start`: every route on one local HTTP server; the fs driver unless configured otherwise. */
function main(): void {
  const config = loadConfig();
  const deps = createDeps(config, { runtime: "local" });
  warnIfOpen(config, deps.log);
  const server = serve({ fetch: createApp(deps).fetch, port: config.port, hostname: process.env.HOST ?? "127.0.0.1" }, (address) => {
    const where = config.storageDriver === "fs" ? resolve(config.cacheDir) : `s3://${config.s3Bucket}/${config.s3Prefix}`;
    console.log(`candle-cache listening on http://${address.address}:${address.port}`);
    console.log(`cache directory: ${where}`);
  });
  const stop = () => {
    server.close(() => process.exit(0));
    if ("closeAllConnections" in server) server.closeAllConnections();
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

try {
  main();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(error.message);
  process.exit(1);
}
