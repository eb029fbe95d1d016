import { setTimeout as delay } from "node:timers/promises";
import type { DataCache } from "../cache/data-cache.js";
import { entryName } from "../cache/entries/objects.js";
import type { Clock } from "../clock.js";
import type { Leases } from "../counters/types.js";
import type { Deadline } from "../deadline.js";
import { EntryBusyError, UpstreamUnavailableError } from "../errors.js";
import type { Cutoff } from "../klines/cutoff.js";
import { createEntryLeases } from "../klines/leases.js";
import type { Log } from "../log.js";
import { FUNDING_PAGE_LIMIT, type BinanceClient } from "../upstream/binance.js";
import { entryOfMonth, FUNDING_CSV_HEADER, fundingLine, fundingMetaOf, fundingNeedOf, type FundingMonth, type FundingNeedContext } from "./month.js";
import { fetchFundingMonths, type FundingFetch } from "./pass.js";
import { servedAsStored, type FundingReads, type ServedMonth, type StoredMonth } from "./store.js";

/** A month to fetch from `fromMs`, with what the cache holds of it. */
export interface FundingWant {
  month: FundingMonth;
  fromMs: number;
  stored: StoredMonth | null;
}

export interface FundingFetchRequest {
  context: FundingNeedContext;
  deadline: Deadline | undefined;
  /** Told of every HTTP request sent to Binance. */
  onAttempt(): void;
}

export interface FundingFetcherOptions {
  cache: Pick<DataCache, "write">;
  reads: FundingReads;
  binance: Pick<BinanceClient, "fundingRate">;
  leases: Leases;
  cutoff: Cutoff;
  clock: Clock;
  log: Pick<Log, "warn">;
  sleep?: (ms: number) => Promise<void>;
  /** A month's lease lives this long unless renewed (15 s); a fetch renews it while it runs. */
  leaseTtlMs?: number;
  /** How often a request whose month another request is fetching looks for it. */
  pollMs?: number;
}

export type FundingFetcher = ReturnType<typeof createFundingFetcher>;

/**
 * Fetching and storing funding months inline: one fetch of a month at a time across containers (its lease in
 * Upstash), the months of a request that follow each other in one pass (pass.ts), each stored the moment its
 * findings are final, while its lease is held. A month another request is fetching is waited for, within the
 * deadline, and fetched here if its lease comes free first.
 */
export function createFundingFetcher(options: FundingFetcherOptions) {
  const { cache, reads, binance, cutoff, clock, log } = options;
  const sleep = options.sleep ?? ((ms: number) => delay(ms));
  const pollMs = options.pollMs ?? 250;
  const leases = createEntryLeases<FundingMonth>({
    leases: options.leases,
    log,
    ttlMs: options.leaseTtlMs,
    nameOf: (month) => entryName(entryOfMonth(month)),
    describe: entryOfMonth,
    events: "funding",
  });

  async function pauseWithin(ms: number, deadline: Deadline | undefined): Promise<void> {
    const nowMs = clock.now().getTime();
    if (deadline && (deadline.signal.aborted || nowMs + ms > deadline.atMs)) {
      throw new UpstreamUnavailableError("The request's time ran out while funding rates were fetched", { retryAt: new Date(nowMs + 1000) });
    }
    await sleep(ms);
  }

  /** Writes what a fetch found on top of what was stored, only while the month's lease is still this request's. */
  async function store(want: FundingWant, fetched: FundingFetch, token: string | null, deadline: Deadline | undefined): Promise<ServedMonth> {
    const base = want.stored?.csv ? Buffer.from(want.stored.csv) : Buffer.from(FUNDING_CSV_HEADER);
    const csv = Buffer.concat([base, Buffer.from(fetched.records.map(fundingLine).join(""))]);
    const lastTimeMs = fetched.records.at(-1)?.fundingTime ?? want.stored?.state.lastTimeMs ?? null;
    const state = { complete: fetched.complete, resumeFromMs: fetched.resumeFromMs, lastTimeMs, checkedUntilMs: fetched.checkedUntilMs };
    const meta = await cache
      .write(entryOfMonth(want.month), csv, {
        extraMeta: fundingMetaOf(state),
        retention: "until_replaced",
        signal: deadline?.signal,
        stillMine: () => leases.stillHeld(want.month, token),
      })
      .catch((error: unknown) => {
        if (!(error instanceof EntryBusyError)) throw error;
        log.warn("funding_write_given_up", { month: entryOfMonth(want.month), reason: error.message });
        throw new UpstreamUnavailableError("Another request took over storing these funding rates; ask again", {
          cause: error,
          retryAt: new Date(clock.now().getTime() + 1000),
        });
      });
    return { month: want.month, source: want.stored ? "extended" : "fetched", meta, state, csv };
  }

  /** One pass over consecutive months whose leases are held; each stored as soon as it is final. */
  async function fetchRun(run: FundingWant[], held: Map<FundingMonth, string | null>, request: FundingFetchRequest): Promise<ServedMonth[]> {
    const first = run[0] as FundingWant;
    const symbol = first.month.symbol;
    const served: ServedMonth[] = [];
    const ports = {
      page: async (query: { startTime?: number; limit: number }) => {
        const page = await binance.fundingRate({ symbol, ...query }, { deadline: request.deadline, onAttempt: () => request.onAttempt() });
        if (page.exchangeTimeMs !== null) cutoff.observe("futures", page.exchangeTimeMs);
        return page;
      },
      pause: (ms: number) => pauseWithin(ms, request.deadline),
      localCutoffMs: () => cutoff.local(),
    };
    await fetchFundingMonths(
      run.map((want) => want.month),
      first.fromMs,
      ports,
      { symbol, pageLimit: FUNDING_PAGE_LIMIT },
      async (index, fetched) => {
        const want = run[index] as FundingWant;
        const token = held.get(want.month) ?? null;
        served.push(await store(want, fetched, token, request.deadline));
        await leases.release(want.month, token);
        held.delete(want.month);
      },
    );
    return served;
  }

  /** A month another request holds: looked for until it is stored as needed, or fetched here once its lease is free. */
  async function waitFor(want: FundingWant, request: FundingFetchRequest): Promise<ServedMonth> {
    const untilMs = request.deadline?.atMs ?? clock.now().getTime() + 20_000;
    // Bounded by count as well as by the clock: a clock that stands still (a test's) cannot make it spin.
    for (let looks = Math.max(1, Math.ceil((untilMs - clock.now().getTime()) / pollMs)); looks > 0; looks--) {
      await pauseWithin(pollMs, request.deadline);
      const stored = await reads.load(want.month, request.deadline?.signal);
      const need = fundingNeedOf(want.month, stored, { ...request.context, nowMs: clock.now().getTime(), cutoffMs: cutoff.of("futures") });
      if (need.kind !== "fetch") return servedAsStored(want.month, need.kind === "unclosed" ? "unclosed" : "cached", stored);
      const lease = await leases.take(want.month);
      if (lease === "theirs") continue;
      const mine = { month: want.month, fromMs: need.fromMs, stored };
      const [served] = await fetchHeld([mine], new Map([[mine.month, lease.token]]), request);
      if (served) return served;
    }
    throw new UpstreamUnavailableError("Another request is fetching these funding rates", { retryAt: new Date(clock.now().getTime() + 1000) });
  }

  /** Fetches the held months, consecutive ones in one pass; every lease still held is released at the end. */
  async function fetchHeld(wants: FundingWant[], held: Map<FundingMonth, string | null>, request: FundingFetchRequest): Promise<ServedMonth[]> {
    const renewal = leases.renewWhileHeld(held);
    try {
      const served: ServedMonth[] = [];
      for (const run of runsOf(wants)) served.push(...(await fetchRun(run, held, request)));
      return served;
    } catch (error) {
      log.warn("funding_fetch_failed", { symbol: wants[0]?.month.symbol, error });
      throw error;
    } finally {
      clearInterval(renewal);
      await Promise.all([...held].map(([month, token]) => leases.release(month, token)));
    }
  }

  return {
    /** The wanted months fetched and stored (or waited for), as served, in the order asked. */
    async fetch(wants: FundingWant[], request: FundingFetchRequest): Promise<ServedMonth[]> {
      const held = new Map<FundingMonth, string | null>();
      const waited: FundingWant[] = [];
      for (const want of wants) {
        const lease = await leases.take(want.month);
        if (lease === "theirs") waited.push(want);
        else held.set(want.month, lease.token);
      }
      const fetched = await fetchHeld(
        wants.filter((want) => held.has(want.month)),
        held,
        request,
      );
      const others = await Promise.all(waited.map((want) => waitFor(want, request)));
      const all = [...fetched, ...others];
      return wants.map((want) => all.find((served) => served.month.startMs === want.month.startMs) as ServedMonth);
    },
  };
}

/** Wanted months in runs that follow each other (each month's end the next one's start), each fetched by one pass. */
function runsOf(wants: FundingWant[]): FundingWant[][] {
  const runs: FundingWant[][] = [];
  for (const want of [...wants].sort((a, b) => a.month.startMs - b.month.startMs)) {
    const run = runs.at(-1);
    const last = run?.at(-1);
    if (run && last && last.month.endMs === want.month.startMs && want.fromMs === want.month.startMs) run.push(want);
    else runs.push([want]);
  }
  return runs;
}
