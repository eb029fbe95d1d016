import { Redis } from "@upstash/redis";
import { CountersUnavailableError } from "../errors.js";
import { randomUUID } from "node:crypto";
import {
  DEFAULT_COUNTERS_TIMEOUT_MS,
  DEFAULT_KEY_VALUE_TIMEOUT_MS,
  type Counters,
  type CountersLog,
  type KeyValueStore,
  type Leases,
} from "./types.js";

/** What the counters use of the Upstash client. */
export type UpstashCountersClient = Pick<Redis, "incrby" | "mget">;
/** What the key-value store uses of the Upstash client. */
export type UpstashKeyValueClient = Pick<Redis, "get" | "set" | "eval">;
/** What the leases use of the Upstash client. */
export type UpstashLeasesClient = Pick<Redis, "set" | "eval">;

export interface UpstashCountersOptions {
  /** UPSTASH_REDIS_REST_URL */
  url: string;
  /** UPSTASH_REDIS_REST_TOKEN */
  token: string;
  /** Bound of one Redis call (increment or read); default 300 ms. */
  timeoutMs?: number;
  /** Where dropped increments are reported. */
  log: CountersLog;
  /** A client to use instead of one built from url and token (tests inject failures this way). */
  redis?: UpstashCountersClient;
}

export interface UpstashKeyValueStoreOptions {
  /** UPSTASH_REDIS_REST_URL */
  url: string;
  /** UPSTASH_REDIS_REST_TOKEN */
  token: string;
  /** Bound of one Redis call; default 1000 ms. */
  timeoutMs?: number;
  /** A client to use instead of one built from url and token. */
  redis?: UpstashKeyValueClient;
}

/** Counters in Upstash Redis, over its REST API. */
export function createUpstashCounters(options: UpstashCountersOptions): Counters {
  const { log } = options;
  const redis = options.redis ?? createClient(options.url, options.token, options.timeoutMs ?? DEFAULT_COUNTERS_TIMEOUT_MS);
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
      const values = await unavailableOnFailure("The counters could not be read", () =>
        redis.mget<(string | null)[]>(...keys),
      );
      return Object.fromEntries(keys.map((key, i) => [key, Number(values[i] ?? 0)]));
    },
  };
}

/** INCRBY, and the window's expiry set by the first add: one round trip, atomic. */
const ADD_SCRIPT = `local v = redis.call('INCRBY', KEYS[1], ARGV[1])
if redis.call('TTL', KEYS[1]) < 0 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return v`;

/** String values in Upstash Redis, over its REST API. */
export function createUpstashKeyValueStore(options: UpstashKeyValueStoreOptions): KeyValueStore {
  const redis = options.redis ?? createClient(options.url, options.token, options.timeoutMs ?? DEFAULT_KEY_VALUE_TIMEOUT_MS);
  return {
    get: (key) => unavailableOnFailure(`${key} could not be read`, () => redis.get<string>(key)),
    set: async (key, value, { ttlSeconds } = {}) => {
      await unavailableOnFailure(`${key} could not be written`, () =>
        ttlSeconds === undefined ? redis.set(key, value) : redis.set(key, value, { ex: ttlSeconds }),
      );
    },
    add: async (key, by, { ttlSeconds }) =>
      Number(
        await unavailableOnFailure(`${key} could not be added to`, () =>
          redis.eval(ADD_SCRIPT, [key], [String(by), String(Math.max(1, Math.ceil(ttlSeconds)))]),
        ),
      ),
  };
}

export interface UpstashLeasesOptions {
  /** UPSTASH_REDIS_REST_URL */
  url: string;
  /** UPSTASH_REDIS_REST_TOKEN */
  token: string;
  /** Bound of one Redis call; default 1000 ms. */
  timeoutMs?: number;
  /** A client to use instead of one built from url and token. */
  redis?: UpstashLeasesClient;
}

/** Only the holder's token extends or ends a lease (compare and act, atomically). */
const RENEW_SCRIPT = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`;
const RELEASE_SCRIPT = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/** Leases in Upstash Redis: `SET key token NX PX ttl`, renewed and released only by their token. */
export function createUpstashLeases(options: UpstashLeasesOptions): Leases {
  const redis = options.redis ?? createClient(options.url, options.token, options.timeoutMs ?? DEFAULT_KEY_VALUE_TIMEOUT_MS);
  return {
    acquire: async (key, ttlMs) => {
      const token = randomUUID();
      const taken = await unavailableOnFailure(`the lease ${key} could not be taken`, () =>
        redis.set(key, token, { nx: true, px: Math.ceil(ttlMs) }),
      );
      return taken === null ? null : token;
    },
    renew: async (key, token, ttlMs) =>
      Number(
        await unavailableOnFailure(`the lease ${key} could not be renewed`, () =>
          redis.eval(RENEW_SCRIPT, [key], [token, String(Math.ceil(ttlMs))]),
        ),
      ) === 1,
    release: async (key, token) => {
      await unavailableOnFailure(`the lease ${key} could not be released`, () => redis.eval(RELEASE_SCRIPT, [key], [token]));
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

function createClient(url: string, token: string, timeoutMs: number): Redis {
  return new Redis({
    url,
    token,
    // Commands issued in the same tick share one HTTP round trip (the default, stated because it matters here).
    enableAutoPipelining: true,
    // `retry: false` still tries twice (pkg/http.ts loops `i <= attempts` with attempts 1); 0 retries is one try.
    retry: { retries: 0 },
    // A function, so each request gets its own timeout and an abort rejects. With a plain AbortSignal the client
    // fakes a 200 answer once it fires: a single command resolves to null, a pipeline fails with a TypeError.
    signal: () => AbortSignal.timeout(timeoutMs),
    // Values come back as the strings stored, not parsed as JSON by the client.
    automaticDeserialization: false,
  });
}
