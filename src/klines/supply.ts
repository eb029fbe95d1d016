import type { Clock } from "../clock.js";
import type { Deadline } from "../deadline.js";
import { UpstreamUnavailableError } from "../errors.js";
import type { MarketType } from "../market.js";
import type { SeriesId } from "../price-kinds.js";
import { mapLimit } from "../util/map-limit.js";
import type { Cutoff } from "./cutoff.js";
import type { PartitionFetcher, Want } from "./fetcher.js";
import type { PartitionLeases } from "./leases.js";
import { needOf, type NeedContext } from "./plan.js";
import { entryOfPartition, servedAsStored, type PartitionReads, type ServedPartition, type Tally } from "./served.js";
import type { Partition } from "./types.js";

export interface SupplyRequest {
  context: NeedContext;
  counted: Tally;
  deadline: Deadline | undefined;
}

/**
 * How the partitions an answer lacks come to be stored. Inline (one process, one role: the local server, tests, and
 * the klines function on Lambda today): fetched by the request itself. The seam where a read-only klines function
 * would instead ask a fill function of its own, answering 503 while the months fill.
 */
export interface PartitionSupply {
  /** The closed line of the market, as this supply judges it. */
  cutoffOf(market: MarketType): number;
  /** A fetch of the partition already under way in this process, to join rather than read the cache. */
  running(partition: Partition): Promise<ServedPartition> | undefined;
  /** Each wanted partition, in the order asked, settling once it is stored; or throws when they cannot be had now. */
  supply(id: SeriesId, wants: Want[], request: SupplyRequest): Promise<Promise<ServedPartition>[]>;
}

interface Settler {
  promise: Promise<ServedPartition>;
  resolve(value: ServedPartition): void;
  reject(error: unknown): void;
}

export interface InlineSupplyOptions {
  fetcher: PartitionFetcher;
  reads: PartitionReads;
  leases: PartitionLeases;
  cutoff: Cutoff;
  clock: Clock;
  /** Partitions whose leases are asked for at once. */
  readConcurrency?: number;
  /** How often a request waiting for another container's fetch looks for the partition. */
  pollMs?: number;
}

/**
 * The read-through's own fetching: identical misses in this process share one fetch; across containers, a lease per
 * partition: one another container holds is waited for (within the deadline), the rest are fetched here.
 */
export function createInlineSupply(options: InlineSupplyOptions): PartitionSupply {
  const { fetcher, reads, leases, cutoff, clock } = options;
  const readConcurrency = options.readConcurrency ?? 8;
  const pollMs = options.pollMs ?? 250;
  /** Fetches under way in this process, by partition entry; each settles once its partition is stored. */
  const inFlight = new Map<string, Promise<ServedPartition>>();
  const keyOf = (partition: Partition) => JSON.stringify(entryOfPartition(partition));

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
   * A partition another container is fetching: waits for it to be stored (or for its lease to be free, then fetches
   * it), up to the deadline; then serves what is stored, or fails when nothing is.
   */
  async function waitForOther(id: SeriesId, want: Want, settler: Settler, request: SupplyRequest): Promise<ServedPartition> {
    const { partition } = want;
    const { deadline } = request;
    let stored = want.stored;
    for (;;) {
      try {
        await fetcher.pauseWithin(pollMs, deadline);
      } catch {
        break;
      }
      stored = await reads.load(partition, deadline?.signal);
      const nowMs = clock.now().getTime();
      const need = needOf(partition, stored, { ...request.context, nowMs, cutoffMs: cutoff.of(id.market_type) });
      if (need.kind !== "fetch") return servedAsStored(partition, need.kind, stored, true);
      const lease = await leases.take(partition);
      if (lease === "theirs") continue;
      const mine = { partition, fromMs: need.fromMs, heldBeforeMs: stored?.state.lastOpenMs ?? null, stored };
      await fetcher.fetchHeld(id, [mine], {
        held: new Map([[partition, lease.token]]),
        counted: request.counted,
        deadline,
        onStored: (_, served) => settler.resolve(served),
      });
      return settler.promise;
    }
    if (!stored) {
      throw new UpstreamUnavailableError(`Another request is fetching ${partition.id.start_date} of this range`, {
        retryAt: new Date(clock.now().getTime() + 1000),
      });
    }
    return servedAsStored(partition, "cached", stored, true);
  }

  return {
    cutoffOf: (market) => cutoff.of(market),

    running(partition) {
      const running = inFlight.get(keyOf(partition));
      return running && running.then((served) => ({ ...served, shared: true }));
    },

    async supply(id, wants, request) {
      const settlers = new Map(wants.map(({ partition }) => [partition, register(partition)] as const));
      const held = new Map<Partition, string | null>();
      const waited: Want[] = [];
      await mapLimit(wants, readConcurrency, async (want) => {
        const lease = await leases.take(want.partition);
        if (lease === "theirs") waited.push(want);
        else held.set(want.partition, lease.token);
      });
      for (const want of waited) {
        const settler = settlers.get(want.partition) as Settler;
        waitForOther(id, want, settler, request).then(
          (served) => settler.resolve(served),
          (error: unknown) => settler.reject(error),
        );
      }
      const fetched = wants.filter(({ partition }) => held.has(partition));
      await fetcher
        .fetchHeld(id, fetched, { held, counted: request.counted, deadline: request.deadline, onStored: (partition, served) => settlers.get(partition)?.resolve(served) })
        .catch((error: unknown) => {
          for (const { partition } of fetched) settlers.get(partition)?.reject(error);
        });
      return wants.map(({ partition }) => (settlers.get(partition) as Settler).promise);
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
