import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

/**
 * `npm run test:browser`: the admin page in a real Chromium (Debian's, driven by playwright-core). Kept apart from
 * `npm test`, which must run on a machine without a browser. These tests need no S3 or Redis: the global setup only
 * builds the page's script.
 */
export default defineConfig({
  test: {
    root: fileURLToPath(new URL("../..", import.meta.url)),
    include: ["test/browser/**/*.test.ts"],
    globalSetup: ["test/setup/admin-script.global.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // expect.poll waits 1 s by default: a re-render of 100,000 entries on a busy CI machine can take longer. Playwright's
    // own waits (waitFor, waitForFunction) already allow 30 s.
    expect: { poll: { timeout: 10_000 } },
  },
});
