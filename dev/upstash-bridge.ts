import { createHash, timingSafeEqual } from "node:crypto";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { Hono, type Context } from "hono";
import { Redis, type ChainableCommander } from "ioredis";

/**
 * A local stand-in for Upstash: speaks the Upstash REST protocol that @upstash/redis uses and forwards each
 * command to a real redis-server. For tests and `npm run stack`, not for production.
 *
 * Protocol, as the client in node_modules/@upstash/redis (pkg/http.ts) sends and reads it:
 * - `POST /` with one command as a JSON array (`["SET","k","v","EX",60]`) -> `{"result": …}`;
 *   a Redis error -> 400 `{"error": "<redis message>"}`.
 * - `POST /pipeline` and `POST /multi-exec` with an array of commands -> 200 and one `{result}` or `{error}` per
 *   command, in order; multi-exec runs them in MULTI/EXEC.
 * - `Authorization: Bearer <token>`, else 401 `{error}`.
 * - `Upstash-Encoding: base64` (the client's default): every string at every depth of a result is base64 of its
 *   bytes; numbers and null stay as they are; errors are never encoded.
 * - A body that is not a command (or an array of them) -> 400; Redis unreachable or too slow -> 503, at once.
 */

/** What the bridge needs of an ioredis client. */
export type BridgeRedis = Pick<Redis, "callBuffer" | "pipeline" | "multi" | "status">;

export interface UpstashBridgeOptions {
  /** The Redis to forward to: an ioredis client (left open by close()), or a redis:// URL (owned and closed). */
  redis: BridgeRedis | string;
  /** The bearer token clients must present. */
  token: string;
  /** Upper bound of one request's Redis work; past it the request answers 503. Default 2000. */
  timeoutMs?: number;
}

export interface UpstashBridge {
  /** The Hono app; serve it, or drive it in tests with `app.request(path, init)`. */
  app: Hono;
  /** Closes the Redis connection if the bridge opened it. */
  close(): Promise<void>;
}

export interface StartUpstashBridgeOptions {
  /** redis:// URL of the redis-server to forward to. */
  redisUrl: string;
  /** The bearer token clients must present. */
  token: string;
  /** Port to listen on; 0 (the default) picks a free one. */
  port?: number;
  /** Interface to listen on; loopback by default. */
  hostname?: string;
  /** See UpstashBridgeOptions.timeoutMs. */
  timeoutMs?: number;
}

export interface RunningUpstashBridge {
  /** Base URL to give @upstash/redis, e.g. http://127.0.0.1:41234 */
  url: string;
  /** Stops listening and closes the Redis connection. */
  close(): Promise<void>;
}

const DEFAULT_TIMEOUT_MS = 2000;
/** Longest pause between reconnection attempts, so counting resumes soon after Redis comes back. */
const MAX_RECONNECT_DELAY_MS = 200;

/**
 * Commands that would change the state of the one connection every request shares (subscriber mode, another
 * database, an open transaction, a closed socket) or hold it blocked for everyone else. Transactions go
 * through /multi-exec.
 */
const UNSUPPORTED_COMMANDS = new Set([
  "subscribe", "psubscribe", "ssubscribe", "unsubscribe", "punsubscribe", "sunsubscribe", "monitor",
  "quit", "reset", "select", "hello", "auth", "multi", "exec", "discard", "watch", "unwatch",
  "blpop", "brpop", "brpoplpush", "blmove", "blmpop", "bzpopmin", "bzpopmax", "bzmpop",
]);

type CommandArgument = string | number | boolean;
type Command = [CommandArgument, ...CommandArgument[]];
type RedisReply = Buffer | string | number | null | Error | RedisReply[];
type ReplyEntry = { result: unknown } | { error: string };

class MalformedBodyError extends Error {
  override name = "MalformedBodyError";
}

/** Redis did not answer in time or could not be reached: the whole request fails (503). */
class RedisUnavailableError extends Error {
  override name = "RedisUnavailableError";
}

export function createUpstashBridge(options: UpstashBridgeOptions): UpstashBridge {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const ownedRedis = typeof options.redis === "string" ? connectRedis(options.redis, timeoutMs) : undefined;
  const redis: BridgeRedis = ownedRedis ?? (options.redis as BridgeRedis);
  const expectedToken = digest(options.token);

  const app = new Hono();

  app.use("*", async function bearerAuth(c, next) {
    const header = c.req.header("authorization") ?? "";
    const presented = header.startsWith("Bearer ") ? header.slice("Bearer ".length) : "";
    if (!timingSafeEqual(digest(presented), expectedToken)) {
      return c.json({ error: "Unauthorized: missing or wrong bearer token" }, 401);
    }
    await next();
  });

  /** Between reconnection attempts, answer at once rather than queue the command until the next one. */
  const assertConnected = () => {
    if (redis.status === "reconnecting" || redis.status === "close") {
      throw new RedisUnavailableError(`the connection to Redis is lost (${redis.status})`);
    }
  };

  app.post("/", (c) =>
    respond(c, async (base64) => {
      const command = parseCommand(await readJson(c));
      assertConnected();
      const reply = await withTimeout(redis.callBuffer(...toCallArguments(command)), timeoutMs);
      return c.json({ result: encodeReply(reply as RedisReply, base64) });
    }),
  );

  /** Sends the commands as one batch of `start()` and answers one `{result}` or `{error}` per command. */
  const batchRoute = (start: () => ChainableCommander) => (c: Context) =>
    respond(c, async (base64) => {
      const commands = parseCommands(await readJson(c));
      assertConnected();
      const batch = start();
      for (const command of commands) batch.callBuffer(...toCallArguments(command));
      return c.json(toReplyEntries(await withTimeout(batch.exec(), timeoutMs), base64));
    });

  app.post("/pipeline", batchRoute(() => redis.pipeline()));
  // A command refused while queueing aborts the whole transaction (EXECABORT): ioredis rejects, the bridge answers 400.
  app.post("/multi-exec", batchRoute(() => redis.multi()));

  return {
    app,
    close: () => Promise.resolve(ownedRedis?.disconnect()),
  };
}

/** Serves a bridge to `redisUrl` on loopback; resolves once it listens (and Redis is connected, if it is up). */
export async function startUpstashBridge(options: StartUpstashBridgeOptions): Promise<RunningUpstashBridge> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const hostname = options.hostname ?? "127.0.0.1";
  const redis = connectRedis(options.redisUrl, timeoutMs);
  await waitUntilReady(redis, timeoutMs);
  const bridge = createUpstashBridge({ redis, token: options.token, timeoutMs });
  const { server, port } = await new Promise<{ server: ReturnType<typeof serve>; port: number }>((resolve, reject) => {
    const server = serve({ fetch: bridge.app.fetch, port: options.port ?? 0, hostname }, (info: AddressInfo) =>
      resolve({ server, port: info.port }),
    );
    server.once("error", (error: Error) => {
      redis.disconnect();
      reject(error);
    });
  });
  const host = hostname.includes(":") ? `[${hostname}]` : hostname;
  return {
    url: `http://${host}:${port}`,
    close: async () => {
      if ("closeAllConnections" in server) server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      redis.disconnect();
    },
  };
}

/**
 * An ioredis client that fails fast when Redis is away: each command times out after `timeoutMs`, queued
 * commands are failed at every lost reconnection attempt instead of waiting for Redis, and reconnection is
 * retried every MAX_RECONNECT_DELAY_MS at most. RESP2, as Upstash answers (doubles as strings, maps as arrays).
 */
function connectRedis(url: string, timeoutMs: number): Redis {
  const redis = new Redis(url, {
    protocol: 2,
    commandTimeout: timeoutMs,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: (attempt) => Math.min(attempt * 20, MAX_RECONNECT_DELAY_MS),
  });
  // Connection errors reach each request as a 503; the event itself would only repeat them on stderr.
  redis.on("error", () => {});
  return redis;
}

async function waitUntilReady(redis: Redis, timeoutMs: number): Promise<void> {
  if (redis.status === "ready") return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(done, timeoutMs);
    redis.once("ready", done);
    function done() {
      clearTimeout(timer);
      redis.off("ready", done);
      resolve();
    }
  });
}

/** Runs a handler with the request's encoding; maps malformed bodies to 400 and Redis outages to 503. */
async function respond(c: Context, handle: (base64: boolean) => Promise<Response>): Promise<Response> {
  const base64 = c.req.header("upstash-encoding")?.toLowerCase() === "base64";
  try {
    return await handle(base64);
  } catch (error) {
    if (error instanceof MalformedBodyError) return c.json({ error: `ERR ${error.message}` }, 400);
    if (isReplyError(error)) return c.json({ error: error.message }, 400);
    const message = error instanceof Error ? error.message : String(error);
    return c.json({ error: `ERR Redis is unavailable: ${message}` }, 503);
  }
}

async function readJson(c: Context): Promise<unknown> {
  const text = await c.req.text();
  try {
    return JSON.parse(text);
  } catch {
    throw new MalformedBodyError("the request body is not valid JSON");
  }
}

function parseCommand(body: unknown): Command {
  if (!Array.isArray(body) || body.length === 0) {
    throw new MalformedBodyError("a command is a non-empty JSON array, like [\"GET\",\"key\"]");
  }
  if (!body.every(isCommandArgument)) {
    throw new MalformedBodyError("each part of a command is a string, a number or a boolean");
  }
  if (typeof body[0] !== "string" || UNSUPPORTED_COMMANDS.has(body[0].toLowerCase())) {
    throw new MalformedBodyError(`command not supported by the bridge: ${JSON.stringify(body[0])}`);
  }
  return body as Command;
}

function parseCommands(body: unknown): Command[] {
  if (!Array.isArray(body) || body.length === 0 || !body.every(Array.isArray)) {
    throw new MalformedBodyError("a pipeline is a non-empty JSON array of commands, like [[\"INCR\",\"a\"]]");
  }
  return body.map(parseCommand);
}

function isCommandArgument(value: unknown): value is CommandArgument {
  return typeof value === "string" || typeof value === "number" || typeof value === "boolean";
}

/**
 * ioredis reshapes some replies, keyed by the lower-case command name (HGETALL into an object, for one); Redis
 * takes names in any case, so an upper-case name gets the reply exactly as Redis sent it.
 */
function toCallArguments([name, ...args]: Command): [string, ...string[]] {
  return [String(name).toUpperCase(), ...args.map(String)];
}

function toReplyEntries(results: [Error | null, unknown][] | null, base64: boolean): ReplyEntry[] {
  // EXEC answers null only after a failed WATCH, which the bridge refuses.
  if (results === null) throw new Error("the transaction was discarded");
  return results.map(([error, reply]) => {
    if (error === null) return { result: encodeReply(reply as RedisReply, base64) };
    if (error.name === "ReplyError") return { error: error.message };
    // The connection failed under this pipeline: no partial answer, the whole request fails.
    throw error;
  });
}

/** A Redis reply as JSON: bulk and status strings as UTF-8 text, or as base64 of their exact bytes. */
function encodeReply(reply: RedisReply, base64: boolean): unknown {
  if (reply === null || typeof reply === "number") return reply;
  if (Array.isArray(reply)) return reply.map((item) => encodeReply(item, base64));
  if (reply instanceof Error) return encodeReply(reply.message, base64);
  const bytes = typeof reply === "string" ? Buffer.from(reply) : reply;
  return base64 ? bytes.toString("base64") : bytes.toString("utf8");
}

function isReplyError(error: unknown): error is Error {
  return error instanceof Error && error.name === "ReplyError";
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new RedisUnavailableError(`no answer from Redis within ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  promise.catch(() => {});
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Fixed-length digests, so comparing tokens of different lengths is constant-time too. */
function digest(token: string): Buffer {
  return createHash("sha256").update(token).digest();
}
