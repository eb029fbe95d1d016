import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { freePort } from "../../dev/ports.js";

const ROOT = join(import.meta.dirname, "..", "..");
/** `npm start` builds the admin script, then starts tsx: about 2.5 s on an idle machine, two at once on a busy one. */
const START_TIMEOUT_MS = 30_000;
/** How long `printed` waits for a line by default: the service prints within milliseconds of the event. */
const PRINT_TIMEOUT_MS = 10_000;
/** After Ctrl-C, the service stops its jobs and closes its server; then SIGKILL, and the test fails. */
const STOP_TIMEOUT_MS = 10_000;
/** The last line src/local/server.ts prints once it listens. */
const STARTED_LINE = "cache directory: ";

export interface NpmStart {
  child: ChildProcess;
  /** Resolves with the exit code (or signal) once every process of the group has ended and all output is read. */
  exited: Promise<number | string | null>;
  /** Everything it printed so far, stdout and stderr. */
  output: () => string;
  /** Its URL, e.g. http://127.0.0.1:41234 (once it listens). */
  url: string;
  /**
   * Resolves once a whole line it printed (stdout or stderr, which reach us in no set order) contains `text`; rejects,
   * with everything it printed, when it ends first or has not printed it within `timeoutMs`.
   */
  printed: (text: string, timeoutMs?: number) => Promise<void>;
  /** What Ctrl-C does in a terminal: SIGINT to the whole process group (npm, tsx and node); resolves once gone. */
  stop: () => Promise<void>;
}

/**
 * Runs `npm start` as a user would, with an environment of its own on a free port; resolves once it has printed the
 * last line of its start-up, or once it has ended (a refused configuration). Rejects, with what it printed, when it
 * does neither within START_TIMEOUT_MS.
 */
export async function npmStart(env: Record<string, string>): Promise<NpmStart> {
  const port = env.PORT ?? String(await freePort());
  const child = spawn("npm", ["start", "--silent"], {
    cwd: ROOT,
    env: { ...process.env, PORT: port, ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let output = "";
  let ended = false;
  const listeners = new Set<() => void>();
  const changed = () => {
    for (const listener of listeners) listener();
  };
  child.stdout?.on("data", (chunk) => {
    output += String(chunk);
    changed();
  });
  child.stderr?.on("data", (chunk) => {
    output += String(chunk);
    changed();
  });
  // "close", not "exit": it comes once the pipes are closed, i.e. once every process holding them (npm, tsx, node) has
  // ended, and after the last of their output was read.
  const exited = new Promise<number | string | null>((resolve) =>
    child.on("close", (code, signal) => {
      ended = true;
      resolve(code ?? signal);
      changed();
    }),
  );
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-(child.pid as number), signal);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
    }
  };

  function printed(text: string, timeoutMs = PRINT_TIMEOUT_MS): Promise<void> {
    return new Promise((resolve, reject) => {
      const settle = (outcome: () => void) => {
        clearTimeout(timer);
        listeners.delete(check);
        outcome();
      };
      const check = () => {
        const lines = output.split("\n").slice(0, -1);
        if (lines.some((line) => line.includes(text))) settle(resolve);
        else if (ended) settle(() => reject(new Error(`npm start ended without printing "${text}"; it printed:\n${output}`)));
      };
      const timer = setTimeout(
        () => settle(() => reject(new Error(`npm start did not print "${text}" within ${timeoutMs} ms; it printed:\n${output}`))),
        timeoutMs,
      );
      listeners.add(check);
      check();
    });
  }

  try {
    await printed(STARTED_LINE, START_TIMEOUT_MS);
  } catch (error) {
    if (!ended) {
      signalGroup("SIGKILL");
      await exited;
      throw error;
    }
  }
  return {
    child,
    exited,
    output: () => output,
    url: `http://127.0.0.1:${port}`,
    printed,
    stop: async () => {
      if (ended) return;
      signalGroup("SIGINT");
      let timer: NodeJS.Timeout | undefined;
      const gone = await Promise.race([
        exited.then(() => true),
        new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), STOP_TIMEOUT_MS))),
      ]);
      clearTimeout(timer);
      if (gone) return;
      signalGroup("SIGKILL");
      await exited;
      throw new Error(`npm start was still running ${STOP_TIMEOUT_MS} ms after SIGINT (killed); it printed:\n${output}`);
    },
  };
}
