import { describe, expect, it } from "vitest";
import { UpstreamInvalidError } from "../../src/errors.js";
import { fetchGroup, type PassPorts } from "../../src/klines/pass.js";
import { partitionsOf } from "../../src/klines/plan.js";
import type { Kline } from "../../src/upstream/binance.js";
import type { Gap, Partition, PartitionFetch } from "../../src/klines/types.js";

const utc = (text: string) => Date.parse(`${text}Z`);
const HOUR = 3_600_000;
const [MARCH] = partitionsOf(
  { symbol: "BTCUSDT", interval: "1h", start_date: "2025-03-01", end_date: "2025-03-31", market_type: "spot" },
  utc("2026-01-01T00:00:00"),
) as [Partition];
const kline = (openMs: number): Kline => [openMs, "1.0", "1.0", "1.0", "1.0", "1.0", openMs + HOUR - 1, "1.0", 1, "1.0", "1.0", "0"];

/**
 * A pass over March whose exchange answers `answer(query)`, with the archive's candles when given; what it emits,
 * every query it sent, and the holes it was told of in the archive's candles.
 */
async function run(
  answer: (query: { startTime?: number; endTime?: number; limit: number }) => Kline[],
  firstOpen: number | null = 0,
  options: { archived?: Kline[]; pageLimit?: number } = {},
) {
  const queries: { startTime?: number; endTime?: number; limit: number }[] = [];
  const emitted: PartitionFetch[] = [];
  const holes: Gap[] = [];
  const ports: PassPorts = {
    page: async (query) => {
      queries.push(query);
      return { klines: answer(query), exchangeTimeMs: null };
    },
    firstOpen: async () => firstOpen,
    pause: async () => {},
    localCutoffMs: () => utc("2026-01-01T00:00:00"),
    archiveHoles: (found) => void holes.push(...found),
  };
  const group = { partitions: [MARCH], fromMs: MARCH.startMs, heldBeforeMs: null, archived: options.archived };
  const outcome = await fetchGroup(group, ports, { interval: "1h", pageLimit: options.pageLimit ?? 1000 }, async (_, fetched) => {
    emitted.push(fetched);
  }).then(
    () => null,
    (error: unknown) => error,
  );
  return { queries, emitted, holes, error: outcome };
}

const honest = (query: { startTime?: number; endTime?: number; limit: number }): Kline[] => {
  const from = Math.max(query.startTime ?? MARCH.startMs, MARCH.startMs);
  const to = Math.min(query.endTime ?? MARCH.endMs - 1, MARCH.endMs - 1);
  const opens: Kline[] = [];
  for (let open = Math.ceil(from / HOUR) * HOUR; open <= to && opens.length < query.limit; open += HOUR) opens.push(kline(open));
  return opens;
};

describe("fetchGroup", () => {
  it("emits a month complete after one page of an honest exchange", async () => {
    const { queries, emitted, error } = await run(honest);

    expect(error).toBeNull();
    expect(queries).toEqual([{ startTime: MARCH.startMs, endTime: MARCH.endMs - 1, limit: 1000 }]);
    expect(emitted).toHaveLength(1);
    expect(emitted[0]).toMatchObject({ complete: true, gaps: [] });
    expect(emitted[0]?.klines).toHaveLength(744);
  });

  it.each([
    ["klines out of order", () => [kline(MARCH.startMs + HOUR), kline(MARCH.startMs)]],
    ["a kline after the endTime asked", (q: { endTime?: number }) => [kline((q.endTime ?? 0) + 1)]],
    ["a kline before the startTime asked", () => [kline(MARCH.startMs - HOUR)]],
    ["more klines than the limit", () => Array.from({ length: 1001 }, (_, i) => kline(MARCH.startMs + i * HOUR))],
    ["klines closer than one interval", () => [kline(MARCH.startMs), kline(MARCH.startMs + 60_000)]],
    ["a kline that closes before it opens", () => [[MARCH.startMs, "1", "1", "1", "1", "1", MARCH.startMs - 1, "1", 1, "1", "1", "0"] as Kline]],
  ])("refuses %s, and emits nothing", async (_, answer) => {
    const { emitted, error } = await run(answer);

    expect(error).toBeInstanceOf(UpstreamInvalidError);
    expect(emitted).toEqual([]);
  });

  it("refuses a first candle after the start when the symbol's first candle ever is between them", async () => {
    const { error } = await run((query) => honest(query).filter((k) => k[0] >= utc("2025-03-05T00:00:00")), utc("2025-03-02T00:00:00"));

    expect(error).toBeInstanceOf(UpstreamInvalidError);
  });

  it("takes the time before a symbol's first candle for its listing, not a gap", async () => {
    const listedAt = utc("2025-03-05T00:00:00");
    const { emitted } = await run((query) => honest(query).filter((k) => k[0] >= listedAt), listedAt);

    expect(emitted[0]).toMatchObject({ complete: true, gaps: [] });
    expect(emitted[0]?.klines[0]?.[0]).toBe(listedAt);
  });
});

describe("fetchGroup: a hole inside a bulk answer is final only on a narrow one", () => {
  const all = honest({ startTime: MARCH.startMs, limit: Infinity });
  const without = (...holes: Gap[]) => all.filter(([open]) => !holes.some((hole) => open >= hole.fromMs && open < hole.toMs));
  const stretch = (from: string, to: string): Gap => ({ fromMs: utc(from), toMs: utc(to) });
  const opens = (fetched: { klines: readonly Kline[] } | undefined) => fetched?.klines.map((kline) => kline[0]);

  it("asks the exchange for a hole inside the archive's candles, from its start to its end, and emits the month whole", async () => {
    const hole = stretch("2025-03-10T10:00:00", "2025-03-10T13:00:00");

    const { queries, emitted, holes, error } = await run(honest, 0, { archived: without(hole) });

    expect(error).toBeNull();
    expect(queries).toEqual([{ startTime: hole.fromMs, endTime: hole.toMs - 1, limit: 1000 }]);
    expect(holes).toEqual([hole]);
    expect(emitted).toEqual([expect.objectContaining({ complete: true, gaps: [] })]);
    expect(opens(emitted[0])).toEqual(opens({ klines: all }));
  });

  it("asks once for holes that fit one page's span, apart for holes further apart", async () => {
    const near = [stretch("2025-03-02T00:00:00", "2025-03-02T02:00:00"), stretch("2025-03-03T00:00:00", "2025-03-03T01:00:00")];
    const far = stretch("2025-03-20T00:00:00", "2025-03-20T01:00:00");

    const { queries, emitted } = await run(honest, 0, { archived: without(...near, far), pageLimit: 100 });

    expect(queries).toEqual([
      { startTime: near[0]?.fromMs, endTime: (near[1]?.toMs ?? 0) - 1, limit: 100 },
      { startTime: far.fromMs, endTime: far.toMs - 1, limit: 100 },
    ]);
    expect(emitted[0]).toMatchObject({ complete: true, gaps: [] });
    expect(emitted[0]?.klines).toHaveLength(744);
  });

  it("pages a hole longer than a page", async () => {
    const hole = stretch("2025-03-05T00:00:00", "2025-03-15T00:00:00");

    const { queries, emitted } = await run(honest, 0, { archived: without(hole), pageLimit: 100 });

    // Each page goes on just after the last candle of the one before, as paging does.
    const starts = [hole.fromMs, hole.fromMs + 99 * HOUR + 1, hole.fromMs + 199 * HOUR + 1];
    expect(queries).toEqual(starts.map((startTime) => ({ startTime, endTime: hole.toMs - 1, limit: 100 })));
    expect(emitted[0]).toMatchObject({ complete: true, gaps: [] });
    expect(emitted[0]?.klines).toHaveLength(744);
  });

  it("takes the narrow answer's word: what it lacks too is a final gap, and nothing is asked again", async () => {
    const hole = stretch("2025-03-10T00:00:00", "2025-03-11T00:00:00");
    const maintenance = [stretch("2025-03-10T05:00:00", "2025-03-10T07:00:00"), stretch("2025-03-10T12:00:00", "2025-03-10T13:00:00")];
    const exchange = (query: { startTime?: number; endTime?: number; limit: number }) => honest(query).filter((k) => !maintenance.some((m) => k[0] >= m.fromMs && k[0] < m.toMs));

    const { queries, emitted } = await run(exchange, 0, { archived: without(hole) });

    expect(queries).toHaveLength(1);
    expect(emitted[0]).toMatchObject({ complete: true, gaps: maintenance });
    expect(emitted[0]?.klines).toHaveLength(744 - 3);
  });

  it("asks for the start of a month the archive's candles lack only when the symbol traded before it", async () => {
    const start = stretch("2025-03-01T00:00:00", "2025-03-03T00:00:00");

    const before = await run(honest, 0, { archived: without(start) });
    expect(before.queries).toEqual([{ startTime: start.fromMs, endTime: start.toMs - 1, limit: 1000 }]);
    expect(before.holes).toEqual([start]);
    expect(before.emitted[0]).toMatchObject({ complete: true, gaps: [] });
    expect(before.emitted[0]?.klines).toHaveLength(744);

    const listed = await run(honest, start.toMs, { archived: without(start) });
    expect(listed.queries).toEqual([]);
    expect(listed.holes).toEqual([]);
    expect(listed.emitted[0]).toMatchObject({ complete: true, gaps: [] });
  });

  it("asks for a stretch a page left out between two of its candles", async () => {
    const hole = stretch("2025-03-10T10:00:00", "2025-03-10T13:00:00");
    const bulk = (query: { startTime?: number; endTime?: number; limit: number }) =>
      (query.startTime ?? 0) < hole.fromMs ? without(hole).filter((k) => k[0] >= (query.startTime ?? 0)).slice(0, query.limit) : honest(query);

    const { queries, emitted } = await run(bulk);

    expect(queries).toEqual([
      { startTime: MARCH.startMs, endTime: MARCH.endMs - 1, limit: 1000 },
      { startTime: hole.fromMs, endTime: hole.toMs - 1, limit: 1000 },
    ]);
    expect(emitted[0]).toMatchObject({ complete: true, gaps: [] });
    expect(emitted[0]?.klines).toHaveLength(744);
  });

  it("bounds the narrow requests of a pass: past them a page is cut before the holes not asked, and asked again from there", async () => {
    // Bulk pages hold one candle in twelve; asked narrowly, the exchange has them all: two requests per hole.
    const sparse = (query: { startTime?: number; endTime?: number; limit: number }) =>
      query.endTime === MARCH.endMs - 1
        ? all.filter((k) => k[0] >= (query.startTime ?? 0) && (k[0] - MARCH.startMs) % (12 * HOUR) === 0).slice(0, query.limit)
        : honest(query);

    const { queries, emitted, error } = await run(sparse, 0, { pageLimit: 10 });

    expect(error).toBeNull();
    // Three passes at most, each of at most ceil(744 / 10) + 2 = 77 pages and as many narrow requests.
    expect(queries.length).toBeLessThanOrEqual(3 * 2 * 77);
    // The month is left where the passes stopped: every candle before it is in its place, none made up, no gap.
    const [march] = emitted;
    expect(march).toMatchObject({ complete: false, gaps: [] });
    expect(opens(march)).toEqual(opens({ klines: all.slice(0, march?.klines.length) }));
    expect(march?.resumeFromMs).toBe(all[march?.klines.length ?? 0]?.[0]);
  });
});
