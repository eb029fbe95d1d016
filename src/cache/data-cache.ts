import type { Clock } from "../clock.js";
import { PayloadTooLargeError } from "../errors.js";
import type { ListedObject, ObjectStore, ObjectStream } from "../storage/types.js";
import { mapLimit } from "../util/map-limit.js";
import { createCsvInspector, csvToRows, inspectCsv, type CsvShape, type Row } from "./csv.js";
import { type DatasetId } from "../market.js";
import { datasetKey } from "./key.js";
import { csvToJsonRows, type RowsJson } from "./json-rows.js";
import { buildMeta, describes, parseMeta, serializeMeta, type CacheMeta } from "./meta.js";
import { ABANDONED_AFTER_MS, groupEntries, planSweep, type EntryObjects, type SweepReason } from "./sweep.js";
import { expiresAt, formatCachedAt, isFresh, type ValidityRule } from "./validity.js";

export interface DataCacheOptions {
  /** Where the entries live; keys are `<key>.csv` and `<key>_meta.json` at the store's root. */
  store: ObjectStore;
  clock: Clock;
  /** When recent entries expire (see validity.ts). */
  rule: ValidityRule;
  /** How many metas `info` reads at once. */
  infoConcurrency?: number;
}

/** Why a lookup did not hit: nothing there, too old to serve, or objects that disagree (a torn write). */
export type MissReason = "absent" | "expired" | "torn";

export type Lookup<T> = ({ hit: true; meta: CacheMeta } & T) | { hit: false; reason: MissReason };

export interface CacheEntryInfo extends CacheMeta {
  /** ISO-8601 UTC instant the entry stops being served, or null when it never expires. */
  expires_at: string | null;
  /** Whether a GET serves it now, by the service's clock and the validity rule (a page never judges it itself). */
  state: "valid" | "expired";
}

export interface SweepResult {
  /** How many objects went, in all. */
  deleted: number;
  /** How many went for each reason, temporaries included. */
  by_reason: Record<SweepReason | "temporary", number>;
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

export const csvKeyOf = (id: DatasetId): string => `${datasetKey(id)}.csv`;
export const metaKeyOf = (id: DatasetId): string => `${datasetKey(id)}_meta.json`;
const isCacheObject = (key: string): boolean => key.endsWith(".csv") || key.endsWith(".json");

export function createDataCache(options: DataCacheOptions) {
  const { store, clock, rule } = options;
  const infoConcurrency = options.infoConcurrency ?? 32;

  /** The committed, fresh meta of `id`, or why there is none. */
  async function lookupMeta(id: DatasetId): Promise<Lookup<object>> {
    const bytes = await store.get(metaKeyOf(id));
    if (!bytes) return { hit: false, reason: "absent" };
    const meta = parseMeta(bytes);
    if (!meta || !describes(meta, id)) return { hit: false, reason: "torn" };
    if (!isFresh(meta, clock.now(), rule)) return { hit: false, reason: "expired" };
    return { hit: true, meta };
  }

  const sizeAgrees = (meta: CacheMeta, sizeBytes: number): boolean =>
    meta.csv_bytes === undefined || meta.csv_bytes === sizeBytes;

  /** The stored CSV as a stream, for serving its bytes unchanged. Two store calls. */
  async function openCsv(id: DatasetId): Promise<Lookup<{ csv: ObjectStream }>> {
    const found = await lookupMeta(id);
    if (!found.hit) return found;
    const csv = await store.getStream(csvKeyOf(id));
    if (!csv) return { hit: false, reason: "torn" };
    if (!sizeAgrees(found.meta, csv.sizeBytes)) {
      await csv.stream.cancel();
      return { hit: false, reason: "torn" };
    }
    return { hit: true, meta: found.meta, csv };
  }

  /** The stored CSV's bytes, read whole unless it is larger than `maxCsvBytes` (TooLargeToInlineError). */
  async function readCsv(id: DatasetId, maxCsvBytes = Infinity): Promise<Lookup<{ csv: Uint8Array[] }>> {
    const found = await openCsv(id);
    if (!found.hit) return found;
    if (found.csv.sizeBytes > maxCsvBytes) {
      await found.csv.stream.cancel();
      throw new TooLargeToInlineError(found.csv.sizeBytes, maxCsvBytes);
    }
    const csv = await readChunks(found.csv);
    return csv ? { hit: true, meta: found.meta, csv } : { hit: false, reason: "torn" };
  }

  /**
   * Metas already read, by key, with the version the listing gave them: a warm `info` reads only what changed
   * since (on S3, ~N/1000 LIST calls instead of N GETs as well). Stores without versions are read every time.
   */
  const metaMemo = new Map<string, { version: string; meta: CacheMeta | null }>();

  async function readMetaOnce(object: ListedObject): Promise<CacheMeta | null> {
    const known = metaMemo.get(object.key);
    if (object.version !== undefined && known?.version === object.version) return known.meta;
    const bytes = await store.get(object.key);
    const meta = bytes ? parseMeta(bytes) : null;
    if (object.version !== undefined) metaMemo.set(object.key, { version: object.version, meta });
    return meta;
  }

  async function commit(id: DatasetId, shape: CsvShape, csvBytes: number, extraMeta = {}): Promise<CacheMeta> {
    const meta = { ...buildMeta(id, { rows: shape.rows, csvBytes }, formatCachedAt(clock.now())), ...extraMeta };
    await store.put(metaKeyOf(id), serializeMeta(meta), { contentType: "application/json" });
    return meta;
  }

  return {
    openCsv,

    /**
     * The entry's rows, parsed: timestamps as ISO-8601 UTC, numbers as numbers. A CSV larger than
     * `maxCsvBytes` is not read: TooLargeToInlineError.
     */
    async readRows(id: DatasetId, options: { maxCsvBytes?: number } = {}): Promise<Lookup<{ rows: Row[] }>> {
      const found = await readCsv(id, options.maxCsvBytes);
      if (!found.hit) return found;
      const rows = csvToRows(new TextDecoder().decode(Buffer.concat(found.csv)));
      if (rows.length !== found.meta.rows) return { hit: false, reason: "torn" };
      return { hit: true, meta: found.meta, rows };
    },

    /**
     * The entry's rows as JSON text, the very bytes of `JSON.stringify(rows)` for readRows' rows, written without
     * building them (see csvToJsonRows). A CSV larger than `maxCsvBytes` is not read: TooLargeToInlineError.
     */
    async readRowsJson(id: DatasetId, options: { maxCsvBytes?: number } = {}): Promise<Lookup<{ json: RowsJson }>> {
      const found = await readCsv(id, options.maxCsvBytes);
      if (!found.hit) return found;
      const json = csvToJsonRows(found.csv);
      if (json.rows !== found.meta.rows) return { hit: false, reason: "torn" };
      return { hit: true, meta: found.meta, json };
    },

    /** A short-lived URL to GET the entry's CSV from the store itself; null when the store cannot make one. */
    async downloadUrl(id: DatasetId, expiresSeconds: number): Promise<string | null> {
      return store.presigner ? store.presigner.getUrl(csvKeyOf(id), expiresSeconds) : null;
    },

    /**
     * A short-lived URL to PUT a CSV straight into the store, to be committed with `commitUpload`; null when the
     * store cannot make one. Drops the current meta first, so the entry is not served until the commit.
     */
    async uploadUrl(id: DatasetId, expiresSeconds: number): Promise<string | null> {
      if (!store.presigner) return null;
      await store.deleteMany([metaKeyOf(id)]);
      return store.presigner.putUrl(csvKeyOf(id), expiresSeconds, "text/csv");
    },

    /**
     * Stores a dataset CSV (checked first; see createCsvInspector), replacing any entry of the same id. The old
     * meta goes first and the new one last, so a reader never pairs a meta with a CSV it does not describe.
     * `extraMeta` adds fields of the writer's own to the meta, after the usual ones (which it must not name).
     */
    async write(id: DatasetId, csv: Uint8Array, extraMeta?: Record<string, unknown>): Promise<CacheMeta> {
      const shape = inspectCsv(csv);
      await store.deleteMany([metaKeyOf(id)]);
      await store.put(csvKeyOf(id), csv, { contentType: "text/csv" });
      return commit(id, shape, csv.length, extraMeta);
    },

    /**
     * Commits a CSV that a client put into the store itself: checks it in one streaming pass, then writes the
     * meta. Returns null when there is no such object.
     */
    async commitUpload(id: DatasetId): Promise<CacheMeta | null> {
      const csv = await store.getStream(csvKeyOf(id));
      if (!csv) return null;
      const inspector = createCsvInspector();
      try {
        for await (const chunk of csv.stream as unknown as AsyncIterable<Uint8Array>) inspector.push(chunk);
      } catch (error) {
        await csv.stream.cancel().catch(() => undefined);
        throw error;
      }
      return commit(id, inspector.end(), csv.sizeBytes);
    },

    /** Removes both objects of an entry; false when neither was there. */
    async remove(id: DatasetId): Promise<boolean> {
      const keys = [metaKeyOf(id), csvKeyOf(id)];
      const heads = await Promise.all(keys.map((key) => store.head(key)));
      if (heads.every((head) => head === null)) return false;
      await store.deleteMany(keys);
      return true;
    },

    /** What is cached: one listing pass, then the metas read with bounded concurrency. */
    async info(): Promise<CacheInfo> {
      const objects = (await store.list()).filter((object) => isCacheObject(object.key));
      const metaObjects = objects.filter((object) => object.key.endsWith("_meta.json"));
      const metas = await mapLimit(metaObjects, infoConcurrency, readMetaOnce);
      // Forget metas that are gone, so the memo never outgrows the cache.
      const listed = new Set(metaObjects.map((object) => object.key));
      for (const key of metaMemo.keys()) if (!listed.has(key)) metaMemo.delete(key);
      const now = clock.now();
      const entries = metas
        .filter((meta): meta is CacheMeta => meta !== null)
        .map((meta) => ({
          ...meta,
          expires_at: expiresAt(meta, now, rule)?.toISOString() ?? null,
          state: isFresh(meta, now, rule) ? ("valid" as const) : ("expired" as const),
        }));
      const totalBytes = objects.reduce((sum, object) => sum + object.sizeBytes, 0);
      return {
        total_files: metaObjects.length,
        cached_symbols: [...new Set(entries.map((entry) => entry.symbol))].sort(),
        total_size_mb: Math.round((totalBytes / 2 ** 20) * 100) / 100,
        cache_entries: entries,
      };
    },

    /** Removes what can never be served (see planSweep) and stale temporaries of unfinished writes. */
    async sweep(): Promise<SweepResult> {
      const now = clock.now();
      const listed = groupEntries(await store.list());
      const entries = await mapLimit([...listed.values()], infoConcurrency, async (entry): Promise<EntryObjects> => {
        if (!entry.meta || !entry.csv) return { csv: entry.csv, meta: entry.meta && { ...entry.meta, parsed: null } };
        const bytes = await store.get(entry.meta.key);
        return { csv: entry.csv, meta: { ...entry.meta, parsed: bytes && parseMeta(bytes) } };
      });
      const plan = planSweep(entries, now, rule);
      await store.deleteMany(plan.remove.map((item) => item.key));
      const temporary = (await store.removeStaleTemporaries?.(new Date(now.getTime() - ABANDONED_AFTER_MS))) ?? 0;
      const byReason = { expired: 0, csv_without_meta: 0, meta_without_csv: 0, unreadable_meta: 0, temporary };
      for (const item of plan.remove) byReason[item.reason]++;
      return { deleted: plan.remove.length + temporary, by_reason: byReason };
    },

    /** Removes every .csv and .json object in the store, and nothing else. Returns how many. */
    async clear(): Promise<number> {
      const keys = (await store.list()).map((object) => object.key).filter(isCacheObject);
      await store.deleteMany(keys);
      return keys.length;
    },
  };
}
