import { setTimeout as delay } from "node:timers/promises";
import type { DataCache } from "../cache/data-cache.js";
import type { CacheMeta } from "../cache/entries/meta.js";
import { entryName, type EntryId } from "../cache/entries/objects.js";
import { parseCachedAt } from "../time.js";
import type { Clock } from "../clock.js";
import type { Deadline } from "../deadline.js";
import { partitionLeaseKey } from "../counters/keys.js";
import type { Leases } from "../counters/types.js";
import {
  AppError,
  EntryBusyError,
  StorageUnavailableError,
  UnauthorizedError,
  UpstreamUnavailableError,
  ValidationError,
  WritesDisabledError,
} from "../errors.js";
import type { Log } from "../log.js";
import type { DatasetId, MarketType } from "../market.js";
import { ArchiveRejectedError, archivePath, type ArchivePeriod, type BinanceArchive } from "../upstream/archive.js";
import { KLINES_PAGE_LIMIT, type BinanceClient, type Kline } from "../upstream/binance.js";
import { candlesBetween } from "./interval.js";
import { mapLimit } from "../util/map-limit.js";
import type { Listing } from "./listing.js";
import { fetchGroup, type PassPorts } from "./pass.js";
import { coverageOf, extendPartition, KLINES_CSV_HEADER, metaFieldsOf, rowsInRange, stateOf, type Coverage } from "./partition.js";
import { closesAt, needOf, partitionsOf, planFetches, rangeIssues, rangeOf, type Fetch, type NeedContext } from "./plan.js";
import type { FetchGroup, Partition, PartitionFetch, PartitionState, Range } from "./types.js";

/** The cache folder of the partitions: apart from the root, where the original's and every client's entries live. */
export const PARTITIONS_FOLDER = "partitions";

export interface KlinesServiceOptions {
  /** Where partitions are kept: entries of their own folder, kept until this service replaces them. */
  cache: Pick<DataCache, "lookup" | "readCsv" | "write">;
  binance: Pick<BinanceClient, "klines">;
  /** Where each symbol's first candle is remembered. */
  listing: Listing;
  clock: Clock;
  log: Log;
  /** How waits between passes are slept; injected so tests are instant. */
  sleep?: (ms: number) => Promise<void>;
  /** A candle is stored once it closed at least this long ago, by both clocks: room for skew. */
  settleMs?: number;
  /** Paging passes of one request that run at once. */
  fetchConcurrency?: number;
  /** Partitions of one request read at once. */
  readConcurrency?: number;
  /** A partition that misses candles without proof is asked again at most this often (KLINES_RECHECK_SECONDS). */
  recheckSeconds?: number;
  /** One fetch of a partition at a time across containers (Upstash), or in this process (memory). */
  leases: Leases;
  /** Life of a partition's lease; its holder renews it a third of that apart while it works. */
  leaseTtlMs?: number;
  /** How often a request waiting for another container's fetch looks for the partition. */
  pollMs?: number;
  /** Binance's public archive, for past months (days for 1s) REST would page at length; none: REST only. */
  archive?: BinanceArchive;
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
  /** The CSV when already in hand; null when it is to be read from the cache (see csvChunksOf). */
  csv: Uint8Array | null;
}

export interface KlinesResult {
  range: Range;
  /** In order, oldest first. */
  partitions: ServedPartition[];
  /**
   * HTTP requests this answer sent to Binance, its REST API and its archive, retries included (a shared fetch counts
   * for the request that made it).
   */
  upstreamRequests: number;
  /**
   * Files of Binance's public archive: used, missing (not published, or never), rejected or unreachable, and of the
   * used ones those with holes inside, asked of REST.
   */
  archive: ArchiveTally;
  coverage: Coverage;
}

export interface ArchiveTally {
  files: number;
  missing: number;
  failed: number;
  /** Files used that missed candles inside their period (see pass.ts): REST was asked for each hole. */
  incomplete: number;
}

/** What one request spent upstream, for its answer's headers and the counters. */
interface Tally {
  requests: number;
  archive: ArchiveTally;
}

export interface KlinesRequest {
  /** No wait, retry or call runs past it; the partitions completed by then are kept. */
  deadline?: Deadline;
  /**
   * Whether the request may fetch from Binance (and write what it fetched): when not, it is answered from the cache
   * if everything is there, else refused (401 naming what is missing, or 403 when writes are closed).
   */
  spend?: "allowed" | "token_required" | "writes_disabled";
}

export type KlinesService = ReturnType<typeof createKlinesService>;

type Stored = { meta: CacheMeta; state: PartitionState; csv: Uint8Array | null; checkedAtMs: number };

interface Settler {
  promise: Promise<ServedPartition>;
  resolve(value: ServedPartition): void;
  reject(error: unknown): void;
}

/**
 * Candles for any range, read through the cache: calendar-month partitions (days for 1s), each fetched from Binance
 * once and never again when complete by evidence (see pass.ts); the current one grows by its tail. Identical misses
 * in one process share one fetch; the passes of one request run a few at a time within its deadline; a failure
 * keeps what was completed and fails the request, so an answer never has a silent hole.
 */
export function createKlinesService(options: KlinesServiceOptions) {
  const { cache, binance, listing, clock, log } = options;
  const sleep = options.sleep ?? ((ms: number) => delay(ms));
  const settleMs = options.settleMs ?? 2_000;
  const fetchConcurrency = options.fetchConcurrency ?? 3;
  const readConcurrency = options.readConcurrency ?? 8;
  const recheckMs = (options.recheckSeconds ?? 3600) * 1000;
  const { leases, archive } = options;
  const leaseTtlMs = options.leaseTtlMs ?? 15_000;
  const pollMs = options.pollMs ?? 250;
  /** Fetches under way in this process, by partition entry; each settles once its partition is stored. */
  const inFlight = new Map<string, Promise<ServedPartition>>();
  /** How far each market's clock is behind ours (ms, ≤ 0), from the Date of its last answer. */
  const exchangeLagMs: Record<MarketType, number> = { spot: 0, futures: 0 };

  const entryOf = (partition: Partition): EntryId => ({ ...partition.id, folder: PARTITIONS_FOLDER });
  const keyOf = (partition: Partition) => JSON.stringify(entryOf(partition));
  const leaseKeyOf = (partition: Partition) => partitionLeaseKey(entryName(entryOf(partition)));
  /** The "closed" line: candles closing before it have closed by our clock and, as last seen, the exchange's. */
  const cutoffOf = (market: MarketType) => clock.now().getTime() + exchangeLagMs[market] - settleMs;

  /** The partition as stored and proven whole; the CSV only of an incomplete one (the base of its tail). */
  async function load(partition: Partition, signal?: AbortSignal): Promise<Stored | null> {
    const found = await cache.lookup(entryOf(partition), { signal });
    if (!found.hit) return null;
    const state = stateOf(found.meta);
    const checkedAtMs = parseCachedAt(found.meta.cached_at)?.getTime();
    if (!state || checkedAtMs === undefined) return null;
    if (state.complete) return { meta: found.meta, state, csv: null, checkedAtMs };
    const csv = await cache.readCsv(entryOf(partition), { meta: found.meta, signal });
    return csv.hit ? { meta: found.meta, state, csv: Buffer.concat(csv.csv), checkedAtMs } : null;
  }

  async function get(id: DatasetId, request: KlinesRequest = {}): Promise<KlinesResult> {
    const { deadline } = request;
    const nowMs = clock.now().getTime();
    const issues = rangeIssues(id, nowMs);
    if (issues.length > 0) throw new ValidationError("Invalid query parameters", issues);
    const range = rangeOf(id);
    const partitions = partitionsOf(id, nowMs);
    const answers: Promise<ServedPartition>[] = [];
    const wanted: (Fetch & { index: number; stored: Stored | null })[] = [];
    const context = { range, cutoffMs: cutoffOf(id.market_type), nowMs, recheckMs };

    await mapLimit(partitions, readConcurrency, async (partition, index) => {
      const running = inFlight.get(keyOf(partition));
      if (running) return void (answers[index] = joined(running));
      const stored = await load(partition, deadline?.signal);
      const need = needOf(partition, stored, context);
      if (need.kind === "fetch") {
        const heldBeforeMs = stored?.state.lastOpenMs ?? null;
        return void wanted.push({ index, partition, fromMs: need.fromMs, heldBeforeMs, stored });
      }
      const { meta = null, state = null, csv = null } = stored ?? {};
      answers[index] = Promise.resolve({ partition, source: need.kind, shared: false, meta, state, csv });
    });

    // Another request may have started fetching while this one read the cache: join it rather than fetch twice.
    const mine = wanted
      .sort((a, b) => a.index - b.index)
      .filter(({ index, partition }) => {
        const running = inFlight.get(keyOf(partition));
        if (running) answers[index] = joined(running);
        return !running;
      });
    if (mine.length > 0 && request.spend && request.spend !== "allowed") throw refusal(request.spend, mine);
    const settlers = new Map(mine.map(({ partition }) => [partition, register(partition)] as const));
    for (const { index, partition } of mine) answers[index] = (settlers.get(partition) as Settler).promise;
    const counted: Tally = { requests: 0, archive: { files: 0, missing: 0, failed: 0, incomplete: 0 } };

    // Across containers: a lease per partition. One another container holds is waited for; the rest are fetched.
    const held = new Map<Partition, string | null>();
    const waited: typeof mine = [];
    await mapLimit(mine, readConcurrency, async (want) => {
      const lease = await takeLease(want.partition);
      if (lease === "theirs") waited.push(want);
      else held.set(want.partition, lease.token);
    });
    for (const want of waited) {
      const settler = settlers.get(want.partition) as Settler;
      waitForOther(id, want, { context, settler, counted, deadline }).then(
        (served) => settler.resolve(served),
        (error: unknown) => settler.reject(error),
      );
    }
    const fetched = mine.filter(({ partition }) => held.has(partition));
    const storedOf = new Map(fetched.map(({ partition, stored }) => [partition, stored] as const));
    const renewal = renewWhileHeld(held);
    try {
      const pageLimit = KLINES_PAGE_LIMIT[id.market_type];
      const fromArchive = fetched.filter((want) => archivable(want, pageLimit));
      const rest = fetched.filter((want) => !fromArchive.includes(want));
      const groups = [
        ...fromArchive.map(({ partition }): FetchGroup => ({ partitions: [partition], fromMs: partition.startMs, heldBeforeMs: null })),
        ...planFetches(rest, pageLimit),
      ];
      await mapLimit(groups, fetchConcurrency, (group) => fetchOne(id, group, { storedOf, settlers, counted, deadline, held }));
    } catch (error) {
      log.warn("klines_fetch_failed", { dataset: id, error });
      for (const { partition } of fetched) settlers.get(partition)?.reject(error);
    } finally {
      clearInterval(renewal);
      await Promise.all([...held].map(([partition, token]) => releaseLease(partition, token)));
    }

    const settled = await Promise.allSettled(answers);
    const served = settled.flatMap((outcome) => (outcome.status === "fulfilled" ? [outcome.value] : []));
    const failure = settled.find((outcome) => outcome.status === "rejected");
    if (failure) throw progressOf(failure.reason, { total: partitions.length, stored: served.filter((part) => part.meta).length, requests: counted.requests });
    const coverage = coverageOf(id.interval, range, served, cutoffOf(id.market_type));
    return { range, partitions: served, upstreamRequests: counted.requests, archive: counted.archive, coverage };
  }

  const joined = async (running: Promise<ServedPartition>): Promise<ServedPartition> => ({ ...(await running), shared: true });

  /** The partition's lease: its token (null when leases cannot be had: fetch, uncoordinated), or "theirs". */
  async function takeLease(partition: Partition): Promise<{ token: string | null } | "theirs"> {
    try {
      const token = await leases.acquire(leaseKeyOf(partition), leaseTtlMs);
      return token === null ? "theirs" : { token };
    } catch (error) {
      log.warn("klines_lease_unavailable", { partition: partition.id, error });
      return { token: null };
    }
  }

  async function releaseLease(partition: Partition, token: string | null): Promise<void> {
    if (token === null) return;
    await leases.release(leaseKeyOf(partition), token).catch((error: unknown) => {
      log.warn("klines_lease_release_failed", { partition: partition.id, error });
    });
  }

  /** Renews every lease still held, a third of their life apart; a lease lost (expired and taken) is logged. */
  function renewWhileHeld(held: Map<Partition, string | null>): NodeJS.Timeout {
    const timer = setInterval(() => {
      for (const [partition, token] of held) {
        if (token === null) continue;
        leases.renew(leaseKeyOf(partition), token, leaseTtlMs).then(
          (kept) => kept || log.warn("klines_lease_lost", { partition: partition.id }),
          (error: unknown) => log.warn("klines_lease_renew_failed", { partition: partition.id, error }),
        );
      }
    }, leaseTtlMs / 3);
    timer.unref();
    return timer;
  }

  /**
   * A partition another container is fetching: waits for it to be stored (or for its lease to be free, then fetches
   * it), up to the deadline; then serves what is stored, or fails when nothing is.
   */
  async function waitForOther(
    id: DatasetId,
    want: Fetch & { stored: Stored | null },
    options: { context: NeedContext; settler: Settler; counted: Tally; deadline: Deadline | undefined },
  ): Promise<ServedPartition> {
    const { partition } = want;
    let stored = want.stored;
    for (;;) {
      try {
        await pauseWithin(pollMs, options.deadline);
      } catch {
        break;
      }
      stored = await load(partition, options.deadline?.signal);
      const nowMs = clock.now().getTime();
      const need = needOf(partition, stored, { ...options.context, nowMs, cutoffMs: cutoffOf(id.market_type) });
      if (need.kind !== "fetch") {
        const { meta = null, state = null, csv = null } = stored ?? {};
        return { partition, source: need.kind, shared: true, meta, state, csv };
      }
      const lease = await takeLease(partition);
      if (lease === "theirs") continue;
      const held = new Map([[partition, lease.token]]);
      const mine = { ...want, fromMs: need.fromMs, heldBeforeMs: stored?.state.lastOpenMs ?? null, stored };
      const settlers = new Map([[partition, options.settler]]);
      try {
        await fetchOne(id, { partitions: [partition], fromMs: mine.fromMs, heldBeforeMs: mine.heldBeforeMs }, {
          storedOf: new Map([[partition, stored]]),
          settlers,
          counted: options.counted,
          deadline: options.deadline,
          held,
        });
      } finally {
        await releaseLease(partition, lease.token);
      }
      return options.settler.promise;
    }
    if (!stored) {
      throw new UpstreamUnavailableError(`Another request is fetching ${partition.id.start_date} of this range`, {
        retryAt: new Date(clock.now().getTime() + 1000),
      });
    }
    return { partition, source: "cached", shared: true, meta: stored.meta, state: stored.state, csv: stored.csv };
  }

  /** Why a request may not fetch: no token (401, naming the partitions it lacks), or writes closed (403). */
  function refusal(spend: "token_required" | "writes_disabled", missing: { partition: Partition }[]): AppError {
    if (spend === "writes_disabled") return new WritesDisabledError("Fetching candles from Binance is disabled here: this service has no CACHE_API_TOKEN");
    const partitions = missing.map(({ partition }) => ({ start_date: partition.id.start_date, end_date: partition.id.end_date }));
    return new UnauthorizedError(
      "The cache does not hold all of this range, and fetching the rest from Binance needs 'Authorization: Bearer <CACHE_API_TOKEN>'",
      { missing: partitions },
    );
  }

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

  /** One group's passes (see pass.ts); each partition is stored the moment its findings are final. */
  async function fetchOne(
    id: DatasetId,
    group: FetchGroup,
    context: {
      storedOf: Map<Partition, Stored | null>;
      settlers: Map<Partition, Settler>;
      counted: Tally;
      deadline: Deadline | undefined;
      /** The leases held for the group's partitions; each is released as soon as its partition is stored. */
      held: Map<Partition, string | null>;
    },
  ): Promise<void> {
    const { market_type: market, symbol, interval } = id;
    const { deadline, counted } = context;
    const requestOptions = { deadline, onAttempt: () => counted.requests++ };
    const ports: PassPorts = {
      page: async (query) => {
        const page = await binance.klines(market, { symbol, interval, ...query }, requestOptions);
        if (page.exchangeTimeMs !== null) exchangeLagMs[market] = Math.min(0, page.exchangeTimeMs - clock.now().getTime());
        return page;
      },
      firstOpen: () =>
        listing.firstOpen(market, symbol, interval, async () => {
          const { klines } = await binance.klines(market, { symbol, interval, startTime: 0, limit: 1 }, requestOptions);
          return klines[0]?.[0] ?? null;
        }),
      pause: (ms) => pauseWithin(ms, deadline),
      localCutoffMs: () => clock.now().getTime() - settleMs,
      archiveHoles: (holes) => {
        const partition = group.partitions[0] as Partition;
        counted.archive.incomplete++;
        log.warn("klines_archive_incomplete", {
          partition: partition.id,
          file: archivePath(market, symbol, interval, periodOf(partition)),
          holes: holes.map((hole) => ({
            from: new Date(hole.fromMs).toISOString(),
            to: new Date(hole.toMs).toISOString(),
            missing: candlesBetween(interval, hole.fromMs, hole.toMs),
          })),
        });
      },
    };
    const archived = archive && archivable({ partition: group.partitions[0] as Partition, fromMs: group.fromMs, heldBeforeMs: group.heldBeforeMs }, KLINES_PAGE_LIMIT[market])
      ? await fromTheArchive(id, group.partitions[0] as Partition, requestOptions, counted.archive)
      : null;
    const pass = archived ? { ...group, archived } : group;
    await fetchGroup(pass, ports, { interval, pageLimit: KLINES_PAGE_LIMIT[market] }, async (index, fetched) => {
      const partition = group.partitions[index] as Partition;
      const stored = context.storedOf.get(partition) ?? null;
      const served = await storePartition(partition, stored, fetched, { deadline, token: context.held.get(partition) ?? null });
      context.settlers.get(partition)?.resolve(served);
      await releaseLease(partition, context.held.get(partition) ?? null);
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
    if (closesAt(partition) > cutoffOf(partition.id.market_type)) return false;
    return candlesBetween(partition.id.interval, partition.startMs, partition.endMs) / pageLimit > 2;
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

  /**
   * The partition's candles from the archive, checksum-verified; null when its file is missing, rejected or cannot be
   * reached, each logged and tallied: REST fetches it then, as if there were no archive.
   */
  async function fromTheArchive(
    id: DatasetId,
    partition: Partition,
    request: { deadline: Deadline | undefined; onAttempt: () => void },
    tally: ArchiveTally,
  ): Promise<Kline[] | null> {
    try {
      const klines = await (archive as BinanceArchive).klines(id.market_type, id.symbol, id.interval, periodOf(partition), request);
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
    const stillMine = async () => token === null || (await leases.renew(leaseKeyOf(partition), token, leaseTtlMs).catch(() => true));
    const meta = await cache
      .write(entryOf(partition), built.csv, {
        extraMeta: metaFieldsOf(built.state),
        retention: "until_replaced",
        signal: deadline?.signal,
        stillMine,
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

  /**
   * A failed request's error, saying how far it got: the partitions completed are stored, so asking again goes on
   * from there. Errors of the caller's own making (a symbol Binance does not list) pass as they are.
   */
  function progressOf(error: unknown, progress: { total: number; stored: number; requests: number }): unknown {
    if (!(error instanceof AppError) || error.code !== "UPSTREAM_UNAVAILABLE") return error;
    return new UpstreamUnavailableError(
      `${error.message}; ${progress.stored} of ${progress.total} partitions of the range are stored, ask again to go on`,
      {
        cause: error,
        retryAt: error.retryAt ?? new Date(clock.now().getTime() + 1000),
        details: { partitions: progress.total, partitions_stored: progress.stored, upstream_requests: progress.requests },
      },
    );
  }

  /** The CSV of a served partition: the bytes in hand, or read from the cache and proven against its meta. */
  async function csvOf(part: ServedPartition, signal?: AbortSignal): Promise<Uint8Array> {
    if (part.csv || !part.meta) return part.csv ?? new Uint8Array(0);
    const found = await cache.readCsv(entryOf(part.partition), { meta: part.meta, signal });
    if (!found.hit) {
      const month = part.partition.id.start_date;
      throw new StorageUnavailableError(`The cache entry of ${month} changed while it was being read; ask again`);
    }
    return Buffer.concat(found.csv);
  }

  return {
    get,

    /** The answer as CSV: one header, then each partition's rows in the range, oldest first (views, not copies). */
    async csvChunksOf(result: KlinesResult, request: KlinesRequest = {}): Promise<Uint8Array[]> {
      const bodies = await mapLimit(result.partitions, readConcurrency, async (part) =>
        rowsInRange(await csvOf(part, request.deadline?.signal), part.partition, result.range),
      );
      return [new TextEncoder().encode(KLINES_CSV_HEADER), ...bodies.filter((body) => body.length > 0)];
    },

    /** The cache entry of a partition, for download URLs of its CSV. */
    entryOf,
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
