import { defineConfig } from "vitest/config";

/**
 * The files that share the one redis-server of the global setup (through the Upstash bridge) and its keys — one of
 * them empties it before each test — run one at a time, after the rest. Every other file has what it touches to
 * itself (a fresh bucket, a temp folder, its own stand-ins on free ports), and they run two at a time: most of a
 * test's time is spent waiting on a server, so two files in flight keep both cores busy.
 */
const SHARED_REDIS = [
  "test/counters/upstash.test.ts",
  "test/dev/upstash-bridge.test.ts",
  "test/http/concurrent-writes.test.ts",
  "test/http/conversions.test.ts",
  "test/integration/redis-side.test.ts",
  "test/integration/two-processes.test.ts",
  "test/symbols/redis-down.test.ts",
  "test/upstream/binance.test.ts",
];

export default defineConfig({
  test: {
    // Each starts a real server on a free loopback port and provides its address to the tests.
    globalSetup: ["test/setup/admin-script.global.ts", "test/setup/moto.global.ts", "test/setup/redis.global.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: [
      {
        extends: true,
        test: {
          name: "parallel",
          include: ["test/**/*.test.ts"],
          exclude: ["test/browser/**", ...SHARED_REDIS],
          maxWorkers: 2,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: "shared-redis",
          include: SHARED_REDIS,
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
