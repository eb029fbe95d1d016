import { systemClock, type Clock } from "../clock.js";
import type { Counters, KeyValueStore } from "./types.js";

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
  return {
    get: async (key) => {
      const entry = map.get(key);
      if (entry === undefined) return null;
      if (entry.expiresAtMs !== null && entry.expiresAtMs <= clock.now().getTime()) {
        map.delete(key);
        return null;
      }
      return entry.value;
    },
    set: async (key, value, { ttlSeconds } = {}) => {
      const expiresAtMs = ttlSeconds === undefined ? null : clock.now().getTime() + ttlSeconds * 1000;
      map.set(key, { value, expiresAtMs });
    },
  };
}
