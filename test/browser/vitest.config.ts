import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

/**
 * `npm run test:browser`: the admin page in a real Chromium (Debian's, driven by playwright-core). Kept apart from
 * `npm test`, which must run on a machine without a browser. No global setup: these tests need no S3 or Redis.
 */
export default defineConfig({
  test: {
    root: fileURLToPath(new URL("../..", import.meta.url)),
    include: ["test/browser/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
