import { setTimeout as delay } from "node:timers/promises";
import type { Clock } from "../../clock.js";
import { derivedLeaseKey } from "../../counters/keys.js";
import type { Leases } from "../../counters/types.js";
import { ServiceBusyError } from "../../errors.js";
import { MEDIA_TYPES } from "../../formats/media.js";
import { PreconditionFailedError, type ObjectStore, type ObjectStream } from "../../storage/types.js";
import { contentIdentityOf, type CacheMeta } from "../entries/meta.js";
import { derivedKeyOf, type DerivedForm, type EntryId } from "../entries/objects.js";
import { streamOf, type EntryReads } from "../entries/reads.js";

/** Life of the lease of a derived form's maker; its holder renews it while it works. */
const DERIVED_LEASE_MS = 30_000;
/** How often a maker waiting for another container's form looks for it. */
const DERIVED_POLL_MS = 250;

/** Where a converter reads the entry's proven CSV from, as often as it asks (the columnar forms read it twice). */
export type ProvenCsv = () => Promise<AsyncIterable<Uint8Array>>;
/** A converter: the form's bytes, from the CSV. Passed in, so the cache and what bundles it carry no encoder. */
export type FormMaker = (csv: ProvenCsv) => Promise<AsyncIterable<Uint8Array>>;

/** What keepForm did: made the form and kept it, found it kept already (here or by another container), or found no CSV. */
export type Kept = "made" | "kept" | "torn";

export interface DerivedFormsOptions {
  store: ObjectStore;
  clock: Clock;
  reads: Pick<EntryReads, "openProven">;
  /** One maker of a form at a time across containers (Upstash) or in this process; none: this process only. */
  leases?: Leases;
}

/**
 * The forms derived from an entry's CSV and kept beside it (Parquet, Arrow), named by the identity of the CSV they
 * were made from: a rewrite names new ones, and the sweep removes the old. Writers make them (see jobs/derive.ts);
 * readers only open them.
 */
export function createDerivedForms(options: DerivedFormsOptions) {
  const { store, clock, reads, leases } = options;
  /** Forms being made in this process, by key: a second maker of one waits for the first. */
  const making = new Map<string, Promise<Kept>>();
  const keyOf = (id: EntryId, meta: CacheMeta, form: DerivedForm) => derivedKeyOf(id, contentIdentityOf(meta), form);

  /**
   * Runs `make` under the form's lease: when another container holds it, waits for the form to appear (`kept`) or
   * the lease to be free, until `signal` fires (ServiceBusyError). Without leases (Redis down), makes it anyway.
   */
  async function underLease(key: string, make: () => Promise<Kept>, signal: AbortSignal | undefined): Promise<Kept> {
    const leaseKey = derivedLeaseKey(key);
    for (;;) {
      const token = leases ? await leases.acquire(leaseKey, DERIVED_LEASE_MS).catch(() => undefined) : undefined;
      if (token !== null) {
        const renewal = token ? setInterval(() => void leases?.renew(leaseKey, token, DERIVED_LEASE_MS).catch(() => false), DERIVED_LEASE_MS / 3) : undefined;
        renewal?.unref();
        try {
          return await make();
        } finally {
          clearInterval(renewal);
          if (token) await leases?.release(leaseKey, token).catch(() => undefined);
        }
      }
      await delay(DERIVED_POLL_MS, undefined, { signal }).catch(() => {
        throw new ServiceBusyError("Another container is making this form; ask again", new Date(clock.now().getTime() + 5_000));
      });
      if (await store.head(key)) return "kept";
    }
  }

  /** The form made by `make` from the proven CSV of `meta`, put under `key` unless one is there already. */
  async function makeForm(id: EntryId, meta: CacheMeta, key: string, form: DerivedForm, make: FormMaker): Promise<Kept> {
    if (await store.head(key)) return "kept";
    let missing = false;
    const csv: ProvenCsv = async () => {
      const object = await reads.openProven(id, meta, {});
      if (!object) missing = true;
      return (object?.stream ?? streamOf([])) as unknown as AsyncIterable<Uint8Array>;
    };
    const chunks: Uint8Array[] = [];
    try {
      for await (const chunk of await make(csv)) chunks.push(chunk);
    } catch (error) {
      if (missing) return "torn";
      throw error;
    }
    if (missing) return "torn";
    try {
      await store.put(key, Buffer.concat(chunks), { contentType: MEDIA_TYPES[form], ifMatch: null });
    } catch (error) {
      // Made from the same CSV by another maker meanwhile (leases down): the same rows are kept.
      if (error instanceof PreconditionFailedError) return "kept";
      throw error;
    }
    return "made";
  }

  return {
    /** The entry's `form`, kept from this very CSV (the meta's); null until a writer has made it. */
    async openForm(id: EntryId, meta: CacheMeta, form: DerivedForm): Promise<ObjectStream | null> {
      return store.getStream(keyOf(id, meta, form));
    },

    /** A short-lived URL to GET the entry's kept `form` from the store itself; null when the store cannot make one. */
    async formUrl(id: EntryId, meta: CacheMeta, form: DerivedForm, expiresSeconds: number): Promise<string | null> {
      return store.presigner ? store.presigner.getUrl(keyOf(id, meta, form), expiresSeconds) : null;
    },

    /**
     * Makes the entry's `form` from the CSV `meta` commits, and keeps it beside the entry, unless it is kept already.
     * One maker at a time: in this process, a second waits for the first; across containers, under the form's lease
     * (until `signal` fires: ServiceBusyError). The form is in memory while it is made (for candles about 0.4 × the
     * CSV as Parquet, 0.75 × as Arrow). "torn" when the CSV is no longer the meta's (rewritten meanwhile).
     */
    async keepForm(id: EntryId, meta: CacheMeta, form: DerivedForm, make: FormMaker, signal?: AbortSignal): Promise<Kept> {
      const key = keyOf(id, meta, form);
      const running = making.get(key) ?? underLease(key, () => makeForm(id, meta, key, form, make), signal).finally(() => making.delete(key));
      making.set(key, running);
      return running;
    },
  };
}

export type DerivedForms = ReturnType<typeof createDerivedForms>;
