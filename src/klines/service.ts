import type { Clock } from "../clock.js";
import type { Deadline } from "../deadline.js";
import { AppError, UnauthorizedError, UpstreamUnavailableError, ValidationError, WritesDisabledError } from "../errors.js";
import type { SeriesId } from "../price-kinds.js";
import { mapLimit } from "../util/map-limit.js";
import type { Want } from "./fetcher.js";
import { coverageOf, KLINES_CSV_HEADER, rowsInRange, type Coverage } from "./partition.js";
import { needOf, partitionsOf, rangeIssues, rangeOf } from "./plan.js";
import { emptyTally, entryOfPartition, servedAsStored, type ArchiveTally, type PartitionReads, type ServedPartition } from "./served.js";
import type { PartitionSupply } from "./supply.js";
import type { Partition, Range } from "./types.js";

export { PARTITIONS_FOLDER, type ArchiveTally, type PartitionSource, type ServedPartition } from "./served.js";

export interface KlinesServiceOptions {
  /** Reads the partitions the cache holds (see served.ts). */
  reads: PartitionReads;
  /** How the partitions the cache lacks come to be stored: fetched inline, or asked of the fill function. */
  supply: PartitionSupply;
  clock: Clock;
  /** Partitions of one request read at once. */
  readConcurrency?: number;
  /** A partition that misses candles without proof is asked again at most this often (KLINES_RECHECK_SECONDS). */
  recheckSeconds?: number;
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

/**
 * Candles for any range, read through the cache: calendar-month partitions (days for 1s), each fetched from Binance
 * once and never again when complete by evidence (see pass.ts); the current one grows by its tail. What the cache
 * lacks comes from the supply (fetched here, or by the fill function); a failure keeps what was completed and fails
 * the request, so an answer never has a silent hole.
 */
export function createKlinesService(options: KlinesServiceOptions) {
  const { reads, supply, clock } = options;
  const readConcurrency = options.readConcurrency ?? 8;
  const recheckMs = (options.recheckSeconds ?? 3600) * 1000;

  async function get(id: SeriesId, request: KlinesRequest = {}): Promise<KlinesResult> {
    const { deadline } = request;
    const nowMs = clock.now().getTime();
    const issues = rangeIssues(id, nowMs);
    if (issues.length > 0) throw new ValidationError("Invalid query parameters", issues);
    const range = rangeOf(id);
    const partitions = partitionsOf(id, nowMs);
    const answers: Promise<ServedPartition>[] = [];
    const wanted: (Want & { index: number })[] = [];
    const context = { range, cutoffMs: supply.cutoffOf(id.market_type), nowMs, recheckMs };

    await mapLimit(partitions, readConcurrency, async (partition, index) => {
      const running = supply.running(partition);
      if (running) return void (answers[index] = running);
      const stored = await reads.load(partition, deadline?.signal);
      const need = needOf(partition, stored, context);
      if (need.kind === "fetch") {
        const heldBeforeMs = stored?.state.lastOpenMs ?? null;
        return void wanted.push({ index, partition, fromMs: need.fromMs, heldBeforeMs, stored });
      }
      answers[index] = Promise.resolve(servedAsStored(partition, need.kind, stored, false));
    });

    // Another request may have started fetching while this one read the cache: join it rather than fetch twice.
    const mine = wanted
      .sort((a, b) => a.index - b.index)
      .filter(({ index, partition }) => {
        const running = supply.running(partition);
        if (running) answers[index] = running;
        return !running;
      });
    if (mine.length > 0 && request.spend && request.spend !== "allowed") throw refusal(request.spend, mine);
    const counted = emptyTally();
    if (mine.length > 0) {
      const supplied = await supply.supply(id, mine, { context, counted, deadline });
      for (const [at, { index }] of mine.entries()) answers[index] = supplied[at] as Promise<ServedPartition>;
    }

    const settled = await Promise.allSettled(answers);
    const served = settled.flatMap((outcome) => (outcome.status === "fulfilled" ? [outcome.value] : []));
    const failure = settled.find((outcome) => outcome.status === "rejected");
    if (failure) throw progressOf(failure.reason, { total: partitions.length, stored: served.filter((part) => part.meta).length, requests: counted.requests });
    const coverage = coverageOf(id.interval, range, served, supply.cutoffOf(id.market_type));
    return { range, partitions: served, upstreamRequests: counted.requests, archive: counted.archive, coverage };
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

  return {
    get,

    /** The answer as CSV: one header, then each partition's rows in the range, oldest first (views, not copies). */
    async csvChunksOf(result: KlinesResult, request: KlinesRequest = {}): Promise<Uint8Array[]> {
      const bodies = await mapLimit(result.partitions, readConcurrency, async (part) =>
        rowsInRange(await reads.csvOf(part, request.deadline?.signal), part.partition, result.range),
      );
      return [new TextEncoder().encode(KLINES_CSV_HEADER), ...bodies.filter((body) => body.length > 0)];
    },

    /** The cache entry of a partition, for download URLs of its CSV. */
    entryOf: entryOfPartition,
  };
}
