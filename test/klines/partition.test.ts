import { describe, expect, it } from "vitest";
import { buildMeta } from "../../src/cache/entries/meta.js";
import { coverageOf, extendPartition, hasUnprovenHole, klineLine, KLINES_CSV_HEADER, mergeGaps, metaFieldsOf, rowsInRange, stateOf } from "../../src/klines/partition.js";
import { partitionsOf, rangeOf } from "../../src/klines/plan.js";
import type { Kline } from "../../src/upstream/binance.js";
import type { Partition, PartitionFetch, PartitionState } from "../../src/klines/types.js";

const utc = (text: string) => Date.parse(`${text}Z`);
const HOUR = 3_600_000;
const ID = { symbol: "BTCUSDT", interval: "1h", start_date: "2025-03-01", end_date: "2025-03-31", market_type: "spot" } as const;
const [MARCH] = partitionsOf(ID, utc("2026-01-01T00:00:00")) as [Partition];
const FACTS = { rows: 1, csvBytes: 1, sha256: "0".repeat(64), version: "v1" };

/** An hourly kline as Binance sends it, opening at `openMs`. */
const kline = (openMs: number, close = "60719.27000000"): Kline => [
  openMs, "60685.22000000", "60729.84000000", "60670.90000000", close, "21.63272000", openMs + HOUR - 1,
  "1313200.01340410", 617, "12.28492000", "745719.41022840", "0",
];
const hourly = (fromMs: number, count: number) => Array.from({ length: count }, (_, i) => kline(fromMs + i * HOUR));
const linesOf = (csv: Uint8Array) => new TextDecoder().decode(csv).trimEnd().split("\n");
const fetched = (klines: Kline[], more: Partial<PartitionFetch> = {}): PartitionFetch => ({
  klines,
  gaps: [],
  complete: true,
  resumeFromMs: null,
  checkedUntilMs: utc("2026-01-01T00:00:00"),
  ...more,
});

describe("klineLine", () => {
  it("writes the original's line: its timestamp form, prices and volume as Python floats, the rest as sent", () => {
    expect(klineLine(kline(utc("2021-10-22T23:03:00")))).toBe(
      "2021-10-22 23:03:00,60685.22,60729.84,60670.9,60719.27,21.63272,1634947379999,1313200.01340410,617,12.28492000,745719.41022840,0\n",
    );
    expect(klineLine(kline(0, "60707.00000000"))).toMatch(/^1970-01-01 00:00:00,60685.22,60729.84,60670.9,60707.0,/);
  });
});

describe("extendPartition", () => {
  it("writes a header and the fetched candles, with their first and last open and the fetch's proof", () => {
    const built = extendPartition(null, fetched(hourly(MARCH.startMs, 744)));

    expect(linesOf(built.csv)).toHaveLength(745);
    expect(linesOf(built.csv)[0]).toBe(KLINES_CSV_HEADER.trimEnd());
    expect(built.state).toEqual({
      complete: true,
      resumeFromMs: null,
      firstOpenMs: MARCH.startMs,
      lastOpenMs: utc("2025-03-31T23:00:00"),
      gaps: [],
      checkedUntilMs: utc("2026-01-01T00:00:00"),
      decimals: [{ fromMs: MARCH.startMs, places: [8, 8, 8, 8, 8] }],
    });
  });

  it("records the places Binance wrote open, high, low, close and volume with, and where they change", () => {
    const futures = (openMs: number, price: string, volume: string): Kline => [openMs, price, price, price, price, volume, openMs + HOUR - 1, "1.00000", 1, "0.500", "0.50000", "0"];
    const first = extendPartition(null, fetched([futures(MARCH.startMs, "60707.10", "1.000"), futures(MARCH.startMs + HOUR, "60707.00", "2.500")], { complete: false, resumeFromMs: MARCH.startMs + 2 * HOUR }));
    // The contract's tick changes: its prices come with one place from then on.
    const grown = extendPartition(first, fetched([futures(MARCH.startMs + 2 * HOUR, "60707.1", "3.000"), futures(MARCH.startMs + 3 * HOUR, "60707.2", "3.000")]));

    expect(grown.state.decimals).toEqual([
      { fromMs: MARCH.startMs, places: [2, 2, 2, 2, 3] },
      { fromMs: MARCH.startMs + 2 * HOUR, places: [1, 1, 1, 1, 3] },
    ]);
    expect(stateOf({ ...buildMeta(MARCH.id, FACTS, "2025-03-10T05:00:00.000"), ...metaFieldsOf(grown.state) })?.decimals).toEqual(grown.state.decimals);
  });

  it("records no places for a partition stored before they were, since its stored candles cannot say them", () => {
    const { decimals: _, ...unrecorded } = extendPartition(null, fetched(hourly(MARCH.startMs, 2), { complete: false, resumeFromMs: MARCH.startMs + 2 * HOUR })).state;
    const grown = extendPartition({ csv: Buffer.from(KLINES_CSV_HEADER), state: unrecorded }, fetched(hourly(MARCH.startMs + 2 * HOUR, 2)));

    expect(grown.state.decimals).toBeUndefined();
  });

  it("appends a tail to the stored candles, keeps their first open, and joins the gaps", () => {
    const gap = { fromMs: utc("2025-03-01T10:00:00"), toMs: utc("2025-03-01T12:00:00") };
    const first = extendPartition(null, fetched(hourly(MARCH.startMs, 10), { complete: false, resumeFromMs: utc("2025-03-01T10:00:00") }));
    const tail = hourly(utc("2025-03-01T12:00:00"), 3);

    const grown = extendPartition(first, fetched(tail, { complete: false, resumeFromMs: utc("2025-03-01T15:00:00"), gaps: [gap] }));

    expect(linesOf(grown.csv).slice(1).map((line) => line.slice(11, 13))).toEqual(["00", "01", "02", "03", "04", "05", "06", "07", "08", "09", "12", "13", "14"]);
    expect(grown.state).toMatchObject({ firstOpenMs: MARCH.startMs, lastOpenMs: utc("2025-03-01T14:00:00"), resumeFromMs: utc("2025-03-01T15:00:00"), gaps: [gap] });
  });

  it("records an empty month before a listing as complete, with no candles and no gap", () => {
    const built = extendPartition(null, fetched([]));

    expect(new TextDecoder().decode(built.csv)).toBe(KLINES_CSV_HEADER);
    expect(built.state).toMatchObject({ complete: true, resumeFromMs: null, firstOpenMs: null, lastOpenMs: null, gaps: [] });
  });
});

describe("mergeGaps", () => {
  it("joins touching gaps, final only when every part is", () => {
    const a = { fromMs: 1, toMs: 5, final: true };
    const b = { fromMs: 5, toMs: 9, final: false };
    const c = { fromMs: 20, toMs: 30, final: true };
    expect(mergeGaps([c, b, a])).toEqual([{ fromMs: 1, toMs: 9, final: false }, c]);
    expect(mergeGaps([{ fromMs: 1, toMs: 5 }, { fromMs: 3, toMs: 7 }])).toEqual([{ fromMs: 1, toMs: 7 }]);
  });
});

describe("partition meta fields", () => {
  const state: PartitionState = {
    complete: false,
    resumeFromMs: utc("2025-03-10T05:00:00"),
    firstOpenMs: MARCH.startMs,
    lastOpenMs: utc("2025-03-10T04:00:00"),
    gaps: [{ fromMs: utc("2025-03-02T10:00:00"), toMs: utc("2025-03-02T13:00:00") }],
    checkedUntilMs: utc("2025-03-10T05:30:00"),
  };

  it("are written in the CSV's timestamp form and read back", () => {
    const fields = metaFieldsOf(state);
    expect(fields).toEqual({
      complete: false,
      resume_from: "2025-03-10 05:00:00",
      first_open: "2025-03-01 00:00:00",
      last_open: "2025-03-10 04:00:00",
      gaps: [["2025-03-02 10:00:00", "2025-03-02 13:00:00"]],
      checked_until: "2025-03-10 05:30:00",
    });
    expect(stateOf({ ...buildMeta(MARCH.id, FACTS, "2025-03-10T05:00:00.000"), ...fields })).toEqual(state);
  });

  it("are absent from, or do not hang together in, anything but a partition", () => {
    expect(stateOf(buildMeta(MARCH.id, FACTS, "2025-03-10T05:00:00.000"))).toBeNull();
    expect(stateOf({ ...buildMeta(MARCH.id, FACTS, "x"), ...metaFieldsOf(state), resume_from: null })).toBeNull();
  });
});

describe("hasUnprovenHole", () => {
  const base = { firstOpenMs: MARCH.startMs, lastOpenMs: utc("2025-03-10T04:00:00"), gaps: [], checkedUntilMs: 0 };

  it("is true only when a candle that should have closed is missing without proof", () => {
    const resuming = { ...base, complete: false, resumeFromMs: utc("2025-03-10T05:00:00") };
    // Nothing after 05:00 had closed: the current month, growing.
    expect(hasUnprovenHole("1h", MARCH, resuming, utc("2025-03-10T05:59:59"))).toBe(false);
    expect(hasUnprovenHole("1h", MARCH, resuming, utc("2025-03-10T06:00:00"))).toBe(true);
    expect(hasUnprovenHole("1h", MARCH, { ...base, complete: true, resumeFromMs: null }, utc("2026-01-01T00:00:00"))).toBe(false);
  });
});

describe("rowsInRange", () => {
  const { csv } = extendPartition(null, fetched(hourly(MARCH.startMs, 744)));

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

  it("finds the same rows as reading every line would, for any range, with holes in the partition", () => {
    // Hours with stretches missing, so line offsets and times do not line up.
    const opens = Array.from({ length: 744 }, (_, hour) => MARCH.startMs + hour * 3_600_000).filter((open, at) => at % 7 !== 3 && (at < 100 || at > 130));
    const holed = extendPartition(null, fetched(opens.map((open) => hourly(open, 1)[0] as NonNullable<ReturnType<typeof hourly>[number]>))).csv;
    const lines = new TextDecoder().decode(holed).trimEnd().split("\n").slice(1);
    const byReading = (range: { startMs: number; endMs: number }) =>
      lines.filter((line) => {
        const open = Date.parse(`${line.slice(0, 19).replace(" ", "T")}Z`);
        return open >= range.startMs && open < range.endMs;
      });
    const chunked = [7, 61, 4096].map((size) => [size, Array.from({ length: Math.ceil(holed.length / size) }, (_, at) => holed.subarray(at * size, (at + 1) * size))] as const);
    const edges = [MARCH.startMs - 86_400_000, MARCH.startMs, ...opens.filter((_, at) => at % 37 === 0), opens[104] as number, MARCH.endMs, MARCH.endMs + 86_400_000];
    for (const startMs of edges) {
      for (const endMs of edges.filter((edge) => edge > startMs)) {
        for (const shift of [0, 1, 1_799_999]) {
          const range = { startMs: startMs + shift, endMs: endMs + shift };
          const found = new TextDecoder().decode(rowsInRange(holed, MARCH, range)).trimEnd();
          expect(found === "" ? [] : found.split("\n"), JSON.stringify(range)).toEqual(byReading(range));
          // The same from the CSV in chunks cut anywhere (inside a timestamp, a line end, a comma).
          for (const [size, pieces] of chunked) {
            expect(new TextDecoder().decode(rowsInRange(pieces, MARCH, range)).trimEnd(), `${size}-byte chunks, ${JSON.stringify(range)}`).toBe(found);
          }
        }
      }
    }
  });
});

describe("coverageOf", () => {
  const [feb, mar] = partitionsOf({ ...ID, start_date: "2025-02-01" }, utc("2026-01-01T00:00:00")) as [Partition, Partition];
  const LATER = utc("2026-01-01T00:00:00");
  const complete = (gaps: PartitionState["gaps"] = []): PartitionState => ({
    complete: true, resumeFromMs: null, firstOpenMs: null, lastOpenMs: null, gaps, checkedUntilMs: LATER,
  });

  it("reports each partition's proven gaps as final, joined across a boundary and clipped to the range", () => {
    const range = rangeOf({ ...ID, start_date: "2025-02-10", end_date: "2025-03-31" });
    const tail = { fromMs: utc("2025-02-28T22:00:00"), toMs: mar.startMs };
    const head = { fromMs: mar.startMs, toMs: utc("2025-03-01T01:00:00") };
    const inside = { fromMs: utc("2025-03-05T00:00:00"), toMs: utc("2025-03-05T02:00:00") };

    const coverage = coverageOf("1h", range, [
      { partition: feb, state: complete([tail]) },
      { partition: mar, state: complete([head, inside]) },
    ], LATER);

    expect(coverage).toEqual({
      reachesNow: false,
      gaps: [
        { fromMs: tail.fromMs, toMs: head.toMs, missing: 3, final: true },
        { ...inside, missing: 2, final: true },
      ],
    });
  });

  it("reports the closed candles a partition misses without proof as a gap that is not final", () => {
    const range = rangeOf({ ...ID, start_date: "2025-03-01", end_date: "2025-03-31" });
    const state: PartitionState = { complete: false, resumeFromMs: utc("2025-03-20T00:00:00"), firstOpenMs: mar.startMs, lastOpenMs: utc("2025-03-19T23:00:00"), gaps: [], checkedUntilMs: LATER };

    expect(coverageOf("1h", range, [{ partition: mar, state }], LATER).gaps).toEqual([
      { fromMs: utc("2025-03-20T00:00:00"), toMs: mar.endMs, missing: 12 * 24, final: false },
    ]);
  });

  it("reaches now when the range goes past the last closed candle; what has not closed is no gap", () => {
    const range = rangeOf({ ...ID, start_date: "2025-03-01", end_date: "2025-03-31" });
    const cutoff = utc("2025-03-10T05:30:00");
    const state: PartitionState = { complete: false, resumeFromMs: utc("2025-03-10T05:00:00"), firstOpenMs: mar.startMs, lastOpenMs: utc("2025-03-10T04:00:00"), gaps: [], checkedUntilMs: cutoff };

    expect(coverageOf("1h", range, [{ partition: mar, state }], cutoff)).toEqual({ reachesNow: true, gaps: [] });
    expect(coverageOf("1h", { ...range, endMs: utc("2025-03-10T00:00:00") }, [{ partition: mar, state }], cutoff).reachesNow).toBe(false);
  });
});
