import type { ListedObject, ObjectStore } from "../../storage/types.js";
import { mapLimit } from "../../util/map-limit.js";
import { parseMeta, type CacheMeta, type IndexRow, type Retention } from "../entries/meta.js";
import { groupEntries, parseEntryObject } from "../entries/objects.js";
import { SHARD_DIGITS, shardOf, type InfoIndex } from "./shards.js";

export interface CacheEntryInfo extends CacheMeta {
  /** "" for the root of the cache directory, where the original's entries and every client's live. */
  folder: string;
  retention: Retention;
  /** ISO-8601 UTC instant the entry stops being served, or null when it never expires. */
  expires_at: string | null;
  /** Whether a GET serves it now, by the service's clock and the entry's retention (a page never judges it itself). */
  state: "valid" | "expired";
}

export interface CacheInfo {
  total_files: number;
  cached_symbols: string[];
  total_size_mb: number;
  cache_entries: CacheEntryInfo[];
}

/** What info says of an entry's life, judged now (see retention/validity.ts). */
export type Judge = (meta: CacheMeta) => Pick<CacheEntryInfo, "retention" | "expires_at" | "state">;

export interface InfoOptions {
  store: Pick<ObjectStore, "get" | "list">;
  index: InfoIndex;
  judge: Judge;
  /** How many metas a rebuild reads at once. */
  concurrency: number;
}

/**
 * What is cached, from the info index, and the index's repair from a listing: 16 shard reads whatever the number of
 * entries; a shard missing or unreadable is rebuilt first, from the objects themselves.
 */
export function createInfo(options: InfoOptions) {
  const { store, index, judge, concurrency: infoConcurrency } = options;

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

  /** info's answer from index rows, judged now. */
  function infoOf(rows: Iterable<IndexRow>): CacheInfo {
    const entries: CacheEntryInfo[] = [];
    let totalBytes = 0;
    for (const { meta, folder, bytes } of rows) {
      totalBytes += bytes;
      entries.push({ ...meta, folder, ...judge(meta) });
    }
    return {
      total_files: entries.length,
      cached_symbols: [...new Set(entries.map((entry) => entry.symbol))].sort(),
      total_size_mb: Math.round((totalBytes / 2 ** 20) * 100) / 100,
      cache_entries: entries,
    };
  }

  return {
    repairIndex,

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

  };
}
