import { describe, expect, it } from "vitest";
import type { DatasetId } from "../../src/market.js";
import { closesAt, MAX_RANGE_CANDLES, needOf, partitionsOf, planFetches, rangeIssues, rangeOf } from "../../src/klines/plan.js";
import type { Partition, PartitionState } from "../../src/klines/types.js";

const utc = (text: string) => Date.parse(`${text}Z`);
const NOW = utc("2026-11-25T12:00:30");
const id = (overrides: Partial<DatasetId> = {}): DatasetId => ({
  symbol: "BTCUSDT",
  interval: "1m",
  start_date: "2025-01-15",
  end_date: "2025-03-10",
  market_type: "spot",
  ...overrides,
});

describe("rangeOf", () => {
  it("runs from start_date 00:00 UTC to the end of end_date", () => {
    expect(rangeOf(id())).toEqual({ startMs: utc("2025-01-15T00:00:00"), endMs: utc("2025-03-11T00:00:00") });
  });
});

describe("partitionsOf", () => {
  it("covers the range with whole calendar months, named as ordinary entries", () => {
    const partitions = partitionsOf(id(), NOW);

    expect(partitions.map((p) => [p.id.start_date, p.id.end_date])).toEqual([
      ["2025-01-01", "2025-01-31"],
      ["2025-02-01", "2025-02-28"],
      ["2025-03-01", "2025-03-31"],
    ]);
    expect(partitions[1]).toMatchObject({ startMs: utc("2025-02-01T00:00:00"), endMs: utc("2025-03-01T00:00:00") });
    expect(partitions[1]?.id).toEqual({ ...id(), start_date: "2025-02-01", end_date: "2025-02-28" });
  });

  it("uses days for 1s candles", () => {
    const partitions = partitionsOf(id({ interval: "1s", start_date: "2024-02-28", end_date: "2024-03-01" }), NOW);

    expect(partitions.map((p) => [p.id.start_date, p.id.end_date])).toEqual([
      ["2024-02-28", "2024-02-28"],
      ["2024-02-29", "2024-02-29"],
      ["2024-03-01", "2024-03-01"],
    ]);
  });

  it("stops at now: no partition opens in the future", () => {
    const partitions = partitionsOf(id({ start_date: "2026-10-20", end_date: "2027-03-01" }), NOW);

    expect(partitions.map((p) => p.id.start_date)).toEqual(["2026-10-01", "2026-11-01"]);
  });
});

describe("closesAt", () => {
  const month = partitionsOf(id({ start_date: "2025-01-01", end_date: "2025-01-31" }), NOW)[0] as Partition;

  it("is the month's end for candles that line up with months", () => {
    expect(closesAt(month)).toBe(utc("2025-02-01T00:00:00"));
    expect(closesAt({ ...month, id: { ...month.id, interval: "1M" } })).toBe(utc("2025-02-01T00:00:00"));
  });

  it("is one candle later for 3d and 1w candles, which may open in one month and close in the next", () => {
    expect(closesAt({ ...month, id: { ...month.id, interval: "1w" } })).toBe(utc("2025-02-08T00:00:00"));
    expect(closesAt({ ...month, id: { ...month.id, interval: "3d" } })).toBe(utc("2025-02-04T00:00:00"));
  });
});

describe("rangeIssues", () => {
  it("accepts a leap year of 1m candles and refuses one candle more", () => {
    expect(rangeIssues(id({ start_date: "2024-01-01", end_date: "2024-12-31" }), NOW)).toEqual([]);
    expect(MAX_RANGE_CANDLES).toBe(366 * 1440);
    const issues = rangeIssues(id({ start_date: "2023-12-31", end_date: "2024-12-31" }), NOW);
    expect(issues).toEqual([{ field: "end_date", message: expect.stringMatching(/spans 528,480 1m candles; one request may span at most 527,040/) as unknown }]);
  });

  it("counts only the candles up to now", () => {
    expect(rangeIssues(id({ start_date: "2026-06-01", end_date: "2030-12-31" }), NOW)).toEqual([]);
  });

  it("refuses ten years of 1s candles, a start in the future and one before Binance", () => {
    expect(rangeIssues(id({ interval: "1s", start_date: "2016-11-01", end_date: "2026-11-01" }), NOW).map((i) => i.field)).toEqual(["start_date", "end_date"]);
    expect(rangeIssues(id({ start_date: "2026-11-26", end_date: "2026-11-26" }), NOW)).toEqual([{ field: "start_date", message: "must not be after today (UTC)" }]);
    expect(rangeIssues(id({ start_date: "2026-11-25", end_date: "2026-11-25" }), NOW)).toEqual([]);
    expect(rangeIssues(id({ interval: "1d", start_date: "2017-06-30", end_date: "2017-08-01" }), NOW)[0]?.field).toBe("start_date");
  });
});

describe("needOf", () => {
  const [november] = partitionsOf(id({ start_date: "2026-11-01", end_date: "2026-11-30" }), NOW) as [Partition];
  const [october] = partitionsOf(id({ start_date: "2026-10-01", end_date: "2026-10-31" }), NOW) as [Partition];
  const range = rangeOf(id({ start_date: "2026-10-20", end_date: "2026-11-30" }));
  const context = { range, cutoffMs: NOW - 2_000, nowMs: NOW, recheckMs: 3_600_000 };
  const stored = (state: Partial<PartitionState>, checkedAtMs = NOW) => ({
    state: { complete: false, resumeFromMs: null, firstOpenMs: null, lastOpenMs: null, gaps: [], checkedUntilMs: NOW - 2_000, ...state },
    checkedAtMs,
  });

  it("fetches a partition that is not stored from its start", () => {
    expect(needOf(november, null, context)).toEqual({ kind: "fetch", fromMs: november.startMs });
  });

  it("never fetches a complete partition again", () => {
    expect(needOf(november, stored({ complete: true }), context)).toEqual({ kind: "cached" });
  });

  it("fetches the tail of an incomplete one once a candle past its last stored one can have closed", () => {
    const resumeFromMs = utc("2026-11-25T11:59:00");
    const checkedUntilMs = utc("2026-11-25T11:59:30");
    expect(needOf(november, stored({ resumeFromMs, checkedUntilMs }), context)).toEqual({ kind: "fetch", fromMs: resumeFromMs });
    expect(needOf(november, stored({ resumeFromMs: utc("2026-11-25T12:00:00") }), context)).toEqual({ kind: "cached" });
  });

  it("asks again for candles missing without proof at most once per recheck period", () => {
    const hole = stored({ resumeFromMs: utc("2026-10-20T00:00:00"), checkedUntilMs: NOW - 60_000 }, NOW - 3_599_999);
    expect(needOf(october, hole, context)).toEqual({ kind: "cached" });
    expect(needOf(october, { ...hole, checkedAtMs: NOW - 3_600_000 }, context)).toEqual({ kind: "fetch", fromMs: utc("2026-10-20T00:00:00") });
  });

  it("serves an incomplete partition as it is when the range ends before its last stored candle", () => {
    const early = { ...context, range: rangeOf(id({ start_date: "2026-11-02", end_date: "2026-11-10" })) };
    expect(needOf(november, stored({ resumeFromMs: utc("2026-11-20T00:00:00") }), early)).toEqual({ kind: "cached" });
  });

  it("stores nothing of a partition none of whose candles can have closed yet", () => {
    const monthly = { ...november, id: { ...november.id, interval: "1M" as const } };
    expect(needOf(monthly, null, context)).toEqual({ kind: "unclosed" });
  });
});

describe("planFetches", () => {
  it("pages months of 1m candles one pass each", () => {
    const partitions = partitionsOf(id(), NOW);

    const groups = planFetches(partitions.map((partition) => ({ partition, fromMs: partition.startMs, heldBeforeMs: null })), 1000);

    expect(groups.map((g) => g.partitions.length)).toEqual([1, 1, 1]);
    expect(groups[0]).toMatchObject({ fromMs: utc("2025-01-01T00:00:00"), heldBeforeMs: null });
  });

  it("shares one pass among adjacent months whose candles fit a page", () => {
    const partitions = partitionsOf(id({ interval: "1d", start_date: "2023-01-01", end_date: "2025-12-31" }), NOW);

    const groups = planFetches(partitions.map((partition) => ({ partition, fromMs: partition.startMs, heldBeforeMs: null })), 1000);

    expect(groups.map((g) => g.partitions.length)).toEqual([32, 4]);
    expect(groups[1]).toMatchObject({ fromMs: utc("2025-09-01T00:00:00") });
    expect(groups[1]?.partitions.at(-1)?.endMs).toBe(utc("2026-01-01T00:00:00"));
  });

  it("starts a new pass after a month that is not fetched, and at a tail", () => {
    const [jan, feb, mar] = partitionsOf(id({ interval: "1d" }), NOW) as [Partition, Partition, Partition];

    const groups = planFetches(
      [
        { partition: jan, fromMs: jan.startMs, heldBeforeMs: null },
        { partition: mar, fromMs: mar.startMs, heldBeforeMs: null },
      ],
      1000,
    );
    const withTail = planFetches(
      [
        { partition: jan, fromMs: jan.startMs, heldBeforeMs: null },
        { partition: feb, fromMs: feb.startMs + 86_400_000, heldBeforeMs: feb.startMs },
        { partition: mar, fromMs: mar.startMs, heldBeforeMs: null },
      ],
      1000,
    );

    expect(groups.map((g) => g.partitions)).toEqual([[jan], [mar]]);
    expect(withTail.map((g) => g.partitions)).toEqual([[jan], [feb, mar]]);
    expect(withTail[1]?.fromMs).toBe(feb.startMs + 86_400_000);
  });
});
