import type { DataCache } from "../cache/data-cache.js";
import { csvKeyOf, metaKeyOf } from "../cache/data-cache.js";
import { type DatasetId } from "../market.js";
import { datasetKey } from "../cache/key.js";
import { describes, parseMeta, type CacheMeta } from "../cache/meta.js";
import type { Clock } from "../clock.js";
import { StorageUnavailableError, UpstreamBannedError, ValidationError } from "../errors.js";
import type { Log } from "../log.js";
import type { ObjectStore } from "../storage/types.js";
import { KLINES_PAGE_LIMIT, type BinanceClient, type Kline } from "../upstream/binance.js";
import { mapLimit } from "../util/map-limit.js";
import {
  buildPartition,
  coverageOf,
  KLINES_CSV_HEADER,
  metaFieldsOf,
  rowsInRange,
  stateOf,
  type Coverage,
  type PartitionState,
} from "./partition.js";
import { needOf, partitionsOf, planFetches, rangeIssues, rangeOf, type FetchGroup, type Partition, type Range } from "./plan.js";

export interface KlinesServiceOptions {
  /** Where partitions are read, bypassing the cache's validity rule: the service judges freshness itself. */
  store: ObjectStore;
  /** Where partitions are written: ordinary entries, so info, clear and delete see them. */
  cache: Pick<DataCache, "write">;
  binance: Pick<BinanceClient, "klines">;
  clock: Clock;
  log: Log;
  /** A candle is stored once it closed at least this long ago: room for clock skew between us and Binance. */
  settleMs?: number;
  /** Paging passes of one request that run at once. */
  fetchConcurrency?: number;
  /** Partitions of one request read at once. */
  readConcurrency?: number;
}

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
  /** The CSV when already in hand; null when it is to be read from the store (see csvChunksOf). */
  csv: Uint8Array | null;
}

export interface KlinesResult {
  range: Range;
  /** In order, oldest first. */
  partitions: ServedPartition[];
  /** HTTP requests this answer sent to Binance (a shared fetch counts for the request that made it). */
  upstreamRequests: number;
  coverage: Coverage;
}

export type KlinesService = ReturnType<typeof createKlinesService>;

type Stored = { meta: CacheMeta; state: PartitionState; csv: Uint8Array | null };

/** A partition to fetch for this request, the `index`-th of its range, from `fromMs`, on top of what is stored. */
interface Wanted {
  index: number;
  partition: Partition;
  fromMs: number;
  stored: Stored | null;
}

interface Settler {
  promise: Promise<ServedPartition>;
  resolve(value: ServedPartition): void;
  reject(error: unknown): void;
}

/**
 * Candles for any range, read through the cache: calendar-month partitions (days for 1s), each fetched from Binance
 * once and never again when complete; the current one grows by its tail. Identical misses in one process share one
 * fetch; the passes of one request run a few at a time; a failure stores only what was completed and fails the
 * request, so an answer never has a silent hole.
 */
export function createKlinesService(options: KlinesServiceOptions) {
  const { store, cache, binance, clock, log } = options;
  const settleMs = options.settleMs ?? 2_000;
  const fetchConcurrency = options.fetchConcurrency ?? 3;
  const readConcurrency = options.readConcurrency ?? 8;
  /** Fetches under way in this process, by partition key; each settles once its partition is stored. */
  const inFlight = new Map<string, Promise<ServedPartition>>();
  const keyOf = (partition: Partition) => datasetKey(partition.id);

  /** The partition as stored, when the klines service wrote it and it is whole; the CSV only of an incomplete one. */
  async function load(partition: Partition): Promise<Stored | null> {
    const bytes = await store.get(metaKeyOf(partition.id));
    const meta = bytes && parseMeta(bytes);
    if (!meta || !describes(meta, partition.id)) return null;
    const state = stateOf(meta);
    if (!state) return null;
    if (state.complete) return { meta, state, csv: null };
    const csv = await store.get(csvKeyOf(partition.id));
    return csv && csv.length === meta.csv_bytes ? { meta, state, csv } : null;
  }

  async function get(id: DatasetId): Promise<KlinesResult> {
    const now = clock.now().getTime();
    const issues = rangeIssues(id, now);
    if (issues.length > 0) throw new ValidationError("Invalid query parameters", issues);
    const range = rangeOf(id);
    const cutoffMs = now - settleMs;
    const partitions = partitionsOf(id, now);
    const answers: Promise<ServedPartition>[] = [];
    const wanted: Wanted[] = [];

    await mapLimit(partitions, readConcurrency, async (partition, index) => {
      const running = inFlight.get(keyOf(partition));
      if (running) return void (answers[index] = joined(running));
      const stored = await load(partition);
      const need = needOf(partition, stored?.state ?? null, range, cutoffMs);
      if (need.kind === "fetch") return void wanted.push({ index, partition, fromMs: need.fromMs, stored });
      const { meta = null, state = null, csv = null } = stored ?? {};
      answers[index] = Promise.resolve({ partition, source: need.kind, shared: false, meta, state, csv });
    });

    // Another request may have started fetching while this one read the store: join it rather than fetch twice.
    const mine = wanted
      .sort((a, b) => a.index - b.index)
      .filter(({ index, partition }) => {
        const running = inFlight.get(keyOf(partition));
        if (running) answers[index] = joined(running);
        return !running;
      });
    const settlers = new Map(mine.map(({ partition }) => [partition, register(partition)] as const));
    for (const { index, partition } of mine) answers[index] = (settlers.get(partition) as Settler).promise;
    const storedOf = new Map(mine.map(({ partition, stored }) => [partition, stored] as const));
    const groups = planFetches(mine, KLINES_PAGE_LIMIT[id.market_type]);
    const counted = { requests: 0 };
    await runGroups(groups, settlers, (group) => fetchGroup(group, { storedOf, settlers, cutoffMs, counted }));

    const settled = await Promise.allSettled(answers);
    const failures = settled.flatMap((outcome) => (outcome.status === "rejected" ? [outcome.reason as unknown] : []));
    if (failures.length > 0) throw failures.find((failure) => failure instanceof UpstreamBannedError) ?? failures[0];
    const served = settled.map((outcome) => (outcome as PromiseFulfilledResult<ServedPartition>).value);
    return { range, partitions: served, upstreamRequests: counted.requests, coverage: coverageOf(id.interval, range, served) };
  }

  const joined = async (running: Promise<ServedPartition>): Promise<ServedPartition> => ({ ...(await running), shared: true });

  /** Marks the partition as being fetched by this process until it is stored or the fetch fails. */
  function register(partition: Partition): Settler {
    const settler = deferred();
    const key = keyOf(partition);
    inFlight.set(key, settler.promise);
    void settler.promise
      .catch(() => undefined)
      .finally(() => {
        if (inFlight.get(key) === settler.promise) inFlight.delete(key);
      });
    return settler;
  }

  /**
   * Runs the paging passes, `fetchConcurrency` at a time. After the first failure no pass starts (those running
   * finish, storing what they complete); every partition not stored by then fails with it.
   */
  async function runGroups(
    groups: FetchGroup[],
    settlers: Map<Partition, Settler>,
    run: (group: FetchGroup) => Promise<void>,
  ): Promise<void> {
    let next = 0;
    let failure: { error: unknown } | null = null;
    const worker = async () => {
      while (!failure && next < groups.length) {
        const group = groups[next++] as FetchGroup;
        try {
          await run(group);
        } catch (error) {
          failure ??= { error };
          log.warn("klines_fetch_failed", { partition: (group.partitions[0] as Partition).id, error });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(fetchConcurrency, groups.length) }, worker));
    const error = (failure as { error: unknown } | null)?.error;
    if (error !== undefined) for (const settler of settlers.values()) settler.reject(error);
  }

  /**
   * One paging pass over [group.fromMs, group.toMs]: each page starts after the last candle of the one before and
   * ends at group.toMs, so no page runs past the range. Each partition is stored as soon as the pass is past it.
   */
  async function fetchGroup(
    group: FetchGroup,
    context: {
      storedOf: Map<Partition, Stored | null>;
      settlers: Map<Partition, Settler>;
      cutoffMs: number;
      counted: { requests: number };
    },
  ): Promise<void> {
    const { partitions } = group;
    const { id } = partitions[0] as Partition;
    const pageLimit = KLINES_PAGE_LIMIT[id.market_type];
    let index = 0;
    let klines: Kline[] = [];
    const storeNext = async () => {
      const partition = partitions[index] as Partition;
      const stored = context.storedOf.get(partition) ?? null;
      const base = stored?.csv ? { csv: stored.csv, state: stored.state } : null;
      const fromMs = index === 0 ? group.fromMs : partition.startMs;
      const built = buildPartition({ partition, base, fromMs, klines, cutoffMs: context.cutoffMs });
      const meta = await cache.write(partition.id, built.csv, metaFieldsOf(built.state));
      const source = base ? "extended" : "fetched";
      context.settlers.get(partition)?.resolve({ partition, source, shared: false, meta, state: built.state, csv: built.csv });
      klines = [];
      index++;
    };
    for (let cursor = group.fromMs; ; ) {
      const page = await binance.klines(
        id.market_type,
        { symbol: id.symbol, interval: id.interval, startTime: cursor, endTime: group.toMs, limit: pageLimit },
        { onAttempt: () => context.counted.requests++ },
      );
      for (const kline of page) {
        while (index < partitions.length && kline[0] >= (partitions[index] as Partition).endMs) await storeNext();
        klines.push(kline);
      }
      const last = page.at(-1);
      if (page.length < pageLimit || !last || last[0] >= group.toMs) break;
      cursor = last[0] + 1;
    }
    while (index < partitions.length) await storeNext();
  }

  /** The CSV of a served partition: the bytes in hand, or read from the store and checked against its meta. */
  async function csvOf(part: ServedPartition): Promise<Uint8Array> {
    if (part.csv || !part.meta) return part.csv ?? new Uint8Array(0);
    const csv = await store.get(csvKeyOf(part.partition.id));
    if (!csv || csv.length !== part.meta.csv_bytes) {
      const month = part.partition.id.start_date;
      throw new StorageUnavailableError(`The cache entry of ${month} changed while it was being read; ask again`);
    }
    return csv;
  }

  return {
    get,

    /** The answer as CSV: one header, then each partition's rows in the range, oldest first (views, not copies). */
    async csvChunksOf(result: KlinesResult): Promise<Uint8Array[]> {
      const bodies = await mapLimit(result.partitions, readConcurrency, async (part) =>
        rowsInRange(await csvOf(part), part.partition, result.range),
      );
      return [new TextEncoder().encode(KLINES_CSV_HEADER), ...bodies.filter((body) => body.length > 0)];
    },
  };
}

/** A promise settled from outside; rejecting one that nobody waits for is not an unhandled rejection. */
function deferred(): Settler {
  let resolve!: (value: ServedPartition) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<ServedPartition>((ok, fail) => {
    resolve = ok;
    reject = fail;
  });
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}
