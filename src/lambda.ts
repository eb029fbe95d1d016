import type { Hono } from "hono";
import { loadConfig } from "./config.js";
import { createDeps, warnIfOpen } from "./deps.js";
import { createApp } from "./http/app.js";
import type { AppEnv } from "./http/env.js";

let app: Hono<AppEnv> | undefined;

/**
 * The app every HTTP function serves, built once per container from the environment (so a warm invocation
 * pays nothing). A bad environment fails the cold start with a message naming the variable.
 */
export function lambdaApp(env: Record<string, string | undefined> = process.env): Hono<AppEnv> {
  if (!app) {
    const config = loadConfig(env);
    const deps = createDeps(config, { runtime: "lambda" });
    warnIfOpen(config, deps.log);
    app = createApp(deps);
  }
  return app;
}

/** Forgets the built app, so a test can build another from a different environment. */
export function resetLambdaApp(): void {
  app = undefined;
}
