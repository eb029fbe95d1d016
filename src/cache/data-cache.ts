import { setTimeout as delay } from "node:timers/promises";
import type { Clock } from "../clock.js";
import { derivedLeaseKey } from "../counters/keys.js";
import type { Leases } from "../counters/types.js";
import { PayloadTooLargeError, ServiceBusyError, StorageUnavailableError } from "../errors.js";
import type { Log } from "../log.js";
import type { ListedObject, ObjectStore, ObjectStream, ObjectVersion } from "../storage/types.js";
import { mapLimit } from "../util/map-limit.js";
import { csvToRows, type Row } from "./csv.js";
import { countCsvRows, unlessRefused } from "./csv-grammar.js";
import { createCsvProof, versionMatches } from "./integrity.js";
import { csvToJsonRows, jsonRowsOf, STREAM_JSON_ABOVE_BYTES, type RowsJson } from "./json-rows.js";
import { contentIdentityOf, describes, parseMeta, type CacheMeta, type Retention } from "./meta.js";
import { createInfoIndex, SHARD_DIGITS, shardOf, type IndexRow } from "./info-index.js";
import { csvKeyOf, metaKeyOf, parquetKeyOf, parseEntryObject, uploadExpiryOf, type EntryId } from "./objects.js";
import { ABANDONED_AFTER_MS, groupEntries, planSweep, staleUploads, type EntryObjects, type SweepReason } from "./sweep.js";
import { createEntryTurns } from "./turns.js";
import { expiresAt, isFresh, type ValidityRule } from "./validity.js";
import { createEntryWrites } from "./writes.js";

export interface DataCacheOptions {
  /** Where the entries live; keys are `[<folder>/]<key>.csv` and `[<folder>/]<key>_meta.json` (see objects.ts). */
  store: ObjectStore;
  clock: Clock;
  /** When entries kept by the original's rule expire (see validity.ts). */
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
}

/** Why a lookup did not hit: nothing there, too old to serve, or objects that disagree (a torn write). */
export type MissReason = "absent" | "expired" | "torn";

export type Lookup<T> = ({ hit: true; meta: CacheMeta } & T) | { hit: false; reason: MissReason };

/** A store call's options: the caller's deadline. */
export interface ReadOptions {
  signal?: AbortSignal;
}

export interface CacheEntryInfo extends CacheMeta {
  /** "" for the root of the cache directory, where the original's entries and every client's live. */
  folder: string;
  retention: Retention;
  /** ISO-8601 UTC instant the entry stops being served, or null when it never expires. */
  expires_at: string | null;
  /** Whether a GET serves it now, by the service's clock and the entry's retention (a page never judges it itself). */
  state: "valid" | "expired";
}

export interface SweepResult {
  /** How many objects went, in all. */
  deleted: number;
  /** How many went for each reason, temporaries included. */
  by_reason: Record<SweepReason | "temporary", number>;
  /** Objects judged removable whose version changed before their delete (rewritten meanwhile): kept. */
  kept_rewritten: number;
}

export interface CacheInfo {
  total_files: number;
  cached_symbols: string[];
  total_size_mb: number;
  cache_entries: CacheEntryInfo[];
}

export type DataCache = ReturnType<typeof createDataCache>;

/** The CSV is too big to answer inline (Lambda answers at most 6 MB); the client should fetch it by URL. */
export class TooLargeToInlineError extends PayloadTooLargeError {
  override name = "TooLargeToInlineError";
  constructor(sizeBytes: number, maxBytes: number) {
    const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
    super(
      `The dataset's CSV is ${mb(sizeBytes)} MB, over the ${mb(maxBytes)} MB answered inline here; ` +
        "ask with format=csv (or Accept: text/csv) to be redirected to a download URL",
    );
  }
}

/** Life of the lease of a derived form's maker; its holder renews it while it works. */
const DERIVED_LEASE_MS = 30_000;
/** How often a request waiting for another container's derived form looks for it. */
const DERIVED_POLL_MS = 250;

/** A CSV up to this size is proven in memory and served from there; a larger one is read twice (prove, then serve). */
const PROVE_IN_MEMORY_MAX_BYTES = 16 * 2 ** 20;
/** How many proven (CSV version, meta) pairs are remembered, so an entry is proven once per process. */
const PROVEN_MEMO_MAX = 10_000;

/** All of a stream's chunks, as read (not copied into one buffer); null when they are not the announced size. */
async function readChunks(object: ObjectStream): Promise<Uint8Array[] | null> {
  const chunks: Uint8Array[] = [];
  let sizeBytes = 0;
  for await (const chunk of object.stream as unknown as AsyncIterable<Uint8Array>) {
    sizeBytes += chunk.length;
    if (sizeBytes > object.sizeBytes) return null;
    chunks.push(chunk);
  }
  return sizeBytes === object.sizeBytes ? chunks : null;
}

function streamOf(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  let next = 0;
  return new ReadableStream({
    pull(controller) {
      const chunk = chunks[next++];
      if (chunk) controller.enqueue(chunk);
      else controller.close();
    },
  });
}

const TORN = { hit: false, reason: "torn" } as const;

/** A derived form as its maker left it: made here (its bytes), made by another container (kept), or no CSV to make it from. */
type Derived = { bytes: Uint8Array; version: ObjectVersion } | { kept: true } | { torn: true };

/**
 * The only owner of the cache's entry objects: their keys, the CSV + meta format, the checks that make a torn or
 * foreign entry a miss, retention, info, sweep and clear. Knows the ObjectStore interface, never a driver.
 */
export function createDataCache(options: DataCacheOptions) {
  const { store, clock, rule, leases, log } = options;
  const infoConcurrency = options.infoConcurrency ?? 32;
  const index = createInfoIndex(store, options.log as Log | undefined);
  const turns = createEntryTurns({ clock, leases, log, waitMs: options.turnWaitMs });
  const writes = createEntryWrites({ store, clock, turns, index, log });
  /** Derived forms being made in this process, by key: a second request for one waits for the first's. */
  const making = new Map<string, Promise<Derived>>();

  /** The committed meta of `id` that its own retention still serves, or why there is none. */
  async function lookup(id: EntryId, read: ReadOptions = {}): Promise<Lookup<object>> {
    const bytes = await store.get(metaKeyOf(id), read);
    if (!bytes) return { hit: false, reason: "absent" };
    const meta = parseMeta(bytes);
    if (!meta || !describes(meta, id)) return TORN;
    if (!isFresh(meta, clock.now(), rule)) return { hit: false, reason: "expired" };
    return { hit: true, meta };
  }

  /**
   * CSVs proven to be what their meta says although their version is not the meta's, by (key, version, claim); and
   * CSVs whose rows the grammar counted for a streamed JSON answer (see openRowsJson).
   */
  const proven = new Map<string, true>();
  const provenKey = (id: EntryId, version: string, meta: CacheMeta) =>
    `${csvKeyOf(id)}\n${version}\n${meta.csv_sha256 ?? meta.rows}\n${meta.csv_bytes ?? ""}`;
  function rememberProven(key: string): void {
    proven.set(key, true);
    if (proven.size > PROVEN_MEMO_MAX) proven.delete(proven.keys().next().value as string);
  }

  /**
   * The CSV of `meta`'s entry, open and proven before a byte of it is served: a CSV whose version is the meta's is
   * the object the meta was written with (free: the version comes with the read); any other is read once and proven
   * by the meta's sha256 or, for the original's metas, its row count (see createCsvProof). Null when it is missing,
   * of another size, or not what the meta says. Nothing is ever deleted for it.
   */
  async function openProven(id: EntryId, meta: CacheMeta, read: ReadOptions): Promise<ObjectStream | null> {
    const object = await store.getStream(csvKeyOf(id), read);
    if (!object) return null;
    if (meta.csv_bytes !== undefined && object.sizeBytes !== meta.csv_bytes) {
      await object.stream.cancel();
      return null;
    }
    const memoKey = provenKey(id, object.version, meta);
    if (versionMatches(meta, object.version) || proven.has(memoKey)) return object;
    const proof = createCsvProof(meta);
    if (object.sizeBytes <= PROVE_IN_MEMORY_MAX_BYTES) {
      const chunks = await readChunks(object);
      if (!chunks) return null;
      for (const chunk of chunks) proof.push(chunk);
      if (!proof.holds()) return null;
      rememberProven(memoKey);
      return { ...object, stream: streamOf(chunks) };
    }
    for await (const chunk of object.stream as unknown as AsyncIterable<Uint8Array>) proof.push(chunk);
    if (!proof.holds()) return null;
    // Served from a second read, which must be of the very object proven.
    const again = await store.getStream(csvKeyOf(id), read);
    if (!again || again.version !== object.version || again.sizeBytes !== object.sizeBytes) {
      await again?.stream.cancel();
      return null;
    }
    rememberProven(memoKey);
    return again;
  }

  /**
   * The stored CSV as a stream, proven to be its meta's, for serving its bytes unchanged: the meta as it is now, or
   * `read.meta` when the caller looked it up already (a CSV rewritten since is then a miss).
   */
  async function openCsv(id: EntryId, read: ReadOptions & { meta?: CacheMeta } = {}): Promise<Lookup<{ csv: ObjectStream }>> {
    const found: Lookup<object> = read.meta ? { hit: true, meta: read.meta } : await lookup(id, read);
    if (!found.hit) return found;
    const csv = await openProven(id, found.meta, read);
    return csv ? { hit: true, meta: found.meta, csv } : TORN;
  }

  /**
   * The stored CSV's bytes, proven to be its meta's: the meta as it is now, or `read.meta` when the caller planned
   * with one (a CSV rewritten since is then a miss). Not read when larger than `maxCsvBytes` (TooLargeToInlineError).
   */
  async function readCsv(
    id: EntryId,
    read: ReadOptions & { maxCsvBytes?: number; meta?: CacheMeta } = {},
  ): Promise<Lookup<{ csv: Uint8Array[] }>> {
    const found: Lookup<object> = read.meta ? { hit: true, meta: read.meta } : await lookup(id, read);
    if (!found.hit) return found;
    const maxCsvBytes = read.maxCsvBytes ?? Infinity;
    if (found.meta.csv_bytes !== undefined && found.meta.csv_bytes > maxCsvBytes) {
      throw new TooLargeToInlineError(found.meta.csv_bytes, maxCsvBytes);
    }
    const object = await openProven(id, found.meta, read);
    if (!object) return TORN;
    if (object.sizeBytes > maxCsvBytes) {
      await object.stream.cancel();
      throw new TooLargeToInlineError(object.sizeBytes, maxCsvBytes);
    }
    const csv = await readChunks(object);
    return csv ? { hit: true, meta: found.meta, csv } : TORN;
  }

  /**
   * Metas already read, by key, with the version the listing gave them: a warm `info` reads only what changed
   * since (on S3, ~N/1000 LIST calls instead of N GETs as well).
   */
  const metaMemo = new Map<string, { version: string; meta: CacheMeta | null }>();

  async function readMetaOnce(object: ListedObject): Promise<CacheMeta | null> {
    const known = metaMemo.get(object.key);
    if (object.version !== "" && known?.version === object.version) return known.meta;
    const bytes = await store.get(object.key);
    const meta = bytes ? parseMeta(bytes) : null;
    if (object.version !== "") metaMemo.set(object.key, { version: object.version, meta });
    return meta;
  }

  /** The index rows of the entries a listing holds whose shard is one of `digits`, their metas read (memoized). */
  async function rowsFromListing(digits: ReadonlySet<string>): Promise<Map<string, IndexRow>> {
    const listed = groupEntries(await store.list());
    const wanted = [...listed].filter(([entry, objects]) => digits.has(shardOf(entry)) && objects.csv && objects.meta);
    // Forget metas that are gone, so the memo never outgrows the cache.
    const metaKeys = new Set([...listed.values()].flatMap((objects) => (objects.meta ? [objects.meta.key] : [])));
    for (const key of metaMemo.keys()) if (!metaKeys.has(key)) metaMemo.delete(key);
    const rows = await mapLimit(wanted, infoConcurrency, async ([entry, objects]) => {
      const meta = await readMetaOnce(objects.meta as ListedObject);
      const folder = parseEntryObject((objects.meta as ListedObject).key)?.folder ?? "";
      const bytes = (objects.csv as ListedObject).sizeBytes + (objects.meta as ListedObject).sizeBytes;
      return meta ? ([entry, { meta, folder, bytes }] as const) : null;
    });
    return new Map(rows.filter((row) => row !== null));
  }

  /** Rebuilds the index's shards `digits` from a listing, each only if no writer changed it since `versions`. */
  async function repairIndex(digits: readonly string[], versions: ReadonlyMap<string, string | null>): Promise<Map<string, IndexRow>> {
    const rows = await rowsFromListing(new Set(digits));
    await index.replace(digits, rows, versions);
    return rows;
  }

  /** info's answer from index rows, judged by the clock now. */
  function infoOf(rows: Iterable<IndexRow>): CacheInfo {
    const now = clock.now();
    const entries: CacheEntryInfo[] = [];
    let totalBytes = 0;
    for (const { meta, folder, bytes } of rows) {
      totalBytes += bytes;
      entries.push({
        ...meta,
        folder,
        retention: meta.retention ?? "rule",
        expires_at: expiresAt(meta, now, rule)?.toISOString() ?? null,
        state: isFresh(meta, now, rule) ? "valid" : "expired",
      });
    }
    return {
      total_files: entries.length,
      cached_symbols: [...new Set(entries.map((entry) => entry.symbol))].sort(),
      total_size_mb: Math.round((totalBytes / 2 ** 20) * 100) / 100,
      cache_entries: entries,
    };
  }

  /** Every object of the cache's: its entries' and the uploads waiting for their commit. */
  const entryObjects = async (): Promise<ListedObject[]> =>
    (await store.list()).filter((object) => parseEntryObject(object.key) !== null || uploadExpiryOf(object.key) !== null);

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
      const object = await openProven(id, meta, {});
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
    lookup,
    openCsv,
    readCsv,

    /** When the entry of `meta` stops being served, by the cache's clock and rule; null when it never does. */
    expiresAtOf(meta: CacheMeta): Date | null {
      return expiresAt(meta, clock.now(), rule);
    },

    /**
     * The entry's rows, parsed: timestamps as ISO-8601 UTC, numbers as numbers. A CSV larger than
     * `maxCsvBytes` is not read: TooLargeToInlineError. A CSV the grammar refuses (stored before it was checked by
     * it) is a miss.
     */
    async readRows(id: EntryId, options: { maxCsvBytes?: number } = {}): Promise<Lookup<{ rows: Row[] }>> {
      const found = await readCsv(id, options);
      if (!found.hit) return found;
      const rows = unlessRefused(() => csvToRows(new TextDecoder().decode(Buffer.concat(found.csv))));
      if (rows?.length !== found.meta.rows) return TORN;
      return { hit: true, meta: found.meta, rows };
    },

    /**
     * The entry's rows as JSON text, the very bytes of `JSON.stringify(rows)` for readRows' rows, written without
     * building them (see csvToJsonRows). A CSV larger than `maxCsvBytes` is not read: TooLargeToInlineError.
     */
    async readRowsJson(id: EntryId, options: { maxCsvBytes?: number; meta?: CacheMeta } = {}): Promise<Lookup<{ json: RowsJson }>> {
      const found = await readCsv(id, options);
      if (!found.hit) return found;
      const json = unlessRefused(() => csvToJsonRows(found.csv));
      if (json?.rows !== found.meta.rows) return TORN;
      return { hit: true, meta: found.meta, json };
    },

    /**
     * The entry's rows as JSON, the same bytes as readRowsJson: in memory for a CSV up to STREAM_JSON_ABOVE_BYTES;
     * above, written as the CSV is read (jsonRowsOf), so memory holds a chunk or two whatever the size. Before
     * the answer starts, a first read proves the CSV holds the meta's rows by the grammar (once per CSV version and
     * process, remembered with the proven CSVs), so the answer cannot break midway but for the store failing.
     */
    async openRowsJson(
      id: EntryId,
      options: { maxCsvBytes?: number; meta: CacheMeta },
    ): Promise<Lookup<{ json: RowsJson | { stream: AsyncIterable<Uint8Array> } }>> {
      const { meta } = options;
      const first = await openProven(id, meta, {});
      if (!first) return TORN;
      const maxCsvBytes = options.maxCsvBytes ?? Infinity;
      if (first.sizeBytes > maxCsvBytes) {
        await first.stream.cancel();
        throw new TooLargeToInlineError(first.sizeBytes, maxCsvBytes);
      }
      if (first.sizeBytes <= STREAM_JSON_ABOVE_BYTES) {
        const csv = await readChunks(first);
        const json = csv && unlessRefused(() => csvToJsonRows(csv));
        return json?.rows === meta.rows ? { hit: true, meta, json } : TORN;
      }
      const counted = `rows counted by the grammar\n${provenKey(id, first.version, meta)}`;
      let csv: ObjectStream | null = first;
      if (first.version === "" || !proven.has(counted)) {
        if ((await countCsvRows(first.stream as unknown as AsyncIterable<Uint8Array>)) !== meta.rows) return TORN;
        rememberProven(counted);
        csv = await openProven(id, meta, {});
        if (!csv) return TORN;
      }
      return { hit: true, meta, json: { stream: jsonRowsOf(csv.stream as unknown as AsyncIterable<Uint8Array>, meta.rows) } };
    },

    /** A short-lived URL to GET the entry's CSV from the store itself; null when the store cannot make one. */
    async downloadUrl(id: EntryId, expiresSeconds: number): Promise<string | null> {
      return store.presigner ? store.presigner.getUrl(csvKeyOf(id), expiresSeconds) : null;
    },

    ...writes,

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

    /**
     * What is cached, in every folder, from the info index: 16 shard reads whatever the number of entries. A shard
     * missing or unreadable is rebuilt first from a listing; `refresh` rebuilds them all (metas written behind the
     * cache's back, by the Python service or a restore, appear then, or after the next sweep).
     */
    async info(options: { refresh?: boolean } = {}): Promise<CacheInfo> {
      const shards = await index.readAll();
      const versions = new Map([...shards].map(([digit, { version }]) => [digit, version]));
      const stale = options.refresh ? SHARD_DIGITS : SHARD_DIGITS.filter((digit) => shards.get(digit)?.shard == null);
      const repaired = stale.length > 0 ? await repairIndex(stale, versions) : new Map<string, IndexRow>();
      const kept = SHARD_DIGITS.filter((digit) => !stale.includes(digit)).flatMap((digit) => [...(shards.get(digit)?.shard?.values() ?? [])]);
      return infoOf([...kept, ...repaired.values()]);
    },

    /**
     * Removes what can never be served (see planSweep), spent or abandoned uploads, and stale temporaries of
     * unfinished writes. Each delete is conditional on the version judged: an entry rewritten while the sweep runs
     * survives it.
     */
    async sweep(): Promise<SweepResult> {
      const now = clock.now();
      const versions = new Map([...(await index.readAll())].map(([digit, { version }]) => [digit, version]));
      const objects = await store.list();
      const listed = groupEntries(objects);
      const entries = await mapLimit([...listed.values()], infoConcurrency, async (entry): Promise<EntryObjects> => {
        const { parquet } = entry;
        if (!entry.meta || !entry.csv) return { csv: entry.csv, meta: entry.meta && { ...entry.meta, parsed: null }, parquet };
        const bytes = await store.get(entry.meta.key);
        return { csv: entry.csv, meta: { ...entry.meta, parsed: bytes && parseMeta(bytes) }, parquet };
      });
      const planned = [...planSweep(entries, now, rule).remove, ...staleUploads(objects, now)];
      const removed = new Set(await store.deleteIfUnchanged(planned));
      // The index, rebuilt from what this listing found and left; a shard a writer changed meanwhile, once more.
      const rows = new Map<string, IndexRow>();
      for (const [entry, objects] of [...listed.keys()].map((entry, i) => [entry, entries[i] as EntryObjects] as const)) {
        const { csv, meta } = objects;
        if (!csv || !meta?.parsed || removed.has(csv.key) || removed.has(meta.key)) continue;
        rows.set(entry, { meta: meta.parsed, folder: parseEntryObject(meta.key)?.folder ?? "", bytes: csv.sizeBytes + meta.sizeBytes });
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
        stale_parquet: 0,
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
