import { describe, expect, it } from "vitest";
import { coverageOf, type CoverageQuery, type SeriesCoverage } from "../../src/reports/coverage.js";
import type { CacheEntryInfo } from "../../src/cache/data-cache.js";
import { ValidationError } from "../../src/errors.js";
import { FUNDING_FOLDER, fundingMetaOf } from "../../src/funding/month.js";
import { metaFieldsOf } from "../../src/klines/partition.js";
import { PARTITIONS_FOLDER } from "../../src/klines/service.js";
import type { PartitionState } from "../../src/klines/types.js";

const TODAY = Date.parse("2026-11-25T12:00:00Z");
const utc = (text: string) => Date.parse(`${text}Z`);

let made = 0;
/** A valid dataset entry (root folder) of BTCUSDT 1h spot for the dates. */
function dataset(start_date: string, end_date: string, fields: Partial<CacheEntryInfo> = {}): CacheEntryInfo {
  made++;
  return {
    symbol: "BTCUSDT",
    interval: "1h",
    start_date,
    end_date,
    market_type: "spot",
    cached_at: "2026-11-01T00:00:00.000",
    rows: 24,
    cache_key: `k${made}`,
    folder: "",
    retention: "rule",
    expires_at: null,
    state: "valid",
    ...fields,
  };
}

/** A read-through partition of the month of `start_date`, with the completeness facts given. */
function partition(start_date: string, end_date: string, state: Partial<PartitionState> = {}, fields: Partial<CacheEntryInfo> = {}): CacheEntryInfo {
  const complete = state.complete ?? true;
  const facts: PartitionState = {
    complete,
    resumeFromMs: complete ? null : utc(`${end_date}T00:00:00`),
    firstOpenMs: utc(`${start_date}T00:00:00`),
    lastOpenMs: utc(`${end_date}T23:00:00`),
    gaps: [],
    checkedUntilMs: TODAY,
    ...state,
  };
  return dataset(start_date, end_date, { folder: PARTITIONS_FOLDER, retention: "until_replaced", ...metaFieldsOf(facts), ...fields });
}

const only = (entries: CacheEntryInfo[], query: CoverageQuery = {}): SeriesCoverage => {
  const page = coverageOf(entries, TODAY, query);
  expect(page.series).toHaveLength(1);
  return page.series[0] as SeriesCoverage;
};
const monthsOf = (series: SeriesCoverage) => Object.fromEntries(series.months.map(({ month, ...rest }) => [month, rest]));

describe("coverageOf", () => {
  it("shows a symbol's funding months as a series of its own: complete ones held, the one still growing partial", () => {
    const month = (start_date: string, end_date: string, complete: boolean, lastTime: string) =>
      dataset(start_date, end_date, {
        folder: FUNDING_FOLDER,
        interval: "1M",
        market_type: "futures",
        retention: "until_replaced",
        ...fundingMetaOf({ complete, resumeFromMs: complete ? null : utc(lastTime) + 1, lastTimeMs: utc(lastTime), checkedUntilMs: TODAY }),
      });
    const series = only([month("2026-10-01", "2026-10-31", true, "2026-10-31T16:00:00"), month("2026-11-01", "2026-11-30", false, "2026-11-25T08:00:00")]);
    expect(series).toMatchObject({ symbol: "BTCUSDT", interval: "1M", market_type: "futures", source: "funding", entries: 2 });
    expect(series.months.map((one) => [one.month, one.state, one.days_held])).toEqual([
      ["2026-10", "held", 31],
      ["2026-11", "partial", 25],
    ]);
    expect(coverageOf([month("2026-10-01", "2026-10-31", true, "2026-10-31T16:00:00")], TODAY, { source: "read_through" }).series).toEqual([]);
  });

  it("lists every month from the first held to the last, one nothing covers as a gap", () => {
    const series = only([dataset("2021-01-01", "2021-01-31"), dataset("2021-02-01", "2021-02-10"), dataset("2021-04-01", "2021-04-30")]);
    expect(series).toMatchObject({ symbol: "BTCUSDT", interval: "1h", market_type: "spot", source: "datasets", entries: 3, rows: 72 });
    expect([series.first_month, series.last_month]).toEqual(["2021-01", "2021-04"]);
    expect(monthsOf(series)).toEqual({
      "2021-01": { state: "held", days: 31, days_held: 31, entries: 1 },
      "2021-02": { state: "partial", days: 28, days_held: 10, entries: 1 },
      "2021-03": { state: "gap", days: 31, days_held: 0, entries: 0 },
      "2021-04": { state: "held", days: 30, days_held: 30, entries: 1 },
    });
  });

  it("counts a day held by overlapping entries once, and an entry in each month it touches", () => {
    const series = only([dataset("2021-01-01", "2021-01-20"), dataset("2021-01-10", "2021-02-05"), dataset("2021-01-15", "2021-01-16")]);
    expect(monthsOf(series)).toEqual({
      "2021-01": { state: "held", days: 31, days_held: 31, entries: 3 },
      "2021-02": { state: "partial", days: 28, days_held: 5, entries: 1 },
    });
  });

  it("holds a complete partition's month; an incomplete one holds up to its last candle's day and makes its month partial", () => {
    const series = only([
      partition("2021-03-01", "2021-03-31"),
      partition("2021-04-01", "2021-04-30", { complete: false, lastOpenMs: utc("2021-04-15T10:00:00") }),
      // its last candle on the last day, yet incomplete: partial
      partition("2021-05-01", "2021-05-31", { complete: false, lastOpenMs: utc("2021-05-31T22:00:00") }),
      partition("2021-06-01", "2021-06-30", { complete: false, lastOpenMs: null, firstOpenMs: null }),
      partition("2021-07-01", "2021-07-31"),
    ]);
    expect(series.source).toBe("read_through");
    expect(monthsOf(series)).toEqual({
      "2021-03": { state: "held", days: 31, days_held: 31, entries: 1 },
      "2021-04": { state: "partial", days: 30, days_held: 15, entries: 1 },
      "2021-05": { state: "partial", days: 31, days_held: 31, entries: 1 },
      "2021-06": { state: "gap", days: 30, days_held: 0, entries: 1 },
      "2021-07": { state: "held", days: 31, days_held: 31, entries: 1 },
    });
  });

  it("counts the proven gaps of a month's partitions, day partitions (1s) included", () => {
    const gap = (from: string, to: string) => ({ fromMs: utc(from), toMs: utc(to) });
    const series = only([
      partition("2021-03-01", "2021-03-31", { gaps: [gap("2021-03-02T00:00:00", "2021-03-02T05:00:00"), gap("2021-03-09T00:00:00", "2021-03-09T01:00:00")] }),
      partition("2021-04-01", "2021-04-30"),
    ]);
    expect(series.months.map((month) => month.exchange_gaps)).toEqual([2, undefined]);
    expect(series.months[1]).not.toHaveProperty("exchange_gaps");
    const seconds = only(
      [1, 2, 3].map((day) =>
        partition(`2021-03-0${day}`, `2021-03-0${day}`, { gaps: day === 2 ? [] : [gap(`2021-03-0${day}T01:00:00`, `2021-03-0${day}T01:00:05`)] }, { interval: "1s" }),
      ),
    );
    expect(seconds.months).toEqual([{ month: "2021-03", state: "partial", days: 31, days_held: 3, entries: 3, exchange_gaps: 2 }]);
  });

  it("counts days up to today in the current month and from 2017-07-01 in the first", () => {
    const series = only([dataset("2017-06-01", "2017-07-31"), dataset("2026-11-01", "2027-01-31")]);
    expect([series.first_month, series.last_month]).toEqual(["2017-07", "2026-11"]);
    expect(series.months).toHaveLength(113);
    expect(series.months[0]).toEqual({ month: "2017-07", state: "held", days: 31, days_held: 31, entries: 1 });
    expect(series.months.at(-1)).toEqual({ month: "2026-11", state: "held", days: 25, days_held: 25, entries: 1 });
  });

  it("ignores expired entries, other folders, and entries whose dates are unreadable or reversed", () => {
    const page = coverageOf(
      [
        dataset("2021-01-01", "2021-01-31"),
        dataset("2021-02-01", "2021-02-28", { state: "expired" }),
        dataset("2021-03-01", "2021-03-31", { folder: "parquet" }),
        dataset("2021-04-01", "2021-04-31"),
        dataset("2021-05-10", "2021-05-01"),
        dataset("May", "June"),
      ],
      TODAY,
      {},
    );
    expect(page.series).toHaveLength(1);
    expect(page.series[0]).toMatchObject({ entries: 1, first_month: "2021-01", last_month: "2021-01" });
  });

  it("keeps a series none of whose days can be held, with no months", () => {
    const series = only([dataset("2027-01-01", "2027-01-31")]);
    expect(series).toMatchObject({ entries: 1, rows: 24, first_month: null, last_month: null, months: [] });
  });

  it("makes one series per symbol, interval, market and source, in that order (intervals shortest first, datasets first)", () => {
    const page = coverageOf(
      [
        partition("2021-01-01", "2021-01-31"),
        dataset("2021-01-01", "2021-01-31", { interval: "1h" }),
        dataset("2021-01-01", "2021-01-31", { interval: "30m" }),
        dataset("2021-01-01", "2021-01-31", { market_type: "FUTURES" }),
        dataset("2021-01-01", "2021-01-31", { symbol: "adausdt" }),
        dataset("2021-01-01", "2021-01-31", { symbol: "ADAUSDT" }),
      ],
      TODAY,
      {},
    );
    expect(page.series.map((s) => [s.symbol, s.interval, s.market_type, s.source, s.entries])).toEqual([
      ["ADAUSDT", "1h", "spot", "datasets", 2],
      ["BTCUSDT", "30m", "spot", "datasets", 1],
      ["BTCUSDT", "1h", "futures", "datasets", 1],
      ["BTCUSDT", "1h", "spot", "datasets", 1],
      ["BTCUSDT", "1h", "spot", "read_through", 1],
    ]);
    expect(page).toMatchObject({ matching_series: 5, next_cursor: null });
  });

  it.each([
    [{ symbol: "ETHUSDT" }, [["ETHUSDT", "1h", "spot", "datasets"]]],
    [{ interval: "1d" }, [["BTCUSDT", "1d", "spot", "datasets"]]],
    [{ market_type: "futures" }, [["BTCUSDT", "1h", "futures", "datasets"]]],
    [{ source: "read_through" }, [["BTCUSDT", "1h", "spot", "read_through"]]],
    [{ symbol: "BTCUSDT", source: "datasets", market_type: "spot" }, [["BTCUSDT", "1h", "spot", "datasets"], ["BTCUSDT", "1d", "spot", "datasets"]]],
  ] as const)("filters by %o", (query, expected) => {
    const entries = [
      dataset("2021-01-01", "2021-01-31"),
      dataset("2021-01-01", "2021-01-31", { symbol: "ETHUSDT" }),
      dataset("2021-01-01", "2021-01-31", { interval: "1d" }),
      dataset("2021-01-01", "2021-01-31", { market_type: "futures" }),
      partition("2021-01-01", "2021-01-31"),
    ];
    const page = coverageOf(entries, TODAY, query);
    expect(page.series.map((s) => [s.symbol, s.interval, s.market_type, s.source])).toEqual(expected);
    expect(page.matching_series).toBe(expected.length);
  });

  it("pages with a key-based cursor: each series once, in order, though series come between pages", () => {
    const symbols = Array.from({ length: 12 }, (_, i) => `S${String(i * 2).padStart(2, "0")}USDT`);
    const entries = symbols.flatMap((symbol) => [dataset("2021-01-01", "2021-01-31", { symbol }), partition("2021-01-01", "2021-01-31", {}, { symbol })]);
    const whole = coverageOf(entries, TODAY, { limit: 1000 }).series.map((s) => `${s.symbol}/${s.source}`);
    expect(whole).toHaveLength(24);
    const seen: string[] = [];
    let cursor: string | null = null;
    let added = 0;
    for (let pages = 1; ; pages++) {
      const page: ReturnType<typeof coverageOf> = coverageOf(entries, TODAY, { limit: 5, ...(cursor === null ? {} : { cursor }) });
      expect(page.matching_series).toBe(24 + 2 * (pages - 1));
      seen.push(...page.series.map((s) => `${s.symbol}/${s.source}`));
      cursor = page.next_cursor;
      if (cursor === null) break;
      // Between pages, a series before everything (never seen) and one at the end (seen on the last page).
      entries.push(dataset("2021-01-01", "2021-01-01", { symbol: `A${pages}USDT` }), dataset("2021-01-01", "2021-01-01", { symbol: `Z${pages}USDT` }));
      added++;
    }
    expect(seen.filter((key) => !/^[AZ]/.test(key))).toEqual(whole);
    expect(new Set(seen).size).toBe(seen.length);
    expect(added).toBeGreaterThan(2);
    expect(seen.filter((key) => key.startsWith("Z"))).toHaveLength(added);
    expect(seen.some((key) => key.startsWith("A"))).toBe(false);
  });

  it("answers 100 series by default", () => {
    const entries = Array.from({ length: 101 }, (_, i) => dataset("2021-01-01", "2021-01-01", { symbol: `S${String(i).padStart(3, "0")}USDT` }));
    const page = coverageOf(entries, TODAY, {});
    expect(page.series).toHaveLength(100);
    expect(page.next_cursor).toEqual(expect.any(String));
    expect(coverageOf(entries, TODAY, { cursor: page.next_cursor ?? "" }).series.map((s) => s.symbol)).toEqual(["S100USDT"]);
  });

  it("answers fewer series than asked when they would not fit in maxBytes, with a cursor to the rest", () => {
    const entries = Array.from({ length: 10 }, (_, i) => dataset("2018-01-01", "2026-11-25", { symbol: `S${i}USDT` }));
    const page = coverageOf(entries, TODAY, { limit: 10 }, 20_000);
    expect(JSON.stringify(page).length).toBeLessThanOrEqual(20_000);
    expect(page.truncated?.page_series).toBe(page.series.length);
    expect(page.series.length).toBeGreaterThan(0);
    expect(page.series.length).toBeLessThan(10);
    expect(coverageOf(entries, TODAY, { limit: 10, cursor: page.next_cursor ?? "" }).series[0]?.symbol).toBe(`S${page.series.length}USDT`);
  });

  it.each(["garbage", Buffer.from("/k1").toString("base64url"), Buffer.from(JSON.stringify({ symbol: "BTCUSDT" })).toString("base64url")])(
    "refuses the cursor %s with a VALIDATION_ERROR naming cursor",
    (cursor) => {
      expect(() => coverageOf([dataset("2021-01-01", "2021-01-31")], TODAY, { cursor })).toThrow(ValidationError);
    },
  );
});
