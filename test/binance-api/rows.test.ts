import { describe, expect, it } from "vitest";
import { binanceRowsOf, placesByTime, withPlaces } from "../../src/binance-api/rows.js";
import { klineLine } from "../../src/klines/partition.js";
import type { Kline } from "../../src/upstream/binance.js";

const HOUR = 3_600_000;
const T0 = Date.UTC(2024, 0, 1);
const futures = (openMs: number, price: string): Kline => [openMs, price, price, price, price, "12.300", openMs + HOUR - 1, "150000.12300", 7, "6.150", "75000.06150", "0"];
const csvOf = (klines: Kline[]) => [Buffer.from(klines.map(klineLine).join(""))];

describe("withPlaces", () => {
  it("gives a stored float Binance's places again", () => {
    expect(withPlaces("60707.0", 8)).toBe("60707.00000000");
    expect(withPlaces("0.0163479", 8)).toBe("0.01634790");
    expect(withPlaces("60707.1", 2)).toBe("60707.10");
    expect(withPlaces("12345.0", 0)).toBe("12345");
    expect(withPlaces("60707.1", undefined)).toBe("60707.1");
  });

  it("never cuts a digit that is not zero", () => {
    expect(withPlaces("1.2345", 2)).toBe("1.2345");
  });
});

describe("binanceRowsOf", () => {
  it("turns the stored lines back into the strings Binance sent, with the places recorded from each open time on", () => {
    const klines = [futures(T0, "42000.50"), futures(T0 + HOUR, "42000.00"), futures(T0 + 2 * HOUR, "42000.5")];
    const runs = placesByTime("futures", [{ startMs: T0, decimals: [{ fromMs: T0, places: [2, 2, 2, 2, 3] }, { fromMs: T0 + 2 * HOUR, places: [1, 1, 1, 1, 3] }] }]);

    const rows = binanceRowsOf(csvOf(klines), runs, T0, T0 + 2 * HOUR);

    expect(rows.map((row) => JSON.parse(row.json) as unknown)).toEqual(klines);
    expect(rows.map((row) => row.json)).toEqual(klines.map((kline) => JSON.stringify(kline)));
  });

  it("keeps the rows whose open time lies in [from, to], both ends included", () => {
    const klines = [0, 1, 2, 3].map((at) => futures(T0 + at * HOUR, "1.00"));
    const runs = placesByTime("futures", [{ startMs: T0, decimals: [{ fromMs: T0, places: [2, 2, 2, 2, 3] }] }]);

    expect(binanceRowsOf(csvOf(klines), runs, T0 + HOUR, T0 + 2 * HOUR).map((row) => row.openMs)).toEqual([T0 + HOUR, T0 + 2 * HOUR]);
  });

  it("writes a spot partition stored before the places were recorded with 8, as Binance's spot API does", () => {
    const spot: Kline = [T0, "60707.00000000", "60710.10000000", "60700.00000000", "60709.99000000", "21.63272000", T0 + HOUR - 1, "1313200.01340410", 617, "12.28492000", "745719.41022840", "0"];

    const [row] = binanceRowsOf(csvOf([spot]), placesByTime("spot", [{ startMs: T0, decimals: undefined }]), T0, T0);

    expect(row?.json).toBe(JSON.stringify(spot));
  });
});
