import type { Clock } from "../../clock.js";
import type { ListedObject, ObjectStore } from "../../storage/types.js";
import { mapLimit } from "../../util/map-limit.js";
import { contentIdentityOf, parseMeta, type IndexRow } from "../entries/meta.js";
import { DERIVED_FORMS, entryIdOfMeta, groupEntries, parseEntryObject, uploadExpiryOf, type EntryId } from "../entries/objects.js";
import type { createInfo } from "../index/info.js";
import { SHARD_DIGITS, type InfoIndex } from "../index/shards.js";
import { ABANDONED_AFTER_MS, planSweep, staleUploads, type EntryObjects, type SweepReason } from "./sweep-plan.js";
import type { ValidityRule } from "./validity.js";

export interface SweepResult {
  /** How many objects went, in all. */
  deleted: number;
  /** How many went for each reason, temporaries included. */
  by_reason: Record<SweepReason | "temporary", number>;
  /** Objects judged removable whose version changed before their delete (rewritten meanwhile): kept. */
  kept_rewritten: number;
}

export interface SweepOptions {
  /**
   * Told of each entry the sweep keeps that lacks a derived form of its CSV (one written before the forms existed, by
   * the Python service, or whose maker failed): the sweep's caller has them made.
   */
  underived?: (id: EntryId) => void;
}

/** True when every derived form of the CSV whose content identity is `identity` is kept beside the entry. */
const hasEveryForm = (objects: EntryObjects, identity: string) =>
  DERIVED_FORMS.every((form) => objects.derived?.some((kept) => identity.startsWith(kept.identity) && kept.key.endsWith(`.${form}`)));

export interface RetentionOptions {
  store: ObjectStore;
  clock: Clock;
  rule: ValidityRule;
  index: InfoIndex;
  repairIndex: ReturnType<typeof createInfo>["repairIndex"];
  /** How many metas the sweep reads at once. */
  concurrency: number;
}

/** What goes: the sweep of what can never be served, and clear. */
export function createRetention(options: RetentionOptions) {
  const { store, clock, rule, index, repairIndex, concurrency: infoConcurrency } = options;

  /** Every object of the cache's: its entries' and the uploads waiting for their commit. */
  const entryObjects = async (): Promise<ListedObject[]> =>
    (await store.list()).filter((object) => parseEntryObject(object.key) !== null || uploadExpiryOf(object.key) !== null);

  return {
    /**
     * Removes what can never be served (see planSweep), spent or abandoned uploads, and stale temporaries of
     * unfinished writes. Each delete is conditional on the version judged: an entry rewritten while the sweep runs
     * survives it.
     */
    async sweep(options: SweepOptions = {}): Promise<SweepResult> {
      const now = clock.now();
      const versions = new Map([...(await index.readAll())].map(([digit, { version }]) => [digit, version]));
      const objects = await store.list();
      const listed = groupEntries(objects);
      const entries = await mapLimit([...listed.values()], infoConcurrency, async (entry): Promise<EntryObjects> => {
        const { derived } = entry;
        if (!entry.meta || !entry.csv) return { csv: entry.csv, meta: entry.meta && { ...entry.meta, parsed: null }, derived };
        const bytes = await store.get(entry.meta.key);
        return { csv: entry.csv, meta: { ...entry.meta, parsed: bytes && parseMeta(bytes) }, derived };
      });
      const planned = [...planSweep(entries, now, rule).remove, ...staleUploads(objects, now)];
      const removed = new Set(await store.deleteIfUnchanged(planned));
      // The index, rebuilt from what this listing found and left; a shard a writer changed meanwhile, once more.
      const rows = new Map<string, IndexRow>();
      for (const [entry, objects] of [...listed.keys()].map((entry, i) => [entry, entries[i] as EntryObjects] as const)) {
        const { csv, meta } = objects;
        if (!csv || !meta?.parsed || removed.has(csv.key) || removed.has(meta.key)) continue;
        const folder = parseEntryObject(meta.key)?.folder ?? "";
        rows.set(entry, { meta: meta.parsed, folder, bytes: csv.sizeBytes + meta.sizeBytes });
        if (options.underived && !hasEveryForm(objects, contentIdentityOf(meta.parsed))) {
          const id = entryIdOfMeta(meta.parsed, folder, entry);
          if (id) options.underived(id);
        }
      }
      const conflicted = await index.replace(SHARD_DIGITS, rows, versions);
      if (conflicted.length > 0) {
        const again = new Map([...(await index.readAll())].map(([digit, { version }]) => [digit, version]));
        await repairIndex(conflicted, again);
      }
      const temporary = (await store.removeStaleTemporaries?.(new Date(now.getTime() - ABANDONED_AFTER_MS))) ?? 0;
      const byReason = {
        expired: 0,
        csv_without_meta: 0,
        meta_without_csv: 0,
        unreadable_meta: 0,
        stale_derived: 0,
        stale_upload: 0,
        temporary,
      };
      for (const item of planned) if (removed.has(item.key)) byReason[item.reason]++;
      return { deleted: removed.size + temporary, by_reason: byReason, kept_rewritten: planned.length - removed.size };
    },

    /** Removes every object of the cache's entries, in every folder, and nothing else in the store. Returns how many. */
    async clear(): Promise<number> {
      const keys = (await entryObjects()).map((object) => object.key);
      await store.deleteMany(keys);
      await index.clear();
      return keys.length;
    },
  };
}
