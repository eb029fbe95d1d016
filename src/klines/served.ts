import type { DataCache } from "../cache/data-cache.js";
import type { CacheMeta } from "../cache/entries/meta.js";
import type { EntryId } from "../cache/entries/objects.js";
import { StorageUnavailableError } from "../errors.js";
import { PRICE_KIND_SPECS } from "../price-kinds.js";
import { parseCachedAt } from "../time.js";
import { stateOf } from "./partition.js";
import type { Partition, PartitionState } from "./types.js";

/** The cache folder of the trade candles' partitions: apart from the root, where the original's and every client's entries live. */
export const PARTITIONS_FOLDER = PRICE_KIND_SPECS.trade.partitionsFolder;

/** The cache entry of a partition: in its kind's folder, named by its dataset id alone. */
export const entryOfPartition = ({ id: { price, ...id } }: Partition): EntryId => ({ ...id, folder: PRICE_KIND_SPECS[price ?? "trade"].partitionsFolder });

/**
 * How a partition came into an answer: from the cache as it was, fetched whole, extended by its tail, or not at all
 * (no candle of it has closed yet, nothing is stored).
 */
export type PartitionSource = "cached" | "fetched" | "extended" | "unclosed";

export interface ServedPartition {
  partition: Partition;
  source: PartitionSource;
  /** True when another request was already fetching it, and this one waited for that fetch. */
  shared: boolean;
  /** Null when nothing is stored. */
  meta: CacheMeta | null;
  state: PartitionState | null;
  /** The CSV when already in hand; null when it is to be read from the cache (see csvOf). */
  csv: Uint8Array | null;
}

/** A partition as stored and proven whole; the CSV only of an incomplete one (the base of its tail). */
export type Stored = StoredEntry<PartitionState>;

export interface ArchiveTally {
  files: number;
  missing: number;
  failed: number;
  /** Files used that missed candles inside their period (see pass.ts): REST was asked for each hole. */
  incomplete: number;
}

/** What one request spent upstream, for its answer's headers and the counters. */
export interface Tally {
  requests: number;
  archive: ArchiveTally;
}

export const emptyTally = (): Tally => ({ requests: 0, archive: { files: 0, missing: 0, failed: 0, incomplete: 0 } });

/** A partition served as the cache holds it (or as nothing, when nothing is stored). */
export function servedAsStored(partition: Partition, source: PartitionSource, stored: Stored | null, shared: boolean): ServedPartition {
  const { meta = null, state = null, csv = null } = stored ?? {};
  return { partition, source, shared, meta, state, csv };
}

export type PartitionReads = ReturnType<typeof createPartitionReads>;

/** Reading the partitions the cache holds: the one reader of their entries, for the answer and for the fill alike. */
export function createPartitionReads(options: { cache: Pick<DataCache, "lookup" | "readCsv"> }) {
  const reads = createEntryReads<Partition, PartitionState>({ ...options, entryOf: entryOfPartition, stateOf });
  return {
    load: (partition: Partition, signal?: AbortSignal) => reads.load(partition, signal),
    /**
     * The CSV of a served partition, as chunks: the bytes in hand, or read from the cache and proven against its
     * meta (not joined: an answer cuts its rows from them).
     */
    csvOf: (part: ServedPartition, signal?: AbortSignal) => reads.csvOf(part.partition, part, signal),
  };
}

/** An entry of the read-through as stored: its meta and what it proves; the CSV only of an incomplete one. */
export interface StoredEntry<S> {
  meta: CacheMeta;
  state: S;
  csv: Uint8Array | null;
  /** When it was last written (the meta's cached_at). */
  checkedAtMs: number;
}

/**
 * Reading a read-through's entries (candle partitions, funding months): each unit's entry (`entryOf`) with what its
 * meta proves (`stateOf`, null when it cannot be read: then the entry is as good as absent).
 */
export function createEntryReads<U, S extends { complete: boolean }>(options: {
  cache: Pick<DataCache, "lookup" | "readCsv">;
  entryOf: (unit: U) => EntryId;
  stateOf: (meta: CacheMeta) => S | null;
}) {
  const { cache, entryOf } = options;
  return {
    /** The unit as stored and proven whole; the CSV only of an incomplete one (the base of its tail). */
    async load(unit: U, signal?: AbortSignal): Promise<StoredEntry<S> | null> {
      const entry = entryOf(unit);
      const found = await cache.lookup(entry, { signal });
      if (!found.hit) return null;
      const state = options.stateOf(found.meta);
      const checkedAtMs = parseCachedAt(found.meta.cached_at)?.getTime();
      if (!state || checkedAtMs === undefined) return null;
      if (state.complete) return { meta: found.meta, state, csv: null, checkedAtMs };
      const csv = await cache.readCsv(entry, { meta: found.meta, signal });
      return csv.hit ? { meta: found.meta, state, csv: Buffer.concat(csv.csv), checkedAtMs } : null;
    },

    /** The CSV of a unit as served, as chunks: the bytes in hand, or read from the cache and proven against its meta. */
    async csvOf(unit: U, part: { meta: CacheMeta | null; csv: Uint8Array | null }, signal?: AbortSignal): Promise<readonly Uint8Array[]> {
      if (part.csv || !part.meta) return [part.csv ?? new Uint8Array(0)];
      const entry = entryOf(unit);
      const found = await cache.readCsv(entry, { meta: part.meta, signal });
      if (!found.hit) throw new StorageUnavailableError(`The cache entry of ${entry.start_date} changed while it was being read; ask again`);
      return found.csv;
    },
  };
}
