import type { Clock } from "../clock.js";
import type { Leases } from "../counters/types.js";
import type { Log } from "../log.js";
import type { ObjectStore } from "../storage/types.js";
import { createDerivedForms } from "./derived/forms.js";
import type { CacheMeta } from "./entries/meta.js";
import type { EntryId } from "./entries/objects.js";
import { createEntryReads } from "./entries/reads.js";
import { createEntryTurns } from "./entries/turns.js";
import { createEntryWrites } from "./entries/writes.js";
import { createInfo } from "./index/info.js";
import { createInfoIndex } from "./index/shards.js";
import { createRetention } from "./retention/sweeper.js";
import { expiresAt, isFresh, type ValidityRule } from "./retention/validity.js";

export type { Lookup, MissReason, ReadOptions } from "./entries/reads.js";
export type { WriteOptions } from "./entries/writes.js";
export type { FormMaker, Kept, ProvenCsv } from "./derived/forms.js";
export type { CacheEntryInfo, CacheInfo } from "./index/info.js";
export type { SweepResult } from "./retention/sweeper.js";

export interface DataCacheOptions {
  /** Where the entries live; keys are `[<folder>/]<key>.csv` and `[<folder>/]<key>_meta.json` (see entries/objects.ts). */
  store: ObjectStore;
  clock: Clock;
  /** When entries kept by the original's rule expire (see retention/validity.ts). */
  rule: ValidityRule;
  /** How many metas `info` and `sweep` read at once. */
  infoConcurrency?: number;
  /**
   * One writer per entry, and one maker of a derived form, at a time across containers (Upstash), or in this
   * process (memory); none: within this process only.
   */
  leases?: Leases;
  log?: Pick<Log, "warn">;
  /** How long a writer waits for its entry's turn before it gives up (409 ENTRY_BUSY); 10 s by default. */
  turnWaitMs?: number;
  /**
   * Told of each entry committed, after its meta is written (a PUT, a commit, a read-through partition): the local
   * server schedules its derived forms here (jobs/derive.ts); on Lambda the meta's S3 event does.
   */
  onCommitted?: (id: EntryId, meta: CacheMeta) => void;
}

export type DataCache = ReturnType<typeof createDataCache>;

/**
 * The entry store, assembled from its parts: entries (the only reader and writer of `<key>.csv` and
 * `<key>_meta.json`, with their integrity), the info index, the derived forms kept beside an entry, and retention
 * (validity, sweep, clear). Knows the ObjectStore interface, never a driver.
 */
export function createDataCache(options: DataCacheOptions) {
  const { store, clock, rule, leases, log } = options;
  const concurrency = options.infoConcurrency ?? 32;
  const index = createInfoIndex(store, log as Log | undefined);
  const reads = createEntryReads({ store, clock, isServed: (meta, now) => isFresh(meta, now, rule) });
  const turns = createEntryTurns({ clock, leases, log, waitMs: options.turnWaitMs });
  const writes = createEntryWrites({ store, clock, turns, index, log, onCommitted: options.onCommitted });
  const judge = (meta: CacheMeta) => {
    const now = clock.now();
    return {
      retention: meta.retention ?? "rule",
      expires_at: expiresAt(meta, now, rule)?.toISOString() ?? null,
      state: isFresh(meta, now, rule) ? ("valid" as const) : ("expired" as const),
    };
  };
  const info = createInfo({ store, index, judge, concurrency });
  const derived = createDerivedForms({ store, clock, reads, leases });
  const retention = createRetention({ store, clock, rule, index, repairIndex: info.repairIndex, concurrency });
  return {
    ...reads,
    ...writes,
    ...derived,
    info: (options?: { refresh?: boolean }) => info.info(options),
    ...retention,

    /** When the entry of `meta` stops being served, by the cache's clock and rule; null when it never does. */
    expiresAtOf: (meta: CacheMeta): Date | null => expiresAt(meta, clock.now(), rule),
  };
}
