import { spawn, type ChildProcess } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { freePort } from "./ports.js";

const HOST = "127.0.0.1";
const READY_TIMEOUT_MS = 20_000;
const INSTALL_HINT = 'Install it with: pip install "moto[server]" (the moto_server command must be on PATH)';

/** A moto_server child process: an S3-compatible server on a loopback port, empty at start. */
export interface MotoServer {
  /** Base URL, e.g. http://127.0.0.1:41234 */
  endpoint: string;
  /** Ends the process (by its pid) and waits until it is gone. */
  stop(): Promise<void>;
}

/** Starts moto_server on a free loopback port and waits until it answers; fails fast if it cannot start. */
export async function startMotoServer(): Promise<MotoServer> {
  const port = await freePort(HOST);
  const endpoint = `http://${HOST}:${port}`;
  const moto = spawn("moto_server", ["-H", HOST, "-p", String(port)], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  moto.stderr?.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-2000);
  });
  try {
    await waitUntilReady(moto, endpoint, () => stderr);
  } catch (error) {
    await stop(moto);
    throw error;
  }
  return { endpoint, stop: () => stop(moto) };
}

/** Polls `endpoint` until moto answers; fails fast if the process cannot start or exits. */
async function waitUntilReady(moto: ChildProcess, endpoint: string, stderr: () => string): Promise<void> {
  const failed = (what: string) => new Error(`${what}. ${INSTALL_HINT}\nmoto_server's stderr:\n${stderr()}`);
  let failure: Error | undefined;
  moto.once("error", (error: NodeJS.ErrnoException) => {
    failure =
      error.code === "ENOENT"
        ? failed("moto_server was not found on PATH, so the S3 tests cannot run")
        : failed(`moto_server could not be started: ${error.message}`);
  });
  moto.once("close", (code, signal) => {
    failure ??= failed(`moto_server exited before it was ready (code ${code}, signal ${signal})`);
  });
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (failure) throw failure;
    try {
      await fetch(endpoint, { signal: AbortSignal.timeout(1000) });
      return;
    } catch {
      await sleep(100);
    }
  }
  throw failed(`moto_server did not answer on ${endpoint} within ${READY_TIMEOUT_MS / 1000} s`);
}

/** Ends moto_server (by its pid) and waits until it is gone. */
async function stop(moto: ChildProcess): Promise<void> {
  if (moto.exitCode !== null || moto.signalCode !== null || moto.pid === undefined) return;
  const exited = new Promise<void>((resolve) => moto.once("exit", () => resolve()));
  moto.kill("SIGTERM");
  const killed = await Promise.race([exited.then(() => true), sleep(5000).then(() => false)]);
  if (!killed) {
    moto.kill("SIGKILL");
    await exited;
  }
}
