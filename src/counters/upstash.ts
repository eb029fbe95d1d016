import { randomUUID } from "node:crypto";
import { CountersUnavailableError } from "../errors.js";
import {
  DEFAULT_COUNTERS_TIMEOUT_MS,
  DEFAULT_KEY_VALUE_TIMEOUT_MS,
  type Counters,
  type CountersLog,
  type KeyValueStore,
  type Leases,
} from "./types.js";

/** How to reach one Upstash database over its REST API. */
export interface UpstashOptions {
  /** UPSTASH_REDIS_REST_URL */
  url: string;
  /** UPSTASH_REDIS_REST_TOKEN */
  token: string;
  /** Bound of one call (the round trip of its batch); each driver has its default. */
  timeoutMs?: number;
  /** The fetch to use; the global one by default (tests inject failures this way). */
  fetch?: typeof fetch;
}

type Command = (string | number)[];

/**
 * Upstash's REST protocol (https://upstash.com/docs/redis/features/restapi), spoken directly: commands issued in the
 * same tick go as one `POST <url>/pipeline` of JSON arrays, answered `[{"result": …} | {"error": …}]`, as
 * @upstash/redis's auto-pipelining sends them. Spoken here rather than through that client because it is 80 KB of
 * every Lambda bundle that imports it, a seventh of the budget, for the few commands these drivers send. The tests
 * prove the same protocol against the bridge with the real client (test/dev/upstash-bridge.test.ts).
 */
function createUpstashRest(options: UpstashOptions, defaultTimeoutMs: number) {
  const base = options.url.replace(/\/+$/, "");
  const timeoutMs = options.timeoutMs ?? defaultTimeoutMs;
  const fetchFn = options.fetch ?? fetch;
  let batch: { command: Command; settle: (outcome: { result?: unknown; error?: Error }) => void }[] | null = null;

  async function flush(): Promise<void> {
    const sent = batch ?? [];
    batch = null;
    try {
      const response = await fetchFn(`${base}/pipeline`, {
        method: "POST",
        headers: { authorization: `Bearer ${options.token}`, "content-type": "application/json" },
        body: JSON.stringify(sent.map((item) => item.command)),
        signal: AbortSignal.timeout(timeoutMs),
      });
      const answers = (await response.json()) as { result?: unknown; error?: string }[];
      if (!response.ok || !Array.isArray(answers)) throw new Error(`Upstash answered HTTP ${response.status}`);
      sent.forEach((item, i) => {
        const answer = answers[i];
        if (answer && answer.error === undefined) item.settle({ result: answer.result });
        else item.settle({ error: new Error(answer?.error ?? "Upstash gave no answer to this command") });
      });
    } catch (error) {
      for (const item of sent) item.settle({ error: error instanceof Error ? error : new Error(String(error)) });
    }
  }

  return {
    /** One command's result; rejects with Redis's error, a transport failure, or the timeout. */
    send(command: Command): Promise<unknown> {
      return new Promise((resolve, reject) => {
        if (batch === null) {
          batch = [];
          queueMicrotask(() => void flush());
        }
        batch.push({ command, settle: ({ result, error }) => (error === undefined ? resolve(result) : reject(error)) });
      });
    },
  };
}

async function unavailableOnFailure<T>(message: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw new CountersUnavailableError(message, error);
  }
}

/** Counters in Upstash Redis. Counting never fails or slows a request: a failed increment is logged and dropped. */
export function createUpstashCounters(options: UpstashOptions & { log: CountersLog }): Counters {
  const { log } = options;
  const redis = createUpstashRest(options, DEFAULT_COUNTERS_TIMEOUT_MS);
  return {
    increment: async (key, by = 1) => {
      try {
        await redis.send(["INCRBY", key, by]);
      } catch (error) {
        log.warn("counter_increment_dropped", { key, by, error });
      }
    },
    read: async (keys) => {
      if (keys.length === 0) return {};
      const values = await unavailableOnFailure("The counters could not be read", () => redis.send(["MGET", ...keys]));
      if (!Array.isArray(values)) throw new CountersUnavailableError("The counters could not be read: not a list of values");
      return Object.fromEntries(keys.map((key, i) => [key, Number((values as unknown[])[i] ?? 0)]));
    },
  };
}

/** INCRBY, and the window's expiry set by the first add: one round trip, atomic. */
const ADD_SCRIPT = `local v = redis.call('INCRBY', KEYS[1], ARGV[1])
if redis.call('TTL', KEYS[1]) < 0 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return v`;

/** String values in Upstash Redis. */
export function createUpstashKeyValueStore(options: UpstashOptions): KeyValueStore {
  const redis = createUpstashRest(options, DEFAULT_KEY_VALUE_TIMEOUT_MS);
  return {
    get: async (key) => {
      const value = await unavailableOnFailure(`${key} could not be read`, () => redis.send(["GET", key]));
      return typeof value === "string" ? value : null;
    },
    set: async (key, value, { ttlSeconds } = {}) => {
      const command = ttlSeconds === undefined ? ["SET", key, value] : ["SET", key, value, "EX", Math.max(1, Math.ceil(ttlSeconds))];
      await unavailableOnFailure(`${key} could not be written`, () => redis.send(command));
    },
    add: async (key, by, { ttlSeconds }) =>
      Number(
        await unavailableOnFailure(`${key} could not be added to`, () =>
          redis.send(["EVAL", ADD_SCRIPT, 1, key, by, Math.max(1, Math.ceil(ttlSeconds))]),
        ),
      ),
  };
}

/** Only the holder's token extends or ends a lease (compare and act, atomically). */
const RENEW_SCRIPT = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`;
const RELEASE_SCRIPT = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/** Leases in Upstash Redis: `SET key token NX PX ttl`, renewed and released only by their token. */
export function createUpstashLeases(options: UpstashOptions): Leases {
  const redis = createUpstashRest(options, DEFAULT_KEY_VALUE_TIMEOUT_MS);
  return {
    acquire: async (key, ttlMs) => {
      const token = randomUUID();
      const taken = await unavailableOnFailure(`the lease ${key} could not be taken`, () =>
        redis.send(["SET", key, token, "NX", "PX", Math.ceil(ttlMs)]),
      );
      return taken === "OK" ? token : null;
    },
    renew: async (key, token, ttlMs) =>
      Number(
        await unavailableOnFailure(`the lease ${key} could not be renewed`, () =>
          redis.send(["EVAL", RENEW_SCRIPT, 1, key, token, Math.ceil(ttlMs)]),
        ),
      ) === 1,
    release: async (key, token) => {
      await unavailableOnFailure(`the lease ${key} could not be released`, () => redis.send(["EVAL", RELEASE_SCRIPT, 1, key, token]));
    },
  };
}
