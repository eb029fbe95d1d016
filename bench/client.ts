import { fork } from "node:child_process";
import { readFileSync } from "node:fs";
import { Agent } from "node:http";
import { fileURLToPath } from "node:url";
import { send } from "./http-client.js";
import { medianRun, percentile } from "./stats.js";

export interface TimedRequest {
  url: string;
  method?: string;
  headers?: Record<string, string>;
  /** A file whose bytes are the body; the client reads it once and keeps it. */
  bodyFile?: string;
}

/** One request's answer, and the time from sending it to the last byte of the answer. */
export interface Timed {
  status: number;
  sizeBytes: number;
  ms: number;
}

export interface LoadOptions {
  url: string;
  connections: number;
  durationMs: number;
}

export interface LoadResult {
  requests: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
}

type Command = { kind: "time"; request: TimedRequest } | { kind: "load"; options: LoadOptions };
type Reply = { id: number; result?: unknown; error?: string };

/**
 * An HTTP client in a child process (this file, under the parent's tsx loader), as curl or autocannon would be:
 * its work neither shares the server's event loop nor counts in the server's time.
 */
export function startClient() {
  const child = fork(fileURLToPath(import.meta.url), ["--client"]);
  const pending = new Map<number, { resolve: (result: unknown) => void; reject: (error: Error) => void }>();
  let nextId = 0;
  child.on("message", ({ id, result, error }: Reply) => {
    const waiting = pending.get(id);
    pending.delete(id);
    if (error === undefined) waiting?.resolve(result);
    else waiting?.reject(new Error(error));
  });
  child.once("exit", (code) => {
    for (const waiting of pending.values()) waiting.reject(new Error(`the bench client exited (code ${code})`));
  });
  const ask = <T>(command: Command) =>
    new Promise<T>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve: resolve as (result: unknown) => void, reject });
      child.send({ id, command });
    });
  return {
    time: (request: TimedRequest) => ask<Timed>({ kind: "time", request }),
    /**
     * GETs `url` over `connections` keep-alive connections, each asking again as soon as its answer ends, for
     * `durationMs`. A non-200 answer or a socket error counts as an error.
     */
    load: (options: LoadOptions) => ask<LoadResult>({ kind: "load", options }),
    close: () =>
      new Promise<void>((resolve) => {
        child.once("exit", () => resolve());
        child.disconnect();
      }),
  };
}

export type BenchClient = ReturnType<typeof startClient>;

/** The median time of a GET of `url` timed in the client process (after a warm-up), and its size; anything but 200 stops the benchmark. */
export async function medianGet(client: BenchClient, url: string, runs: number): Promise<{ ms: number; bytes: number }> {
  let bytes = 0;
  const ms = await medianRun(runs, async () => {
    const answer = await client.time({ url });
    if (answer.status !== 200) throw new Error(`${url} answered ${answer.status}`);
    bytes = answer.sizeBytes;
    return answer.ms;
  });
  return { ms, bytes };
}

const bodies = new Map<string, Buffer>();

async function time({ url, method, headers, bodyFile }: TimedRequest): Promise<Timed> {
  let body: Buffer | undefined;
  if (bodyFile) body = bodies.get(bodyFile) ?? bodies.set(bodyFile, readFileSync(bodyFile)).get(bodyFile);
  const started = performance.now();
  const answer = await send(url, { method, headers, body });
  return { status: answer.status, sizeBytes: answer.sizeBytes, ms: performance.now() - started };
}

async function load({ url, connections, durationMs }: LoadOptions): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const latencies: number[] = [];
  let errors = 0;
  const started = performance.now();
  const deadline = started + durationMs;
  async function connection(): Promise<void> {
    while (performance.now() < deadline) {
      const sent = performance.now();
      try {
        const answer = await send(url, { agent });
        if (answer.status !== 200) errors++;
      } catch {
        errors++;
      }
      latencies.push(performance.now() - sent);
    }
  }
  await Promise.all(Array.from({ length: connections }, connection));
  const elapsedMs = performance.now() - started;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return {
    requests: latencies.length,
    requestsPerSecond: latencies.length / (elapsedMs / 1000),
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    errors,
  };
}

if (process.send && process.argv.includes("--client")) {
  const answer = async ({ id, command }: { id: number; command: Command }) => {
    try {
      const result = command.kind === "time" ? await time(command.request) : await load(command.options);
      process.send?.({ id, result });
    } catch (error) {
      process.send?.({ id, error: String(error) });
    }
  };
  process.on("message", (message: { id: number; command: Command }) => void answer(message));
}
