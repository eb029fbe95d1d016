import { setTimeout as delay } from "node:timers/promises";
import type { Clock } from "../../clock.js";
import { derivedLeaseKey } from "../../counters/keys.js";
import type { Leases } from "../../counters/types.js";
import { ServiceBusyError, StorageUnavailableError } from "../../errors.js";
import type { ObjectStore, ObjectStream, ObjectVersion } from "../../storage/types.js";
import { contentIdentityOf, type CacheMeta } from "../entries/meta.js";
import { parquetKeyOf, type EntryId } from "../entries/objects.js";
import { streamOf, TORN, type EntryReads, type Lookup } from "../entries/reads.js";

/** Life of the lease of a derived form's maker; its holder renews it while it works. */
const DERIVED_LEASE_MS = 30_000;
/** How often a request waiting for another container's derived form looks for it. */
const DERIVED_POLL_MS = 250;

/** A derived form as its maker left it: made here (its bytes), made by another container (kept), or no CSV to make it from. */
type Derived = { bytes: Uint8Array; version: ObjectVersion } | { kept: true } | { torn: true };

export interface DerivedFormsOptions {
  store: ObjectStore;
  clock: Clock;
  reads: Pick<EntryReads, "openProven">;
  /** One maker of a form at a time across containers (Upstash) or in this process; none: this process only. */
  leases?: Leases;
}

/** The forms derived from an entry's CSV and kept beside it, named by the identity of the CSV they were made from. */
export function createDerivedForms(options: DerivedFormsOptions) {
  const { store, clock, reads, leases } = options;
  /** Derived forms being made in this process, by key: a second request for one waits for the first's. */
  const making = new Map<string, Promise<Derived>>();

  /**
   * Makes a derived form under its lease: when another container holds it, waits for the form to appear (`kept`)
   * or the lease to be free, until `signal` fires (ServiceBusyError). Without leases (Redis down), makes it anyway.
   */
  async function makeDerived(key: string, make: () => Promise<Derived>, signal: AbortSignal | undefined): Promise<Derived> {
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
      const object = await store.getStream(key);
      if (object) {
        await object.stream.cancel();
        return { kept: true };
      }
    }
  }

  /** The Parquet form made from the proven CSV, and stored under `key`. */
  async function makeParquet(
    id: EntryId,
    meta: CacheMeta,
    key: string,
    make: (csv: () => Promise<AsyncIterable<Uint8Array>>) => Promise<AsyncIterable<Uint8Array>>,
  ): Promise<Derived> {
    let missing = false;
    const csv = async () => {
      const object = await reads.openProven(id, meta, {});
      if (!object) missing = true;
      return (object?.stream ?? streamOf([])) as unknown as AsyncIterable<Uint8Array>;
    };
    const chunks: Uint8Array[] = [];
    try {
      for await (const chunk of await make(csv)) chunks.push(chunk);
    } catch (error) {
      if (missing) return { torn: true };
      throw error;
    }
    if (missing) return { torn: true };
    const bytes = Buffer.concat(chunks);
    const version = await store.put(key, bytes, { contentType: "application/vnd.apache.parquet" });
    return { bytes, version };
  }

  return {
    /**
     * The entry's Parquet form, kept beside it: read from the store when it was made from this very CSV (its key
     * holds the content identity it was made from), else made now by `make` from the proven CSV, stored, and served.
     * One is made at a time: a second request for the same form waits for the first's, in this process and, under
     * the form's lease, across containers (until `call.signal` fires: ServiceBusyError). The form is in memory while
     * it is made (about 0.4 × the CSV for candles); any later answer streams it. The converter is passed in, so the
     * cache and what bundles it carry no Parquet writer.
     */
    async openParquet(
      id: EntryId,
      meta: CacheMeta,
      make: (csv: () => Promise<AsyncIterable<Uint8Array>>) => Promise<AsyncIterable<Uint8Array>>,
      call: { signal?: AbortSignal } = {},
    ): Promise<Lookup<{ parquet: ObjectStream; made: boolean }>> {
      const key = parquetKeyOf(id, contentIdentityOf(meta));
      const kept = await store.getStream(key);
      if (kept) return { hit: true, meta, parquet: kept, made: false };
      const running = making.get(key) ?? makeDerived(key, () => makeParquet(id, meta, key, make), call.signal).finally(() => making.delete(key));
      making.set(key, running);
      const made = await running;
      if ("torn" in made) return TORN;
      if ("kept" in made) {
        const madeElsewhere = await store.getStream(key);
        if (!madeElsewhere) throw new StorageUnavailableError(`The Parquet form ${key} was made but cannot be read`);
        return { hit: true, meta, parquet: madeElsewhere, made: true };
      }
      const parquet = { stream: streamOf([made.bytes]), sizeBytes: made.bytes.length, version: made.version, modifiedAt: clock.now() };
      return { hit: true, meta, parquet, made: true };
    },

    /** A short-lived URL to GET the entry's Parquet form from the store itself; null when the store cannot make one. */
    async parquetUrl(id: EntryId, meta: CacheMeta, expiresSeconds: number): Promise<string | null> {
      return store.presigner ? store.presigner.getUrl(parquetKeyOf(id, contentIdentityOf(meta)), expiresSeconds) : null;
    },

  };
}
