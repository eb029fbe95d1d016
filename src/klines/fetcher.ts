import { setTimeout as delay } from "node:timers/promises";
import type { DataCache } from "../cache/data-cache.js";
import type { Clock } from "../clock.js";
import type { Deadline } from "../deadline.js";
import { EntryBusyError, UpstreamUnavailableError } from "../errors.js";
import type { Log } from "../log.js";
import { kindOf, type SeriesId } from "../price-kinds.js";
import { ArchiveRejectedError, archivePath, type ArchivePeriod, type BinanceArchive } from "../upstream/archive.js";
import { KLINES_PAGE_LIMIT, type BinanceClient, type Kline } from "../upstream/binance.js";
import type { Cutoff } from "./cutoff.js";
import { candlesBetween } from "./interval.js";
import type { PartitionLeases } from "./leases.js";
import type { Listing } from "./listing.js";
import { extendPartition, metaFieldsOf } from "./partition.js";
import { fetchGroup, type PassPorts } from "./pass.js";
import { closesAt, planFetches, type Fetch } from "./plan.js";
import { entryOfPartition, type ArchiveTally, type ServedPartition, type Stored, type Tally } from "./served.js";
import type { FetchGroup, Partition, PartitionFetch } from "./types.js";
import { mapLimit } from "../util/map-limit.js";

export interface PartitionFetcherOptions {
  /** Where partitions are kept: entries of their own folder, kept until this service replaces them. */
  cache: Pick<DataCache, "write">;
  binance: Pick<BinanceClient, "klines">;
  /** Binance's public archive, for past months (days for 1s) REST would page at length; none: REST only. */
  archive?: BinanceArchive;
  /** Where each symbol's first candle is remembered. */
  listing: Listing;
  /** The closed line; each answer of the exchange tells it the exchange's time. */
  cutoff: Cutoff;
  leases: PartitionLeases;
  clock: Clock;
  log: Log;
  /** How waits between passes are slept; injected so tests are instant. */
  sleep?: (ms: number) => Promise<void>;
  /** Paging passes of one request that run at once. */
  fetchConcurrency?: number;
}

/** A partition to fetch, with what the cache holds of it. */
export type Want = Fetch & { stored: Stored | null };

export interface FetchHeldOptions {
  /** The leases held for the partitions; each is released as soon as its partition is stored, the rest at the end. */
  held: Map<Partition, string | null>;
  counted: Tally;
  deadline: Deadline | undefined;
  /** Told of each partition the moment it is stored. */
  onStored(partition: Partition, served: ServedPartition): void;
}

export type PartitionFetcher = ReturnType<typeof createPartitionFetcher>;

/**
 * Fetching and storing partitions: each fetched from Binance (its archive first for a past month, then REST) by the
 * passes of pass.ts, and stored the moment its findings are final, while this process still holds its lease.
 */
export function createPartitionFetcher(options: PartitionFetcherOptions) {
  const { cache, binance, archive, listing, cutoff, leases, clock, log } = options;
  const sleep = options.sleep ?? ((ms: number) => delay(ms));
  const fetchConcurrency = options.fetchConcurrency ?? 3;

  /**
   * Fetches the partitions whose leases are held, grouped so none costs more pages than it must (see planFetches);
   * a failure is logged and thrown, the partitions stored by then kept. Every lease is released at the end.
   */
  async function fetchHeld(id: SeriesId, wants: Want[], context: FetchHeldOptions): Promise<void> {
    const { held } = context;
    const storedOf = new Map(wants.map(({ partition, stored }) => [partition, stored] as const));
    const renewal = leases.renewWhileHeld(held);
    try {
      const pageLimit = KLINES_PAGE_LIMIT[id.market_type];
      const fromArchive = wants.filter((want) => archivable(want, pageLimit));
      const rest = wants.filter((want) => !fromArchive.includes(want));
      const groups = [
        ...fromArchive.map(({ partition }): FetchGroup => ({ partitions: [partition], fromMs: partition.startMs, heldBeforeMs: null })),
        ...planFetches(rest, pageLimit),
      ];
      await mapLimit(groups, fetchConcurrency, (group) => fetchOne(id, group, { ...context, storedOf }));
    } catch (error) {
      log.warn("klines_fetch_failed", { dataset: id, error });
      throw error;
    } finally {
      clearInterval(renewal);
      await Promise.all([...held].map(([partition, token]) => leases.release(partition, token)));
    }
  }

  /** One group's passes (see pass.ts); each partition is stored the moment its findings are final. */
  async function fetchOne(id: SeriesId, group: FetchGroup, context: FetchHeldOptions & { storedOf: Map<Partition, Stored | null> }): Promise<void> {
    const { market_type: market, symbol, interval } = id;
    const price = kindOf(id);
    const { deadline, counted } = context;
    const requestOptions = { deadline, onAttempt: () => counted.requests++ };
    const ports: PassPorts = {
      page: async (query) => {
        const page = await binance.klines(market, { symbol, interval, price, ...query }, requestOptions);
        if (page.exchangeTimeMs !== null) cutoff.observe(market, page.exchangeTimeMs);
        return page;
      },
      firstOpen: () =>
        listing.firstOpen(market, symbol, interval, price, async () => {
          const { klines } = await binance.klines(market, { symbol, interval, price, startTime: 0, limit: 1 }, requestOptions);
          return klines[0]?.[0] ?? null;
        }),
      pause: (ms) => pauseWithin(ms, deadline),
      localCutoffMs: () => cutoff.local(),
      archiveHoles: (holes) => {
        const partition = group.partitions[0] as Partition;
        counted.archive.incomplete++;
        log.warn("klines_archive_incomplete", {
          partition: partition.id,
          file: archivePath(market, symbol, interval, periodOf(partition), price),
          holes: holes.map((hole) => ({
            from: new Date(hole.fromMs).toISOString(),
            to: new Date(hole.toMs).toISOString(),
            missing: candlesBetween(interval, hole.fromMs, hole.toMs),
          })),
        });
      },
    };
    const first = group.partitions[0] as Partition;
    const archived = archive && archivable({ partition: first, fromMs: group.fromMs, heldBeforeMs: group.heldBeforeMs }, KLINES_PAGE_LIMIT[market])
      ? await fromTheArchive(id, first, requestOptions, counted.archive)
      : null;
    const pass = archived ? { ...group, archived } : group;
    await fetchGroup(pass, ports, { interval, pageLimit: KLINES_PAGE_LIMIT[market] }, async (index, fetched) => {
      const partition = group.partitions[index] as Partition;
      const stored = context.storedOf.get(partition) ?? null;
      const token = context.held.get(partition) ?? null;
      const served = await storePartition(partition, stored, fetched, { deadline, token });
      context.onStored(partition, served);
      await leases.release(partition, token);
      context.held.delete(partition);
    });
  }

  /**
   * Whether the public archive is worth asking for the partition: it is enabled, the partition is fetched whole and
   * over (so its file may be published), and REST would page it more than the archive's two requests.
   */
  function archivable(want: Fetch, pageLimit: number): boolean {
    const { partition } = want;
    if (!archive || want.fromMs !== partition.startMs || want.heldBeforeMs !== null) return false;
    if (closesAt(partition) > cutoff.of(partition.id.market_type)) return false;
    return candlesBetween(partition.id.interval, partition.startMs, partition.endMs) / pageLimit > 2;
  }

  /**
   * The partition's candles from the archive, checksum-verified; null when its file is missing, rejected or cannot be
   * reached, each logged and tallied: REST fetches it then, as if there were no archive.
   */
  async function fromTheArchive(
    id: SeriesId,
    partition: Partition,
    request: { deadline: Deadline | undefined; onAttempt: () => void },
    tally: ArchiveTally,
  ): Promise<Kline[] | null> {
    try {
      const klines = await (archive as BinanceArchive).klines(id.market_type, id.symbol, id.interval, periodOf(partition), request, kindOf(id));
      if (klines === null) {
        tally.missing++;
        log.info("klines_archive_missing", { partition: partition.id });
        return null;
      }
      tally.files++;
      return klines;
    } catch (error) {
      tally.failed++;
      log.warn(error instanceof ArchiveRejectedError ? "klines_archive_rejected" : "klines_archive_unavailable", { partition: partition.id, error });
      return null;
    }
  }

  /**
   * Writes what a fetch found, in the entry's turn, only while this request still holds the partition's lease (its
   * fetch was not taken over by another request while it ran: checked right before the CSV and the meta are
   * written). A write given up is logged, and the request answers 503 with when to ask again.
   */
  async function storePartition(
    partition: Partition,
    stored: Stored | null,
    fetched: PartitionFetch,
    holder: { deadline: Deadline | undefined; token: string | null },
  ): Promise<ServedPartition> {
    const base = stored?.csv ? { csv: stored.csv, state: stored.state } : null;
    const built = extendPartition(base, fetched);
    const { token, deadline } = holder;
    const meta = await cache
      .write(entryOfPartition(partition), built.csv, {
        extraMeta: metaFieldsOf(built.state),
        retention: "until_replaced",
        signal: deadline?.signal,
        stillMine: () => leases.stillHeld(partition, token),
      })
      .catch((error: unknown) => {
        if (!(error instanceof EntryBusyError)) throw error;
        log.warn("klines_write_given_up", { partition: partition.id, reason: error.message });
        throw new UpstreamUnavailableError(`Another request took over storing ${partition.id.start_date} of this range; ask again`, {
          cause: error,
          retryAt: new Date(clock.now().getTime() + 1000),
        });
      });
    const source = base ? "extended" : "fetched";
    return { partition, source, shared: false, meta, state: built.state, csv: built.csv };
  }

  /** Sleeps `ms` when the deadline leaves room; otherwise fails at once, saying when to ask again. */
  async function pauseWithin(ms: number, deadline: Deadline | undefined): Promise<void> {
    const nowMs = clock.now().getTime();
    if (deadline && (deadline.signal.aborted || nowMs + ms > deadline.atMs)) {
      throw new UpstreamUnavailableError("The request's time ran out between passes", { retryAt: new Date(nowMs + ms) });
    }
    await sleep(ms);
  }

  return { fetchHeld, pauseWithin };
}

/** The archive's file of a partition: a day's for 1s candles, a month's for the others. */
function periodOf(partition: Partition): ArchivePeriod {
  const { interval } = partition.id;
  return {
    kind: interval === "1s" ? "daily" : "monthly",
    startMs: partition.startMs,
    endMs: partition.endMs,
    maxCandles: candlesBetween(interval, partition.startMs, partition.endMs),
  };
}
