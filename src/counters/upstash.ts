import { randomUUID } from "node:crypto";
import { Redis } from "@upstash/redis";
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
  /** Bound of one call (the HTTP round trip of its batch); each driver has its default. */
  timeoutMs?: number;
}

/** What the drivers send: nothing else of the client is relied on. */
type UpstashRedis = Pick<Redis, "incrby" | "mget" | "get" | "set" | "eval">;

/**
 * @upstash/redis, set up so that a call is one bounded HTTP request and Redis holds exactly what was written:
 * - auto-pipelining: the commands issued in the same tick (a request's counts, a Binance call's ban, pause and
 *   weight checks) go as one `POST /pipeline`, each still settled on its own;
 * - a fresh `AbortSignal.timeout` per HTTP request, as a function: with a plain signal the client would resolve an
 *   aborted command with the abort's reason as its result, instead of rejecting;
 * - `retries: 0`: its default is five more tries with a 50·eⁿ ms backoff, seconds past the bound (and `retry: false`
 *   still tries twice);
 * - no Upstash-Encoding: every value here is UTF-8 text (JSON, numbers), so base64 would only add a third to each
 *   symbol list and a decoding pass over it;
 * - no automatic deserialization: a value reads back as the string stored ("42" stays "42", JSON stays text);
 * - no telemetry headers; url and token come from the config, never from the client's own reading of process.env.
 */
function createUpstashRedis(options: UpstashOptions, defaultTimeoutMs: number): UpstashRedis {
  const timeoutMs = options.timeoutMs ?? defaultTimeoutMs;
  return new Redis({
    url: options.url,
    token: options.token,
    signal: () => AbortSignal.timeout(timeoutMs),
    retry: { retries: 0 },
    responseEncoding: false,
    automaticDeserialization: false,
    enableAutoPipelining: true,
    enableTelemetry: false,
  });
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
  const redis = createUpstashRedis(options, DEFAULT_COUNTERS_TIMEOUT_MS);
  return {
    increment: async (key, by = 1) => {
      try {
        await redis.incrby(key, by);
      } catch (error) {
        log.warn("counter_increment_dropped", { key, by, error });
      }
    },
    read: async (keys) => {
      if (keys.length === 0) return {};
      const values: unknown = await unavailableOnFailure("The counters could not be read", () => redis.mget(...keys));
      if (!Array.isArray(values)) throw new CountersUnavailableError("The counters could not be read: not a list of values");
      return Object.fromEntries(keys.map((key, i) => [key, Number((values as unknown[])[i] ?? 0)]));
    },
  };
}

/**
 * INCRBY, and the window's expiry set by the first add: one round trip, atomic. EVAL rather than the client's
 * EVALSHA-first scripts: a fresh Lambda container would pay a NOSCRIPT round trip for each, to save a hundred bytes.
 */
const ADD_SCRIPT = `local v = redis.call('INCRBY', KEYS[1], ARGV[1])
if redis.call('TTL', KEYS[1]) < 0 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return v`;

/** Redis's EX and PX take whole positive units. */
const wholeSeconds = (seconds: number) => Math.max(1, Math.ceil(seconds));

/** String values in Upstash Redis. */
export function createUpstashKeyValueStore(options: UpstashOptions): KeyValueStore {
  const redis = createUpstashRedis(options, DEFAULT_KEY_VALUE_TIMEOUT_MS);
  return {
    get: async (key) => {
      const value: unknown = await unavailableOnFailure(`${key} could not be read`, () => redis.get(key));
      return typeof value === "string" ? value : null;
    },
    set: async (key, value, { ttlSeconds } = {}) => {
      await unavailableOnFailure(`${key} could not be written`, () =>
        ttlSeconds === undefined ? redis.set(key, value) : redis.set(key, value, { ex: wholeSeconds(ttlSeconds) }),
      );
    },
    add: async (key, by, { ttlSeconds }) =>
      Number(
        await unavailableOnFailure(`${key} could not be added to`, () =>
          redis.eval(ADD_SCRIPT, [key], [by, wholeSeconds(ttlSeconds)]),
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
  const redis = createUpstashRedis(options, DEFAULT_KEY_VALUE_TIMEOUT_MS);
  return {
    acquire: async (key, ttlMs) => {
      const token = randomUUID();
      const taken = await unavailableOnFailure(`the lease ${key} could not be taken`, () =>
        redis.set(key, token, { nx: true, px: Math.ceil(ttlMs) }),
      );
      return taken === "OK" ? token : null;
    },
    renew: async (key, token, ttlMs) =>
      Number(
        await unavailableOnFailure(`the lease ${key} could not be renewed`, () =>
          redis.eval(RENEW_SCRIPT, [key], [token, Math.ceil(ttlMs)]),
        ),
      ) === 1,
    release: async (key, token) => {
      await unavailableOnFailure(`the lease ${key} could not be released`, () => redis.eval(RELEASE_SCRIPT, [key], [token]));
    },
  };
}
