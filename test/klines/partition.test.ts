import { describe, expect, it } from "vitest";
import { buildMeta } from "../../src/cache/meta.js";
import { buildPartition, coverageOf, klineLine, KLINES_CSV_HEADER, metaFieldsOf, rowsInRange, stateOf, type PartitionState } from "../../src/klines/partition.js";
import { partitionsOf, rangeOf, type Partition } from "../../src/klines/plan.js";
import type { Kline } from "../../src/upstream/binance.js";

const utc = (text: string) => Date.parse(`${text}Z`);
const HOUR = 3_600_000;
const ID = { symbol: "BTCUSDT", interval: "1h", start_date: "2025-03-01", end_date: "2025-03-31", market_type: "spot" } as const;
const [MARCH] = partitionsOf(ID, utc("2026-01-01T00:00:00")) as [Partition];

/** An hourly kline as Binance sends it, opening at `openMs`. */
const kline = (openMs: number, close = "60719.27000000"): Kline => [
  openMs, "60685.22000000", "60729.84000000", "60670.90000000", close, "21.63272000", openMs + HOUR - 1,
  "1313200.01340410", 617, "12.28492000", "745719.41022840", "0",
];
const hourly = (fromMs: number, count: number) => Array.from({ length: count }, (_, i) => kline(fromMs + i * HOUR));
const linesOf = (csv: Uint8Array) => new TextDecoder().decode(csv).trimEnd().split("\n");

describe("klineLine", () => {
  it("writes the original's line: its timestamp form, prices and volume as Python floats, the rest as sent", () => {
    expect(klineLine(kline(utc("2021-10-22T23:03:00")))).toBe(
      "2021-10-22 23:03:00,60685.22,60729.84,60670.9,60719.27,21.63272,1634947379999,1313200.01340410,617,12.28492000,745719.41022840,0\n",
    );
    expect(klineLine(kline(0, "60707.00000000"))).toMatch(/^1970-01-01 00:00:00,60685.22,60729.84,60670.9,60707.0,/);
  });
});

describe("buildPartition", () => {
  it("stores a past month's closed candles and marks it complete", () => {
    const built = buildPartition({ partition: MARCH, base: null, fromMs: MARCH.startMs, klines: hourly(MARCH.startMs, 744), cutoffMs: utc("2026-01-01T00:00:00") });

    expect(linesOf(built.csv)).toHaveLength(745);
    expect(linesOf(built.csv)[0]).toBe(KLINES_CSV_HEADER.trimEnd());
    expect(built.state).toEqual({ complete: true, resumeFromMs: null, firstOpenMs: MARCH.startMs, lastOpenMs: utc("2025-03-31T23:00:00"), gaps: [] });
  });

  it("is complete exactly when the month's last candle has closed, not a millisecond before", () => {
    const klines = hourly(MARCH.startMs, 744);
    const at = (cutoffMs: number) => buildPartition({ partition: MARCH, base: null, fromMs: MARCH.startMs, klines, cutoffMs }).state;

    expect(at(MARCH.endMs)).toMatchObject({ complete: true, lastOpenMs: utc("2025-03-31T23:00:00") });
    expect(at(MARCH.endMs - 1)).toMatchObject({ complete: false, lastOpenMs: utc("2025-03-31T22:00:00"), resumeFromMs: utc("2025-03-31T23:00:00") });
  });

  it("never stores the still-forming candle, and resumes at it", () => {
    const cutoffMs = utc("2025-03-10T05:30:00");
    const built = buildPartition({ partition: MARCH, base: null, fromMs: MARCH.startMs, klines: hourly(MARCH.startMs, 9 * 24 + 6), cutoffMs });

    expect(linesOf(built.csv).at(-1)).toMatch(/^2025-03-10 04:00:00,/);
    expect(built.state).toMatchObject({ complete: false, lastOpenMs: utc("2025-03-10T04:00:00"), resumeFromMs: utc("2025-03-10T05:00:00") });
  });

  it("appends a tail to the stored candles, without duplicates, and records a gap between them", () => {
    const first = buildPartition({ partition: MARCH, base: null, fromMs: MARCH.startMs, klines: hourly(MARCH.startMs, 10), cutoffMs: utc("2025-03-01T10:30:00") });
    const tail = [...hourly(utc("2025-03-01T09:00:00"), 1), ...hourly(utc("2025-03-01T12:00:00"), 3)];

    const grown = buildPartition({ partition: MARCH, base: first, fromMs: first.state.resumeFromMs as number, klines: tail, cutoffMs: utc("2025-03-01T15:00:00") });

    expect(linesOf(grown.csv).slice(1).map((line) => line.slice(11, 13))).toEqual(["00", "01", "02", "03", "04", "05", "06", "07", "08", "09", "12", "13", "14"]);
    expect(grown.state).toMatchObject({ lastOpenMs: utc("2025-03-01T14:00:00"), resumeFromMs: utc("2025-03-01T15:00:00") });
    expect(grown.state.gaps).toEqual([{ fromMs: utc("2025-03-01T10:00:00"), toMs: utc("2025-03-01T12:00:00") }]);
  });

  it("records an empty month before a listing as complete, with no candles and no gap", () => {
    const built = buildPartition({ partition: MARCH, base: null, fromMs: MARCH.startMs, klines: [], cutoffMs: utc("2026-01-01T00:00:00") });

    expect(new TextDecoder().decode(built.csv)).toBe(KLINES_CSV_HEADER);
    expect(built.state).toEqual({ complete: true, resumeFromMs: null, firstOpenMs: null, lastOpenMs: null, gaps: [] });
  });
});

describe("partition meta fields", () => {
  const state: PartitionState = {
    complete: false,
    resumeFromMs: utc("2025-03-10T05:00:00"),
    firstOpenMs: MARCH.startMs,
    lastOpenMs: utc("2025-03-10T04:00:00"),
    gaps: [{ fromMs: utc("2025-03-02T10:00:00"), toMs: utc("2025-03-02T13:00:00") }],
  };

  it("are written in the CSV's timestamp form and read back", () => {
    const fields = metaFieldsOf(state);
    expect(fields).toEqual({
      source: "binance",
      complete: false,
      resume_from: "2025-03-10 05:00:00",
      first_open: "2025-03-01 00:00:00",
      last_open: "2025-03-10 04:00:00",
      gaps: [["2025-03-02 10:00:00", "2025-03-02 13:00:00"]],
    });
    expect(stateOf({ ...buildMeta(MARCH.id, { rows: 1, csvBytes: 1 }, "2025-03-10T05:00:00.000"), ...fields })).toEqual(state);
  });

  it("are absent from an entry a client PUT, which the klines service does not trust", () => {
    expect(stateOf(buildMeta(MARCH.id, { rows: 1, csvBytes: 1 }, "2025-03-10T05:00:00.000"))).toBeNull();
    expect(stateOf({ ...buildMeta(MARCH.id, { rows: 1, csvBytes: 1 }, "x"), ...metaFieldsOf(state), resume_from: null })).toBeNull();
  });
});

describe("rowsInRange", () => {
  const csv = buildPartition({ partition: MARCH, base: null, fromMs: MARCH.startMs, klines: hourly(MARCH.startMs, 744), cutoffMs: MARCH.endMs }).csv;

  it("gives the whole body of a partition inside the range, as a view", () => {
    const rows = rowsInRange(csv, MARCH, rangeOf({ ...ID, start_date: "2025-02-01", end_date: "2025-04-30" }));
    expect(rows.buffer).toBe(csv.buffer);
    expect(new TextDecoder().decode(rows)).toBe(new TextDecoder().decode(csv).slice(KLINES_CSV_HEADER.length));
  });

  it("trims a partition to the range's days", () => {
    const rows = new TextDecoder().decode(rowsInRange(csv, MARCH, rangeOf({ ...ID, start_date: "2025-03-10", end_date: "2025-03-11" }))).trimEnd().split("\n");
    expect(rows).toHaveLength(48);
    expect(rows[0]).toMatch(/^2025-03-10 00:00:00,/);
    expect(rows.at(-1)).toMatch(/^2025-03-11 23:00:00,/);
  });
});

describe("coverageOf", () => {
  const [feb, mar] = partitionsOf({ ...ID, start_date: "2025-02-01" }, utc("2026-01-01T00:00:00")) as [Partition, Partition];
  const complete = (first: string, last: string, gaps: PartitionState["gaps"] = []): PartitionState => ({
    complete: true, resumeFromMs: null, firstOpenMs: utc(first), lastOpenMs: utc(last), gaps,
  });

  it("reports gaps inside and between partitions, clipped to the range, with the candles missing", () => {
    const range = rangeOf({ ...ID, start_date: "2025-02-10", end_date: "2025-03-31" });
    const inside = { fromMs: utc("2025-03-05T00:00:00"), toMs: utc("2025-03-05T02:00:00") };

    const coverage = coverageOf("1h", range, [
      { partition: feb, state: complete("2025-02-01T00:00:00", "2025-02-28T21:00:00") },
      { partition: mar, state: complete("2025-03-01T01:00:00", "2025-03-31T23:00:00", [inside]) },
    ]);

    expect(coverage).toEqual({
      untilMs: range.endMs,
      reachesNow: false,
      gaps: [
        { fromMs: utc("2025-02-28T22:00:00"), toMs: utc("2025-03-01T01:00:00"), missing: 3 },
        { ...inside, missing: 2 },
      ],
    });
  });

  it("reaches now when the range goes past the last stored candle of an incomplete partition", () => {
    const range = rangeOf({ ...ID, start_date: "2025-03-01", end_date: "2025-03-31" });
    const state = { complete: false, resumeFromMs: utc("2025-03-10T05:00:00"), firstOpenMs: mar.startMs, lastOpenMs: utc("2025-03-10T04:00:00"), gaps: [] };

    expect(coverageOf("1h", range, [{ partition: mar, state }])).toMatchObject({ untilMs: utc("2025-03-10T05:00:00"), reachesNow: true });
    expect(coverageOf("1h", { ...range, endMs: utc("2025-03-10T00:00:00") }, [{ partition: mar, state }]).reachesNow).toBe(false);
  });
});
