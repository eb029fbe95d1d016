import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir } from "../support/fixtures.js";

const ROOT = join(import.meta.dirname, "..", "..");

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Runs `npm start` as a user would, with an environment of its own; resolves once it prints its URL. */
async function npmStart(env: Record<string, string>) {
  const child = spawn("npm", ["start", "--silent"], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"], detached: true });
  let output = "";
  child.stdout.on("data", (chunk) => (output += chunk));
  child.stderr.on("data", (chunk) => (output += chunk));
  const exited = new Promise<number | string | null>((resolve) => child.on("exit", (code, signal) => resolve(code ?? signal)));
  const deadline = Date.now() + 20_000;
  while (!output.includes("listening on") && child.exitCode === null && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { child, exited, output: () => output };
}

describe("npm start", () => {
  it("serves every route on a local folder and says where", async () => {
    const port = await freePort();
    const dir = join(tempDir(), "data");
    const { child, exited, output } = await npmStart({ PORT: String(port), CACHE_DIR: dir, CACHE_API_TOKEN: "" });
    try {
      expect(output()).toContain(`listening on http://127.0.0.1:${port}`);
      expect(output()).toContain(`cache directory: ${dir}`);
      expect(output()).toContain("CACHE_API_TOKEN is not set");
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
      // What Ctrl-C does in a terminal: signal the whole process group (npm, tsx and node).
      process.kill(-(child.pid as number), "SIGINT");
    }
    await exited;
    await new Promise((resolve) => setTimeout(resolve, 300));
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
  });

  it("refuses a bad environment with a message naming the variable", async () => {
    const { exited, output } = await npmStart({ PORT: "not-a-port" });
    expect(await exited).toBe(1);
    expect(output()).toContain('PORT="not-a-port"');
  });
});
