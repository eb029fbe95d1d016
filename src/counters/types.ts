import type { Log } from "../log.js";

/**
 * Hit, miss and job counters. Counting must never fail or slow a request, so `increment` never rejects: a
 * driver logs and drops an error or a timeout. Reading is for the metrics endpoint and may fail.
 */
export interface Counters {
  /** Adds `by` (a safe integer, default 1) to the counter `key`, atomically (INCRBY); resolves even on failure. */
  increment(key: string, by?: number): Promise<void>;
  /**
   * The current value of each of `keys`, in one round trip (MGET); a missing key reads 0.
   * Rejects with CountersUnavailableError when the store cannot be read in time.
   */
  read(keys: string[]): Promise<Record<string, number>>;
}

/**
 * Small string values kept beside the counters, in the same store: the symbol lists and their refresh time.
 * Unlike counting, these calls may reject (CountersUnavailableError): callers decide how to degrade.
 */
export interface KeyValueStore {
  /** The value at `key`; null when there is none or it expired. */
  get(key: string): Promise<string | null>;
  /** Stores `value` at `key`, expiring after `ttlSeconds` when given (without it, any earlier expiry is dropped). */
  set(key: string, value: string, options?: { ttlSeconds?: number }): Promise<void>;
  /**
   * Adds `by` to the integer at `key` (INCRBY, from 0) and returns the new value; the key expires `ttlSeconds` after
   * the first add (a counter per time window).
   */
  add(key: string, by: number, options: { ttlSeconds: number }): Promise<number>;
}

/**
 * Leases that hold across processes (Lambda containers): one holder at a time, for a while. A holder that stops
 * renewing, crashed or not, loses its lease when it expires. Calls may reject (CountersUnavailableError).
 */
export interface Leases {
  /** Takes `key` for `ttlMs` when nobody holds it: the token that renews and releases it; null when it is held. */
  acquire(key: string, ttlMs: number): Promise<string | null>;
  /** Extends the lease to `ttlMs` from now when `token` still holds it; false when it was lost. */
  renew(key: string, token: string, ttlMs: number): Promise<boolean>;
  /** Ends the lease when `token` still holds it; a lease taken since by someone else stays theirs. */
  release(key: string, token: string): Promise<void>;
}

/** What a counters driver needs of the log: a warning when a count is dropped. */
export type CountersLog = Pick<Log, "warn">;

/** Default bound of one counter call: counting must not noticeably slow a request. */
export const DEFAULT_COUNTERS_TIMEOUT_MS = 300;
/** Default bound of one key-value call: a symbol list is tens of kB, and a miss costs a Binance call. */
export const DEFAULT_KEY_VALUE_TIMEOUT_MS = 1000;
