import { systemClock, type Clock } from "../clock.js";
import { randomUUID } from "node:crypto";
import type { Counters, KeyValueStore, Leases } from "./types.js";

export interface MemoryCountersOptions {
  /** Where the counts live; pass one to look at or preset them in a test. */
  map?: Map<string, number>;
}

/** Counters in process memory: for `npm start` without Upstash, and for tests. */
export function createMemoryCounters(options: MemoryCountersOptions = {}): Counters {
  const map = options.map ?? new Map<string, number>();
  return {
    increment: async (key, by = 1) => {
      map.set(key, (map.get(key) ?? 0) + by);
    },
    read: async (keys) => Object.fromEntries(keys.map((key) => [key, map.get(key) ?? 0])),
  };
}

/** A stored value and when it expires (epoch ms), if it does. */
export interface MemoryEntry {
  value: string;
  expiresAtMs: number | null;
}

export interface MemoryKeyValueStoreOptions {
  /** Where the values live; pass one to look at or preset them in a test. */
  map?: Map<string, MemoryEntry>;
  /** What decides expiry; the system clock by default. */
  clock?: Clock;
}

/** A key-value store in process memory, with Redis's expiry semantics. */
export function createMemoryKeyValueStore(options: MemoryKeyValueStoreOptions = {}): KeyValueStore {
  const map = options.map ?? new Map<string, MemoryEntry>();
  const clock = options.clock ?? systemClock;
  const live = (key: string): MemoryEntry | null => {
    const entry = map.get(key);
    if (entry === undefined) return null;
    if (entry.expiresAtMs !== null && entry.expiresAtMs <= clock.now().getTime()) {
      map.delete(key);
      return null;
    }
    return entry;
  };
  return {
    get: async (key) => live(key)?.value ?? null,
    set: async (key, value, { ttlSeconds } = {}) => {
      const expiresAtMs = ttlSeconds === undefined ? null : clock.now().getTime() + ttlSeconds * 1000;
      map.set(key, { value, expiresAtMs });
    },
    add: async (key, by, { ttlSeconds }) => {
      const entry = live(key);
      const value = Number(entry?.value ?? 0) + by;
      map.set(key, { value: String(value), expiresAtMs: entry?.expiresAtMs ?? clock.now().getTime() + ttlSeconds * 1000 });
      return value;
    },
  };
}

export interface MemoryLeasesOptions {
  /** What decides expiry; the system clock by default. */
  clock?: Clock;
}

/** Leases in process memory: for `npm start` without Upstash (one process, so they hold across its requests). */
export function createMemoryLeases(options: MemoryLeasesOptions = {}): Leases {
  const clock = options.clock ?? systemClock;
  const leases = new Map<string, { token: string; expiresAtMs: number }>();
  const holder = (key: string) => {
    const lease = leases.get(key);
    return lease && lease.expiresAtMs > clock.now().getTime() ? lease : null;
  };
  return {
    acquire: async (key, ttlMs) => {
      if (holder(key)) return null;
      const token = randomUUID();
      leases.set(key, { token, expiresAtMs: clock.now().getTime() + ttlMs });
      return token;
    },
    renew: async (key, token, ttlMs) => {
      const lease = holder(key);
      if (lease?.token !== token) return false;
      lease.expiresAtMs = clock.now().getTime() + ttlMs;
      return true;
    },
    release: async (key, token) => {
      if (holder(key)?.token === token) leases.delete(key);
    },
  };
}
