import type { Hono } from "hono";
import { loadConfig } from "./config.js";
import { createDeps, logAccess, type Deps } from "./deps.js";
import { createApp } from "./http/app.js";
import type { AppEnv } from "./http/env.js";

let deps: Deps | undefined;
let app: Hono<AppEnv> | undefined;

/**
 * Everything a function needs, built once per container from the environment (a warm invocation pays nothing).
 * A bad environment fails the cold start with a message naming the variable.
 */
export function lambdaDeps(env: Record<string, string | undefined> = process.env): Deps {
  if (!deps) {
    const config = loadConfig(env);
    deps = createDeps(config, { runtime: "lambda" });
    logAccess(deps.access, deps.log);
  }
  return deps;
}

/** The app every HTTP function serves. */
export function lambdaApp(): Hono<AppEnv> {
  app ??= createApp(lambdaDeps());
  return app;
}
