import type { ListedObject } from "../storage/types.js";
import type { CacheMeta } from "./meta.js";
import { isFresh, type ValidityRule } from "./validity.js";

/** The cache's own object names; nothing else in the store is ever swept. */
const CACHE_OBJECT = /^([0-9a-f]{32})(\.csv|_meta\.json)$/;

/** A CSV or an unreadable meta younger than this may be a write in progress (or an upload not yet committed). */
export const ABANDONED_AFTER_MS = 60 * 60 * 1000;

export type SweepReason = "expired" | "csv_without_meta" | "meta_without_csv" | "unreadable_meta";

export interface SweepPlan {
  /** Keys to delete, each with why. */
  remove: { key: string; reason: SweepReason }[];
}

/** The objects of one entry as listed, and its meta as read (null: unreadable). */
export interface EntryObjects {
  csv?: ListedObject;
  meta?: ListedObject & { parsed: CacheMeta | null };
}

/**
 * Month partitions of the read-through candles (meta `source: "binance"`) are kept fresh by their own service,
 * which updates the current month by its tail; expiring them would throw that tail-only update away.
 */
function managesOwnFreshness(meta: CacheMeta): boolean {
  return meta.source === "binance";
}

/** Groups the cache's own objects by entry key; every other object is left out. */
export function groupEntries(objects: readonly ListedObject[]): Map<string, { csv?: ListedObject; meta?: ListedObject }> {
  const entries = new Map<string, { csv?: ListedObject; meta?: ListedObject }>();
  for (const object of objects) {
    const match = CACHE_OBJECT.exec(object.key);
    if (!match) continue;
    const [, key, suffix] = match as unknown as [string, string, string];
    const entry = entries.get(key) ?? {};
    if (suffix === ".csv") entry.csv = object;
    else entry.meta = object;
    entries.set(key, entry);
  }
  return entries;
}

/**
 * What can never be served, and so goes: expired entries (both objects), a meta without its CSV, a CSV without
 * its meta once it is older than an hour (an abandoned write), and an unreadable meta older than an hour (with
 * its CSV). A valid entry, or a read-through candle partition, is never in the plan.
 */
export function planSweep(entries: Iterable<EntryObjects>, now: Date, rule: ValidityRule): SweepPlan {
  const remove: SweepPlan["remove"] = [];
  const isOld = (object: ListedObject) => now.getTime() - object.modifiedAt.getTime() >= ABANDONED_AFTER_MS;
  const both = (entry: EntryObjects, reason: SweepReason) => {
    for (const object of [entry.meta, entry.csv]) if (object) remove.push({ key: object.key, reason });
  };
  for (const entry of entries) {
    if (!entry.meta) {
      if (entry.csv && isOld(entry.csv)) remove.push({ key: entry.csv.key, reason: "csv_without_meta" });
    } else if (!entry.csv) {
      remove.push({ key: entry.meta.key, reason: "meta_without_csv" });
    } else if (!entry.meta.parsed) {
      if (isOld(entry.meta)) both(entry, "unreadable_meta");
    } else if (!managesOwnFreshness(entry.meta.parsed) && !isFresh(entry.meta.parsed, now, rule)) {
      both(entry, "expired");
    }
  }
  return { remove };
}
