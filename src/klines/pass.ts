import { UpstreamInvalidError } from "../errors.js";
import type { Interval } from "../market.js";
import type { Kline, KlinesPage } from "../upstream/binance.js";
import { holesOf, stretchesOf, withFound } from "./holes.js";
import { candlesBetween, nextOpen } from "./interval.js";
import { closesAt } from "./plan.js";
import type { FetchGroup, Gap, Partition, PartitionFetch } from "./types.js";

/** What a pass needs of the world: the exchange's pages, the symbol's first candle, a pause, the local clock. */
export interface PassPorts {
  /** One klines request (each is counted, retried and bounded by the caller's client). */
  page(query: { startTime?: number; endTime?: number; limit: number }): Promise<KlinesPage>;
  /** The open time of the symbol's first candle ever; null when it has none. Asked once per symbol and market. */
  firstOpen(): Promise<number | null>;
  /** Waits before asking again, within the request's deadline (or fails). */
  pause(ms: number): Promise<void>;
  /** The local clock's "closed" line: now less the settling margin. */
  localCutoffMs(): number;
  /** Told of the holes inside the archive's candles, before the exchange is asked for them. */
  archiveHoles?(holes: readonly Gap[]): void;
}

export interface PassOptions {
  interval: Interval;
  pageLimit: number;
  /** Passes over a stretch the exchange answered short, within one request, before the stretch is left unproven. */
  maxPasses?: number;
  /** Pause before the second pass; doubled for each one after. */
  retryPauseMs?: number;
}

/**
 * Fetches one group and hands each partition's findings to `emit` as soon as they are final (so memory holds one
 * partition's candles, not the group's). Completeness is judged by evidence only:
 * - a candle is stored once it has closed by the exchange's clock (the Date of its answers) and by the local one;
 * - a partition is complete when a candle after it is known, or its last candle is held, and it has closed;
 * - a page that ends short of what should exist is not the end of the data: the exchange is asked where its next
 *   candle is (`startTime`, `limit=1`): one after the group proves the stretch a gap; one inside it means the page
 *   was cut short, and the stretch is fetched again; none at all, with the symbol's latest candle before the
 *   stretch, means the symbol stopped trading. Without evidence after `maxPasses`, the partition is left
 *   incomplete where the stretch starts (asked again later), and nothing is made up.
 * - a stretch before the first candle is before the symbol's listing (its first candle ever), not a gap.
 * - a gap is never taken from a bulk answer (the archive's candles, a page): a stretch one skips (between two of its
 *   candles, or from the last candle known, or from the group's start when the symbol traded before, to its first)
 *   is asked of the exchange alone, startTime at its start and endTime at its end (stretches close together in one
 *   request, see stretchesOf). Its candles fill the stretch; what it lacks too is a gap, asked no further. Where the
 *   next candle is (`limit=1`) is already such an answer.
 * Progress is guarded: open times strictly increase, a candle's interval apart at least, and stay inside what was
 * asked; a pass makes at most ceil(expected candles / page) + 2 requests for its pages, otherwise
 * UpstreamInvalidError, and no partition of the failed pass is emitted beyond those already final. Holes may cost as
 * many requests again (the archive's too); past that, an answer is cut where the holes not asked begin, and what
 * follows is asked again as after a short page.
 */
export async function fetchGroup(
  group: FetchGroup,
  ports: PassPorts,
  options: PassOptions,
  emit: (index: number, fetched: PartitionFetch) => Promise<void>,
): Promise<void> {
  const { interval, pageLimit } = options;
  const maxPasses = options.maxPasses ?? 3;
  const retryPauseMs = options.retryPauseMs ?? 250;
  const { partitions } = group;
  const toMs = (partitions.at(-1) as Partition).endMs;
  const found = partitions.map(() => ({ klines: [] as Kline[], gaps: [] as Gap[] }));
  let index = 0;
  let lastOpenMs = group.heldBeforeMs;
  let exchangeMs = -Infinity;
  let listing: { openMs: number | null } | null = null;

  const cutoffMs = () => Math.min(ports.localCutoffMs(), exchangeMs === -Infinity ? Infinity : exchangeMs);
  const firstOpen = async () => (listing ??= { openMs: await ports.firstOpen() }).openMs;
  /** Requests holes may cost over a stretch of `candles`: as many as paging it would. False once spent. */
  const allowanceOf = (candles: number) => {
    let left = Math.ceil(candles / pageLimit) + 2;
    return () => left-- > 0;
  };

  /** Records [fromMs, to) as a gap in every partition it crosses. */
  function addGap(fromMs: number, to: number): void {
    partitions.forEach((partition, i) => {
      const gap = { fromMs: Math.max(fromMs, partition.startMs), toMs: Math.min(to, partition.endMs) };
      if (gap.fromMs < gap.toMs) found[i]?.gaps.push(gap);
    });
  }

  async function emitComplete(): Promise<void> {
    const { klines, gaps } = found[index] as (typeof found)[number];
    await emit(index, { klines, gaps, complete: true, resumeFromMs: null, checkedUntilMs: cutoffMs() });
    found[index] = { klines: [], gaps: [] };
    index++;
  }

  /** A stretch with no candle before the first one seen: before the listing, or a gap. */
  async function explainLeading(firstMs: number): Promise<void> {
    const listedMs = await firstOpen();
    if (listedMs !== null && listedMs >= firstMs) return;
    if (listedMs !== null && listedMs >= group.fromMs) {
      throw new UpstreamInvalidError(
        `The exchange's first candle opens at ${new Date(listedMs).toISOString()}, but a page from ` +
          `${new Date(group.fromMs).toISOString()} began at ${new Date(firstMs).toISOString()}`,
      );
    }
    addGap(group.fromMs, firstMs);
  }

  /**
   * The exchange has a candle opening at `openMs`: records the stretch before it that has none (a gap, or the time
   * before the listing), and emits the partitions it has passed.
   */
  async function reach(openMs: number): Promise<void> {
    const expectedMs = lastOpenMs === null ? group.fromMs : nextOpen(interval, lastOpenMs);
    if (openMs < expectedMs) throw invalid("answered candles that overlap the ones before them");
    if (openMs > expectedMs) {
      if (lastOpenMs === null) await explainLeading(Math.min(openMs, toMs));
      else addGap(expectedMs, Math.min(openMs, toMs));
    }
    while (index < partitions.length && openMs >= (partitions[index] as Partition).endMs) await emitComplete();
  }

  /** Takes one closed candle. */
  async function accept(kline: Kline): Promise<void> {
    if (takeNext(kline)) return;
    await reach(kline[0]);
    found[index]?.klines.push(kline);
    lastOpenMs = kline[0];
  }

  /**
   * Takes the candle at once, with no await, when it is the one after the last inside the same partition, as most
   * are: a month of 1m candles is 44,640 of them. False when `accept` must.
   */
  function takeNext(kline: Kline): boolean {
    const partition = partitions[index];
    if (lastOpenMs === null || !partition || kline[0] !== nextOpen(interval, lastOpenMs) || kline[0] >= partition.endMs) return false;
    found[index]?.klines.push(kline);
    lastOpenMs = kline[0];
    return true;
  }

  /** Emits what is left: complete where the evidence reaches past a closed partition, else resuming at `resumeAtMs`. */
  async function finish(coveredUntilMs: number, resumeAtMs: number): Promise<void> {
    while (index < partitions.length) {
      const partition = partitions[index] as Partition;
      if (coveredUntilMs >= partition.endMs && closesAt(partition) <= cutoffMs()) {
        await emitComplete();
        continue;
      }
      const { klines, gaps } = found[index] as (typeof found)[number];
      const resumeFromMs = Math.max(partition.startMs, Math.min(resumeAtMs, partition.endMs));
      await emit(index, { klines, gaps, complete: false, resumeFromMs, checkedUntilMs: cutoffMs() });
      index++;
    }
  }

  /** One request, checked: at most `limit` klines, open times strictly increasing inside [startTime, endTime]. */
  async function page(query: { startTime?: number; endTime?: number; limit: number }): Promise<Kline[]> {
    const answer = await ports.page(query);
    if (answer.exchangeTimeMs !== null) exchangeMs = Math.max(exchangeMs, answer.exchangeTimeMs);
    const { klines } = answer;
    if (klines.length > query.limit) throw invalid(`answered ${klines.length} klines to a request for at most ${query.limit}`);
    let previous = -Infinity;
    for (const [openMs, , , , , , closeMs] of klines) {
      if (openMs <= previous) throw invalid("answered klines whose open times do not increase");
      if (query.startTime !== undefined && openMs < query.startTime) throw invalid("answered klines before the startTime asked");
      if (query.endTime !== undefined && openMs > query.endTime) throw invalid("answered klines after the endTime asked");
      if (closeMs <= openMs) throw invalid("answered a kline that closes before it opens");
      previous = openMs;
    }
    return klines;
  }

  /**
   * The candles had end short at `nextMs`, before candles that should have closed: where is the exchange's next one?
   * True, with the partitions emitted, when the evidence proves the rest of the group has none.
   */
  async function provesTheEnd(nextMs: number, request: typeof page): Promise<boolean> {
    const [next] = await request({ startTime: nextMs, limit: 1 });
    if (next && next[0] >= toMs) {
      if (lastOpenMs === null) await explainLeading(next[0]);
      else addGap(nextMs, toMs);
      await finish(toMs, nextMs);
      return true;
    }
    if (!next) {
      // Not part of the pass's paging, so not counted against it: at most one per pass.
      const [latest] = await page({ limit: 1 });
      if (latest && latest[0] < nextMs) {
        await finish(toMs, nextMs);
        return true;
      }
    }
    return false;
  }

  /**
   * A bulk answer with its holes asked of the exchange, a stretch at a time: the candles it answers inside them put
   * in their places. When `allowed` runs out, the answer is cut where the holes not asked begin (`cutAtMs`).
   */
  async function withHolesAsked(
    klines: readonly Kline[],
    holes: readonly Gap[],
    allowed: () => boolean,
  ): Promise<{ klines: readonly Kline[]; cutAtMs: number | null }> {
    const found: Kline[] = [];
    for (const stretch of stretchesOf(interval, holes, pageLimit)) {
      const cutAtMs = await askStretch(stretch, found, allowed);
      if (cutAtMs !== null) return { klines: withFound(klines, holes, found).filter(([openMs]) => openMs < cutAtMs), cutAtMs };
    }
    return { klines: holes.length === 0 ? klines : withFound(klines, holes, found), cutAtMs: null };
  }

  /** Pages [fromMs, toMs) of the exchange into `found`; where it stopped when `allowed` ran out, else null. */
  async function askStretch(stretch: Gap, found: Kline[], allowed: () => boolean): Promise<number | null> {
    for (let cursor = stretch.fromMs; cursor < stretch.toMs; ) {
      if (!allowed()) return cursor;
      const klines = await page({ startTime: cursor, endTime: stretch.toMs - 1, limit: pageLimit });
      found.push(...klines);
      const last = klines.at(-1);
      if (klines.length < pageLimit || !last) return null;
      cursor = last[0] + 1;
    }
    return null;
  }

  /**
   * Where a bulk answer beginning with `first` should begin: after the last candle known; with none, at the group's
   * start, or at the symbol's first candle if that came later. Null when nothing is known before it and it begins
   * at the group's start or with the symbol's first candle (the time before that is before its listing).
   */
  async function expectedFirstOf(first: Kline | undefined): Promise<number | null> {
    if (lastOpenMs !== null) return nextOpen(interval, lastOpenMs);
    if (!first || first[0] <= group.fromMs) return null;
    const listedMs = await firstOpen();
    if (listedMs !== null && listedMs >= first[0]) return null;
    return Math.max(group.fromMs, listedMs ?? group.fromMs);
  }

  let fromMs = group.fromMs;
  if (group.archived) {
    const archivedCutoffMs = cutoffMs();
    const forming = group.archived.findIndex((kline) => kline[6] >= archivedCutoffMs);
    const closed = forming === -1 ? group.archived : group.archived.slice(0, forming);
    const holes = holesOf(interval, closed, await expectedFirstOf(closed[0]));
    if (holes.length > 0) ports.archiveHoles?.(holes);
    const asked = await withHolesAsked(closed, holes, allowanceOf(candlesBetween(interval, group.fromMs, toMs)));
    for (const kline of asked.klines) if (!takeNext(kline)) await accept(kline);
    const nextMs = lastOpenMs === null ? group.fromMs : nextOpen(interval, lastOpenMs);
    if (nextMs >= toMs) return finish(toMs, nextMs);
    // The file ends early (a symbol delisted, or a file short of candles): REST is asked only for what follows.
    if (await provesTheEnd(nextMs, page)) return;
    fromMs = nextMs;
  }
  for (let pass = 1; ; pass++) {
    const expected = candlesBetween(interval, fromMs, Math.min(toMs, nextOpen(interval, ports.localCutoffMs())));
    const maxRequests = Math.ceil(expected / pageLimit) + 2;
    let requests = 0;
    const holesAllowed = allowanceOf(expected);
    const request = (query: { startTime?: number; endTime?: number; limit: number }) => {
      if (++requests > maxRequests) {
        throw invalid(`needed more than ${maxRequests} requests for ${expected} candles: its pages do not move on`);
      }
      return page(query);
    };

    // Page through the stretch; stop at the first candle not closed yet.
    let forming: number | null = null;
    for (let cursor = fromMs; forming === null && cursor < toMs; ) {
      const klines = await request({ startTime: cursor, endTime: toMs - 1, limit: pageLimit });
      const asked = await withHolesAsked(klines, holesOf(interval, klines, await expectedFirstOf(klines[0])), holesAllowed);
      const pageCutoffMs = cutoffMs();
      for (const kline of asked.klines) {
        if (kline[6] >= pageCutoffMs) {
          forming = kline[0];
          break;
        }
        if (!takeNext(kline)) await accept(kline);
      }
      const last = klines.at(-1);
      if (asked.cutAtMs !== null || klines.length < pageLimit || !last) break;
      cursor = last[0] + 1;
    }

    if (forming !== null) {
      await reach(forming);
      return finish(forming, forming);
    }
    const nextMs = lastOpenMs === null ? group.fromMs : nextOpen(interval, lastOpenMs);
    if (nextMs >= toMs || nextOpen(interval, nextMs) > cutoffMs()) return finish(Math.min(nextMs, toMs), nextMs);

    if (await provesTheEnd(nextMs, request)) return;
    if (pass >= maxPasses) return finish(nextMs, nextMs);
    await ports.pause(retryPauseMs * 2 ** (pass - 1));
    fromMs = nextMs;
  }

  function invalid(what: string): UpstreamInvalidError {
    const { id } = partitions[0] as Partition;
    return new UpstreamInvalidError(`Binance ${id.market_type} ${what} (${id.symbol} ${id.interval})`, {
      symbol: id.symbol,
      interval: id.interval,
      market_type: id.market_type,
    });
  }
}
