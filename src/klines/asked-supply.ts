import type { Clock } from "../clock.js";
import { UpstreamUnavailableError, type AppError } from "../errors.js";
import type { Log } from "../log.js";
import type { SeriesId } from "../price-kinds.js";
import { mapLimit } from "../util/map-limit.js";
import type { Cutoff } from "./cutoff.js";
import type { Want } from "./fetcher.js";
import { errorOfFill, type FillAnswer, type FillRequest } from "./fill.js";
import type { PartitionLeases } from "./leases.js";
import { needOf } from "./plan.js";
import { servedAsStored, type PartitionReads, type ServedPartition } from "./served.js";
import type { PartitionSupply, SupplyRequest } from "./supply.js";

/** Asks the fill to fill a range and waits for its answer, or until `signal` fires (the request's deadline). */
export type AskFill = (request: FillRequest, signal: AbortSignal | undefined) => Promise<FillAnswer>;

export interface AskedSupplyOptions {
  reads: PartitionReads;
  leases: PartitionLeases;
  cutoff: Cutoff;
  clock: Clock;
  ask: AskFill;
  log: Pick<Log, "error">;
  /** How often a request whose partitions a fill is already fetching looks for them; 500 ms by default. */
  pollMs?: number;
  /** How long such a request looks when it has no deadline of its own; 20 s by default. */
  waitMs?: number;
  /** When a request that ran out of time while its range fills should ask again; 1 s after, by default. */
  retryAfterMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * The supply of a read-only answerer (the klines function on Lambda, whose role cannot write): the partitions a range
 * lacks are asked of the fill, the one writer, and read from the store once it answers. Partitions whose leases are
 * held (a fill is fetching them) are not asked twice: they are looked for until they are stored. A range still
 * filling when the request's time is up answers 503 with when to ask again; the fill goes on meanwhile.
 */
export function createAskedSupply(options: AskedSupplyOptions): PartitionSupply {
  const { reads, leases, cutoff, clock, ask, log } = options;
  const pollMs = options.pollMs ?? 500;
  const waitMs = options.waitMs ?? 20_000;
  const retryAfterMs = options.retryAfterMs ?? 1000;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((done) => setTimeout(done, ms)));
  const nowMs = () => clock.now().getTime();
  const stillFilling = () =>
    new UpstreamUnavailableError("This range is being fetched from Binance", { retryAt: new Date(nowMs() + retryAfterMs) });

  /** Whether any wanted partition is fetched by nobody now (its lease is free, or leases cannot be had). */
  async function anyUnheld(wants: Want[]): Promise<boolean> {
    const taken = await mapLimit(wants, 8, async ({ partition }) => {
      const lease = await leases.take(partition);
      if (lease === "theirs") return false;
      await leases.release(partition, lease.token);
      return true;
    });
    return taken.includes(true);
  }

  /** Asks the fill; what went wrong, if anything. */
  async function asked(id: SeriesId, request: SupplyRequest): Promise<AppError | undefined> {
    try {
      const answer = await ask(id, request.deadline?.signal);
      if (!answer.ok) return errorOfFill(answer.error);
      request.counted.requests += answer.upstream_requests;
      for (const key of ["files", "missing", "failed", "incomplete"] as const) request.counted.archive[key] += answer.archive[key];
      return undefined;
    } catch (error) {
      if (request.deadline?.signal.aborted) return stillFilling();
      log.error("klines_fill_not_asked", { dataset: id, error });
      return new UpstreamUnavailableError("The fill of this range could not be asked now", { retryAt: new Date(nowMs() + retryAfterMs) });
    }
  }

  /** Looks for the partitions a fill is fetching until all are stored or the time is up. */
  async function waited(id: SeriesId, wants: Want[], request: SupplyRequest): Promise<AppError | undefined> {
    const untilMs = request.deadline?.atMs ?? nowMs() + waitMs;
    // Bounded by count as well as by the clock: a clock that stands still (a test's) cannot make it spin.
    for (let looks = Math.floor((untilMs - nowMs()) / pollMs); ; looks--) {
      const now = await mapLimit(wants, 8, (want) => storedNow(id, want, request));
      if (now.every(Boolean)) return undefined;
      if (looks <= 0 || request.deadline?.signal.aborted || nowMs() + pollMs > untilMs) return stillFilling();
      await sleep(pollMs);
    }
  }

  /** The partition as served, when the store now holds what the request needs of it; null otherwise. */
  async function storedNow(id: SeriesId, want: Want, request: SupplyRequest): Promise<ServedPartition | null> {
    const signal = request.deadline?.signal;
    if (signal?.aborted) return null;
    const stored = await reads.load(want.partition, signal);
    const need = needOf(want.partition, stored, { ...request.context, nowMs: nowMs(), cutoffMs: cutoff.of(id.market_type) });
    if (need.kind === "fetch") return null;
    const source = need.kind === "cached" ? (want.stored ? "extended" : "fetched") : need.kind;
    return servedAsStored(want.partition, source, stored, false);
  }

  return {
    cutoffOf: (market) => cutoff.of(market),

    // Fetches run in the fill, never here.
    running: () => undefined,

    async supply(id, wants, request) {
      const failure = (await anyUnheld(wants)) ? await asked(id, request) : await waited(id, wants, request);
      const served = await mapLimit(wants, 8, (want) => storedNow(id, want, request));
      return served.map((part) => (part ? Promise.resolve(part) : rejected(failure ?? stillFilling())));
    },
  };
}

/** A rejected promise that is not an unhandled rejection while nobody waits for it yet. */
function rejected(error: Error): Promise<never> {
  const promise = Promise.reject(error);
  promise.catch(() => undefined);
  return promise;
}
