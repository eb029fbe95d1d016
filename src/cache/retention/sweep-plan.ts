import type { ListedObject } from "../../storage/types.js";
import { contentIdentityOf, type CacheMeta } from "../entries/meta.js";
import { uploadExpiryOf } from "../entries/objects.js";
import { isFresh, type ValidityRule } from "./validity.js";

/** A CSV or an unreadable meta younger than this may be a write in progress (or an upload not yet committed). */
export const ABANDONED_AFTER_MS = 60 * 60 * 1000;

export type SweepReason = "expired" | "csv_without_meta" | "meta_without_csv" | "unreadable_meta" | "stale_derived" | "stale_upload";

export interface SweepPlan {
  /** Objects to delete, each at the version judged (a delete of it is conditional on that), with why. */
  remove: { key: string; version: string; reason: SweepReason }[];
}

/** The objects of one entry as listed, and its meta as read (null: unreadable). */
export interface EntryObjects {
  csv?: ListedObject;
  meta?: ListedObject & { parsed: CacheMeta | null };
  /** Forms derived from its CSV (Parquet, Arrow), each with the identity it was made from. */
  derived?: (ListedObject & { identity: string })[];
}

/**
 * What can never be served, and so goes: expired entries (both objects), a meta without its CSV, a CSV without
 * its meta once it is older than an hour (an abandoned write), and an unreadable meta older than an hour (with
 * its CSV); and a derived form (Parquet, Arrow) not made from its entry's CSV (a rewrite since), or an hour old without a readable
 * entry. A valid entry, or one kept until its writer replaces it, is never in the plan.
 */
export function planSweep(entries: Iterable<EntryObjects>, now: Date, rule: ValidityRule): SweepPlan {
  const remove: SweepPlan["remove"] = [];
  const isOld = (object: ListedObject) => now.getTime() - object.modifiedAt.getTime() >= ABANDONED_AFTER_MS;
  const both = (entry: EntryObjects, reason: SweepReason) => {
    for (const object of [entry.meta, entry.csv]) if (object) remove.push({ key: object.key, version: object.version, reason });
  };
  for (const entry of entries) {
    const planned = remove.length;
    planEntry(entry);
    // A derived form lives as long as the CSV it was made from is its entry's: not after a rewrite, nor without it.
    const gone = remove.length > planned;
    const identity = entry.meta?.parsed && entry.csv ? contentIdentityOf(entry.meta.parsed) : null;
    for (const form of entry.derived ?? []) {
      const stale = identity === null ? isOld(form) : !identity.startsWith(form.identity);
      if (gone || stale) remove.push({ key: form.key, version: form.version, reason: "stale_derived" });
    }
  }
  return { remove };

  function planEntry(entry: EntryObjects): void {
    if (!entry.meta) {
      if (entry.csv && isOld(entry.csv)) remove.push({ key: entry.csv.key, version: entry.csv.version, reason: "csv_without_meta" });
    } else if (!entry.csv) {
      remove.push({ key: entry.meta.key, version: entry.meta.version, reason: "meta_without_csv" });
    } else if (!entry.meta.parsed) {
      if (isOld(entry.meta)) both(entry, "unreadable_meta");
    } else if (!isFresh(entry.meta.parsed, now, rule)) {
      both(entry, "expired");
    }
  }
}

/**
 * Staging objects of uploads (see objects.ts) whose URL expired over an hour ago: committed ones (emptied) and ones
 * never committed. Until then a spent one stays, so its URL cannot upload again (it only creates).
 */
export function staleUploads(objects: readonly ListedObject[], now: Date): SweepPlan["remove"] {
  return objects.flatMap((object) => {
    const expiredAtMs = uploadExpiryOf(object.key);
    if (expiredAtMs === null || now.getTime() - expiredAtMs < ABANDONED_AFTER_MS) return [];
    return [{ key: object.key, version: object.version, reason: "stale_upload" as const }];
  });
}
