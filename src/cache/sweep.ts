import type { ListedObject } from "../storage/types.js";
import type { CacheMeta } from "./meta.js";
import { parseEntryObject } from "./objects.js";
import { isFresh, type ValidityRule } from "./validity.js";

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

/** Groups the cache's own objects (see objects.ts) by entry, in every folder; every other object is left out. */
export function groupEntries(objects: readonly ListedObject[]): Map<string, { csv?: ListedObject; meta?: ListedObject }> {
  const entries = new Map<string, { csv?: ListedObject; meta?: ListedObject }>();
  for (const object of objects) {
    const name = parseEntryObject(object.key);
    if (!name) continue;
    const entry = entries.get(name.entry) ?? {};
    if (name.part === "csv") entry.csv = object;
    else entry.meta = object;
    entries.set(name.entry, entry);
  }
  return entries;
}

/**
 * What can never be served, and so goes: expired entries (both objects), a meta without its CSV, a CSV without
 * its meta once it is older than an hour (an abandoned write), and an unreadable meta older than an hour (with
 * its CSV). A valid entry, or one kept until its writer replaces it, is never in the plan.
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
    } else if (!isFresh(entry.meta.parsed, now, rule)) {
      both(entry, "expired");
    }
  }
  return { remove };
}
