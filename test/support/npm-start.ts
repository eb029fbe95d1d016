import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { freePort } from "../../dev/ports.js";

const ROOT = join(import.meta.dirname, "..", "..");
const START_TIMEOUT_MS = 20_000;

export interface NpmStart {
  child: ChildProcess;
  /** Resolves with the exit code (or signal) once it has ended. */
  exited: Promise<number | string | null>;
  /** Everything it printed so far, stdout and stderr. */
  output: () => string;
  /** Its URL, e.g. http://127.0.0.1:41234 (once it listens). */
  url: string;
  /** What Ctrl-C does in a terminal: SIGINT to the whole process group (npm, tsx and node); resolves once gone. */
  stop: () => Promise<void>;
}

/** Runs `npm start` as a user would, with an environment of its own on a free port; resolves once it prints its URL. */
export async function npmStart(env: Record<string, string>): Promise<NpmStart> {
  const port = env.PORT ?? String(await freePort());
  const child = spawn("npm", ["start", "--silent"], {
    cwd: ROOT,
    env: { ...process.env, PORT: port, ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let output = "";
  child.stdout?.on("data", (chunk) => (output += String(chunk)));
  child.stderr?.on("data", (chunk) => (output += String(chunk)));
  const exited = new Promise<number | string | null>((resolve) => child.on("exit", (code, signal) => resolve(code ?? signal)));
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!output.includes("listening on") && child.exitCode === null && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    child,
    exited,
    output: () => output,
    url: `http://127.0.0.1:${port}`,
    stop: async () => {
      if (child.exitCode === null) process.kill(-(child.pid as number), "SIGINT");
      await exited;
    },
  };
}
