import { describe, expect, it } from "vitest";
import { CHART_MAX_CANDLES, chartableRange, chartDataOf } from "../../../web/admin/candles.js";

const HOUR_MS = 3_600_000;
const T0 = Date.UTC(2021, 2, 1);
const row = (ms: number, fields: Record<string, unknown> = {}) => ({
  timestamp: new Date(ms).toISOString(),
  open: 10,
  high: 12,
  low: 9,
  close: 11,
  volume: 5,
  ...fields,
});

describe("chartDataOf", () => {
  it("draws every candle at its open time in seconds, volume coloured by its candle's direction", () => {
    const data = chartDataOf("1h", [row(T0), row(T0 + HOUR_MS, { close: 8 })]);
    expect(data.candles).toEqual([
      { time: T0 / 1000, open: 10, high: 12, low: 9, close: 11 },
      { time: T0 / 1000 + 3600, open: 10, high: 12, low: 9, close: 8 },
    ]);
    expect(data.volumes).toEqual([
      { time: T0 / 1000, value: 5, rising: true },
      { time: T0 / 1000 + 3600, value: 5, rising: false },
    ]);
    expect(data.gaps).toEqual([]);
    expect(data.hasVolume).toBe(true);
  });

  it("leaves a blank slot for each missing candle and lists the gap", () => {
    const data = chartDataOf("1h", [row(T0), row(T0 + 4 * HOUR_MS)]);
    expect(data.gaps).toEqual([{ fromMs: T0 + HOUR_MS, toMs: T0 + 4 * HOUR_MS, candles: 3 }]);
    expect(data.candles.map((point) => ("open" in point ? "candle" : "blank"))).toEqual(["candle", "blank", "blank", "blank", "candle"]);
    expect(data.volumes).toHaveLength(5);
  });

  it("knows a month is no fixed length: monthly candles a calendar month apart have no gap", () => {
    const months = [Date.UTC(2021, 0, 1), Date.UTC(2021, 1, 1), Date.UTC(2021, 2, 1), Date.UTC(2021, 4, 1)];
    const data = chartDataOf("1M", months.map((ms) => row(ms)));
    expect(data.gaps).toEqual([{ fromMs: Date.UTC(2021, 3, 1), toMs: Date.UTC(2021, 4, 1), candles: 1 }]);
  });

  it("reads the original's timestamps and number strings; leaves out rows it cannot draw or that go back in time", () => {
    const data = chartDataOf("1h", [
      { timestamp: "2021-03-01 00:00:00", open: "10", high: "12", low: "9", close: "11" },
      row(T0 + HOUR_MS, { open: "n/a" }),
      { timestamp: "not a time", open: 1, high: 1, low: 1, close: 1 },
      row(T0 + HOUR_MS),
      row(T0),
    ]);
    expect(data.candles).toHaveLength(2);
    expect(data.skipped).toBe(3);
    expect(data.gaps).toEqual([]);
    expect(data.hasVolume).toBe(false);
    expect(data.volumes[0]).toEqual({ time: T0 / 1000 });
  });

  it("bounds the blank slots of a long gap, and still lists the gap whole", () => {
    const data = chartDataOf("1m", [row(T0), row(T0 + 365 * 86_400_000)]);
    expect(data.gaps[0]?.candles).toBe(365 * 1440 - 1);
    expect(data.candles.length).toBeLessThanOrEqual(2 + 2000);
  });
});

describe("chartableRange", () => {
  it("keeps a range of up to CHART_MAX_CANDLES whole", () => {
    expect(chartableRange("1h", T0, Date.UTC(2021, 3, 1))).toEqual({ start_date: "2021-03-01", end_date: "2021-03-31", cut: false });
  });

  it("cuts a month of 1m candles to its first whole days within the bound", () => {
    const range = chartableRange("1m", T0, Date.UTC(2021, 3, 1));
    expect(range).toEqual({ start_date: "2021-03-01", end_date: "2021-03-13", cut: true });
    expect(13 * 1440).toBeLessThanOrEqual(CHART_MAX_CANDLES);
    expect(14 * 1440).toBeGreaterThan(CHART_MAX_CANDLES);
  });

  it("keeps at least one day, even of 1s candles", () => {
    expect(chartableRange("1s", T0, T0 + 86_400_000 * 2)).toEqual({ start_date: "2021-03-01", end_date: "2021-03-01", cut: true });
  });
});
