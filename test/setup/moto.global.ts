import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    /** Base URL of the moto_server S3 stand-in, e.g. http://127.0.0.1:41234 */
    s3Endpoint: string;
  }
}

const HOST = "127.0.0.1";
const READY_TIMEOUT_MS = 20_000;
const INSTALL_HINT = 'Install it with: pip install "moto[server]" (the moto_server command must be on PATH)';

/** Starts moto_server on a free loopback port for the whole run and provides its URL as `s3Endpoint`. */
export default async function setup({ provide }: TestProject): Promise<() => Promise<void>> {
  const port = await freePort();
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
  provide("s3Endpoint", endpoint);
  return () => stop(moto);
}

/** A port nobody listens on right now: bind port 0, read what the OS picked, release it. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, HOST, resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("Could not find a free loopback port");
  return address.port;
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
