import { UpstreamInvalidError } from "../errors.js";
import type { FundingPage, FundingRecord } from "../upstream/binance.js";
import { FUNDING_SETTLE_MS, MIN_FUNDING_INTERVAL_MS, type FundingMonth } from "./month.js";

/** What a pass needs of the world: the exchange's pages, a pause, the local clock's "published" line. */
export interface FundingPassPorts {
  /** One fundingRate request for the symbol (counted, retried and bounded by the caller's client). */
  page(query: { startTime?: number; limit: number }): Promise<FundingPage>;
  /** Waits before asking again, within the request's deadline (or fails). */
  pause(ms: number): Promise<void>;
  /** The local clock's line: now less the settling margin. */
  localCutoffMs(): number;
}

export interface FundingPassOptions {
  symbol: string;
  pageLimit: number;
  /** Passes over a history the exchange answered short, within one request, before the months are left unproven. */
  maxPasses?: number;
  retryPauseMs?: number;
  /** How long after its time a record is surely answered by the exchange; FUNDING_SETTLE_MS by default. */
  settleMs?: number;
}

/** What one pass found for one month: the records after the stored ones, and the proof. */
export interface FundingFetch {
  records: FundingRecord[];
  complete: boolean;
  resumeFromMs: number | null;
  checkedUntilMs: number;
}

/**
 * Fetches consecutive months from `fromMs` (the first month's start, or the ms after its last stored record) and
 * hands each month's findings to `emit` as soon as they are final. Funding has no fixed cadence (8 h, 4 h or 1 h, and
 * a symbol's can change), so completeness is never judged by counting records, only by evidence:
 * - a month is complete when a record after it is known (a later record is only published after the month's);
 * - or when the symbol's history proves no more can come: its latest record (asked with no startTime) is one already
 *   held, and the month ended before the exchange's time, less a settling margin (records of the past are not added
 *   later);
 * - a short page is not the end of the history: the latest record is asked; one after what the page held means the
 *   page was cut short, and it is asked again (at most `maxPasses`); none at all proves nothing, and the months are
 *   left incomplete, to be asked again later. Nothing is made up.
 * Progress is guarded: records are the symbol's, strictly increasing, at or after what was asked, at most a page;
 * the pages a pass may send are bounded by the most records the span can hold (one an hour), else
 * UpstreamInvalidError.
 */
export async function fetchFundingMonths(
  months: readonly FundingMonth[],
  fromMs: number,
  ports: FundingPassPorts,
  options: FundingPassOptions,
  emit: (index: number, fetched: FundingFetch) => Promise<void>,
): Promise<void> {
  const { symbol, pageLimit } = options;
  const maxPasses = options.maxPasses ?? 3;
  const retryPauseMs = options.retryPauseMs ?? 250;
  const toMs = (months.at(-1) as FundingMonth).endMs;
  const found = months.map(() => [] as FundingRecord[]);
  let index = 0;
  // Assigned in the closures below: typed so that the loop does not take it for always null.
  let lastMs = null as number | null;
  let exchangeMs = -Infinity;
  const settleMs = options.settleMs ?? FUNDING_SETTLE_MS;
  /** Records at times before it are published, by both clocks: the exchange's less the settling margin, and ours. */
  const cutoffMs = () => Math.min(ports.localCutoffMs(), exchangeMs === -Infinity ? Infinity : exchangeMs) - settleMs;
  const invalid = (why: string) => new UpstreamInvalidError(`Binance futures /fapi/v1/fundingRate for ${symbol} ${why}`);
  const maxRequests = Math.ceil((toMs - fromMs) / MIN_FUNDING_INTERVAL_MS / pageLimit) + 2;
  let requests = 0;

  async function page(query: { startTime?: number; limit: number }): Promise<FundingRecord[]> {
    if (++requests > maxRequests * maxPasses + maxPasses) throw invalid(`needed more than ${maxRequests} requests a pass: its pages do not move on`);
    const answer = await ports.page(query);
    if (answer.exchangeTimeMs !== null) exchangeMs = Math.max(exchangeMs, answer.exchangeTimeMs);
    const { records } = answer;
    if (records.length > query.limit) throw invalid(`answered ${records.length} records to a request for at most ${query.limit}`);
    let previous = -Infinity;
    for (const record of records) {
      if (record.symbol !== symbol) throw invalid(`answered a record of ${record.symbol}`);
      if (record.fundingTime <= previous) throw invalid("answered records whose times do not increase");
      if (query.startTime !== undefined && record.fundingTime < query.startTime) throw invalid("answered records before the startTime asked");
      previous = record.fundingTime;
    }
    return records;
  }

  async function emitThrough(endIndex: number, complete: boolean, resumeAtMs: number): Promise<void> {
    for (; index < endIndex; index++) {
      const month = months[index] as FundingMonth;
      const resumeFromMs = complete ? null : Math.max(month.startMs, Math.min(resumeAtMs, month.endMs));
      await emit(index, { records: found[index] as FundingRecord[], complete, resumeFromMs, checkedUntilMs: cutoffMs() });
      found[index] = [];
    }
  }

  /** Takes one published record; a record after a month proves it (and the months before it) complete. */
  async function accept(record: FundingRecord): Promise<boolean> {
    if (lastMs !== null && record.fundingTime <= lastMs) throw invalid("answered a record it had already answered");
    while (index < months.length && record.fundingTime >= (months[index] as FundingMonth).endMs) await emitThrough(index + 1, true, 0);
    if (index >= months.length) return false;
    (found[index] as FundingRecord[]).push(record);
    lastMs = record.fundingTime;
    return true;
  }

  /** Every record before `untilMs` is known: the months over by then are complete, the rest resume after the last. */
  async function completeUntil(untilMs: number): Promise<void> {
    const over = months.findIndex((month) => month.endMs > untilMs);
    await emitThrough(over === -1 ? months.length : over, true, 0);
    await emitThrough(months.length, false, lastMs === null ? cursor : lastMs + 1);
  }

  let cursor = fromMs;
  for (let pass = 1; index < months.length; ) {
    const records = await page({ startTime: cursor, limit: pageLimit });
    const published = cutoffMs();
    let reached = false;
    for (const record of records) {
      // A record not yet surely published, or one after the months: every record before it has been answered.
      if (record.fundingTime >= published) {
        reached = true;
        break;
      }
      if (!(await accept(record))) return;
    }
    if (index >= months.length) return;
    if (reached) return completeUntil(published);
    const last = records.at(-1);
    if (records.length === pageLimit && last) {
      cursor = last.fundingTime + 1;
      continue;
    }
    // A short page: the end of the symbol's history so far, or a page cut short?
    const [latest] = await page({ limit: 1 });
    if (latest && latest.fundingTime <= Math.max(lastMs ?? -Infinity, cursor - 1)) return completeUntil(cutoffMs());
    if (!latest || pass >= maxPasses) return emitThrough(months.length, false, lastMs === null ? cursor : lastMs + 1);
    await ports.pause(retryPauseMs * 2 ** (pass - 1));
    pass++;
    cursor = lastMs === null ? cursor : lastMs + 1;
  }
}
