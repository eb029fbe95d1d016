import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    exclude: ["test/browser/**"],
    // Each starts a real server on a free loopback port and provides its address to the tests.
    globalSetup: ["test/setup/admin-script.global.ts", "test/setup/moto.global.ts", "test/setup/redis.global.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
