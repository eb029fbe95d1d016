import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { freePort } from "../../dev/ports.js";
import { tempDir } from "../support/fixtures.js";
import { npmStart } from "../support/npm-start.js";

// Each test starts `npm start` (a build, then tsx), which npmStart allows 30 s.
describe("npm start", { timeout: 60_000 }, () => {
  it("serves every route on a local folder and says where", async () => {
    const port = await freePort();
    const dir = join(tempDir(), "data");
    const { exited, printed, stop } = await npmStart({ PORT: String(port), CACHE_DIR: dir, CACHE_API_TOKEN: "" });
    try {
      await printed(`listening on http://127.0.0.1:${port}`);
      await printed(`cache directory: ${dir}`);
      await printed("CACHE_API_TOKEN is not set");
      const base = `http://127.0.0.1:${port}`;
      const query = "symbol=BTCUSDT&interval=1h&start_date=2021-01-01&end_date=2021-01-31";
      const put = await fetch(`${base}/api/v1/backtest/cache/data?${query}`, {
        method: "PUT",
        headers: { "Content-Type": "text/csv" },
        body: "timestamp,close\n2021-01-01 00:00:00,29000.5\n",
      });
      expect(put.status).toBe(201);
      const get = await fetch(`${base}/api/v1/backtest/cache/data?${query}&format=csv`);
      expect(await get.text()).toBe("timestamp,close\n2021-01-01 00:00:00,29000.5\n");
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
    } finally {
      await stop();
    }
    // exited: every process of the group is gone, so nothing holds the port any more.
    await exited;
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
  });

  it("refuses a bad environment with a message naming the variable", async () => {
    const { exited, output } = await npmStart({ PORT: "not-a-port" });
    expect(await exited).toBe(1);
    expect(output()).toContain('PORT="not-a-port"');
  });
});
