import type { TestProject } from "vitest/node";
import { startRedisStack } from "../../dev/redis-server.js";

declare module "vitest" {
  export interface ProvidedContext {
    /** redis:// URL of the redis-server shared by the run, e.g. redis://127.0.0.1:41235 */
    redisUrl: string;
    /** Base URL of the Upstash REST bridge in front of it, for @upstash/redis. */
    upstashUrl: string;
    /** The bridge's bearer token. */
    upstashToken: string;
  }
}

/**
 * Starts redis-server (no persistence) and the Upstash bridge on free loopback ports for the whole run.
 * A missing redis-server fails the run with how to install it; the tests are never skipped.
 */
export default async function setup({ provide }: TestProject): Promise<() => Promise<void>> {
  const stack = await startRedisStack();
  provide("redisUrl", stack.redis.url);
  provide("upstashUrl", stack.upstashUrl);
  provide("upstashToken", stack.upstashToken);
  return () => stack.stop();
}
