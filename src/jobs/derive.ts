import type { DataCache, Kept, ProvenCsv } from "../cache/data-cache.js";
import { parseMeta } from "../cache/entries/meta.js";
import { DERIVED_FORMS, entryIdOfMeta, entryName, parseEntryObject, type DerivedForm, type EntryId } from "../cache/entries/objects.js";
import type { Conversions } from "../formats/conversions.js";
import { loadColumnar } from "../formats/lazy.js";
import { FUNDING_FOLDER } from "../funding/month.js";
import type { Log } from "../log.js";
import type { ObjectStore } from "../storage/types.js";

/** How long a background derivation waits for a conversion slot (requests' conversions go first) or another maker. */
const DERIVE_WAIT_MS = 5 * 60_000;
/** Entries waiting for their forms in this process at most; past it, new ones are logged and left to on-the-fly reads. */
const QUEUE_MAX = 1_000;

export interface DeriverOptions {
  cache: Pick<DataCache, "lookup" | "keepForm">;
  /** Reads a meta named by an object key (see deriveObject). */
  store: Pick<ObjectStore, "get">;
  conversions: Pick<Conversions, "stream">;
  log: Pick<Log, "info" | "warn">;
  queueMax?: number;
}

/**
 * Folders whose entries get no derived forms: no answer reads them. A funding month is a few KB, so its answers
 * convert the range's rows per request; forms made at each write (every hour, for the month that reaches now) would
 * be work nobody uses.
 */
const FOLDERS_WITHOUT_FORMS: ReadonlySet<string> = new Set([FUNDING_FOLDER]);

/** What one derivation did, form by form; null forms: the entry was not there to derive (a miss). */
export type Derived = Partial<Record<DerivedForm, Kept | "failed">> | null;

/**
 * The maker of derived forms: after a writer commits an entry, its Parquet and Arrow forms are made from the CSV and
 * kept beside it, so no read ever converts a kept entry again. Locally `schedule` runs them in the background, one
 * entry at a time, in a bounded queue; on Lambda the derive function calls `deriveObject` on the meta's S3 event.
 */
export function createDeriver(options: DeriverOptions) {
  const { cache, store, conversions, log } = options;
  const queueMax = options.queueMax ?? QUEUE_MAX;
  const queue = new Map<string, EntryId>();
  let running: Promise<void> | null = null;

  /** Makes every derived form the entry lacks, one after another, each in a conversion slot. */
  async function derive(id: EntryId): Promise<Derived> {
    if (FOLDERS_WITHOUT_FORMS.has(id.folder ?? "")) return {};
    const found = await cache.lookup(id);
    if (!found.hit) return null;
    const started = Date.now();
    const derived: NonNullable<Derived> = {};
    for (const form of DERIVED_FORMS) {
      const signal = AbortSignal.timeout(DERIVE_WAIT_MS);
      const make = (csv: ProvenCsv) =>
        conversions.stream(async () => (await loadColumnar()).columnarOf(form, csv), signal);
      try {
        derived[form] = await cache.keepForm(id, found.meta, form, make, signal);
      } catch (error) {
        // A CSV the grammar refuses, a store that failed: the entry is served as CSV, and its forms on the fly.
        log.warn("derive_failed", { entry: entryName(id), form, error });
        derived[form] = "failed";
      }
    }
    log.info("derived", { entry: entryName(id), ...derived, ms: Date.now() - started });
    return derived;
  }

  async function drain(): Promise<void> {
    for (let next = queue.entries().next(); !next.done; next = queue.entries().next()) {
      const [name, id] = next.value;
      queue.delete(name);
      await derive(id).catch((error: unknown) => log.warn("derive_failed", { entry: name, error }));
    }
    running = null;
  }

  return {
    derive,

    /** Queues the entry's forms to be made in the background (once, however often it is scheduled before its turn). */
    schedule(id: EntryId): void {
      const name = entryName(id);
      if (!queue.has(name) && queue.size >= queueMax) {
        log.warn("derive_queue_full", { entry: name, waiting: queue.size });
        return;
      }
      queue.set(name, id);
      running ??= drain();
    },

    /** Resolves once nothing is queued or being made. */
    async idle(): Promise<void> {
      while (running) await running;
    },

    /**
     * The forms of the entry whose meta is at `key` (as the store names it, without its prefix): the meta says which
     * dataset it is, and the key must be that dataset's. Null for any other object, or a meta that is not one.
     */
    async deriveObject(key: string): Promise<Derived> {
      const name = parseEntryObject(key);
      if (name?.part !== "meta") return null;
      const bytes = await store.get(key);
      const meta = bytes && parseMeta(bytes);
      const id = meta && entryIdOfMeta(meta, name.folder, name.entry);
      return id ? derive(id) : null;
    },
  };
}

export type Deriver = ReturnType<typeof createDeriver>;
