import { describe, expect, it } from "vitest";
import { UpstreamInvalidError } from "../../src/errors.js";
import { monthsOf } from "../../src/funding/month.js";
import { fetchFundingMonths, type FundingFetch, type FundingPassPorts } from "../../src/funding/pass.js";
import type { FundingRecord } from "../../src/upstream/binance.js";

/** The pass alone, against answers written out here: what it proves, and what it refuses to believe. */
const HOUR = 3_600_000;
const ms = (iso: string) => Date.parse(iso);
const NOW = ms("2024-06-15T12:30:00Z");
const MONTHS = monthsOf("BTCUSDT", { startMs: ms("2024-01-01T00:00:00Z"), endMs: ms("2024-03-01T00:00:00Z") }, NOW);
const record = (time: number, symbol = "BTCUSDT"): FundingRecord => ({ symbol, fundingTime: time, fundingRate: "0.00010000", markPrice: "42000.00000000" });
/** Records every `hours` from `fromMs` to (not including) `toMs`. */
const every = (hours: number, fromMs: number, toMs: number) => {
  const out: FundingRecord[] = [];
  for (let time = fromMs; time < toMs; time += hours * HOUR) out.push(record(time));
  return out;
};

/** Ports answering from `history` as Binance would (startTime, limit; the latest `limit` without startTime), each answer passed through `twist`. */
function portsOf(history: FundingRecord[], twist: (query: { startTime?: number; limit: number }, answer: FundingRecord[]) => FundingRecord[] = (_, a) => a) {
  const asked: { startTime?: number; limit: number }[] = [];
  const ports: FundingPassPorts = {
    page: async (query) => {
      asked.push(query);
      const published = history.filter((one) => one.fundingTime <= NOW);
      const answer =
        query.startTime === undefined ? published.slice(-query.limit) : published.filter((one) => one.fundingTime >= (query.startTime as number)).slice(0, query.limit);
      return { records: twist(query, answer), exchangeTimeMs: NOW };
    },
    pause: async () => undefined,
    localCutoffMs: () => NOW,
  };
  return { ports, asked };
}

async function run(ports: FundingPassPorts, pageLimit = 1000) {
  const fetched: FundingFetch[] = [];
  await fetchFundingMonths(MONTHS, MONTHS[0]!.startMs, ports, { symbol: "BTCUSDT", pageLimit }, async (index, found) => {
    fetched[index] = found;
  });
  return fetched;
}

describe("fetchFundingMonths", () => {
  it("completes the months a record after them proves, paging small pages by the last time seen", async () => {
    const history = every(8, ms("2024-01-01T00:00:00Z"), NOW);
    const { ports, asked } = portsOf(history);
    const fetched = await run(ports, 50);
    expect(fetched.map((month) => [month.complete, month.records.length])).toEqual([
      [true, 93],
      [true, 87],
    ]);
    expect(asked.every((query) => query.startTime !== undefined)).toBe(true);
    expect(asked).toHaveLength(4);
  });

  it("leaves months unproven when the history answers nothing at all, and stores none of it as complete", async () => {
    const { ports } = portsOf([], () => []);
    const fetched = await run(ports);
    expect(fetched.map((month) => [month.complete, month.resumeFromMs])).toEqual([
      [false, MONTHS[0]!.startMs],
      [false, MONTHS[1]!.startMs],
    ]);
  });

  it.each([
    ["records of another symbol", (_: unknown, answer: FundingRecord[]) => answer.map((one) => ({ ...one, symbol: "ETHUSDT" })), "a record of ETHUSDT"],
    ["records out of order", (_: unknown, answer: FundingRecord[]) => [...answer].reverse(), "do not increase"],
    ["more than the limit asked", (_: unknown, answer: FundingRecord[]) => [...answer, ...answer], "records to a request for at most"],
    ["records before the startTime asked", (query: { startTime?: number }, answer: FundingRecord[]) => (query.startTime ? [record(query.startTime - HOUR), ...answer.slice(1)] : answer), "before the startTime"],
  ])("refuses %s (UpstreamInvalidError), emitting nothing it cannot prove", async (_name, twist, message) => {
    const history = every(8, ms("2024-01-01T00:00:00Z"), NOW);
    const { ports } = portsOf(history, twist);
    const emitted: FundingFetch[] = [];
    const failed = fetchFundingMonths(MONTHS, MONTHS[0]!.startMs, ports, { symbol: "BTCUSDT", pageLimit: 100 }, async (_index, found) => void emitted.push(found));
    await expect(failed).rejects.toThrow(UpstreamInvalidError);
    await expect(failed).rejects.toThrow(message);
    expect(emitted.filter((month) => month.complete && month.records.some((one) => one.symbol !== "BTCUSDT"))).toEqual([]);
  });

  it("gives up on a cursor that does not move (the same page again and again), bounded", async () => {
    const history = every(1, ms("2024-01-01T00:00:00Z"), NOW);
    const first = history.slice(0, 10);
    const { ports, asked } = portsOf(history, (query) => (query.startTime === undefined ? [history.at(-1)!] : first.map((one, at) => record(one.fundingTime + at))));
    await expect(run(ports, 10)).rejects.toThrow(UpstreamInvalidError);
    expect(asked.length).toBeLessThan(10);
  });
});
