import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { connect } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { freePort } from "./ports.js";
import { startUpstashBridge } from "./upstash-bridge.js";

const HOST = "127.0.0.1";
const READY_TIMEOUT_MS = 10_000;
const INSTALL_HINT = "Install it with: apt-get install redis-server (the redis-server binary must be on PATH).";

/** A redis-server child process on a loopback port, empty and without persistence. */
export interface RedisServer {
  port: number;
  /** redis://127.0.0.1:<port> */
  url: string;
  /** SIGKILL, as a crash: clients see the connection drop, nothing is saved. */
  kill(): Promise<void>;
  /** Starts it again on the same port (empty) and waits until it answers PING. */
  restart(): Promise<void>;
  /** Ends it if it runs. */
  stop(): Promise<void>;
}

/** A private Redis with an Upstash bridge in front, for a test file that kills and restarts Redis. */
export interface RedisStack {
  redis: RedisServer;
  /** Base URL of the bridge, for @upstash/redis. */
  upstashUrl: string;
  upstashToken: string;
  /** Stops the bridge and Redis. */
  stop(): Promise<void>;
}

/** Starts redis-server on a free loopback port (or `port`) and waits until it answers PING. */
export async function startRedisServer(options: { port?: number } = {}): Promise<RedisServer> {
  const port = options.port ?? (await freePort());
  let child = await spawnRedis(port);
  return {
    port,
    url: `redis://${HOST}:${port}`,
    kill: () => stopProcess(child, "SIGKILL"),
    restart: async () => {
      await stopProcess(child, "SIGKILL");
      child = await spawnRedis(port);
    },
    stop: () => stopProcess(child, "SIGTERM"),
  };
}

/**
 * redis-server plus an Upstash bridge with a random token, both on free loopback ports.
 * `bridgeTimeoutMs` bounds each bridge request's Redis work (see startUpstashBridge).
 */
export async function startRedisStack(options: { bridgeTimeoutMs?: number } = {}): Promise<RedisStack> {
  const redis = await startRedisServer();
  const upstashToken = randomBytes(24).toString("hex");
  try {
    const bridge = await startUpstashBridge({ redisUrl: redis.url, token: upstashToken, timeoutMs: options.bridgeTimeoutMs });
    return {
      redis,
      upstashUrl: bridge.url,
      upstashToken,
      stop: async () => {
        await bridge.close();
        await redis.stop();
      },
    };
  } catch (error) {
    await redis.stop();
    throw error;
  }
}

async function spawnRedis(port: number): Promise<ChildProcess> {
  const child = spawn(
    "redis-server",
    ["--port", String(port), "--bind", HOST, "--save", "", "--appendonly", "no"],
    { stdio: ["ignore", "pipe", "pipe"], env: withoutFakeTime(process.env) },
  );
  let output = "";
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-2000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  let failure: Error | undefined;
  child.once("error", (error: NodeJS.ErrnoException) => {
    failure =
      error.code === "ENOENT"
        ? new Error(`redis-server was not found, so Redis cannot be started. ${INSTALL_HINT}`)
        : new Error(`redis-server could not be started: ${error.message}. ${INSTALL_HINT}`);
  });
  child.once("exit", (code, signal) => {
    failure ??= new Error(`redis-server exited before it was ready (code ${code}, signal ${signal}):\n${output}`);
  });
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (failure) throw failure;
    if (await answersPing(port)) return child;
    await sleep(20);
  }
  await stopProcess(child, "SIGKILL");
  throw new Error(`redis-server did not answer PING on port ${port} within ${READY_TIMEOUT_MS / 1000} s:\n${output}`);
}

/**
 * The environment minus libfaketime's: redis-server breaks under it (CI runs the suites with the clock moved a year
 * either way, and everything but the real servers must keep working).
 */
function withoutFakeTime(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { LD_PRELOAD, FAKETIME, FAKETIME_NO_CACHE, ...rest } = env;
  return rest;
}

/** One raw RESP PING on a fresh connection; true on +PONG. */
function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: HOST, port });
    let reply = "";
    const finish = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => finish(false));
    socket.once("error", () => finish(false));
    socket.once("connect", () => socket.write("PING\r\n"));
    socket.on("data", (chunk) => {
      reply += chunk.toString();
      if (reply.includes("\r\n")) finish(reply.startsWith("+PONG"));
    });
  });
}

/** Signals the process (by its pid) and waits until it is gone. */
async function stopProcess(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill(signal);
  const gone = await Promise.race([exited.then(() => true), sleep(5000).then(() => false)]);
  if (!gone) {
    child.kill("SIGKILL");
    await exited;
  }
}
